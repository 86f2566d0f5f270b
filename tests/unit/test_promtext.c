/* test_promtext.c: the bounded Prometheus text parser. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/promtext.h"

/* Collects samples as "name{k=v,...} value [ts]" lines for comparison. */
typedef struct collect {
  char out[4096];
  size_t len;
  size_t n;
  double last_value;
} collect;

static skpi_err collect_cb(const skpi_promtext_sample *s, void *ud) {
  collect *c = ud;
  c->n++;
  c->last_value = s->value;
  if(c->len > sizeof(c->out) - 512)
    return SKPI_OK; /* fuzz inputs: count, stop recording */
  int w = snprintf(c->out + c->len, sizeof(c->out) - c->len, "%s{", s->name);
  c->len += (size_t)w;
  for(size_t i = 0; i < s->nlabels; i++) {
    w = snprintf(c->out + c->len, sizeof(c->out) - c->len, "%s%s=%s", i ? "," : "",
                 s->label_names[i], s->label_values[i]);
    c->len += (size_t)w;
  }
  if(s->has_timestamp)
    w = snprintf(c->out + c->len, sizeof(c->out) - c->len, "} %g %lld\n", s->value,
                 (long long)s->timestamp_ms);
  else
    w = snprintf(c->out + c->len, sizeof(c->out) - c->len, "} %g\n", s->value);
  c->len += (size_t)w;
  return SKPI_OK;
}

static skpi_err parse_str(const char *text, const char *family, collect *c, char *err,
                          size_t errlen) {
  memset(c, 0, sizeof(*c));
  return skpi_promtext_parse(text, strlen(text), NULL, family, collect_cb, c, err, errlen);
}

static void valid_inputs(void **state) {
  static const struct {
    const char *in;
    const char *want;
  } cases[] = {
      {"a 1\n", "a{} 1\n"},
      {"a 1", "a{} 1\n"}, /* no final newline */
      {"a{} 2\n", "a{} 2\n"},
      {"a{x=\"1\",} 3\n", "a{x=1} 3\n"}, /* trailing comma */
      {"a{ x = \"1\" , y=\"2\" } 4 \n", "a{x=1,y=2} 4\n"},
      {"a{x=\"q\\\"b\\\\s\\nn\"} 5\n", "a{x=q\"b\\s\nn} 5\n"},
      {"a 1.5e3\n", "a{} 1500\n"},
      {"a -2E-2\n", "a{} -0.02\n"},
      {"a +Inf\n", "a{} inf\n"},
      {"a -Inf\n", "a{} -inf\n"},
      {"a 7 1700000000000\n", "a{} 7 1700000000000\n"},
      {"a 7 -5\n", "a{} 7 -5\n"},
      {"a 1\r\nb 2\r\n", "a{} 1\nb{} 2\n"}, /* CRLF */
      {"  \t a 1  \t\n\n\n", "a{} 1\n"},
      {"# HELP a some help with \\n escapes { }\n# TYPE a counter\na 1\n", "a{} 1\n"},
      {"# just a comment\n#\n# TYPE x histogram\n", ""},
      {"ns:sub_name_total{le=\"+Inf\"} 0\n", "ns:sub_name_total{le=+Inf} 0\n"},
      {"a{x=\"\"} 0\n", "a{x=} 0\n"},
      {"a{x=\"}{,=\"} 1\n", "a{x=}{,=} 1\n"},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    collect c;
    char err[128];
    skpi_err rc = parse_str(cases[i].in, NULL, &c, err, sizeof(err));
    if(rc != SKPI_OK)
      fail_msg("case %zu: %s", i, err);
    assert_string_equal(c.out, cases[i].want);
  }
}

static void nan_value(void **state) {
  collect c;
  assert_int_equal(parse_str("a NaN\n", NULL, &c, NULL, 0), SKPI_OK);
  assert_int_equal(c.n, 1);
  assert_true(isnan(c.last_value));
}

static void garbage_is_einval_with_line(void **state) {
  static const char *const cases[] = {
      "a\n",                    /* no value */
      "a b\n",                  /* value not a number */
      "1a 1\n",                 /* bad name */
      "a-b 1\n",                /* bad char in name */
      "a{x=1} 1\n",             /* unquoted value */
      "a{x=\"1\" 1\n",          /* unclosed set */
      "a{x=\"1} 1\n",           /* unclosed value */
      "a{x=\"\\t\"} 1\n",       /* unknown escape */
      "a{x=\"1\",x=\"2\"} 1\n", /* duplicate label */
      "a{1x=\"1\"} 1\n",        /* bad label name */
      "a{x:y=\"1\"} 1\n",       /* colon not allowed in label names */
      "a{,} 1\n",               /* lone comma */
      "a 0x10\n",               /* hex float */
      "a infinity\n",           /* only the Prometheus spellings */
      "a 1 2 3\n",              /* trailing token */
      "a 1 1.5\n",              /* float timestamp */
      "a 1 99999999999999999999999\n", /* timestamp out of range */
      "# TYPE a bogus\n",
      "# TYPE a\n",
      "# TYPE 1a counter\n",
      "# TYPE a counter extra\n",
      "# HELP\n",
      "{x=\"1\"} 1\n",
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char text[256];
    snprintf(text, sizeof(text), "ok 1\n# comment\n%s", cases[i]);
    collect c;
    char err[128];
    skpi_err rc = parse_str(text, NULL, &c, err, sizeof(err));
    if(rc != SKPI_EINVAL)
      fail_msg("case %zu (%s): rc %d", i, cases[i], rc);
    if(strncmp(err, "line 3: ", 8) != 0)
      fail_msg("case %zu: message '%s'", i, err);
  }
}

static void nul_byte_rejected(void **state) {
  const char text[] = "a 1\nb\0 2\n";
  collect c;
  memset(&c, 0, sizeof(c));
  char err[64];
  assert_int_equal(
      skpi_promtext_parse(text, sizeof(text) - 1, NULL, NULL, collect_cb, &c, err, sizeof(err)),
      SKPI_EINVAL);
  assert_string_equal(err, "line 2: NUL byte in input");
  /* The length bounds the input: bytes after it are never read. */
  assert_int_equal(skpi_promtext_parse(text, 4, NULL, NULL, collect_cb, &c, NULL, 0), SKPI_OK);
}

static void limits_are_etoobig(void **state) {
  skpi_promtext_limits lim = {.max_line = 32, .max_samples = 2, .max_labels = 2, .max_name = 8,
                              .max_value = 4};
  static const char *const cases[] = {
      "a 1\nb 2\nc 3\n",                     /* samples */
      "a{x=\"1\",y=\"2\",z=\"3\"} 1\n",      /* labels */
      "abcdefghi 1\n",                       /* name */
      "a{abcdefghi=\"1\"} 1\n",              /* label name */
      "a{x=\"12345\"} 1\n",                  /* value */
      "a                                  1\n", /* line */
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char err[128];
    skpi_err rc = skpi_promtext_parse(cases[i], strlen(cases[i]), &lim, NULL, NULL, NULL, err,
                                      sizeof(err));
    if(rc != SKPI_ETOOBIG)
      fail_msg("case %zu: rc %d (%s)", i, rc, err);
  }
  /* Exactly at the limits is fine. */
  const char *ok = "a{x=\"1234\",y=\"\"} 1\nabcdefgh 2\n";
  assert_int_equal(skpi_promtext_parse(ok, strlen(ok), &lim, NULL, NULL, NULL, NULL, 0), SKPI_OK);
}

static void family_filter(void **state) {
  const char *text = "# TYPE events_processed_total counter\n"
                     "events_processed_total{status=\"success\"} 10\n"
                     "events_processed_total_other 99\n"
                     "events_processed 98\n"
                     "other_total 1\n"
                     "events_processed_total{status=\"error\"} 2\n";
  collect c;
  assert_int_equal(parse_str(text, "events_processed_total", &c, NULL, 0), SKPI_OK);
  assert_string_equal(c.out, "events_processed_total{status=success} 10\n"
                             "events_processed_total{status=error} 2\n");
  /* Family name without suffix matches _total/_bucket/... samples. */
  const char *hist = "lat_bucket{le=\"1\"} 1\nlat_sum 2\nlat_count 3\nlatx 4\nlat 5\n";
  assert_int_equal(parse_str(hist, "lat", &c, NULL, 0), SKPI_OK);
  assert_int_equal(c.n, 4);
  /* Garbage outside the family still fails the parse. */
  assert_int_equal(parse_str("events_processed_total 1\nzz{ 1\n", "events_processed_total", &c,
                             NULL, 0),
                   SKPI_EINVAL);
}

static skpi_err stop_cb(const skpi_promtext_sample *s, void *ud) {
  (*(int *)ud)++;
  return SKPI_ENOENT;
}

static void callback_stops(void **state) {
  int calls = 0;
  const char *text = "a 1\nb 2\n";
  assert_int_equal(skpi_promtext_parse(text, strlen(text), NULL, NULL, stop_cb, &calls, NULL, 0),
                   SKPI_ENOENT);
  assert_int_equal(calls, 1);
}

/* Random bytes and mutated valid input, a bounded number of times: the
 * parser must return some code without crashing (ASan/UBSan watch). */
static void fuzz_never_crashes(void **state) {
  static const char seed[] = "# HELP a x\n# TYPE a counter\na{b=\"c\\\"d\",e=\"f\"} 1.5e3 123\n"
                             "x +Inf\ny{} NaN\n";
  unsigned int r = 12345;
  char data[512];
  size_t ok = 0, bad = 0;
  skpi_promtext_limits lim = {.max_line = 64, .max_labels = 4, .max_name = 16, .max_value = 16};
  for(int it = 0; it < 20000; it++) {
    size_t n;
    if(it % 2 == 0) {
      n = (size_t)(rand_r(&r) % sizeof(data));
      for(size_t i = 0; i < n; i++)
        data[i] = (char)(rand_r(&r) & 0xff);
    } else {
      n = sizeof(seed) - 1;
      memcpy(data, seed, n);
      int flips = 1 + rand_r(&r) % 4;
      for(int f = 0; f < flips; f++)
        data[rand_r(&r) % n] = "{}\"\\=, \n#\r\0aZ9.+-e"[rand_r(&r) % 19];
    }
    collect c;
    memset(&c, 0, sizeof(c));
    char err[128];
    skpi_err rc = skpi_promtext_parse(data, n, it % 3 ? NULL : &lim, NULL, collect_cb, &c, err,
                                      sizeof(err));
    if(rc == SKPI_OK)
      ok++;
    else {
      assert_true(rc == SKPI_EINVAL || rc == SKPI_ETOOBIG);
      assert_true(strncmp(err, "line ", 5) == 0);
      bad++;
    }
  }
  /* Both outcomes must occur, or the generator is not exercising anything. */
  assert_true(ok > 0);
  assert_true(bad > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_inputs),       cmocka_unit_test(nan_value),
      cmocka_unit_test(garbage_is_einval_with_line), cmocka_unit_test(nul_byte_rejected),
      cmocka_unit_test(limits_are_etoobig), cmocka_unit_test(family_filter),
      cmocka_unit_test(callback_stops),     cmocka_unit_test(fuzz_never_crashes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
