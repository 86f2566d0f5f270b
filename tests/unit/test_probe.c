/* test_probe.c: the canary probe, against librdkafka's mock cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "streamkpi/clock.h"
#include "streamkpi/health.h"
#include "streamkpi/log.h"
#include "streamkpi/probe.h"
#include "streamkpi/registry.h"

#define TOPIC "streamkpi-probe"

/* ---- payload and plan (pure) ------------------------------------------ */

static void payload_round_trip(void **state) {
  char buf[128], run[33];
  uint64_t seq;
  double ts;
  int n = skpi_probe_payload_format(buf, sizeof(buf), "abc123", 42, 1700000000.25);
  assert_true(n > 0);
  assert_int_equal(skpi_probe_payload_parse(buf, (size_t)n, run, sizeof(run), &seq, &ts), SKPI_OK);
  assert_string_equal(run, "abc123");
  assert_int_equal(seq, 42);
  assert_true(ts == 1700000000.25);
  n = skpi_probe_payload_format(buf, sizeof(buf), "z", UINT64_MAX, 0);
  assert_true(n > 0);
  assert_int_equal(skpi_probe_payload_parse(buf, (size_t)n, run, sizeof(run), &seq, &ts), SKPI_OK);
  assert_int_equal(seq, UINT64_MAX);
}

static void payload_format_refuses(void **state) {
  char buf[128], small[20];
  assert_int_equal(skpi_probe_payload_format(small, sizeof(small), "abc", 1, 1), -1);
  assert_int_equal(skpi_probe_payload_format(buf, sizeof(buf), "", 1, 1), -1);
  assert_int_equal(skpi_probe_payload_format(buf, sizeof(buf), "AB", 1, 1), -1);
  assert_int_equal(skpi_probe_payload_format(buf, sizeof(buf), "a b", 1, 1), -1);
  assert_int_equal(skpi_probe_payload_format(buf, sizeof(buf), "a", 1, -1), -1);
  assert_int_equal(
      skpi_probe_payload_format(buf, sizeof(buf), "0123456789abcdef0123456789abcdef0", 1, 1), -1);
}

static void payload_garbage_rejected(void **state) {
  static const char *const bad[] = {
      "",
      "skpi-probe",
      "skpi-probe v=1 ",
      "skpi-probe v=2 run=a seq=1 ts=1",
      "SKPI-PROBE v=1 run=a seq=1 ts=1",
      "skpi-probe v=1 run= seq=1 ts=1",
      "skpi-probe v=1 run=A seq=1 ts=1",
      "skpi-probe v=1 run=a-b seq=1 ts=1",
      "skpi-probe v=1 run=0123456789abcdef0123456789abcdef0 seq=1 ts=1",
      "skpi-probe v=1 run=a seq= ts=1",
      "skpi-probe v=1 run=a seq=-1 ts=1",
      "skpi-probe v=1 run=a seq=+1 ts=1",
      "skpi-probe v=1 run=a seq=1x ts=1",
      "skpi-probe v=1 run=a seq=99999999999999999999999 ts=1",
      "skpi-probe v=1 run=a seq=1 ts=",
      "skpi-probe v=1 run=a seq=1 ts=-1",
      "skpi-probe v=1 run=a seq=1 ts=nan",
      "skpi-probe v=1 run=a seq=1 ts=inf",
      "skpi-probe v=1 run=a seq=1 ts=1e999",
      "skpi-probe v=1 run=a seq=1 ts=1 ",
      "skpi-probe v=1 run=a seq=1 ts=1 extra=2",
      "skpi-probe v=1 run=a  seq=1 ts=1",
      "skpi-probe v=1 seq=1 run=a ts=1",
      "skpi-probe v=1 run=a seq=1",
  };
  char run[33];
  uint64_t seq = 7;
  double ts = 7;
  for(size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    if(skpi_probe_payload_parse(bad[i], strlen(bad[i]), run, sizeof(run), &seq, &ts) != SKPI_EINVAL)
      fail_msg("accepted: \"%s\"", bad[i]);
  }
  /* A NUL inside, an oversize payload, a short run buffer, NULL data. */
  static const char nul[] = "skpi-probe v=1 run=a\0 seq=1 ts=1";
  assert_int_equal(skpi_probe_payload_parse(nul, sizeof(nul) - 1, run, sizeof(run), &seq, &ts),
                   SKPI_EINVAL);
  char big[300];
  memset(big, '1', sizeof(big));
  memcpy(big, "skpi-probe v=1 run=a seq=1 ts=", 30);
  assert_int_equal(skpi_probe_payload_parse(big, sizeof(big), run, sizeof(run), &seq, &ts),
                   SKPI_EINVAL);
  const char *ok = "skpi-probe v=1 run=a seq=1 ts=1";
  assert_int_equal(skpi_probe_payload_parse(ok, strlen(ok), run, 8, &seq, &ts), SKPI_EINVAL);
  assert_int_equal(skpi_probe_payload_parse(NULL, 5, run, sizeof(run), &seq, &ts), SKPI_EINVAL);
  /* Nothing was written by the failures. */
  assert_int_equal(seq, 7);
  assert_true(ts == 7);
  /* Random bytes never crash and are never accepted. */
  srand(1);
  for(int i = 0; i < 2000; i++) {
    unsigned char r[64];
    size_t n = (size_t)(rand() % (int)sizeof(r));
    for(size_t j = 0; j < n; j++)
      r[j] = (unsigned char)rand();
    assert_int_equal(skpi_probe_payload_parse(r, n, run, sizeof(run), &seq, &ts), SKPI_EINVAL);
  }
}

static void plan_leads_each_broker(void **state) {
  const int32_t b[] = {1, 2, 3};
  int32_t out[9];
  assert_int_equal(skpi_probe_plan_replicas(b, 3, 3, out), 3);
  const int32_t want[] = {1, 2, 3, 2, 3, 1, 3, 1, 2};
  assert_memory_equal(out, want, sizeof(want));
  /* rf capped at the broker count */
  int32_t out2[9];
  assert_int_equal(skpi_probe_plan_replicas(b, 2, 5, out2), 2);
  const int32_t want2[] = {1, 2, 2, 1};
  assert_memory_equal(out2, want2, sizeof(want2));
  assert_int_equal(skpi_probe_plan_replicas(b, 1, 3, out2), 1);
  assert_int_equal(out2[0], 1);
  assert_int_equal(skpi_probe_plan_replicas(b, 0, 3, out2), -1);
  assert_int_equal(skpi_probe_plan_replicas(b, 3, 0, out2), -1);
  assert_int_equal(skpi_probe_plan_replicas(NULL, 3, 1, out2), -1);
}

/* ---- against the mock cluster ----------------------------------------- */

typedef struct fixture {
  rd_kafka_t *rk; /* owns the mock cluster */
  rd_kafka_mock_cluster_t *mc;
  skpi_cluster_cfg cluster;
  char bootstraps[256];
  char name[16];
  int observed;
  int observed_ok;
  char last_reason[32];
} fixture;

static int setup_mock(void **state) {
  char errstr[256];
  fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  assert_int_equal(rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr)),
                   RD_KAFKA_CONF_OK);
  f->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  assert_non_null(f->rk);
  f->mc = rd_kafka_mock_cluster_new(f->rk, 3);
  assert_non_null(f->mc);
  snprintf(f->bootstraps, sizeof(f->bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(f->mc));
  snprintf(f->name, sizeof(f->name), "mock");
  f->cluster.name = f->name;
  f->cluster.bootstrap_servers = f->bootstraps;
  *state = f;
  return 0;
}

static int teardown_mock(void **state) {
  fixture *f = *state;
  rd_kafka_mock_cluster_destroy(f->mc);
  rd_kafka_destroy(f->rk);
  free(f);
  return 0;
}

static void observe(const skpi_probe_result *r, void *user) {
  fixture *f = user;
  f->observed++;
  f->observed_ok += r->ok;
  snprintf(f->last_reason, sizeof(f->last_reason), "%s", r->reason);
}

/* The health rule's verdict on what the probe reported: the probe must
 * report every field the rule reads. */
static const char *health_of(const skpi_probe_result *r, int min_brokers) {
  skpi_health h = {.probe_ok = r->ok,
                   .brokers_up = r->brokers_up,
                   .brokers_min = min_brokers > 0 ? min_brokers : 1,
                   .offline_partitions = r->offline_partitions};
  return skpi_cause_name(skpi_health_cause(&h));
}

static skpi_probe_cfg probe_cfg(fixture *f, double timeout_s) {
  skpi_probe_cfg c;
  memset(&c, 0, sizeof(c));
  c.timeout_s = timeout_s;
  c.interval_s = 0.2;
  c.observer = observe;
  c.observer_user = f;
  return c;
}

/* Returns the high watermark of TOPIC partition p, read independently of
 * the probe (-1 on error). */
static int64_t high_watermark(fixture *f, int32_t p) {
  char errstr[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", f->bootstraps, errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
  rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  assert_non_null(c);
  int64_t lo = -1, hi = -1;
  if(rd_kafka_query_watermark_offsets(c, TOPIC, p, &lo, &hi, 5000))
    hi = -1;
  rd_kafka_destroy(c);
  return hi;
}

static void round_trip_succeeds(void **state) {
  fixture *f = *state;
  skpi_probe_result r;
  skpi_probe_stats st;
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, 3, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  skpi_probe_cfg c = probe_cfg(f, 5);
  skpi_probe *p = skpi_probe_new(&c, &f->cluster, NULL);
  assert_non_null(p);
  assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
  if(!r.ok)
    fail_msg("probe failed: %s (%s)", r.reason, r.error);
  assert_true(r.metadata_ok);
  assert_int_equal(r.brokers_up, 3);
  assert_int_equal(r.brokers_expected, 3);
  assert_int_equal(r.offline_partitions, 0);
  assert_int_equal(r.messages_sent, 3);
  assert_int_equal(r.messages_lost, 0);
  assert_true(r.produce_latency_s >= 0);
  assert_true(r.roundtrip_latency_s >= r.produce_latency_s - 1e-9 || r.roundtrip_latency_s >= 0);
  assert_string_equal(r.reason, "");
  assert_string_equal(health_of(&r, c.min_brokers), "none");
  assert_true(r.t_end >= r.t_start);
  assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
  assert_true(r.ok);
  skpi_probe_stats_get(p, &st);
  assert_int_equal(st.probes, 2);
  assert_int_equal(st.failures, 0);
  assert_int_equal(st.messages_sent, 6);
  assert_int_equal(st.messages_received, 6);
  assert_int_equal(st.messages_lost, 0);
  assert_int_equal(st.produce_observations, 6);
  assert_int_equal(st.roundtrip_observations, 6);
  assert_int_equal(st.topic_creates, 0);
  assert_int_equal(st.partitions, 3);
  assert_true(st.last_success);
  assert_int_equal(f->observed, 2);
  assert_int_equal(f->observed_ok, 2);
  skpi_probe_stop(p);
  /* The messages really reached the cluster: two per partition. */
  for(int32_t i = 0; i < 3; i++)
    assert_int_equal(high_watermark(f, i), 2);
}

static void broker_down_fails_and_counts_lost(void **state) {
  fixture *f = *state;
  skpi_probe_result r;
  skpi_probe_stats st;
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, 3, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  for(int32_t i = 0; i < 3; i++)
    assert_int_equal(rd_kafka_mock_partition_set_leader(f->mc, TOPIC, i, i + 1), 0);
  skpi_probe_cfg c = probe_cfg(f, 1.5);
  skpi_probe *p = skpi_probe_new(&c, &f->cluster, NULL);
  assert_non_null(p);
  assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
  if(!r.ok)
    fail_msg("first probe failed: %s (%s)", r.reason, r.error);

  assert_int_equal(rd_kafka_mock_broker_set_down(f->mc, 2), 0);
  /* A cycle whose metadata request went to the downed broker fails before
   * producing anything (reason "metadata"): correct, but it loses nothing.
   * The next cycle asks another broker and produces.  Bounded: 5 cycles. */
  int failed_cycles = 0;
  for(int i = 0; i < 5; i++) {
    assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
    assert_false(r.ok);
    failed_cycles++;
    if(r.messages_sent > 0)
      break;
    assert_string_equal(r.reason, "metadata");
  }
  if(r.messages_lost < 1)
    fail_msg("no message lost with a leader down: reason %s (%s), sent %d", r.reason, r.error,
             r.messages_sent);
  assert_true(strcmp(r.reason, "produce") == 0 || strcmp(r.reason, "roundtrip_timeout") == 0);
  assert_true(strlen(r.error) > 0);
  assert_string_equal(f->last_reason, r.reason);
  skpi_probe_stats_get(p, &st);
  assert_int_equal(st.failures, (uint64_t)failed_cycles);
  assert_false(st.last_success);
  assert_true(st.messages_lost >= 1);
  /* Each message is counted once: back in time or lost, never both. */
  assert_int_equal(st.messages_received + st.messages_lost, st.messages_sent);

  /* Back up: the probe recovers within a few bounded cycles. */
  assert_int_equal(rd_kafka_mock_broker_set_up(f->mc, 2), 0);
  int ok = 0;
  for(int i = 0; i < 10 && !ok; i++) {
    assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
    ok = r.ok;
  }
  assert_true(ok);
  skpi_probe_stats_get(p, &st);
  assert_true(st.last_success);
  assert_int_equal(st.messages_received + st.messages_lost, st.messages_sent);
  assert_true(st.messages_late <= st.messages_lost);
  skpi_probe_stop(p);
}

static void slow_message_counted_lost_then_late(void **state) {
  fixture *f = *state;
  skpi_probe_result r;
  skpi_probe_stats st;
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(rd_kafka_mock_partition_set_leader(f->mc, TOPIC, 0, 1), 0);
  skpi_probe_cfg c = probe_cfg(f, 1);
  skpi_probe *p = skpi_probe_new(&c, &f->cluster, NULL);
  assert_non_null(p);
  assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
  if(!r.ok)
    fail_msg("first probe failed: %s (%s)", r.reason, r.error);

  /* The leader's next Fetch answers (ApiKey 1) are held back 1.5 s each
   * while Produce stays fast: the message is acknowledged but not read back
   * within the 1 s timeout. */
  const rd_kafka_resp_err_t none = RD_KAFKA_RESP_ERR_NO_ERROR;
  assert_int_equal(rd_kafka_mock_broker_push_request_error_rtts(f->mc, 1, 1, 3, none, 1500, none,
                                                                1500, none, 1500),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
  assert_false(r.ok);
  assert_string_equal(r.reason, "roundtrip_timeout");
  assert_int_equal(r.messages_lost, 1);
  skpi_probe_stats_get(p, &st);
  assert_int_equal(st.messages_lost, 1);

  for(int i = 0; i < 10; i++) {
    assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
    skpi_probe_stats_get(p, &st);
    if(st.messages_late > 0 && r.ok)
      break;
  }
  /* Delayed fetches may have made the next cycles lose theirs too.  With
   * one partition, reads are in order: once a cycle is back in time, every
   * lost message before it has arrived, as late, never as a success. */
  assert_true(r.ok);
  assert_true(st.messages_lost >= 1);
  assert_int_equal(st.messages_late, st.messages_lost);
  assert_int_equal(st.messages_received + st.messages_lost, st.messages_sent);
  assert_int_equal(st.roundtrip_observations, st.messages_received);
  skpi_probe_stop(p);
}

static void offline_partition_counted(void **state) {
  fixture *f = *state;
  skpi_probe_result r;
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, "other", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(rd_kafka_mock_partition_set_leader(f->mc, "other", 1, -1), 0);
  skpi_probe_cfg c = probe_cfg(f, 2);
  c.mode = SKPI_PROBE_METADATA_ONLY;
  skpi_probe *p = skpi_probe_new(&c, &f->cluster, NULL);
  assert_non_null(p);
  assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
  assert_true(r.metadata_ok);
  assert_int_equal(r.offline_partitions, 1);
  assert_string_equal(health_of(&r, c.min_brokers), "offline_partitions");
  skpi_probe_stop(p);
}

static void metadata_only_produces_nothing(void **state) {
  fixture *f = *state;
  skpi_probe_result r;
  skpi_probe_stats st;
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, 3, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  skpi_probe_cfg c = probe_cfg(f, 2);
  c.mode = SKPI_PROBE_METADATA_ONLY;
  skpi_probe *p = skpi_probe_new(&c, &f->cluster, NULL);
  assert_non_null(p);
  for(int i = 0; i < 2; i++) {
    assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
    assert_true(r.ok);
    assert_true(r.metadata_ok);
    assert_int_equal(r.brokers_up, 3);
    assert_int_equal(r.messages_sent, 0);
    assert_true(r.roundtrip_latency_s < 0);
  }
  skpi_probe_stats_get(p, &st);
  assert_int_equal(st.probes, 2);
  assert_int_equal(st.messages_sent, 0);
  assert_int_equal(st.produce_observations, 0);
  assert_int_equal(st.topic_creates, 0);
  skpi_probe_stop(p);
  for(int32_t i = 0; i < 3; i++)
    assert_int_equal(high_watermark(f, i), 0);
}

static void missing_topic_create_fails_cleanly(void **state) {
  fixture *f = *state;
  skpi_probe_result r;
  skpi_probe_stats st;
  /* The mock has no CreateTopics: the create path must fail with a reason,
   * not hang or crash, and retry next cycle. */
  skpi_probe_cfg c = probe_cfg(f, 1);
  c.topic = "absent-probe-topic";
  skpi_probe *p = skpi_probe_new(&c, &f->cluster, NULL);
  assert_non_null(p);
  for(int i = 0; i < 2; i++) {
    assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
    assert_false(r.ok);
    assert_true(r.metadata_ok);
    assert_string_equal(r.reason, "topic");
    assert_string_equal(health_of(&r, c.min_brokers), "probe_failing");
    assert_int_equal(r.messages_sent, 0);
  }
  skpi_probe_stats_get(p, &st);
  assert_int_equal(st.topic_creates, 2);
  assert_int_equal(st.failures, 2);
  skpi_probe_stop(p);
}

static void all_brokers_down_is_metadata_failure(void **state) {
  fixture *f = *state;
  skpi_probe_result r;
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, 3, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  for(int32_t b = 1; b <= 3; b++)
    assert_int_equal(rd_kafka_mock_broker_set_down(f->mc, b), 0);
  skpi_probe_cfg c = probe_cfg(f, 1);
  skpi_probe *p = skpi_probe_new(&c, &f->cluster, NULL);
  assert_non_null(p);
  assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
  assert_false(r.ok);
  assert_false(r.metadata_ok);
  assert_int_equal(r.brokers_up, 0);
  assert_string_equal(r.reason, "metadata");
  assert_string_equal(health_of(&r, c.min_brokers), "all_brokers_unreachable");
  skpi_probe_stop(p);
}

static void min_brokers_enforced(void **state) {
  fixture *f = *state;
  skpi_probe_result r;
  skpi_probe_cfg c = probe_cfg(f, 2);
  c.mode = SKPI_PROBE_METADATA_ONLY;
  c.min_brokers = 4;
  c.brokers_expected = 5;
  skpi_probe *p = skpi_probe_new(&c, &f->cluster, NULL);
  assert_non_null(p);
  assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
  assert_false(r.ok);
  assert_string_equal(r.reason, "brokers_below_min");
  assert_int_equal(r.brokers_expected, 5);
  assert_string_equal(health_of(&r, c.min_brokers), "broker_down");
  skpi_probe_stop(p);
}

static void thread_runs_cycles_and_stops(void **state) {
  fixture *f = *state;
  skpi_probe_cfg c = probe_cfg(f, 2);
  c.mode = SKPI_PROBE_METADATA_ONLY;
  skpi_probe *p = skpi_probe_start(&c, &f->cluster, NULL);
  assert_non_null(p);
  skpi_probe_stats st = {0};
  for(int i = 0; i < 200 && st.probes < 2; i++) {
    skpi_sleep(0.05, NULL);
    skpi_probe_stats_get(p, &st);
  }
  assert_true(st.probes >= 2);
  skpi_probe_stop(p);
}

/* Waits (bounded) for a snapshot whose text contains want; returns its body
 * copied (caller frees) or NULL. */
static char *wait_snapshot(skpi_registry *reg, const char *want) {
  for(int i = 0; i < 100; i++) {
    skpi_snapshot *s = skpi_registry_acquire(reg);
    const skpi_expo_part *parts;
    size_t n, total;
    skpi_buf b;
    skpi_buf_init(&b, (size_t)1 << 30);
    char *copy = NULL;
    if(skpi_snapshot_parts(s, SKPI_FMT_TEXT, 0, &parts, &n, &total) == SKPI_OK &&
       skpi_expo_join(parts, n, &b) == SKPI_OK && b.data && strstr(b.data, want))
      copy = skpi_buf_steal(&b, NULL);
    skpi_buf_free(&b);
    skpi_snapshot_release(s);
    if(copy)
      return copy;
    skpi_sleep(0.05, NULL);
  }
  return NULL;
}

static void publishes_metrics(void **state) {
  fixture *f = *state;
  skpi_probe_result r;
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, 3, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  skpi_registry *reg = skpi_registry_new();
  assert_non_null(reg);
  skpi_probe_cfg c = probe_cfg(f, 5);
  skpi_probe *p = skpi_probe_new(&c, &f->cluster, reg);
  assert_non_null(p);
  assert_int_equal(skpi_probe_run_once(p, &r), SKPI_OK);
  assert_true(r.ok);
  char *body = wait_snapshot(reg, "streamkpi_probe_total{cluster=\"mock\"} 1\n");
  assert_non_null(body);
  static const char *const want[] = {
      "# TYPE streamkpi_probe_failures_total counter\n",
      "streamkpi_probe_failures_total{cluster=\"mock\",reason=\"roundtrip_timeout\"} 0\n",
      "streamkpi_probe_success{cluster=\"mock\"} 1\n",
      "# TYPE streamkpi_probe_roundtrip_latency_seconds histogram\n",
      "streamkpi_probe_roundtrip_latency_seconds_bucket{cluster=\"mock\",le=\"+Inf\"} 3\n",
      "streamkpi_probe_roundtrip_latency_seconds_count{cluster=\"mock\"} 3\n",
      "streamkpi_probe_produce_latency_seconds_count{cluster=\"mock\"} 3\n",
      "streamkpi_probe_messages_sent_total{cluster=\"mock\"} 3\n",
      "streamkpi_probe_messages_lost_total{cluster=\"mock\"} 0\n",
      "streamkpi_probe_brokers_up{cluster=\"mock\"} 3\n",
      "streamkpi_probe_last_success_timestamp_seconds{cluster=\"mock\"} ",
  };
  for(size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
    if(!strstr(body, want[i]))
      fail_msg("missing %s in:\n%s", want[i], body);
  }
  free(body);
  skpi_probe_stop(p);
  skpi_registry_free(reg);
}

static void bad_settings_refused(void **state) {
  fixture *f = *state;
  skpi_probe_cfg c = probe_cfg(f, 1);
  c.timeout_s = 1e9;
  assert_null(skpi_probe_new(&c, &f->cluster, NULL));
  c = probe_cfg(f, 1);
  c.mode = (enum skpi_probe_mode)7;
  assert_null(skpi_probe_new(&c, &f->cluster, NULL));
  c = probe_cfg(f, 1);
  skpi_kv kv = {"no.such.property", "1"};
  skpi_cluster_cfg bad = f->cluster;
  bad.properties = &kv;
  bad.nproperties = 1;
  assert_null(skpi_probe_new(&c, &bad, NULL));
  bad = f->cluster;
  bad.bootstrap_servers = NULL;
  assert_null(skpi_probe_new(&c, &bad, NULL));
  assert_null(skpi_probe_new(NULL, &f->cluster, NULL));
  skpi_probe_stop(NULL);
}

#define MOCK(t) cmocka_unit_test_setup_teardown(t, setup_mock, teardown_mock)

int main(void) {
  skpi_log_setup("error", NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(payload_round_trip),
      cmocka_unit_test(payload_format_refuses),
      cmocka_unit_test(payload_garbage_rejected),
      cmocka_unit_test(plan_leads_each_broker),
      MOCK(round_trip_succeeds),
      MOCK(broker_down_fails_and_counts_lost),
      MOCK(slow_message_counted_lost_then_late),
      MOCK(offline_partition_counted),
      MOCK(metadata_only_produces_nothing),
      MOCK(missing_topic_create_fails_cleanly),
      MOCK(all_brokers_down_is_metadata_failure),
      MOCK(min_brokers_enforced),
      MOCK(thread_runs_cycles_and_stops),
      MOCK(publishes_metrics),
      MOCK(bad_settings_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
