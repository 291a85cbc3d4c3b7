/*
 * Jobs (shared/camunda-rest.md §2.8–2.9): activation with real long
 * polling, completion, failure, BPMN errors, retries; and the parking lot
 * where requests wait for something to happen: a long poll for jobs of its
 * type, an awaitCompletion for its instance to end.
 *
 * The parking lot is one thread. It wakes when the writer finished a batch
 * (cf_api_notify: jobs may have been created, an instance may have ended),
 * at the earliest deadline, and at least every RETRY_MS (a job whose back-off
 * or lease ran out becomes available without any batch). A parked poll then
 * sends one activation to the writer at a time; an await reads its
 * instance's row. What times out is answered: a poll with no jobs, an await
 * with 504.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"
#include "base/cf_json.h"

#define RETRY_MS 500
#define TENANT "<default>"

static int64_t mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void api_pick_vars(struct cf_buf *b, const char *obj, char *const *names, size_t n) {
  if (!obj || !*obj) {
    cf_buf_puts(b, "{}");
    return;
  }
  if (!n) {
    cf_buf_puts(b, obj);
    return;
  }
  struct cf_error err;
  struct json_object *o = cf_json_parse(obj, strlen(obj), &err);
  if (!o || !json_object_is_type(o, json_type_object)) {
    if (o) json_object_put(o);
    cf_buf_puts(b, "{}");
    return;
  }
  cf_buf_putc(b, '{');
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, names[i], &v)) continue;
    if (!first) cf_buf_putc(b, ',');
    first = false;
    cf_buf_json_string(b, names[i], strlen(names[i]));
    cf_buf_putc(b, ':');
    const char *t = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null";
    cf_buf_puts(b, t);
  }
  cf_buf_putc(b, '}');
  json_object_put(o);
}

/* ------------------------------------------------------------ activation */

struct poll {
  struct api_cmd cmd;
  char *type, *worker;
  size_t max;
  int64_t timeout_ms;  /* the jobs' lease */
  int64_t deadline;    /* monotonic ms: answer by then; < 0: answer at once */
  bool (*gone)(void *arg); /* the client left (the HTTP layer says) */
  void *gone_arg;
  char **fetch;
  size_t nfetch;
  struct cf_runtime_job *jobs;
  size_t njobs;
  /* Parked: */
  bool in_flight;
  int64_t last_try;
  struct poll *next;
};

struct await {
  struct api_cmd *cmd;
  uint64_t instance_key;
  int64_t deadline;
  char **fetch;
  size_t nfetch;
  struct await *next;
};

struct api_park {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  bool started, stop, notified;
  struct poll *polls;
  struct await *awaits;
  struct cf_api *api;
};

static void poll_release(struct api_cmd *c) {
  struct poll *p = (struct poll *)c;
  cf_free(p->type);
  cf_free(p->worker);
  for (size_t i = 0; i < p->nfetch; i++) cf_free(p->fetch[i]);
  cf_free(p->fetch);
  cf_runtime_jobs_release(p->jobs, p->njobs);
  cf_free(p);
}

static int poll_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct poll *p = (struct poll *)c;
  cf_runtime_jobs_release(p->jobs, p->njobs);
  p->jobs = NULL;
  p->njobs = 0;
  return cf_runtime_jobs_activate(rt, p->type, p->max, p->worker, p->timeout_ms, &p->jobs, &p->njobs, err);
}

static void write_jobs(struct poll *p) {
  struct cf_buf *b = &p->cmd.reply.res->body;
  cf_buf_reset(b);
  cf_buf_puts(b, "{\"jobs\":[");
  for (size_t i = 0; i < p->njobs; i++) {
    const struct cf_runtime_job *j = &p->jobs[i];
    cf_buf_puts(b, i ? ",{" : "{");
    api_json_key(b, "jobKey", j->job.key, true);
    api_json_str(b, "type", j->job.type, false);
    api_json_str(b, "processDefinitionId", j->process_id, false);
    api_json_int(b, "processDefinitionVersion", j->version, false);
    api_json_key(b, "processDefinitionKey", j->definition_key, false);
    api_json_key(b, "processInstanceKey", j->job.instance_key, false);
    api_json_str(b, "elementId", j->job.element_id, false);
    api_json_key(b, "elementInstanceKey", j->job.element_instance_key, false);
    cf_buf_puts(b, ",\"customHeaders\":");
    cf_buf_puts(b, j->job.headers && *j->job.headers ? j->job.headers : "{}");
    api_json_str(b, "worker", p->worker, false);
    api_json_int(b, "retries", j->job.retries, false);
    api_json_int(b, "deadline", j->job.lease_until_ms, false);
    cf_buf_puts(b, ",\"variables\":");
    api_pick_vars(b, j->variables, p->fetch, p->nfetch);
    api_json_str(b, "tenantId", TENANT, false);
    api_json_str(b, "kind", "BPMN_ELEMENT", false);
    api_json_str(b, "listenerEventType", "UNSPECIFIED", false);
    cf_buf_puts(b, ",\"tags\":[]}");
  }
  cf_buf_puts(b, "]}");
  p->cmd.reply.res->status = 200;
  p->cmd.reply.res->content_type = "application/json";
}

static void poll_finish(struct poll *p) {
  struct api_reply reply = p->cmd.reply;
  poll_release(&p->cmd);
  api_reply_finish(&reply);
}

static void park_poll(struct api_park *k, struct poll *p) {
  pthread_mutex_lock(&k->mu);
  bool refuse = k->stop;
  if (!refuse) {
    p->in_flight = false;
    p->last_try = mono_ms();
    p->next = k->polls;
    k->polls = p;
    pthread_cond_signal(&k->cv);
  }
  pthread_mutex_unlock(&k->mu);
  if (refuse) {
    write_jobs(p); /* what it has: nothing */
    poll_finish(p);
  }
}

/* The first activation's answer (the handler's command): jobs, or park until some come. */
static bool poll_answer(struct api_cmd *c) {
  struct poll *p = (struct poll *)c;
  if (p->njobs || p->deadline < 0 || mono_ms() >= p->deadline) {
    write_jobs(p);
    return true;
  }
  park_poll(c->reply.api->park, p);
  return false;
}

/* A parked poll's activation came back (on the writer's thread). */
static int parked_run(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct poll *p = arg;
  int rc = cf_runtime_set_actor(rt, p->cmd.actor);
  if (rc) return cf_error_set(err, rc, "out of memory");
  return poll_run(rt, &p->cmd, err);
}

static void parked_done(void *arg, int rc, const struct cf_error *err) {
  struct poll *p = arg;
  struct api_park *k = p->cmd.reply.api->park;
  if (rc || p->njobs) {
    /* Out of the lot: answer. */
    pthread_mutex_lock(&k->mu);
    for (struct poll **pp = &k->polls; *pp; pp = &(*pp)->next)
      if (*pp == p) {
        *pp = p->next;
        break;
      }
    pthread_mutex_unlock(&k->mu);
    if (rc) api_error_problem(p->cmd.reply.res, err, p->cmd.reply.path);
    else write_jobs(p);
    poll_finish(p);
    return;
  }
  pthread_mutex_lock(&k->mu);
  p->in_flight = false;
  pthread_mutex_unlock(&k->mu);
}

bool api_h_job_activate(struct api_ctx *c) {
  struct json_object *body = api_body(c, false);
  if (!body) return true;
  const char *type = NULL, *worker = NULL;
  int64_t timeout = 0, max = 0, request_timeout = 0;
  bool answered = false;
  struct poll *p = cf_calloc(1, sizeof *p);
  if (!p) {
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
    goto out;
  }
  if (!api_check_tenant(c, body) || !api_get_string(c, body, "type", &type) ||
      !api_get_string(c, body, "worker", &worker) || !api_get_int(c, body, "timeout", &timeout) ||
      !api_get_int(c, body, "maxJobsToActivate", &max) || !api_get_int(c, body, "requestTimeout", &request_timeout)) {
    answered = true;
    goto out;
  }
  {
    /* Camunda's texts, every violation at once. */
    char detail[400] = "";
    size_t len = 0;
    if (!type || !*type) len += (size_t)snprintf(detail + len, sizeof detail - len, "No type provided. ");
    if (!json_object_object_get_ex(body, "timeout", NULL))
      len += (size_t)snprintf(detail + len, sizeof detail - len, "No timeout provided. ");
    else if (timeout < 1)
      len += (size_t)snprintf(detail + len, sizeof detail - len,
                              "The value for timeout is '%lld' but must be greater than 0. ", (long long)timeout);
    if (!json_object_object_get_ex(body, "maxJobsToActivate", NULL))
      len += (size_t)snprintf(detail + len, sizeof detail - len, "No maxJobsToActivate provided. ");
    else if (max < 1 || max > 100000)
      len += (size_t)snprintf(detail + len, sizeof detail - len,
                              "The value for maxJobsToActivate is '%lld' but must be greater than 0. ", (long long)max);
    if (len) {
      detail[len - 1] = '\0';
      answered = api_bad(c, "%s", detail);
      goto out;
    }
  }
  struct json_object *fv = NULL;
  if (json_object_object_get_ex(body, "fetchVariable", &fv) && fv) {
    if (!json_object_is_type(fv, json_type_array)) {
      answered = api_bad(c, "The value for fetchVariable must be an array of variable names.");
      goto out;
    }
    size_t n = json_object_array_length(fv);
    if (n && !(p->fetch = cf_calloc(n, sizeof *p->fetch))) {
      answered = api_fail(c, 500, "INTERNAL", "out of memory");
      goto out;
    }
    for (size_t i = 0; i < n; i++) {
      struct json_object *e = json_object_array_get_idx(fv, i);
      if (!e || !json_object_is_type(e, json_type_string)) {
        answered = api_bad(c, "fetchVariable[%zu] must be a string.", i);
        goto out;
      }
      if (!(p->fetch[p->nfetch++] = cf_strdup(json_object_get_string(e)))) {
        answered = api_fail(c, 500, "INTERNAL", "out of memory");
        goto out;
      }
    }
  }
  p->max = (size_t)max;
  p->timeout_ms = timeout;
  p->gone = c->req->gone;
  p->gone_arg = c->req->gone_arg;
  int64_t wait = request_timeout == 0 ? c->api->long_poll_ms : request_timeout;
  p->deadline = wait < 0 ? -1 : (c->req->started > 0 ? (int64_t)(c->req->started * 1000) : mono_ms()) + wait;
  if (!(p->type = cf_strdup(type)) || !(p->worker = cf_strdup(worker && *worker ? worker : "default")))
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
out:
  json_object_put(body);
  if (answered) {
    if (p) poll_release(&p->cmd);
    return true;
  }
  p->cmd.run = poll_run;
  p->cmd.answer = poll_answer;
  p->cmd.release = poll_release;
  return api_cmd_submit(c, &p->cmd);
}

/* ------------------------------------------------------------ awaitCompletion */

static void await_free(struct await *a) {
  cf_free(a);
}

void api_await_park(struct api_cmd *c, uint64_t instance_key, int64_t timeout_ms, char **fetch, size_t nfetch) {
  struct api_park *k = c->reply.api->park;
  struct await *a = cf_calloc(1, sizeof *a);
  if (!a) {
    api_create_fail(c, 500, "INTERNAL", "out of memory");
    struct api_reply reply = c->reply;
    c->release(c);
    api_reply_finish(&reply);
    return;
  }
  a->cmd = c;
  a->instance_key = instance_key;
  a->deadline = (c->reply.started > 0 ? (int64_t)(c->reply.started * 1000) : mono_ms()) + timeout_ms;
  a->fetch = fetch;
  a->nfetch = nfetch;
  pthread_mutex_lock(&k->mu);
  a->next = k->awaits;
  k->awaits = a;
  k->notified = true; /* it may have ended already, in the same batch */
  pthread_cond_signal(&k->cv);
  pthread_mutex_unlock(&k->mu);
}

static void await_answer(struct await *a, int status, const char *vars_json, const char *detail) {
  struct api_cmd *c = a->cmd;
  if (status == 200) api_create_answer(c, vars_json);
  else api_create_fail(c, status, status == 504 ? "DEADLINE_EXCEEDED" : "INVALID_STATE", detail);
  struct api_reply reply = c->reply;
  c->release(c);
  await_free(a);
  api_reply_finish(&reply);
}

/* Looks at an awaited instance: true when it was answered (ended). */
static bool await_check(struct cf_api *api, struct await *a) {
  struct api_reader *r;
  struct cf_error err;
  cf_error_clear(&err);
  if (api_reader_get(api, &r, &err)) return false;
  struct cf_store_qvalue v = {.num = (int64_t)a->instance_key};
  struct cf_store_qcond cond = {.field = "key", .op = CF_STORE_EQ, .values = &v, .nvalues = 1};
  struct cf_store_query q = {.entity = CF_STORE_INSTANCES, .conds = &cond, .nconds = 1, .limit = 1};
  struct cf_store_result res;
  memset(&res, 0, sizeof res);
  bool ended = false;
  if (!r->ops->search(r->st, &q, &res, &err) && res.n && res.instances[0].state != CF_STORE_ACTIVE) {
    ended = true;
    if (res.instances[0].state == CF_STORE_COMPLETED) {
      struct cf_buf vars;
      cf_buf_init(&vars);
      api_pick_vars(&vars, res.instances[0].variables, a->fetch, a->nfetch);
      cf_buf_putc(&vars, '\0');
      await_answer(a, 200, vars.data ? vars.data : "{}", NULL);
      cf_buf_release(&vars);
    } else {
      await_answer(a, 409, NULL, "The process instance was terminated before it completed.");
    }
  }
  cf_store_result_release(&res);
  api_reader_put(api, r);
  return ended;
}

/* ------------------------------------------------------------ the parking lot's thread */

static void *park_main(void *arg) {
  struct api_park *k = arg;
  pthread_mutex_lock(&k->mu);
  while (!k->stop) {
    int64_t now = mono_ms(), wake = now + RETRY_MS;
    for (struct poll *p = k->polls; p; p = p->next)
      if (p->deadline < wake) wake = p->deadline;
    for (struct await *a = k->awaits; a; a = a->next)
      if (a->deadline < wake) wake = a->deadline;
    if (!k->notified && wake > now) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      int64_t d = wake - now;
      ts.tv_sec += d / 1000;
      ts.tv_nsec += (long)(d % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&k->cv, &k->mu, &ts);
      if (k->stop) break;
    }
    bool notified = k->notified;
    k->notified = false;
    now = mono_ms();
    /* Polls: time out, or try again (submitted outside the lock: the writer may answer at once). */
    struct poll *expired = NULL, *to_try[64];
    size_t ntry = 0;
    for (struct poll **pp = &k->polls; *pp;) {
      struct poll *p = *pp;
      if (p->in_flight) {
        pp = &p->next;
        continue;
      }
      /* A poll whose client left is ended (answered to nobody) before it could take jobs for nobody. */
      if (now >= p->deadline || (p->gone && p->gone(p->gone_arg))) {
        *pp = p->next;
        p->next = expired;
        expired = p;
        continue;
      }
      if ((notified || now - p->last_try >= RETRY_MS) && ntry < 64) {
        p->in_flight = true;
        p->last_try = now;
        to_try[ntry++] = p;
      }
      pp = &p->next;
    }
    /* Awaits: taken out while looked at. */
    struct await *awaits = k->awaits;
    k->awaits = NULL;
    pthread_mutex_unlock(&k->mu);
    for (struct poll *p = expired, *next; p; p = next) {
      next = p->next;
      write_jobs(p);
      poll_finish(p);
    }
    for (size_t i = 0; i < ntry; i++) {
      struct cf_error err;
      cf_error_clear(&err);
      if (cf_runtime_writer_submit_async(k->api->writer, parked_run, to_try[i], parked_done, to_try[i], &err)) {
        pthread_mutex_lock(&k->mu);
        to_try[i]->in_flight = false;
        pthread_mutex_unlock(&k->mu);
      }
    }
    struct await *keep = NULL;
    for (struct await *a = awaits, *next; a; a = next) {
      next = a->next;
      if ((notified || now >= a->deadline) && await_check(k->api, a)) continue;
      if (now >= a->deadline) {
        await_answer(a, 504, NULL, "The process instance did not complete within the request timeout.");
        continue;
      }
      a->next = keep;
      keep = a;
    }
    pthread_mutex_lock(&k->mu);
    for (struct await *a = keep, *next; a; a = next) {
      next = a->next;
      a->next = k->awaits;
      k->awaits = a;
    }
  }
  pthread_mutex_unlock(&k->mu);
  return NULL;
}

int api_park_init(struct cf_api *api) {
  struct api_park *k = cf_calloc(1, sizeof *k);
  if (!k) return CF_ENOMEM;
  k->api = api;
  pthread_mutex_init(&k->mu, NULL);
  pthread_cond_init(&k->cv, NULL);
  api->park = k;
  if (!api->writer) return CF_OK; /* nothing will ever be parked */
  if (pthread_create(&k->thread, NULL, park_main, k)) return CF_EINTERNAL;
  k->started = true;
  return CF_OK;
}

void api_park_notify(void *arg) {
  struct cf_api *api = arg;
  struct api_park *k = api->park;
  if (!k) return;
  pthread_mutex_lock(&k->mu);
  k->notified = true;
  pthread_cond_signal(&k->cv);
  pthread_mutex_unlock(&k->mu);
}

/* Answers every parked request (polls with what they have: nothing; awaits with 503) and stops the thread. */
void api_park_shutdown(struct cf_api *api) {
  struct api_park *k = api->park;
  if (!k) return;
  pthread_mutex_lock(&k->mu);
  bool was = k->stop;
  k->stop = true;
  pthread_cond_signal(&k->cv);
  pthread_mutex_unlock(&k->mu);
  if (was) return;
  if (k->started) pthread_join(k->thread, NULL);
  k->started = false;
  /* Polls in flight come back through parked_done, which answers them (they have no lot to return to). */
  for (;;) {
    pthread_mutex_lock(&k->mu);
    struct poll *p = k->polls;
    bool in_flight = false;
    while (p && p->in_flight) {
      in_flight = true;
      p = p->next;
    }
    if (p) {
      struct poll **pp = &k->polls;
      while (*pp != p) pp = &(*pp)->next;
      *pp = p->next;
    }
    struct await *a = k->awaits;
    if (a) k->awaits = a->next;
    pthread_mutex_unlock(&k->mu);
    if (p) {
      write_jobs(p);
      poll_finish(p);
    } else if (a) {
      api_create_fail(a->cmd, 503, "UNAVAILABLE", "The server is stopping; the instance goes on.");
      struct api_reply reply = a->cmd->reply;
      a->cmd->release(a->cmd);
      await_free(a);
      api_reply_finish(&reply);
    } else if (in_flight) {
      struct timespec ts = {0, 2000000};
      nanosleep(&ts, NULL);
    } else {
      break;
    }
  }
}

void api_park_free(struct cf_api *api) {
  struct api_park *k = api->park;
  if (!k) return;
  api_park_shutdown(api);
  pthread_mutex_destroy(&k->mu);
  pthread_cond_destroy(&k->cv);
  cf_free(k);
  api->park = NULL;
}

/* ------------------------------------------------------------ outcomes */

struct job_cmd {
  struct api_cmd cmd;
  uint64_t key;
  int kind; /* 0 complete, 1 fail, 2 error, 3 retries */
  struct cf_feel_value vars;
  int64_t retries, backoff;
  char *message, *code;
};

static void job_release(struct api_cmd *c) {
  struct job_cmd *j = (struct job_cmd *)c;
  cf_feel_value_release(&j->vars);
  cf_free(j->message);
  cf_free(j->code);
  cf_free(j);
}

static int job_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct job_cmd *j = (struct job_cmd *)c;
  const struct cf_feel_value *vars = j->vars.type == CF_FEEL_CONTEXT ? &j->vars : NULL;
  int rc;
  switch (j->kind) {
  case 0: rc = cf_runtime_job_complete(rt, j->key, NULL, vars, err); break;
  case 1:
    rc = cf_runtime_job_fail(rt, j->key, NULL, (int32_t)j->retries, j->message, j->backoff, vars, err);
    break;
  case 2: rc = cf_runtime_job_throw_error(rt, j->key, NULL, j->code, j->message, vars, err); break;
  default: rc = cf_runtime_job_retries(rt, j->key, (int32_t)j->retries, err); break;
  }
  if (rc == CF_ENOTFOUND) {
    static const char *const verbs[] = {"complete", "fail", "throw an error for", "update the retries of"};
    return cf_error_set(err, CF_ENOTFOUND, "Expected to %s job with key '%" PRIu64 "', but no such job was found",
                        verbs[j->kind], j->key);
  }
  return rc;
}

static bool job_endpoint(struct api_ctx *c, int kind) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct json_object *body = api_body(c, kind != 2 && kind != 3);
  if (!body) return true;
  struct job_cmd *j = cf_calloc(1, sizeof *j);
  bool answered = false;
  const char *message = NULL, *code = NULL;
  if (!j) {
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
    goto out;
  }
  j->key = key;
  j->kind = kind;
  cf_feel_set_null(&j->vars);
  if (kind == 3) {
    struct json_object *cs = NULL;
    if (!json_object_object_get_ex(body, "changeset", &cs) || !cs || !json_object_is_type(cs, json_type_object)) {
      answered = api_bad(c, "No changeset provided.");
      goto out;
    }
    int64_t retries = -1, timeout = -1;
    if (!api_get_int(c, cs, "retries", &retries) || !api_get_int(c, cs, "timeout", &timeout)) {
      answered = true;
      goto out;
    }
    if (retries < 0 && timeout < 0) {
      answered = api_bad(c, "At least one of [retries, timeout] is required.");
      goto out;
    }
    if (timeout >= 0) {
      answered = api_bad(c, "Changing a job's timeout is not supported by crmflow; change its retries, or complete or "
                            "fail it.");
      goto out;
    }
    if (retries < 1 || retries > INT32_MAX) {
      answered = api_bad(c, "The value for changeset.retries is '%lld' but must be greater than 0.", (long long)retries);
      goto out;
    }
    j->retries = retries;
  } else {
    if (!api_get_vars(c, body, "variables", &j->vars) || !api_get_string(c, body, "errorMessage", &message)) {
      answered = true;
      goto out;
    }
    if (kind == 1) {
      if (!api_get_int(c, body, "retries", &j->retries) || !api_get_int(c, body, "retryBackOff", &j->backoff)) {
        answered = true;
        goto out;
      }
      if (j->retries < 0 || j->retries > INT32_MAX) {
        answered = api_bad(c, "The value for retries is '%lld' but must be 0 or more.", (long long)j->retries);
        goto out;
      }
      if (j->backoff < 0) {
        answered = api_bad(c, "The value for retryBackOff is '%lld' but must be 0 or more.", (long long)j->backoff);
        goto out;
      }
    }
    if (kind == 2) {
      if (!api_get_string(c, body, "errorCode", &code)) {
        answered = true;
        goto out;
      }
      if (!code || !*code) {
        answered = api_bad(c, "No errorCode provided.");
        goto out;
      }
      if (!(j->code = cf_strdup(code))) answered = api_fail(c, 500, "INTERNAL", "out of memory");
    }
    if (message && !(j->message = cf_strdup(message))) answered = api_fail(c, 500, "INTERNAL", "out of memory");
  }
out:
  json_object_put(body);
  if (answered) {
    if (j) job_release(&j->cmd);
    return true;
  }
  j->cmd.run = job_run;
  j->cmd.release = job_release;
  return api_cmd_submit(c, &j->cmd);
}

bool api_h_job_complete(struct api_ctx *c) { return job_endpoint(c, 0); }
bool api_h_job_fail(struct api_ctx *c) { return job_endpoint(c, 1); }
bool api_h_job_error(struct api_ctx *c) { return job_endpoint(c, 2); }
bool api_h_job_update(struct api_ctx *c) { return job_endpoint(c, 3); }
