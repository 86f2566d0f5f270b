/* test_consumer_status.c: every status from scripted offsets, none on an
 * idle caught-up group, and the edges (recreated topic, unreadable group,
 * missing listing, caps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/consumer_status.h"

#define WINDOW 60.0
#define STEP 10.0

static skpi_cstatus *evaluator(void) {
  skpi_cstatus_cfg cfg;
  skpi_cstatus_cfg_default(&cfg);
  cfg.window_s = WINDOW;
  skpi_cstatus *cs;
  assert_int_equal(skpi_cstatus_new("c1", &cfg, &cs), SKPI_OK);
  return cs;
}

/* One sample: topic "t" (1 partition) with watermarks [low, high], group
 * "g" with members committed at off. */
static void feed(skpi_cstatus *cs, double t, int64_t low, int64_t high, int members, int64_t off) {
  skpi_ksample *s = ks_new("c1", t);
  int tp = ks_topic(s, "t", 1);
  ks_wm(s, tp, 0, low, high);
  int g = ks_group(s, "g", members ? "Stable" : "Empty", members);
  ks_commit(s, g, tp, 0, off);
  assert_int_equal(skpi_cstatus_observe(cs, s, t), SKPI_OK);
  ks_free(s);
}

static enum skpi_cstatus_st status(const skpi_cstatus *cs) {
  enum skpi_cstatus_st st;
  const char *why;
  assert_int_equal(skpi_cstatus_get(cs, "g", &st, &why), 1);
  assert_non_null(why);
  return st;
}

static void idle_caught_up_group_stays_ok(void **state) {
  skpi_cstatus *cs = evaluator();
  for(int i = 0; i < 30; i++) {
    feed(cs, i * STEP, 0, 500, i < 15 ? 1 : 0, 500);
    assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  }
  skpi_cstatus_free(cs);
}

static void unchanged_commit_with_lag_is_stalled_with_members(void **state) {
  skpi_cstatus *cs = evaluator();
  int i = 0;
  for(; i * STEP < WINDOW; i++) {
    feed(cs, i * STEP, 0, 100, 2, 40);
    assert_int_equal(status(cs), SKPI_CSTATUS_OK); /* window not covered yet */
  }
  feed(cs, i * STEP, 0, 100, 2, 40);
  assert_int_equal(status(cs), SKPI_CSTATUS_STALLED);
  enum skpi_cstatus_st st;
  const char *why;
  assert_int_equal(skpi_cstatus_get(cs, "g", &st, &why), 1);
  assert_non_null(strstr(why, "t[0]"));
  assert_non_null(strstr(why, "lag 60"));
  /* One commit moves it out of STALLED. */
  feed(cs, ++i * STEP, 0, 100, 2, 100);
  assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  skpi_cstatus_free(cs);
}

static void unchanged_commit_without_members_is_stopped(void **state) {
  skpi_cstatus *cs = evaluator();
  for(int i = 0; i <= 6; i++)
    feed(cs, i * STEP, 0, 100 + i, 0, 40);
  assert_int_equal(status(cs), SKPI_CSTATUS_STOPPED);
  skpi_cstatus_free(cs);
}

static void lag_growing_while_committing_is_warning(void **state) {
  skpi_cstatus *cs = evaluator();
  for(int i = 0; i <= 6; i++)
    feed(cs, i * STEP, 0, 100 + 20 * i, 1, 10 * i);
  assert_int_equal(status(cs), SKPI_CSTATUS_WARNING);
  /* One step where the lag shrinks breaks the trend. */
  feed(cs, 7 * STEP, 0, 240, 1, 200);
  assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  skpi_cstatus_free(cs);
}

static void lag_growing_between_sparse_commits_is_warning(void **state) {
  /* Auto-commit every 50 s: between commits the lag climbs, at each commit
   * it drops, yet commit after commit it is higher. */
  skpi_cstatus *cs = evaluator();
  int64_t off = 0;
  for(int i = 0; i <= 12; i++) {
    if(i % 5 == 0)
      off = 15 * i;
    feed(cs, i * STEP, 0, 100 + 20 * i, 1, off);
  }
  assert_int_equal(status(cs), SKPI_CSTATUS_WARNING);
  skpi_cstatus_free(cs);
}

static void slow_consumer_keeping_pace_is_ok(void **state) {
  skpi_cstatus *cs = evaluator();
  for(int i = 0; i <= 12; i++) {
    feed(cs, i * STEP, 0, 100 + 20 * i, 1, 100 + 20 * i - (i % 2 ? 30 : 10));
    assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  }
  skpi_cstatus_free(cs);
}

static void commit_below_oldest_offset_is_error(void **state) {
  skpi_cstatus *cs = evaluator();
  feed(cs, 0, 0, 100, 1, 20);
  assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  feed(cs, STEP, 50, 100, 1, 20); /* retention deleted 0..49 */
  assert_int_equal(status(cs), SKPI_CSTATUS_ERROR);
  enum skpi_cstatus_st st;
  const char *why;
  assert_int_equal(skpi_cstatus_get(cs, "g", &st, &why), 1);
  assert_non_null(strstr(why, "30 records"));
  skpi_cstatus_free(cs);
}

static void commit_going_back_is_rewind_for_a_window(void **state) {
  skpi_cstatus *cs = evaluator();
  feed(cs, 0, 0, 100, 1, 100);
  feed(cs, STEP, 0, 100, 1, 30);
  assert_int_equal(status(cs), SKPI_CSTATUS_REWIND);
  feed(cs, 2 * STEP, 0, 100, 1, 100);
  assert_int_equal(status(cs), SKPI_CSTATUS_REWIND);
  feed(cs, STEP + WINDOW + 1, 0, 100, 1, 100);
  assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  skpi_cstatus_free(cs);
}

static void recreated_topic_is_not_a_rewind(void **state) {
  skpi_cstatus *cs = evaluator();
  feed(cs, 0, 0, 100, 1, 100);
  feed(cs, STEP, 0, 5, 1, 5);
  assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  skpi_cstatus_free(cs);
}

static void worst_partition_wins_and_render_is_enum_style(void **state) {
  skpi_cstatus *cs = evaluator();
  skpi_ksample *s = ks_new("c1", 0);
  int a = ks_topic(s, "a", 2);
  ks_wm(s, a, 0, 10, 100);
  ks_wm(s, a, 1, 0, 100);
  int g = ks_group(s, "g", "Stable", 1);
  ks_commit(s, g, a, 0, 5);
  ks_commit(s, g, a, 1, 100);
  int h = ks_group(s, "h", "Stable", 1);
  ks_commit(s, h, a, 1, 100);
  ks_group(s, "nocommit", "Empty", 0);
  assert_int_equal(skpi_cstatus_observe(cs, s, 0), SKPI_OK);
  ks_free(s);
  assert_int_equal(status(cs), SKPI_CSTATUS_ERROR);
  enum skpi_cstatus_st st;
  const char *why;
  assert_int_equal(skpi_cstatus_get(cs, "nocommit", &st, &why), 0);
  assert_int_equal(skpi_cstatus_get(cs, "absent", &st, &why), 0);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_cstatus_render(cs, m), SKPI_OK);
  char *text = kt_render(m);
  assert_int_equal(kt_count(text, "kafka_consumergroup_status{"), 12);
  assert_float_equal(
      kt_value(text,
               "kafka_consumergroup_status{cluster=\"c1\",consumergroup=\"g\",status=\"ERROR\"}"),
      1, 0);
  assert_float_equal(
      kt_value(text,
               "kafka_consumergroup_status{cluster=\"c1\",consumergroup=\"g\",status=\"OK\"}"),
      0, 0);
  assert_float_equal(
      kt_value(text,
               "kafka_consumergroup_status{cluster=\"c1\",consumergroup=\"h\",status=\"OK\"}"),
      1, 0);
  free(text);
  skpi_mset_unref(m);

  json_t *doc = skpi_cstatus_json(cs);
  assert_non_null(doc);
  json_t *groups = json_object_get(doc, "groups");
  assert_int_equal(json_array_size(groups), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(groups, 0), "status")),
                      "ERROR");
  assert_int_equal(json_integer_value(json_object_get(json_array_get(groups, 0), "lag")), 95);
  assert_string_equal(json_string_value(json_object_get(json_array_get(groups, 2), "status")),
                      "unknown");
  json_decref(doc);
  skpi_cstatus_free(cs);
}

static void unreadable_group_and_missing_listing_keep_status(void **state) {
  skpi_cstatus *cs = evaluator();
  for(int i = 0; i <= 6; i++)
    feed(cs, i * STEP, 0, 100, 1, 40);
  assert_int_equal(status(cs), SKPI_CSTATUS_STALLED);
  skpi_ksample *s = ks_new("c1", 70);
  int tp = ks_topic(s, "t", 1);
  ks_wm(s, tp, 0, 0, 100);
  int g = ks_group(s, "g", "Stable", 1);
  s->groups[g].err = 1;
  assert_int_equal(skpi_cstatus_observe(cs, s, 70), SKPI_OK);
  assert_int_equal(status(cs), SKPI_CSTATUS_STALLED);
  s->groups_ok = 0;
  s->groups[g].err = 0;
  assert_int_equal(skpi_cstatus_observe(cs, s, 80), SKPI_OK);
  assert_int_equal(status(cs), SKPI_CSTATUS_STALLED);
  ks_free(s);
  /* A listed sample without the group forgets it. */
  s = ks_new("c1", 90);
  ks_topic(s, "t", 1);
  assert_int_equal(skpi_cstatus_observe(cs, s, 90), SKPI_OK);
  ks_free(s);
  enum skpi_cstatus_st st;
  const char *why;
  assert_int_equal(skpi_cstatus_get(cs, "g", &st, &why), 0);
  skpi_cstatus_free(cs);
}

static void unknown_watermark_and_caps(void **state) {
  skpi_cstatus_cfg cfg;
  skpi_cstatus_cfg_default(&cfg);
  cfg.max_tracked = 1;
  skpi_cstatus *cs;
  assert_int_equal(skpi_cstatus_new("c1", &cfg, &cs), SKPI_OK);
  skpi_ksample *s = ks_new("c1", 0);
  int tp = ks_topic(s, "t", 3);
  ks_wm(s, tp, 0, 0, 10);
  ks_wm(s, tp, 1, 0, 10);
  int g = ks_group(s, "g", "Stable", 1);
  ks_commit(s, g, tp, 0, 10);
  ks_commit(s, g, tp, 1, 10);
  ks_commit(s, g, tp, 2, 10); /* watermark unknown: not judged */
  assert_int_equal(skpi_cstatus_observe(cs, s, 0), SKPI_OK);
  ks_free(s);
  assert_int_equal(skpi_cstatus_untracked(cs), 1);
  assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  skpi_cstatus_free(cs);

  cfg.window_s = 0;
  assert_int_equal(skpi_cstatus_new("c1", &cfg, &cs), SKPI_EINVAL);
  skpi_cstatus_cfg_default(&cfg);
  cfg.min_points = 1;
  assert_int_equal(skpi_cstatus_new("c1", &cfg, &cs), SKPI_EINVAL);
  skpi_cstatus_cfg_default(&cfg);
  cfg.max_points = SKPI_CSTATUS_MAX_POINTS + 1;
  assert_int_equal(skpi_cstatus_new("c1", &cfg, &cs), SKPI_EINVAL);
  cfg.max_points = 5;
  assert_int_equal(skpi_cstatus_new("c1", &cfg, &cs), SKPI_EINVAL);
  assert_string_equal(skpi_cstatus_name(SKPI_CSTATUS_STOPPED), "STOPPED");
  assert_string_equal(skpi_cstatus_name(SKPI_CSTATUS_COUNT), "unknown");
}

static void short_interval_thins_points_and_still_covers_the_window(void **state) {
  skpi_cstatus_cfg cfg;
  skpi_cstatus_cfg_default(&cfg);
  cfg.window_s = 1000;
  cfg.max_points = 8;
  skpi_cstatus *cs;
  assert_int_equal(skpi_cstatus_new("c1", &cfg, &cs), SKPI_OK);
  int i = 0;
  for(; i * STEP < 1000; i++) {
    feed(cs, i * STEP, 0, 100, 1, 40);
    assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  }
  feed(cs, i * STEP, 0, 100, 1, 40);
  assert_int_equal(status(cs), SKPI_CSTATUS_STALLED);
  /* A commit, then a full window without one: stalled again. */
  feed(cs, ++i * STEP, 0, 100, 1, 50);
  assert_int_equal(status(cs), SKPI_CSTATUS_OK);
  /* Thinned points make the second judgement up to one gap
   * (window / (max_points - 4) = 250 s) late, never early. */
  double moved_at = i * STEP, stalled_at = -1;
  for(i++; i * STEP <= moved_at + 1000 + 250 + STEP && stalled_at < 0; i++) {
    feed(cs, i * STEP, 0, 100, 1, 50);
    if(status(cs) == SKPI_CSTATUS_STALLED)
      stalled_at = i * STEP;
  }
  assert_true(stalled_at >= moved_at + 1000);
  assert_true(stalled_at <= moved_at + 1000 + 250);
  skpi_cstatus_free(cs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(idle_caught_up_group_stays_ok),
      cmocka_unit_test(unchanged_commit_with_lag_is_stalled_with_members),
      cmocka_unit_test(unchanged_commit_without_members_is_stopped),
      cmocka_unit_test(lag_growing_while_committing_is_warning),
      cmocka_unit_test(lag_growing_between_sparse_commits_is_warning),
      cmocka_unit_test(slow_consumer_keeping_pace_is_ok),
      cmocka_unit_test(commit_below_oldest_offset_is_error),
      cmocka_unit_test(commit_going_back_is_rewind_for_a_window),
      cmocka_unit_test(recreated_topic_is_not_a_rewind),
      cmocka_unit_test(worst_partition_wins_and_render_is_enum_style),
      cmocka_unit_test(unreadable_group_and_missing_listing_keep_status),
      cmocka_unit_test(unknown_watermark_and_caps),
      cmocka_unit_test(short_interval_thins_points_and_still_covers_the_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
