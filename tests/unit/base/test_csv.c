/*
 * The CSV reader and writer (src/base/cf_csv.c), and the erasure of values
 * inside JSON strings (cf_json_erase_strings, cf_str_erase): what an import
 * and a personal-data erasure rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/cf_alloc.h"
#include "base/cf_csv.h"
#include "base/cf_json.h"

static void test_reads_rfc4180(void **state) {
  (void)state;
  const char text[] = "\xEF\xBB\xBFname,note\r\nAda,\"likes, commas\"\n\"Grace \"\"Amazing\"\" Hopper\",\"two\nlines\"\r\n\n";
  struct cf_csv c;
  cf_csv_init(&c, text, sizeof text - 1);
  assert_int_equal(cf_csv_next(&c), 1);
  assert_int_equal(c.ncells, 2);
  assert_string_equal(cf_csv_cell(&c, 0), "name"); /* the byte order mark is not part of it */
  assert_int_equal(cf_csv_next(&c), 1);
  assert_string_equal(cf_csv_cell(&c, 1), "likes, commas");
  assert_int_equal(cf_csv_next(&c), 1);
  assert_string_equal(cf_csv_cell(&c, 0), "Grace \"Amazing\" Hopper");
  assert_string_equal(cf_csv_cell(&c, 1), "two\nlines");
  assert_int_equal(c.row, 3);
  assert_int_equal(cf_csv_next(&c), 1);
  assert_true(cf_csv_blank(&c));
  assert_int_equal(cf_csv_next(&c), 0);
  cf_csv_release(&c);
}

static void test_refuses_with_the_row(void **state) {
  (void)state;
  struct cf_csv c;
  const char a[] = "a,b\nc,\"open\n";
  cf_csv_init(&c, a, sizeof a - 1);
  assert_int_equal(cf_csv_next(&c), 1);
  assert_int_equal(cf_csv_next(&c), -1);
  assert_non_null(strstr(c.why, "row 2"));
  assert_non_null(strstr(c.why, "not closed"));
  const char b[] = "\"x\"y,z\n";
  cf_csv_rewind(&c, b, sizeof b - 1);
  assert_int_equal(cf_csv_next(&c), -1);
  assert_non_null(strstr(c.why, "after the closing quote"));
  cf_csv_release(&c);
}

static void test_writes_what_it_reads(void **state) {
  (void)state;
  struct cf_buf b;
  cf_buf_init(&b);
  const char *cells[] = {"plain", "a,b", "say \"hi\"", " padded ", "two\r\nlines", "\xEF\xBB\xBFmark"};
  /* Written last cell first, so the byte order mark starts the text: quoted, it reads back. */
  for (size_t i = 6; i-- > 0;) {
    cf_csv_put(&b, cells[i], strlen(cells[i]));
    if (i) cf_buf_putc(&b, ',');
  }
  struct cf_csv c;
  cf_csv_init(&c, b.data, b.len);
  assert_int_equal(cf_csv_next(&c), 1);
  assert_int_equal(c.ncells, 6);
  for (size_t i = 0; i < 6; i++) assert_string_equal(cf_csv_cell(&c, i), cells[5 - i]);
  cf_csv_release(&c);
  cf_buf_release(&b);
}

static void test_erases_inside_string_values_only(void **state) {
  (void)state;
  const char json[] = "{\"Ada Lovelace\":1,\"name\":\"Ada Lovelace\",\"greeting\":\"Dear Ada Lovelace,\","
                      "\"list\":[\"ada@example.org\",{\"q\":\"say \\\"Ada Lovelace\\\"\"}],\"n\":12.50}";
  const char *values[] = {"Ada Lovelace", "ada@example.org"};
  size_t count = 0;
  char *out = cf_json_erase_strings(json, sizeof json - 1, values, 2, "[erased]", &count);
  assert_non_null(out);
  assert_int_equal(count, 4);
  assert_non_null(strstr(out, "{\"Ada Lovelace\":1,")); /* a member name is not a value */
  assert_non_null(strstr(out, "\"name\":\"[erased]\""));
  assert_non_null(strstr(out, "\"greeting\":\"Dear [erased],\""));
  assert_non_null(strstr(out, "\"list\":[\"[erased]\",{\"q\":\"say \\\"[erased]\\\"\"}]"));
  assert_non_null(strstr(out, "\"n\":12.50")); /* numbers as they were */
  struct cf_error err;
  struct json_object *j = cf_json_parse(out, strlen(out), &err);
  assert_non_null(j); /* still JSON */
  json_object_put(j);
  cf_free(out);
  count = 0;
  out = cf_str_erase("mail ada@example.org or Ada Lovelace", values, 2, "*", &count);
  assert_string_equal(out, "mail * or *");
  assert_int_equal(count, 2);
  cf_free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reads_rfc4180),
      cmocka_unit_test(test_refuses_with_the_row),
      cmocka_unit_test(test_writes_what_it_reads),
      cmocka_unit_test(test_erases_inside_string_values_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
