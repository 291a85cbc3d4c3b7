/*
 * cf_feel_write_json (feel_value.c): JSON text written straight into a
 * buffer must be byte for byte what cf_json_dump() gives for the json-c tree
 * of cf_feel_to_json(), since saved instance states written either way are
 * compared and reloaded. Values come from FEEL expressions, from JSON texts
 * (exact big decimals, escapes, unicode) and from a random generator of
 * nested values. The writer must not allocate beyond the buffer's growth:
 * with room reserved beforehand it writes with every allocation failing.
 */
#include <stdint.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "base/cf_time.h"
#include "base/cf_tz.h"
#include "feel/cf_feel.h"
#include "feel/feel_int.h"

#include "feel_check.h"

/* ------------------------------------------------------------- helpers */

/* 2021-07-14T10:30:15.5 in Paris (+02:00), for now() and today(). */
static const struct cf_feel_env *test_env(void) {
  static struct cf_feel_env env;
  env.now_secs = cf_time_days_from_civil(2021, 7, 14) * 86400 + 10 * 3600 + 30 * 60 + 15;
  env.now_nanos = 500000000;
  env.zone = cf_tz_find("Europe/Paris", 12);
  return &env;
}

/* What json-c writes for v: the reference (new; cf_free). */
static char *reference_json(const struct cf_feel_value *v) {
  struct json_object *j = NULL;
  assert_int_equal(cf_feel_to_json(v, &j), CF_OK);
  char *text = cf_json_dump(j);
  json_object_put(j);
  assert_non_null(text);
  return text;
}

/*
 * The writer's text for v must be the reference. It must also append (what
 * the buffer held stays in front), and write with no allocation at all once
 * the buffer has room. Returns the text (new; cf_free) for further checks.
 */
static char *check_same(const struct cf_feel_value *v, const char *what, int line) {
  char *want = reference_json(v);
  size_t n = strlen(want);

  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "<<");
  assert_int_equal(cf_feel_write_json(v, &b), CF_OK);
  if (b.len != n + 2 || memcmp(b.data, "<<", 2) != 0 || memcmp(b.data + 2, want, n) != 0)
    fail_msg("line %d: %s: wrote\n  %s\nwant\n  <<%s", line, what, b.data, want);

  /* With room reserved, not one allocation. */
  cf_buf_reset(&b);
  assert_int_equal(cf_buf_reserve(&b, n), CF_OK);
  cf_alloc_fail_after(0);
  int rc = cf_feel_write_json(v, &b);
  long refused = cf_alloc_failures();
  cf_alloc_fail_reset();
  if (rc != CF_OK || refused)
    fail_msg("line %d: %s: writing into a buffer with room allocated (%s, %ld refused)", line, what,
             cf_err_name(rc), refused);
  assert_string_equal(b.data, want);
  cf_buf_release(&b);
  return want;
}

/* Evaluates src (which must give a value, not null, unless it is "null"). */
static void eval_value(const char *src, struct cf_feel_value *out, int line) {
  struct cf_error err = {0};
  struct cf_feel_expr *e = cf_feel_compile(src, strlen(src), NULL, 0, &err);
  if (!e) fail_msg("line %d: %s does not compile: %s", line, src, err.msg);
  struct cf_feel_warnings w;
  cf_feel_warnings_init(&w);
  assert_int_equal(cf_feel_eval(e, NULL, test_env(), out, &w), CF_OK);
  if (out->type == CF_FEEL_NULL && strcmp(src, "null") != 0)
    fail_msg("line %d: %s gave null: %s", line, src, w.count ? w.items[0] : "no warning");
  cf_feel_warnings_release(&w);
  cf_feel_expr_free(e);
}

/* The writer's text for FEEL src must be the reference, and want when not NULL. */
static void check_feel(const char *src, const char *want, int line) {
  struct cf_feel_value v;
  eval_value(src, &v, line);
  char *got = check_same(&v, src, line);
  if (want && strcmp(got, want) != 0) fail_msg("line %d: %s gave %s, want %s", line, src, got, want);
  cf_free(got);
  cf_feel_value_release(&v);
}

/* The same for the FEEL value of a JSON text. */
static void check_json(const char *text, const char *want, int line) {
  struct cf_error err = {0};
  struct json_object *j = cf_json_parse(text, strlen(text), &err);
  if (!j && err.code != CF_OK) fail_msg("line %d: bad test JSON %s: %s", line, text, err.msg);
  struct cf_feel_value v;
  if (cf_feel_from_json(j, &v) != CF_OK) fail_msg("line %d: %s is no FEEL value", line, text);
  json_object_put(j);
  char *got = check_same(&v, text, line);
  if (want && strcmp(got, want) != 0) fail_msg("line %d: %s gave %s, want %s", line, text, got, want);
  cf_free(got);
  cf_feel_value_release(&v);
}

#define FEEL(src, want) check_feel(src, want, __LINE__)
#define JSON(text, want) check_json(text, want, __LINE__)

/* --------------------------------------------------------------- cases */

static void test_scalars_from_feel(void **state) {
  FEEL("null", "null");
  FEEL("true", "true");
  FEEL("false", "false");
  FEEL("0", "0");
  FEEL("-0", "0");
  FEEL("1.50", "1.5");
  FEEL("0.1 + 0.2", "0.3");
  FEEL("1/3", "0.3333333333333333333333333333333333");
  FEEL("-2/3", "-0.6666666666666666666666666666666667");
  FEEL("123456789012345678901234567890.1234", "123456789012345678901234567890.1234");
  FEEL("10**40", NULL);
  FEEL("10**41", NULL);
  FEEL("-7 * 10**50", NULL);
  FEEL("1 / 10**41", NULL);
  FEEL("1 / 10**40", NULL);
  FEEL("decimal(1/3, 2)", "0.33");
  FEEL("\"\"", "\"\"");
  FEEL("\"a/b\"", "\"a/b\"");
  FEEL("\"quote \\\" backslash \\\\\"", "\"quote \\\" backslash \\\\\"");
  FEEL("\"t\\tn\\nr\\rb\\bf\\f\"", "\"t\\tn\\nr\\rb\\bf\\f\"");
  FEEL("\"\\u0001\\u001f\\u007f\"", "\"\\u0001\\u001f\x7f\"");
  FEEL("\"nul \\u0000 inside\"", "\"nul \\u0000 inside\"");
  FEEL("\"é € 𝄞 日本\"", "\"é € 𝄞 日本\"");
  FEEL("\"\\U01F600 \\ud83d\\ude00\"", "\"\xF0\x9F\x98\x80 \xF0\x9F\x98\x80\"");
}

static void test_temporals_from_feel(void **state) {
  FEEL("date(\"2021-07-14\")", "\"2021-07-14\"");
  FEEL("date(\"-0999-01-01\")", NULL);
  FEEL("date(\"999999999-12-31\")", NULL);
  FEEL("time(\"10:30:15.5\")", NULL);
  FEEL("time(\"23:59:59Z\")", NULL);
  FEEL("time(\"10:30:00@Europe/Paris\")", NULL);
  FEEL("date and time(\"2021-07-14T10:30:15.123456789+02:00\")", NULL);
  FEEL("date and time(\"2021-07-14T10:30:00@America/Argentina/Buenos_Aires\")",
       "\"2021-07-14T10:30:00@America/Argentina/Buenos_Aires\"");
  FEEL("date and time(\"2021-07-14T10:30:00\")", NULL);
  FEEL("duration(\"P1DT2H3M4.5S\")", NULL);
  FEEL("duration(\"-PT0.000000001S\")", NULL);
  FEEL("duration(\"PT0S\")", NULL);
  FEEL("duration(\"P1Y2M\")", NULL);
  FEEL("duration(\"-P3M\")", NULL);
  FEEL("now()", NULL);
  FEEL("today()", NULL);
}

static void test_containers_from_feel(void **state) {
  FEEL("[]", "[]");
  FEEL("{}", "{}");
  FEEL("[1, [2, [3, []]], null, \"x\"]", "[1,[2,[3,[]]],null,\"x\"]");
  FEEL("[{}, {a: []}, [{}]]", "[{},{\"a\":[]},[{}]]");
  FEEL("{a: 1, b: {c: [1, 2, {d: null}]}, \"key with space\": true}",
       "{\"a\":1,\"b\":{\"c\":[1,2,{\"d\":null}]},\"key with space\":true}");
  FEEL("{\"k/\\\"q\\\\\": 1, \"\\t\": \"\\n\", \"é\": \"ü\"}", NULL);
  FEEL("{z: 1, y: 2, x: 3, a: 4}", "{\"z\":1,\"y\":2,\"x\":3,\"a\":4}");
  FEEL("context put({x: 1}, \"y\", [1..2])", NULL);
  FEEL("context put({a: 1, b: 2}, \"a\", 3)", "{\"a\":3,\"b\":2}");
  /* Ranges, as {"start", "end", "startIncluded", "endIncluded"}. */
  FEEL("[1..10]", "{\"start\":1,\"end\":10,\"startIncluded\":true,\"endIncluded\":true}");
  FEEL("(1..10)", "{\"start\":1,\"end\":10,\"startIncluded\":false,\"endIncluded\":false}");
  FEEL("]\"a\"..\"z\"[", NULL);
  FEEL("[date(\"2021-01-01\")..date(\"2021-12-31\")]", NULL);
  FEEL("(duration(\"PT1H\")..duration(\"PT2H\")]", NULL);
  FEEL("[[1..2], (3..4]]", NULL);
  /* Functions are null in JSON, as a value or inside a container. */
  FEEL("function(x) x + 1", "null");
  FEEL("[function(x) x, 1]", "[null,1]");
  FEEL("{f: function() 1, n: 1/3, d: date(\"2021-07-14\"), r: [1..2]}", NULL);
}

/*
 * json-c takes object keys as C strings: a key with a NUL byte is cut at
 * the NUL, and a cut key equal to an earlier key replaces that entry's value
 * where it stands. The writer must do the same.
 */
static void test_keys_with_nul_bytes(void **state) {
  FEEL("{\"a\\u0000b\": 1}", "{\"a\":1}");
  FEEL("context put(context put({\"a\\u0000b\": 1, b: 4}, \"a\\u0000c\", 2), \"a\", 3)", NULL);
  FEEL("context put({x: 0, a: 1}, \"a\\u0000c\", 2)", "{\"x\":0,\"a\":2}");
  FEEL("context put({\"\\u0000\": 1}, \"\", 2)", "{\"\":2}");
  FEEL("[{n: context put({\"p\\u0000q\": [1]}, \"p\", [2]), m: 1}]", "[{\"n\":{\"p\":[2]},\"m\":1}]");

  /* Built directly: three keys that are all "a" up to the NUL, around a plain one. */
  static const struct {
    const char *key;
    size_t len;
  } keys[] = {{"a\0b", 3}, {"b", 1}, {"a\0c", 3}, {"a", 1}};
  struct cf_feel_value ctx;
  assert_int_equal(cf_feel_ctx_new(&ctx, 0), CF_OK);
  for (int i = 0; i < 4; i++) {
    struct cf_feel_value item;
    cf_feel_set_int(&item, i + 1);
    assert_int_equal(cf_feel_ctx_put(&ctx, keys[i].key, keys[i].len, &item), CF_OK);
  }
  assert_int_equal(ctx.u.ctx->len, 4);
  char *got = check_same(&ctx, "keys cut at a NUL", __LINE__);
  assert_string_equal(got, "{\"a\":4,\"b\":2}");
  cf_free(got);
  cf_feel_value_release(&ctx);
}

static void test_values_from_json(void **state) {
  JSON("null", "null");
  JSON("12345678901234567890123456789012345", "12345678901234567890123456789012340");
  JSON("1234567890123456789012345678901234", "1234567890123456789012345678901234");
  JSON("-98765432109876543210", "-98765432109876543210");
  JSON("0.000000000000000000000000000001", "0.000000000000000000000000000001");
  JSON("123.4500", "123.45");
  JSON("-0.0", "0");
  JSON("-1.5e-7", "-0.00000015");
  JSON("1E+400", NULL);
  JSON("1e6144", NULL);
  JSON("-1e-6000", NULL);
  JSON("1e-41", NULL);
  JSON("\"\\u00e9\\ud83d\\ude00\\/slash\\u0000x\\u001b\"", "\"é\xF0\x9F\x98\x80/slash\\u0000x\\u001b\"");
  JSON("{\"a\":{\"b\":[1,2,{\"c\":null}]},\"\":0,\"x\":[[],{}]}", "{\"a\":{\"b\":[1,2,{\"c\":null}]},\"\":0,\"x\":[[],{}]}");
  JSON("[true,false,null,\"\",0]", "[true,false,null,\"\",0]");
  JSON("{\"a\":1,\"a\":2}", NULL);
  JSON("{\"k\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0007\":\"v\"}", "{\"k\\\"\\\\/\\b\\f\\n\\r\\t\\u0007\":\"v\"}");
  JSON("[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]", NULL);
}

/* Every byte that is a character by itself (U+0000..U+007F), in a string and in a key. */
static void test_every_ascii_byte(void **state) {
  for (int c = 0; c < 0x80; c++) {
    char s[3] = {'a', (char)c, 'z'};
    struct cf_feel_value str, ctx, item;
    assert_int_equal(cf_feel_set_string(&str, s, sizeof s), CF_OK);
    char *got = check_same(&str, "a one-byte string", __LINE__);
    cf_free(got);
    assert_int_equal(cf_feel_ctx_new(&ctx, 1), CF_OK);
    cf_feel_set_bool(&item, true);
    assert_int_equal(cf_feel_ctx_put(&ctx, s, sizeof s, &item), CF_OK);
    got = check_same(&ctx, "a one-byte key", __LINE__);
    cf_free(got);
    cf_feel_value_release(&ctx);
    cf_feel_value_release(&str);
  }
}

/* ----------------------------------------------------------- random values */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

/* Values the generator cannot build field by field: temporals, functions. */
#define POOL_MAX 32
static struct cf_feel_value pool[POOL_MAX];
static size_t npool;

static int pool_setup(void **state) {
  static const char *const srcs[] = {
      "date(\"2021-07-14\")", "date(\"-0044-03-15\")", "time(\"10:30:15.5\")",
      "time(\"00:00:00Z\")", "time(\"10:30:00@Europe/Paris\")", "time(\"10:30:00-05:30\")",
      "date and time(\"2021-07-14T10:30:15.123456789+02:00\")",
      "date and time(\"2021-03-28T02:30:00@Europe/Paris\")", "date and time(\"2021-07-14T10:30:00\")",
      "duration(\"P1DT2H3M4.5S\")", "duration(\"-PT0.000000001S\")", "duration(\"P999999999D\")",
      "duration(\"P1Y2M\")", "duration(\"-P3M\")", "duration(\"P0M\")", "now()", "today()",
      "function(x) x", "abs"};
  npool = 0;
  for (size_t i = 0; i < sizeof srcs / sizeof *srcs && npool < POOL_MAX; i++)
    eval_value(srcs[i], &pool[npool++], __LINE__);
  return 0;
}

static int pool_teardown(void **state) {
  for (size_t i = 0; i < npool; i++) cf_feel_value_release(&pool[i]);
  npool = 0;
  return 0;
}

/* A random code point, weighted to the ones escaping cares about. */
static uint32_t random_cp(void) {
  switch (rnd(8)) {
    case 0: return rnd(0x20);                   /* controls, NUL included */
    case 1: return (uint32_t)"\"\\/ '"[rnd(5)];
    case 2: return 0x7F + rnd(0x780);           /* DEL, two bytes */
    case 3: return 0x800 + rnd(0xD000);         /* three bytes, below the surrogates */
    case 4: return 0x10000 + rnd(0x100000);     /* four bytes */
    default: return 0x20 + rnd(0x5F);           /* printable ASCII */
  }
}

/* Random valid UTF-8, at most max code points, into buf (room for 4*max bytes). */
static size_t random_text(char *buf, uint32_t max) {
  size_t n = 0;
  for (uint32_t k = rnd(max + 1); k > 0; k--) n += cf__feel_utf8_encode(random_cp(), buf + n);
  return n;
}

static void random_number(struct cf_feel_value *v) {
  char text[96];
  size_t n = 0;
  if (rnd(2)) text[n++] = '-';
  uint32_t digits = 1 + rnd(rnd(4) ? 8 : 40);
  for (uint32_t i = 0; i < digits; i++) text[n++] = (char)('0' + rnd(10));
  if (rnd(2)) {
    text[n++] = '.';
    for (uint32_t i = 1 + rnd(12); i > 0; i--) text[n++] = (char)('0' + rnd(10));
  }
  if (!rnd(4)) {
    int e = rnd(3) ? (int)rnd(90) - 45 : (int)rnd(12000) - 6000;
    n += (size_t)snprintf(text + n, sizeof text - n, "e%d", e);
  }
  if (cf_feel_set_number_text(v, text, n) != CF_OK) cf_feel_set_int(v, (int64_t)rnd(1000));
}

static void random_value(struct cf_feel_value *v, int depth);

static void random_scalar(struct cf_feel_value *v) {
  char buf[4 * 12];
  switch (rnd(6)) {
    case 0: cf_feel_set_null(v); break;
    case 1: cf_feel_set_bool(v, rnd(2)); break;
    case 2: random_number(v); break;
    case 3: {
      size_t n = random_text(buf, 12);
      assert_int_equal(cf_feel_set_string(v, buf, n), CF_OK);
      break;
    }
    default: cf_feel_value_copy(v, &pool[rnd((uint32_t)npool)]); break;
  }
}

static void random_value(struct cf_feel_value *v, int depth) {
  uint32_t kind = rnd(depth >= 4 ? 6 : 10);
  if (kind < 6) {
    random_scalar(v);
    return;
  }
  switch (kind) {
    case 6:
    case 7: {
      uint32_t n = rnd(6);
      assert_int_equal(cf_feel_list_new(v, rnd(2) ? n : 0), CF_OK);
      for (uint32_t i = 0; i < n; i++) {
        struct cf_feel_value item;
        random_value(&item, depth + 1);
        assert_int_equal(cf_feel_list_push(v, &item), CF_OK);
      }
      break;
    }
    case 8: {
      uint32_t n = rnd(6);
      assert_int_equal(cf_feel_ctx_new(v, n), CF_OK);
      for (uint32_t i = 0; i < n; i++) {
        char key[4 * 6];
        size_t klen;
        /* Short keys from a small alphabet collide (and replace); some carry a NUL. */
        if (rnd(3)) {
          klen = 1 + rnd(2);
          for (size_t k = 0; k < klen; k++) key[k] = "ab\0"[rnd(rnd(8) ? 2 : 3)];
        } else {
          klen = random_text(key, 6);
        }
        struct cf_feel_value item;
        random_value(&item, depth + 1);
        assert_int_equal(cf_feel_ctx_put(v, key, klen, &item), CF_OK);
      }
      break;
    }
    default: {
      struct cf_feel_value s, e;
      random_scalar(&s);
      random_scalar(&e);
      assert_int_equal(cf_feel_range_new(v, &s, rnd(2), &e, rnd(2)), CF_OK);
      break;
    }
  }
}

static void test_random_nested_values(void **state) {
  size_t containers = 0, bytes = 0;
  for (int trial = 0; trial < 4000; trial++) {
    rng_state = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)trial * 0x100000001B3ULL + 1);
    struct cf_feel_value v;
    random_value(&v, 0);
    if (v.type == CF_FEEL_LIST || v.type == CF_FEEL_CONTEXT) containers++;
    char what[48];
    snprintf(what, sizeof what, "random value %d", trial);
    char *got = check_same(&v, what, __LINE__);
    bytes += strlen(got);
    cf_free(got);
    cf_feel_value_release(&v);
  }
  /* The generator must make nested values, not only scalars. */
  print_message("random: %zu containers of 4000 values, %zu bytes of JSON\n", containers, bytes);
  assert_true(containers > 1000);
}

/* ---------------------------------------------------------- failures */

/*
 * Out of memory: each growth of the buffer failing in turn gives CF_ENOMEM
 * with the buffer marked failed; once nothing fails, the reference text.
 */
static void test_out_of_memory(void **state) {
  struct cf_feel_value v;
  eval_value("{a: [1, 2, \"three\", {b: date(\"2021-07-14\")}], s: \"" /* long enough to grow twice */
             "0123456789012345678901234567890123456789012345678901234567890123456789\", r: [1..2]}",
             &v, __LINE__);
  char *want = reference_json(&v);
  bool done = false;
  for (long n = 0; n < 50 && !done; n++) {
    struct cf_buf b;
    cf_buf_init(&b);
    cf_alloc_fail_after(n);
    int rc = cf_feel_write_json(&v, &b);
    long refused = cf_alloc_failures();
    cf_alloc_fail_reset();
    if (refused) {
      assert_int_equal(rc, CF_ENOMEM);
      assert_true(b.oom);
    } else {
      assert_int_equal(rc, CF_OK);
      assert_string_equal(b.data, want);
      done = true;
    }
    cf_buf_release(&b);
  }
  assert_true(done);
  /* A buffer failed before stays failed. */
  struct cf_buf b;
  cf_buf_init(&b);
  b.oom = true;
  assert_int_equal(cf_feel_write_json(&v, &b), CF_ENOMEM);
  cf_buf_release(&b);
  cf_free(want);
  cf_feel_value_release(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scalars_from_feel),
      cmocka_unit_test(test_temporals_from_feel),
      cmocka_unit_test(test_containers_from_feel),
      cmocka_unit_test(test_keys_with_nul_bytes),
      cmocka_unit_test(test_values_from_json),
      cmocka_unit_test(test_every_ascii_byte),
      cmocka_unit_test_setup_teardown(test_random_nested_values, pool_setup, pool_teardown),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
