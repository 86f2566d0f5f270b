/* test_onboarding.c: stream onboarding and app deployment durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/onboarding.h"

static skpi_onboarding *engine(void) {
  skpi_onboarding_cfg cfg;
  skpi_onboarding_cfg_default(&cfg);
  cfg.caught_up_lag = 2;
  cfg.forget_after_s = 600;
  skpi_onboarding *o;
  assert_int_equal(skpi_onboarding_new("c1", &cfg, &o), SKPI_OK);
  return o;
}

static void step(skpi_onboarding *o, skpi_ksample *s) {
  assert_int_equal(skpi_onboarding_observe(o, s, s->time), SKPI_OK);
  ks_free(s);
}

static skpi_onboarding_entry get(const skpi_onboarding *o, int is_group, const char *name) {
  skpi_onboarding_entry e;
  assert_int_equal(skpi_onboarding_get(o, is_group, name, &e), 1);
  return e;
}

/* The scripted life of one stream and its application. */
static void scripted(skpi_onboarding *o) {
  skpi_ksample *s = ks_new("c1", 1000);
  int c = ks_topic(s, "__consumer_offsets", 1);
  int l = ks_topic(s, "legacy", 1);
  ks_wm(s, c, 0, 0, 9);
  ks_wm(s, l, 0, 0, 50);
  int g = ks_group(s, "old-app", "Stable", 1);
  ks_commit(s, g, l, 0, 50);
  step(o, s);

  s = ks_new("c1", 1100);
  l = ks_topic(s, "legacy", 1);
  int t = ks_topic(s, "orders", 2);
  ks_wm(s, l, 0, 0, 50);
  ks_wm(s, t, 0, 0, 0);
  ks_wm(s, t, 1, 0, 0);
  ks_group(s, "old-app", "Stable", 1);
  ks_group(s, "orders-app", "Empty", 0);
  step(o, s);

  s = ks_new("c1", 1400);
  t = ks_topic(s, "orders", 2);
  int p = ks_topic(s, "prewritten", 1);
  ks_wm(s, t, 0, 0, 0);
  ks_wm(s, t, 1, 0, 5);
  ks_wm(s, p, 0, 0, 7);
  ks_group(s, "orders-app", "Empty", 0);
  step(o, s);

  s = ks_new("c1", 1500);
  t = ks_topic(s, "orders", 2);
  p = ks_topic(s, "prewritten", 1);
  ks_wm(s, t, 0, 0, 0);
  ks_wm(s, t, 1, 0, 5);
  ks_wm(s, p, 0, 0, 7);
  g = ks_group(s, "orders-app", "Stable", 1);
  ks_commit(s, g, t, 1, 0); /* lag 5 > 2: not caught up yet */
  step(o, s);

  s = ks_new("c1", 1600);
  t = ks_topic(s, "orders", 2);
  p = ks_topic(s, "prewritten", 1);
  ks_wm(s, t, 0, 0, 0);
  ks_wm(s, t, 1, 0, 6);
  ks_wm(s, p, 0, 0, 7);
  g = ks_group(s, "orders-app", "Stable", 1);
  ks_commit(s, g, t, 1, 4);
  step(o, s);
}

static void durations_from_script(void **state) {
  skpi_onboarding *o = engine();
  scripted(o);
  skpi_onboarding_entry e;
  assert_int_equal(skpi_onboarding_get(o, 0, "__consumer_offsets", &e), 0);
  assert_true(get(o, 0, "legacy").baseline);
  assert_true(get(o, 1, "old-app").baseline);
  e = get(o, 0, "orders");
  assert_false(e.baseline);
  assert_float_equal(e.first_seen, 1100, 0);
  assert_float_equal(e.step1, 1400, 0);
  assert_float_equal(e.step2, 1500, 0);
  e = get(o, 0, "prewritten");
  assert_float_equal(e.step1 - e.first_seen, 0, 0);
  assert_float_equal(e.step2, -1, 0);
  e = get(o, 1, "orders-app");
  assert_float_equal(e.first_seen, 1100, 0);
  assert_float_equal(e.step1, 1500, 0);
  assert_float_equal(e.step2, 1600, 0);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_onboarding_render(o, 1700, m), SKPI_OK);
  char *text = kt_render(m);
  const char *sd = "streamkpi_stream_onboarding_duration_seconds";
  char key[256];
  snprintf(key, sizeof(key), "%s_sum{cluster=\"c1\",step=\"first_message\"}", sd);
  assert_float_equal(kt_value(text, key), 300 + 0, 0);
  snprintf(key, sizeof(key), "%s_count{cluster=\"c1\",step=\"first_message\"}", sd);
  assert_float_equal(kt_value(text, key), 2, 0);
  snprintf(key, sizeof(key), "%s_sum{cluster=\"c1\",step=\"first_consumer\"}", sd);
  assert_float_equal(kt_value(text, key), 100, 0);
  snprintf(key, sizeof(key), "%s_count{cluster=\"c1\",step=\"first_consumer\"}", sd);
  assert_float_equal(kt_value(text, key), 1, 0);
  assert_float_equal(kt_value(text, "streamkpi_app_deploy_duration_seconds_sum{cluster=\"c1\","
                                    "step=\"first_commit\"}"),
                     400, 0);
  assert_float_equal(kt_value(text, "streamkpi_app_deploy_duration_seconds_sum{cluster=\"c1\","
                                    "step=\"caught_up\"}"),
                     100, 0);
  assert_float_equal(kt_value(text, "streamkpi_streams_onboarding_pending{cluster=\"c1\"}"), 1,
                     0);
  assert_float_equal(
      kt_value(text, "streamkpi_stream_onboarding_oldest_pending_age_seconds{cluster=\"c1\"}"),
      300, 0);
  assert_float_equal(kt_value(text, "streamkpi_apps_deploy_pending{cluster=\"c1\"}"), 0, 0);
  assert_float_equal(kt_value(text, "streamkpi_stream_first_seen_timestamp_seconds{cluster="
                                    "\"c1\",topic=\"prewritten\"}"),
                     1400, 0);
  assert_int_equal(kt_count(text, "streamkpi_stream_first_seen_timestamp_seconds{"), 1);
  free(text);
  skpi_mset_unref(m);
  skpi_onboarding_free(o);
}

static void restart_recreate_and_forget(void **state) {
  skpi_onboarding *o = engine();
  scripted(o);
  json_t *doc = skpi_onboarding_save(o);
  assert_non_null(doc);
  char *txt = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  skpi_onboarding_free(o);
  o = engine();
  doc = json_loads(txt, 0, NULL);
  free(txt);
  assert_int_equal(skpi_onboarding_load(o, doc), SKPI_OK);
  json_decref(doc);
  /* First-seen times survived; the next sample is no new baseline. */
  assert_float_equal(get(o, 0, "orders").first_seen, 1100, 0);
  skpi_ksample *s = ks_new("c1", 1700);
  int t = ks_topic(s, "brand-new", 1);
  ks_wm(s, t, 0, 0, 0);
  t = ks_topic(s, "orders", 2);
  ks_wm(s, t, 0, 0, 0);
  ks_wm(s, t, 1, 0, 1); /* sum went 6 -> 1: deleted and re-created */
  step(o, s);
  assert_false(get(o, 0, "brand-new").baseline);
  skpi_onboarding_entry e = get(o, 0, "orders");
  assert_float_equal(e.first_seen, 1700, 0);
  assert_float_equal(e.step1, 1700, 0);
  assert_float_equal(e.step2, -1, 0);
  /* A sample without metadata changes nothing; topics unseen for longer
   * than forget_after_s go. */
  s = ks_new("c1", 2000);
  step(o, s);
  assert_int_equal(skpi_onboarding_get(o, 0, "brand-new", &e), 1);
  s = ks_new("c1", 2400);
  t = ks_topic(s, "orders", 2);
  step(o, s);
  assert_int_equal(skpi_onboarding_get(o, 0, "brand-new", &e), 0);
  assert_int_equal(skpi_onboarding_get(o, 0, "orders", &e), 1);
  skpi_onboarding_free(o);
}

/* Histograms as stored on disk (a count per bucket, the last one +Inf, and
 * the sum) load into cumulative buckets. */
static void stored_histograms_load(void **state) {
  skpi_onboarding *o = engine();
  scripted(o);
  json_t *doc = skpi_onboarding_save(o);
  assert_non_null(doc);
  json_t *fm = json_object_get(json_object_get(doc, "histograms"), "first_message");
  assert_int_equal(json_object_set_new(fm, "counts", json_loads("[1,0,0,2,0,0,0,0,0,0,0,1]", 0,
                                                                  NULL)),
                   0);
  assert_int_equal(json_object_set_new(fm, "sum", json_real(9000)), 0);
  skpi_onboarding_free(o);
  o = engine();
  assert_int_equal(skpi_onboarding_load(o, doc), SKPI_OK);
  json_decref(doc);
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_onboarding_render(o, 1700, m), SKPI_OK);
  char *text = kt_render(m);
  const char *b = "streamkpi_stream_onboarding_duration_seconds_bucket{cluster=\"c1\","
                  "step=\"first_message\",le=";
  const struct {
    const char *le;
    double cumulative;
  } want[] = {{"60", 1}, {"900", 1}, {"1800", 3}, {"2.592e+06", 3}, {"+Inf", 4}};
  for(size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    char key[256];
    snprintf(key, sizeof(key), "%s\"%s\"}", b, want[i].le);
    assert_float_equal(kt_value(text, key), want[i].cumulative, 0);
  }
  assert_float_equal(kt_value(text, "streamkpi_stream_onboarding_duration_seconds_sum{cluster="
                                    "\"c1\",step=\"first_message\"}"),
                     9000, 0);
  free(text);
  skpi_mset_unref(m);
  /* Saved again, the counts are the same. */
  doc = skpi_onboarding_save(o);
  char *counts = json_dumps(json_object_get(json_object_get(json_object_get(doc, "histograms"),
                                                            "first_message"),
                                            "counts"),
                            JSON_COMPACT);
  assert_string_equal(counts, "[1,0,0,2,0,0,0,0,0,0,0,1]");
  free(counts);
  json_decref(doc);
  skpi_onboarding_free(o);
}

static void load_garbage(void **state) {
  static const char *bad[] = {
      "[]",
      "{\"version\":1}",
      "{\"version\":2,\"seen_topics\":true,\"seen_groups\":true,\"topics\":[],\"groups\":[],"
      "\"histograms\":{}}",
      "{\"version\":1,\"seen_topics\":true,\"seen_groups\":true,\"topics\":[],\"groups\":[],"
      "\"histograms\":{}}",
      "{\"version\":1,\"seen_topics\":true,\"seen_groups\":true,\"topics\":[[\"a\",false,1,-1,"
      "-1,1,1,0]],\"groups\":[],\"histograms\":{}}",
      "{\"version\":1,\"seen_topics\":true,\"seen_groups\":true,\"topics\":[[\"a\",false,1,-2,"
      "-1,1,1,0]],\"groups\":[],\"histograms\":{}}",
      "{\"version\":1,\"seen_topics\":true,\"seen_groups\":true,\"topics\":[[\"a\",false,1,-1,"
      "-1,1,1]],\"groups\":[],\"histograms\":{}}",
      "{\"version\":1,\"seen_topics\":true,\"seen_groups\":true,\"topics\":[],\"groups\":[[\"g\","
      "false,1,-1,-1,1,0,-1],[\"g\",false,1,-1,-1,1,0,-1]],\"histograms\":{}}",
  };
  skpi_onboarding *o = engine();
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    scripted(o);
    json_t *doc = json_loads(bad[i], 0, NULL);
    assert_non_null(doc);
    assert_int_equal(skpi_onboarding_load(o, doc), SKPI_EINVAL);
    json_decref(doc);
    skpi_onboarding_entry e;
    assert_int_equal(skpi_onboarding_get(o, 0, "orders", &e), 0);
    assert_int_equal(skpi_onboarding_get(o, 1, "orders-app", &e), 0);
  }
  /* A valid document minus one histogram is garbage too. */
  scripted(o);
  json_t *doc = skpi_onboarding_save(o);
  json_object_del(json_object_get(doc, "histograms"), "caught_up");
  assert_int_equal(skpi_onboarding_load(o, doc), SKPI_EINVAL);
  json_decref(doc);
  skpi_onboarding_free(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(durations_from_script),
      cmocka_unit_test(restart_recreate_and_forget),
      cmocka_unit_test(stored_histograms_load),
      cmocka_unit_test(load_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
