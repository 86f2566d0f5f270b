/* test_replication.c: MirrorMaker 2 flows found from topic names under the
 * default and identity policies, watermark lag per mirrored topic, unknowns
 * and the replication_flows count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/replication.h"

static const char *const names[] = {"a", "b", "c"};

/* a: the source, with offset syncs for b and c. */
static skpi_ksample *cluster_a(int64_t h0, int64_t h1) {
  skpi_ksample *s = ks_new("a", 1);
  ks_topic(s, "__consumer_offsets", 1);
  ks_topic(s, "heartbeats", 1);
  ks_topic(s, "mm2-offset-syncs.b.internal", 1);
  ks_topic(s, "mm2-offset-syncs.c.internal", 1);
  int o = ks_topic(s, "orders", 2);
  int p = ks_topic(s, "payments", 1);
  int q = ks_topic(s, "streamkpi-probe", 1);
  ks_wm(s, o, 0, 0, h0);
  ks_wm(s, o, 1, 0, h1);
  ks_wm(s, p, 0, 0, 5);
  ks_wm(s, q, 0, 0, 1000);
  return s;
}

/* b: default policy mirrors "a.orders" and "a.payments" (one partition
 * more than its source: lag unknown). */
static skpi_ksample *cluster_b(int64_t h0, int64_t h1) {
  skpi_ksample *s = ks_new("b", 1);
  ks_topic(s, "a.checkpoints.internal", 1);
  ks_topic(s, "a.heartbeats", 1);
  int o = ks_topic(s, "a.orders", 2);
  int p = ks_topic(s, "a.payments", 2);
  ks_topic(s, "mm2-configs.a.internal", 1);
  int q = ks_topic(s, "streamkpi-probe", 1);
  ks_wm(s, o, 0, 0, h0);
  ks_wm(s, o, 1, 0, h1);
  ks_wm(s, p, 0, 0, 5);
  ks_wm(s, p, 1, 0, 0);
  ks_wm(s, q, 0, 0, 3);
  return s;
}

/* c: identity policy, same names. */
static skpi_ksample *cluster_c(int64_t h0, int64_t h1) {
  skpi_ksample *s = ks_new("c", 1);
  ks_topic(s, "heartbeats", 1);
  int o = ks_topic(s, "orders", 2);
  ks_topic(s, "streamkpi-probe", 1);
  ks_wm(s, o, 0, 0, h0);
  ks_wm(s, o, 1, 0, h1);
  return s;
}

static void feed(skpi_repl *r, size_t idx, skpi_ksample *s) {
  skpi_repl_observe(r, idx, s);
  skpi_ksample_unref(s); /* the tracker keeps its own reference */
}

static void flows_and_lag_under_both_policies(void **state) {
  skpi_repl *r;
  assert_int_equal(skpi_repl_new(names, 3, "streamkpi-probe", &r), SKPI_OK);
  size_t flows = 99;
  feed(r, 0, cluster_a(100, 50));
  feed(r, 1, cluster_b(90, 50));
  assert_int_equal(skpi_repl_count(r, &flows), 0); /* c not seen yet: unknown */
  feed(r, 2, cluster_c(100, 40));
  assert_int_equal(skpi_repl_count(r, &flows), 1);
  assert_int_equal(flows, 2);

  int64_t lag = -1;
  assert_int_equal(skpi_repl_lag(r, "a", "b", "orders", &lag), 1);
  assert_int_equal(lag, 10);
  assert_int_equal(skpi_repl_lag(r, "a", "c", "orders", &lag), 1);
  assert_int_equal(lag, 10);
  assert_int_equal(skpi_repl_lag(r, "a", "b", "payments", &lag), 0); /* partitions differ */
  assert_int_equal(skpi_repl_lag(r, "b", "a", "orders", &lag), 0);   /* no such flow */
  assert_int_equal(skpi_repl_lag(r, "a", "c", "streamkpi-probe", &lag), 0);
  assert_int_equal(skpi_repl_lag(r, "a", "c", "heartbeats", &lag), 0);
  assert_int_equal(skpi_repl_lag(r, "a", "x", "orders", &lag), 0);

  /* The target ahead of the source (records deleted on the source) is 0,
   * never negative. */
  feed(r, 1, cluster_b(120, 50));
  assert_int_equal(skpi_repl_lag(r, "a", "b", "orders", &lag), 1);
  assert_int_equal(lag, 0);
  /* An unknown watermark makes the lag unknown, not 0. */
  feed(r, 2, cluster_c(-1, 40));
  assert_int_equal(skpi_repl_lag(r, "a", "c", "orders", &lag), 0);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_repl_render(r, 10, m), SKPI_OK);
  char *text = kt_render(m);
  assert_float_equal(
      kt_value(text,
               "streamkpi_replication_flow_info{source=\"a\",target=\"b\",policy=\"default\"}"),
      1, 0);
  assert_float_equal(kt_value(text, "streamkpi_replication_flow_info{source=\"a\",target=\"c\","
                                    "policy=\"identity\"}"),
                     1, 0);
  assert_float_equal(kt_value(text, "streamkpi_replication_topics{source=\"a\",target=\"b\"}"), 2,
                     0);
  assert_float_equal(kt_value(text, "streamkpi_replication_topics{source=\"a\",target=\"c\"}"), 1,
                     0);
  assert_float_equal(kt_value(text, "streamkpi_replication_lag_messages{source=\"a\",target=\"b\","
                                    "topic=\"orders\"}"),
                     0, 0);
  assert_float_equal(
      kt_value(text, "streamkpi_replication_lag_unknown_topics{source=\"a\",target=\"b\"}"), 1, 0);
  assert_float_equal(
      kt_value(text, "streamkpi_replication_flow_lag_messages{source=\"a\",target=\"b\"}"), 0, 0);
  /* a -> c has no topic with a known lag: no flow sum. */
  assert_int_equal(kt_count(text, "streamkpi_replication_flow_lag_messages{"), 1);
  assert_int_equal(kt_count(text, "streamkpi_replication_flow_info{"), 2);
  free(text);
  skpi_mset_unref(m);
  skpi_repl_free(r);
}

static void one_cluster_or_failed_metadata(void **state) {
  skpi_repl *r;
  size_t flows;
  assert_int_equal(skpi_repl_new(names, 1, NULL, &r), SKPI_OK);
  feed(r, 0, cluster_a(1, 1));
  assert_int_equal(skpi_repl_count(r, &flows), 0);
  skpi_repl_free(r);

  assert_int_equal(skpi_repl_new(names, 2, NULL, &r), SKPI_OK);
  feed(r, 0, cluster_a(1, 1));
  feed(r, 1, ks_new("b", 2));  /* no topics: failed metadata, ignored */
  feed(r, 5, cluster_b(1, 1)); /* out of range: ignored */
  assert_int_equal(skpi_repl_count(r, &flows), 0);
  feed(r, 1, cluster_c(1, 1)); /* "b" holding identity mirrors only */
  assert_int_equal(skpi_repl_count(r, &flows), 1);
  assert_int_equal(flows, 1); /* a holds mm2-offset-syncs.b.internal */
  int64_t lag;
  assert_int_equal(skpi_repl_lag(r, "a", "b", "orders", &lag), 1);
  assert_int_equal(lag, 0);
  skpi_repl_free(r);
}

/* b at time t with "a.heartbeats" at watermark hb (-1 unknown) and
 * "a.checkpoints.internal" at ck. */
static skpi_ksample *target_at(double t, int64_t hb, int64_t ck) {
  skpi_ksample *s = ks_new("b", t);
  int c = ks_topic(s, "a.checkpoints.internal", 1);
  int h = ks_topic(s, "a.heartbeats", 1);
  ks_wm(s, c, 0, 0, ck);
  ks_wm(s, h, 0, 0, hb);
  return s;
}

static void heartbeat_and_checkpoint_age_from_watermarks(void **state) {
  skpi_repl *r;
  double age = -1;
  assert_int_equal(skpi_repl_new(names, 2, NULL, &r), SKPI_OK);
  feed(r, 0, cluster_a(1, 1));
  feed(r, 1, target_at(10, 5, 2));
  assert_int_equal(skpi_repl_heartbeat_age(r, 0, 1, 12, &age), 0); /* no growth seen yet */
  feed(r, 1, target_at(20, 5, 2));
  assert_int_equal(skpi_repl_heartbeat_age(r, 0, 1, 22, &age), 0);
  feed(r, 1, target_at(30, 8, 2));
  assert_int_equal(skpi_repl_heartbeat_age(r, 0, 1, 35, &age), 1);
  assert_float_equal(age, 5, 1e-9);
  feed(r, 1, target_at(40, -1, 2)); /* unknown watermark: the last growth stays */
  feed(r, 1, target_at(50, 8, 3));
  assert_int_equal(skpi_repl_heartbeat_age(r, 0, 1, 60, &age), 1);
  assert_float_equal(age, 30, 1e-9);
  assert_int_equal(skpi_repl_heartbeat_age(r, 1, 0, 60, &age), 0); /* no b -> a */
  assert_int_equal(skpi_repl_heartbeat_age(r, 0, 7, 60, &age), 0);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_repl_render(r, 70, m), SKPI_OK);
  char *text = kt_render(m);
  assert_float_equal(
      kt_value(text, "streamkpi_replication_heartbeat_age_seconds{source=\"a\",target=\"b\"}"), 40,
      1e-9);
  assert_float_equal(
      kt_value(text, "streamkpi_replication_checkpoint_age_seconds{source=\"a\",target=\"b\"}"), 20,
      1e-9);
  free(text);
  skpi_mset_unref(m);
  skpi_repl_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(flows_and_lag_under_both_policies),
      cmocka_unit_test(one_cluster_or_failed_metadata),
      cmocka_unit_test(heartbeat_and_checkpoint_age_from_watermarks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
