/* test_stateful.c: Kafka Streams and ksqlDB applications from topic and
 * group names, their state topics, lag, metrics and the stateful_apps fact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/kpi.h"
#include "streamkpi/stateful.h"

#define KSQL_APP "_confluent-ksql-default_query_CTAS_T_3"

/* Topics in name order; groups in id order. */
static skpi_ksample *estate(double t) {
  skpi_ksample *s = ks_new("c1", t);
  ks_topic(s, "__consumer_offsets", 1);
  ks_topic(s, "_confluent-ksql-default__command_topic", 1);
  int kc = ks_topic(s, KSQL_APP "-Aggregate-Materialize-changelog", 1);
  ks_topic(s, KSQL_APP "-Aggregate-GroupBy-repartition", 1);
  int orders = ks_topic(s, "orders", 2);
  ks_topic(s, "shop-agg-store-changelog", 1);
  int rp = ks_topic(s, "shop-agg-store-repartition", 1);
  ks_topic(s, "shop-x-KSTREAM-AGGREGATE-STATE-STORE-0000000001-changelog", 1);
  ks_topic(s, "stale-app-store-changelog", 1);
  ks_wm(s, orders, 0, 0, 100);
  ks_wm(s, orders, 1, 0, 50);
  ks_wm(s, rp, 0, 0, 10);
  ks_wm(s, kc, 0, 0, 7);
  int k = ks_group(s, KSQL_APP, "Stable", 1);
  ks_commit(s, k, kc, 0, 7);
  int p = ks_group(s, "plain", "Stable", 1);
  ks_commit(s, p, orders, 0, 1);
  int g = ks_group(s, "shop", "Stable", 2);
  ks_commit(s, g, orders, 0, 60);
  ks_commit(s, g, orders, 1, 80); /* above the watermark: counts 0 */
  ks_commit(s, g, rp, 0, 4);
  ks_group(s, "shop-x", "Empty", 0);
  return s;
}

static const skpi_stateful_app *app(const skpi_stateful *st, const char *name) {
  for(size_t i = 0; i < st->napps; i++)
    if(strcmp(st->apps[i].app, name) == 0)
      return &st->apps[i];
  return NULL;
}

static void detects_streams_and_ksqldb_apps(void **state) {
  skpi_ksample *s = estate(0);
  skpi_stateful st = {0};
  assert_int_equal(skpi_stateful_detect(s, &st), SKPI_OK);
  assert_int_equal(st.napps, 3);
  assert_int_equal(st.orphans, 1);
  const skpi_stateful_app *a = app(&st, "shop");
  assert_non_null(a);
  assert_int_equal(a->kind, SKPI_STATEFUL_STREAMS);
  assert_int_equal(a->changelogs, 1);
  assert_int_equal(a->repartitions, 1);
  assert_int_equal(a->lag, 40 + 0 + 6);
  a = app(&st, "shop-x"); /* the longest group prefix owns the topic */
  assert_non_null(a);
  assert_int_equal(a->changelogs, 1);
  assert_int_equal(a->repartitions, 0);
  assert_int_equal(a->lag, -1); /* no commits: unknown, not 0 */
  a = app(&st, KSQL_APP);
  assert_non_null(a);
  assert_int_equal(a->kind, SKPI_STATEFUL_KSQLDB);
  assert_int_equal(a->changelogs, 1);
  assert_int_equal(a->repartitions, 1);
  assert_int_equal(a->lag, 0);
  assert_null(app(&st, "plain"));
  assert_string_equal(skpi_stateful_kind_name(SKPI_STATEFUL_KSQLDB), "ksqldb");
  assert_string_equal(skpi_stateful_kind_name(SKPI_STATEFUL_KINDS), "unknown");

  /* Detecting again replaces the result; a sample without group listing
   * gives nothing. */
  assert_int_equal(skpi_stateful_detect(s, &st), SKPI_OK);
  assert_int_equal(st.napps, 3);
  s->groups_ok = 0;
  assert_int_equal(skpi_stateful_detect(s, &st), SKPI_EINVAL);
  assert_int_equal(st.napps, 0);
  skpi_stateful_clear(&st);
  ks_free(s);
}

static void names_at_the_edges(void **state) {
  skpi_ksample *s = ks_new("c1", 0);
  ks_topic(s, "-changelog", 1);
  ks_topic(s, "a-changelog", 1);
  ks_topic(s, "a-changelog-x", 1);
  ks_topic(s, "achangelog", 1);
  ks_topic(s, "b--repartition", 1);
  ks_group(s, "a", "Stable", 1);
  ks_group(s, "b-", "Stable", 1);
  skpi_stateful st = {0};
  assert_int_equal(skpi_stateful_detect(s, &st), SKPI_OK);
  assert_int_equal(st.napps, 2);
  assert_int_equal(app(&st, "a")->changelogs, 1);
  assert_int_equal(app(&st, "b-")->repartitions, 1);
  assert_int_equal(st.orphans, 0); /* "-changelog" names no application */
  skpi_stateful_clear(&st);
  ks_free(s);
}

static void kpi_renders_and_publishes_the_fact(void **state) {
  skpi_cluster_cfg cl = {.name = "c1"};
  skpi_kpi_ctx ctx = {.cluster = &cl};
  void *k = NULL;
  char err[128] = "";
  assert_int_equal(skpi_kpi_stateful.create(&ctx, &k, err, sizeof(err)), SKPI_OK);
  skpi_facts *f = skpi_facts_new();
  skpi_kpi_stateful.facts(k, 0, f);
  const skpi_fact *fact = skpi_facts_get(f, SKPI_FACT_STATEFUL_APPS, "c1");
  assert_non_null(fact);
  assert_true(isnan(fact->value));
  assert_non_null(fact->reason);
  skpi_facts_free(f);

  skpi_ksample *s = estate(5);
  skpi_event ev = {.kind = SKPI_EV_SAMPLE, .now = 5, .cluster = "c1", .u.sample = s};
  skpi_kpi_stateful.observe(k, &ev);
  s->groups_ok = 0; /* a failed listing keeps the last result */
  ev.now = 6;
  skpi_kpi_stateful.observe(k, &ev);
  ks_free(s);

  f = skpi_facts_new();
  skpi_kpi_stateful.facts(k, 10, f);
  fact = skpi_facts_get(f, SKPI_FACT_STATEFUL_APPS, "c1");
  assert_float_equal(fact->value, 3, 0);
  assert_float_equal(fact->as_of, 5, 0);
  skpi_facts_free(f);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_kpi_stateful.render(k, 10, m), SKPI_OK);
  char *text = kt_render(m);
  assert_float_equal(
      kt_value(text, "streamkpi_stateful_apps{cluster=\"c1\",kind=\"kafka_streams\"}"), 2, 0);
  assert_float_equal(kt_value(text, "streamkpi_stateful_apps{cluster=\"c1\",kind=\"ksqldb\"}"), 1,
                     0);
  assert_float_equal(kt_value(text, "streamkpi_stateful_app_state_topics{cluster=\"c1\",app="
                                    "\"shop\",kind=\"kafka_streams\",type=\"repartition\"}"),
                     1, 0);
  assert_float_equal(kt_value(text, "streamkpi_stateful_app_lag_messages{cluster=\"c1\",app="
                                    "\"shop\",kind=\"kafka_streams\"}"),
                     46, 0);
  assert_int_equal(kt_count(text, "streamkpi_stateful_app_lag_messages{"), 2);
  assert_float_equal(kt_value(text, "streamkpi_stateful_orphan_state_topics{cluster=\"c1\"}"), 1,
                     0);
  free(text);
  skpi_mset_unref(m);
  skpi_kpi_stateful.free(k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(detects_streams_and_ksqldb_apps),
      cmocka_unit_test(names_at_the_edges),
      cmocka_unit_test(kpi_renders_and_publishes_the_fact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
