/* test_windows.c: the per-minute bucket ring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/windows.h"

static void rejects_bad_arguments(void **state) {
  assert_null(skpi_win_new(0, 10));
  assert_null(skpi_win_new(2, 0));
  assert_null(skpi_win_new(SKPI_WIN_MAX_SLOTS + 1, 10));
  assert_null(skpi_win_new(2, SKPI_WIN_MAX_CAPACITY + 1));
  skpi_win *w = skpi_win_new(2, 10);
  assert_non_null(w);
  assert_int_equal(skpi_win_add(w, -1, 0, 1), SKPI_EINVAL);
  assert_int_equal(skpi_win_add(w, 0.0 / 0.0, 0, 1), SKPI_EINVAL);
  assert_int_equal(skpi_win_add(w, 100, 0, 1.0 / 0.0), SKPI_EINVAL);
  assert_int_equal(skpi_win_add(w, 100, 2, 1), SKPI_EINVAL);
  assert_true(skpi_win_sum(w, 0, 1e6, 0) == 0);
  skpi_win_free(w);
}

static void sums_overlapping_minutes(void **state) {
  skpi_win *w = skpi_win_new(2, 60);
  /* minute 10 gets 5+7 in slot 0, minute 11 gets 3 in slot 0 and 2 in 1 */
  assert_int_equal(skpi_win_add(w, 600, 0, 5), SKPI_OK);
  assert_int_equal(skpi_win_add(w, 659.9, 0, 7), SKPI_OK);
  assert_int_equal(skpi_win_add(w, 660, 0, 3), SKPI_OK);
  assert_int_equal(skpi_win_add(w, 700, 1, 2), SKPI_OK);
  assert_true(skpi_win_sum(w, 600, 660, 0) == 12);
  assert_true(skpi_win_sum(w, 600, 720, 0) == 15);
  assert_true(skpi_win_sum(w, 659, 661, 0) == 15); /* both minutes overlap */
  assert_true(skpi_win_sum(w, 660, 720, 1) == 2);
  assert_true(skpi_win_sum(w, 720, 6000, 0) == 0);
  assert_true(skpi_win_sum(w, 720, 600, 0) == 0); /* inverted */
  assert_true(skpi_win_sum(w, 0, 1e9, 0) == 15);
  skpi_win_free(w);
}

static void ring_forgets_old_minutes(void **state) {
  skpi_win *w = skpi_win_new(1, 10);
  for(int m = 0; m < 25; m++)
    assert_int_equal(skpi_win_add(w, m * 60.0, 0, 1), SKPI_OK);
  /* only minutes 15..24 remain */
  assert_true(skpi_win_sum(w, 0, 25 * 60.0, 0) == 10);
  assert_true(skpi_win_sum(w, 15 * 60.0, 16 * 60.0, 0) == 1);
  assert_true(skpi_win_sum(w, 14 * 60.0, 15 * 60.0, 0) == 0);
  /* minute 14 was replaced by 24: refused, nothing changes */
  assert_int_equal(skpi_win_add(w, 14 * 60.0, 0, 100), SKPI_EINVAL);
  assert_true(skpi_win_sum(w, 0, 25 * 60.0, 0) == 10);
  /* prune at minute 30 keeps 21..24 */
  skpi_win_prune(w, 30 * 60.0);
  assert_true(skpi_win_sum(w, 0, 31 * 60.0, 0) == 4);
  skpi_win_free(w);
}

static void save_load_round_trip(void **state) {
  skpi_win *w = skpi_win_new(3, SKPI_WIN_MINUTES_31D);
  double t0 = 1700000000;
  for(int i = 0; i < 500; i++) {
    assert_int_equal(skpi_win_add(w, t0 + i * 37.0, (size_t)(i % 3), i * 0.5), SKPI_OK);
  }
  json_t *doc = skpi_win_save(w);
  assert_non_null(doc);
  /* only non-empty minutes are written */
  assert_true(json_array_size(json_object_get(doc, "buckets")) <= 500);
  skpi_win *w2 = skpi_win_new(3, SKPI_WIN_MINUTES_31D);
  char err[128];
  assert_int_equal(skpi_win_load(w2, doc, err, sizeof(err)), SKPI_OK);
  for(size_t s = 0; s < 3; s++) {
    double a = skpi_win_sum(w, t0 - 86400, t0 + 86400, s);
    assert_true(a > 0);
    assert_true(a == skpi_win_sum(w2, t0 - 86400, t0 + 86400, s));
    assert_true(skpi_win_sum(w, t0 + 600, t0 + 7200, s) ==
                skpi_win_sum(w2, t0 + 600, t0 + 7200, s));
  }
  /* a loaded ring keeps accepting new minutes */
  assert_int_equal(skpi_win_add(w2, t0 + 500 * 37.0, 0, 1), SKPI_OK);
  json_decref(doc);
  skpi_win_free(w);
  skpi_win_free(w2);
}

static void load_rejects_garbage_and_keeps_contents(void **state) {
  const char *bad[] = {
      "[]",
      "{}",
      "{\"slots\":2}",
      "{\"slots\":3,\"buckets\":[]}",
      "{\"slots\":2,\"buckets\":{}}",
      "{\"slots\":2,\"buckets\":[[1,2]]}",
      "{\"slots\":2,\"buckets\":[[1,2,3,4]]}",
      "{\"slots\":2,\"buckets\":[[-1,2,3]]}",
      "{\"slots\":2,\"buckets\":[[1.5,2,3]]}",
      "{\"slots\":2,\"buckets\":[[1,\"x\",3]]}",
      "{\"slots\":2,\"buckets\":[[1,2,3],[1,4,5]]}",
      "{\"slots\":2,\"buckets\":[5]}",
      "{\"slots\":\"2\",\"buckets\":[]}",
      "{\"slots\":2,\"buckets\":[[1,2,3],[2,2,3],[3,2,3],[4,2,3],[5,2,3]]}",
  };
  skpi_win *w = skpi_win_new(2, 4);
  assert_int_equal(skpi_win_add(w, 120, 1, 9), SKPI_OK);
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_t *doc = json_loads(bad[i], 0, NULL);
    assert_non_null(doc);
    char err[128] = "";
    assert_int_equal(skpi_win_load(w, doc, err, sizeof(err)), SKPI_ESTATE);
    assert_true(strlen(err) > 0);
    json_decref(doc);
    assert_true(skpi_win_sum(w, 0, 600, 1) == 9);
  }
  assert_int_equal(skpi_win_load(w, NULL, NULL, 0), SKPI_ESTATE);
  skpi_win_free(w);
}

static void load_drops_too_old_rows(void **state) {
  skpi_win *w = skpi_win_new(1, 4);
  json_t *doc = json_loads("{\"slots\":1,\"buckets\":[[1,1],[9,2],[10,3]]}", 0, NULL);
  assert_int_equal(skpi_win_load(w, doc, NULL, 0), SKPI_OK);
  assert_true(skpi_win_sum(w, 0, 11 * 60.0, 0) == 5);
  json_decref(doc);
  skpi_win_free(w);
}

/* A minute older than every one held, written after a prune, is summed and
 * saved like any other (the walks start at the oldest minute held), and an
 * empty window, also one emptied by a load, saves no bucket. */
static void older_minute_after_prune_is_kept(void **state) {
  skpi_win *w = skpi_win_new(1, 60);
  json_t *doc = skpi_win_save(w);
  assert_int_equal(json_array_size(json_object_get(doc, "buckets")), 0);
  json_decref(doc);
  assert_int_equal(skpi_win_add(w, 50 * 60, 0, 1), SKPI_OK);
  assert_int_equal(skpi_win_add(w, 100 * 60, 0, 2), SKPI_OK);
  skpi_win_prune(w, 100 * 60 + 30); /* keeps minutes 41..100 */
  assert_true(skpi_win_sum(w, 0, 101 * 60, 0) == 3);
  skpi_win_prune(w, 105 * 60); /* keeps 46..105: minute 50 stays */
  assert_true(skpi_win_sum(w, 0, 101 * 60, 0) == 3);
  skpi_win_prune(w, 115 * 60); /* keeps 56..115: minute 50 goes */
  assert_true(skpi_win_sum(w, 0, 101 * 60, 0) == 2);
  assert_int_equal(skpi_win_add(w, 45 * 60, 0, 4), SKPI_OK); /* within 100's ring */
  assert_true(skpi_win_sum(w, 0, 101 * 60, 0) == 6);
  assert_true(skpi_win_sum(w, 45 * 60, 46 * 60, 0) == 4);
  doc = skpi_win_save(w);
  json_t *b = json_object_get(doc, "buckets");
  assert_int_equal(json_array_size(b), 2);
  assert_int_equal(json_integer_value(json_array_get(json_array_get(b, 0), 0)), 45);
  assert_int_equal(json_integer_value(json_array_get(json_array_get(b, 1), 0)), 100);
  json_decref(doc);
  json_t *empty = json_pack("{s:i,s:[]}", "slots", 1, "buckets");
  assert_int_equal(skpi_win_load(w, empty, NULL, 0), SKPI_OK);
  json_decref(empty);
  assert_true(skpi_win_sum(w, 0, 1e6, 0) == 0);
  doc = skpi_win_save(w);
  assert_int_equal(json_array_size(json_object_get(doc, "buckets")), 0);
  json_decref(doc);
  assert_int_equal(skpi_win_add(w, 7 * 60, 0, 9), SKPI_OK);
  assert_true(skpi_win_sum(w, 0, 1e6, 0) == 9);
  skpi_win_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rejects_bad_arguments),
      cmocka_unit_test(sums_overlapping_minutes),
      cmocka_unit_test(ring_forgets_old_minutes),
      cmocka_unit_test(save_load_round_trip),
      cmocka_unit_test(load_rejects_garbage_and_keeps_contents),
      cmocka_unit_test(load_drops_too_old_rows),
      cmocka_unit_test(older_minute_after_prune_is_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
