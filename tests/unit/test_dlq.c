/* test_dlq.c: DLQ mapping, counters across restarts, ratios. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/dlq.h"

/* A sample with "orders" (2 partitions) and "orders.dlq" (1 partition). */
static skpi_ksample *pipeline(double t, int64_t src0, int64_t src1, int64_t dlq, int64_t dlq_low) {
  skpi_ksample *s = ks_new("c1", t);
  int o = ks_topic(s, "orders", 2);
  int q = ks_topic(s, "orders.dlq", 1);
  ks_wm(s, o, 0, 0, src0);
  ks_wm(s, o, 1, 0, src1);
  ks_wm(s, q, 0, dlq_low, dlq);
  return s;
}

static void observe(skpi_dlq *d, double t, int64_t a, int64_t b, int64_t q, int64_t qlow) {
  skpi_ksample *s = pipeline(t, a, b, q, qlow);
  assert_int_equal(skpi_dlq_observe(d, s, t), SKPI_OK);
  ks_free(s);
}

static double total(const skpi_dlq *d, const char *topic) {
  double v = -1;
  assert_int_equal(skpi_dlq_total(d, topic, &v), 1);
  return v;
}

static void patterns_map_to_source(void **state) {
  skpi_dlq *d;
  char src[64];
  assert_int_equal(skpi_dlq_new("c1", NULL, &d), SKPI_OK);
  static const struct {
    const char *topic, *src;
  } rows[] = {{"orders.dlq", "orders"},  {"orders-dlq", "orders"}, {"dlq.orders", "orders"},
              {"orders.DLT", "orders"},  {"orders-dlt", "orders"}, {"a.b.dlq", "a.b"},
              {"orders", NULL},          {".dlq", NULL},           {"dlq.", NULL},
              {"orders.dlt", NULL},      {"ordersdlq", NULL}};
  for(size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    int m = skpi_dlq_match(d, rows[i].topic, src, sizeof(src));
    assert_int_equal(m, rows[i].src != NULL);
    if(m)
      assert_string_equal(src, rows[i].src);
  }
  assert_int_equal(skpi_dlq_match(d, "orders.dlq", src, 6), 0); /* too small */
  skpi_dlq_free(d);
  const char *custom[] = {"errors-{src}-v1"};
  skpi_dlq_cfg cfg;
  skpi_dlq_cfg_default(&cfg);
  cfg.patterns = custom;
  cfg.npatterns = 1;
  assert_int_equal(skpi_dlq_new("c1", &cfg, &d), SKPI_OK);
  assert_int_equal(skpi_dlq_match(d, "errors-pay-v1", src, sizeof(src)), 1);
  assert_string_equal(src, "pay");
  assert_int_equal(skpi_dlq_match(d, "orders.dlq", src, sizeof(src)), 0);
  skpi_dlq_free(d);
  const char *bad1[] = {"no-hole"}, *bad2[] = {"{src}.{src}"};
  cfg.patterns = bad1;
  assert_int_equal(skpi_dlq_new("c1", &cfg, &d), SKPI_EINVAL);
  cfg.patterns = bad2;
  assert_int_equal(skpi_dlq_new("c1", &cfg, &d), SKPI_EINVAL);
}

static void counts_restart_retention_recreate(void **state) {
  skpi_dlq *d;
  assert_int_equal(skpi_dlq_new("c1", NULL, &d), SKPI_OK);
  observe(d, 1000, 500, 700, 40, 0); /* baseline: nothing counted */
  assert_float_equal(total(d, "orders"), 0, 0);
  assert_float_equal(total(d, "orders.dlq"), 0, 0);
  observe(d, 1060, 510, 720, 43, 0);
  assert_float_equal(total(d, "orders"), 30, 0);
  assert_float_equal(total(d, "orders.dlq"), 3, 0);
  /* Retention: the low watermark moves, nothing is counted for it. */
  observe(d, 1120, 510, 720, 43, 40);
  assert_float_equal(total(d, "orders.dlq"), 3, 0);

  /* Restart: save, load into a new engine, messages written while down are
   * counted once. */
  json_t *doc = skpi_dlq_save(d);
  assert_non_null(doc);
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  skpi_dlq_free(d);
  assert_int_equal(skpi_dlq_new("c1", NULL, &d), SKPI_OK);
  json_t *back = json_loads(text, 0, NULL);
  free(text);
  assert_int_equal(skpi_dlq_load(d, back), SKPI_OK);
  json_decref(back);
  assert_float_equal(total(d, "orders.dlq"), 3, 0);
  observe(d, 1300, 520, 720, 50, 40);
  assert_float_equal(total(d, "orders"), 40, 0);
  assert_float_equal(total(d, "orders.dlq"), 10, 0);
  observe(d, 1360, 520, 720, 50, 40);
  assert_float_equal(total(d, "orders.dlq"), 10, 0);

  /* Re-created DLQ: its watermark drops to 2, which are 2 new messages. */
  observe(d, 1420, 520, 720, 2, 0);
  assert_float_equal(total(d, "orders.dlq"), 12, 0);
  observe(d, 1480, 520, 720, 5, 0);
  assert_float_equal(total(d, "orders.dlq"), 15, 0);

  /* An unknown watermark (-1) is skipped, then counted once when known. */
  observe(d, 1540, 520, 720, -1, -1);
  assert_float_equal(total(d, "orders.dlq"), 15, 0);
  observe(d, 1600, 520, 720, 9, 0);
  assert_float_equal(total(d, "orders.dlq"), 19, 0);
  skpi_dlq_free(d);
}

static void new_topic_after_baseline_counts_all(void **state) {
  skpi_dlq *d;
  assert_int_equal(skpi_dlq_new("c1", NULL, &d), SKPI_OK);
  skpi_ksample *s = ks_new("c1", 0);
  int o = ks_topic(s, "orders", 1);
  ks_wm(s, o, 0, 0, 100);
  assert_int_equal(skpi_dlq_observe(d, s, 0), SKPI_OK);
  ks_free(s);
  double v;
  assert_int_equal(skpi_dlq_total(d, "orders", &v), 0); /* no DLQ: not tracked */
  /* The DLQ appears later with 4 messages; its source is then tracked from
   * its first sight (a baseline for the source's history). */
  observe(d, 60, 100, 0, 4, 0);
  assert_float_equal(total(d, "orders.dlq"), 4, 0);
  assert_float_equal(total(d, "orders"), 0, 0);
  observe(d, 120, 103, 0, 4, 0);
  assert_float_equal(total(d, "orders"), 3, 0);
  skpi_dlq_free(d);
}

static void ratio_over_windows(void **state) {
  skpi_dlq *d;
  assert_int_equal(skpi_dlq_new("c1", NULL, &d), SKPI_OK);
  double t0 = 1700000000;
  observe(d, t0, 0, 0, 0, 0);
  double r;
  assert_int_equal(skpi_dlq_ratio(d, "orders", 3600, t0, &r), 0); /* 0/0: no ratio */
  /* Two hours ago: k=10 DLQ, n=90 source. */
  observe(d, t0 + 60, 50, 40, 10, 0);
  /* Now: k=1, n=3. */
  double now = t0 + 3 * 3600;
  observe(d, now, 52, 41, 11, 0);
  assert_int_equal(skpi_dlq_ratio(d, "orders", 3600, now, &r), 1);
  assert_float_equal(r, 1.0 / (1 + 3), 1e-12);
  assert_int_equal(skpi_dlq_ratio(d, "orders", 86400, now, &r), 1);
  assert_float_equal(r, 11.0 / (11 + 93), 1e-12);
  assert_int_equal(skpi_dlq_ratio(d, "nope", 86400, now, &r), 0);

  skpi_mset *m = skpi_mset_new();
  assert_non_null(m);
  skpi_ksample *s = pipeline(now, 52, 41, 11, 0);
  int g = ks_group(s, "dlq-reader", "Stable", 1);
  ks_commit(s, g, 1, 0, 6);
  int g2 = ks_group(s, "orders-app", "Stable", 1);
  ks_commit(s, g2, 0, 0, 52);
  assert_int_equal(skpi_dlq_render(d, s, now, m), SKPI_OK);
  ks_free(s);
  char *text = kt_render(m);
  assert_float_equal(
      kt_value(text, "streamkpi_dlq_messages_total{cluster=\"c1\",topic=\"orders.dlq\","
                     "source_topic=\"orders\"}"),
      11, 0);
  assert_float_equal(
      kt_value(text, "streamkpi_dlq_source_messages_total{cluster=\"c1\",topic=\"orders\"}"), 93,
      0);
  assert_float_equal(kt_value(text, "streamkpi_dlq_ratio{cluster=\"c1\",source_topic=\"orders\","
                                    "window=\"1h\"}"),
                     0.25, 1e-12);
  assert_float_equal(
      kt_value(text, "streamkpi_dlq_backlog_messages{cluster=\"c1\",topic=\"orders.dlq\"}"), 5, 0);
  assert_int_equal(kt_count(text, "streamkpi_dlq_backlog_messages{"), 1);
  free(text);
  skpi_mset_unref(m);
  skpi_dlq_free(d);
}

static void load_garbage(void **state) {
  static const char *bad[] = {
      "null",
      "{}",
      "{\"version\":1,\"observed\":true,\"topics\":[]}",
      "{\"version\":1,\"observed\":1,\"topics\":[],\"pipelines\":[]}",
      "{\"version\":1,\"observed\":true,\"topics\":[{\"name\":\"a\"}],\"pipelines\":[]}",
      "{\"version\":1,\"observed\":true,\"topics\":[{\"name\":\"a\",\"total\":-1,"
      "\"last_seen\":0,\"high\":[]}],\"pipelines\":[]}",
      "{\"version\":1,\"observed\":true,\"topics\":[{\"name\":\"a\",\"total\":1,"
      "\"last_seen\":0,\"high\":[-3]}],\"pipelines\":[]}",
      "{\"version\":1,\"observed\":true,\"topics\":[{\"name\":\"a\",\"total\":1,"
      "\"last_seen\":0,\"high\":[\"x\"]}],\"pipelines\":[]}",
      "{\"version\":1,\"observed\":true,\"topics\":[],\"pipelines\":[{\"source\":\"a\","
      "\"last_seen\":0}]}",
      "{\"version\":1,\"observed\":true,\"topics\":[],\"pipelines\":[{\"source\":\"a\","
      "\"last_seen\":0,\"window\":{\"slots\":3,\"buckets\":[]}}]}",
      "{\"version\":1,\"observed\":true,\"topics\":[],\"pipelines\":[{\"source\":\"a\","
      "\"last_seen\":0,\"window\":{\"slots\":2,\"buckets\":[[1,2]]}}]}",
      "{\"version\":1,\"observed\":true,\"topics\":[],\"pipelines\":[{\"source\":\"a\","
      "\"last_seen\":0,\"window\":{\"slots\":2,\"buckets\":[]}},{\"source\":\"a\","
      "\"last_seen\":0,\"window\":{\"slots\":2,\"buckets\":[]}}]}",
  };
  skpi_dlq *d;
  assert_int_equal(skpi_dlq_new("c1", NULL, &d), SKPI_OK);
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    observe(d, 100, 1, 1, 1, 0);
    double v;
    assert_int_equal(skpi_dlq_total(d, "orders.dlq", &v), 1);
    json_t *doc = json_loads(bad[i], JSON_DECODE_ANY, NULL);
    assert_int_equal(skpi_dlq_load(d, doc), SKPI_EINVAL);
    json_decref(doc);
    assert_int_equal(skpi_dlq_total(d, "orders.dlq", &v), 0);
    /* Empty and fresh again: the next observation is a baseline. */
    observe(d, 200, 5, 5, 5, 0);
    assert_float_equal(total(d, "orders.dlq"), 0, 0);
  }
  skpi_dlq_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(patterns_map_to_source),
      cmocka_unit_test(counts_restart_retention_recreate),
      cmocka_unit_test(new_topic_after_baseline_counts_all),
      cmocka_unit_test(ratio_over_windows),
      cmocka_unit_test(load_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
