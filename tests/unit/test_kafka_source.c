/* test_kafka_source.c: the Kafka source against librdkafka's mock cluster.
 *
 * The mock (librdkafka 2.0.2) answers Metadata, ListOffsets and offset
 * commits, but not ListGroups/DescribeGroups: a cycle there sees its group
 * listing fail (groups_ok 0, no groups), which is asserted as such.
 */
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
#include "streamkpi/kafka_source.h"
#include "streamkpi/log.h"
#include "streamkpi/registry.h"

/* librdkafka 2.0.2 leaks one small object per handle when a
 * ListConsumerGroups call gets errors back (the mock has no ListGroups); the
 * leak is attributed to rd_kafka_new and does not grow with further calls.
 * LeakSanitizer reads this hook; only stacks through rd_kafka_new are
 * silenced, so leaks of our own objects are still reported.  librdkafka has
 * no frame pointers: the slow unwinder is needed to see that frame. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:rd_kafka_new\n"; }
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }

typedef struct fixture {
  rd_kafka_t *producer; /* owns the mock cluster */
  rd_kafka_mock_cluster_t *mc;
  char bootstraps[256];
  skpi_cluster_cfg cfg;
} fixture;

#define ORDERS_PARTS 4
#define AUDIT_PARTS 2

/* Messages produced to orders/p: the high watermark to expect there. */
static int64_t orders_msgs(int32_t p) { return (p + 1) * 5; }

static void produce(rd_kafka_t *rk, const char *topic, int32_t part, int n) {
  for(int i = 0; i < n; i++) {
    rd_kafka_resp_err_t e =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                          RD_KAFKA_V_VALUE("x", 1), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_END);
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
  }
}

static int setup(void **state) {
  char errstr[256];
  fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  assert_int_equal(rd_kafka_conf_set(conf, "test.mock.num.brokers", "3", errstr, sizeof(errstr)),
                   RD_KAFKA_CONF_OK);
  assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)),
                   RD_KAFKA_CONF_OK);
  f->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  assert_non_null(f->producer);
  f->mc = rd_kafka_handle_mock_cluster(f->producer);
  assert_non_null(f->mc);
  snprintf(f->bootstraps, sizeof(f->bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(f->mc));
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, "orders", ORDERS_PARTS, 3), 0);
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, "audit", AUDIT_PARTS, 3), 0);
  for(int32_t p = 0; p < ORDERS_PARTS; p++)
    produce(f->producer, "orders", p, (int)orders_msgs(p));
  assert_int_equal(rd_kafka_flush(f->producer, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);

  f->cfg.name = "mock";
  f->cfg.bootstrap_servers = f->bootstraps;
  f->cfg.sample_interval_s = 1;
  f->cfg.stale_ttl_s = 60;
  f->cfg.request_timeout_s = 3;
  f->cfg.max_inflight = 4;
  f->cfg.chunk_size = 1; /* one partition per ListOffsets call: many chunks */
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  rd_kafka_destroy(f->producer);
  free(f);
  return 0;
}

static const skpi_ktopic *topic(const skpi_ksample *s, const char *name) {
  const skpi_ktopic *t = skpi_ksample_topic(s, name);
  if(!t)
    fail_msg("topic %s missing", name);
  return t;
}

/* ListOffsets calls the plan implies: two per chunk of chunk_size
 * partitions of one leader. */
static unsigned expected_list_offsets(const skpi_ksample *s, int chunk) {
  unsigned calls = 0;
  int32_t leaders[64];
  int counts[64];
  int nl = 0;
  for(size_t t = 0; t < s->ntopics; t++)
    for(int p = 0; p < s->topics[t].nparts; p++) {
      int32_t l = s->topics[t].parts[p].leader;
      if(l < 0)
        continue;
      int i = 0;
      while(i < nl && leaders[i] != l)
        i++;
      if(i == nl) {
        assert_true(nl < 64);
        leaders[nl] = l;
        counts[nl++] = 0;
      }
      counts[i]++;
    }
  for(int i = 0; i < nl; i++)
    calls += 2 * (unsigned)((counts[i] + chunk - 1) / chunk);
  return calls;
}

static void one_cycle_watermarks(void **state) {
  fixture *f = *state;
  skpi_ksample *s = NULL;
  assert_int_equal(skpi_kafka_source_cycle_once(&f->cfg, &s), SKPI_OK);
  assert_non_null(s);
  assert_string_equal(s->cluster, "mock");
  assert_int_equal(skpi_refcnt_get(&s->refcnt), 1);
  assert_int_equal(s->nbrokers, 3);
  for(size_t i = 1; i < s->nbrokers; i++)
    assert_true(s->brokers[i - 1].id < s->brokers[i].id);
  assert_int_equal(s->ntopics, 2);
  assert_string_equal(s->topics[0].name, "audit");
  assert_string_equal(s->topics[1].name, "orders");

  const skpi_ktopic *o = topic(s, "orders");
  assert_int_equal(o->nparts, ORDERS_PARTS);
  assert_false(o->internal);
  for(int32_t p = 0; p < ORDERS_PARTS; p++) {
    const skpi_kpartition *kp = &o->parts[p];
    assert_int_equal(kp->id, p);
    assert_true(kp->leader >= 1 && kp->leader <= 3);
    assert_int_equal(kp->high, orders_msgs(p));
    assert_int_equal(kp->low, 0);
    /* the mock keeps every replica in sync */
    assert_int_equal(kp->nreplicas, 3);
    assert_int_equal(kp->nisrs, 3);
    assert_int_equal(kp->err, 0);
  }
  const skpi_ktopic *a = topic(s, "audit");
  for(int32_t p = 0; p < AUDIT_PARTS; p++) {
    assert_int_equal(a->parts[p].high, 0);
    assert_int_equal(a->parts[p].low, 0);
  }

  assert_int_equal(s->reqs.metadata, 1);
  assert_int_equal(s->errors.metadata, 0);
  assert_int_equal(s->reqs.list_offsets, expected_list_offsets(s, 1));
  assert_int_equal(s->errors.list_offsets, 0);
  /* The mock has no ListGroups: the listing fails, nothing is described. */
  assert_int_equal(s->groups_ok, 0);
  assert_true(s->reqs.list_groups >= 1);
  assert_true(s->errors.list_groups >= 1);
  assert_int_equal(s->ngroups, 0);
  assert_int_equal(s->reqs.describe_groups, 0);
  assert_int_equal(s->reqs.offset_fetch, 0);
  assert_int_equal(s->lag_clamped, 0);
  assert_true(s->time > 0);
  /* The Metadata reply's controller id cannot be trusted (random on KRaft):
   * the controller is unknown, whatever the cluster says. */
  assert_int_equal(s->controller, -1);
  skpi_ksample_unref(s);
}

static void bigger_chunks_fewer_requests(void **state) {
  fixture *f = *state;
  skpi_cluster_cfg cfg = f->cfg;
  cfg.chunk_size = 2000;
  skpi_ksample *s = NULL;
  assert_int_equal(skpi_kafka_source_cycle_once(&cfg, &s), SKPI_OK);
  /* one END and one BEGINNING call per leader */
  assert_int_equal(s->reqs.list_offsets, expected_list_offsets(s, 2000));
  assert_true(s->reqs.list_offsets <= 6);
  assert_int_equal(topic(s, "orders")->parts[3].high, orders_msgs(3));
  skpi_ksample_unref(s);
}

static void topic_filter_applies(void **state) {
  fixture *f = *state;
  skpi_cluster_cfg cfg = f->cfg;
  regex_t inc;
  assert_int_equal(regcomp(&inc, "^ord", REG_EXTENDED | REG_NOSUB), 0);
  cfg.topics.include = &inc;
  cfg.topics.ninclude = 1;
  skpi_ksample *s = NULL;
  assert_int_equal(skpi_kafka_source_cycle_once(&cfg, &s), SKPI_OK);
  assert_int_equal(s->ntopics, 1);
  assert_string_equal(s->topics[0].name, "orders");
  assert_null(skpi_ksample_topic(s, "audit"));
  skpi_ksample_unref(s);
  regfree(&inc);
}

static void probe_topic_is_internal(void **state) {
  fixture *f = *state;
  skpi_cluster_cfg cfg = f->cfg;
  char probe[] = "audit";
  cfg.probe_topic = probe;
  skpi_ksample *s = NULL;
  assert_int_equal(skpi_kafka_source_cycle_once(&cfg, &s), SKPI_OK);
  const skpi_ktopic *audit = skpi_ksample_topic(s, "audit");
  const skpi_ktopic *orders = skpi_ksample_topic(s, "orders");
  assert_non_null(audit);
  assert_non_null(orders);
  assert_int_equal(audit->internal, 1);
  assert_int_equal(orders->internal, 0);
  skpi_ksample_unref(s);
}

static void leaderless_partition_has_no_offsets(void **state) {
  fixture *f = *state;
  assert_int_equal(rd_kafka_mock_partition_set_leader(f->mc, "orders", 2, -1), 0);
  skpi_ksample *s = NULL;
  assert_int_equal(skpi_kafka_source_cycle_once(&f->cfg, &s), SKPI_OK);
  const skpi_ktopic *o = topic(s, "orders");
  assert_int_equal(o->parts[2].leader, -1);
  assert_int_equal(o->parts[2].high, -1);
  assert_int_equal(o->parts[2].low, -1);
  for(int32_t p = 0; p < ORDERS_PARTS; p++)
    if(p != 2)
      assert_int_equal(o->parts[p].high, orders_msgs(p));
  assert_int_equal(s->errors.list_offsets, 0);
  skpi_ksample_unref(s);
}

static void down_leader_costs_only_its_partitions(void **state) {
  fixture *f = *state;
  skpi_ksample *s = NULL;
  assert_int_equal(skpi_kafka_source_cycle_once(&f->cfg, &s), SKPI_OK);
  int32_t victim = topic(s, "orders")->parts[0].leader;
  skpi_ksample_unref(s);
  assert_int_equal(rd_kafka_mock_broker_set_down(f->mc, victim), 0);

  skpi_cluster_cfg cfg = f->cfg;
  cfg.request_timeout_s = 2;
  s = NULL;
  assert_int_equal(skpi_kafka_source_cycle_once(&cfg, &s), SKPI_OK);
  assert_true(s->errors.list_offsets >= 1);
  const skpi_ktopic *o = topic(s, "orders");
  int others = 0;
  for(int32_t p = 0; p < ORDERS_PARTS; p++) {
    if(o->parts[p].leader < 0)
      continue; /* made leaderless by an earlier test */
    if(o->parts[p].leader == victim) {
      assert_int_equal(o->parts[p].high, -1);
    } else {
      assert_int_equal(o->parts[p].high, orders_msgs(p));
      others++;
    }
  }
  const skpi_ktopic *a = topic(s, "audit");
  for(int32_t p = 0; p < AUDIT_PARTS; p++)
    if(a->parts[p].leader != victim) {
      assert_int_equal(a->parts[p].high, 0);
      others++;
    }
  /* with 6 partitions over 3 brokers, some live elsewhere */
  assert_true(others > 0);
  skpi_ksample_unref(s);
  assert_int_equal(rd_kafka_mock_broker_set_up(f->mc, victim), 0);
}

static void bad_property_fails_start(void **state) {
  fixture *f = *state;
  skpi_cluster_cfg cfg = f->cfg;
  skpi_kv kv = {"no.such.property", "1"};
  cfg.properties = &kv;
  cfg.nproperties = 1;
  skpi_ksample *s = (skpi_ksample *)&cfg; /* must be reset to NULL */
  assert_int_equal(skpi_kafka_source_cycle_once(&cfg, &s), SKPI_EINVAL);
  assert_null(s);
  assert_null(skpi_kafka_source_start(&cfg, NULL));
  skpi_kv bad_value = {"isolation.level", "sometimes"};
  cfg.properties = &bad_value;
  assert_null(skpi_kafka_source_start(&cfg, NULL));
  assert_int_equal(skpi_kafka_source_cycle_once(NULL, &s), SKPI_EINVAL);
}

static void unreachable_cluster_fails_cycle(void **state) {
  skpi_cluster_cfg cfg = {0};
  cfg.name = "dead";
  cfg.bootstrap_servers = "127.0.0.1:1"; /* nothing listens on port 1 */
  cfg.request_timeout_s = 1;
  cfg.chunk_size = 10;
  cfg.max_inflight = 2;
  skpi_ksample *s = NULL;
  assert_int_equal(skpi_kafka_source_cycle_once(&cfg, &s), SKPI_EKAFKA);
  assert_null(s);
}

typedef struct seen {
  int calls;
  int64_t high3;
} seen;

static void observer(const skpi_ksample *s, void *user) {
  seen *w = user;
  const skpi_kpartition *p = skpi_ksample_partition(s, "orders", 3);
  __atomic_store_n(&w->high3, p ? p->high : -2, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&w->calls, 1, __ATOMIC_SEQ_CST);
}

/* Waits (bounded) until the newest snapshot's text contains needle. */
static int snapshot_has(skpi_registry *reg, const char *needle) {
  for(int i = 0; i < 400; i++) {
    skpi_snapshot *snap = skpi_registry_acquire(reg);
    const skpi_expo_part *parts;
    size_t n, total;
    skpi_buf b;
    skpi_buf_init(&b, (size_t)1 << 30);
    int found = 0;
    if(skpi_snapshot_parts(snap, SKPI_FMT_TEXT, 0, &parts, &n, &total) == SKPI_OK &&
       skpi_expo_join(parts, n, &b) == SKPI_OK && b.data)
      found = memmem(b.data, b.len, needle, strlen(needle)) != NULL;
    skpi_buf_free(&b);
    skpi_snapshot_release(snap);
    if(found)
      return 1;
    skpi_sleep(0.05, NULL);
  }
  return 0;
}

static void thread_publishes_and_stops(void **state) {
  fixture *f = *state;
  skpi_registry *reg = skpi_registry_new();
  assert_non_null(reg);
  seen w = {0, 0};
  skpi_kafka_source *src = skpi_kafka_source_start(&f->cfg, reg);
  assert_non_null(src);
  skpi_kafka_source_observe(src, observer, &w);
  assert_true(snapshot_has(reg, "kafka_topic_partition_current_offset{cluster=\"mock\","
                                "topic=\"orders\",partition=\"3\"} 20\n"));
  assert_true(snapshot_has(reg, "kafka_brokers{cluster=\"mock\"} 3\n"));
  skpi_kafka_source_stop(src);
  /* The observer may have been added after the first cycle: when it was
   * called, it saw the right watermark. */
  if(__atomic_load_n(&w.calls, __ATOMIC_SEQ_CST) > 0)
    assert_int_equal(w.high3, orders_msgs(3));
  skpi_registry_free(reg);
}

/* Runs the source thread with fn observing until *calls reaches want or
 * max_s has passed, then stops it.  Observers added right after start miss
 * at most the first cycle. */
static void observe_cycles(const skpi_cluster_cfg *cfg, skpi_ksample_observer fn, void *user,
                           const int *calls, int want, double max_s) {
  skpi_kafka_source *src = skpi_kafka_source_start(cfg, NULL);
  assert_non_null(src);
  skpi_kafka_source_observe(src, fn, user);
  for(int i = 0; i < (int)(max_s / 0.05) && __atomic_load_n(calls, __ATOMIC_SEQ_CST) < want; i++)
    skpi_sleep(0.05, NULL);
  skpi_kafka_source_stop(src);
}

static void observer_sees_cycles(void **state) {
  fixture *f = *state;
  seen w = {0, 0};
  skpi_cluster_cfg cfg = f->cfg;
  cfg.sample_interval_s = 0.2;
  observe_cycles(&cfg, observer, &w, &w.calls, 2, 30);
  assert_true(w.calls >= 2);
  assert_int_equal(w.high3, orders_msgs(3));
}

static void stop_while_unreachable(void **state) {
  skpi_cluster_cfg cfg = {0};
  cfg.name = "dead";
  cfg.bootstrap_servers = "127.0.0.1:1";
  cfg.request_timeout_s = 1;
  cfg.sample_interval_s = 30;
  skpi_registry *reg = skpi_registry_new();
  assert_non_null(reg);
  skpi_kafka_source *src = skpi_kafka_source_start(&cfg, reg);
  assert_non_null(src);
  /* The failed cycle is published as an error, not as data. */
  int down = 0;
  for(int i = 0; i < 200 && !down; i++) {
    skpi_source_status st[8];
    size_t n = skpi_registry_status(reg, st, 8);
    for(size_t k = 0; k < n && k < 8; k++)
      if(!strcmp(st[k].cluster, "dead") && st[k].last_attempt > 0 && !st[k].up &&
         !st[k].has_data && st[k].errors > 0)
        down = 1;
    if(!down)
      skpi_sleep(0.05, NULL);
  }
  assert_true(down);
  skpi_kafka_source_stop(src); /* returns while the thread sleeps 30 s */
  skpi_registry_free(reg);
  skpi_kafka_source_stop(NULL);
}

/* What each cycle of the wide cluster saw. */
typedef struct wide_seen {
  int calls;
  int complete; /* cycles where every value below was right */
} wide_seen;

#define WIDE_PARTS 20000

static void wide_observer(const skpi_ksample *s, void *user) {
  wide_seen *w = user;
  const skpi_ktopic *t = skpi_ksample_topic(s, "wide");
  const skpi_kpartition *p3 = skpi_ksample_partition(s, "orders", 3);
  int ok = t && t->nparts == WIDE_PARTS && p3 && p3->high == orders_msgs(3);
  /* The mock places every partition on all three brokers. */
  for(int i = 0; ok && i < t->nparts; i++) {
    const skpi_kpartition *p = &t->parts[i];
    ok = p->id == i && p->high == 0 && p->low == 0 && p->nreplicas == 3 && p->nisrs == 3;
    int has_leader = 0;
    for(int r = 0; ok && r < p->nreplicas; r++)
      has_leader |= p->replicas[r] == p->leader && p->isrs[r] >= 1 && p->isrs[r] <= 3;
    ok = ok && has_leader;
  }
  if(ok)
    __atomic_add_fetch(&w->complete, 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&w->calls, 1, __ATOMIC_SEQ_CST);
}

/* Past a size, the source replaces its librdkafka handle after every cycle
 * (so that the metadata librdkafka keeps is freed): the cycles after the
 * first run on a new handle and must see every partition and offset the
 * first one saw.  Runs last: the mock cannot delete the wide topic. */
static void wide_cluster_cycles_stay_complete(void **state) {
  fixture *f = *state;
  wide_seen w = {0, 0};
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, "wide", WIDE_PARTS, 3), 0);
  skpi_cluster_cfg cfg = f->cfg;
  cfg.sample_interval_s = 0.2;
  cfg.chunk_size = 2000;
  cfg.request_timeout_s = 10;
  observe_cycles(&cfg, wide_observer, &w, &w.calls, 3, 60);
  assert_true(w.calls >= 3);
  assert_int_equal(w.complete, w.calls);
}

int main(void) {
  skpi_log_setup("error", NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_cycle_watermarks),
      cmocka_unit_test(bigger_chunks_fewer_requests),
      cmocka_unit_test(topic_filter_applies),
      cmocka_unit_test(probe_topic_is_internal),
      cmocka_unit_test(bad_property_fails_start),
      cmocka_unit_test(unreachable_cluster_fails_cycle),
      cmocka_unit_test(thread_publishes_and_stops),
      cmocka_unit_test(observer_sees_cycles),
      cmocka_unit_test(stop_while_unreachable),
      cmocka_unit_test(leaderless_partition_has_no_offsets),
      cmocka_unit_test(down_leader_costs_only_its_partitions),
      cmocka_unit_test(wide_cluster_cycles_stay_complete),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
