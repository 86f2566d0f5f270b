/* test_expo.c: metric sets, the text/OpenMetrics renderer, negotiation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <zlib.h>

#include "streamkpi/expo.h"

#define GOLDEN_DIR "tests/unit/golden/"

/* Renders sets into a fresh string the caller frees. */
static char *render(const skpi_mset *const *sets, size_t n, enum skpi_format fmt) {
  skpi_buf b;
  skpi_buf_init(&b, 1 << 24);
  assert_int_equal(skpi_expo_render(sets, n, fmt, &b), SKPI_OK);
  return skpi_buf_steal(&b, NULL);
}

static char *render1(const skpi_mset *m, enum skpi_format fmt) {
  const skpi_mset *sets[] = {m};
  return render(sets, 1, fmt);
}

/* The rendered value of one gauge sample. */
static char *value_text(double v) {
  skpi_mset *m = skpi_mset_new();
  assert_non_null(m);
  int f = skpi_mset_family(m, "v", SKPI_MT_GAUGE, NULL);
  assert_true(f >= 0);
  assert_int_equal(skpi_mset_add(m, f, v), SKPI_OK);
  char *s = render1(m, SKPI_FMT_TEXT);
  skpi_mset_unref(m);
  const char *prefix = "# TYPE v gauge\nv ";
  assert_memory_equal(s, prefix, strlen(prefix));
  size_t len = strlen(s);
  assert_true(len > strlen(prefix) && s[len - 1] == '\n');
  s[len - 1] = '\0';
  memmove(s, s + strlen(prefix), len - strlen(prefix));
  return s;
}

static void want_value(double v, const char *want) {
  char *s = value_text(v);
  assert_string_equal(s, want);
  free(s);
}

static void numbers(void **state) {
  want_value(0, "0");
  want_value(-0.0, "0");
  want_value(42, "42");
  want_value(-17, "-17");
  want_value(9007199254740992.0, "9007199254740992");
  want_value(-9007199254740992.0, "-9007199254740992");
  want_value(0.1, "0.1");
  want_value(1e-9, "1e-09");
  want_value(1e21, "1e+21");
  want_value(1.5, "1.5");
  want_value(INFINITY, "+Inf");
  want_value(-INFINITY, "-Inf");
  want_value(NAN, "NaN");
  /* Beyond 2^53 the %g path is taken. */
  want_value(18014398509481984.0, "18014398509481984");
  want_value(18014398509481985e3, "1.8014398509481984e+19");
}

/* Values that need 17 digits still read back exactly. */
static void numbers_round_trip(void **state) {
  const double vals[] = {
      1.0 / 3.0, 2.0 / 3.0, 0.1 + 0.2, 1e-300, 123456.789e10, 5e-324, 1.7976931348623157e308};
  for(size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
    char *s = value_text(vals[i]);
    char *end;
    double back = strtod(s, &end);
    assert_int_equal(*end, '\0');
    assert_true(back == vals[i]);
    free(s);
  }
  char *s = value_text(0.1 + 0.2);
  assert_string_equal(s, "0.30000000000000004");
  free(s);
}

static void label_escaping(void **state) {
  skpi_mset *m = skpi_mset_new();
  int f = skpi_mset_family(m, "esc", SKPI_MT_GAUGE, NULL);
  assert_int_equal(skpi_mset_add(m, f, 1, "a", "back\\slash", "b", "q\"uote", "c", "new\nline", "d",
                                 "gr\xc3\xbc\xc3\x9f \xe2\x82\xac"),
                   SKPI_OK);
  assert_int_equal(skpi_mset_add(m, f, 2, "bad", "x\xff\xc3(y"), SKPI_OK);
  char *s = render1(m, SKPI_FMT_TEXT);
  assert_string_equal(s, "# TYPE esc gauge\n"
                         "esc{a=\"back\\\\slash\",b=\"q\\\"uote\",c=\"new\\nline\","
                         "d=\"gr\xc3\xbc\xc3\x9f \xe2\x82\xac\"} 1\n"
                         "esc{bad=\"x\xef\xbf\xbd\xef\xbf\xbd(y\"} 2\n");
  free(s);
  s = render1(m, SKPI_FMT_OPENMETRICS);
  assert_string_equal(s, "# TYPE esc gauge\n"
                         "esc{a=\"back\\\\slash\",b=\"q\\\"uote\",c=\"new\\nline\","
                         "d=\"gr\xc3\xbc\xc3\x9f \xe2\x82\xac\"} 1\n"
                         "esc{bad=\"x\xef\xbf\xbd\xef\xbf\xbd(y\"} 2\n# EOF\n");
  free(s);
  skpi_mset_unref(m);
}

static void help_escaping(void **state) {
  skpi_mset *m = skpi_mset_new();
  int f = skpi_mset_family(m, "h_total", SKPI_MT_COUNTER, "a \\ b\nc \"d\"");
  assert_int_equal(skpi_mset_add(m, f, 3), SKPI_OK);
  char *s = render1(m, SKPI_FMT_TEXT);
  assert_string_equal(s, "# HELP h_total a \\\\ b\\nc \"d\"\n# TYPE h_total counter\nh_total 3\n");
  free(s);
  s = render1(m, SKPI_FMT_OPENMETRICS);
  assert_string_equal(s, "# HELP h a \\\\ b\\nc \\\"d\\\"\n# TYPE h counter\nh_total 3\n# EOF\n");
  free(s);
  skpi_mset_unref(m);
  /* invalid UTF-8 in help is repaired, valid UTF-8 kept */
  m = skpi_mset_new();
  f = skpi_mset_family(m, "u", SKPI_MT_GAUGE, "caf\xc3\xa9 \xed\xa0\x80 \xc0\xaf");
  assert_int_equal(skpi_mset_add(m, f, 1), SKPI_OK);
  s = render1(m, SKPI_FMT_TEXT);
  assert_string_equal(s, "# HELP u caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                         "\xef\xbf\xbd\xef\xbf\xbd\n# TYPE u gauge\nu 1\n");
  free(s);
  skpi_mset_unref(m);
}

/* Two sets declare families in different orders: every family comes out
 * as one contiguous group, in order of first appearance, HELP from the
 * first declaration; an empty family is omitted. */
static void grouping(void **state) {
  skpi_mset *a = skpi_mset_new(), *b = skpi_mset_new();
  int ax = skpi_mset_family(a, "x", SKPI_MT_GAUGE, "x from a");
  int ay = skpi_mset_family(a, "y", SKPI_MT_GAUGE, "y from a");
  int ae = skpi_mset_family(a, "empty", SKPI_MT_GAUGE, "never filled");
  int by = skpi_mset_family(b, "y", SKPI_MT_GAUGE, "y from b");
  int bz = skpi_mset_family(b, "z", SKPI_MT_GAUGE, NULL);
  int bx = skpi_mset_family(b, "x", SKPI_MT_GAUGE, "x from b");
  int bw = skpi_mset_family(b, "w", SKPI_MT_COUNTER, NULL);
  assert_int_equal(bw, -1); /* counters need _total */
  bw = skpi_mset_family(b, "y", SKPI_MT_COUNTER, NULL);
  assert_int_equal(bw, -1); /* type clash within a set */
  assert_true(ax >= 0 && ay >= 0 && ae >= 0 && by >= 0 && bz >= 0 && bx >= 0);
  assert_int_equal(skpi_mset_family(a, "x", SKPI_MT_GAUGE, "other"), ax);
  /* interleave the adds too */
  assert_int_equal(skpi_mset_add(a, ay, 1, "s", "a"), SKPI_OK);
  assert_int_equal(skpi_mset_add(b, bx, 2, "s", "b"), SKPI_OK);
  assert_int_equal(skpi_mset_add(a, ax, 3, "s", "a"), SKPI_OK);
  assert_int_equal(skpi_mset_add(b, bz, 4), SKPI_OK);
  assert_int_equal(skpi_mset_add(b, by, 5, "s", "b"), SKPI_OK);
  assert_int_equal(skpi_mset_add(a, ay, 6, "s", "a2"), SKPI_OK);
  const skpi_mset *sets[] = {a, NULL, b};
  char *s = render(sets, 3, SKPI_FMT_TEXT);
  assert_string_equal(s, "# HELP x x from a\n# TYPE x gauge\n"
                         "x{s=\"a\"} 3\nx{s=\"b\"} 2\n"
                         "# HELP y y from a\n# TYPE y gauge\n"
                         "y{s=\"a\"} 1\ny{s=\"a2\"} 6\ny{s=\"b\"} 5\n"
                         "# TYPE z gauge\nz 4\n");
  free(s);
  /* A family first declared in the set without samples still decides the
   * place and HELP of its group. */
  const skpi_mset *rev[] = {b, a};
  s = render(rev, 2, SKPI_FMT_TEXT);
  assert_string_equal(s, "# HELP y y from b\n# TYPE y gauge\n"
                         "y{s=\"b\"} 5\ny{s=\"a\"} 1\ny{s=\"a2\"} 6\n"
                         "# TYPE z gauge\nz 4\n"
                         "# HELP x x from b\n# TYPE x gauge\n"
                         "x{s=\"b\"} 2\nx{s=\"a\"} 3\n");
  free(s);
  skpi_mset_unref(a);
  skpi_mset_unref(b);
}

/* A later set's family with the same name and another type is left out. */
static void grouping_type_clash(void **state) {
  skpi_mset *a = skpi_mset_new(), *b = skpi_mset_new();
  int fa = skpi_mset_family(a, "c_total", SKPI_MT_COUNTER, NULL);
  int fb = skpi_mset_family(b, "c_total", SKPI_MT_GAUGE, NULL);
  assert_int_equal(skpi_mset_add(a, fa, 1), SKPI_OK);
  assert_int_equal(skpi_mset_add(b, fb, -1, "k", "v"), SKPI_OK);
  const skpi_mset *sets[] = {a, b};
  char *s = render(sets, 2, SKPI_FMT_TEXT);
  assert_string_equal(s, "# TYPE c_total counter\nc_total 1\n");
  free(s);
  skpi_mset_unref(a);
  skpi_mset_unref(b);
}

static void histogram(void **state) {
  skpi_mset *m = skpi_mset_new();
  int f = skpi_mset_family(m, "lat_seconds", SKPI_MT_HISTOGRAM, "Latency.");
  const double bounds[] = {0.1, 1, 2.5};
  const uint64_t cum[] = {2, 5, 5};
  skpi_hist h = {3, bounds, cum, 4.25, 7};
  const char *kv[] = {"cluster", "a"};
  assert_int_equal(skpi_mset_add_hist(m, f, &h, kv, 1), SKPI_OK);
  skpi_hist empty = {0, NULL, NULL, 0, 0};
  assert_int_equal(skpi_mset_add_hist(m, f, &empty, NULL, 0), SKPI_OK);
  assert_int_equal(skpi_mset_size(m), 6 + 3);
  const char *body = "lat_seconds_bucket{cluster=\"a\",le=\"0.1\"} 2\n"
                     "lat_seconds_bucket{cluster=\"a\",le=\"1\"} 5\n"
                     "lat_seconds_bucket{cluster=\"a\",le=\"2.5\"} 5\n"
                     "lat_seconds_bucket{cluster=\"a\",le=\"+Inf\"} 7\n"
                     "lat_seconds_sum{cluster=\"a\"} 4.25\n"
                     "lat_seconds_count{cluster=\"a\"} 7\n"
                     "lat_seconds_bucket{le=\"+Inf\"} 0\n"
                     "lat_seconds_sum 0\n"
                     "lat_seconds_count 0\n";
  char *s = render1(m, SKPI_FMT_TEXT);
  char want[1024];
  snprintf(want, sizeof(want), "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n%s",
           body);
  assert_string_equal(s, want);
  free(s);
  s = render1(m, SKPI_FMT_OPENMETRICS);
  snprintf(want, sizeof(want),
           "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n%s# EOF\n", body);
  assert_string_equal(s, want);
  free(s);
  /* Plain samples do not go into a histogram family, nor the other way. */
  assert_int_equal(skpi_mset_add(m, f, 1), SKPI_EINVAL);
  int g = skpi_mset_family(m, "g", SKPI_MT_GAUGE, NULL);
  assert_int_equal(skpi_mset_add_hist(m, g, &h, NULL, 0), SKPI_EINVAL);
  skpi_mset_unref(m);
}

static void histogram_invalid(void **state) {
  skpi_mset *m = skpi_mset_new();
  int f = skpi_mset_family(m, "hh", SKPI_MT_HISTOGRAM, NULL);
  const double desc[] = {1, 0.5};
  const double inf[] = {1, INFINITY};
  const double nan[] = {NAN};
  const double ok[] = {1, 2};
  const uint64_t cum[] = {1, 2};
  const uint64_t down[] = {2, 1};
  skpi_hist h = {2, desc, cum, 1, 2};
  assert_int_equal(skpi_mset_add_hist(m, f, &h, NULL, 0), SKPI_EINVAL);
  h.bounds = inf;
  assert_int_equal(skpi_mset_add_hist(m, f, &h, NULL, 0), SKPI_EINVAL);
  h.bounds = nan;
  h.nbounds = 1;
  assert_int_equal(skpi_mset_add_hist(m, f, &h, NULL, 0), SKPI_EINVAL);
  h.bounds = ok;
  h.nbounds = 2;
  h.cumulative = down;
  assert_int_equal(skpi_mset_add_hist(m, f, &h, NULL, 0), SKPI_EINVAL);
  h.cumulative = cum;
  h.count = 1; /* below a bucket */
  assert_int_equal(skpi_mset_add_hist(m, f, &h, NULL, 0), SKPI_EINVAL);
  h.count = 2;
  h.sum = NAN;
  assert_int_equal(skpi_mset_add_hist(m, f, &h, NULL, 0), SKPI_EINVAL);
  h.sum = 3;
  const char *le[] = {"le", "1"};
  assert_int_equal(skpi_mset_add_hist(m, f, &h, le, 1), SKPI_EINVAL);
  h.nbounds = SKPI_EXPO_MAX_BUCKETS + 1;
  assert_int_equal(skpi_mset_add_hist(m, f, &h, NULL, 0), SKPI_EINVAL);
  h.nbounds = 2;
  assert_int_equal(skpi_mset_add_hist(m, f, NULL, NULL, 0), SKPI_EINVAL);
  assert_int_equal(skpi_mset_size(m), 0);
  assert_int_equal(skpi_mset_add_hist(m, f, &h, NULL, 0), SKPI_OK);
  assert_int_equal(skpi_mset_size(m), 5);
  skpi_mset_unref(m);
}

static void names(void **state) {
  assert_true(skpi_expo_valid_name("a"));
  assert_true(skpi_expo_valid_name("_a:b_9"));
  assert_true(skpi_expo_valid_name(":x"));
  assert_false(skpi_expo_valid_name(""));
  assert_false(skpi_expo_valid_name(NULL));
  assert_false(skpi_expo_valid_name("9a"));
  assert_false(skpi_expo_valid_name("a-b"));
  assert_false(skpi_expo_valid_name("a b"));
  assert_false(skpi_expo_valid_name("\xc3\xa4"));
  char longname[SKPI_EXPO_MAX_NAME + 2];
  memset(longname, 'a', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  assert_false(skpi_expo_valid_name(longname));
  longname[SKPI_EXPO_MAX_NAME] = '\0';
  assert_true(skpi_expo_valid_name(longname));

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_mset_family(m, "bad name", SKPI_MT_GAUGE, NULL), -1);
  assert_int_equal(skpi_mset_family(m, "_total", SKPI_MT_COUNTER, NULL), -1);
  assert_int_equal(skpi_mset_family(m, "x_info", SKPI_MT_GAUGE, NULL) >= 0, 1);
  assert_int_equal(skpi_mset_family(m, "x_info", SKPI_MT_INFO, NULL), -1);
  assert_int_equal(skpi_mset_family(m, "build", SKPI_MT_INFO, NULL), -1);
  assert_int_equal(skpi_mset_family(m, "g", (enum skpi_mtype)42, NULL), -1);
  assert_int_equal(skpi_mset_family(NULL, "g", SKPI_MT_GAUGE, NULL), -1);
  skpi_mset_unref(m);
}

static void validation(void **state) {
  skpi_mset *m = skpi_mset_new();
  int g = skpi_mset_family(m, "g", SKPI_MT_GAUGE, NULL);
  int c = skpi_mset_family(m, "c_total", SKPI_MT_COUNTER, NULL);
  int i = skpi_mset_family(m, "build_info", SKPI_MT_INFO, NULL);
  assert_true(g >= 0 && c >= 0 && i >= 0);
  /* odd list */
  assert_int_equal(skpi_mset_add(m, g, 1, "a"), SKPI_EINVAL);
  assert_int_equal(skpi_mset_add(m, g, 1, "a", "1", "b"), SKPI_EINVAL);
  /* invalid label names */
  assert_int_equal(skpi_mset_add(m, g, 1, "1a", "x"), SKPI_EINVAL);
  assert_int_equal(skpi_mset_add(m, g, 1, "a:b", "x"), SKPI_EINVAL);
  assert_int_equal(skpi_mset_add(m, g, 1, "__name__", "x"), SKPI_EINVAL);
  assert_int_equal(skpi_mset_add(m, g, 1, "", "x"), SKPI_EINVAL);
  /* duplicate label name */
  assert_int_equal(skpi_mset_add(m, g, 1, "a", "1", "b", "2", "a", "3"), SKPI_EINVAL);
  /* NaN only for gauges, counters >= 0, info == 1 */
  assert_int_equal(skpi_mset_add(m, c, NAN), SKPI_EINVAL);
  assert_int_equal(skpi_mset_add(m, c, -1), SKPI_EINVAL);
  assert_int_equal(skpi_mset_add(m, i, NAN), SKPI_EINVAL);
  assert_int_equal(skpi_mset_add(m, i, 2, "version", "1"), SKPI_EINVAL);
  /* bad family index, NULL set, NULL value in an array */
  assert_int_equal(skpi_mset_add(m, 99, 1), SKPI_EINVAL);
  assert_int_equal(skpi_mset_add(m, -1, 1), SKPI_EINVAL);
  assert_int_equal(skpi_mset_add(NULL, 0, 1), SKPI_EINVAL);
  const char *kvnull[] = {"a", NULL};
  assert_int_equal(skpi_mset_addv(m, g, 1, kvnull, 1), SKPI_EINVAL);
  assert_int_equal(skpi_mset_addv(m, g, 1, NULL, 1), SKPI_EINVAL);
  /* too many labels */
  const char *many[2 * (SKPI_EXPO_MAX_LABELS + 1)];
  char names_[SKPI_EXPO_MAX_LABELS + 1][24];
  for(size_t k = 0; k < SKPI_EXPO_MAX_LABELS + 1; k++) {
    snprintf(names_[k], sizeof(names_[k]), "l%zu", k);
    many[2 * k] = names_[k];
    many[2 * k + 1] = "v";
  }
  assert_int_equal(skpi_mset_addv(m, g, 1, many, SKPI_EXPO_MAX_LABELS + 1), SKPI_EINVAL);
  assert_int_equal(skpi_mset_addv(m, g, 1, many, SKPI_EXPO_MAX_LABELS), SKPI_OK);
  /* over-long value */
  char *big = malloc(SKPI_EXPO_MAX_VALUE + 2);
  memset(big, 'v', SKPI_EXPO_MAX_VALUE + 1);
  big[SKPI_EXPO_MAX_VALUE + 1] = '\0';
  assert_int_equal(skpi_mset_add(m, g, 1, "big", big), SKPI_ETOOBIG);
  big[SKPI_EXPO_MAX_VALUE] = '\0';
  assert_int_equal(skpi_mset_add(m, g, 1, "big", big), SKPI_OK);
  free(big);
  /* the accepted ones */
  assert_int_equal(skpi_mset_add(m, g, NAN, "a", "1"), SKPI_OK);
  assert_int_equal(skpi_mset_add(m, c, 0), SKPI_OK);
  assert_int_equal(skpi_mset_add(m, c, INFINITY, "x", "y"), SKPI_OK);
  assert_int_equal(skpi_mset_add(m, i, 1, "version", "1"), SKPI_OK);
  assert_int_equal(skpi_mset_size(m), 6);
  skpi_mset_unref(m);
}

static void refcount(void **state) {
  skpi_mset *m = skpi_mset_new();
  int g = skpi_mset_family(m, "g", SKPI_MT_GAUGE, NULL);
  assert_int_equal(skpi_mset_add(m, g, 1, "a", "b"), SKPI_OK);
  skpi_mset_ref(m);
  skpi_mset_unref(m);
  /* still alive: ASan would flag a use after free here */
  assert_int_equal(skpi_mset_size(m), 1);
  skpi_mset_unref(m);
  skpi_mset_unref(NULL);
  skpi_mset_ref(NULL);
}

static void empty_output(void **state) {
  skpi_mset *m = skpi_mset_new();
  assert_true(skpi_mset_family(m, "unused", SKPI_MT_GAUGE, "h") >= 0);
  char *s = render1(m, SKPI_FMT_TEXT);
  assert_string_equal(s, "");
  free(s);
  s = render1(m, SKPI_FMT_OPENMETRICS);
  assert_string_equal(s, "# EOF\n");
  free(s);
  s = render(NULL, 0, SKPI_FMT_OPENMETRICS);
  assert_string_equal(s, "# EOF\n");
  free(s);
  skpi_mset_unref(m);
}

/* Many families: the hash table grows and lookups still find each one. */
static void many_families(void **state) {
  skpi_mset *m = skpi_mset_new();
  char name[32];
  for(int k = 0; k < 5000; k++) {
    snprintf(name, sizeof(name), "fam_%d", k);
    assert_int_equal(skpi_mset_family(m, name, SKPI_MT_GAUGE, NULL), k);
  }
  for(int k = 4999; k >= 0; k--) {
    snprintf(name, sizeof(name), "fam_%d", k);
    assert_int_equal(skpi_mset_family(m, name, SKPI_MT_GAUGE, NULL), k);
  }
  skpi_mset_unref(m);
}

static void negotiate(void **state) {
  assert_int_equal(skpi_expo_negotiate(NULL), SKPI_FMT_TEXT);
  assert_int_equal(skpi_expo_negotiate(""), SKPI_FMT_TEXT);
  assert_int_equal(skpi_expo_negotiate("text/plain"), SKPI_FMT_TEXT);
  assert_int_equal(skpi_expo_negotiate("application/openmetrics-text"), SKPI_FMT_OPENMETRICS);
  /* what Prometheus sends */
  assert_int_equal(skpi_expo_negotiate("application/openmetrics-text;version=1.0.0;q=0.5,"
                                       "application/openmetrics-text;version=0.0.1;q=0.4,"
                                       "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"),
                   SKPI_FMT_OPENMETRICS);
  assert_int_equal(skpi_expo_negotiate("text/plain;version=0.0.4;q=0.9, "
                                       "application/openmetrics-text; version=1.0.0; q=0.5"),
                   SKPI_FMT_TEXT);
  /* ties go to OpenMetrics; a wildcard competes like text/plain */
  assert_int_equal(skpi_expo_negotiate("text/plain;q=0.5,application/openmetrics-text;q=0.5"),
                   SKPI_FMT_OPENMETRICS);
  assert_int_equal(skpi_expo_negotiate("*/*,application/openmetrics-text;q=0.8"), SKPI_FMT_TEXT);
  assert_int_equal(skpi_expo_negotiate("text/*;q=0.9,application/openmetrics-text;q=0.8"),
                   SKPI_FMT_TEXT);
  assert_int_equal(skpi_expo_negotiate("*/*"), SKPI_FMT_TEXT);
  /* q=0 means "not acceptable" */
  assert_int_equal(skpi_expo_negotiate("application/openmetrics-text;q=0"), SKPI_FMT_TEXT);
  /* case, spaces, quoted parameter values */
  assert_int_equal(skpi_expo_negotiate(" Application/OpenMetrics-Text ; Version=\"1.0.0\" ; Q=1"),
                   SKPI_FMT_OPENMETRICS);
  /* a version we do not speak is ignored */
  assert_int_equal(skpi_expo_negotiate("application/openmetrics-text;version=2.0.0"),
                   SKPI_FMT_TEXT);
  /* garbage: malformed ranges are ignored, never a crash */
  const char *garbage[] = {
      "application/openmetrics-text;q=abc",
      "application/openmetrics-text;q=2",
      "application/openmetrics-text;q=-1",
      "application/openmetrics-text;q=",
      "application/openmetrics-text;q",
      "application/openmetrics-text;version=\"1.0.0",
      "application/openmetrics-text junk",
      "application/openmetrics-text;q=0.5000000000000000000001",
      ",,,;;;===",
      ";q=1",
      "\"\"\"",
  };
  for(size_t k = 0; k < sizeof(garbage) / sizeof(garbage[0]); k++)
    assert_int_equal(skpi_expo_negotiate(garbage[k]), SKPI_FMT_TEXT);
  /* a valid range after a broken one still counts */
  assert_int_equal(skpi_expo_negotiate("x;q=zz,application/openmetrics-text"),
                   SKPI_FMT_OPENMETRICS);
  /* a huge header: only the first bytes are looked at */
  size_t n = 100000;
  char *h = malloc(n + 1);
  for(size_t k = 0; k < n; k++)
    h[k] = (k % 5 == 4) ? ',' : 'x';
  h[n] = '\0';
  assert_int_equal(skpi_expo_negotiate(h), SKPI_FMT_TEXT);
  free(h);
}

/* The golden fixture: every type, labels that need escaping, a family
 * spread over two sets, an empty family, special values. */
static void build_fixture(skpi_mset **pa, skpi_mset **pb) {
  skpi_mset *a = skpi_mset_new(), *b = skpi_mset_new();
  assert_non_null(a);
  assert_non_null(b);
  int info = skpi_mset_family(a, "streamkpi_build_info", SKPI_MT_INFO, "Build information.");
  int up = skpi_mset_family(a, "streamkpi_source_up", SKPI_MT_GAUGE,
                            "1 when the source's last cycle succeeded.");
  int lag = skpi_mset_family(a, "kafka_consumergroup_lag", SKPI_MT_GAUGE,
                             "Lag of a group on a partition, in messages.");
  int req = skpi_mset_family(a, "streamkpi_kafka_requests_total", SKPI_MT_COUNTER,
                             "Kafka requests sent; path \\ and\nnewline in help.");
  int unused = skpi_mset_family(a, "streamkpi_unused", SKPI_MT_GAUGE, "Never filled.");
  assert_true(info >= 0 && up >= 0 && lag >= 0 && req >= 0 && unused >= 0);
  assert_int_equal(skpi_mset_add(a, info, 1, "version", "0.1.0", "revision", "abc\"def"), SKPI_OK);
  assert_int_equal(skpi_mset_add(a, up, 1, "cluster", "prod", "source", "kafka"), SKPI_OK);
  assert_int_equal(skpi_mset_add(a, lag, 42, "cluster", "prod", "group", "billing", "topic",
                                 "orders", "partition", "0"),
                   SKPI_OK);
  assert_int_equal(skpi_mset_add(a, lag, 0, "cluster", "prod", "group", "g\\x\ny", "topic",
                                 "caf\xc3\xa9", "partition", "1"),
                   SKPI_OK);
  assert_int_equal(skpi_mset_add(a, req, 1234567, "cluster", "prod"), SKPI_OK);

  int bup = skpi_mset_family(b, "streamkpi_source_up", SKPI_MT_GAUGE, "ignored second help");
  int ratio = skpi_mset_family(b, "streamkpi_availability_ratio", SKPI_MT_GAUGE,
                               "Share of observed time the cluster was available.");
  int rec = skpi_mset_family(b, "streamkpi_incident_recovery_seconds", SKPI_MT_HISTOGRAM,
                             "Time from incident start to recovery.");
  int blag = skpi_mset_family(b, "kafka_consumergroup_lag", SKPI_MT_GAUGE, NULL);
  int bun = skpi_mset_family(b, "streamkpi_unused", SKPI_MT_GAUGE, NULL);
  assert_true(bup >= 0 && ratio >= 0 && rec >= 0 && blag >= 0 && bun >= 0);
  assert_int_equal(skpi_mset_add(b, ratio, 0.999, "cluster", "prod", "window", "7d"), SKPI_OK);
  assert_int_equal(skpi_mset_add(b, ratio, NAN, "cluster", "dev", "window", "7d"), SKPI_OK);
  assert_int_equal(skpi_mset_add(b, bup, 0, "cluster", "dev", "source", "kafka"), SKPI_OK);
  const double bounds[] = {1, 60, 300, 1800};
  const uint64_t cum[] = {0, 2, 3, 3};
  skpi_hist h = {4, bounds, cum, 1234.5, 4};
  const char *kv[] = {"cluster", "prod"};
  assert_int_equal(skpi_mset_add_hist(b, rec, &h, kv, 1), SKPI_OK);
  assert_int_equal(skpi_mset_add(b, blag, 1e21, "cluster", "dev", "group", "big", "topic", "t",
                                 "partition", "0"),
                   SKPI_OK);
  int temp = skpi_mset_family(b, "streamkpi_clock_skew_seconds", SKPI_MT_GAUGE,
                              "Broker clock minus local clock.");
  assert_int_equal(skpi_mset_add(b, temp, -0.25, "cluster", "prod"), SKPI_OK);
  assert_int_equal(skpi_mset_add(b, temp, -INFINITY, "cluster", "dev"), SKPI_OK);
  *pa = a;
  *pb = b;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if(!f)
    fail_msg("cannot open %s (run from the repo root)", path);
  skpi_buf b;
  skpi_buf_init(&b, 1 << 20);
  char tmp[4096];
  size_t n;
  while((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
    assert_int_equal(skpi_buf_add(&b, tmp, n), SKPI_OK);
  fclose(f);
  return skpi_buf_steal(&b, len);
}

static void golden(enum skpi_format fmt, const char *path) {
  skpi_mset *a, *b;
  build_fixture(&a, &b);
  const skpi_mset *sets[] = {a, b};
  skpi_buf out;
  skpi_buf_init(&out, 1 << 20);
  assert_int_equal(skpi_expo_render(sets, 2, fmt, &out), SKPI_OK);
  /* SKPI_UPDATE_GOLDEN=1 rewrites the file; review the diff before
   * committing it. */
  const char *upd = getenv("SKPI_UPDATE_GOLDEN");
  if(upd && strcmp(upd, "1") == 0) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(out.data, 1, out.len, f), out.len);
    assert_int_equal(fclose(f), 0);
  }
  size_t glen;
  char *want = read_file(path, &glen);
  assert_int_equal(out.len, glen);
  assert_memory_equal(out.data, want, glen);
  free(want);
  skpi_buf_free(&out);
  skpi_mset_unref(a);
  skpi_mset_unref(b);
}

static void golden_text(void **state) {
  golden(SKPI_FMT_TEXT, GOLDEN_DIR "expo.txt");
}

static void golden_om(void **state) {
  golden(SKPI_FMT_OPENMETRICS, GOLDEN_DIR "expo.om");
}

/* 200k samples rendered under a small cap: SKPI_ETOOBIG, buffer freed;
 * the same set fits under a big cap and has one line per sample. */
static void big_set_cap(void **state) {
  skpi_mset *m = skpi_mset_new();
  int f = skpi_mset_family(m, "kafka_topic_partition_current_offset", SKPI_MT_GAUGE, "Offsets.");
  char topic[32], part[16];
  for(int k = 0; k < 200000; k++) {
    snprintf(topic, sizeof(topic), "topic-%d", k / 100);
    snprintf(part, sizeof(part), "%d", k % 100);
    assert_int_equal(skpi_mset_add(m, f, (double)k * 1000.5, "cluster", "prod", "topic", topic,
                                   "partition", part),
                     SKPI_OK);
  }
  assert_int_equal(skpi_mset_size(m), 200000);
  const skpi_mset *sets[] = {m};
  skpi_buf b;
  skpi_buf_init(&b, 64 * 1024);
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &b), SKPI_ETOOBIG);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  skpi_buf_init(&b, 64 * 1024);
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_OPENMETRICS, &b), SKPI_ETOOBIG);
  assert_null(b.data);
  skpi_buf_init(&b, 64 << 20);
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &b), SKPI_OK);
  size_t lines = 0;
  for(size_t k = 0; k < b.len; k++)
    lines += b.data[k] == '\n';
  assert_int_equal(lines, 200000 + 2);
  assert_non_null(strstr(b.data, "{cluster=\"prod\",topic=\"topic-1999\",partition=\"99\"} "
                                 "200098999.5\n"));
  skpi_buf_free(&b);
  skpi_mset_unref(m);
}

/* Long label strings take the slow path of the sample writer and get an
 * arena chunk of their own. */
/* kafka_exporter's "_sum" gauges stay lint-clean as untyped families. */
static void untyped_family(void **state) {
  skpi_mset *m = skpi_mset_new();
  int f = skpi_mset_family(m, "kafka_consumergroup_lag_sum", SKPI_MT_UNTYPED, "Lag sum.");
  assert_true(f >= 0);
  assert_int_equal(skpi_mset_add(m, f, 6, "cluster", "c"), SKPI_OK);
  const skpi_mset *sets[] = {m};
  char *text = render(sets, 1, SKPI_FMT_TEXT);
  assert_string_equal(text, "# HELP kafka_consumergroup_lag_sum Lag sum.\n"
                            "# TYPE kafka_consumergroup_lag_sum untyped\n"
                            "kafka_consumergroup_lag_sum{cluster=\"c\"} 6\n");
  char *om = render(sets, 1, SKPI_FMT_OPENMETRICS);
  assert_string_equal(om, "# HELP kafka_consumergroup_lag_sum Lag sum.\n"
                          "# TYPE kafka_consumergroup_lag_sum unknown\n"
                          "kafka_consumergroup_lag_sum{cluster=\"c\"} 6\n# EOF\n");
  free(text);
  free(om);
  skpi_mset_unref(m);
}

static void long_labels(void **state) {
  skpi_mset *m = skpi_mset_new();
  int f = skpi_mset_family(m, "l", SKPI_MT_GAUGE, NULL);
  char *v = malloc(SKPI_EXPO_MAX_VALUE + 1);
  memset(v, '"', SKPI_EXPO_MAX_VALUE);
  v[SKPI_EXPO_MAX_VALUE] = '\0';
  const char *kv[2 * 20];
  char names_[20][16];
  for(int k = 0; k < 20; k++) {
    snprintf(names_[k], sizeof(names_[k]), "n%d", k);
    kv[2 * k] = names_[k];
    kv[2 * k + 1] = v;
  }
  assert_int_equal(skpi_mset_addv(m, f, 7, kv, 20), SKPI_OK);
  assert_int_equal(skpi_mset_add(m, f, 8, "short", "s"), SKPI_OK);
  char *s = render1(m, SKPI_FMT_TEXT);
  /* per label: separator, '=', two quotes, the doubled value; names n0..n19
   * take 10 * 2 + 10 * 3 bytes */
  size_t want = strlen("# TYPE l gauge\n") + 1 + 20 * (4 + 2 * SKPI_EXPO_MAX_VALUE) + 50 + 1 + 3 +
                strlen("l{short=\"s\"} 8\n");
  assert_int_equal(strlen(s), want);
  assert_non_null(strstr(s, "\\\"\\\"\"} 7\nl{short=\"s\"} 8\n"));
  free(s);
  free(v);
  skpi_mset_unref(m);
}

/* The families of one partition share its label string: ten families over
 * the same 1,000 label sets hold the bytes of one family's labels, and
 * every sample still renders with its own labels. */
static void interned_labels(void **state) {
  skpi_mset *one = skpi_mset_new(), *ten = skpi_mset_new();
  assert_non_null(one);
  assert_non_null(ten);
  int f1 = skpi_mset_family(one, "f0", SKPI_MT_GAUGE, NULL);
  int fams[10];
  for(int k = 0; k < 10; k++) {
    char name[16];
    snprintf(name, sizeof(name), "f%d", k);
    fams[k] = skpi_mset_family(ten, name, SKPI_MT_GAUGE, NULL);
    assert_true(fams[k] >= 0);
  }
  for(int p = 0; p < 1000; p++) {
    char part[16];
    snprintf(part, sizeof(part), "%d", p);
    assert_int_equal(skpi_mset_add(one, f1, p, "topic", "t", "partition", part), SKPI_OK);
    for(int k = 0; k < 10; k++)
      assert_int_equal(skpi_mset_add(ten, fams[k], p, "topic", "t", "partition", part), SKPI_OK);
  }
  assert_true(skpi_mset_label_bytes(one) > 1000 * strlen("{topic=\"t\",partition=\"0\"}"));
  assert_int_equal(skpi_mset_label_bytes(ten), skpi_mset_label_bytes(one));
  char *s = render1(ten, SKPI_FMT_TEXT);
  assert_non_null(strstr(s, "\nf0{topic=\"t\",partition=\"999\"} 999\n"));
  assert_non_null(strstr(s, "\nf9{topic=\"t\",partition=\"0\"} 0\n"));
  assert_non_null(strstr(s, "\nf9{topic=\"t\",partition=\"517\"} 517\n"));
  /* A label string that differs in its last byte is its own. */
  assert_null(strstr(s, "partition=\"517\"} 518"));
  free(s);
  skpi_mset_unref(one);
  skpi_mset_unref(ten);
}

static void seal_keeps_the_output(void **state) {
  skpi_mset *m = skpi_mset_new();
  assert_non_null(m);
  int f = skpi_mset_family(m, "f0", SKPI_MT_GAUGE, "help");
  int e = skpi_mset_family(m, "empty", SKPI_MT_GAUGE, NULL);
  assert_true(f >= 0 && e >= 0);
  for(int p = 0; p < 300; p++) { /* 300 samples in room for 512 */
    char part[16];
    snprintf(part, sizeof(part), "%d", p);
    assert_int_equal(skpi_mset_add(m, f, p, "partition", part), SKPI_OK);
  }
  char *before = render1(m, SKPI_FMT_TEXT);
  size_t bytes = skpi_mset_label_bytes(m);
  skpi_mset_seal(m);
  char *after = render1(m, SKPI_FMT_TEXT);
  assert_string_equal(before, after);
  free(after);
  /* Adding after the seal still works; the label is stored again. */
  assert_int_equal(skpi_mset_add(m, f, 7, "partition", "7"), SKPI_OK);
  assert_true(skpi_mset_label_bytes(m) > bytes);
  after = render1(m, SKPI_FMT_TEXT);
  assert_int_equal(strlen(after), strlen(before) + strlen("f0{partition=\"7\"} 7\n"));
  assert_non_null(strstr(after, "f0{partition=\"299\"} 299\nf0{partition=\"7\"} 7\n"));
  free(after);
  free(before);
  skpi_mset_seal(NULL);
  skpi_mset_unref(m);
}

/* ---- rendering once: shared blocks, assembled bodies ---- */

/* A set of n partition gauges (values from base) and one small counter. */
static skpi_mset *partitions(size_t n, double base, size_t bump) {
  skpi_mset *m = skpi_mset_new();
  int g = skpi_mset_family(m, "kafka_lag", SKPI_MT_GAUGE, "Lag \\ of a \"partition\".");
  int c = skpi_mset_family(m, "cycles_total", SKPI_MT_COUNTER, "Cycles.");
  assert_true(g >= 0 && c >= 0);
  char part[32];
  for(size_t i = 0; i < n; i++) {
    snprintf(part, sizeof(part), "%zu", i);
    double v = base + (double)(i * 7919 % 1009) / 4.0 + (i == bump ? 1 : 0);
    assert_int_equal(skpi_mset_add(m, g, v, "topic", "orders", "partition", part), SKPI_OK);
  }
  assert_int_equal(skpi_mset_add(m, c, 3), SKPI_OK);
  return m;
}

/* Joins an assembled body into a string (caller frees). */
static char *assembled(skpi_rendered *const *r, size_t n, enum skpi_format fmt, int gz,
                       size_t *len) {
  skpi_expo_body *b;
  assert_int_equal(skpi_expo_assemble(r, n, fmt, gz, &b), SKPI_OK);
  size_t nparts, total;
  const skpi_expo_part *parts = skpi_expo_body_parts(b, &nparts, &total);
  skpi_buf out;
  skpi_buf_init(&out, 1 << 26);
  assert_int_equal(skpi_expo_join(parts, nparts, &out), SKPI_OK);
  assert_int_equal(out.len, total);
  skpi_expo_body_free(b);
  return skpi_buf_steal(&out, len);
}

/* Inflates a whole gzip member into a string (caller frees). */
static char *gunzip(const char *gz, size_t glen, size_t *len) {
  size_t cap = 1 << 26;
  char *plain = malloc(cap);
  assert_non_null(plain);
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = (Bytef *)(uintptr_t)gz;
  zs.avail_in = (uInt)glen;
  zs.next_out = (Bytef *)plain;
  zs.avail_out = (uInt)cap;
  assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
  assert_int_equal(zs.avail_in, 0);
  *len = zs.total_out;
  inflateEnd(&zs);
  return plain;
}

static void unchanged_blocks_are_shared(void **state) {
  size_t n = 5 * SKPI_EXPO_BLOCK + 17;
  skpi_mset *a = partitions(n, 0, SIZE_MAX), *same = partitions(n, 0, SIZE_MAX);
  skpi_mset *one = partitions(n, 0, 2 * SKPI_EXPO_BLOCK + 5);
  skpi_rendered *ra, *rsame, *rone;
  assert_int_equal(skpi_rendered_new(a, NULL, &ra), SKPI_OK);
  assert_int_equal(skpi_rendered_fresh_bytes(ra), skpi_rendered_bytes(ra));
  assert_true(skpi_rendered_bytes(ra) > 5 * SKPI_EXPO_BLOCK * 30);
  /* Equal samples in another set: nothing is rendered again. */
  assert_int_equal(skpi_rendered_new(same, ra, &rsame), SKPI_OK);
  assert_int_equal(skpi_rendered_fresh_bytes(rsame), 0);
  assert_int_equal(skpi_rendered_bytes(rsame), skpi_rendered_bytes(ra));
  /* One value changed: only its block (about a sixth of the text). */
  assert_int_equal(skpi_rendered_new(one, ra, &rone), SKPI_OK);
  size_t fresh = skpi_rendered_fresh_bytes(rone);
  assert_true(fresh > 0 && fresh < skpi_rendered_bytes(rone) / 4);
  /* Whatever was shared, the bodies are those of a full render. */
  const skpi_mset *sets[] = {one};
  for(int fmt = 0; fmt < 2; fmt++) {
    char *want = render(sets, 1, (enum skpi_format)fmt);
    size_t len;
    char *got = assembled(&rone, 1, (enum skpi_format)fmt, 0, &len);
    assert_int_equal(len, strlen(want));
    assert_string_equal(got, want);
    free(got);
    free(want);
  }
  /* The first rendering is untouched by the later ones. */
  const skpi_mset *first[] = {a};
  char *want = render(first, 1, SKPI_FMT_TEXT);
  size_t len;
  char *got = assembled(&ra, 1, SKPI_FMT_TEXT, 0, &len);
  assert_string_equal(got, want);
  free(got);
  free(want);
  skpi_rendered_unref(ra);
  skpi_rendered_unref(rsame);
  skpi_rendered_unref(rone);
  skpi_mset_unref(a);
  skpi_mset_unref(same);
  skpi_mset_unref(one);
}

/* A family declared with another type is rendered anew, not shared. */
static void other_type_is_not_shared(void **state) {
  skpi_mset *g = skpi_mset_new(), *u = skpi_mset_new();
  int fg = skpi_mset_family(g, "x", SKPI_MT_GAUGE, NULL);
  int fu = skpi_mset_family(u, "x", SKPI_MT_UNTYPED, NULL);
  assert_int_equal(skpi_mset_add(g, fg, 1), SKPI_OK);
  assert_int_equal(skpi_mset_add(u, fu, 1), SKPI_OK);
  skpi_rendered *rg, *ru;
  assert_int_equal(skpi_rendered_new(g, NULL, &rg), SKPI_OK);
  assert_int_equal(skpi_rendered_new(u, rg, &ru), SKPI_OK);
  assert_int_equal(skpi_rendered_fresh_bytes(ru), skpi_rendered_bytes(ru));
  size_t len;
  char *got = assembled(&ru, 1, SKPI_FMT_TEXT, 0, &len);
  assert_string_equal(got, "# TYPE x untyped\nx 1\n");
  free(got);
  skpi_rendered_unref(rg);
  skpi_rendered_unref(ru);
  skpi_mset_unref(g);
  skpi_mset_unref(u);
}

/* gzip bodies are one member that inflates to the text body, in both
 * formats, across sets, with blocks compressed for an earlier body. */
static void gzip_body_inflates_to_text(void **state) {
  size_t n = 3 * SKPI_EXPO_BLOCK + 100;
  skpi_mset *a = partitions(n, 0, SIZE_MAX), *b = partitions(n, 0.5, SIZE_MAX);
  skpi_mset *a2 = partitions(n, 0, SKPI_EXPO_BLOCK);
  skpi_rendered *r[2], *r2[2];
  assert_int_equal(skpi_rendered_new(a, NULL, &r[0]), SKPI_OK);
  assert_int_equal(skpi_rendered_new(b, NULL, &r[1]), SKPI_OK);
  for(int round = 0; round < 2; round++) {
    skpi_rendered *const *rs = round ? r2 : r;
    if(round) {
      assert_int_equal(skpi_rendered_new(a2, r[0], &r2[0]), SKPI_OK);
      r2[1] = r[1];
    }
    for(int fmt = 0; fmt < 2; fmt++) {
      size_t tlen, glen, plen;
      char *text = assembled(rs, 2, (enum skpi_format)fmt, 0, &tlen);
      char *gz = assembled(rs, 2, (enum skpi_format)fmt, 1, &glen);
      assert_true(glen < tlen / 3);
      char *plain = gunzip(gz, glen, &plen);
      assert_int_equal(plen, tlen);
      assert_memory_equal(plain, text, tlen);
      free(plain);
      free(gz);
      free(text);
    }
  }
  /* No sample at all: still a valid, empty member. */
  size_t glen, plen;
  char *gz = assembled(NULL, 0, SKPI_FMT_TEXT, 1, &glen);
  char *plain = gunzip(gz, glen, &plen);
  assert_int_equal(plen, 0);
  free(plain);
  free(gz);
  skpi_rendered_unref(r[0]);
  skpi_rendered_unref(r[1]);
  skpi_rendered_unref(r2[0]);
  skpi_mset_unref(a);
  skpi_mset_unref(b);
  skpi_mset_unref(a2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(numbers),        cmocka_unit_test(numbers_round_trip),
      cmocka_unit_test(label_escaping), cmocka_unit_test(help_escaping),
      cmocka_unit_test(grouping),       cmocka_unit_test(grouping_type_clash),
      cmocka_unit_test(histogram),      cmocka_unit_test(histogram_invalid),
      cmocka_unit_test(names),          cmocka_unit_test(validation),
      cmocka_unit_test(refcount),       cmocka_unit_test(empty_output),
      cmocka_unit_test(many_families),  cmocka_unit_test(negotiate),
      cmocka_unit_test(golden_text),    cmocka_unit_test(golden_om),
      cmocka_unit_test(big_set_cap),    cmocka_unit_test(long_labels),
      cmocka_unit_test(untyped_family), cmocka_unit_test(interned_labels),
      cmocka_unit_test(seal_keeps_the_output),
      cmocka_unit_test(unchanged_blocks_are_shared),
      cmocka_unit_test(other_type_is_not_shared),
      cmocka_unit_test(gzip_body_inflates_to_text),
  };
  return cmocka_run_group_tests_name("expo", tests, NULL, NULL);
}
