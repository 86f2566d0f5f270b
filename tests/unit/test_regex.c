/* test_regex.c: bounded regex compilation: the bombs that made regcomp take
 * gigabytes are refused before regcomp runs; ordinary patterns compile and
 * match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/regex.h"

/* Asserts that pattern is refused with a message containing want. */
static void refused(const char *pattern, const char *want) {
  char err[256] = "";
  regex_t re;
  skpi_err rc = skpi_regex_compile(&re, pattern, REG_NOSUB, err, sizeof(err));
  if(rc == SKPI_OK) {
    regfree(&re);
    fail_msg("\"%s\" compiled", pattern);
  }
  assert_int_equal(rc, SKPI_EINVAL);
  if(!strstr(err, want))
    fail_msg("\"%s\": message \"%s\" lacks \"%s\"", pattern, err, want);
  /* The bound check alone says the same, without regcomp. */
  assert_int_equal(skpi_regex_check(pattern, NULL, 0), SKPI_EINVAL);
}

static void bombs(void **state) {
  char p[64];
  /* "(a)" and 20 '+': 2.8 GB in regcomp before the bound. */
  snprintf(p, sizeof(p), "(a)%s", "++++++++++++++++++++");
  refused(p, "nested repetition");
  refused("a???", "more than 2 quantifiers in a row");
  /* 53 s and 14.5 GB, or SIGSEGV inside regcomp, before the bound. */
  refused("((a{1,255}){1,255}){1,255}", "repetition count above 100");
  refused("((a{1,50}){1,50}){1,50}", "nested repetition");
  refused("(a+)+", "nested repetition");
  refused("(a*)*", "nested repetition");
  refused("(x(a|b)+y)*", "nested repetition");
  refused("((a{2}){3})*", "nested repetition");
  refused("((a+))+", "nested repetition");
  refused("(a+){2}", "nested repetition");
  refused("a+*", "nested repetition");
  refused("a**", "nested repetition");
  refused("a{101}", "repetition count above 100");
  refused("a{1,101}", "repetition count above 100");
  refused("a{99999999999}", "repetition count above 100");
  refused("a{,200}", "repetition count above 100");
}

static void caps(void **state) {
  char p[SKPI_REGEX_MAX_LEN + 2];
  memset(p, 'a', sizeof(p) - 1);
  p[sizeof(p) - 1] = '\0';
  refused(p, "longer than 512 bytes");
  /* Exactly at the cap is fine. */
  p[SKPI_REGEX_MAX_LEN] = '\0';
  regex_t re;
  assert_int_equal(skpi_regex_compile(&re, p, REG_NOSUB, NULL, 0), SKPI_OK);
  regfree(&re);
  char g[4 * (SKPI_REGEX_MAX_GROUPS + 1) + 1] = "";
  for(int i = 0; i <= SKPI_REGEX_MAX_GROUPS; i++)
    strcat(g, "(a)");
  refused(g, "more than 32 groups");
}

static void ordinary_patterns(void **state) {
  static const struct {
    const char *re, *yes, *no;
  } ok[] = {
      {"^orders", "orders.v1", "x.orders"},
      {"^([A-Za-z0-9]+)[._-]", "billing.events", "billing"},
      {"(\\.[a-z]+)?$", "a.b", NULL}, /* an optional group may hold a quantifier */
      {"[+*]+x", "+*x", "x"},         /* quantifier characters in a bracket */
      {"\\++x", "++x", "x"},          /* an escaped quantifier character */
      {"[]a]+b", "]ab", "b"},
      {"[[:alpha:]]+[0-9]{1,100}", "ab12", "12"},
      {"(ab|cd)+", "abcd", "ac"}, /* repeated group without a quantifier inside */
      {"a+?b", "ab", "a"},        /* two in a row is the limit */
      {"(a+)?b", "aab", "c"},
      {"^_", "_schemas", "orders"},
      {"\\.dlq$", "orders.dlq", "orders"},
  };
  for(size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    regex_t re;
    char err[128] = "";
    if(skpi_regex_compile(&re, ok[i].re, REG_NOSUB, err, sizeof(err)) != SKPI_OK)
      fail_msg("\"%s\" refused: %s", ok[i].re, err);
    assert_int_equal(regexec(&re, ok[i].yes, 0, NULL, 0), 0);
    if(ok[i].no)
      assert_int_not_equal(regexec(&re, ok[i].no, 0, NULL, 0), 0);
    regfree(&re);
  }
}

static void syntax_errors(void **state) {
  regex_t re;
  char err[128] = "";
  /* regcomp's own verdict, with its text. */
  assert_int_equal(skpi_regex_compile(&re, "([", 0, err, sizeof(err)), SKPI_EINVAL);
  assert_true(err[0] != '\0');
  assert_int_equal(skpi_regex_compile(&re, NULL, 0, err, sizeof(err)), SKPI_EINVAL);
  /* Capture groups are kept when REG_NOSUB is not asked for. */
  assert_int_equal(skpi_regex_compile(&re, "^([a-z]+)-", 0, NULL, 0), SKPI_OK);
  assert_int_equal(re.re_nsub, 1);
  regfree(&re);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bombs),
      cmocka_unit_test(caps),
      cmocka_unit_test(ordinary_patterns),
      cmocka_unit_test(syntax_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
