/* test_slo.c: SLO attainment, error budget, burn rates, windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/slo.h"

#define JAN1_2027 1798761600.0
#define FEB1_2027 1801440000.0
#define MAR1_2027 1803859200.0
#define FEB1_2028 1832976000.0
#define MAR1_2028 1835481600.0
#define DEC1_2026 1796083200.0

static skpi_slo *make(const char *name, double obj, enum skpi_slo_window kind, double w) {
  skpi_slo_cfg cfg = {.name = name, .objective = obj, .kind = kind, .window_s = w};
  skpi_slo *s = NULL;
  assert_int_equal(skpi_slo_new(&cfg, &s), SKPI_OK);
  return s;
}

static void month_arithmetic(void **state) {
  assert_float_equal(skpi_slo_month_start(FEB1_2027 + 5 * 86400 + 17), FEB1_2027, 0);
  assert_float_equal(skpi_slo_month_start(FEB1_2027), FEB1_2027, 0);
  assert_float_equal(skpi_slo_month_start(FEB1_2027 - 1), JAN1_2027, 0);
  assert_float_equal(skpi_slo_month_length(FEB1_2027 + 10), MAR1_2027 - FEB1_2027, 0);
  assert_float_equal(skpi_slo_month_length(FEB1_2028 + 10), MAR1_2028 - FEB1_2028, 0);
  assert_float_equal(skpi_slo_month_length(FEB1_2028 + 10), 29 * 86400.0, 0);
  assert_float_equal(skpi_slo_month_length(DEC1_2026 + 10), JAN1_2027 - DEC1_2026, 0);
  assert_float_equal(skpi_slo_month_length(NAN), 0, 0);
  assert_float_equal(skpi_slo_month_length(-5), 0, 0);
}

static void bad_config(void **state) {
  skpi_slo *s;
  skpi_slo_cfg cfg = {.name = "x", .objective = 1, .kind = SKPI_SLO_ROLLING, .window_s = 86400};
  assert_int_equal(skpi_slo_new(&cfg, &s), SKPI_EINVAL);
  cfg.objective = 0;
  assert_int_equal(skpi_slo_new(&cfg, &s), SKPI_EINVAL);
  cfg.objective = 0.9;
  cfg.window_s = 40 * 86400.0;
  assert_int_equal(skpi_slo_new(&cfg, &s), SKPI_EINVAL);
  cfg.window_s = 86400;
  cfg.name = "";
  assert_int_equal(skpi_slo_new(&cfg, &s), SKPI_EINVAL);
  cfg.name = "ok";
  cfg.kind = (enum skpi_slo_window)7;
  assert_int_equal(skpi_slo_new(&cfg, &s), SKPI_EINVAL);
}

static void rolling_attainment_budget_burn(void **state) {
  skpi_slo *s = make("avail", 0.99, SKPI_SLO_ROLLING, 30 * 86400.0);
  double t0 = JAN1_2027;
  skpi_slo_status st;
  skpi_slo_status_at(s, t0, &st);
  assert_true(isnan(st.attainment));
  assert_float_equal(st.budget_remaining, 1, 0);
  assert_float_equal(st.burn_1h, 0, 0);
  /* Day 0: 1000 events, 5 bad.  Day 10, 10 hours in: 1000 events, 0 bad.
   * The last hour: 100 events, 2 bad. */
  assert_int_equal(skpi_slo_record(s, t0 + 30, 995, 1000), SKPI_OK);
  assert_int_equal(skpi_slo_record(s, t0 + 10 * 86400 + 36000, 1000, 1000), SKPI_OK);
  double now = t0 + 20 * 86400;
  assert_int_equal(skpi_slo_record(s, now - 1800, 98, 100), SKPI_OK);
  skpi_slo_status_at(s, now, &st);
  assert_float_equal(st.total, 2100, 0);
  assert_float_equal(st.good, 2093, 0);
  assert_float_equal(st.attainment, 2093.0 / 2100, 1e-12);
  assert_float_equal(st.budget_remaining, 1 - 7 / (0.01 * 2100), 1e-9);
  assert_float_equal(st.burn_1h, (2.0 / 100) / 0.01, 1e-9);
  assert_float_equal(st.burn_6h, (2.0 / 100) / 0.01, 1e-9);
  assert_float_equal(st.window_s, 30 * 86400.0, 0);
  /* 31 days later the first day has left the window; counters remain. */
  skpi_slo_status_at(s, t0 + 30 * 86400 + 3600, &st);
  assert_float_equal(st.total, 1100, 0);
  assert_float_equal(st.events_total, 2100, 0);
  assert_float_equal(st.bad_events_total, 7, 0);
  /* Overspent budget goes negative and stays finite. */
  assert_int_equal(skpi_slo_record(s, now, 0, 100), SKPI_OK);
  skpi_slo_status_at(s, now, &st);
  assert_true(st.budget_remaining < 0);
  assert_float_equal(st.budget_remaining, 1 - 107 / (0.01 * 2200), 1e-9);
  /* Garbage records change nothing. */
  assert_int_equal(skpi_slo_record(s, now, 5, 4), SKPI_EINVAL);
  assert_int_equal(skpi_slo_record(s, now, -1, 4), SKPI_EINVAL);
  assert_int_equal(skpi_slo_record(s, now, NAN, 4), SKPI_EINVAL);
  assert_int_equal(skpi_slo_record(s, NAN, 1, 1), SKPI_EINVAL);
  assert_int_equal(skpi_slo_record(s, now - 40 * 86400.0, 1, 1), SKPI_EINVAL);
  skpi_slo_status_at(s, now, &st);
  assert_float_equal(st.events_total, 2200, 0);
  skpi_slo_free(s);
}

static void calendar_month_and_exclusion(void **state) {
  skpi_slo *s = make("lag", 0.9, SKPI_SLO_CALENDAR_MONTH, 0);
  /* Last hour of January: 10 events, all bad. */
  assert_int_equal(skpi_slo_record(s, FEB1_2027 - 600, 0, 10), SKPI_OK);
  skpi_slo_status st;
  skpi_slo_status_at(s, FEB1_2027 - 1, &st);
  assert_float_equal(st.attainment, 0, 0);
  assert_float_equal(st.window_s, 31 * 86400.0, 0);
  /* February starts clean: January's events are outside the window. */
  assert_int_equal(skpi_slo_record(s, FEB1_2027 + 60, 20, 20), SKPI_OK);
  /* A maintenance window: bad events are not counted. */
  skpi_slo_set_excluded(s, 1);
  assert_int_equal(skpi_slo_record(s, FEB1_2027 + 120, 0, 50), SKPI_OK);
  skpi_slo_set_excluded(s, 0);
  assert_int_equal(skpi_slo_record(s, FEB1_2027 + 180, 9, 10), SKPI_OK);
  skpi_slo_status_at(s, FEB1_2027 + 300, &st);
  assert_float_equal(st.window_s, 28 * 86400.0, 0);
  assert_float_equal(st.total, 30, 0);
  assert_float_equal(st.attainment, 29.0 / 30, 1e-12);
  assert_float_equal(st.budget_remaining, 1 - 1 / (0.1 * 30), 1e-9);
  assert_float_equal(st.excluded_total, 50, 0);
  assert_float_equal(st.events_total, 40, 0);
  assert_float_equal(st.bad_events_total, 11, 0);
  /* The 1h burn rate still sees the end of January. */
  assert_float_equal(st.burn_1h, (11.0 / 40) / 0.1, 1e-9);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_slo_render(s, FEB1_2027 + 300, m), SKPI_OK);
  char *text = kt_render(m);
  assert_float_equal(kt_value(text, "streamkpi_slo_objective_ratio{slo=\"lag\"}"), 0.9, 1e-12);
  assert_float_equal(kt_value(text, "streamkpi_slo_window_seconds{slo=\"lag\"}"), 2419200, 0);
  assert_float_equal(kt_value(text, "streamkpi_slo_events_total{slo=\"lag\"}"), 40, 0);
  assert_float_equal(kt_value(text, "streamkpi_slo_bad_events_total{slo=\"lag\"}"), 11, 0);
  assert_float_equal(kt_value(text, "streamkpi_slo_attainment_ratio{slo=\"lag\"}"), 29.0 / 30,
                     1e-12);
  assert_float_equal(kt_value(text, "streamkpi_slo_burn_rate{slo=\"lag\",window=\"1h\"}"),
                     2.75, 1e-9);
  free(text);
  skpi_mset_unref(m);
  skpi_slo_free(s);
}

static void save_load_and_garbage(void **state) {
  skpi_slo *a = make("x", 0.99, SKPI_SLO_ROLLING, 86400);
  skpi_slo *b = make("x", 0.99, SKPI_SLO_ROLLING, 86400);
  assert_int_equal(skpi_slo_record(a, JAN1_2027 + 10, 90, 100), SKPI_OK);
  assert_int_equal(skpi_slo_record(a, JAN1_2027 + 100, 10, 10), SKPI_OK);
  json_t *doc = skpi_slo_save(a);
  char *txt = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  doc = json_loads(txt, 0, NULL);
  free(txt);
  assert_int_equal(skpi_slo_load(b, doc), SKPI_OK);
  json_decref(doc);
  skpi_slo_status sa, sb;
  skpi_slo_status_at(a, JAN1_2027 + 200, &sa);
  skpi_slo_status_at(b, JAN1_2027 + 200, &sb);
  assert_float_equal(sb.total, 110, 0);
  assert_float_equal(sb.attainment, sa.attainment, 0);
  assert_float_equal(sb.bad_events_total, 10, 0);

  static const char *bad[] = {
      "[]",
      "{\"version\":1}",
      "{\"version\":2,\"events\":1,\"bad\":0,\"excluded\":0,\"buckets\":{\"slots\":2,"
      "\"buckets\":[]}}",
      "{\"version\":1,\"events\":1,\"bad\":2,\"excluded\":0,\"buckets\":{\"slots\":2,"
      "\"buckets\":[]}}",
      "{\"version\":1,\"events\":-1,\"bad\":0,\"excluded\":0,\"buckets\":{\"slots\":2,"
      "\"buckets\":[]}}",
      "{\"version\":1,\"events\":1,\"bad\":0,\"excluded\":0}",
      "{\"version\":1,\"events\":1,\"bad\":0,\"excluded\":0,\"buckets\":{\"slots\":2,"
      "\"buckets\":[[5,1]]}}",
      "{\"version\":1,\"events\":1,\"bad\":0,\"excluded\":0,\"buckets\":{\"slots\":2,"
      "\"buckets\":[[-5,1,1]]}}",
      "{\"version\":1,\"events\":1,\"bad\":0,\"excluded\":0,\"buckets\":{\"slots\":2,"
      "\"buckets\":[[5,1,1],[5,1,1]]}}",
      "{\"version\":1,\"events\":1,\"bad\":0,\"excluded\":0,\"buckets\":{\"slots\":2,"
      "\"buckets\":[[5,\"1\",1]]}}",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    doc = json_loads(bad[i], 0, NULL);
    assert_non_null(doc);
    assert_int_equal(skpi_slo_load(b, doc), SKPI_EINVAL);
    json_decref(doc);
    skpi_slo_status_at(b, JAN1_2027 + 200, &sb);
    assert_float_equal(sb.total, 0, 0);
    assert_float_equal(sb.events_total, 0, 0);
  }
  skpi_slo_free(a);
  skpi_slo_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(month_arithmetic),
      cmocka_unit_test(bad_config),
      cmocka_unit_test(rolling_attainment_budget_burn),
      cmocka_unit_test(calendar_month_and_exclusion),
      cmocka_unit_test(save_load_and_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
