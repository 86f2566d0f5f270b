/* test_availability.c: observed time, downtime, maintenance and rolling
 * ratios against a scripted timeline with known answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/availability.h"

/* A minute boundary, so the windows' minute resolution is exact. */
#define T0 1699999980.0

static const skpi_maint maint[] = {
    {T0 + 2470, T0 + 3070, "prod"},
    {T0, T0 + 7200, "other"},
};

/* 2 h: 1800 s healthy, 7 unhealthy intervals of 10 s, 600 s not observed,
 * 600 s of maintenance (unhealthy, which must not count), then healthy to
 * T0 + 7200.  All in 10 s intervals. */
static void play_timeline(skpi_avail *a, double from, double to) {
  for(double t = T0; t < T0 + 7200; t += 10) {
    if(t < from || t >= to)
      continue;
    if(t >= T0 + 1870 && t < T0 + 2470)
      continue; /* not observed */
    int healthy = !(t >= T0 + 1800 && t < T0 + 1870) && !(t >= T0 + 2470 && t < T0 + 3070);
    int in_m = skpi_maint_active(maint, 2, "prod", t);
    assert_int_equal(skpi_avail_observe(a, t, t + 10, healthy, in_m), SKPI_OK);
  }
}

static void check_timeline_truths(const skpi_avail *a) {
  skpi_avail_totals tot;
  skpi_avail_totals_get(a, &tot);
  assert_true(tot.observed_s == 6000);
  assert_true(tot.down_s == 70);
  assert_true(tot.maintenance_s == 600);
  assert_true(tot.last_end == T0 + 7200);
  assert_int_equal(tot.healthy, 1);
  double obs, down;
  /* last hour: all healthy and fully observed */
  skpi_avail_window(a, T0 + 7200, 3600, &obs, &down);
  assert_true(obs == 3600);
  assert_true(down == 0);
  /* last day: everything */
  skpi_avail_window(a, T0 + 7200, 86400, &obs, &down);
  assert_true(obs == 6000);
  assert_true(down == 70);
  /* an hour that holds the outage, the gap and the maintenance */
  skpi_avail_window(a, T0 + 3600, 3600, &obs, &down);
  assert_true(obs == 1800 + 70 + 530);
  assert_true(down == 70);
}

static void timeline_known_truths(void **state) {
  skpi_avail *a = skpi_avail_new("prod");
  play_timeline(a, 0, 1e12);
  check_timeline_truths(a);
  skpi_avail_free(a);
}

static void maintenance_helper(void **state) {
  assert_true(skpi_maint_active(maint, 2, "prod", T0 + 2470));
  assert_false(skpi_maint_active(maint, 2, "prod", T0 + 3070));
  assert_false(skpi_maint_active(maint, 2, "prod", T0 + 100));
  assert_true(skpi_maint_active(maint, 2, "other", T0 + 100));
  assert_false(skpi_maint_active(maint, 2, NULL, T0 + 100));
  const skpi_maint all = {100, 200, NULL};
  assert_true(skpi_maint_active(&all, 1, "any", 150));
  assert_true(skpi_maint_active(&all, 1, NULL, 150));
  assert_false(skpi_maint_active(NULL, 0, "any", 150));
}

static void overlaps_are_clipped(void **state) {
  skpi_avail *a = skpi_avail_new("c");
  assert_int_equal(skpi_avail_observe(a, T0, T0 + 30, 1, 0), SKPI_OK);
  /* overlapping the previous one: only [T0+30, T0+40) counts */
  assert_int_equal(skpi_avail_observe(a, T0 + 20, T0 + 40, 0, 0), SKPI_OK);
  /* entirely in the past: nothing */
  assert_int_equal(skpi_avail_observe(a, T0, T0 + 10, 0, 0), SKPI_OK);
  skpi_avail_totals tot;
  skpi_avail_totals_get(a, &tot);
  assert_true(tot.observed_s == 40);
  assert_true(tot.down_s == 10);
  assert_int_equal(tot.healthy, 0);
  skpi_avail_free(a);
}

static void bad_intervals_change_nothing(void **state) {
  skpi_avail *a = skpi_avail_new("c");
  assert_null(skpi_avail_new(""));
  assert_null(skpi_avail_new(NULL));
  assert_int_equal(skpi_avail_observe(a, T0 + 10, T0, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_avail_observe(a, T0, T0, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_avail_observe(a, -5, 5, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_avail_observe(a, 0.0 / 0.0, 5, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_avail_observe(a, T0, 1.0 / 0.0, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_avail_observe(a, T0, T0 + SKPI_AVAIL_MAX_INTERVAL + 1, 1, 0), SKPI_EINVAL);
  skpi_avail_totals tot;
  skpi_avail_totals_get(a, &tot);
  assert_true(tot.observed_s == 0);
  assert_true(tot.last_end == 0);
  assert_int_equal(tot.healthy, -1);
  skpi_avail_free(a);
}

static void intervals_spread_over_minutes(void **state) {
  skpi_avail *a = skpi_avail_new("c");
  /* 50 s down across a minute boundary: 20 s in one minute, 30 s in next */
  assert_int_equal(skpi_avail_observe(a, T0 + 40, T0 + 90, 0, 0), SKPI_OK);
  double obs, down;
  skpi_avail_window(a, T0 + 60, 60, &obs, &down);
  assert_true(obs == 20);
  skpi_avail_window(a, T0 + 120, 60, &obs, &down);
  assert_true(down == 30);
  skpi_avail_free(a);
}

/* A restart in the middle: the second engine is loaded from the first's
 * saved state, the exporter was down for the gap, and the totals come out as
 * if one process had observed what was observed. */
static void restart_continues_without_double_counting(void **state) {
  skpi_avail *a = skpi_avail_new("prod");
  play_timeline(a, 0, T0 + 1880); /* stops inside the gap */
  json_t *doc = skpi_avail_save(a);
  assert_non_null(doc);
  char *text = json_dumps(doc, 0);
  json_decref(doc);
  skpi_avail_free(a);

  skpi_avail *b = skpi_avail_new("prod");
  doc = json_loads(text, 0, NULL);
  free(text);
  char err[128];
  assert_int_equal(skpi_avail_load(b, doc, err, sizeof(err)), SKPI_OK);
  json_decref(doc);
  /* a replay of already-counted time is ignored */
  play_timeline(b, T0 + 1000, T0 + 1880);
  play_timeline(b, T0 + 1880, 1e12);
  check_timeline_truths(b);
  skpi_avail_free(b);
}

static void load_rejects_foreign_and_garbage(void **state) {
  skpi_avail *a = skpi_avail_new("prod");
  assert_int_equal(skpi_avail_observe(a, T0, T0 + 10, 0, 0), SKPI_OK);
  json_t *good = skpi_avail_save(a);
  const char *bad[] = {
      "[]",
      "{\"cluster\":\"prod\"}",
      "{\"cluster\":\"other\",\"observed\":1,\"down\":0,\"maintenance\":0,\"last_end\":1,"
      "\"healthy\":1,\"windows\":{\"slots\":2,\"buckets\":[]}}",
      "{\"cluster\":\"prod\",\"observed\":-1,\"down\":0,\"maintenance\":0,\"last_end\":1,"
      "\"healthy\":1,\"windows\":{\"slots\":2,\"buckets\":[]}}",
      "{\"cluster\":\"prod\",\"observed\":1,\"down\":5,\"maintenance\":0,\"last_end\":1,"
      "\"healthy\":1,\"windows\":{\"slots\":2,\"buckets\":[]}}",
      "{\"cluster\":\"prod\",\"observed\":1,\"down\":0,\"maintenance\":0,\"last_end\":1,"
      "\"healthy\":7,\"windows\":{\"slots\":2,\"buckets\":[]}}",
      "{\"cluster\":\"prod\",\"observed\":1,\"down\":0,\"maintenance\":0,\"last_end\":1,"
      "\"healthy\":1,\"windows\":{\"slots\":3,\"buckets\":[]}}",
      "{\"cluster\":\"prod\",\"observed\":\"1\",\"down\":0,\"maintenance\":0,\"last_end\":1,"
      "\"healthy\":1,\"windows\":{\"slots\":2,\"buckets\":[]}}",
  };
  skpi_avail *b = skpi_avail_new("prod");
  assert_int_equal(skpi_avail_load(b, good, NULL, 0), SKPI_OK);
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_t *doc = json_loads(bad[i], 0, NULL);
    assert_non_null(doc);
    char err[128] = "";
    assert_int_equal(skpi_avail_load(b, doc, err, sizeof(err)), SKPI_ESTATE);
    assert_true(err[0] != '\0');
    json_decref(doc);
    skpi_avail_totals tot;
    skpi_avail_totals_get(b, &tot);
    assert_true(tot.observed_s == 10);
    assert_true(tot.down_s == 10);
    double obs, down;
    skpi_avail_window(b, T0 + 60, 3600, &obs, &down);
    assert_true(down == 10);
  }
  json_decref(good);
  skpi_avail_free(a);
  skpi_avail_free(b);
}

static char *render(const skpi_avail *a, double now) {
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_avail_render(a, now, m), SKPI_OK);
  skpi_buf b;
  skpi_buf_init(&b, 1 << 20);
  const skpi_mset *sets[] = {m};
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &b), SKPI_OK);
  skpi_mset_unref(m);
  return skpi_buf_steal(&b, NULL);
}

static void metrics_and_save_load_identical(void **state) {
  skpi_avail *a = skpi_avail_new("prod");
  char *empty = render(a, T0);
  /* nothing observed: no ratio, no healthy gauge, coverage 0 */
  assert_null(strstr(empty, "streamkpi_availability_ratio{"));
  assert_null(strstr(empty, "streamkpi_healthy{"));
  assert_non_null(strstr(empty, "streamkpi_observed_ratio{cluster=\"prod\",window=\"1h\"} 0\n"));
  free(empty);
  play_timeline(a, 0, 1e12);
  char *m1 = render(a, T0 + 7200);
  assert_non_null(strstr(m1, "streamkpi_observed_seconds_total{cluster=\"prod\"} 6000\n"));
  assert_non_null(strstr(m1, "streamkpi_downtime_seconds_total{cluster=\"prod\"} 70\n"));
  assert_non_null(strstr(m1, "streamkpi_maintenance_seconds_total{cluster=\"prod\"} 600\n"));
  assert_non_null(strstr(m1, "streamkpi_healthy{cluster=\"prod\"} 1\n"));
  assert_non_null(strstr(m1, "streamkpi_availability_ratio{cluster=\"prod\",window=\"1h\"} 1\n"));
  const char *key = "streamkpi_availability_ratio{cluster=\"prod\",window=\"1d\"} ";
  const char *at = strstr(m1, key);
  assert_non_null(at);
  char *end = NULL;
  double v = strtod(at + strlen(key), &end);
  assert_true(*end == '\n');
  assert_true(v == 1.0 - 70.0 / 6000.0); /* the renderer's numbers read back exactly */
  assert_non_null(strstr(m1, "streamkpi_observed_ratio{cluster=\"prod\",window=\"1h\"} 1\n"));

  json_t *doc = skpi_avail_save(a);
  char *text = json_dumps(doc, 0);
  json_decref(doc);
  skpi_avail *b = skpi_avail_new("prod");
  doc = json_loads(text, 0, NULL);
  free(text);
  assert_int_equal(skpi_avail_load(b, doc, NULL, 0), SKPI_OK);
  json_decref(doc);
  char *m2 = render(b, T0 + 7200);
  assert_string_equal(m1, m2);
  free(m1);
  free(m2);
  skpi_avail_free(a);
  skpi_avail_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(timeline_known_truths),
      cmocka_unit_test(maintenance_helper),
      cmocka_unit_test(overlaps_are_clipped),
      cmocka_unit_test(bad_intervals_change_nothing),
      cmocka_unit_test(intervals_spread_over_minutes),
      cmocka_unit_test(restart_continues_without_double_counting),
      cmocka_unit_test(load_rejects_foreign_and_garbage),
      cmocka_unit_test(metrics_and_save_load_identical),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
