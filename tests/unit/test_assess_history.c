/* test_assess_history.c: one assessment per day, cap, events, save/load
 * round trip and refusal of garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "assess_test.h"
#include "streamkpi/assess_history.h"

/* The platform with a number of active streams that varies by day, so
 * levels and evidence move. */
static skpi_assessment *day_assessment(double t, double streams) {
  skpi_facts *f = at_platform();
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "prod", streams, "count");
  skpi_assess_cfg cfg = {0};
  skpi_assessment *a = NULL;
  assert_int_equal(skpi_assess_run(&cfg, f, t, &a), SKPI_OK);
  skpi_facts_free(f);
  return a;
}

static void record(skpi_assess_history *h, double t, double streams) {
  skpi_assessment *a = day_assessment(t, streams);
  assert_int_equal(skpi_assess_history_record(h, a), SKPI_OK);
  skpi_assess_free(a);
}

static void last_of_the_day_wins(void **state) {
  skpi_assess_history *h = skpi_assess_history_new();
  skpi_assess_day d;
  enum skpi_assess_status st;
  double v;
  record(h, AT_NOW + 3600, 2);      /* technology 1 */
  record(h, AT_NOW + 22 * 3600, 6); /* same day, technology 2 */
  assert_int_equal(skpi_assess_history_len(h), 1);
  assert_true(skpi_assess_history_day(h, 0, &d));
  assert_int_equal(d.day, (long)(AT_NOW / AT_DAY));
  assert_int_equal(d.dims[SKPI_DIM_TECHNOLOGY], 2);
  assert_int_equal(d.dims[SKPI_DIM_SKILLS], SKPI_ASSESS_UNKNOWN);
  assert_true(skpi_assess_history_criterion(h, 0, "l2_tech_streams", &st, &v));
  assert_int_equal(st, SKPI_ST_MET);
  assert_float_equal(v, 6, 0);
  assert_true(skpi_assess_history_criterion(h, 0, "l3_gov_policy", &st, &v));
  assert_int_equal(st, SKPI_ST_UNKNOWN);
  assert_true(isnan(v));
  assert_false(skpi_assess_history_criterion(h, 0, "no_such", &st, &v));
  record(h, AT_NOW + AT_DAY, 7); /* the next day */
  assert_int_equal(skpi_assess_history_len(h), 2);
  /* A day before the first is put in order. */
  record(h, AT_NOW - AT_DAY, 1);
  assert_int_equal(skpi_assess_history_len(h), 3);
  assert_true(skpi_assess_history_day(h, 0, &d));
  assert_int_equal(d.day, (long)(AT_NOW / AT_DAY) - 1);
  assert_false(skpi_assess_history_day(h, 3, &d));
  skpi_assess_history_free(h);
}

static void bad_time_refused(void **state) {
  skpi_assess_history *h = skpi_assess_history_new();
  skpi_assessment *a = day_assessment(AT_NOW, 3);
  a->time = NAN;
  assert_int_equal(skpi_assess_history_record(h, a), SKPI_EINVAL);
  a->time = -5;
  assert_int_equal(skpi_assess_history_record(h, a), SKPI_EINVAL);
  assert_int_equal(skpi_assess_history_len(h), 0);
  skpi_assess_free(a);
  skpi_assess_history_free(h);
}

static void cap_drops_the_oldest(void **state) {
  skpi_assess_history *h = skpi_assess_history_new();
  skpi_assessment *a = day_assessment(AT_NOW, 3);
  int extra = 100;
  for(int i = 0; i < SKPI_ASSESS_HISTORY_DAYS + extra; i++) {
    a->time = AT_NOW + i * AT_DAY;
    assert_int_equal(skpi_assess_history_record(h, a), SKPI_OK);
  }
  assert_int_equal(skpi_assess_history_len(h), SKPI_ASSESS_HISTORY_DAYS);
  skpi_assess_day d;
  assert_true(skpi_assess_history_day(h, 0, &d));
  assert_int_equal(d.day, (long)(AT_NOW / AT_DAY) + extra);
  assert_true(SKPI_ASSESS_HISTORY_DAYS >= 730);
  skpi_assess_free(a);
  skpi_assess_history_free(h);
}

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void two_years_round_trip(void **state) {
  skpi_assess_history *h = skpi_assess_history_new();
  for(int i = 0; i < 730; i++)
    record(h, AT_NOW + i * AT_DAY + 600, (i * 7) % 11 + 0.123456789 * i);
  json_t *doc = skpi_assess_history_save(h);
  assert_non_null(doc);
  char *text = json_dumps(doc, JSON_COMPACT);
  assert_non_null(text);
  json_decref(doc);
  double t0 = mono();
  json_t *back = json_loads(text, 0, NULL);
  assert_non_null(back);
  skpi_assess_history *h2 = skpi_assess_history_new();
  char err[256] = "";
  assert_int_equal(skpi_assess_history_load(h2, back, err, sizeof(err)), SKPI_OK);
  double took = mono() - t0;
  size_t ncrit;
  skpi_assess_criteria(&ncrit);
  print_message("730 days, %zu criteria, %zu bytes: parse + load took %.1f ms\n", ncrit,
                strlen(text), took * 1000);
  json_decref(back);
  assert_int_equal(skpi_assess_history_len(h2), 730);
  size_t n;
  const skpi_criterion *c = skpi_assess_criteria(&n);
  for(size_t i = 0; i < 730; i++) {
    skpi_assess_day x, y;
    memset(&x, 0, sizeof(x));
    memset(&y, 0, sizeof(y));
    assert_true(skpi_assess_history_day(h, i, &x));
    assert_true(skpi_assess_history_day(h2, i, &y));
    assert_memory_equal(&x, &y, sizeof(x));
    for(size_t k = 0; k < n; k++) {
      enum skpi_assess_status s1, s2;
      double v1, v2;
      assert_int_equal(skpi_assess_history_criterion(h, i, c[k].id, &s1, &v1),
                       skpi_assess_history_criterion(h2, i, c[k].id, &s2, &v2));
      assert_int_equal(s1, s2);
      assert_true((isnan(v1) && isnan(v2)) || v1 == v2);
    }
  }
  /* Evidence is kept to six significant digits. */
  double v;
  assert_true(skpi_assess_history_criterion(h2, 729, "l1_tech_streams", NULL, &v));
  assert_true(fabs(v - ((729 * 7) % 11 + 0.123456789 * 729)) < 1e-3);
  free(text);
  skpi_assess_history_free(h);
  skpi_assess_history_free(h2);
}

/* Loads text, expects a refusal naming `why`, and an empty history. */
static void refused(skpi_assess_history *h, const char *text, const char *why) {
  json_error_t je;
  json_t *doc = json_loads(text, 0, &je);
  char err[256] = "";
  if(!doc)
    fail_msg("test input does not parse: %s", je.text);
  assert_int_equal(skpi_assess_history_load(h, doc, err, sizeof(err)), SKPI_ESTATE);
  if(!strstr(err, why))
    fail_msg("reason \"%s\" does not mention \"%s\"", err, why);
  assert_int_equal(skpi_assess_history_len(h), 0);
  json_decref(doc);
}

#define OK_DOC                                                                                     \
  "{\"version\":1,\"criteria\":[\"a\",\"b\"],\"day\":[20000,20001],\"level\":[1,2],"               \
  "\"stage\":[1,-1],\"dims\":[[1,1,-1,2,1],[2,2,-1,2,2]],\"status\":[\"mu\",\"mn\"],"              \
  "\"evidence\":[[3,null],[4,0.5]]}"

static void garbage_is_refused(void **state) {
  skpi_assess_history *h = skpi_assess_history_new();
  json_t *ok = json_loads(OK_DOC, 0, NULL);
  assert_int_equal(skpi_assess_history_load(h, ok, NULL, 0), SKPI_OK);
  assert_int_equal(skpi_assess_history_len(h), 2);
  json_decref(ok);
  enum skpi_assess_status st;
  assert_true(skpi_assess_history_criterion(h, 1, "b", &st, NULL));
  assert_int_equal(st, SKPI_ST_UNMET);

  refused(h, "[]", "not an object");
  refused(h, "{\"version\":2}", "version");
  /* Truncated: the arrays stop short of the days. */
  refused(h,
          "{\"version\":1,\"criteria\":[\"a\"],\"day\":[20000,20001],\"level\":[1],"
          "\"stage\":[1],\"dims\":[[1,1,1,1,1]],\"status\":[\"m\"],\"evidence\":[[1]]}",
          "entries");
  refused(h,
          "{\"version\":1,\"criteria\":[\"a\"],\"day\":[20000],\"level\":[1],\"stage\":[1],"
          "\"dims\":[[1,1,1,1]],\"status\":[\"m\"],\"evidence\":[[1]]}",
          "dims[0]");
  /* Wrong types. */
  refused(h,
          "{\"version\":1,\"criteria\":[\"a\"],\"day\":[\"x\"],\"level\":[1],\"stage\":[1],"
          "\"dims\":[[1,1,1,1,1]],\"status\":[\"m\"],\"evidence\":[[1]]}",
          "day[0]");
  refused(h,
          "{\"version\":1,\"criteria\":[\"a\"],\"day\":[20000],\"level\":[1.5],\"stage\":[1],"
          "\"dims\":[[1,1,1,1,1]],\"status\":[\"m\"],\"evidence\":[[1]]}",
          "level or stage");
  refused(h,
          "{\"version\":1,\"criteria\":[\"a\"],\"day\":[20000],\"level\":[1],\"stage\":[1],"
          "\"dims\":[[1,1,1,1,1]],\"status\":[\"x\"],\"evidence\":[[1]]}",
          "status[0]");
  refused(h,
          "{\"version\":1,\"criteria\":[\"a\"],\"day\":[20000],\"level\":[1],\"stage\":[1],"
          "\"dims\":[[1,1,1,1,1]],\"status\":[\"m\"],\"evidence\":[[\"1\"]]}",
          "evidence[0][0]");
  refused(h, "{\"version\":1,\"criteria\":[\"a\",\"a\"],\"day\":[]}", "criteria[1]");
  refused(h, "{\"version\":1,\"criteria\":[\"<script>\"],\"day\":[]}", "criteria[0]");
  /* Huge numbers. */
  refused(h,
          "{\"version\":1,\"criteria\":[\"a\"],\"day\":[20000],\"level\":[1],\"stage\":[1],"
          "\"dims\":[[1,1,1,1,1]],\"status\":[\"m\"],\"evidence\":[[1e300]]}",
          "evidence[0][0]");
  refused(h,
          "{\"version\":1,\"criteria\":[\"a\"],\"day\":[999999999999],\"level\":[1],"
          "\"stage\":[1],\"dims\":[[1,1,1,1,1]],\"status\":[\"m\"],\"evidence\":[[1]]}",
          "day[0]");
  refused(h,
          "{\"version\":1,\"criteria\":[\"a\"],\"day\":[20000],\"level\":[99],\"stage\":[1],"
          "\"dims\":[[1,1,1,1,1]],\"status\":[\"m\"],\"evidence\":[[1]]}",
          "level or stage");
  /* Days out of order. */
  refused(h,
          "{\"version\":1,\"criteria\":[],\"day\":[20001,20000],\"level\":[1,1],"
          "\"stage\":[1,1],\"dims\":[[1,1,1,1,1],[1,1,1,1,1]],\"status\":[\"\",\"\"],"
          "\"evidence\":[[],[]]}",
          "day[1]");

  /* 10,000 days: far over the cap. */
  json_t *big = json_object(), *days = json_array();
  for(int i = 0; i < 10000; i++)
    json_array_append_new(days, json_integer(20000 + i));
  json_object_set_new(big, "version", json_integer(1));
  json_object_set_new(big, "criteria", json_array());
  json_object_set_new(big, "day", days);
  char err[256] = "";
  assert_int_equal(skpi_assess_history_load(h, big, err, sizeof(err)), SKPI_ESTATE);
  assert_non_null(strstr(err, "10000 days"));
  assert_int_equal(skpi_assess_history_len(h), 0);
  json_decref(big);
  skpi_assess_history_free(h);
}

static void level_changes_are_events(void **state) {
  skpi_assess_history *h = skpi_assess_history_new();
  record(h, AT_NOW, 2);              /* technology 1 */
  record(h, AT_NOW + AT_DAY, 2);     /* no change */
  record(h, AT_NOW + 2 * AT_DAY, 6); /* technology 2: overall 1 -> 2 */
  json_t *doc = skpi_assess_history_json(h);
  assert_non_null(doc);
  assert_int_equal(json_integer_value(json_object_get(doc, "schema_version")), 1);
  json_t *days = json_object_get(doc, "days");
  assert_int_equal(json_array_size(days), 3);
  assert_string_equal(json_string_value(json_array_get(days, 0)), "2027-01-01");
  json_t *tech = json_object_get(json_object_get(doc, "dimensions"), "technology");
  assert_int_equal(json_integer_value(json_array_get(tech, 2)), 2);
  assert_true(json_is_null(
      json_array_get(json_object_get(json_object_get(doc, "dimensions"), "skills"), 0)));
  json_t *crit = json_object_get(json_object_get(doc, "criteria"), "l2_tech_streams");
  assert_string_equal(json_string_value(json_array_get(json_object_get(crit, "status"), 0)),
                      "unmet");
  assert_float_equal(json_number_value(json_array_get(json_object_get(crit, "evidence"), 2)), 6, 0);
  json_t *events = json_object_get(doc, "events");
  assert_int_equal(json_array_size(events), 1);
  json_t *ev = json_array_get(events, 0);
  assert_string_equal(json_string_value(json_object_get(ev, "date")), "2027-01-03");
  json_t *changes = json_object_get(ev, "changes");
  int saw_level = 0, saw_tech = 0;
  for(size_t i = 0; i < json_array_size(changes); i++) {
    json_t *c = json_array_get(changes, i);
    const char *what = json_string_value(json_object_get(c, "what"));
    if(strcmp(what, "level") == 0) {
      saw_level = 1;
      assert_int_equal(json_integer_value(json_object_get(c, "from")), 1);
      assert_int_equal(json_integer_value(json_object_get(c, "to")), 2);
    }
    saw_tech |= strcmp(what, "technology") == 0;
  }
  assert_true(saw_level && saw_tech);
  json_t *moved = json_object_get(ev, "criteria");
  assert_int_equal(json_array_size(moved), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(moved, 0), "id")),
                      "l2_tech_streams");
  assert_string_equal(json_string_value(json_object_get(json_array_get(moved, 0), "to")), "met");
  json_decref(doc);
  skpi_assess_history_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(last_of_the_day_wins), cmocka_unit_test(bad_time_refused),
      cmocka_unit_test(cap_drops_the_oldest), cmocka_unit_test(two_years_round_trip),
      cmocka_unit_test(garbage_is_refused),   cmocka_unit_test(level_changes_are_events),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
