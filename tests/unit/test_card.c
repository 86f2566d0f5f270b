/* test_card.c: the family filter and the per-family series caps. */
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/card.h"

/* A filter of one include and one exclude regex (either may be NULL). */
static void filter_init(skpi_filter *f, regex_t *inc, regex_t *exc, const char *include,
                        const char *exclude) {
  memset(f, 0, sizeof(*f));
  if(include) {
    assert_int_equal(regcomp(inc, include, REG_EXTENDED | REG_NOSUB), 0);
    f->include = inc;
    f->ninclude = 1;
  }
  if(exclude) {
    assert_int_equal(regcomp(exc, exclude, REG_EXTENDED | REG_NOSUB), 0);
    f->exclude = exc;
    f->nexclude = 1;
  }
}

static void filter_fini(skpi_filter *f) {
  if(f->ninclude)
    regfree(f->include);
  if(f->nexclude)
    regfree(f->exclude);
}

static void null_card_passes_everything(void **st) {
  (void)st;
  int h = -5;
  assert_int_equal(skpi_card_family(NULL, "kafka_brokers", &h), SKPI_OK);
  assert_true(h >= 0);
  for(int i = 0; i < 1000; i++)
    assert_true(skpi_card_admit(NULL, h));
  assert_false(skpi_card_admit(NULL, -1));
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_card_render(NULL, m, "c"), SKPI_OK);
  assert_int_equal(skpi_mset_size(m), 0);
  skpi_mset_unref(m);
}

static void allow_and_deny_lists_select_families(void **st) {
  (void)st;
  regex_t inc, exc;
  skpi_filter f;
  filter_init(&f, &inc, &exc, "^kafka_", "_oldest_offset$");
  skpi_card *c = skpi_card_new(&f, 0, NULL, 0);
  assert_non_null(c);
  int h;
  assert_int_equal(skpi_card_family(c, "kafka_topic_partition_current_offset", &h), SKPI_OK);
  assert_true(h >= 0);
  assert_true(skpi_card_admit(c, h));
  assert_int_equal(skpi_card_family(c, "kafka_topic_partition_oldest_offset", &h), SKPI_OK);
  assert_int_equal(h, -1);
  assert_false(skpi_card_admit(c, h));
  assert_int_equal(skpi_card_family(c, "streamkpi_kafka_requests", &h), SKPI_OK);
  assert_int_equal(h, -1);
  /* A refused family is not a dropped one. */
  assert_int_equal(skpi_card_dropped(c, "kafka_topic_partition_oldest_offset"), 0);
  skpi_card_free(c);
  filter_fini(&f);
}

static void caps_keep_the_first_series_and_count_the_rest(void **st) {
  (void)st;
  skpi_card_cap caps[] = {{"kafka_consumergroup_lag", 3}, {"kafka_brokers", 0}};
  skpi_card *c = skpi_card_new(NULL, 5, caps, 2);
  assert_non_null(c);
  int lag, brokers, other;
  assert_int_equal(skpi_card_family(c, "kafka_consumergroup_lag", &lag), SKPI_OK);
  assert_int_equal(skpi_card_family(c, "kafka_brokers", &brokers), SKPI_OK);
  assert_int_equal(skpi_card_family(c, "kafka_topic_partitions", &other), SKPI_OK);
  for(int cycle = 1; cycle <= 2; cycle++) {
    skpi_card_begin(c);
    int kept = 0, kept_other = 0, kept_brokers = 0;
    for(int i = 0; i < 10; i++) {
      kept += skpi_card_admit(c, lag);
      kept_other += skpi_card_admit(c, other);
      kept_brokers += skpi_card_admit(c, brokers);
    }
    assert_int_equal(kept, 3);          /* its own cap */
    assert_int_equal(kept_other, 5);    /* the default cap */
    assert_int_equal(kept_brokers, 10); /* its own 0: no cap */
    assert_int_equal(skpi_card_dropped(c, "kafka_consumergroup_lag"), 7 * (uint64_t)cycle);
    assert_int_equal(skpi_card_dropped(c, "kafka_topic_partitions"), 5 * (uint64_t)cycle);
    assert_int_equal(skpi_card_dropped(c, "kafka_brokers"), 0);
  }
  /* Looking a family up again gives the same handle and keeps its count. */
  int again;
  assert_int_equal(skpi_card_family(c, "kafka_consumergroup_lag", &again), SKPI_OK);
  assert_int_equal(again, lag);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_card_render(c, m, "prod"), SKPI_OK);
  /* Families with a cap: the lag and the default-capped one. */
  assert_int_equal(skpi_mset_size(m), 2);
  skpi_buf out;
  skpi_buf_init(&out, 1 << 20);
  const skpi_mset *sets[] = {m};
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &out), SKPI_OK);
  const char *text = out.data;
  assert_non_null(strstr(text, "# TYPE streamkpi_series_dropped_total counter\n"));
  assert_non_null(strstr(
      text,
      "streamkpi_series_dropped_total{cluster=\"prod\",family=\"kafka_consumergroup_lag\"} 14\n"));
  assert_non_null(strstr(
      text,
      "streamkpi_series_dropped_total{cluster=\"prod\",family=\"kafka_topic_partitions\"} 10\n"));
  assert_null(strstr(text, "family=\"kafka_brokers\""));
  skpi_buf_free(&out);
  skpi_mset_unref(m);
  skpi_card_free(c);
}

static void bad_arguments_are_refused(void **st) {
  (void)st;
  skpi_card_cap neg[] = {{"x", -1}};
  skpi_card_cap noname[] = {{NULL, 3}};
  assert_null(skpi_card_new(NULL, -1, NULL, 0));
  assert_null(skpi_card_new(NULL, 0, neg, 1));
  assert_null(skpi_card_new(NULL, 0, noname, 1));
  assert_null(skpi_card_new(NULL, 0, NULL, 2));
  skpi_card *c = skpi_card_new(NULL, 0, NULL, 0);
  int h = 0;
  assert_int_equal(skpi_card_family(c, NULL, &h), SKPI_EINVAL);
  assert_int_equal(h, -1);
  assert_false(skpi_card_admit(c, 99));
  skpi_card_free(c);
  skpi_card_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(null_card_passes_everything),
      cmocka_unit_test(allow_and_deny_lists_select_families),
      cmocka_unit_test(caps_keep_the_first_series_and_count_the_rest),
      cmocka_unit_test(bad_arguments_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
