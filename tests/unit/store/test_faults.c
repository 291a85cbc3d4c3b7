/*
 * Fault tests of src/store/store_sqlite.c: real database files broken the
 * ways disks and people break them. The promise: a corrupt or truncated
 * database file, a full disk and a read-only file give a clear error (CF_EIO
 * naming the file and what is wrong with it), never a crash and never a
 * half-applied command.
 *
 * - Corrupt: garbage over the header pages, over a page in the middle, and
 *   over every page in turn; each read and write either works or fails with
 *   CF_EIO, and a write command is in the file whole or not at all.
 * - Truncated: half a database, and less than its header.
 * - Not a database: text, zeros, a folder, a missing folder.
 * - Read-only: chmod on the file and on its folder. Root ignores file
 *   permissions, so when the tests run as root each read-only case runs in a
 *   child that drops to uid/gid 65534 (nobody) first; the case is skipped,
 *   saying why, only if that is refused. A CF_STORE_READONLY handle is a
 *   different thing (tests/unit/store/test_sqlite.c covers it).
 * - Full disk: a child lowers RLIMIT_FSIZE with SIGXFSZ ignored, so write()
 *   fails with EFBIG exactly where a full disk fails with ENOSPC; it reports
 *   through its exit status. A disk that fills at the page-count level
 *   (SQLITE_FULL) is in test_sqlite.c.
 *
 * No SQLite connection may be open across fork(): SQLite's unix VFS keeps
 * per-process file and lock state that a child would wrongly inherit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "base/cf_alloc.h"
#include "store/cf_store.h"
#include "store/store_int.h"

static char tmpdir[64];
static const struct cf_store_ops *O = &cf_store_sqlite;

/* The data every damaged file starts with (make_db). */
enum {
  DONE_KEY = 1,   /* a completed instance: jobs 11 and 12, HISTORY events */
  ACTIVE_KEY = 2, /* an active instance: job 21 */
  HISTORY = 600,
  NEW_KEY = 50    /* the write command tried on a damaged file: jobs 51, 52 */
};

/* ------------------------------------------------------------ files */

static const char *path_of(const char *name) {
  static char p[4][160];
  static int next;
  char *b = p[next++ % 4];
  snprintf(b, sizeof p[0], "%s/%s", tmpdir, name);
  return b;
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat sb;
    if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      chmod(p, 0755);
      remove_tree(p);
      rmdir(p);
    } else {
      unlink(p);
    }
  }
  closedir(d);
}

static int setup(void **state) {
  strcpy(tmpdir, "/tmp/cf_store_faults_XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  /* A child that drops to nobody must reach the files. */
  return chmod(tmpdir, 0755);
}

static int teardown(void **state) {
  chmod(tmpdir, 0755);
  remove_tree(tmpdir);
  return rmdir(tmpdir);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot read %s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void spill(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

/* Also removes to's -wal and -shm: a WAL left by an earlier round must not meet a new copy. */
static void copy_file(const char *from, const char *to) {
  char side[200];
  snprintf(side, sizeof side, "%s-wal", to);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", to);
  unlink(side);
  size_t n;
  char *b = slurp(from, &n);
  spill(to, b, n);
  free(b);
}

static void assert_file_is(const char *path, const char *bytes, size_t len) {
  size_t n;
  char *now = slurp(path, &n);
  if (n != len || memcmp(now, bytes, len) != 0)
    fail_msg("%s was changed by a store that failed to open it", path);
  free(now);
}

/* Writes len bytes of garbage (a fixed pseudo-random sequence) at off. */
static void garble(const char *path, long off, size_t len, uint32_t seed) {
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  unsigned char *b = malloc(len);
  assert_non_null(b);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b[i] = (unsigned char)x;
  }
  assert_int_equal(pwrite(fd, b, len, off), (ssize_t)len);
  close(fd);
  free(b);
}

static long file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static long page_size(const char *path) {
  unsigned char h[18];
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
  fclose(f);
  long n = h[16] << 8 | h[17];
  return n == 1 ? 65536 : n;
}

/* ------------------------------------------------------------ the data */

static struct cf_store_instance an_instance(uint64_t key, uint8_t state) {
  return (struct cf_store_instance){.key = key, .definition_key = 7, .process_id = (char *)"order",
                                    .version = 1, .state = state, .started_ms = 10,
                                    .ended_ms = state == CF_STORE_ACTIVE ? 0 : 100,
                                    .row_version = 1,
                                    .engine_state = (char *)"{\"s\":1}", .engine_state_len = 7,
                                    .variables = (char *)"{}"};
}

static struct cf_store_job a_job(uint64_t key) {
  return (struct cf_store_job){.key = key, .element_instance_key = key + 1000,
                               .element_id = (char *)"task", .type = (char *)"mail", .retries = 3,
                               .headers = (char *)"{}"};
}

/* CF_OK when SQLite's own check finds the file sound. */
static int check_intact(struct cf_store *s, struct cf_error *err) {
  /* abs() of the smallest integer is an "integer overflow" error: the one way to make a
   * statement run through cf__store_sqlite_exec fail on a value. */
  return cf__store_sqlite_exec(
      s,
      "SELECT CASE WHEN (SELECT group_concat(integrity_check) FROM pragma_integrity_check) = 'ok'"
      " THEN 1 ELSE abs(-9223372036854775807 - 1) END",
      err);
}

/* A crmflow database of about 100 pages: two instances, their jobs, a long history. */
static void make_db(const char *path) {
  struct cf_error err = {0};
  struct cf_store *s = NULL;
  unlink(path);
  if (cf_store_open(path, 0, &O, &s, &err) != CF_OK) fail_msg("open %s: %s", path, err.msg);
  struct cf_store_instance done = an_instance(DONE_KEY, CF_STORE_COMPLETED),
                           active = an_instance(ACTIVE_KEY, CF_STORE_ACTIVE);
  struct cf_store_job dj[2] = {a_job(11), a_job(12)}, aj = a_job(21);
  struct cf_store_definition d = {.key = 7, .process_id = (char *)"order", .deployment_key = 6,
                                  .resource_name = (char *)"order.bpmn", .checksum = (char *)"c",
                                  .xml = (char *)"<definitions/>", .xml_len = 14};
  static char detail[400];
  memset(detail, 'x', sizeof detail - 1);
  struct cf_store_event ev[50];
  for (int i = 0; i < 50; i++)
    ev[i] = (struct cf_store_event){.instance_key = DONE_KEY, .at_ms = i,
                                    .kind = (char *)"ELEMENT_COMPLETED", .key = (uint64_t)i,
                                    .detail = detail};
  int rc = O->begin(s, &err);
  if (!rc) rc = O->definition_insert(s, &d, &err);
  struct cf_store_instance_rows drows = {.jobs = dj, .njobs = 2};
  struct cf_store_instance_rows arows = {.jobs = &aj, .njobs = 1};
  if (!rc) rc = O->instance_insert(s, &done, &drows, &err);
  if (!rc) rc = O->instance_insert(s, &active, &arows, &err);
  for (int k = 0; !rc && k < HISTORY / 50; k++) rc = O->history_append(s, ev, 50, &err);
  if (!rc) rc = O->commit(s, &err);
  if (rc) fail_msg("making %s: %s", path, err.msg);
  if (check_intact(s, &err) != CF_OK) fail_msg("%s is not intact: %s", path, err.msg);
  O->close(s);
  /* Closing the last handle checkpoints: the file holds everything, no -wal is left. */
  char wal[200];
  snprintf(wal, sizeof wal, "%s-wal", path);
  assert_int_equal(access(wal, F_OK), -1);
}

/* ------------------------------------------------------------ checks */

/* rc is CF_EIO, and the message names the file and says one of the words (NULL-terminated). */
static void assert_clear(int rc, const struct cf_error *err, const char *path, ...) {
  if (rc != CF_EIO) fail_msg("expected CF_EIO about %s, got rc %d: %s", path, rc, err->msg);
  if (!strstr(err->msg, path)) fail_msg("the message does not name %s: %s", path, err->msg);
  va_list ap;
  va_start(ap, path);
  bool said = false;
  for (const char *w; (w = va_arg(ap, const char *));)
    if (strstr(err->msg, w)) said = true;
  va_end(ap);
  if (!said) fail_msg("the message does not say what is wrong: %s", err->msg);
}

/* The store's answer to a read or write on a damaged file: it worked (or found nothing), or it
 * is a clear CF_EIO naming the file. Anything else fails the test. */
static bool answer_ok(int rc, const struct cf_error *err, const char *path, const char *call) {
  if (rc == CF_OK || rc == CF_ENOTFOUND) return true;
  if (rc != CF_EIO) fail_msg("%s on damaged %s: rc %d, not CF_EIO: %s", call, path, rc, err->msg);
  if (!strstr(err->msg, path))
    fail_msg("%s on damaged %s: the message does not name the file: %s", call, path, err->msg);
  return false;
}

enum presence { ABSENT, PRESENT, UNREADABLE };

static enum presence instance_there(struct cf_store *s, uint64_t key, const char *path) {
  struct cf_error err = {0};
  struct cf_store_instance got;
  int rc = O->instance_get(s, key, &got, &err);
  if (rc == CF_OK) cf_store_instance_release(&got);
  if (!answer_ok(rc, &err, path, "instance_get")) return UNREADABLE;
  return rc == CF_OK ? PRESENT : ABSENT;
}

static enum presence job_there(struct cf_store *s, uint64_t key, const char *path) {
  struct cf_error err = {0};
  struct cf_store_job got;
  int rc = O->job_get(s, key, &got, &err);
  if (rc == CF_OK) cf_store_job_release(&got);
  if (!answer_ok(rc, &err, path, "job_get")) return UNREADABLE;
  return rc == CF_OK ? PRESENT : ABSENT;
}

/*
 * An instance and its jobs are all there or none is (what can be read of them). Returns
 * PRESENT, ABSENT, or UNREADABLE when nothing could be read.
 */
static enum presence whole_or_nothing(struct cf_store *s, uint64_t key, const uint64_t *jobs,
                                      size_t njobs, const char *path) {
  enum presence seen = instance_there(s, key, path);
  for (size_t k = 0; k < njobs; k++) {
    enum presence p = job_there(s, jobs[k], path);
    if (p == UNREADABLE) continue;
    if (seen == UNREADABLE) seen = p;
    else if (p != seen)
      fail_msg("%s: half a command is stored: instance %llu is %s, its job %llu is %s", path,
               (unsigned long long)key, seen == PRESENT ? "there" : "missing",
               (unsigned long long)jobs[k], p == PRESENT ? "there" : "missing");
  }
  return seen;
}

/* The write command tried on damaged files: a new instance with two jobs. */
static int new_command(struct cf_store *s, struct cf_error *err) {
  struct cf_store_instance i = an_instance(NEW_KEY, CF_STORE_ACTIVE);
  struct cf_store_job j[2] = {a_job(NEW_KEY + 1), a_job(NEW_KEY + 2)};
  return O->instance_insert(s, &i, &(struct cf_store_instance_rows){.jobs = j, .njobs = 2}, err);
}

static const uint64_t new_jobs[] = {NEW_KEY + 1, NEW_KEY + 2};
static const uint64_t done_jobs[] = {11, 12};

/* ------------------------------------------------------------ corrupt files */

/*
 * Garbage over the start of the file (the header, the schema page, more):
 * refused at open, for writing and for reading, naming the file, and the file
 * is left as it was (no "new database" is made over it).
 */
static void garbage_over_the_first_pages_is_refused(void **state) {
  const char *pristine = path_of("pristine-hdr.db"), *p = path_of("hdr.db");
  make_db(pristine);
  long ps = page_size(pristine);
  /* Two pages; the header; the header past its magic string; the schema page past the header. */
  const struct {
    long off, len;
  } damage[] = {{0, 2 * ps}, {0, 100}, {16, 84}, {100, ps - 100}};
  for (size_t d = 0; d < sizeof damage / sizeof damage[0]; d++) {
    copy_file(pristine, p);
    garble(p, damage[d].off, (size_t)damage[d].len, (uint32_t)d + 1);
    size_t n;
    char *before = slurp(p, &n);
    for (int ro = 0; ro < 2; ro++) {
      struct cf_error err = {0};
      struct cf_store *s = NULL;
      int rc = cf_store_open(p, ro ? CF_STORE_READONLY : 0, &O, &s, &err);
      if (rc == CF_OK) {
        /* Only the schema page may survive an open; then reading must fail. */
        struct cf_store_instance *list = NULL;
        size_t cnt = 0;
        rc = O->instance_list(s, NULL, &list, &cnt, &err);
        assert_null(list);
        O->close(s);
      }
      assert_clear(rc, &err, p, "corrupt", NULL);
      assert_non_null(strstr(err.msg, "restore it from a backup"));
    }
    assert_file_is(p, before, n);
    free(before);
  }
}

/*
 * Garbage over one page in the middle (history rows): the file opens, the
 * parts that are whole still read, the damaged part is a clear error, and a
 * command that runs into the damage half way (pruning the instance whose
 * history it is) leaves nothing of itself.
 */
static void garbage_over_a_middle_page_is_found_and_nothing_half_applies(void **state) {
  const char *p = path_of("middle.db");
  make_db(p);
  long ps = page_size(p), pages = file_size(p) / ps;
  assert_true(pages > 50);
  /* 0xA5 is no b-tree page type: whichever history page this is, it is found damaged. */
  int fd = open(p, O_WRONLY);
  assert_true(fd >= 0);
  char *junk = malloc((size_t)ps);
  memset(junk, 0xA5, (size_t)ps);
  assert_int_equal(pwrite(fd, junk, (size_t)ps, (pages / 2) * ps), ps);
  close(fd);
  free(junk);

  struct cf_error err = {0};
  struct cf_store *w = NULL, *r = NULL;
  if (cf_store_open(p, 0, &O, &w, &err) != CF_OK) fail_msg("open: %s", err.msg);
  if (cf_store_open(p, CF_STORE_READONLY, &O, &r, &err) != CF_OK) fail_msg("open ro: %s", err.msg);
  for (int k = 0; k < 2; k++) {
    struct cf_store *s = k ? r : w;
    struct cf_store_event *h = NULL;
    size_t n = 0;
    assert_clear(O->history_list(s, DONE_KEY, &h, &n, &err), &err, p, "corrupt", NULL);
    assert_null(h);
    assert_int_equal(instance_there(s, ACTIVE_KEY, p), PRESENT);
    assert_int_equal(job_there(s, 21, p), PRESENT);
  }
  /* Pruning the completed instance deletes its history first: where the damage is in the B-tree's
   * structure it meets it and fails clearly, leaving the instance whole; where it is inside the
   * history's text only, the rows are deleted without being read, and the instance goes whole. */
  size_t removed = 99;
  cf_error_clear(&err);
  int prc = O->prune(w, 1000, 10, &removed, &err);
  if (prc) {
    assert_clear(prc, &err, p, "corrupt", NULL);
    assert_int_equal(removed, 99);
    assert_int_equal(whole_or_nothing(w, DONE_KEY, done_jobs, 2, p), PRESENT);
  } else {
    assert_int_equal(removed, 1);
    assert_int_equal(whole_or_nothing(w, DONE_KEY, done_jobs, 2, p), ABSENT);
  }
  /* A command that does not touch the damage works; if it did not, it left nothing. */
  int rc = new_command(w, &err);
  assert_true(answer_ok(rc, &err, p, "instance_insert") || rc == CF_EIO);
  assert_int_equal(whole_or_nothing(w, NEW_KEY, new_jobs, 2, p), rc == CF_OK ? PRESENT : ABSENT);
  assert_int_equal(whole_or_nothing(r, NEW_KEY, new_jobs, 2, p), rc == CF_OK ? PRESENT : ABSENT);
  /* The writer is not wedged by the errors: a batch still commits. */
  struct cf_store_instance more = an_instance(60, CF_STORE_ACTIVE);
  assert_int_equal(O->begin(w, &err), CF_OK);
  assert_int_equal(O->instance_insert(w, &more, NULL, &err), CF_OK);
  assert_int_equal(O->commit(w, &err), CF_OK);
  assert_int_equal(instance_there(r, 60, p), PRESENT);
  O->close(r);
  O->close(w);
}

/*
 * Every page of the file damaged in turn: whatever a store call meets, it
 * answers (CF_OK, CF_ENOTFOUND, or CF_EIO naming the file), never crashes
 * (the sanitizer build checks memory), and a write command or a prune is in
 * the file whole or not at all.
 */
static void every_page_damaged_in_turn_is_an_answer_never_a_crash(void **state) {
  const char *pristine = path_of("pristine-sweep.db"), *p = path_of("sweep.db");
  make_db(pristine);
  long ps = page_size(pristine), pages = file_size(pristine) / ps;
  long refused = 0, found = 0;
  for (long pg = 0; pg < pages; pg++) {
    copy_file(pristine, p);
    garble(p, pg * ps, (size_t)ps, (uint32_t)pg + 100);
    struct cf_error err = {0};
    struct cf_store *s = NULL;
    int rc = cf_store_open(p, 0, &O, &s, &err);
    if (rc != CF_OK) {
      assert_clear(rc, &err, p, "corrupt", "not a crmflow database", NULL);
      refused++;
      continue;
    }
    bool seen = false;
    struct cf_store_instance *il = NULL;
    struct cf_store_definition *dl = NULL;
    struct cf_store_event *h = NULL;
    struct cf_store_incident *inc = NULL;
    struct cf_store_timer *t = NULL;
    struct cf_store_user_task *ut = NULL;
    struct cf_store_record_type *rt = NULL;
    struct cf_store_trigger *tg = NULL;
    struct cf_store_crm_timer *ct = NULL;
    struct cf_store_record_change *rc_h = NULL;
    struct cf_store_token *tk = NULL;
    struct cf_store_user *us = NULL;
    struct cf_store_group *gr = NULL;
    size_t n = 0;
#define ANSWER(call, arr, rel)                                    \
  do {                                                            \
    n = 0;                                                        \
    int rc_ = (call);                                             \
    if (!answer_ok(rc_, &err, p, #call)) seen = true;             \
    for (size_t k_ = 0; rc_ == CF_OK && k_ < n; k_++) rel(&arr[k_]); \
    cf_free(arr);                                                 \
    arr = NULL;                                                   \
  } while (0)
    ANSWER(O->instance_list(s, NULL, &il, &n, &err), il, cf_store_instance_release);
    ANSWER(O->definition_list(s, false, &dl, &n, &err), dl, cf_store_definition_release);
    ANSWER(O->history_list(s, DONE_KEY, &h, &n, &err), h, cf_store_event_release);
    ANSWER(O->incident_list(s, 0, &inc, &n, &err), inc, cf_store_incident_release);
    ANSWER(O->timers_due(s, 1000, 10, &t, &n, &err), t, cf_store_timer_release);
    ANSWER(O->task_list(s, NULL, &ut, &n, &err), ut, cf_store_user_task_release);
    /* The principals' and the CRM layer's tables (empty here: their pages are read all the same). */
    ANSWER(O->token_list(s, &tk, &n, &err), tk, cf_store_token_release);
    ANSWER(O->user_list(s, &us, &n, &err), us, cf_store_user_release);
    ANSWER(O->group_list(s, &gr, &n, &err), gr, cf_store_group_release);
    ANSWER(O->record_type_list(s, &rt, &n, &err), rt, cf_store_record_type_release);
    ANSWER(O->trigger_list(s, &tg, &n, &err), tg, cf_store_trigger_release);
    ANSWER(O->crm_timers_due(s, 1000, 10, &ct, &n, &err), ct, cf_store_crm_timer_release);
    ANSWER(O->record_history(s, DONE_KEY, &rc_h, &n, &err), rc_h, cf_store_record_change_release);
#undef ANSWER
    {
      struct cf_store_record rec;
      int rc_ = O->record_get(s, "lead", DONE_KEY, &rec, &err);
      if (rc_ == CF_OK) cf_store_record_release(&rec);
      if (!answer_ok(rc_, &err, p, "record_get")) seen = true;
      size_t count = 0;
      bool active = false;
      if (!answer_ok(O->enrollment_find(s, 1, DONE_KEY, &count, &active, &err), &err, p,
                     "enrollment_find"))
        seen = true;
      char *v = NULL;
      rc_ = O->crm_state_get(s, "x", &v, &err);
      cf_free(v);
      if (!answer_ok(rc_, &err, p, "crm_state_get")) seen = true;
      struct cf_store_query q = {.entity = CF_STORE_RECORDS, .limit = 10,
                                 .sort = (const struct cf_store_qsort[]){{"updated_ms", true}},
                                 .nsort = 1,
                                 .conds = (const struct cf_store_qcond[]){{"type", CF_STORE_EQ,
                                     (const struct cf_store_qvalue[]){{.is_text = true, .text = "lead"}}, 1}},
                                 .nconds = 1};
      struct cf_store_result res;
      rc_ = O->search(s, &q, &res, &err);
      if (rc_ == CF_OK) cf_store_result_release(&res);
      if (!answer_ok(rc_, &err, p, "search records")) seen = true;
    }
    if (instance_there(s, ACTIVE_KEY, p) == UNREADABLE) seen = true;

    rc = new_command(s, &err);
    if (!answer_ok(rc, &err, p, "instance_insert")) seen = true;
    enum presence np = whole_or_nothing(s, NEW_KEY, new_jobs, 2, p);
    if (np != UNREADABLE) assert_int_equal(np, rc == CF_OK ? PRESENT : ABSENT);

    size_t removed = 99;
    rc = O->prune(s, 1000, 10, &removed, &err);
    if (!answer_ok(rc, &err, p, "prune")) seen = true;
    enum presence dp = whole_or_nothing(s, DONE_KEY, done_jobs, 2, p);
    if (rc == CF_OK && removed == 1 && dp != UNREADABLE) assert_int_equal(dp, ABSENT);
    if (rc != CF_OK && dp != UNREADABLE) assert_int_equal(dp, PRESENT);
    if (rc != CF_OK) {
      /* Its history too: all of it, or unreadable (the damage is in it). */
      struct cf_store_event *hist = NULL;
      if (O->history_list(s, DONE_KEY, &hist, &n, &err) == CF_OK) {
        assert_int_equal(n, HISTORY);
        for (size_t k = 0; k < n; k++) cf_store_event_release(&hist[k]);
        cf_free(hist);
      }
    }
    if (seen) found++;
    O->close(s);
  }
  /* Most pages are b-tree pages that every pass reads: their damage must be noticed. */
  print_message("%ld pages: %ld refused at open, %ld found damaged after\n", pages, refused, found);
  assert_true(refused >= 1);
  assert_true(refused + found >= pages * 3 / 4);
}

/* ------------------------------------------------------------ truncated, and not databases */

static void truncated_database_is_refused(void **state) {
  const char *pristine = path_of("pristine-trunc.db"), *p = path_of("trunc.db");
  make_db(pristine);
  long size = file_size(pristine), ps = page_size(pristine);
  const long to[] = {size / 2, ps, 50};
  for (size_t k = 0; k < sizeof to / sizeof to[0]; k++) {
    copy_file(pristine, p);
    assert_int_equal(truncate(p, to[k]), 0);
    size_t n;
    char *before = slurp(p, &n);
    for (int ro = 0; ro < 2; ro++) {
      struct cf_error err = {0};
      struct cf_store *s = NULL;
      int rc = cf_store_open(p, ro ? CF_STORE_READONLY : 0, &O, &s, &err);
      if (rc == CF_OK) {
        rc = new_command(s, &err);
        O->close(s);
        fail_msg("%s cut to %ld bytes opened (then the write said %d)", p, to[k], rc);
      }
      assert_clear(rc, &err, p, "corrupt", NULL);
      if (to[k] >= ps) assert_non_null(strstr(err.msg, "truncated"));
    }
    /* Neither grown back nor overwritten with a new database. */
    assert_file_is(p, before, n);
    free(before);
  }
}

static void files_that_are_no_database_are_refused(void **state) {
  const char *p = path_of("notes.db");
  char text[20000];
  for (size_t i = 0; i < sizeof text; i++) text[i] = "Call Ann about the renewal.\n"[i % 28];
  char zeros[8192] = {0};
  static const char tiny[] = "hello\n";
  const struct {
    const char *data;
    size_t len;
  } files[] = {{text, sizeof text}, {zeros, sizeof zeros}, {tiny, sizeof tiny - 1}};
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    spill(p, files[f].data, files[f].len);
    for (int ro = 0; ro < 2; ro++) {
      struct cf_error err = {0};
      struct cf_store *s = NULL;
      int rc = cf_store_open(p, ro ? CF_STORE_READONLY : 0, &O, &s, &err);
      if (rc == CF_OK) O->close(s);
      assert_clear(rc, &err, p, "not a crmflow database", NULL);
    }
    assert_file_is(p, files[f].data, files[f].len);
  }
  /* A folder, and a file in a folder that does not exist: the OS's reason is given. */
  struct cf_error err = {0};
  struct cf_store *s = NULL;
  const char *dir = path_of("a-folder");
  assert_int_equal(mkdir(dir, 0755), 0);
  assert_clear(cf_store_open(dir, 0, &O, &s, &err), &err, dir, "cannot open", NULL);
  const char *lost = path_of("no-such-folder/crm.db");
  assert_clear(cf_store_open(lost, 0, &O, &s, &err), &err, lost, "No such file or directory", NULL);
  assert_clear(cf_store_open(lost, CF_STORE_READONLY, &O, &s, &err), &err, lost,
               "No such file or directory", NULL);
}

/* ------------------------------------------------------------ children */

#define CHILD_CHECK(cond, ...)                                   \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "child, %s:%d: ", __FILE__, __LINE__);     \
      fprintf(stderr, __VA_ARGS__);                              \
      fputc('\n', stderr);                                       \
      _exit(1);                                                  \
    }                                                            \
  } while (0)

enum { CHILD_SKIP = 77 };

/*
 * Runs fn(arg) in a child process; as_user: as an unprivileged user (root
 * drops to 65534; CHILD_SKIP if it may not). Returns the child's exit status;
 * a child killed by a signal (a crash, a sanitizer abort) fails the test.
 */
static int in_child(void (*fn)(const void *), const void *arg, bool as_user) {
#ifdef __SANITIZE_ADDRESS__
  /* A test that failed earlier left its allocations behind (cmocka jumps out of it): a child
   * would report them as its own. Check a child's leaks only when the parent has none. */
  bool check_leaks = __lsan_do_recoverable_leak_check() == 0;
#endif
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* cmocka catches these to go on with the next test; in the child, a crash is a crash. */
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) signal(sigs[k], SIG_DFL);
    if (as_user && geteuid() == 0 &&
        (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
      fprintf(stderr, "cannot drop root to uid 65534 (%s)\n", strerror(errno));
      _exit(CHILD_SKIP);
    }
    fn(arg);
#ifdef __SANITIZE_ADDRESS__
    /* _exit() skips LeakSanitizer's check at exit: run it here, on what the child did. */
    if (check_leaks && __lsan_do_recoverable_leak_check()) _exit(1);
#endif
    _exit(0);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) assert_int_equal(errno, EINTR);
  if (WIFSIGNALED(status)) fail_msg("the child died of signal %d", WTERMSIG(status));
  return WEXITSTATUS(status);
}

/* ------------------------------------------------------------ read-only files and folders */

struct ro_case {
  const char *path;
  const char *writer_says; /* a word the refusal of a writer must say */
  bool reader_reads;       /* a READONLY handle can read it */
};

static void child_ro(const void *arg) {
  const struct ro_case *c = arg;
  struct cf_error err = {0};
  struct cf_store *s = NULL;
  int rc = cf_store_open(c->path, 0, &O, &s, &err);
  if (rc == CF_OK) O->close(s);
  CHILD_CHECK(rc == CF_EIO, "a writer opened read-only %s: rc %d %s", c->path, rc, err.msg);
  CHILD_CHECK(strstr(err.msg, c->path) && strstr(err.msg, c->writer_says),
              "unclear refusal of a writer: %s", err.msg);
  rc = cf_store_open(c->path, CF_STORE_READONLY, &O, &s, &err);
  if (!c->reader_reads) {
    if (rc == CF_OK) O->close(s);
    CHILD_CHECK(rc == CF_EIO && strstr(err.msg, c->path) && strstr(err.msg, "read-only"),
                "unclear refusal of a reader: rc %d %s", rc, err.msg);
    return;
  }
  CHILD_CHECK(rc == CF_OK, "a reader could not open %s: %s", c->path, err.msg);
  struct cf_store_event *h = NULL;
  size_t n = 0;
  rc = O->history_list(s, DONE_KEY, &h, &n, &err);
  CHILD_CHECK(rc == CF_OK && n == HISTORY, "a reader could not read: rc %d n %zu %s", rc, n,
              err.msg);
  for (size_t k = 0; k < n; k++) cf_store_event_release(&h[k]);
  cf_free(h);
  struct cf_store_job j;
  rc = O->job_get(s, 21, &j, &err);
  CHILD_CHECK(rc == CF_OK, "job_get: %s", err.msg);
  cf_store_job_release(&j);
  rc = new_command(s, &err);
  CHILD_CHECK(rc == CF_EINVAL && strstr(err.msg, "read-only"), "a reader wrote: rc %d %s", rc,
              err.msg);
  O->close(s);
}

/*
 * A database the user may not write: a writer is refused at open with a
 * message that says read-only and names the file (or its folder), the file is
 * not touched, and a reader reads it when SQLite can: always when the folder
 * is writable; never when the folder is read-only and the -wal and -shm files
 * a WAL database needs do not exist yet.
 */
static void read_only_files_and_folders(void **state) {
  char dir[160];
  snprintf(dir, sizeof dir, "%s/locked", tmpdir);
  assert_int_equal(mkdir(dir, 0755), 0);
  char p[200];
  snprintf(p, sizeof p, "%s/crm.db", dir);
  make_db(p);
  size_t n;
  char *before = slurp(p, &n);
  bool root = geteuid() == 0;
  if (root) print_message("running as root: each case runs in a child that drops to uid 65534\n");
  static const struct {
    mode_t file, dir;
    const char *writer_says;
    bool reader_reads;
  } cases[] = {
      {0444, 0777, "is read-only", true},    /* the file */
      {0444, 0555, "is read-only", false},   /* the file and its folder */
      {0644, 0555, "folder", false},         /* only the folder: no -wal can be made */
  };
  int skipped = 0;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    /* A file 0644 is the child's own (writable: only its folder is not); else root's. */
    bool childs = root && cases[k].file == 0644;
    assert_int_equal(chown(p, childs ? 65534 : geteuid(), childs ? 65534 : getegid()), 0);
    assert_int_equal(chmod(p, cases[k].file), 0);
    assert_int_equal(chmod(dir, cases[k].dir), 0);
    struct ro_case c = {p, cases[k].writer_says, cases[k].reader_reads};
    int st = in_child(child_ro, &c, true);
    chmod(dir, 0755);
    if (st == CHILD_SKIP) {
      skipped++;
      continue;
    }
    if (st != 0) fail_msg("read-only case %zu (file %o, folder %o) failed: see the child's words",
                          k, (unsigned)cases[k].file, (unsigned)cases[k].dir);
    /* Nothing was written, and a reader left no -wal behind in the read-only folder. */
    assert_file_is(p, before, n);
    if (cases[k].dir == 0555) assert_int_equal(access(path_of("locked/crm.db-wal"), F_OK), -1);
    unlink(path_of("locked/crm.db-wal"));
    unlink(path_of("locked/crm.db-shm"));
  }
  chmod(p, 0644);
  assert_int_equal(chown(p, geteuid(), getegid()), 0);
  free(before);
  if (skipped) skip();
}

/* ------------------------------------------------------------ a full disk */

enum { BATCHES = 3, PER_BATCH = 4, FAILED_BASE = 900, AFTER_BASE = 1000, OPS_BASE = 2000 };

static void set_fsize_limit(rlim_t limit) {
  struct rlimit rl;
  CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0, "getrlimit: %s", strerror(errno));
  rl.rlim_cur = limit == RLIM_INFINITY ? rl.rlim_max : limit;
  CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit: %s", strerror(errno));
}

/* The files may grow by at most room bytes more. */
static void leave_room(const char *path, long room) {
  char wal[200];
  snprintf(wal, sizeof wal, "%s-wal", path);
  long biggest = file_size(path);
  if (file_size(wal) > biggest) biggest = file_size(wal);
  set_fsize_limit((rlim_t)(biggest + room));
}

static int insert_with_job(struct cf_store *s, uint64_t key, const char *state_json, size_t len,
                           struct cf_error *err) {
  struct cf_store_instance i = an_instance(key, CF_STORE_ACTIVE);
  i.engine_state = (char *)state_json;
  i.engine_state_len = len;
  struct cf_store_job j = a_job(key + 10000);
  return O->instance_insert(s, &i, &(struct cf_store_instance_rows){.jobs = &j, .njobs = 1}, err);
}

static bool says_full(const struct cf_error *err, const char *path) {
  return strstr(err->msg, path) &&
         (strstr(err->msg, "the disk is full") || strstr(err->msg, "cannot grow"));
}

/* instance key and its job are both there (want) or both missing. */
static void child_expect(struct cf_store *s, uint64_t key, bool want, const char *when) {
  struct cf_error err = {0};
  struct cf_store_instance i;
  int rc = O->instance_get(s, key, &i, &err);
  if (rc == CF_OK) cf_store_instance_release(&i);
  CHILD_CHECK(rc == (want ? CF_OK : CF_ENOTFOUND), "%s: instance %llu: rc %d %s", when,
              (unsigned long long)key, rc, err.msg);
  struct cf_store_job j;
  rc = O->job_get(s, key + 10000, &j, &err);
  if (rc == CF_OK) cf_store_job_release(&j);
  CHILD_CHECK(rc == (want ? CF_OK : CF_ENOTFOUND), "%s: job of %llu: rc %d %s", when,
              (unsigned long long)key, rc, err.msg);
}

static void child_full_disk(const void *arg) {
  const char *p = arg;
  struct cf_error err = {0};
  struct cf_store *s = NULL;
  signal(SIGXFSZ, SIG_IGN); /* write() past the limit then fails with EFBIG, as ENOSPC would */
  int rc = cf_store_open(p, 0, &O, &s, &err);
  CHILD_CHECK(rc == CF_OK, "open: %s", err.msg);
  uint64_t committed[BATCHES * PER_BATCH + PER_BATCH];
  size_t ncommitted = 0;
  for (int b = 0; b < BATCHES; b++) {
    CHILD_CHECK(O->begin(s, &err) == CF_OK, "begin: %s", err.msg);
    for (int k = 0; k < PER_BATCH; k++) {
      uint64_t key = (uint64_t)(100 * (b + 1) + k);
      CHILD_CHECK(insert_with_job(s, key, "{}", 2, &err) == CF_OK, "insert: %s", err.msg);
      committed[ncommitted++] = key;
    }
    CHILD_CHECK(O->commit(s, &err) == CF_OK, "commit: %s", err.msg);
  }

  /* 1. A batch that outgrows the disk: an insert or the commit says so, and nothing of it stays. */
  size_t big = 48 * 1024;
  char *state_json = malloc(4 * big); /* 4 * big: step 2 */
  CHILD_CHECK(state_json, "out of memory");
  memset(state_json, 'a', 4 * big);
  leave_room(p, 64 * 1024);
  CHILD_CHECK(O->begin(s, &err) == CF_OK, "begin: %s", err.msg);
  int failed = CF_OK;
  for (int k = 0; k < 20 && failed == CF_OK; k++)
    failed = insert_with_job(s, FAILED_BASE + (uint64_t)k, state_json, big, &err);
  if (failed == CF_OK) {
    failed = O->commit(s, &err);
    CHILD_CHECK(failed != CF_OK, "a batch bigger than the disk committed");
  } else {
    O->rollback(s);
  }
  CHILD_CHECK(failed == CF_EIO && says_full(&err, p), "unclear failure: rc %d %s", failed, err.msg);
  for (size_t k = 0; k < ncommitted; k++) child_expect(s, committed[k], true, "after the failure");
  for (uint64_t k = 0; k < 20; k++) child_expect(s, FAILED_BASE + k, false, "after the failure");

  /* 2. A call in a transaction of its own (no batch): the same. */
  rc = insert_with_job(s, FAILED_BASE + 50, state_json, big * 4, &err);
  CHILD_CHECK(rc == CF_EIO && says_full(&err, p), "unclear failure: rc %d %s", rc, err.msg);
  child_expect(s, FAILED_BASE + 50, false, "after the failed call");

  /* 3. Space again: the same handle writes. */
  set_fsize_limit(RLIM_INFINITY);
  CHILD_CHECK(O->begin(s, &err) == CF_OK, "begin: %s", err.msg);
  for (int k = 0; k < PER_BATCH; k++) {
    CHILD_CHECK(insert_with_job(s, AFTER_BASE + (uint64_t)k, "{}", 2, &err) == CF_OK, "insert: %s",
                err.msg);
    committed[ncommitted++] = AFTER_BASE + (uint64_t)k;
  }
  CHILD_CHECK(O->commit(s, &err) == CF_OK, "commit after space came back: %s", err.msg);
  O->close(s);

  /* 4. Opened again: intact, and exactly what was committed. */
  rc = cf_store_open(p, 0, &O, &s, &err);
  CHILD_CHECK(rc == CF_OK, "reopen: %s", err.msg);
  rc = check_intact(s, &err);
  CHILD_CHECK(rc == CF_OK, "not intact: %s", err.msg);
  struct cf_store_instance *list = NULL;
  size_t n = 0;
  rc = O->instance_list(s, NULL, &list, &n, &err);
  CHILD_CHECK(rc == CF_OK && n == ncommitted, "after reopening: rc %d, %zu instances, want %zu",
              rc, n, ncommitted);
  for (size_t k = 0; k < n; k++) {
    CHILD_CHECK(list[k].key == committed[k], "instance %llu, want %llu",
                (unsigned long long)list[k].key, (unsigned long long)committed[k]);
    cf_store_instance_release(&list[k]);
  }
  cf_free(list);
  for (size_t k = 0; k < ncommitted; k++) child_expect(s, committed[k], true, "after reopening");

  /* 5. Operations in a batch: one kept, then one too big for the disk. Whatever the store says
   * (the big one fails and is undone, or the database rolls the whole batch back), what is
   * stored afterwards is what it said. */
  size_t huge = 3 * 1024 * 1024; /* more than SQLite's page cache: it spills during the insert */
  char *huge_json = malloc(huge);
  CHILD_CHECK(huge_json, "out of memory");
  memset(huge_json, 'b', huge);
  leave_room(p, 256 * 1024);
  CHILD_CHECK(O->begin(s, &err) == CF_OK, "begin: %s", err.msg);
  CHILD_CHECK(O->op_begin(s, &err) == CF_OK, "op_begin: %s", err.msg);
  CHILD_CHECK(insert_with_job(s, OPS_BASE, "{}", 2, &err) == CF_OK, "small op: %s", err.msg);
  CHILD_CHECK(O->op_end(s, true, &err) == CF_OK, "op_end: %s", err.msg);
  CHILD_CHECK(O->op_begin(s, &err) == CF_OK, "op_begin: %s", err.msg);
  rc = insert_with_job(s, OPS_BASE + 1, huge_json, huge, &err);
  bool told = false;
  if (rc != CF_OK) {
    CHILD_CHECK(rc == CF_EIO && says_full(&err, p), "unclear failure: rc %d %s", rc, err.msg);
    told = true;
  }
  int end = O->op_end(s, rc == CF_OK, &err);
  CHILD_CHECK(end == CF_OK || end == CF_EIO, "op_end: rc %d %s", end, err.msg);
  int commit = O->commit(s, &err);
  if (end == CF_EIO) CHILD_CHECK(commit != CF_OK, "a batch rolled back by the database committed");
  if (commit != CF_OK) O->rollback(s);
  CHILD_CHECK(told || commit != CF_OK, "a batch bigger than the disk committed");
  set_fsize_limit(RLIM_INFINITY);
  O->close(s);
  rc = cf_store_open(p, 0, &O, &s, &err);
  CHILD_CHECK(rc == CF_OK, "reopen: %s", err.msg);
  child_expect(s, OPS_BASE, commit == CF_OK, "the kept operation");
  child_expect(s, OPS_BASE + 1, false, "the operation too big for the disk");
  for (size_t k = 0; k < ncommitted; k++) child_expect(s, committed[k], true, "after the ops");
  O->close(s);
  free(huge_json);
  free(state_json);
}

/*
 * A full disk, simulated with RLIMIT_FSIZE in a child: the write or commit
 * that cannot fit fails with CF_EIO saying the disk is full (the file cannot
 * grow) and naming the file; nothing of the failed batch, call or operation is
 * stored; everything committed before is; the handle writes again once there
 * is space; and the file reopens intact.
 */
static void full_disk_stores_nothing_of_the_failed_command(void **state) {
  const char *p = path_of("full.db");
  unlink(p);
  int st = in_child(child_full_disk, p, false);
  if (st != 0) fail_msg("the full-disk child failed (exit %d): see its words above", st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(garbage_over_the_first_pages_is_refused),
      cmocka_unit_test(garbage_over_a_middle_page_is_found_and_nothing_half_applies),
      cmocka_unit_test(every_page_damaged_in_turn_is_an_answer_never_a_crash),
      cmocka_unit_test(truncated_database_is_refused),
      cmocka_unit_test(files_that_are_no_database_are_refused),
      cmocka_unit_test(read_only_files_and_folders),
      cmocka_unit_test(full_disk_stores_nothing_of_the_failed_command),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
