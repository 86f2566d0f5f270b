/* test_incidents.c: health debounce, causes, MTTR, listing, cap, metrics
 * and save/load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/availability.h"
#include "streamkpi/incidents.h"

#define T0 1699999980.0

static enum skpi_cause cause_at(double t) {
  skpi_health h = {1, 3, 3, 0};
  if(t >= T0 + 1800 && t < T0 + 1820)
    h.probe_ok = 0;
  else if(t >= T0 + 1820 && t < T0 + 1850)
    h.brokers_up = 2;
  else if(t >= T0 + 1850 && t < T0 + 1870)
    h.brokers_up = 0;
  else if(t >= T0 + 2470 && t < T0 + 3070)
    h.offline_partitions = 5; /* during maintenance: ignored */
  return skpi_health_cause(&h);
}

static const skpi_maint maint[] = {{T0 + 2470, T0 + 3070, NULL}};

/* The same 2 h timeline as test_availability: 7 unhealthy intervals, a
 * 600 s gap, 600 s maintenance, healthy again. */
static void play(skpi_incidents *inc, double from, double to) {
  for(double t = T0; t < T0 + 7200; t += 10) {
    if(t < from || t >= to || (t >= T0 + 1870 && t < T0 + 2470))
      continue;
    assert_int_equal(skpi_inc_health(inc, "prod", t, t + 10, cause_at(t),
                                     skpi_maint_active(maint, 1, "prod", t)),
                     SKPI_OK);
  }
}

static void causes_by_priority(void **state) {
  skpi_health h = {0, 0, 3, 4};
  assert_int_equal(skpi_health_cause(&h), SKPI_CAUSE_ALL_BROKERS_UNREACHABLE);
  h.brokers_up = 1;
  assert_int_equal(skpi_health_cause(&h), SKPI_CAUSE_BROKER_DOWN);
  h.brokers_up = 3;
  assert_int_equal(skpi_health_cause(&h), SKPI_CAUSE_OFFLINE_PARTITIONS);
  h.offline_partitions = 0;
  assert_int_equal(skpi_health_cause(&h), SKPI_CAUSE_PROBE_FAILING);
  h.probe_ok = 1;
  assert_int_equal(skpi_health_cause(&h), SKPI_CAUSE_NONE);
  assert_string_equal(skpi_cause_name(SKPI_CAUSE_BROKER_DOWN), "broker_down");
  assert_string_equal(skpi_cause_name((enum skpi_cause)99), "unknown");
}

static void timeline_one_incident(void **state) {
  skpi_incidents *inc = skpi_inc_new(3, 3, SKPI_INC_DEFAULT_MAX);
  play(inc, 0, 1e12);
  assert_int_equal(skpi_inc_count(inc), 1);
  skpi_inc_info i;
  assert_int_equal(skpi_inc_get(inc, 0, &i), 0);
  assert_false(i.open);
  assert_true(i.start == T0 + 1800);
  assert_true(i.end == T0 + 3070);
  assert_string_equal(i.cause, "all_brokers_unreachable");
  assert_string_equal(i.source, "health");
  assert_null(i.fingerprint);
  size_t n;
  assert_true(skpi_inc_mttr(inc, "prod", T0 + 7200, 86400, &n) == 1270);
  assert_int_equal(n, 1);
  skpi_inc_mttr(inc, "prod", T0 + 7200, 3600, &n);
  assert_int_equal(n, 0);
  skpi_inc_mttr(inc, "other", T0 + 7200, 86400, &n);
  assert_int_equal(n, 0);
  skpi_inc_free(inc);
}

static void open_while_unhealthy(void **state) {
  skpi_incidents *inc = skpi_inc_new(3, 3, 10);
  play(inc, 0, T0 + 1900);
  skpi_inc_info i;
  assert_int_equal(skpi_inc_count(inc), 1);
  skpi_inc_get(inc, 0, &i);
  assert_true(i.open);
  assert_true(i.end == 0);
  skpi_inc_free(inc);
}

static void flapping_below_threshold_opens_nothing(void **state) {
  skpi_incidents *inc = skpi_inc_new(3, 3, 10);
  double t = T0;
  for(int k = 0; k < 51; k++, t += 10)
    skpi_inc_health(inc, "c", t, t + 10, k % 3 == 2 ? SKPI_CAUSE_NONE : SKPI_CAUSE_PROBE_FAILING,
                    0);
  assert_int_equal(skpi_inc_count(inc), 0);
  /* maintenance does not break a streak but does not count either */
  skpi_inc_health(inc, "c", t, t + 10, SKPI_CAUSE_PROBE_FAILING, 0);
  skpi_inc_health(inc, "c", t + 10, t + 20, SKPI_CAUSE_PROBE_FAILING, 1);
  skpi_inc_health(inc, "c", t + 20, t + 30, SKPI_CAUSE_PROBE_FAILING, 1);
  skpi_inc_health(inc, "c", t + 30, t + 40, SKPI_CAUSE_PROBE_FAILING, 0);
  assert_int_equal(skpi_inc_count(inc), 0);
  skpi_inc_health(inc, "c", t + 40, t + 50, SKPI_CAUSE_PROBE_FAILING, 0);
  assert_int_equal(skpi_inc_count(inc), 1);
  skpi_inc_info i;
  skpi_inc_get(inc, 0, &i);
  assert_true(i.start == t);
  skpi_inc_free(inc);
}

static void flapping_recovery_stays_open(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 3, 10);
  double t = T0;
  skpi_inc_health(inc, "c", t, t + 10, SKPI_CAUSE_OFFLINE_PARTITIONS, 0);
  for(int k = 1; k < 40; k++)
    skpi_inc_health(inc, "c", t + k * 10, t + k * 10 + 10,
                    k % 3 == 0 ? SKPI_CAUSE_PROBE_FAILING : SKPI_CAUSE_NONE, 0);
  skpi_inc_info i;
  assert_int_equal(skpi_inc_count(inc), 1);
  skpi_inc_get(inc, 0, &i);
  assert_true(i.open);
  assert_string_equal(i.cause, "offline_partitions");
  /* 3 healthy in a row: resolved at the first of them */
  double r = t + 400;
  for(int k = 0; k < 3; k++)
    skpi_inc_health(inc, "c", r + k * 10, r + k * 10 + 10, SKPI_CAUSE_NONE, 0);
  skpi_inc_get(inc, 0, &i);
  assert_false(i.open);
  assert_true(i.end == r);
  skpi_inc_free(inc);
}

static void bad_input_rejected(void **state) {
  assert_null(skpi_inc_new(0, 1, 1));
  assert_null(skpi_inc_new(1, 0, 1));
  assert_null(skpi_inc_new(1, 1, 0));
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  char longname[SKPI_INC_MAX_STR + 2];
  memset(longname, 'x', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  assert_int_equal(skpi_inc_health(inc, "", T0, T0 + 1, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_inc_health(inc, NULL, T0, T0 + 1, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_inc_health(inc, longname, T0, T0 + 1, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_inc_health(inc, "c", T0 + 1, T0, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_inc_health(inc, "c", 0.0 / 0.0, T0, 1, 0), SKPI_EINVAL);
  assert_int_equal(skpi_inc_health(inc, "c", T0, T0 + 1, (enum skpi_cause)77, 0), SKPI_EINVAL);
  skpi_inc_alert a = {1, "", NULL, NULL, NULL, T0, 0};
  assert_int_equal(skpi_inc_alert_apply(inc, &a, T0), SKPI_EINVAL);
  a.fingerprint = "fp";
  a.cluster = longname;
  assert_int_equal(skpi_inc_alert_apply(inc, &a, T0), SKPI_EINVAL);
  assert_int_equal(skpi_inc_count(inc), 0);
  skpi_inc_free(inc);
}

static void alerts_idempotent_and_unknown_counted(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  skpi_inc_alert a = {1, "fp1", "KafkaDown", "critical", "prod", T0 + 100, 0};
  assert_int_equal(skpi_inc_alert_apply(inc, &a, T0 + 110), SKPI_OK);
  assert_int_equal(skpi_inc_alert_apply(inc, &a, T0 + 120), SKPI_OK); /* repeat */
  assert_int_equal(skpi_inc_count(inc), 1);
  a.firing = 0;
  a.ends_at = T0 + 700;
  assert_int_equal(skpi_inc_alert_apply(inc, &a, T0 + 710), SKPI_OK);
  assert_int_equal(skpi_inc_alert_apply(inc, &a, T0 + 720), SKPI_OK); /* repeat */
  a.firing = 1;
  assert_int_equal(skpi_inc_alert_apply(inc, &a, T0 + 730), SKPI_OK); /* late firing */
  assert_int_equal(skpi_inc_count(inc), 1);
  assert_int_equal(skpi_inc_unknown_resolved(inc), 0);
  skpi_inc_info i;
  skpi_inc_get(inc, 0, &i);
  assert_false(i.open);
  assert_true(i.end - i.start == 600);
  assert_string_equal(i.cause, "KafkaDown");
  assert_string_equal(i.fingerprint, "fp1");
  skpi_inc_alert u = {0, "nobody", NULL, NULL, NULL, T0, T0 + 5};
  assert_int_equal(skpi_inc_alert_apply(inc, &u, T0 + 800), SKPI_OK);
  assert_int_equal(skpi_inc_unknown_resolved(inc), 1);
  /* the same fingerprint firing again later is a new incident */
  a.starts_at = T0 + 2000;
  a.ends_at = 0;
  assert_int_equal(skpi_inc_alert_apply(inc, &a, T0 + 2000), SKPI_OK);
  assert_int_equal(skpi_inc_count(inc), 2);
  skpi_inc_free(inc);
}

static void cap_drops_oldest_resolved_then_refuses(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 2);
  skpi_inc_alert a = {1, "a", NULL, NULL, "c", T0, 0};
  skpi_inc_alert b = {1, "b", NULL, NULL, "c", T0 + 10, 0};
  skpi_inc_alert c = {1, "c", NULL, NULL, "c", T0 + 20, 0};
  skpi_inc_alert_apply(inc, &a, T0);
  skpi_inc_alert_apply(inc, &b, T0);
  a.firing = 0;
  skpi_inc_alert_apply(inc, &a, T0 + 30);
  skpi_inc_alert_apply(inc, &c, T0 + 40); /* drops resolved "a" */
  skpi_inc_info i;
  assert_int_equal(skpi_inc_count(inc), 2);
  skpi_inc_get(inc, 0, &i);
  assert_string_equal(i.fingerprint, "b");
  skpi_inc_alert d = {1, "d", NULL, NULL, "c", T0 + 50, 0};
  /* all open: refused so that the sender can retry, and counted */
  assert_int_equal(skpi_inc_alert_apply(inc, &d, T0 + 50), SKPI_ETOOBIG);
  assert_int_equal(skpi_inc_count(inc), 2);
  assert_int_equal(skpi_inc_dropped(inc), 1);
  skpi_inc_free(inc);
}

static void prune_keeps_31_days(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  skpi_inc_alert a = {1, "a", NULL, NULL, "c", T0, 0};
  skpi_inc_alert_apply(inc, &a, T0);
  a.firing = 0;
  a.ends_at = T0 + 60;
  skpi_inc_alert_apply(inc, &a, T0 + 60);
  skpi_inc_alert b = {1, "b", NULL, NULL, "c", T0, 0};
  skpi_inc_alert_apply(inc, &b, T0);
  skpi_inc_prune(inc, T0 + 60 + 31 * 86400.0 - 1);
  assert_int_equal(skpi_inc_count(inc), 2);
  skpi_inc_prune(inc, T0 + 60 + 31 * 86400.0 + 1);
  assert_int_equal(skpi_inc_count(inc), 1); /* the open one stays */
  skpi_inc_free(inc);
}

static void listing_newest_first(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  skpi_inc_alert a = {1, "old", "A", "warning", "c", T0, 0};
  skpi_inc_alert b = {1, "new", "B", NULL, NULL, T0 + 100.5, 0};
  skpi_inc_alert_apply(inc, &b, T0 + 200);
  skpi_inc_alert_apply(inc, &a, T0 + 200);
  json_t *l = skpi_inc_list_json(inc, T0 + 300);
  json_t *arr = json_object_get(l, "incidents");
  assert_int_equal(json_array_size(arr), 2);
  json_t *first = json_array_get(arr, 0);
  assert_string_equal(json_string_value(json_object_get(first, "fingerprint")), "new");
  assert_string_equal(json_string_value(json_object_get(first, "cluster")), "unknown");
  assert_string_equal(json_string_value(json_object_get(first, "start")),
                      "2023-11-14T22:14:40.500Z");
  assert_true(json_is_null(json_object_get(first, "end")));
  assert_true(json_real_value(json_object_get(first, "duration_seconds")) == 199.5);
  assert_true(json_is_true(json_object_get(first, "open")));
  json_t *second = json_array_get(arr, 1);
  json_t *labels = json_object_get(second, "labels");
  assert_string_equal(json_string_value(json_object_get(labels, "severity")), "warning");
  assert_string_equal(json_string_value(json_object_get(labels, "alertname")), "A");
  json_decref(l);
  skpi_inc_free(inc);
}

static char *render(const skpi_incidents *inc, double now) {
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_inc_render(inc, now, m), SKPI_OK);
  skpi_buf b;
  skpi_buf_init(&b, 1 << 20);
  const skpi_mset *sets[] = {m};
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &b), SKPI_OK);
  skpi_mset_unref(m);
  return skpi_buf_steal(&b, NULL);
}

static void metrics_and_restart(void **state) {
  skpi_incidents *inc = skpi_inc_new(3, 3, 100);
  play(inc, 0, T0 + 1860); /* open, pending resolution at restart */
  skpi_inc_alert a = {1, "fp", "X", NULL, "prod", T0 + 10, 0};
  skpi_inc_alert_apply(inc, &a, T0 + 20);
  a.firing = 0;
  a.ends_at = T0 + 400;
  skpi_inc_alert_apply(inc, &a, T0 + 400);

  json_t *doc = skpi_inc_save(inc);
  char *saved = json_dumps(doc, 0);
  json_decref(doc);
  skpi_incidents *re = skpi_inc_new(3, 3, 100);
  doc = json_loads(saved, 0, NULL);
  char err[128];
  assert_int_equal(skpi_inc_load(re, doc, err, sizeof(err)), SKPI_OK);
  json_decref(doc);
  free(saved);

  char *m1 = render(inc, T0 + 1860);
  char *m2 = render(re, T0 + 1860);
  assert_string_equal(m1, m2);
  assert_non_null(
      strstr(m1, "streamkpi_incidents_opened_total{cluster=\"prod\",source=\"health\"} 1\n"));
  assert_non_null(strstr(m1, "streamkpi_incidents_open{cluster=\"prod\",source=\"health\"} 1\n"));
  assert_non_null(
      strstr(m1, "streamkpi_incidents_open{cluster=\"prod\",source=\"alertmanager\"} 0\n"));
  assert_non_null(strstr(m1, "streamkpi_incident_recovery_seconds_bucket{cluster=\"prod\",source="
                             "\"alertmanager\",le=\"300\"} 0\n"));
  assert_non_null(strstr(m1, "streamkpi_incident_recovery_seconds_bucket{cluster=\"prod\",source="
                             "\"alertmanager\",le=\"900\"} 1\n"));
  assert_non_null(strstr(m1, "streamkpi_mttr_seconds{cluster=\"prod\",window=\"1h\"} 390\n"));
  assert_non_null(strstr(
      m1, "streamkpi_incident_oldest_open_start_timestamp_seconds{cluster=\"prod\"} 1700001780\n"));
  free(m1);
  free(m2);

  /* both continue identically: resolve after restart, counters carry on */
  play(inc, T0 + 1860, 1e12);
  play(re, T0 + 1860, 1e12);
  m1 = render(inc, T0 + 7200);
  m2 = render(re, T0 + 7200);
  assert_string_equal(m1, m2);
  assert_non_null(
      strstr(m1, "streamkpi_incidents_resolved_total{cluster=\"prod\",source=\"health\"} 1\n"));
  assert_non_null(strstr(m1, "streamkpi_mttr_seconds{cluster=\"prod\",window=\"1d\"} 830\n"));
  assert_null(strstr(m1, "streamkpi_incident_oldest_open_start_timestamp_seconds{"));
  free(m1);
  free(m2);
  skpi_inc_free(inc);
  skpi_inc_free(re);
}

/* A state document as stored on disk (finite buckets per bucket, +Inf as
 * count minus their sum) loads into the recovery histogram unchanged. */
static void stored_histogram_loads(void **state) {
  const char *stored =
      "{\"next_id\":5,\"unknown_resolved\":0,\"dropped\":0,\"series\":[{\"cluster\":\"c\","
      "\"source\":\"health\",\"opened\":4,\"resolved\":4,\"buckets\":[1,0,2,0,0,0,0,0,0],"
      "\"sum\":100900,\"count\":4}],\"trackers\":[],\"incidents\":[]}";
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  json_t *doc = json_loads(stored, 0, NULL);
  assert_non_null(doc);
  char err[128];
  assert_int_equal(skpi_inc_load(inc, doc, err, sizeof(err)), SKPI_OK);
  json_decref(doc);
  char *m = render(inc, T0);
  assert_non_null(strstr(
      m,
      "streamkpi_incident_recovery_seconds_bucket{cluster=\"c\",source=\"health\",le=\"60\"} 1\n"));
  assert_non_null(strstr(m, "streamkpi_incident_recovery_seconds_bucket{cluster=\"c\",source="
                            "\"health\",le=\"900\"} 3\n"));
  assert_non_null(strstr(m, "streamkpi_incident_recovery_seconds_bucket{cluster=\"c\",source="
                            "\"health\",le=\"86400\"} 3\n"));
  assert_non_null(strstr(m, "streamkpi_incident_recovery_seconds_bucket{cluster=\"c\",source="
                            "\"health\",le=\"+Inf\"} 4\n"));
  assert_non_null(strstr(
      m, "streamkpi_incident_recovery_seconds_sum{cluster=\"c\",source=\"health\"} 100900\n"));
  free(m);
  /* Saved again, it is the same document. */
  json_t *again = skpi_inc_save(inc);
  json_t *series = json_array_get(json_object_get(again, "series"), 0);
  assert_int_equal(json_integer_value(json_object_get(series, "count")), 4);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(series, "buckets"), 2)), 2);
  json_decref(again);
  skpi_inc_free(inc);
}

static void load_rejects_garbage(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  skpi_inc_alert a = {1, "fp", NULL, NULL, "c", T0, 0};
  skpi_inc_alert_apply(inc, &a, T0);
  const char *bad[] = {
      "[]",
      "{}",
      "{\"next_id\":0,\"unknown_resolved\":0,\"dropped\":0,\"series\":[],\"trackers\":[],"
      "\"incidents\":[]}",
      "{\"next_id\":1,\"unknown_resolved\":-1,\"dropped\":0,\"series\":[],\"trackers\":[],"
      "\"incidents\":[]}",
      "{\"next_id\":5,\"unknown_resolved\":0,\"dropped\":0,\"series\":[{\"cluster\":\"c\","
      "\"source\":\"bogus\",\"opened\":1,\"resolved\":0,\"buckets\":[0,0,0,0,0,0,0,0,0],\"sum\":0,"
      "\"count\":0}],\"trackers\":[],\"incidents\":[]}",
      "{\"next_id\":5,\"unknown_resolved\":0,\"dropped\":0,\"series\":[{\"cluster\":\"c\","
      "\"source\":\"health\",\"opened\":1,\"resolved\":0,\"buckets\":[0,0],\"sum\":0,"
      "\"count\":0}],\"trackers\":[],\"incidents\":[]}",
      "{\"next_id\":5,\"unknown_resolved\":0,\"dropped\":0,\"series\":[{\"cluster\":\"c\","
      "\"source\":\"health\",\"opened\":1,\"resolved\":1,\"buckets\":[2,0,0,0,0,0,0,0,0],\"sum\":0,"
      "\"count\":1}],\"trackers\":[],\"incidents\":[]}",
      "{\"next_id\":5,\"unknown_resolved\":0,\"dropped\":0,\"series\":[],\"trackers\":"
      "[{\"cluster\":\"c\",\"unhealthy\":1,\"healthy\":0,\"streak_start\":1,\"healthy_start\":0,"
      "\"cause\":9}],\"incidents\":[]}",
  };
  json_t *before = skpi_inc_save(inc);
  char *b1 = json_dumps(before, JSON_SORT_KEYS);
  for(size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    json_t *doc = json_loads(bad[k], 0, NULL);
    assert_non_null(doc);
    char err[128] = "";
    assert_int_equal(skpi_inc_load(inc, doc, err, sizeof(err)), SKPI_ESTATE);
    assert_true(err[0] != '\0');
    json_decref(doc);
    json_t *after = skpi_inc_save(inc);
    char *b2 = json_dumps(after, JSON_SORT_KEYS);
    assert_string_equal(b1, b2);
    free(b2);
    json_decref(after);
  }
  free(b1);
  json_decref(before);
  skpi_inc_free(inc);
}

/* An alert the loader would refuse is refused at input, and a saved entry
 * the loader refuses costs that entry only. */
static void bad_alert_entry_dropped_alone(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  skpi_inc_alert empty = {1, "fp0", "", NULL, "c", T0, 0};
  assert_int_equal(skpi_inc_alert_apply(inc, &empty, T0), SKPI_EINVAL);
  empty.alertname = "A";
  empty.severity = "";
  assert_int_equal(skpi_inc_alert_apply(inc, &empty, T0), SKPI_EINVAL);
  assert_int_equal(skpi_inc_count(inc), 0);
  const char *doc_text =
      "{\"next_id\":4,\"unknown_resolved\":0,\"dropped\":0,\"series\":[{\"cluster\":\"c\","
      "\"source\":\"alertmanager\",\"opened\":3,\"resolved\":0,\"buckets\":[0,0,0,0,0,0,0,0,0],"
      "\"sum\":0,\"count\":0}],\"trackers\":[],\"incidents\":["
      "{\"id\":1,\"source\":\"alertmanager\",\"cluster\":\"c\",\"cause\":\"A\",\"fingerprint\":"
      "\"f1\",\"alertname\":\"A\",\"severity\":null,\"start\":1700000000,\"end\":0,\"open\":true},"
      "{\"id\":2,\"source\":\"alertmanager\",\"cluster\":\"c\",\"cause\":\"\",\"fingerprint\":"
      "\"f2\",\"alertname\":\"\",\"severity\":null,\"start\":1700000000,\"end\":0,\"open\":true},"
      "{\"id\":3,\"source\":\"alertmanager\",\"cluster\":\"c\",\"cause\":\"B\",\"fingerprint\":"
      "\"f3\",\"alertname\":\"B\",\"severity\":null,\"start\":253402300000,\"end\":0,"
      "\"open\":true}]}";
  json_t *doc = json_loads(doc_text, 0, NULL);
  assert_non_null(doc);
  char err[128] = "";
  assert_int_equal(skpi_inc_load(inc, doc, err, sizeof(err)), SKPI_OK);
  json_decref(doc);
  assert_int_equal(skpi_inc_count(inc), 1);
  assert_int_equal(skpi_inc_load_dropped(inc), 2);
  skpi_inc_info i;
  skpi_inc_get(inc, 0, &i);
  assert_string_equal(i.fingerprint, "f1");
  skpi_inc_free(inc);
}

static void alert_times_bounded(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  const double now = T0;
  skpi_inc_alert a = {1, "fp", "A", NULL, "c", 253402300000.0 /* year 9999 */, 0};
  assert_int_equal(skpi_inc_alert_apply(inc, &a, now), SKPI_EINVAL);
  assert_non_null(skpi_inc_alert_check(&a, now));
  a.starts_at = 631152000.0; /* 1990 */
  assert_int_equal(skpi_inc_alert_apply(inc, &a, now), SKPI_EINVAL);
  a.starts_at = now - 60;
  a.ends_at = now + 2 * 86400.0;
  assert_int_equal(skpi_inc_alert_apply(inc, &a, now), SKPI_EINVAL);
  assert_int_equal(skpi_inc_count(inc), 0);
  a.ends_at = now + 300; /* Alertmanager's usual endsAt of a firing alert */
  assert_null(skpi_inc_alert_check(&a, now));
  assert_int_equal(skpi_inc_alert_apply(inc, &a, now), SKPI_OK);
  assert_int_equal(skpi_inc_count(inc), 1);
  skpi_inc_free(inc);
}

static void undeclared_clusters_share_one_bucket(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 100);
  assert_int_equal(skpi_inc_declare(inc, "prod"), SKPI_OK);
  char fp[32], cl[32];
  for(int k = 0; k < 50; k++) {
    snprintf(fp, sizeof(fp), "fp%d", k);
    snprintf(cl, sizeof(cl), "forged%d", k);
    skpi_inc_alert a = {1, fp, "A", NULL, cl, T0, 0};
    assert_int_equal(skpi_inc_alert_apply(inc, &a, T0), SKPI_OK);
  }
  skpi_inc_alert p = {1, "mine", "A", NULL, "prod", T0, 0};
  assert_int_equal(skpi_inc_alert_apply(inc, &p, T0), SKPI_OK);
  for(size_t k = 0; k < skpi_inc_count(inc); k++) {
    skpi_inc_info i;
    skpi_inc_get(inc, k, &i);
    assert_string_equal(i.cluster, k < 50 ? "other" : "prod");
  }
  skpi_inc_free(inc);
}

static void alertmanager_quota_leaves_room_for_health(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  char fp[32];
  for(int k = 0; k < 9; k++) {
    snprintf(fp, sizeof(fp), "fp%d", k);
    skpi_inc_alert a = {1, fp, "A", NULL, "c", T0, 0};
    assert_int_equal(skpi_inc_alert_apply(inc, &a, T0), SKPI_OK);
  }
  skpi_inc_alert over = {1, "over", "A", NULL, "c", T0, 0};
  assert_int_equal(skpi_inc_alert_apply(inc, &over, T0), SKPI_ETOOBIG);
  assert_int_equal(skpi_inc_dropped(inc), 1);
  assert_int_equal(skpi_inc_health(inc, "c", T0, T0 + 10, SKPI_CAUSE_PROBE_FAILING, 0), SKPI_OK);
  assert_int_equal(skpi_inc_count(inc), 10);
  skpi_inc_free(inc);
}

static void batch_applies_all_or_none(void **state) {
  skpi_incidents *inc = skpi_inc_new(1, 1, 10);
  skpi_inc_alert keep = {1, "keep", "A", NULL, "c", T0, 0};
  assert_int_equal(skpi_inc_alert_apply(inc, &keep, T0), SKPI_OK);
  json_t *d0 = skpi_inc_save(inc);
  char *before = json_dumps(d0, JSON_SORT_KEYS);
  json_decref(d0);
  /* Twelve new alerts: the ninth open one hits the quota mid-way. */
  skpi_inc_alert batch[12];
  char fps[12][16];
  for(int k = 0; k < 12; k++) {
    snprintf(fps[k], sizeof(fps[k]), "b%d", k);
    batch[k] = (skpi_inc_alert){1, fps[k], "A", NULL, "c", T0, 0};
  }
  char err[128] = "";
  assert_int_equal(skpi_inc_alerts_apply(inc, batch, 12, T0, err, sizeof(err)), SKPI_ETOOBIG);
  assert_non_null(strstr(err, "full"));
  assert_int_equal(skpi_inc_dropped(inc), 1);
  json_t *d1 = skpi_inc_save(inc);
  json_object_set_new(d1, "dropped", json_integer(0));
  char *after = json_dumps(d1, JSON_SORT_KEYS);
  json_decref(d1);
  assert_string_equal(before, after);
  free(before);
  free(after);
  /* A refused alert anywhere in the batch: nothing applied, the reason named. */
  batch[5].starts_at = 253402300000.0;
  assert_int_equal(skpi_inc_alerts_apply(inc, batch, 3 + 3, T0, err, sizeof(err)), SKPI_EINVAL);
  assert_non_null(strstr(err, "alerts[5]"));
  assert_int_equal(skpi_inc_count(inc), 1);
  assert_int_equal(skpi_inc_alerts_apply(inc, batch, 5, T0, err, sizeof(err)), SKPI_OK);
  assert_int_equal(skpi_inc_count(inc), 6);
  skpi_inc_free(inc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(causes_by_priority),
      cmocka_unit_test(timeline_one_incident),
      cmocka_unit_test(open_while_unhealthy),
      cmocka_unit_test(flapping_below_threshold_opens_nothing),
      cmocka_unit_test(flapping_recovery_stays_open),
      cmocka_unit_test(bad_input_rejected),
      cmocka_unit_test(alerts_idempotent_and_unknown_counted),
      cmocka_unit_test(cap_drops_oldest_resolved_then_refuses),
      cmocka_unit_test(prune_keeps_31_days),
      cmocka_unit_test(listing_newest_first),
      cmocka_unit_test(metrics_and_restart),
      cmocka_unit_test(stored_histogram_loads),
      cmocka_unit_test(load_rejects_garbage),
      cmocka_unit_test(bad_alert_entry_dropped_alone),
      cmocka_unit_test(alert_times_bounded),
      cmocka_unit_test(undeclared_clusters_share_one_bucket),
      cmocka_unit_test(alertmanager_quota_leaves_room_for_health),
      cmocka_unit_test(batch_applies_all_or_none),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
