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

static void per_bucket_counts_round_trip(void **state) {
  const double b[] = {1, 10, 100};
  skpi_histogram h, back;
  assert_int_equal(skpi_hist_init(&h, b, 3), SKPI_OK);
  const double vals[] = {0.5, 1, 2, 50, 50, 1000, 5000};
  for(size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
    skpi_hist_observe(&h, vals[i]);
  uint64_t counts[4];
  for(size_t i = 0; i < 4; i++)
    counts[i] = skpi_hist_bucket(&h, i);
  assert_int_equal(counts[0], 2); /* 0.5, 1 */
  assert_int_equal(counts[1], 1); /* 2 */
  assert_int_equal(counts[2], 2); /* 50, 50 */
  assert_int_equal(counts[3], 2); /* +Inf: 1000, 5000 */
  assert_int_equal(skpi_hist_bucket(&h, 4), 0);
  assert_int_equal(skpi_hist_init(&back, b, 3), SKPI_OK);
  assert_int_equal(skpi_hist_restore(&back, counts, 4, h.sum), SKPI_OK);
  assert_memory_equal(&back, &h, sizeof(h));
}

static void bad_restore_leaves_histogram_alone(void **state) {
  const double b[] = {1, 10};
  skpi_histogram h;
  assert_int_equal(skpi_hist_init(&h, b, 2), SKPI_OK);
  skpi_hist_observe(&h, 5);
  skpi_histogram before = h;
  const uint64_t three[] = {1, 2, 3};
  const uint64_t huge[] = {UINT64_MAX, 1, 0};
  assert_int_equal(skpi_hist_restore(&h, three, 2, 1), SKPI_EINVAL);
  assert_int_equal(skpi_hist_restore(&h, three, 3, NAN), SKPI_EINVAL);
  assert_int_equal(skpi_hist_restore(&h, huge, 3, 1), SKPI_EINVAL);
  assert_int_equal(skpi_hist_restore(&h, NULL, 3, 1), SKPI_EINVAL);
  assert_memory_equal(&before, &h, sizeof(h));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buckets_are_cumulative),
      cmocka_unit_test(nan_ignored_inf_counted),
      cmocka_unit_test(bad_bounds_rejected),
      cmocka_unit_test(view_points_into_histogram),
      cmocka_unit_test(per_bucket_counts_round_trip),
      cmocka_unit_test(bad_restore_leaves_histogram_alone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
