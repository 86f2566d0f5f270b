/* test_hist.c: the histogram accumulator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>

#include <cmocka.h>

#include "streamkpi/hist.h"

static const double B[] = {0.1, 1, 10};

static void buckets_are_cumulative(void **state) {
  skpi_histogram h;
  assert_int_equal(skpi_hist_init(&h, B, 3), SKPI_OK);
  skpi_hist_observe(&h, 0.05);
  skpi_hist_observe(&h, 0.1); /* le is inclusive */
  skpi_hist_observe(&h, 0.5);
  skpi_hist_observe(&h, 20);
  assert_int_equal(h.cumulative[0], 2);
  assert_int_equal(h.cumulative[1], 3);
  assert_int_equal(h.cumulative[2], 3);
  assert_int_equal(h.count, 4);
  assert_true(fabs(h.sum - 20.65) < 1e-9);
}

static void nan_ignored_inf_counted(void **state) {
  skpi_histogram h;
  assert_int_equal(skpi_hist_init(&h, B, 3), SKPI_OK);
  skpi_hist_observe(&h, NAN);
  assert_int_equal(h.count, 0);
  skpi_hist_observe(&h, INFINITY);
  assert_int_equal(h.count, 1);
  assert_int_equal(h.cumulative[2], 0);
  skpi_hist_observe(&h, -INFINITY);
  assert_int_equal(h.cumulative[0], 1);
}

static void bad_bounds_rejected(void **state) {
  skpi_histogram h;
  const double unsorted[] = {1, 0.5};
  const double dup[] = {1, 1};
  const double inf[] = {1, INFINITY};
  const double nan[] = {NAN};
  double many[SKPI_HIST_MAX_BOUNDS + 1];
  for(size_t i = 0; i < SKPI_HIST_MAX_BOUNDS + 1; i++)
    many[i] = (double)i;
  assert_int_equal(skpi_hist_init(&h, unsorted, 2), SKPI_EINVAL);
  assert_int_equal(h.nbounds, 0);
  assert_int_equal(skpi_hist_init(&h, dup, 2), SKPI_EINVAL);
  assert_int_equal(skpi_hist_init(&h, inf, 2), SKPI_EINVAL);
  assert_int_equal(skpi_hist_init(&h, nan, 1), SKPI_EINVAL);
  assert_int_equal(skpi_hist_init(&h, many, SKPI_HIST_MAX_BOUNDS + 1), SKPI_EINVAL);
  assert_int_equal(skpi_hist_init(&h, NULL, 1), SKPI_EINVAL);
  assert_int_equal(skpi_hist_init(&h, many, SKPI_HIST_MAX_BOUNDS), SKPI_OK);
  assert_int_equal(skpi_hist_init(&h, NULL, 0), SKPI_OK);
  skpi_hist_observe(&h, 3);
  assert_int_equal(h.count, 1);
}

static void view_points_into_histogram(void **state) {
  skpi_histogram h;
  skpi_hist v;
  assert_int_equal(skpi_hist_init(&h, B, 3), SKPI_OK);
  skpi_hist_observe(&h, 2);
  skpi_hist_view(&h, &v);
  assert_int_equal(v.nbounds, 3);
  assert_ptr_equal(v.bounds, h.bounds);
  assert_ptr_equal(v.cumulative, h.cumulative);
  assert_int_equal(v.count, 1);
  assert_int_equal(v.cumulative[2], 1);
  assert_int_equal(v.cumulative[1], 0);
  assert_true(v.sum == 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buckets_are_cumulative),
      cmocka_unit_test(nan_ignored_inf_counted),
      cmocka_unit_test(bad_bounds_rejected),
      cmocka_unit_test(view_points_into_histogram),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
