/* test_kafka_lag.c: lag arithmetic, clamping and unknowns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(plain_lag),
      cmocka_unit_test(commit_above_high_clamps),
      cmocka_unit_test(unknown_gives_no_lag),
      cmocka_unit_test(large_offsets),
      cmocka_unit_test(null_outputs_allowed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
