/* test_configs.c: the configuration audit value, and the config source's
 * failure paths against librdkafka's mock cluster.
 *
 * The mock (librdkafka 2.0.2) answers Metadata but not DescribeConfigs, so
 * here every describe call fails: the cycle must still succeed, list every
 * topic with its partitions and replication factor from metadata, mark each
 * topic and broker as not described, and count the calls and failures.
 * The successful path runs against real brokers (tests/it/test_policy.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "streamkpi/configs_source.h"

static void value_build_sort_find_and_names(void **state) {
  (void)state;
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  assert_non_null(c);
  const char *names[] = {"zeta", "alpha", "mid", "__consumer_offsets"};
  /* More than the initial capacity, to grow the arrays. */
  char extra[32][16];
  for(int i = 0; i < 4; i++)
    assert_non_null(skpi_topic_configs_add_topic(c, names[i], i == 3, 3, 2));
  for(int i = 0; i < 32; i++) {
    snprintf(extra[i], sizeof(extra[i]), "t%02d", 31 - i);
    assert_non_null(skpi_topic_configs_add_topic(c, extra[i], 0, 1, 1));
  }
  for(int b = 20; b > 0; b--)
    assert_non_null(skpi_topic_configs_add_broker(c, b));
  skpi_topic_configs_sort(c);
  assert_int_equal(c->ntopics, 36);
  assert_string_equal(c->topics[0].name, "__consumer_offsets");
  assert_string_equal(c->topics[1].name, "alpha");
  assert_int_equal(c->brokers[0].id, 1);
  assert_int_equal(c->brokers[19].id, 20);
  const skpi_tc_topic *t = skpi_topic_configs_topic(c, "t07");
  assert_non_null(t);
  assert_string_equal(t->name, "t07");
  assert_null(skpi_topic_configs_topic(c, "nope"));
  assert_true(t->ok);
  assert_null(t->v[SKPI_TC_RETENTION_MS].value);

  skpi_tc_topic *m = (skpi_tc_topic *)skpi_topic_configs_topic(c, "mid");
  assert_int_equal(skpi_tc_set(&m->v[SKPI_TC_RETENTION_MS], "1000", SKPI_CFGSRC_DYNAMIC_TOPIC),
                   SKPI_OK);
  assert_string_equal(m->v[SKPI_TC_RETENTION_MS].value, "1000");
  assert_int_equal(skpi_tc_set(&m->v[SKPI_TC_RETENTION_MS], NULL, SKPI_CFGSRC_DEFAULT), SKPI_OK);
  assert_int_equal(m->v[SKPI_TC_RETENTION_MS].source, SKPI_CFGSRC_UNKNOWN);
  skpi_tc_set(&m->v[SKPI_TC_MIN_ISR], "2", SKPI_CFGSRC_DEFAULT);
  assert_int_equal(skpi_tc_topic_fail(m, "timed out"), SKPI_OK);
  assert_false(m->ok);
  assert_string_equal(m->error, "timed out");
  assert_null(m->v[SKPI_TC_MIN_ISR].value);
  assert_int_equal(skpi_tc_broker_fail(&c->brokers[0], NULL), SKPI_OK);
  assert_string_equal(c->brokers[0].error, "unknown error");

  assert_string_equal(skpi_tc_key_name(SKPI_TC_UNCLEAN), "unclean.leader.election.enable");
  assert_string_equal(skpi_tc_key_name(SKPI_TC_NKEYS), "");
  assert_string_equal(skpi_bc_key_name(SKPI_BC_AUTO_CREATE), "auto.create.topics.enable");
  assert_string_equal(skpi_cfg_source_name(SKPI_CFGSRC_DYNAMIC_TOPIC), "dynamic_topic");
  assert_string_equal(skpi_cfg_source_name(SKPI_CFGSRC_STATIC), "static");
  assert_string_equal(skpi_cfg_source_name((enum skpi_cfg_source)99), "unknown");

  skpi_topic_configs_ref(c);
  skpi_topic_configs_unref(c);
  assert_int_equal(skpi_refcnt_get(&c->refcnt), 1);
  skpi_topic_configs_unref(c);
  skpi_topic_configs_unref(NULL);
}

typedef struct fixture {
  rd_kafka_t *producer; /* owns the mock cluster */
  rd_kafka_mock_cluster_t *mc;
  char bootstraps[512];
  skpi_cluster_cfg cfg;
  regex_t skip_re;
} fixture;

static int setup(void **state) {
  char errstr[256];
  fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  assert_int_equal(rd_kafka_conf_set(conf, "test.mock.num.brokers", "3", errstr, sizeof(errstr)),
                   RD_KAFKA_CONF_OK);
  assert_int_equal(rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr)),
                   RD_KAFKA_CONF_OK);
  f->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  assert_non_null(f->producer);
  f->mc = rd_kafka_handle_mock_cluster(f->producer);
  assert_non_null(f->mc);
  snprintf(f->bootstraps, sizeof(f->bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(f->mc));
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, "orders", 4, 3), 0);
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, "audit", 2, 3), 0);
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, "skipped", 1, 1), 0);
  f->cfg.name = "mock";
  f->cfg.bootstrap_servers = f->bootstraps;
  f->cfg.request_timeout_s = 2;
  f->cfg.stale_ttl_s = 60;
  assert_int_equal(regcomp(&f->skip_re, "^skipped$", REG_EXTENDED), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  rd_kafka_destroy(f->producer);
  regfree(&f->skip_re);
  free(f);
  return 0;
}

static void cycle_without_describe_configs(void **state) {
  fixture *f = *state;
  f->cfg.topics.exclude = &f->skip_re;
  f->cfg.topics.nexclude = 1;
  skpi_configs_opts opts = {.topics_per_request = 1, .max_inflight = 2};
  skpi_topic_configs *c = NULL;
  assert_int_equal(skpi_configs_cycle_once(&f->cfg, &opts, &c), SKPI_OK);
  assert_non_null(c);
  assert_string_equal(c->cluster, "mock");
  /* The filtered topic is not audited. */
  assert_int_equal(c->ntopics, 2);
  assert_string_equal(c->topics[0].name, "audit");
  assert_int_equal(c->topics[0].partitions, 2);
  assert_int_equal(c->topics[0].rf, 3);
  assert_string_equal(c->topics[1].name, "orders");
  assert_int_equal(c->topics[1].partitions, 4);
  assert_int_equal(c->topics[1].rf, 3);
  assert_int_equal(c->nbrokers, 3);
  assert_int_equal(c->cluster_brokers, 3);
  for(size_t i = 0; i < c->ntopics; i++) {
    assert_false(c->topics[i].ok);
    assert_non_null(c->topics[i].error);
    assert_null(c->topics[i].v[SKPI_TC_RETENTION_MS].value);
  }
  for(size_t i = 0; i < c->nbrokers; i++)
    assert_false(c->brokers[i].ok);
  assert_int_equal(c->failed_topics, 2);
  /* Metadata, two topic chunks each tried on two brokers, three brokers. */
  assert_int_equal(c->requests, 1 + 2 * 2 + 3);
  assert_int_equal(c->errors, 2 * 2 + 3);
  skpi_topic_configs_unref(c);
  f->cfg.topics.exclude = NULL;
  f->cfg.topics.nexclude = 0;
}

static void bad_property_and_unreachable_cluster(void **state) {
  (void)state;
  skpi_kv bad = {"no.such.property", "1"};
  skpi_cluster_cfg cfg = {.name = "bad",
                          .bootstrap_servers = "127.0.0.1:1",
                          .properties = &bad,
                          .nproperties = 1,
                          .request_timeout_s = 1};
  skpi_topic_configs *c = (skpi_topic_configs *)1;
  assert_int_equal(skpi_configs_cycle_once(&cfg, NULL, &c), SKPI_EINVAL);
  assert_null(c);
  cfg.nproperties = 0;
  assert_int_equal(skpi_configs_cycle_once(&cfg, NULL, &c), SKPI_EKAFKA);
  assert_null(c);
  assert_int_equal(skpi_configs_cycle_once(NULL, NULL, &c), SKPI_EINVAL);
}

typedef struct seen {
  pthread_mutex_t mu;
  int calls;
  size_t ntopics;
} seen;

static void observer(const skpi_topic_configs *c, void *user) {
  seen *s = user;
  pthread_mutex_lock(&s->mu);
  s->calls++;
  s->ntopics = c->ntopics;
  pthread_mutex_unlock(&s->mu);
}

static void source_thread_hands_each_audit_to_the_observer(void **state) {
  fixture *f = *state;
  seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  skpi_registry *reg = skpi_registry_new();
  assert_non_null(reg);
  skpi_configs_source *src = skpi_configs_source_start(&f->cfg, reg, 3600, observer, &s);
  assert_non_null(src);
  int calls = 0;
  /* Bounded wait for the first cycle (each failing call ends by its
   * request timeout). */
  for(int i = 0; i < 600 && calls == 0; i++) {
    usleep(50000);
    pthread_mutex_lock(&s.mu);
    calls = s.calls;
    pthread_mutex_unlock(&s.mu);
  }
  skpi_configs_source_stop(src);
  assert_int_equal(calls, 1);
  assert_int_equal(s.ntopics, 3);
  skpi_source_status st[4];
  size_t n = skpi_registry_status(reg, st, 4);
  assert_int_equal(n, 1);
  assert_string_equal(st[0].source, "configs");
  assert_string_equal(st[0].cluster, "mock");
  assert_false(st[0].ready);
  skpi_registry_free(reg);
  skpi_configs_source_stop(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(value_build_sort_find_and_names),
      cmocka_unit_test_setup_teardown(cycle_without_describe_configs, setup, teardown),
      cmocka_unit_test(bad_property_and_unreachable_cluster),
      cmocka_unit_test_setup_teardown(source_thread_hands_each_audit_to_the_observer, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
