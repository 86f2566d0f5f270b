/* test_kafka_lag.c: lag arithmetic, clamping and unknowns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/kafka_lag.h"

static void plain_lag(void **state) {
  int64_t lag = -7;
  int clamped = 5;
  assert_int_equal(skpi_lag_compute(100, 40, &lag, &clamped), 1);
  assert_int_equal(lag, 60);
  assert_int_equal(clamped, 0);
  assert_int_equal(skpi_lag_compute(100, 100, &lag, &clamped), 1);
  assert_int_equal(lag, 0);
  assert_int_equal(clamped, 0);
  assert_int_equal(skpi_lag_compute(0, 0, &lag, &clamped), 1);
  assert_int_equal(lag, 0);
}

static void commit_above_high_clamps(void **state) {
  int64_t lag = -7;
  int clamped = 0;
  assert_int_equal(skpi_lag_compute(100, 150, &lag, &clamped), 1);
  assert_int_equal(lag, 0);
  assert_int_equal(clamped, 1);
}

static void unknown_gives_no_lag(void **state) {
  int64_t lag = 1234;
  int clamped = 9;
  assert_int_equal(skpi_lag_compute(-1, 10, &lag, &clamped), 0);
  assert_int_equal(lag, 1234); /* untouched */
  assert_int_equal(clamped, 0);
  assert_int_equal(skpi_lag_compute(10, -1, &lag, &clamped), 0);
  assert_int_equal(skpi_lag_compute(-1, -1, &lag, &clamped), 0);
  /* Other negative sentinels (e.g. -1001 for "invalid") are unknown too. */
  assert_int_equal(skpi_lag_compute(10, -1001, &lag, &clamped), 0);
  assert_int_equal(lag, 1234);
}

static void large_offsets(void **state) {
  int64_t lag = 0;
  int clamped = 0;
  assert_int_equal(skpi_lag_compute(INT64_MAX, 0, &lag, &clamped), 1);
  assert_true(lag == INT64_MAX);
  assert_int_equal(skpi_lag_compute(0, INT64_MAX, &lag, &clamped), 1);
  assert_int_equal(lag, 0);
  assert_int_equal(clamped, 1);
}

static void null_outputs_allowed(void **state) {
  assert_int_equal(skpi_lag_compute(5, 9, NULL, NULL), 1);
  assert_int_equal(skpi_lag_compute(-1, 9, NULL, NULL), 0);
}

/* A sample where group g committed c on orders/0 (high 100) and 5 on
 * orders/1 (high 10). */
static skpi_ksample *clamp_sample(int64_t c, int64_t high0) {
  skpi_ksample *s = ks_new("c1", 0);
  int t = ks_topic(s, "orders", 2);
  ks_wm(s, t, 0, 0, high0);
  ks_wm(s, t, 1, 0, 10);
  int i = ks_topic(s, "__consumer_offsets", 1);
  ks_wm(s, i, 0, 0, 0);
  int g = ks_group(s, "app", "Stable", 1);
  ks_commit(s, g, t, 0, c);
  ks_commit(s, g, t, 1, 5);
  ks_commit(s, g, i, 0, 9); /* internal: never counted */
  int h = ks_group(s, "other", "Stable", 1);
  ks_commit(s, h, t, 0, c);
  return s;
}

/* A commit above the watermark counts once per (group, topic, partition,
 * offset), however many cycles it stays there. */
static void clamped_commit_counts_once(void **state) {
  skpi_lag_clamps *c = skpi_lag_clamps_new();
  assert_non_null(c);
  skpi_ksample *s = clamp_sample(150, 100);
  assert_int_equal(skpi_lag_clamps_update(c, s), 2); /* two groups */
  for(int i = 0; i < 5; i++)
    assert_int_equal(skpi_lag_clamps_update(c, s), 0);
  ks_free(s);
  /* A cycle without the watermark does not make it new again. */
  s = clamp_sample(150, -1);
  assert_int_equal(skpi_lag_clamps_update(c, s), 0);
  ks_free(s);
  s = clamp_sample(150, 100);
  assert_int_equal(skpi_lag_clamps_update(c, s), 0);
  ks_free(s);
  /* The commit moves to another offset still above: a new clamped commit. */
  s = clamp_sample(160, 100);
  assert_int_equal(skpi_lag_clamps_update(c, s), 2);
  ks_free(s);
  /* Caught up, then back at 160 above a truncated log: counted again only
   * because the commit left that offset in between. */
  s = clamp_sample(90, 100);
  assert_int_equal(skpi_lag_clamps_update(c, s), 0);
  ks_free(s);
  s = clamp_sample(160, 100);
  assert_int_equal(skpi_lag_clamps_update(c, s), 2);
  ks_free(s);
  skpi_lag_clamps_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(clamped_commit_counts_once),
      cmocka_unit_test(plain_lag),
      cmocka_unit_test(commit_above_high_clamps),
      cmocka_unit_test(unknown_gives_no_lag),
      cmocka_unit_test(large_offsets),
      cmocka_unit_test(null_outputs_allowed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
