/* test_config_scale.c: the cardinality and sharding keys of the schema. */
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

static void defaults_are_partition_no_caps_unsharded(void **state) {
  char tail[512];
  skpi_config *c = NULL;
  assert_int_equal(ct_load("clusters:\n  - name: a\n    bootstrap_servers: \"k:9092\"\n", tail,
                           sizeof(tail), &c),
                   SKPI_OK);
  assert_int_equal(c->clusters[0].granularity, SKPI_CONFIG_GRANULARITY_PARTITION);
  assert_int_equal(c->clusters[0].series_cap, 0);
  assert_int_equal(c->clusters[0].nseries_caps, 0);
  assert_int_equal(c->clusters[0].families.ninclude, 0);
  assert_int_equal(c->shard.count, 1);
  assert_int_equal(c->clusters[0].shard.count, 1);
  assert_int_equal(c->clusters[0].shard.index, 0);
  skpi_config_free(c);
}

static void keys_are_read(void **state) {
  char tail[512];
  skpi_config *c = NULL;
  const char *y = "global:\n"
                  "  shard: \"2/3\"\n"
                  "clusters:\n"
                  "  - name: a\n"
                  "    bootstrap_servers: \"k:9092\"\n"
                  "    granularity: topic\n"
                  "    families: { include: [\"^kafka_\"], exclude: [\"_oldest_offset$\"] }\n"
                  "    series_cap: 1000\n"
                  "    series_caps: { kafka_consumergroup_lag: 50, kafka_brokers: 0 }\n"
                  "  - name: b\n"
                  "    bootstrap_servers: \"k:9092\"\n";
  assert_int_equal(ct_load(y, tail, sizeof(tail), &c), SKPI_OK);
  const skpi_cluster_cfg *a = &c->clusters[0];
  assert_int_equal(a->granularity, SKPI_CONFIG_GRANULARITY_TOPIC);
  assert_int_equal(a->series_cap, 1000);
  assert_int_equal(a->nseries_caps, 2);
  long lag = -1, brokers = -1;
  for(size_t i = 0; i < a->nseries_caps; i++) {
    if(!strcmp(a->series_caps[i].family, "kafka_consumergroup_lag"))
      lag = a->series_caps[i].cap;
    if(!strcmp(a->series_caps[i].family, "kafka_brokers"))
      brokers = a->series_caps[i].cap;
  }
  assert_int_equal(lag, 50);
  assert_int_equal(brokers, 0);
  assert_true(skpi_filter_match(&a->families, "kafka_consumergroup_lag"));
  assert_false(skpi_filter_match(&a->families, "kafka_topic_partition_oldest_offset"));
  assert_false(skpi_filter_match(&a->families, "streamkpi_kafka_requests"));
  /* The shard applies to every cluster. */
  for(size_t i = 0; i < 2; i++) {
    assert_int_equal(c->clusters[i].shard.index, 2);
    assert_int_equal(c->clusters[i].shard.count, 3);
  }
  assert_int_equal(c->clusters[1].granularity, SKPI_CONFIG_GRANULARITY_PARTITION);
  /* The flag's path: set_shard overrides, and refuses garbage untouched. */
  char err[160];
  assert_int_equal(skpi_config_set_shard(c, "0/2", err, sizeof(err)), SKPI_OK);
  assert_int_equal(c->clusters[1].shard.count, 2);
  assert_int_equal(skpi_config_set_shard(c, "2/2", err, sizeof(err)), SKPI_EINVAL);
  assert_int_equal(c->clusters[1].shard.count, 2);
  assert_int_equal(c->clusters[1].shard.index, 0);
  skpi_config_free(c);
}

static void bad_values_name_their_line(void **state) {
  static const struct {
    const char *yaml, *want;
  } cases[] = {
      {"global:\n  shard: \"3/3\"\nclusters:\n  - name: a\n    bootstrap_servers: k:1\n",
       "2: global.shard: expected \"i/n\" with 0 <= i < n <= 1024, got \"3/3\""},
      {"clusters:\n  - name: a\n    bootstrap_servers: k:1\n    granularity: broker\n",
       "4: clusters[0].granularity: "},
      {"clusters:\n  - name: a\n    bootstrap_servers: k:1\n    series_cap: -1\n",
       "4: clusters[0].series_cap: "},
      {"clusters:\n  - name: a\n    bootstrap_servers: k:1\n    series_caps: { kafka_brokers: "
       "lots }\n",
       "4: clusters[0].series_caps.kafka_brokers: expected a whole number from 0 to 100000000, got "
       "\"lots\""},
      {"clusters:\n  - name: a\n    bootstrap_servers: k:1\n    series_caps: { kafka_brokers: "
       "1.5 }\n",
       "4: clusters[0].series_caps.kafka_brokers: expected a whole number"},
      {"clusters:\n  - name: a\n    bootstrap_servers: k:1\n    series_caps: { \"9bad\": 3 }\n",
       "4: clusters[0].series_caps.9bad: expected a metric family name, got \"9bad\""},
      {"clusters:\n  - name: a\n    bootstrap_servers: k:1\n    families: { include: [\"([\"] }\n",
       "4: clusters[0].families.include[0]: invalid regex"},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char tail[512];
    assert_int_equal(ct_load(cases[i].yaml, tail, sizeof(tail), NULL), SKPI_EINVAL);
    if(strncmp(tail, cases[i].want, strlen(cases[i].want)) != 0)
      fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, tail, cases[i].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults_are_partition_no_caps_unsharded),
      cmocka_unit_test(keys_are_read),
      cmocka_unit_test(bad_values_name_their_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
