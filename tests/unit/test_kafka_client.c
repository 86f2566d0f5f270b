/* test_kafka_client.c: the librdkafka handle factory.
 *
 * Handles point at a closed loopback port, so nothing answers them; what is
 * checked is the configuration each handle ended up with (rd_kafka_conf_get
 * on the live handle).
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

#include "streamkpi/kafka_client.h"

/* The value of key on rk's configuration, into out. */
static const char *conf_of(rd_kafka_t *rk, const char *key, char *out, size_t len) {
  size_t n = len;
  assert_int_equal(rd_kafka_conf_get(rd_kafka_conf(rk), key, out, &n), RD_KAFKA_CONF_OK);
  return out;
}

static skpi_cluster_cfg cluster(skpi_kv *props, size_t nprops) {
  skpi_cluster_cfg c;
  memset(&c, 0, sizeof(c));
  c.name = "c1";
  c.bootstrap_servers = "127.0.0.1:1";
  c.properties = props;
  c.nproperties = nprops;
  return c;
}

static void consumer_reads_uncommitted_and_never_commits(void **state) {
  char v[256];
  /* The user asks for the opposite: the exporter's needs win. */
  skpi_kv props[] = {{"isolation.level", "read_committed"}, {"enable.auto.commit", "true"},
                     {"socket.timeout.ms", "12345"}};
  skpi_cluster_cfg c = cluster(props, 3);
  skpi_kafka_client_opts o = {.type = RD_KAFKA_CONSUMER, .role = "test"};
  rd_kafka_t *rk = skpi_kafka_client_new(&c, &o);
  assert_non_null(rk);
  assert_string_equal(conf_of(rk, "isolation.level", v, sizeof(v)), "read_uncommitted");
  assert_string_equal(conf_of(rk, "enable.auto.commit", v, sizeof(v)), "false");
  assert_string_equal(conf_of(rk, "allow.auto.create.topics", v, sizeof(v)), "false");
  assert_string_equal(conf_of(rk, "bootstrap.servers", v, sizeof(v)), "127.0.0.1:1");
  assert_string_equal(conf_of(rk, "socket.timeout.ms", v, sizeof(v)), "12345");
  assert_string_equal(conf_of(rk, "client.id", v, sizeof(v)), "streamkpi");
  skpi_kafka_client_free(rk);
}

static void defaults_yield_to_properties_and_forced_settings_win(void **state) {
  char v[256];
  skpi_kv props[] = {{"client.id", "from-user"}, {"linger.ms", "50"}};
  skpi_cluster_cfg c = cluster(props, 2);
  const char *const defaults[] = {"client.id", "from-default", "retries", "7", NULL};
  const char *const forced[] = {"linger.ms", "0", NULL};
  int user = 42;
  skpi_kafka_client_opts o = {.type = RD_KAFKA_PRODUCER,
                              .role = "test",
                              .defaults = defaults,
                              .forced = forced,
                              .user = &user};
  rd_kafka_t *rk = skpi_kafka_client_new(&c, &o);
  assert_non_null(rk);
  assert_string_equal(conf_of(rk, "client.id", v, sizeof(v)), "from-user");
  assert_string_equal(conf_of(rk, "retries", v, sizeof(v)), "7");
  assert_string_equal(conf_of(rk, "linger.ms", v, sizeof(v)), "0");
  assert_ptr_equal(skpi_kafka_client_user(rk), &user);
  skpi_kafka_client_free(rk);
}

static void bad_property_creates_nothing(void **state) {
  skpi_kv unknown[] = {{"no.such.property", "1"}};
  skpi_kv bad_value[] = {{"acks", "sometimes"}};
  skpi_cluster_cfg c = cluster(unknown, 1);
  skpi_kafka_client_opts o = {.type = RD_KAFKA_PRODUCER, .role = "test"};
  assert_null(skpi_kafka_client_new(&c, &o));
  c = cluster(bad_value, 1);
  assert_null(skpi_kafka_client_new(&c, &o));
  /* A forced pair without a value is the caller's mistake, refused too. */
  const char *const half[] = {"linger.ms", NULL, NULL};
  c = cluster(NULL, 0);
  o.forced = half;
  assert_null(skpi_kafka_client_new(&c, &o));
  assert_null(skpi_kafka_client_new(NULL, &o));
  skpi_kafka_client_free(NULL);
}

static void timeout_follows_the_cluster_and_is_clamped(void **state) {
  skpi_cluster_cfg c = cluster(NULL, 0);
  assert_int_equal(skpi_kafka_client_timeout_ms(&c), 10000);
  c.request_timeout_s = 2.5;
  assert_int_equal(skpi_kafka_client_timeout_ms(&c), 2500);
  c.request_timeout_s = 1e-6;
  assert_int_equal(skpi_kafka_client_timeout_ms(&c), 1);
  c.request_timeout_s = 1e12;
  assert_int_equal(skpi_kafka_client_timeout_ms(&c), 0x7fffffff / 4);
}

static void metadata_partitions_counted_over_topics(void **state) {
  rd_kafka_metadata_topic_t topics[3];
  memset(topics, 0, sizeof(topics));
  topics[0].partition_cnt = 7;
  topics[1].partition_cnt = -1; /* a topic in error */
  topics[2].partition_cnt = 30000;
  struct rd_kafka_metadata md;
  memset(&md, 0, sizeof(md));
  md.topics = topics;
  md.topic_cnt = 3;
  assert_int_equal(skpi_kafka_client_md_partitions(&md), 30007);
  md.topic_cnt = 0;
  assert_int_equal(skpi_kafka_client_md_partitions(&md), 0);
  assert_int_equal(skpi_kafka_client_md_partitions(NULL), 0);
}

static void only_a_large_clusters_handle_is_dropped(void **state) {
  skpi_cluster_cfg c = cluster(NULL, 0);
  skpi_kafka_client_opts o = {.type = RD_KAFKA_CONSUMER, .role = "test"};
  rd_kafka_t *rk = skpi_kafka_client_new(&c, &o);
  assert_non_null(rk);
  rd_kafka_t *kept = rk;
  assert_int_equal(skpi_kafka_client_drop_large(&rk, SKPI_KAFKA_CLIENT_RENEW_PARTITIONS - 1), 0);
  assert_ptr_equal(rk, kept);
  assert_int_equal(skpi_kafka_client_drop_large(&rk, SKPI_KAFKA_CLIENT_RENEW_PARTITIONS), 1);
  assert_null(rk);
  /* Nothing left to drop; a NULL pointer is refused as well. */
  assert_int_equal(skpi_kafka_client_drop_large(&rk, SKPI_KAFKA_CLIENT_RENEW_PARTITIONS), 0);
  assert_int_equal(skpi_kafka_client_drop_large(NULL, SKPI_KAFKA_CLIENT_RENEW_PARTITIONS), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(consumer_reads_uncommitted_and_never_commits),
      cmocka_unit_test(defaults_yield_to_properties_and_forced_settings_win),
      cmocka_unit_test(bad_property_creates_nothing),
      cmocka_unit_test(timeout_follows_the_cluster_and_is_clamped),
      cmocka_unit_test(metadata_partitions_counted_over_topics),
      cmocka_unit_test(only_a_large_clusters_handle_is_dropped),
  };
  return cmocka_run_group_tests_name("kafka_client", tests, NULL, NULL);
}
