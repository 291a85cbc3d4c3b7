/*
 * GET /metrics: the Prometheus text format (version 0.0.4).
 *
 * Counters are what this server made durable since it started (Prometheus
 * handles restarts); the open instances, tasks and incidents are counted in
 * the database at scrape time. Histograms: the writer's batch sizes and
 * commit times, and each route's request latency.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"

static void counter(struct cf_buf *b, const char *name, const char *help, uint64_t v) {
  cf_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

static void gauge(struct cf_buf *b, const char *name, const char *help, double v) {
  cf_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

/* Rows matching one condition (or all with field NULL), counted in the store; -1 when it cannot say. */
static double count(struct api_reader *r, enum cf_store_entity entity, const char *field, int64_t value) {
  struct cf_store_qvalue v = {.num = value};
  struct cf_store_qcond cond = {.field = field, .op = CF_STORE_EQ, .values = &v, .nvalues = 1};
  struct cf_store_query q = {.entity = entity, .conds = field ? &cond : NULL, .nconds = field ? 1 : 0, .limit = 0};
  struct cf_store_result res;
  memset(&res, 0, sizeof res);
  struct cf_error err;
  if (r->ops->search(r->st, &q, &res, &err)) return -1;
  double n = (double)res.total;
  cf_store_result_release(&res);
  return n;
}

bool api_h_metrics(struct api_ctx *c) {
  struct cf_buf *b = &c->res->body;
  struct cf_api *api = c->api;
  if (api->writer) {
    struct cf_runtime_writer_stats ws;
    cf_runtime_writer_stats(api->writer, &ws);
    counter(b, "crmflow_instances_started_total", "Process instances started.", ws.rt.instances_started);
    counter(b, "crmflow_instances_completed_total", "Process instances completed.", ws.rt.instances_completed);
    counter(b, "crmflow_instances_terminated_total", "Process instances terminated (cancelled).",
            ws.rt.instances_terminated);
    counter(b, "crmflow_jobs_activated_total", "Jobs leased to workers.", ws.rt.jobs_activated);
    counter(b, "crmflow_jobs_completed_total", "Jobs completed.", ws.rt.jobs_completed);
    counter(b, "crmflow_jobs_failed_total", "Job failures reported by workers.", ws.rt.jobs_failed);
    counter(b, "crmflow_user_tasks_completed_total", "User tasks completed.", ws.rt.user_tasks_completed);
    counter(b, "crmflow_incidents_created_total", "Incidents raised.", ws.rt.incidents_created);
    counter(b, "crmflow_operations_total", "Commands made durable.", ws.rt.operations);
    counter(b, "crmflow_commits_total", "Durable transactions (a batch counts once).", ws.rt.commits);
    counter(b, "crmflow_history_events_total", "History events written.", ws.rt.events);
    counter(b, "crmflow_writer_refused_total", "Commands refused because the writer's queue was full (503).",
            ws.refused);
    gauge(b, "crmflow_writer_queue", "Commands waiting for the writer.", (double)ws.queued);
    cf_buf_puts(b, "# HELP crmflow_writer_batch_size Commands per durable batch.\n"
                   "# TYPE crmflow_writer_batch_size histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < CF_WRITER_SIZE_BUCKETS; i++) {
      cum += ws.size_buckets[i];
      cf_buf_printf(b, "crmflow_writer_batch_size_bucket{le=\"%g\"} %llu\n", cf_runtime_writer_size_bounds[i],
                    (unsigned long long)cum);
    }
    cum += ws.size_buckets[CF_WRITER_SIZE_BUCKETS];
    cf_buf_printf(b, "crmflow_writer_batch_size_bucket{le=\"+Inf\"} %llu\ncrmflow_writer_batch_size_sum %llu\n"
                     "crmflow_writer_batch_size_count %llu\n",
                  (unsigned long long)cum, (unsigned long long)ws.ops, (unsigned long long)ws.batches);
    cf_buf_puts(b, "# HELP crmflow_writer_commit_seconds Time to make a batch durable.\n"
                   "# TYPE crmflow_writer_commit_seconds histogram\n");
    cum = 0;
    for (int i = 0; i < CF_WRITER_TIME_BUCKETS; i++) {
      cum += ws.time_buckets[i];
      cf_buf_printf(b, "crmflow_writer_commit_seconds_bucket{le=\"%g\"} %llu\n",
                    cf_runtime_writer_time_bounds_ms[i] / 1e3, (unsigned long long)cum);
    }
    cum += ws.time_buckets[CF_WRITER_TIME_BUCKETS];
    cf_buf_printf(b, "crmflow_writer_commit_seconds_bucket{le=\"+Inf\"} %llu\ncrmflow_writer_commit_seconds_sum %.6f\n"
                     "crmflow_writer_commit_seconds_count %llu\n",
                  (unsigned long long)cum, ws.commit_ms_sum / 1e3, (unsigned long long)cum);
  }
  struct api_reader *r;
  struct cf_error err;
  if (!api_reader_get(api, &r, &err)) {
    gauge(b, "crmflow_instances_open", "Process instances active now.", count(r, CF_STORE_INSTANCES, "state", 0));
    gauge(b, "crmflow_user_tasks_open", "User tasks waiting to be completed.", count(r, CF_STORE_USER_TASKS, "state", 0));
    gauge(b, "crmflow_incidents_open", "Open incidents.", count(r, CF_STORE_INCIDENTS, NULL, 0));
    gauge(b, "crmflow_jobs_open", "Jobs not completed yet.", count(r, CF_STORE_JOBS, NULL, 0));
    api_reader_put(api, r);
  }
  cf_buf_puts(b, "# HELP crmflow_http_responses_total Answers by status class.\n"
                 "# TYPE crmflow_http_responses_total counter\n");
  for (int k = 1; k <= 5; k++)
    cf_buf_printf(b, "crmflow_http_responses_total{code=\"%dxx\"} %llu\n", k,
                  (unsigned long long)__atomic_load_n(&api->status_counts[k], __ATOMIC_RELAXED));
  cf_buf_puts(b, "# HELP crmflow_http_request_duration_seconds Time from a request's arrival to its answer.\n"
                 "# TYPE crmflow_http_request_duration_seconds histogram\n");
  for (size_t i = 0; i < api_route_count(); i++) {
    uint64_t n = __atomic_load_n(&api->lat_count[i], __ATOMIC_RELAXED);
    if (!n) continue;
    const char *method, *path = api_route_label(i, &method);
    uint64_t cum = 0;
    for (int k = 0; k <= API_LAT_BUCKETS; k++) {
      cum += __atomic_load_n(&api->lat[i][k], __ATOMIC_RELAXED);
      if (k < API_LAT_BUCKETS)
        cf_buf_printf(b, "crmflow_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                      method, path, api_lat_bounds_ms[k] / 1e3, (unsigned long long)cum);
      else
        cf_buf_printf(b, "crmflow_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
                      method, path, (unsigned long long)cum);
    }
    cf_buf_printf(b, "crmflow_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n", method, path,
                  (double)__atomic_load_n(&api->lat_sum_us[i], __ATOMIC_RELAXED) / 1e6);
    cf_buf_printf(b, "crmflow_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n", method, path,
                  (unsigned long long)n);
  }
  c->res->status = 200;
  c->res->content_type = "text/plain; version=0.0.4; charset=utf-8";
  return true;
}
