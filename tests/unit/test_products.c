/* test_products.c: the data-product family fed scripted events: exact
 * attainment of freshness, DLQ ratio, availability and retention SLOs,
 * consumers by domain and the reuse ratio, ownership hygiene, facts, the
 * products document, and its saved state.  Run from the repository root. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_test.h"
#include "kpi_test.h"
#include "streamkpi/dlq.h"
#include "streamkpi/facts.h"
#include "streamkpi/kpi.h"
#include "streamkpi/products.h"

#define T0 1767225600.0 /* 2026-01-01T00:00:00Z */

static const char *const CONFIG =
    "clusters:\n  - name: prod\n    bootstrap_servers: k:9092\n"
    "targets:\n  - name: shop\n    url: http://127.0.0.1:1/metrics\n"
    "catalog:\n"
    "  team_regex: '^([a-z]+)[._-]'\n"
    "  slo_objective: 0.9\n"
    "  slo_window: 1h\n"
    "  group_domains: {'^audit-': compliance}\n"
    "  products:\n"
    "    - name: orders\n      owner: orders\n      domain: sales\n"
    "      topics: [orders.events]\n      freshness: 60s\n      dlq_ratio: 0.1\n"
    "      availability: 0.5\n      consumers: {billing-app: finance}\n"
    "    - name: stock\n      owner: stock\n      domain: warehouse\n"
    "      topics: [stock.levels]\n      freshness: 60s\n"
    "    - name: ledger\n      owner: ledger\n      domain: finance\n"
    "      topics: [orders.events]\n      freshness: 60s\n      retention: 1d\n"
    "      value: {amount: 5000, currency: EUR, period: month, date: 2026-01-10}\n"
    "      value_target: shop\n"
    "    - name: unused\n      owner: misc\n      domain: misc\n"
    "      topics: [nobody.reads, ghost.topic]\n";

typedef struct fx {
  skpi_config *cfg;
  void *dlq, *prod;
} fx;

static void *lookup(const skpi_kpi_ctx *ctx, const char *family, const char *cluster) {
  fx *f = ctx->lookup_user;
  return !strcmp(family, "dlq") && cluster && !strcmp(cluster, "prod") ? f->dlq : NULL;
}

static void *make_products(fx *f) {
  skpi_kpi_ctx ctx = {f->cfg, NULL, 0, lookup, f};
  char err[256] = "";
  void *self = NULL;
  assert_int_equal(skpi_kpi_products.create(&ctx, &self, err, sizeof(err)), SKPI_OK);
  assert_non_null(self);
  return self;
}

static void setup_fx(fx *f) {
  char tail[512];
  memset(f, 0, sizeof(*f));
  if(ct_load(CONFIG, tail, sizeof(tail), &f->cfg) != SKPI_OK)
    fail_msg("config: %s", tail);
  skpi_kpi_ctx dctx = {f->cfg, &f->cfg->clusters[0], 0, lookup, f};
  char err[256] = "";
  assert_int_equal(skpi_kpi_dlq.create(&dctx, &f->dlq, err, sizeof(err)), SKPI_OK);
  f->prod = make_products(f);
}

static void teardown_fx(fx *f) {
  skpi_kpi_products.free(f->prod);
  skpi_kpi_dlq.free(f->dlq);
  skpi_config_free(f->cfg);
}

static skpi_event cluster_ev(enum skpi_event_kind kind, double now) {
  skpi_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = kind;
  ev.now = now;
  ev.cluster = "prod";
  return ev;
}

/* Sample i of the script, 10 s apart: orders.events grows by 10 per
 * sample, its DLQ by 5 in the first four intervals then not at all,
 * stock.levels never moves, misc.stuff (in no product) grows. */
static void feed_sample(fx *f, int i) {
  double t = T0 + 10.0 * i;
  skpi_ksample *s = ks_new("prod", t);
  int misc = ks_topic(s, "misc.stuff", 1);
  int nob = ks_topic(s, "nobody.reads", 1);
  int oe = ks_topic(s, "orders.events", 1);
  int dlq = ks_topic(s, "orders.events.dlq", 1);
  int st = ks_topic(s, "stock.levels", 1);
  ks_wm(s, misc, 0, 0, 3 * i);
  ks_wm(s, nob, 0, 0, 7);
  ks_wm(s, oe, 0, 0, 100 + 10 * i);
  ks_wm(s, dlq, 0, 0, 5 * (i < 4 ? i : 4));
  ks_wm(s, st, 0, 0, 100);
  int g = ks_group(s, "audit-reader", "Stable", 1);
  ks_commit(s, g, st, 0, 100);
  g = ks_group(s, "billing-app", "Stable", 1);
  ks_commit(s, g, oe, 0, 100);
  g = ks_group(s, "mystery", "Stable", 1);
  ks_commit(s, g, st, 0, 90);
  g = ks_group(s, "orders-svc", "Stable", 1);
  ks_commit(s, g, oe, 0, 100);
  g = ks_group(s, "zombie", "Dead", 0);
  ks_commit(s, g, oe, 0, 1);
  skpi_event ev = cluster_ev(SKPI_EV_SAMPLE, t);
  ev.u.sample = s;
  skpi_kpi_dlq.observe(f->dlq, &ev);
  skpi_kpi_products.observe(f->prod, &ev);
  skpi_ksample_unref(s);
}

static void feed_probe(fx *f, double t, int healthy) {
  skpi_event ev = cluster_ev(SKPI_EV_PROBE, t);
  ev.u.probe.t0 = t - 5;
  ev.u.probe.t1 = t;
  ev.u.probe.ok = healthy;
  ev.u.probe.cause = healthy ? SKPI_CAUSE_NONE : SKPI_CAUSE_PROBE_FAILING;
  skpi_kpi_products.observe(f->prod, &ev);
}

static void feed_configs(fx *f, double t, const char *retention_ms) {
  skpi_topic_configs *c = skpi_topic_configs_new("prod");
  assert_non_null(c);
  skpi_tc_topic *tp = skpi_topic_configs_add_topic(c, "orders.events", 0, 1, 3);
  assert_non_null(tp);
  tp->ok = 1;
  assert_int_equal(
      skpi_tc_set(&tp->v[SKPI_TC_RETENTION_MS], retention_ms, SKPI_CFGSRC_DYNAMIC_TOPIC), SKPI_OK);
  skpi_topic_configs_sort(c);
  skpi_event ev = cluster_ev(SKPI_EV_TOPIC_CONFIGS, t);
  ev.u.configs = c;
  skpi_kpi_products.observe(f->prod, &ev);
  skpi_topic_configs_unref(c);
}

static void run_script(fx *f) {
  for(int i = 0; i < 10; i++)
    feed_sample(f, i);
  feed_probe(f, T0 + 20, 1);
  feed_probe(f, T0 + 40, 1);
  feed_probe(f, T0 + 60, 0);
  feed_probe(f, T0 + 80, 1);
  feed_configs(f, T0 + 85, "604800000"); /* 7 days >= 1 day: good */
  skpi_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = SKPI_EV_APP_QUALITY;
  ev.now = T0 + 86;
  ev.u.quality.target = "shop";
  ev.u.quality.good = 42;
  ev.u.quality.total = 50;
  skpi_kpi_products.observe(f->prod, &ev);
  ev.u.quality.target = "elsewhere";
  ev.u.quality.good = 7;
  skpi_kpi_products.observe(f->prod, &ev);
}

static char *render(const fx *f, double now) {
  skpi_mset *m = skpi_mset_new();
  assert_non_null(m);
  assert_int_equal(skpi_kpi_products.render(f->prod, now, m), SKPI_OK);
  char *text = kt_render(m);
  skpi_mset_unref(m);
  return text;
}

#define NOW (T0 + 90)
#define SLO(metric, p, s) "streamkpi_data_product_slo_" metric "{product=\"" p "\",slo=\"" s "\"}"

static void exact_attainment(void **st) {
  (void)st;
  fx f;
  setup_fx(&f);
  run_script(&f);
  char *m = render(&f, NOW);
  /* orders: the first sample has no known age, the other nine are fresh. */
  assert_true(kt_value(m, SLO("events_total", "orders", "freshness")) == 9);
  assert_true(kt_value(m, SLO("attainment_ratio", "orders", "freshness")) == 1);
  assert_true(kt_value(m, SLO("met", "orders", "freshness")) == 1);
  /* orders moved in the last sample: its newest message came after the
   * sample before, 10 s ago, which bounds its age. */
  assert_true(kt_value(m, "streamkpi_data_product_freshness_age_seconds{product=\"orders\"}") ==
              10);
  /* stock.levels never moved: unknown until watched for more than 60 s,
   * then three stale samples (70, 80, 90 s). */
  assert_true(kt_value(m, SLO("events_total", "stock", "freshness")) == 3);
  assert_true(kt_value(m, SLO("attainment_ratio", "stock", "freshness")) == 0);
  assert_true(kt_value(m, SLO("met", "stock", "freshness")) == 0);
  assert_true(kt_value(m, "streamkpi_data_product_freshness_age_seconds{product=\"stock\"}") == 90);
  /* DLQ: nine intervals with traffic; 5 of 15 messages dead-lettered in
   * each of the first four (ratio 1/3 > 0.1: bad), none in the other five. */
  double ev = kt_value(m, SLO("events_total", "orders", "dlq_ratio"));
  double att = kt_value(m, SLO("attainment_ratio", "orders", "dlq_ratio"));
  assert_true(ev == 9);
  assert_true(fabs(att - 5.0 / 9.0) < 1e-9);
  assert_true(kt_value(m, SLO("met", "orders", "dlq_ratio")) == 0);
  /* Error budget: 4 bad of 9 with 10% allowed: 1 - 4 / 0.9. */
  assert_true(fabs(kt_value(m, SLO("error_budget_remaining_ratio", "orders", "dlq_ratio")) -
                   (1 - 4 / 0.9)) < 1e-9);
  /* Availability: 3 of 4 probes healthy, objective 0.5 declared. */
  assert_true(kt_value(m, SLO("attainment_ratio", "orders", "availability")) == 0.75);
  assert_true(kt_value(m, SLO("objective_ratio", "orders", "availability")) == 0.5);
  assert_true(kt_value(m, SLO("met", "orders", "availability")) == 1);
  /* Retention: one audit, 7 d kept against 1 d wanted. */
  assert_true(kt_value(m, SLO("met", "ledger", "retention")) == 1);
  /* orders misses (DLQ), stock misses (freshness), ledger meets both;
   * unused has no objective and is left out. */
  assert_true(fabs(kt_value(m, "streamkpi_data_product_slo_achievement_ratio") - 1.0 / 3.0) < 1e-9);
  assert_int_equal(kt_count(m, SLO("met", "unused", "")), 0);
  free(m);
  teardown_fx(&f);
}

#define CONS(p, d, x)                                                                              \
  "streamkpi_data_product_consumers{product=\"" p "\",consumer_domain=\"" d "\",cross_domain=\"" x \
  "\"}"

static void consumers_and_reuse(void **st) {
  (void)st;
  fx f;
  setup_fx(&f);
  run_script(&f);
  char *m = render(&f, NOW);
  /* orders-svc: team "orders" owns only sales products; billing-app is
   * declared finance; the Dead group counts for nothing. */
  assert_true(kt_value(m, CONS("orders", "sales", "false")) == 1);
  assert_true(kt_value(m, CONS("orders", "finance", "true")) == 1);
  assert_true(kt_value(m, CONS("ledger", "sales", "true")) == 1);
  assert_true(kt_value(m, CONS("ledger", "finance", "false")) == 1);
  /* audit-reader by the group_domains regex; mystery maps to nothing. */
  assert_true(kt_value(m, CONS("stock", "compliance", "true")) == 1);
  assert_true(kt_value(m, "streamkpi_data_product_unmapped_consumers{product=\"stock\"}") == 1);
  assert_true(kt_value(m, "streamkpi_data_product_unmapped_consumers{product=\"orders\"}") == 0);
  /* orders, stock and ledger are read by another domain, unused is not. */
  assert_true(kt_value(m, "streamkpi_data_product_reuse_ratio") == 0.75);
  free(m);
  teardown_fx(&f);
}

static void hygiene_and_value(void **st) {
  (void)st;
  fx f;
  setup_fx(&f);
  run_script(&f);
  char *m = render(&f, NOW);
  assert_true(kt_value(m, "streamkpi_data_product_shared_topics") == 1); /* orders.events */
  /* misc.stuff and orders.events.dlq moved and belong to no product. */
  assert_true(kt_value(m, "streamkpi_data_product_unowned_active_topics") == 2);
  assert_true(kt_value(m, "streamkpi_data_product_missing_topics{product=\"unused\"}") == 1);
  assert_true(kt_value(m, "streamkpi_data_product_missing_topics{product=\"orders\"}") == 0);
  assert_true(kt_value(m, "streamkpi_data_product_value{product=\"ledger\",currency=\"EUR\","
                          "period=\"month\"}") == 5000);
  assert_true(kt_value(m, "streamkpi_data_product_value_declared_timestamp_seconds{product="
                          "\"ledger\"}") == 1768003200.0);
  assert_true(kt_value(m, "streamkpi_data_product_catalog_errors") == 0);
  /* The good events of the target counting ledger's value; no series for a
   * product without one. */
  assert_true(kt_value(m, "streamkpi_data_product_observed_value_total{product=\"ledger\"}") == 42);
  assert_int_equal(kt_count(m, "streamkpi_data_product_observed_value_total{product=\"orders\"}"),
                   0);
  free(m);
  teardown_fx(&f);
}

static void facts(void **st) {
  (void)st;
  fx f;
  setup_fx(&f);
  skpi_facts *fs = skpi_facts_new();
  assert_non_null(fs);
  /* Before any sample: what needs Kafka is unknown, never 0. */
  skpi_kpi_products.facts(f.prod, T0, fs);
  assert_true(isnan(skpi_facts_get(fs, SKPI_FACT_PRODUCT_REUSE, NULL)->value));
  assert_true(isnan(skpi_facts_get(fs, SKPI_FACT_PRODUCT_SLO, NULL)->value));
  assert_true(isnan(skpi_facts_get(fs, SKPI_FACT_UNOWNED_TOPICS, NULL)->value));
  assert_true(skpi_facts_get(fs, SKPI_FACT_PRODUCTS, NULL)->value == 3);
  assert_int_equal(skpi_facts_get(fs, SKPI_FACT_PRODUCTS, NULL)->prov, SKPI_PROV_DECLARED);
  skpi_facts_free(fs);
  run_script(&f);
  fs = skpi_facts_new();
  skpi_kpi_products.facts(f.prod, NOW, fs);
  assert_true(fabs(skpi_facts_get(fs, SKPI_FACT_PRODUCT_SLO, NULL)->value - 1.0 / 3.0) < 1e-9);
  assert_true(skpi_facts_get(fs, SKPI_FACT_PRODUCT_REUSE, NULL)->value == 0.75);
  assert_true(skpi_facts_get(fs, SKPI_FACT_UNOWNED_TOPICS, NULL)->value == 2);
  assert_true(skpi_facts_get(fs, SKPI_FACT_MULTI_PRODUCT_TOPICS, NULL)->value == 1);
  skpi_facts_free(fs);
  teardown_fx(&f);
}

static void products_document(void **st) {
  (void)st;
  fx f;
  setup_fx(&f);
  run_script(&f);
  json_t *doc = skpi_products_kpi_json(f.prod, NOW);
  assert_non_null(doc);
  json_t *list = json_object_get(doc, "products");
  assert_int_equal(json_array_size(list), 4);
  json_t *orders = json_array_get(list, 0), *ledger = json_array_get(list, 2);
  assert_string_equal(json_string_value(json_object_get(orders, "name")), "orders");
  assert_string_equal(json_string_value(json_object_get(orders, "owner")), "orders");
  assert_true(json_is_false(json_object_get(orders, "slo_met")));
  json_t *by = json_object_get(orders, "consumers_by_domain");
  assert_int_equal(json_integer_value(json_object_get(by, "finance")), 1);
  assert_int_equal(json_integer_value(json_object_get(by, "sales")), 1);
  json_t *dq = json_object_get(json_object_get(orders, "slos"), "dlq_ratio");
  assert_true(fabs(json_real_value(json_object_get(dq, "attainment")) - 5.0 / 9.0) < 1e-9);
  assert_true(json_is_false(json_object_get(dq, "met")));
  assert_true(json_is_true(json_object_get(ledger, "slo_met")));
  json_t *value = json_object_get(ledger, "value");
  assert_string_equal(json_string_value(json_object_get(value, "declared")), "2026-01-10");
  assert_true(json_is_null(json_object_get(json_array_get(list, 3), "slo_met")));
  assert_true(json_real_value(json_object_get(doc, "reuse_ratio")) == 0.75);
  assert_int_equal(json_array_size(json_object_get(doc, "shared_topics")), 1);
  assert_int_equal(json_array_size(json_object_get(doc, "unowned_active_topics")), 2);
  json_decref(doc);
  teardown_fx(&f);
}

/* A value target that names no metrics target stops the start. */
static void unknown_value_target(void **st) {
  (void)st;
  char tail[512], err[256] = "";
  skpi_config *cfg = NULL;
  void *self = NULL;
  if(ct_load("clusters:\n  - name: prod\n    bootstrap_servers: k:9092\n"
             "catalog:\n  products:\n    - name: p\n      owner: o\n      domain: d\n"
             "      topics: [t]\n      value_target: nowhere\n",
             tail, sizeof(tail), &cfg) != SKPI_OK)
    fail_msg("config: %s", tail);
  skpi_kpi_ctx ctx = {cfg, NULL, 0, NULL, NULL};
  assert_int_equal(skpi_kpi_products.create(&ctx, &self, err, sizeof(err)), SKPI_EINVAL);
  assert_null(self);
  char want[512];
  snprintf(want, sizeof(want), "%s:6: value_target \"nowhere\" of \"p\" names no metrics target",
           cfg->path);
  assert_string_equal(err, want);
  skpi_config_free(cfg);
}

static void state_round_trip(void **st) {
  (void)st;
  fx f;
  char err[256] = "";
  setup_fx(&f);
  run_script(&f);
  json_t *saved = skpi_kpi_products.save(f.prod, NOW);
  assert_non_null(saved);
  void *again = make_products(&f);
  assert_int_equal(skpi_kpi_products.load(again, saved, err, sizeof(err)), SKPI_OK);
  void *keep = f.prod;
  f.prod = again;
  char *m = render(&f, NOW);
  assert_true(fabs(kt_value(m, SLO("attainment_ratio", "orders", "dlq_ratio")) - 5.0 / 9.0) < 1e-9);
  free(m);
  /* Garbage: refused with a reason, the instance left fresh. */
  json_t *bad = json_pack("{s:{s:s}}", "orders", "freshness", "nope");
  assert_int_equal(skpi_kpi_products.load(again, bad, err, sizeof(err)), SKPI_ESTATE);
  assert_string_equal(err, "products: SLO freshness of \"orders\" malformed");
  assert_int_equal(skpi_kpi_products.load(again, json_null(), err, sizeof(err)), SKPI_ESTATE);
  m = render(&f, NOW);
  assert_int_equal(kt_count(m, SLO("attainment_ratio", "orders", "freshness")), 0);
  free(m);
  json_decref(bad);
  json_decref(saved);
  f.prod = keep;
  skpi_kpi_products.free(again);
  teardown_fx(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exact_attainment),     cmocka_unit_test(consumers_and_reuse),
      cmocka_unit_test(hygiene_and_value),    cmocka_unit_test(facts),
      cmocka_unit_test(products_document),    cmocka_unit_test(state_round_trip),
      cmocka_unit_test(unknown_value_target),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
