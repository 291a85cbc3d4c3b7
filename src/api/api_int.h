/*
 * The API layer's private parts, shared by its files:
 *
 *   api.c          the route table, dispatch, authentication check, latency, lifecycle
 *   api_json.c     request bodies (JSON with a depth limit, fields named in errors) and writing
 *   api_auth.c     tokens, passwords, principals and their cache, roles
 *   api_search.c   Camunda search bodies (filter, sort, page) into store queries
 *   api_multipart.c  multipart/form-data bodies (deployments)
 *   api_v2.c       deployments, process definitions and instances, messages, signals
 *   api_jobs.c     jobs: activation with long polling, outcomes
 *   api_tasks.c    user tasks and incidents
 *   api_elements.c element instances and variables
 *   api_crm.c      crmflow's own: tokens, users, groups, history
 *   api_metrics.c  /metrics
 *
 * Threads: handlers run on the HTTP layer's threads. They read through a
 * pool of read-only store handles and send commands to the writer
 * (struct api_cmd), whose done callback answers on the writer's thread.
 */
#ifndef CF_API_INT_H
#define CF_API_INT_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/cf_api.h"
#include "bpmn/cf_bpmn.h"
#include "feel/cf_feel.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

/* ------------------------------------------------------------ principals and roles */

enum api_role { ROLE_NONE, ROLE_VIEWER, ROLE_WORKER, ROLE_AGENT, ROLE_DESIGNER, ROLE_ADMIN };

/* What a route needs (who may call it). */
enum api_perm {
  PERM_OPEN,      /* anyone, no token */
  PERM_READ,      /* admin, designer, viewer */
  PERM_TASK_READ, /* the readers and agents (an agent sees its own and its groups' tasks) */
  PERM_TASK,      /* admin, agent (an agent only its own and its groups' tasks) */
  PERM_JOB,       /* admin, worker */
  PERM_DEPLOY,    /* admin, designer */
  PERM_OPERATE,   /* admin, designer: start, cancel, messages, signals, incidents */
  PERM_ADMIN,     /* admin: tokens, users, groups */
  PERM_RECORDS_READ, /* admin, designer, agent, viewer: CRM records */
  PERM_RECORDS,   /* admin, designer, agent: change CRM records */
  PERM_DESIGN,    /* admin, designer: triggers, record types */
  PERM_SELF       /* any authenticated principal (who am I) */
};

#define API_MAX_GROUPS 32

struct api_principal {
  enum api_role role;
  char name[128];            /* the token's name, or the user's */
  char user[128];            /* the user acted as ("" when the token has none) */
  char groups[API_MAX_GROUPS][128];
  size_t ngroups;
  char csrf[65];             /* signed in through the web UI's session cookie: the CSRF token it needs; else "" */
};

const char *api_role_name(enum api_role r);
enum api_role api_role_parse(const char *s);
/* Whether p may call a route needing perm. */
bool api_allowed(const struct api_principal *p, enum api_perm perm);
/* Agents: whether the task (assignee, candidate users and groups as JSON arrays) is theirs. */
bool api_task_mine(const struct api_principal *p, const char *assignee, const char *candidate_users,
                   const char *candidate_groups);
/* Agents: whether one of the instance's tasks is theirs (their view of its variables); others: true. */
struct api_ctx;
bool api_agent_sees_instance(struct api_ctx *c, uint64_t instance_key);

/* ------------------------------------------------------------ the API object */

struct api_reader {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  struct api_reader *next;
};

/* A deployed definition as the API shows it (cached by key: definitions never change). */
struct api_def {
  uint64_t key;
  char *process_id, *name, *version_tag, *resource_name;
  int32_t version;
  uint64_t deployment_key;
  struct cf_bpmn_model *model; /* for element names and types */
  uint32_t process;
  struct api_def *next;
};

#define API_DEF_BUCKETS 256
#define API_AUTH_SLOTS 512
#define API_LAT_BUCKETS 12

struct api_auth_slot {
  uint64_t hash;          /* of the Authorization header (0: empty slot) */
  char digest[65];        /* its full digest (a 64-bit hash collision must not pass) */
  int64_t until_ms;       /* cached until */
  struct api_principal who;
};

struct api_route;
struct api_park;

struct cf_api {
  char *version, *host, *db;
  int port;
  struct cf_runtime *rt;
  struct cf_runtime_writer *writer;
  struct cf_crm *crm;
  bool no_auth;
  int64_t long_poll_ms;
  size_t max_depth, max_resource;
  unsigned char auth_key[32]; /* keys the cache's header hashes (random per process) */
  unsigned char session_key[32]; /* signs web UI session cookies (stored: every node, every restart) */
  bool session_key_ok;
  int64_t session_ms;

  pthread_mutex_t mu;         /* readers, defs, auth cache */
  struct api_reader *readers;
  struct api_def *defs[API_DEF_BUCKETS];
  struct api_auth_slot *auth;

  /* Latency histograms per route (atomics). */
  uint64_t (*lat)[API_LAT_BUCKETS + 1];
  uint64_t *lat_sum_us;     /* microseconds */
  uint64_t *lat_count;
  uint64_t status_counts[6];  /* 1xx..5xx answers, [0] unused */

  /* Parked requests (long polls, awaitCompletion): api_jobs.c. */
  struct api_park *park;
  bool stopping;
};

/* ------------------------------------------------------------ a request being answered */

struct api_ctx {
  struct cf_api *api;
  const struct cf_api_request *req;
  struct cf_api_response *res;
  cf_api_done_fn done;
  void *done_arg;
  int route;
  const char *param;     /* the last {…} segment of the path, or NULL */
  const char *param0;    /* the first (the same when there is one) */
  struct api_principal who;
};

/* What an asynchronous answer needs after the handler returned (copied from the ctx). */
struct api_reply {
  struct cf_api *api;
  struct cf_api_response *res;
  cf_api_done_fn done;
  void *done_arg;
  int route;
  double started;
  char path[256];
};

void api_reply_from(struct api_reply *r, const struct api_ctx *c);
/* Records the latency and calls done: the answer in r->res is final. */
void api_reply_finish(struct api_reply *r);

/*
 * A command for the writer. Handlers embed it first in a struct of their own,
 * fill run (on the writer's thread: the runtime calls) and answer (fills
 * the response on success; NULL: 204), and call api_cmd_submit, which owns
 * it from then on (freed with release, after the answer).
 */
struct api_cmd {
  struct api_reply reply;
  char actor[160];
  struct api_principal who;
  int (*run)(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err);
  /* Fills the response; false: it handed the command on (to the parking lot), which answers and releases
   * it later, so the caller must not touch it again. */
  bool (*answer)(struct api_cmd *c);
  void (*release)(struct api_cmd *c); /* frees the embedding struct */
  int refuse_status; /* set by run with an error: answer with this status (403) instead of the code's */
};

/* awaitCompletion (api_v2.c's create, api_jobs.c's parking lot). */
void api_await_park(struct api_cmd *c, uint64_t instance_key, int64_t timeout_ms, char **fetch, size_t nfetch);
void api_create_answer(struct api_cmd *c, const char *variables_json);
bool api_create_answered(struct api_cmd *c);
void api_create_fail(struct api_cmd *c, int status, const char *title, const char *detail);
/* Writes the JSON object text obj filtered to names (all when n is 0) into b. */
void api_pick_vars(struct cf_buf *b, const char *obj, char *const *names, size_t n);

/* Returns false (pending) when queued; true when refused at once (answered with 503). */
bool api_cmd_submit(struct api_ctx *ctx, struct api_cmd *c);

/* A command on the path's key with an optional body that carries nothing we use ({} or empty):
 * cancellation, incident resolution. run finds the key with api_cmd_key. */
bool api_key_command(struct api_ctx *ctx, int (*run)(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err));
uint64_t api_cmd_key(const struct api_cmd *c);
/* Turns a runtime error into the problem it is (status by code). */
void api_error_problem(struct cf_api_response *res, const struct cf_error *err, const char *instance);

/* ------------------------------------------------------------ readers and definitions */

int api_reader_get(struct cf_api *api, struct api_reader **out, struct cf_error *err);
/* A reader for the request, or NULL after answering the problem (a database that cannot be read). */
struct api_reader *api_reader_for(struct api_ctx *c);
void api_reader_put(struct cf_api *api, struct api_reader *r);
/* The definition (borrowed: lives as long as the API), or NULL with err (CF_ENOTFOUND). */
const struct api_def *api_def(struct cf_api *api, struct api_reader *r, uint64_t key, struct cf_error *err);
const char *api_element_name(const struct api_def *d, const char *element_id);
const char *api_element_type(const struct api_def *d, const char *element_id);
/* The element's own type, also for a multi-instance activity (its inner instances). */
const char *api_element_inner_type(const struct api_def *d, const char *element_id);

/* ------------------------------------------------------------ JSON in and out (api_json.c) */

/* Parses the request body as a JSON object (an empty body: an empty object when empty_ok). On
 * failure answers 400 naming what is wrong and returns NULL. New reference. */
struct json_object *api_body(struct api_ctx *c, bool empty_ok);
/* 400 INVALID_ARGUMENT with detail (printf). Returns true (answered). */
bool api_bad(struct api_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool api_fail(struct api_ctx *c, int status, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Field readers: false (and a 400 answered) when present with the wrong type. Absent or null: the
 * default is left in *out. */
bool api_get_string(struct api_ctx *c, struct json_object *o, const char *field, const char **out);
bool api_get_int(struct api_ctx *c, struct json_object *o, const char *field, int64_t *out);
bool api_get_bool(struct api_ctx *c, struct json_object *o, const char *field, bool *out);
/* A key: a digit string or a JSON number. *present false when absent. */
bool api_get_key(struct api_ctx *c, struct json_object *o, const char *field, uint64_t *out, bool *present);
/* variables: an object (or absent/null: *out NULL type). */
bool api_get_vars(struct api_ctx *c, struct json_object *o, const char *field, struct cf_feel_value *out);
/* Tenant: absent, "", or "<default>"; anything else 400 (multi-tenancy is off). */
bool api_check_tenant(struct api_ctx *c, struct json_object *o);
/* The path key (the {…} segment), 400 when not a signed 64-bit decimal. */
bool api_path_key(struct api_ctx *c, uint64_t *key);
bool api_parse_key_text(const char *s, uint64_t *key);
/* The query argument name's value, or NULL. Copies into buf. */
const char *api_query_arg(const struct api_ctx *c, const char *name, char *buf, size_t len);

void api_json_key(struct cf_buf *b, const char *name, uint64_t key, bool first);
void api_json_str(struct cf_buf *b, const char *name, const char *s, bool first);
void api_json_int(struct cf_buf *b, const char *name, int64_t v, bool first);
void api_json_bool(struct cf_buf *b, const char *name, bool v, bool first);
/* RFC 3339 with milliseconds in UTC, or null when at_ms is 0. */
void api_json_time(struct cf_buf *b, const char *name, int64_t at_ms, bool first);
void api_format_time(int64_t at_ms, char out[32]);
/* Parses an RFC 3339 date-time into epoch ms. */
bool api_parse_time(const char *s, int64_t *ms);
/* 200 with the buffer as body (application/json). */
bool api_ok_json(struct api_ctx *c);
bool api_no_content(struct api_ctx *c);

/* ------------------------------------------------------------ searches (api_search.c) */

/* A Camunda field of a search filter, and how it maps to a store field. */
enum api_ftype { FT_KEY, FT_STRING, FT_INT, FT_BOOL, FT_TIME, FT_ENUM, FT_VARS, FT_REAL };

struct api_field {
  const char *name;         /* Camunda's */
  const char *store;        /* the store's (NULL: accepted, not filterable: 400 if used) */
  enum api_ftype type;
  const char *const *enums; /* FT_ENUM: the names, their index is the store's number */
  bool sortable;
};

struct api_search_spec {
  enum cf_store_entity entity;
  const struct api_field *fields;
  size_t nfields;
};

/* A parsed search (owns the memory its query points to). */
struct api_search {
  struct cf_store_query q;
  struct api_search_mem *mem;
  size_t from;
  void *agent_mem[3];       /* an agent's restriction (api_tasks.c frees it) */
};

/* Parses body's filter, sort and page into s (400 answered and false on error). */
bool api_search_parse(struct api_ctx *c, struct json_object *body, const struct api_search_spec *spec,
                      struct api_search *s);
/* Adds one condition (ANDed) owned by s. values are copied. */
bool api_search_add(struct api_search *s, const char *field, enum cf_store_qop op, const struct cf_store_qvalue *v,
                    size_t n);
void api_search_release(struct api_search *s);
/* Writes "page":{...} for a result. */
void api_search_page(struct cf_buf *b, const struct api_search *s, const struct cf_store_result *r);
/* One item of a search result, written into c's body. */
typedef void (*api_item_fn)(struct api_ctx *c, struct api_reader *r, const struct cf_store_result *res, size_t i);
/* Runs s and answers {items: [...], page} (or the problem). Returns true (answered). */
bool api_search_answer(struct api_ctx *c, struct api_search *s, api_item_fn item);

/* ------------------------------------------------------------ multipart (api_multipart.c) */

struct api_part {
  const char *name, *filename; /* NUL-terminated copies in the parts' memory */
  const char *data;            /* into the body */
  size_t len;
};

/* Splits a multipart/form-data body by the boundary of content_type. CF_EINVAL with err on malformed input. */
int api_multipart(const char *content_type, const char *body, size_t len, struct api_part **parts, size_t *n,
                  struct cf_error *err);
void api_parts_free(struct api_part *parts, size_t n);

/* ------------------------------------------------------------ handlers */

bool api_h_topology(struct api_ctx *c);
bool api_h_healthz(struct api_ctx *c);
bool api_h_status(struct api_ctx *c);
bool api_h_license(struct api_ctx *c);
bool api_h_metrics(struct api_ctx *c);

bool api_h_deploy(struct api_ctx *c);
bool api_h_definition_get(struct api_ctx *c);
bool api_h_definition_xml(struct api_ctx *c);
bool api_h_definition_search(struct api_ctx *c);
bool api_h_instance_create(struct api_ctx *c);
bool api_h_instance_search(struct api_ctx *c);
bool api_h_instance_get(struct api_ctx *c);
bool api_h_instance_cancel(struct api_ctx *c);
bool api_h_message_publish(struct api_ctx *c);
bool api_h_message_correlate(struct api_ctx *c);
bool api_h_signal_broadcast(struct api_ctx *c);

bool api_h_job_activate(struct api_ctx *c);
bool api_h_job_complete(struct api_ctx *c);
bool api_h_job_fail(struct api_ctx *c);
bool api_h_job_error(struct api_ctx *c);
bool api_h_job_update(struct api_ctx *c);

bool api_h_task_search(struct api_ctx *c);
bool api_h_task_get(struct api_ctx *c);
bool api_h_task_complete(struct api_ctx *c);
bool api_h_task_assign(struct api_ctx *c);
bool api_h_task_unassign(struct api_ctx *c);
bool api_h_incident_search(struct api_ctx *c);
bool api_h_incident_get(struct api_ctx *c);
bool api_h_incident_resolve(struct api_ctx *c);

bool api_h_element_search(struct api_ctx *c);
bool api_h_element_get(struct api_ctx *c);
bool api_h_variable_search(struct api_ctx *c);
bool api_h_variable_get(struct api_ctx *c);

bool api_h_me(struct api_ctx *c);
bool api_h_session_create(struct api_ctx *c);
bool api_h_session_delete(struct api_ctx *c);
bool api_h_task_form(struct api_ctx *c);
bool api_h_definition_statistics(struct api_ctx *c);
bool api_h_dashboard(struct api_ctx *c);
bool api_h_token_create(struct api_ctx *c);
bool api_h_token_list(struct api_ctx *c);
bool api_h_token_delete(struct api_ctx *c);
bool api_h_user_create(struct api_ctx *c);
bool api_h_user_list(struct api_ctx *c);
bool api_h_user_get(struct api_ctx *c);
bool api_h_user_update(struct api_ctx *c);
bool api_h_user_delete(struct api_ctx *c);
bool api_h_group_create(struct api_ctx *c);
bool api_h_group_list(struct api_ctx *c);
bool api_h_group_get(struct api_ctx *c);
bool api_h_group_delete(struct api_ctx *c);
bool api_h_history(struct api_ctx *c);

bool api_h_record_create(struct api_ctx *c);
bool api_h_record_get(struct api_ctx *c);
bool api_h_record_update(struct api_ctx *c);
bool api_h_record_delete(struct api_ctx *c);
bool api_h_record_search(struct api_ctx *c);
bool api_h_record_history(struct api_ctx *c);
bool api_h_record_types(struct api_ctx *c);
bool api_h_record_type_get(struct api_ctx *c);
bool api_h_record_type_put(struct api_ctx *c);
bool api_h_trigger_create(struct api_ctx *c);
bool api_h_trigger_list(struct api_ctx *c);
bool api_h_trigger_delete(struct api_ctx *c);
bool api_h_personal_export(struct api_ctx *c);
bool api_h_personal_erase(struct api_ctx *c);


/* ------------------------------------------------------------ internals of api_auth.c, api_jobs.c */

/* Resolves the Authorization header into *who (cached a few seconds). false: answered 401. */
bool api_authenticate(struct api_ctx *c);
int api_auth_init(struct cf_api *api);
/* Loads (or makes and stores, through the writer) the key that signs session cookies. */
int api_session_init(struct cf_api *api, struct cf_error *err);
void api_auth_free(struct cf_api *api);

int api_park_init(struct cf_api *api);
void api_park_shutdown(struct cf_api *api);
void api_park_free(struct cf_api *api);
/* The writer finished a batch: parked requests look again. */
void api_park_notify(void *api);

/* Route names for metrics. */
size_t api_route_count(void);
const char *api_route_label(size_t i, const char **method);
extern const double api_lat_bounds_ms[API_LAT_BUCKETS];

/* Whether a 64-bit timestamp source: the runtime's clock (ms). */
int64_t api_now(const struct cf_api *api);

#endif
