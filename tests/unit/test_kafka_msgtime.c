/* test_kafka_msgtime.c: which commits get their message read, and the reads
 * themselves against librdkafka's mock cluster (Produce and Fetch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kpi_test.h"
#include "streamkpi/kafka_msgtime.h"

/* See test_kafka_source.c: librdkafka 2.0.2 leaks one object per handle in
 * some mock paths; only stacks through rd_kafka_new are silenced. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
  return "leak:rd_kafka_new\n";
}

#define NMSG 5
/* Message i of each partition was written at T0_MS + i seconds. */
#define T0_MS 1700000000000LL

typedef struct fixture {
  rd_kafka_t *producer; /* owns the mock cluster */
  char bootstraps[256];
  skpi_cluster_cfg cfg;
} fixture;

static int setup(void **state) {
  char errstr[256];
  fixture *f = kt_xcalloc(1, sizeof(*f));
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  assert_int_equal(rd_kafka_conf_set(conf, "test.mock.num.brokers", "2", errstr, sizeof(errstr)),
                   RD_KAFKA_CONF_OK);
  assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)),
                   RD_KAFKA_CONF_OK);
  f->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  assert_non_null(f->producer);
  rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(f->producer);
  snprintf(f->bootstraps, sizeof(f->bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(mc));
  assert_int_equal(rd_kafka_mock_topic_create(mc, "orders", 2, 1), 0);
  for(int32_t p = 0; p < 2; p++)
    for(int i = 0; i < NMSG; i++)
      assert_int_equal(
          rd_kafka_producev(f->producer, RD_KAFKA_V_TOPIC("orders"), RD_KAFKA_V_PARTITION(p),
                            RD_KAFKA_V_VALUE("x", 1), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_TIMESTAMP(T0_MS + i * 1000 + p * 100), RD_KAFKA_V_END),
          RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(rd_kafka_flush(f->producer, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  f->cfg.name = "mock";
  f->cfg.bootstrap_servers = f->bootstraps;
  f->cfg.request_timeout_s = 10;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  rd_kafka_destroy(f->producer);
  free(f);
  return 0;
}

/* orders[0..1] at (low, high), and a group committed at c0 and c1. */
static skpi_ksample *sample(int64_t low, int64_t high, int64_t c0, int64_t c1) {
  skpi_ksample *s = ks_new("mock", 0);
  int t = ks_topic(s, "orders", 2);
  ks_wm(s, t, 0, low, high);
  ks_wm(s, t, 1, low, high);
  int g = ks_group(s, "app", "Stable", 1);
  ks_commit(s, g, t, 0, c0);
  ks_commit(s, g, t, 1, c1);
  return s;
}

/* Only commits below the first watermark the reader saw need a read; the
 * history the reader watched brackets the later ones. */
static void plan_reads_only_what_predates_the_watch(void **state) {
  fixture *f = *state;
  skpi_msgtime_reader *r;
  assert_int_equal(skpi_msgtime_reader_new(&f->cfg, 100, &r), SKPI_OK);
  skpi_ksample *s = sample(0, 5, 2, 5); /* partition 1 is caught up */
  assert_int_equal(skpi_msgtime_reader_plan(r, s), 1);
  ks_free(s);
  s = sample(0, 9, 6, 4); /* 6 was written after the watch began, 4 before */
  assert_int_equal(skpi_msgtime_reader_plan(r, s), 1);
  ks_free(s);
  /* A truncated partition starts the watch again. */
  s = sample(0, 3, 1, 3);
  assert_int_equal(skpi_msgtime_reader_plan(r, s), 1);
  ks_free(s);
  skpi_msgtime_reader_free(r);
  /* 0 switches reading off. */
  assert_int_equal(skpi_msgtime_reader_new(&f->cfg, 0, &r), SKPI_OK);
  s = sample(0, 5, 2, 1);
  assert_int_equal(skpi_msgtime_reader_plan(r, s), 0);
  ks_free(s);
  skpi_msgtime_reader_free(r);
}

static const skpi_msgtime *item_of(const skpi_msgtime *items, size_t n, int32_t part) {
  for(size_t i = 0; i < n; i++)
    if(items[i].partition == part)
      return &items[i];
  fail_msg("no timestamp for partition %d", (int)part);
  return NULL;
}

/* One batched read gives each committed message's own timestamp; a stalled
 * consumer is read once, however many cycles it stays. */
static void reads_exact_times_once(void **state) {
  fixture *f = *state;
  skpi_msgtime_reader *r;
  assert_int_equal(skpi_msgtime_reader_new(&f->cfg, 100, &r), SKPI_OK);
  skpi_ksample *s = sample(0, NMSG, 2, 3);
  const skpi_msgtime *items;
  size_t n;
  assert_int_equal(skpi_msgtime_reader_run(r, s, NULL, &items, &n), SKPI_OK);
  assert_int_equal(n, 2);
  skpi_msgtime_stats st;
  skpi_msgtime_reader_stats(r, &st);
  assert_int_equal(st.last_reads, 2);
  assert_true(st.last_read_s > 0);
  const skpi_msgtime *a = item_of(items, n, 0), *b = item_of(items, n, 1);
  assert_string_equal(a->topic, "orders");
  assert_int_equal(a->offset, 2);
  assert_float_equal(a->timestamp, (T0_MS + 2000) / 1000.0, 1e-6);
  assert_int_equal(a->method, SKPI_MSGTIME_EXACT);
  assert_int_equal(b->offset, 3);
  assert_float_equal(b->timestamp, (T0_MS + 3100) / 1000.0, 1e-6);
  for(int cycle = 0; cycle < 3; cycle++) {
    assert_int_equal(skpi_msgtime_reader_run(r, s, NULL, &items, &n), SKPI_OK);
    assert_int_equal(n, 0);
  }
  skpi_msgtime_reader_stats(r, &st);
  assert_int_equal(st.reads, 2);
  assert_int_equal(st.found, 2);
  assert_int_equal(st.fallbacks, 0);
  assert_int_equal(st.cycles, 1);
  assert_int_equal(st.last_reads, 0); /* the last run read nothing */
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_msgtime_reader_render(r, "mock", m), SKPI_OK);
  char *text = kt_render(m);
  assert_float_equal(
      kt_value(text, "streamkpi_kafka_message_time_cycle_partitions{cluster=\"mock\"}"), 0, 0);
  assert_float_equal(
      kt_value(text, "streamkpi_kafka_message_time_failures_total{cluster=\"mock\"}"), 0, 0);
  free(text);
  skpi_mset_unref(m);
  ks_free(s);
  skpi_msgtime_reader_free(r);
}

/* A committed offset below the oldest one left (deleted by retention) is
 * timed by the oldest message left, and says so. */
static void gone_offset_falls_back_to_next(void **state) {
  fixture *f = *state;
  skpi_msgtime_reader *r;
  assert_int_equal(skpi_msgtime_reader_new(&f->cfg, 100, &r), SKPI_OK);
  skpi_ksample *s = sample(3, NMSG, 1, 4);
  const skpi_msgtime *items;
  size_t n;
  assert_int_equal(skpi_msgtime_reader_run(r, s, NULL, &items, &n), SKPI_OK);
  assert_int_equal(n, 2);
  const skpi_msgtime *a = item_of(items, n, 0), *b = item_of(items, n, 1);
  assert_int_equal(a->offset, 1);
  assert_int_equal(a->method, SKPI_MSGTIME_NEXT);
  assert_float_equal(a->timestamp, (T0_MS + 3000) / 1000.0, 1e-6);
  assert_int_equal(b->method, SKPI_MSGTIME_EXACT);
  skpi_msgtime_stats st;
  skpi_msgtime_reader_stats(r, &st);
  assert_int_equal(st.fallbacks, 1);
  ks_free(s);
  skpi_msgtime_reader_free(r);
}

/* The per-cycle cap: the rest is read in the next cycles. */
static void cap_spreads_reads_over_cycles(void **state) {
  fixture *f = *state;
  skpi_msgtime_reader *r;
  assert_int_equal(skpi_msgtime_reader_new(&f->cfg, 1, &r), SKPI_OK);
  skpi_ksample *s = sample(0, NMSG, 0, 1);
  const skpi_msgtime *items;
  size_t n;
  assert_int_equal(skpi_msgtime_reader_run(r, s, NULL, &items, &n), SKPI_OK);
  assert_int_equal(n, 1);
  int32_t first = items[0].partition;
  assert_int_equal(skpi_msgtime_reader_run(r, s, NULL, &items, &n), SKPI_OK);
  assert_int_equal(n, 1);
  assert_int_not_equal(items[0].partition, first);
  assert_int_equal(skpi_msgtime_reader_run(r, s, NULL, &items, &n), SKPI_OK);
  assert_int_equal(n, 0);
  ks_free(s);
  skpi_msgtime_reader_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(plan_reads_only_what_predates_the_watch),
      cmocka_unit_test(reads_exact_times_once),
      cmocka_unit_test(gone_offset_falls_back_to_next),
      cmocka_unit_test(cap_spreads_reads_over_cycles),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
