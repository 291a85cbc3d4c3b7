/*
 * String built-ins (feel_bi_string.c), through compiled FEEL expressions:
 * code-point positions on non-ASCII text, full Unicode case mapping, XPath
 * regular expressions (flags, groups in replacements, class subtraction,
 * back-references, strict syntax) and their protection against patterns
 * that backtrack without end, Camunda's additions.
 */
#include <time.h>

#include "feel_check.h"

/* ------------------------------------------------------------- helpers */

/* No variables, a zeroed clock; results compared as JSON text (feel_check.h). */
#define EXPECT(src, want) feel_check(NULL, src, want, __LINE__)
#define EXPECT_NULL(src, what) feel_check_null(NULL, src, what, __LINE__)
#define CHECK_OOM(src, want) feel_check_oom(NULL, src, want, __LINE__)

/* ----------------------------------------------------------------- tests */

static void test_positions_count_code_points(void **state) {
  EXPECT("string length(\"h\\u00e9llo\")", "5");
  EXPECT("string length(\"\\U01F40E\")", "1");
  EXPECT("string length(string: \"\")", "0");
  EXPECT("substring(\"h\\u00e9llo\\U01F600!\", 2, 2)", "\"\xc3\xa9l\"");
  EXPECT("substring(\"h\\u00e9llo\\U01F600!\", -2)", "\"\xf0\x9f\x98\x80!\"");
  EXPECT("substring(\"foobar\", 3, 3.8)", "\"oba\"");
  EXPECT("substring(\"foobar\", 4, 100)", "\"bar\"");
  EXPECT("substring(string: \"abc\", start position: 2)", "\"bc\"");
  EXPECT_NULL("substring(\"abc\", 5)", "substring: start position 5");
  EXPECT_NULL("substring(\"abc\", -4)", "substring");
  EXPECT_NULL("substring(\"abc\", 1, -1)", "length");
  EXPECT_NULL("substring(\"abc\", \"1\")", "start position must be a number");
  EXPECT_NULL("substring(null, 1)", "substring: string is null");
  EXPECT_NULL("string length(12)", "string length: string must be a string");
}

static void test_case_mapping_is_unicode(void **state) {
  EXPECT("upper case(\"stra\\u00dfe \\u00e9t\\u00e9\")", "\"STRASSE \xc3\x89T\xc3\x89\"");
  EXPECT("lower case(\"\\u00c9T\\u00c9 ABC\")", "\"\xc3\xa9t\xc3\xa9 abc\"");
  /* A capital sigma ends a word as the final form. */
  EXPECT("lower case(\"\\u039f\\u0394\\u039f\\u03a3 \\u03a3\\u0391\")",
         "\"\xce\xbf\xce\xb4\xce\xbf\xcf\x82 \xcf\x83\xce\xb1\"");
  EXPECT("upper case(string: \"?@{\")", "\"?@{\"");
  EXPECT_NULL("upper case([\"a\"])", "upper case");
}

static void test_substring_search(void **state) {
  EXPECT("substring before(\"foobar\", \"bar\")", "\"foo\"");
  EXPECT("substring before(\"foobar\", \"x\")", "\"\"");
  EXPECT("substring after(\"foobar\", \"ob\")", "\"ar\"");
  EXPECT("substring after(\"abc\", \"\")", "\"abc\"");
  EXPECT("contains(\"\\U01F40E\\U01F600\", \"\\U01F600\")", "true");
  EXPECT("starts with(\"foobar\", \"foo\")", "true");
  EXPECT("starts with(\"fo\", \"foo\")", "false");
  EXPECT("ends with(string: \"foobar\", match: \"bar\")", "true");
  EXPECT("ends with(\"ar\", \"bar\")", "false");
  EXPECT_NULL("contains(\"abc\", null)", "contains: match is null");
}

static void test_replace_expands_groups(void **state) {
  EXPECT("replace(\"0123456789\", \"(\\d{3})(\\d{3})(\\d{4})\", \"($1) $2-$3\")",
         "\"(012) 345-6789\"");
  EXPECT("replace(\"facetiously\", \"[iouy]\", \"[$0]\")", "\"facet[i][o][u]sl[y]\"");
  EXPECT("replace(\"abc\", \"(b)\", \"\\\\$1\\\\\\\\\")", "\"a$1\\\\c\"");
  /* $N past the last group is empty; $12 is $1 then 2 when there is no group 12. */
  EXPECT("replace(\"abc\", \"(b)\", \"[$2]\")", "\"a[]c\"");
  EXPECT("replace(\"abc\", \"(b)\", \"$12\")", "\"ab2c\"");
  EXPECT("replace(\"AAAA\", \"A+?\", \"b\")", "\"bbbb\"");
  EXPECT("replace(\"abc\", \"x*\", \"-\")", "\"-a-b-c-\"");
  EXPECT("replace(\"a.b.c\", \".\", \"$\", \"q\")", "\"a$b$c\"");
  EXPECT("replace(\"ABC\", \"b\", \"x\", \"i\")", "\"AxC\"");
  EXPECT("replace(input: \"abc\", pattern: \"b\", replacement: \"x\", flags: null)", "\"axc\"");
  EXPECT_NULL("replace(\"abc\", \"b\", \"$\")", "replace: invalid replacement");
  EXPECT_NULL("replace(\"abc\", \"b\", \"\\\\x\")", "replace: invalid replacement");
  EXPECT_NULL("replace(\"abc\", \"(b\", \"x\")", "replace: invalid regular expression");
}

static void test_matches_follows_xpath_syntax(void **state) {
  EXPECT("matches(\"abracadabra\", \"bra\")", "true");
  EXPECT("matches(\"abracadabra\", \"^bra\")", "false");
  EXPECT("matches(\"abcd\\n\\ndefg\\n \", \"^$\", \"m\")", "true");
  EXPECT("matches(\"ab\\n\", \"b$\")", "false"); /* $ is the very end without m */
  EXPECT("matches(\"a\\nb\", \"a.b\")", "false");
  EXPECT("matches(\"a\\rb\", \"a.b\")", "false");
  EXPECT("matches(\"a\\nb\", \"a.b\", \"s\")", "true");
  EXPECT("matches(\"hello world\", \"hello\\\\ sworld\", \"x\")", "true");
  EXPECT("matches(\"hello world\", \"\\\\p{ I s B a s i c L a t i n }+\", \"x\")", "true");
  EXPECT("matches(\"a+b\", \"a+b\", \"q\")", "true");
  EXPECT("matches(\"\\u212A\", \"k\", \"i\")", "true");
  EXPECT("matches(\"aA\", \"(a)\\\\1\", \"i\")", "true");
  /* XSD class subtraction, name classes, blocks and categories. */
  EXPECT("[matches(\"x\", \"[A-Z-[OI]]\", \"i\"), matches(\"O\", \"[A-Z-[OI]]\", \"i\")]",
         "[true,false]");
  EXPECT("matches(\"e\", \"^[a-z-[aeiou]]$\")", "false");
  EXPECT("matches(\"_x-1.\", \"^\\\\i\\\\c*$\")", "true");
  EXPECT("matches(\"1x\", \"^\\\\i\")", "false");
  EXPECT("matches(\"\\u03b2\", \"\\\\p{IsGreekandCoptic}\")", "true");
  EXPECT("matches(\"\\u00e9\", \"^\\\\w$\")", "true");
  EXPECT("matches(\"-\", \"\\\\w\")", "false");
  EXPECT("matches(\"\\u00a0\", \"\\\\s\")", "false"); /* XSD \\s is only space, tab, CR, LF */
  EXPECT("matches(\"\\u0663\", \"^\\\\d$\")", "true");
  EXPECT("matches(input: \"abc\", pattern: \"B\", flags: \"i\")", "true");
}

static void test_invalid_patterns_and_flags_give_null(void **state) {
  EXPECT_NULL("matches(\"abc\", \"a\", \"p\")", "matches: invalid regular expression flags");
  EXPECT_NULL("matches(\"abc\", \"(\")", "matches: invalid regular expression");
  EXPECT_NULL("matches(\"abc\", \")\")", "unbalanced");
  EXPECT_NULL("matches(\"h\", \"(.)\\\\3\")", "back-reference");
  EXPECT_NULL("matches(\"abcd\", \"(asd)[\\\\1]\")", "invalid escape");
  EXPECT_NULL("matches(\"abc\", \"a{2,1}\")", "out of order");
  EXPECT_NULL("matches(\"abc\", \"a**\")", "quantifier");
  EXPECT_NULL("matches(\"abc\", \"a++\")", "quantifier"); /* no possessive quantifiers in XPath */
  EXPECT_NULL("matches(\"abc\", \"a{,3}\")", "quantifier");
  EXPECT_NULL("matches(\"abc\", \"(?=a)\")", "(?:");
  EXPECT_NULL("matches(\"abc\", \"\\\\bc\")", "invalid escape");
  EXPECT_NULL("matches(\"abc\", \"[a-b-c]\")", "'-'");
  EXPECT_NULL("matches(\"abc\", \"[]\")", "empty character class");
  EXPECT_NULL("matches(\"abc\", \"\\\\p{IsNoSuchBlock}\")", "IsNoSuchBlock");
  EXPECT_NULL("matches(\"abc\", \"x]\")", "unescaped");
  EXPECT_NULL("matches(\"abc\", [])", "pattern must be a string");
  EXPECT_NULL("matches(\"abc\", \"a\", [])", "flags must be a string");
  EXPECT_NULL("split(\"abc\", \"[\")", "split: invalid regular expression");
}

static void test_catastrophic_pattern_returns_null_quickly(void **state) {
  clock_t t0 = clock();
  EXPECT_NULL("matches(\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxz y\", \"(x+x+)+y\")",
              "matches: the regular expression needs too much backtracking");
  EXPECT_NULL("replace(\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!b\","
              " \"(a|aa)+b\", \"\")",
              "replace: the regular expression needs too much backtracking");
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  if (secs > 5) fail_msg("catastrophic patterns took %.1f s", secs);
}

static void test_split_and_extract(void **state) {
  EXPECT("split(\"a1b22c\", \"\\\\d+\")", "[\"a\",\"b\",\"c\"]");
  EXPECT("split(\"a;b;c;;\", \";\")", "[\"a\",\"b\",\"c\",\"\",\"\"]");
  EXPECT("split(delimiter: \",\", string: \"foo,bar\")", "[\"foo\",\"bar\"]");
  EXPECT("split(\"abc\", \"x\")", "[\"abc\"]");
  EXPECT("split(\"\\u00e9\\u00e9\", \"\")", "[\"\xc3\xa9\",\"\xc3\xa9\",\"\"]");
  EXPECT("extract(\"a1b22c333\", \"\\\\d+\")", "[\"1\",\"22\",\"333\"]");
  EXPECT("extract(\"abc\", \"\\\\d+\")", "[]");
  EXPECT_NULL("split(\"foo\", null)", "split: delimiter is null");
  EXPECT_NULL("extract(1, \"a\")", "extract: input must be a string");
}

static void test_string_join(void **state) {
  EXPECT("string join([\"a\", \"b\", \"c\"])", "\"abc\"");
  EXPECT("string join([\"a\", null, \"c\"], \", \")", "\"a, c\"");
  EXPECT("string join([\"a\", \"b\"], \", \", \"[\", \"]\")", "\"[a, b]\"");
  EXPECT("string join([], \"X\", \"<\", \">\")", "\"<>\"");
  EXPECT("string join(\"a\", \"X\")", "\"a\"");
  EXPECT("string join(delimiter: \"X\", list: [\"a\", \"c\"])", "\"aXc\"");
  EXPECT_NULL("string join([1, 2], \"X\")", "string join: item 1");
  EXPECT_NULL("string join(null)", "string join: list is null");
  EXPECT_NULL("string join([\"a\"], 1)", "delimiter must be a string");
}

static void test_camunda_additions(void **state) {
  EXPECT("trim(\"  \\t hello world \\n \")", "\"hello world\"");
  EXPECT("trim(\"\")", "\"\"");
  EXPECT("is blank(\" \\t\\n\")", "true");
  EXPECT("is blank(\"\")", "true");
  EXPECT("is blank(\" a \")", "false");
  EXPECT("to base64(\"FEEL\")", "\"RkVFTA==\"");
  EXPECT("to base64(value: \"\\u00e9\")", "\"w6k=\"");
  EXPECT("to base64(\"\")", "\"\"");
  EXPECT("matches(uuid(), \"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$\")",
         "true");
  EXPECT("uuid() != uuid()", "true");
  EXPECT_NULL("trim(1)", "trim");
  EXPECT_NULL("to base64(null)", "to base64");
}

static void test_out_of_memory(void **state) {
  CHECK_OOM("[replace(\"abracadabra\", \"a(.)\", \"a$1$1\"), split(\"a,b\", \",\"), "
            "upper case(\"stra\\u00dfe\"), string join([\"a\", \"b\"], \"-\"), "
            "extract(\"a1b2\", \"[0-9]\"), matches(\"x\", \"[a-z-[b]]\")]",
            "[\"abbraccaddabbra\",[\"a\",\"b\"],\"STRASSE\",\"a-b\",[\"1\",\"2\"],true]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_positions_count_code_points),
      cmocka_unit_test(test_case_mapping_is_unicode),
      cmocka_unit_test(test_substring_search),
      cmocka_unit_test(test_replace_expands_groups),
      cmocka_unit_test(test_matches_follows_xpath_syntax),
      cmocka_unit_test(test_invalid_patterns_and_flags_give_null),
      cmocka_unit_test(test_catastrophic_pattern_returns_null_quickly),
      cmocka_unit_test(test_split_and_extract),
      cmocka_unit_test(test_string_join),
      cmocka_unit_test(test_camunda_additions),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
