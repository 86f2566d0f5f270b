/* test_assess_report.c: the outputs of an assessment: metrics, JSON,
 * text, markdown and the HTML report (which it also writes to
 * build/assess-fixture.html for a look in a browser). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "assess_test.h"
#include "streamkpi/assess_report.h"

#define OUT_CAP (8u << 20)

static char build_dir[512] = "build";

/* Writes b to build/<name> for a look with a browser or promtool. */
static void write_fixture(const char *name, const skpi_buf *b) {
  char path[600];
  snprintf(path, sizeof(path), "%s/%s", build_dir, name);
  FILE *fp = fopen(path, "w");
  if(!fp)
    fail_msg("cannot write %s", path);
  assert_int_equal(fwrite(b->data, 1, b->len, fp), b->len);
  assert_int_equal(fclose(fp), 0);
}

/* An estate of two production clusters and a staging one, with survey
 * answers (one stale) and some facts unknown. */
static skpi_facts *estate(const char *second) {
  skpi_facts *f = at_platform();
  at_put(f, SKPI_FACT_CLUSTER_REACHABLE, second, 1, "bool");
  at_put(f, SKPI_FACT_BROKERS, second, 3, "count");
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, second, 14, "count");
  at_put(f, SKPI_FACT_ACTIVE_TEAMS, second, 4, "count");
  at_put(f, SKPI_FACT_NAMING_RATIO, second, 0.92, "ratio");
  at_put(f, SKPI_FACT_PROBE_RUNNING, second, 1, "bool");
  at_put(f, SKPI_FACT_AVAILABILITY, second, 0.9993, "ratio");
  at_put(f, SKPI_FACT_PROBE_P99, second, 0.4, "seconds");
  at_put(f, SKPI_FACT_ONBOARDING_MEDIAN, second, 5 * 3600, "seconds");
  at_put(f, SKPI_FACT_DLQ_COVERAGE, second, 0.7, "ratio");
  at_put(f, SKPI_FACT_SCHEMA_COVERAGE, second, 0.82, "ratio");
  at_put(f, SKPI_FACT_DURABLE_TOPICS, second, 0.97, "ratio");
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "staging", 1, "count");
  at_put(f, SKPI_FACT_CLUSTERS, NULL, 3, "count");
  at_put(f, SKPI_FACT_REPLICATION_FLOWS, NULL, 0, "count");
  at_put(f, SKPI_FACT_MTTR, NULL, 2700, "seconds");
  if(skpi_facts_unknown(f, SKPI_FACT_POLICY_PASS, "prod", "ratio",
                        "no policy rules are configured") != SKPI_OK)
    abort();
  return f;
}

static skpi_assessment *estate_assessment(const char *second, double now) {
  static const skpi_assess_answer ans[] = {
      {"training", 3, AT_NOW - 30 * AT_DAY, 1},
      {"community_of_practice", 2, AT_NOW - 30 * AT_DAY, 2},
      {"on_call", 4, AT_NOW - 400 * AT_DAY, 3},
      {"value_per_product", 3, AT_NOW - 20 * AT_DAY, 4},
      {"stakeholder_satisfaction", 4, AT_NOW - 20 * AT_DAY, 5}};
  skpi_assess_cluster cl[] = {{"prod", 1}, {second, 1}, {"staging", 0}};
  skpi_assess_cfg cfg = {.survey = ans, .nsurvey = 5, .clusters = cl, .nclusters = 3};
  skpi_facts *f = estate(second);
  skpi_assessment *a = NULL;
  assert_int_equal(skpi_assess_run(&cfg, f, now, &a), SKPI_OK);
  skpi_facts_free(f);
  return a;
}

/* 120 days in which the durable-topic ratio of prod climbs. */
static skpi_assess_history *estate_history(const char *second) {
  skpi_assess_history *h = skpi_assess_history_new();
  for(int i = 119; i >= 0; i--) {
    skpi_assessment *a = estate_assessment(second, AT_NOW - i * AT_DAY);
    skpi_assess_result *r = (skpi_assess_result *)skpi_assess_find(a, "l3_tech_durable");
    r->value = 0.5 + 0.35 * (119 - i) / 119.0;
    assert_int_equal(skpi_assess_history_record(h, a), SKPI_OK);
    skpi_assess_free(a);
  }
  return h;
}

static void metrics_render_expected_series(void **state) {
  skpi_assessment *a = estate_assessment("prod-us", AT_NOW);
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_assess_metrics(a, m), SKPI_OK);
  skpi_buf b;
  skpi_buf_init(&b, OUT_CAP);
  const skpi_mset *sets[] = {m};
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &b), SKPI_OK);
  assert_non_null(strstr(b.data, "# TYPE streamkpi_maturity_level gauge\n"));
  char want[128];
  snprintf(want, sizeof(want), "streamkpi_maturity_level %d\n", a->level);
  assert_non_null(strstr(b.data, want));
  snprintf(want, sizeof(want), "streamkpi_maturity_stage %d\n", a->stage);
  assert_non_null(strstr(b.data, want));
  assert_non_null(
      strstr(b.data, "streamkpi_maturity_dimension_level{dimension=\"technology\"} 2\n"));
  assert_non_null(strstr(b.data,
                         "streamkpi_maturity_criterion_status{criterion=\"l2_tech_streams\","
                         "level=\"2\",dimension=\"technology\",status=\"met\"} 1\n"));
  assert_non_null(strstr(b.data,
                         "streamkpi_maturity_criterion_status{criterion=\"l2_tech_streams\","
                         "level=\"2\",dimension=\"technology\",status=\"unmet\"} 0\n"));
  assert_non_null(strstr(b.data, "criterion=\"s3_durable\",level=\"stage_3\""));
  assert_non_null(
      strstr(b.data, "streamkpi_maturity_criterion_evidence{criterion=\"l2_tech_streams\"} 6\n"));
  assert_non_null(strstr(
      b.data, "streamkpi_maturity_criterion_threshold{criterion=\"l3_ops_availability\"} 0.999\n"));
  /* Unknown: a status series says so, but no evidence sample and never 0. */
  assert_non_null(strstr(b.data,
                         "{criterion=\"l3_gov_policy\",level=\"3\",dimension=\"governance\","
                         "status=\"unknown\"} 1\n"));
  assert_null(strstr(b.data, "streamkpi_maturity_criterion_evidence{criterion=\"l3_gov_policy\"}"));
  skpi_buf_free(&b);
  skpi_mset_unref(m);
  skpi_assess_free(a);

  /* Nothing known: no level, stage or dimension sample at all. */
  a = at_run(NULL, NULL);
  m = skpi_mset_new();
  assert_int_equal(skpi_assess_metrics(a, m), SKPI_OK);
  skpi_buf_init(&b, OUT_CAP);
  assert_int_equal(skpi_expo_render(sets, 0, SKPI_FMT_TEXT, &b), SKPI_OK);
  const skpi_mset *sets2[] = {m};
  assert_int_equal(skpi_expo_render(sets2, 1, SKPI_FMT_TEXT, &b), SKPI_OK);
  assert_null(strstr(b.data, "streamkpi_maturity_level "));
  assert_null(strstr(b.data, "streamkpi_maturity_stage "));
  assert_null(strstr(b.data, "streamkpi_maturity_dimension_level{"));
  assert_null(strstr(b.data, "streamkpi_maturity_criterion_evidence{"));
  /* For promtool check metrics, run by hand (see docs/internals/assess.md). */
  write_fixture("assess-fixture-empty.prom", &b);
  skpi_buf_free(&b);
  skpi_mset_unref(m);
  skpi_assess_free(a);
}

static void json_parses_back(void **state) {
  skpi_assessment *a = estate_assessment("prod-us", AT_NOW);
  json_t *doc = skpi_assess_json(a);
  assert_non_null(doc);
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  json_t *back = json_loads(text, 0, NULL);
  assert_non_null(back);
  free(text);
  assert_int_equal(json_integer_value(json_object_get(back, "schema_version")), 1);
  assert_int_equal(json_integer_value(json_object_get(back, "level")), a->level);
  assert_string_equal(json_string_value(json_object_get(back, "time")), "2027-01-01T00:00:00Z");
  json_t *dims = json_object_get(back, "dimensions");
  assert_int_equal(json_array_size(dims), SKPI_DIM_COUNT);
  json_t *skills = json_array_get(dims, SKPI_DIM_SKILLS);
  assert_string_equal(json_string_value(json_object_get(skills, "name")), "skills");
  assert_string_equal(json_string_value(json_object_get(skills, "basis")), "declared");
  json_t *crit = json_object_get(back, "criteria");
  assert_int_equal(json_array_size(crit), a->nresults);
  int seen_policy = 0, seen_stale = 0;
  for(size_t i = 0; i < json_array_size(crit); i++) {
    json_t *c = json_array_get(crit, i);
    const char *id = json_string_value(json_object_get(c, "id"));
    if(strcmp(id, "l3_gov_policy") == 0) {
      seen_policy = 1;
      assert_string_equal(json_string_value(json_object_get(c, "status")), "unknown");
      assert_true(json_is_null(json_object_get(c, "value")));
      assert_non_null(strstr(json_string_value(json_object_get(c, "reason")), "no policy rules"));
      assert_int_equal(json_array_size(json_object_get(c, "clusters")), 3);
    }
    if(strcmp(id, "l2_skills_on_call") == 0) {
      seen_stale = 1;
      assert_true(json_is_true(json_object_get(c, "stale")));
      assert_string_equal(json_string_value(json_object_get(c, "provenance")), "declared");
    }
  }
  assert_true(seen_policy && seen_stale);
  json_t *tech_gaps = json_object_get(json_object_get(back, "gaps"), "technology");
  assert_true(json_array_size(tech_gaps) >= 1);
  assert_non_null(json_object_get(json_array_get(tech_gaps, 0), "step"));
  json_t *pit = json_object_get(back, "pitfalls");
  assert_int_equal(json_array_size(pit), a->npitfalls);
  json_decref(back);
  skpi_assess_free(a);
}

static void text_and_markdown_summaries(void **state) {
  skpi_assessment *a = estate_assessment("prod-us", AT_NOW);
  skpi_buf b;
  skpi_buf_init(&b, OUT_CAP);
  assert_int_equal(skpi_assess_text(a, &b), SKPI_OK);
  char want[128];
  snprintf(want, sizeof(want), "Overall level: %d (%s)", a->level,
           skpi_assess_level_name(a->level));
  assert_non_null(strstr(b.data, want));
  assert_non_null(strstr(b.data, "Next steps"));
  assert_non_null(strstr(b.data, "survey.on_call: unknown, given"));
  assert_non_null(strstr(b.data, "(stale: counts as unknown)"));
  assert_non_null(strstr(b.data, "no policy rules are configured"));
  assert_non_null(strstr(b.data, "Siloed clusters"));
  skpi_buf_reset(&b);
  assert_int_equal(skpi_assess_markdown(a, &b), SKPI_OK);
  assert_true(strncmp(b.data, "# Streaming maturity assessment", 31) == 0);
  assert_non_null(strstr(b.data, "\n## Next steps\n"));
  assert_non_null(strstr(b.data, "| technology | 2 (departmental) | observed |"));
  skpi_buf_free(&b);
  /* A cap too small fails cleanly. */
  skpi_buf_init(&b, 64);
  assert_int_equal(skpi_assess_text(a, &b), SKPI_ETOOBIG);
  skpi_buf_free(&b);
  skpi_assess_free(a);
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for(const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static void html_has_hooks_and_escapes(void **state) {
  const char *evil = "<script>alert(1)</script>";
  skpi_assessment *a = estate_assessment(evil, AT_NOW);
  skpi_assess_history *h = estate_history(evil);
  skpi_buf b;
  skpi_buf_init(&b, OUT_CAP);
  assert_int_equal(skpi_assess_html(a, h, &b), SKPI_OK);
  const char *p = b.data;
  assert_true(strncmp(p, "<!DOCTYPE html>", 15) == 0);
  assert_null(strstr(p, "<script"));
  assert_non_null(strstr(p, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  /* Self-contained: nothing fetched from elsewhere. */
  assert_null(strstr(p, "src="));
  assert_null(strstr(p, "href="));
  assert_null(strstr(p, "url("));
  char want[128];
  snprintf(want, sizeof(want), "id=\"overall-level\" class=\"big\" data-level=\"%d\"", a->level);
  assert_non_null(strstr(p, want));
  snprintf(want, sizeof(want), "id=\"stage\" class=\"big\" data-stage=\"%d\"", a->stage);
  assert_non_null(strstr(p, want));
  assert_int_equal(count(p, "<g class=\"bar\" data-dimension="), SKPI_DIM_COUNT);
  assert_non_null(strstr(p, "<g class=\"bar\" data-dimension=\"technology\" data-level=\"2\">"));
  assert_non_null(strstr(p, "<tr data-criterion=\"l2_tech_streams\" data-status=\"met\""));
  assert_non_null(strstr(p, "<tr data-criterion=\"l3_gov_policy\" data-status=\"unknown\""));
  /* 120 days of history: the trend of a recorded criterion has 120 points,
   * an unknown one none. */
  assert_true(count(p, "class=\"trend\" data-points=\"120\"") >= 10);
  assert_true(count(p, "class=\"trend\" data-points=\"0\"") >= 1);
  assert_non_null(strstr(p, "id=\"level-trend\""));
  /* The overall level has a dot per day, so a single day shows too. */
  assert_int_equal(count(p, "<circle class=\"level-day\""), 120);
  assert_non_null(strstr(p, "(120 days kept)"));
  const char *gaps = strstr(p, "<section id=\"gaps\">");
  assert_non_null(gaps);
  assert_non_null(strstr(gaps, "<li data-criterion=\""));
  const char *pit = strstr(p, "<section id=\"pitfalls\">");
  assert_non_null(pit);
  assert_non_null(strstr(pit, "<li data-pitfall=\"siloed_clusters\">"));
  assert_non_null(strstr(p, "<li data-criterion=\"l3_gov_policy\">"));
  assert_non_null(strstr(p, "data-fact=\"survey.on_call\" data-stale=\"1\""));
  assert_non_null(strstr(p, "break-inside:avoid"));
  assert_non_null(strstr(p, "@page{size:A4"));
  skpi_buf_free(&b);
  /* Without history the report still renders, trend lines empty. */
  skpi_buf_init(&b, OUT_CAP);
  assert_int_equal(skpi_assess_html(a, NULL, &b), SKPI_OK);
  assert_null(strstr(b.data, "data-points=\"120\""));
  skpi_buf_free(&b);
  skpi_assess_history *one = skpi_assess_history_new();
  assert_int_equal(skpi_assess_history_record(one, a), SKPI_OK);
  skpi_buf_init(&b, OUT_CAP);
  assert_int_equal(skpi_assess_html(a, one, &b), SKPI_OK);
  assert_int_equal(count(b.data, "<circle class=\"level-day\""), 1);
  assert_non_null(strstr(b.data, "(1 day kept)"));
  skpi_buf_free(&b);
  skpi_assess_history_free(one);
  skpi_assess_history_free(h);
  skpi_assess_free(a);
}

/* The products section: one row per product, its objectives, consumers by
 * domain, and a declared value marked with its date; escaped; absent
 * without products. */
static void html_lists_products(void **state) {
  skpi_assessment *a = estate_assessment("prod-us", AT_NOW);
  json_t *doc = json_pack(
      "{s:[{s:s, s:s, s:s, s:{s:{s:b}, s:{s:b}}, s:b, s:{s:i, s:i}, s:{s:f, s:s, s:s, s:s}},"
      "{s:s, s:s, s:s, s:{}, s:n, s:{}, s:n}]}",
      "products", "name", "orders", "owner", "sales", "domain", "sales", "slos", "freshness", "met",
      1, "dlq_ratio", "met", 0, "slo_met", 0, "consumers_by_domain", "sales", 1, "logistics", 2,
      "value", "amount", 120000.0, "currency", "EUR", "period", "year", "declared", "2026-11-30",
      "name", "<b>odd</b>", "owner", "x", "domain", "y", "slos", "slo_met", "consumers_by_domain",
      "value");
  assert_non_null(doc);
  skpi_buf b;
  skpi_buf_init(&b, OUT_CAP);
  assert_int_equal(skpi_assess_html_products(a, NULL, doc, &b), SKPI_OK);
  const char *sec = strstr(b.data, "<section id=\"products\">");
  assert_non_null(sec);
  assert_non_null(strstr(sec,
                         "<tr data-product=\"orders\"><td>orders</td><td>sales / sales"
                         "</td><td>missed: freshness met, dlq_ratio missed</td><td>sales 1, "
                         "logistics 2</td><td>120000 EUR / year <span class=\"badge declared\">"
                         "declared 2026-11-30</span></td></tr>"));
  assert_non_null(strstr(sec, "<td>none declared</td><td>none seen</td>"));
  assert_non_null(strstr(sec, "&lt;b&gt;odd&lt;/b&gt;"));
  assert_null(strstr(b.data, "<b>odd"));
  skpi_buf_reset(&b);
  assert_int_equal(skpi_assess_html(a, NULL, &b), SKPI_OK);
  assert_null(strstr(b.data, "id=\"products\""));
  /* The date badge has a background of its own: the bare badge is white text. */
  assert_non_null(strstr(b.data, ".badge.declared{background:"));
  skpi_buf_free(&b);
  json_decref(doc);
  skpi_assess_free(a);
}

static void html_fixture_written(void **state) {
  skpi_assessment *a = estate_assessment("prod-us", AT_NOW);
  skpi_assess_history *h = estate_history("prod-us");
  skpi_buf b;
  skpi_buf_init(&b, OUT_CAP);
  assert_int_equal(skpi_assess_html(a, h, &b), SKPI_OK);
  write_fixture("assess-fixture.html", &b);
  skpi_buf_reset(&b);
  /* The same estate's metrics, for promtool. */
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_assess_metrics(a, m), SKPI_OK);
  const skpi_mset *sets[] = {m};
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &b), SKPI_OK);
  write_fixture("assess-fixture.prom", &b);
  skpi_mset_unref(m);
  skpi_buf_reset(&b);
  assert_int_equal(skpi_assess_markdown(a, &b), SKPI_OK);
  write_fixture("assess-fixture.md", &b);
  skpi_assess_history_free(h);
  skpi_assess_free(a);
  /* And an estate where nothing is known yet. */
  a = at_run(NULL, NULL);
  skpi_buf_reset(&b);
  assert_int_equal(skpi_assess_html(a, NULL, &b), SKPI_OK);
  assert_non_null(strstr(b.data, "id=\"overall-level\" class=\"big\" data-level=\"unknown\""));
  assert_int_equal(count(b.data, "data-level=\"unknown\"><rect"), SKPI_DIM_COUNT);
  write_fixture("assess-fixture-empty.html", &b);
  skpi_buf_free(&b);
  skpi_assess_free(a);
}

int main(int argc, char **argv) {
  at_repo_path(argc > 0 ? argv[0] : NULL, "build", build_dir, sizeof(build_dir));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(metrics_render_expected_series),
      cmocka_unit_test(json_parses_back),
      cmocka_unit_test(text_and_markdown_summaries),
      cmocka_unit_test(html_has_hooks_and_escapes),
      cmocka_unit_test(html_lists_products),
      cmocka_unit_test(html_fixture_written),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
