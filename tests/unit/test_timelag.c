/* test_timelag.c: time-lag histories and estimates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/timelag.h"

static const skpi_tlpoint HIST[] = {
    {100, 1000.0}, {200, 1010.0}, {200, 1020.0}, {400, 1030.0}, {1000, 1090.0},
};

/* Table of (committed, now, max_extrapolate, expected lag). */
static void interp_table(void **state) {
  static const struct {
    int64_t committed;
    double now, maxx, want;
  } rows[] = {
      {1000, 2000, 86400, 0},   /* at the newest watermark: caught up */
      {5000, 2000, 86400, 0},   /* above it (stale watermark): caught up */
      {150, 1100, 86400, 95},   /* halfway 1000..1010 -> t=1005 */
      {200, 1100, 86400, 80},   /* last time still at 200: 1020 (idle is no lag) */
      {199, 1100, 86400, 90.1}, /* 100@1000 .. 200@1010 -> 1009.9 */
      {300, 1100, 86400, 75},   /* 200@1020 .. 400@1030 -> 1025 */
      {700, 1100, 86400, 40},   /* 400@1030 .. 1000@1090 -> 1060 */
      {100, 1100, 86400, 100},  /* the oldest point itself */
      {10, 1100, 86400, 109},   /* rate 900/90s = 10/s: 9 s before 1000 */
      {0, 1100, 5, 105},        /* extrapolation capped at 5 s */
      {150, 900, 86400, 0},     /* now before the history: never negative */
  };
  for(size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    double lag = -1;
    assert_int_equal(
        skpi_timelag_interp(HIST, 5, rows[i].committed, rows[i].now, rows[i].maxx, &lag), 1);
    assert_true(isfinite(lag));
    assert_float_equal(lag, rows[i].want, 1e-9);
  }
}

static void interp_degenerate(void **state) {
  double lag = -1;
  assert_int_equal(skpi_timelag_interp(HIST, 0, 5, 100, 10, &lag), 0);
  assert_int_equal(skpi_timelag_interp(HIST, 5, -1, 100, 10, &lag), 0);
  /* A single point: no rate, so the oldest point's time is the estimate. */
  assert_int_equal(skpi_timelag_interp(HIST, 1, 50, 1005, 86400, &lag), 1);
  assert_float_equal(lag, 5, 1e-9);
  /* A flat history (no rate): no extrapolation, no NaN. */
  static const skpi_tlpoint flat[] = {{7, 10.0}, {7, 20.0}};
  assert_int_equal(skpi_timelag_interp(flat, 2, 3, 30, 86400, &lag), 1);
  assert_float_equal(lag, 20, 1e-9);
  assert_int_equal(skpi_timelag_interp(flat, 2, 3, NAN, 86400, &lag), 1);
  assert_float_equal(lag, 0, 0);
  assert_int_equal(skpi_timelag_interp(HIST, 5, 0, INFINITY, INFINITY, &lag), 1);
  assert_float_equal(lag, 0, 0);
}

/* A group caught up on a topic idle for an hour, then one message arrives:
 * its lag is the age of that message (bounded by the last idle sample), not
 * the hour the topic stood still (found by tests/it/test_kpis.py). */
static void interp_idle_then_write(void **state) {
  static const skpi_tlpoint idle[] = {{50, 0.0}, {50, 3600.0}, {51, 3601.0}};
  double lag = -1;
  assert_int_equal(skpi_timelag_interp(idle, 3, 50, 3605, 86400, &lag), 1);
  assert_float_equal(lag, 5, 1e-9);
  assert_int_equal(skpi_timelag_interp(idle, 3, 51, 3605, 86400, &lag), 1);
  assert_float_equal(lag, 0, 0);
  /* Before the write the group is simply caught up. */
  assert_int_equal(skpi_timelag_interp(idle, 2, 50, 3605, 86400, &lag), 1);
  assert_float_equal(lag, 0, 0);
}

static skpi_ksample *one_topic(double t, int64_t high) {
  skpi_ksample *s = ks_new("c1", t);
  int ti = ks_topic(s, "orders", 1);
  ks_wm(s, ti, 0, 0, high);
  return s;
}

static void engine_tracks_and_flat_pairs(void **state) {
  skpi_timelag *tl;
  assert_int_equal(skpi_timelag_new("c1", NULL, &tl), SKPI_OK);
  /* 0@0, flat until 100, then +10/s. */
  int64_t highs[] = {0, 0, 0, 100, 200};
  double times[] = {0, 50, 100, 110, 120};
  for(int i = 0; i < 5; i++) {
    skpi_ksample *s = one_topic(times[i], highs[i]);
    assert_int_equal(skpi_timelag_observe(tl, s, times[i]), SKPI_OK);
    ks_free(s);
  }
  double lag;
  /* Offset 50 is reached between 100 (last seen at 0) and 110 (100). */
  assert_int_equal(skpi_timelag_estimate(tl, "orders", 0, 50, 130, &lag), 1);
  assert_float_equal(lag, 25, 1e-9);
  assert_int_equal(skpi_timelag_estimate(tl, "orders", 0, 200, 130, &lag), 1);
  assert_float_equal(lag, 0, 0);
  assert_int_equal(skpi_timelag_estimate(tl, "orders", 1, 0, 130, &lag), 0);
  assert_int_equal(skpi_timelag_estimate(tl, "nope", 0, 0, 130, &lag), 0);
  /* Re-created topic: watermark drops, history restarts. */
  skpi_ksample *s = one_topic(130, 5);
  assert_int_equal(skpi_timelag_observe(tl, s, 130), SKPI_OK);
  ks_free(s);
  assert_int_equal(skpi_timelag_estimate(tl, "orders", 0, 0, 140, &lag), 1);
  assert_float_equal(lag, 10, 1e-9);
  skpi_timelag_free(tl);
}

static void ring_thins_and_keeps_oldest(void **state) {
  skpi_timelag_cfg cfg;
  skpi_timelag_cfg_default(&cfg);
  cfg.points = 8;
  skpi_timelag *tl;
  assert_int_equal(skpi_timelag_new("c1", &cfg, &tl), SKPI_OK);
  /* 10 messages per second for 1000 samples: exact linear history. */
  for(int i = 0; i < 1000; i++) {
    skpi_ksample *s = one_topic(10.0 * i, 100 * i);
    assert_int_equal(skpi_timelag_observe(tl, s, 10.0 * i), SKPI_OK);
    ks_free(s);
  }
  json_t *doc = skpi_timelag_save(tl);
  assert_non_null(doc);
  json_t *parts = json_object_get(json_array_get(json_object_get(doc, "topics"), 0), "parts");
  assert_true(json_is_string(parts));
  size_t tokens = 1;
  for(const char *c = json_string_value(parts); *c; c++)
    tokens += *c == ' ';
  assert_int_equal(tokens, 1 + 2 * 8);
  json_decref(doc);
  /* Linear traffic: any thinned history still interpolates exactly. */
  double lag;
  for(int64_t c = 0; c < 99900; c += 777) {
    assert_int_equal(skpi_timelag_estimate(tl, "orders", 0, c, 10000, &lag), 1);
    assert_float_equal(lag, 10000 - (double)c / 10, 1e-6);
  }
  skpi_timelag_free(tl);
}

/* Five samples of "orders" partition 0: 1000 messages per 100 s. */
static void observe_five(skpi_timelag *a) {
  for(int i = 0; i < 5; i++) {
    skpi_ksample *s = one_topic(100.0 * i, 1000 * i);
    assert_int_equal(skpi_timelag_observe(a, s, 100.0 * i), SKPI_OK);
    ks_free(s);
  }
}

static void save_load_roundtrip(void **state) {
  skpi_timelag *a, *b;
  assert_int_equal(skpi_timelag_new("c1", NULL, &a), SKPI_OK);
  assert_int_equal(skpi_timelag_new("c1", NULL, &b), SKPI_OK);
  observe_five(a);
  json_t *doc = skpi_timelag_save(a);
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  json_t *back = json_loads(text, 0, NULL);
  free(text);
  assert_int_equal(skpi_timelag_load(b, back), SKPI_OK);
  json_decref(back);
  double la, lb;
  assert_int_equal(skpi_timelag_estimate(a, "orders", 0, 1500, 600, &la), 1);
  assert_int_equal(skpi_timelag_estimate(b, "orders", 0, 1500, 600, &lb), 1);
  assert_float_equal(la, 450, 1e-9);
  assert_float_equal(lb, la, 1e-9);
  assert_int_equal(skpi_timelag_partitions(b), 1);
  skpi_timelag_free(a);
  skpi_timelag_free(b);
}

/* The save is one string per topic, and a version 1 document (a JSON
 * array per partition) still loads to the same histories. */
static void save_is_compact_and_version_1_loads(void **state) {
  skpi_timelag *a, *b;
  assert_int_equal(skpi_timelag_new("c1", NULL, &a), SKPI_OK);
  assert_int_equal(skpi_timelag_new("c1", NULL, &b), SKPI_OK);
  observe_five(a);
  json_t *doc = skpi_timelag_save(a);
  assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
  const json_t *t0 = json_array_get(json_object_get(doc, "topics"), 0);
  assert_true(json_is_string(json_object_get(t0, "parts")));
  assert_string_equal(json_string_value(json_object_get(t0, "parts")),
                      "0 0 0 1000 100 2000 200 3000 300 4000 400");
  json_decref(doc);
  json_t *v1 = json_loads("{\"version\":1,\"topics\":[{\"name\":\"orders\",\"last_seen\":400,"
                          "\"parts\":[[0,0,0,1000,100,2000,200,3000,300,4000,400]]}]}",
                          0, NULL);
  assert_int_equal(skpi_timelag_load(b, v1), SKPI_OK);
  json_decref(v1);
  double la, lb;
  assert_int_equal(skpi_timelag_estimate(a, "orders", 0, 1500, 600, &la), 1);
  assert_int_equal(skpi_timelag_estimate(b, "orders", 0, 1500, 600, &lb), 1);
  assert_float_equal(lb, la, 1e-9);
  assert_int_equal(skpi_timelag_partitions(b), 1);
  skpi_timelag_free(a);
  skpi_timelag_free(b);
}

static void load_garbage(void **state) {
  static const char *bad[] = {
      "[]",
      "{}",
      "{\"version\":3,\"topics\":[]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":[[0,1,2]]}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"0 1\"}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"0 1 2 3\"}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"-1 1 2\"}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"0 -5 2\"}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"0 5 2 4 3\"}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"0 5 x\"}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"0 5 nan\"}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"0 5x 2\"}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"0  5 2\"}]}",
      "{\"version\":2,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":\"0 1 2\\n0 1 2\"}]}",
      "{\"version\":1,\"topics\":{}}",
      "{\"version\":1,\"topics\":[1]}",
      "{\"version\":1,\"topics\":[{\"name\":\"\",\"last_seen\":1,\"parts\":[]}]}",
      "{\"version\":1,\"topics\":[{\"name\":\"a\",\"parts\":[]}]}",
      "{\"version\":1,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":[[0,1]]}]}",
      "{\"version\":1,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":[[-1,1,2]]}]}",
      "{\"version\":1,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":[[0,-5,2]]}]}",
      "{\"version\":1,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":[[0,5,2,4,3]]}]}",
      "{\"version\":1,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":[[0,5,2,6,2]]}]}",
      "{\"version\":1,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":[[0,5,\"x\"]]}]}",
      "{\"version\":1,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":[[0,1,2],[0,1,2]]}]}",
      "{\"version\":1,\"topics\":[{\"name\":\"a\",\"last_seen\":1,\"parts\":[]},"
      "{\"name\":\"a\",\"last_seen\":1,\"parts\":[]}]}",
  };
  skpi_timelag *tl;
  assert_int_equal(skpi_timelag_new("c1", NULL, &tl), SKPI_OK);
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    skpi_ksample *s = one_topic(10, 10);
    assert_int_equal(skpi_timelag_observe(tl, s, 10), SKPI_OK);
    ks_free(s);
    assert_int_equal(skpi_timelag_partitions(tl), 1);
    json_t *doc = json_loads(bad[i], 0, NULL);
    assert_non_null(doc);
    assert_int_equal(skpi_timelag_load(tl, doc), SKPI_EINVAL);
    json_decref(doc);
    double lag;
    assert_int_equal(skpi_timelag_partitions(tl), 0);
    assert_int_equal(skpi_timelag_estimate(tl, "orders", 0, 0, 20, &lag), 0);
  }
  assert_int_equal(skpi_timelag_load(tl, NULL), SKPI_EINVAL);
  skpi_timelag_free(tl);
}

static void memory_for_100k_partitions(void **state) {
  skpi_timelag *tl;
  assert_int_equal(skpi_timelag_new("c1", NULL, &tl), SKPI_OK);
  enum { NT = 1000, NP = 100 };
  skpi_ksample *s = kt_xcalloc(1, sizeof(*s));
  s->cluster = strdup("c1");
  s->topics = kt_xcalloc(NT, sizeof(skpi_ktopic));
  s->ntopics = NT;
  for(int i = 0; i < NT; i++) {
    char name[32];
    snprintf(name, sizeof(name), "topic-%05d", i);
    s->topics[i].name = strdup(name);
    s->topics[i].nparts = NP;
    s->topics[i].parts = kt_xcalloc(NP, sizeof(skpi_kpartition));
    for(int p = 0; p < NP; p++)
      s->topics[i].parts[p].id = p;
  }
  /* Every watermark moves every cycle, so every ring fills up. */
  for(int cycle = 0; cycle < 40; cycle++) {
    for(int i = 0; i < NT; i++)
      for(int p = 0; p < NP; p++)
        s->topics[i].parts[p].high = 10 * cycle;
    assert_int_equal(skpi_timelag_observe(tl, s, 15.0 * cycle), SKPI_OK);
  }
  assert_int_equal(skpi_timelag_partitions(tl), NT * NP);
  assert_true(skpi_timelag_bytes(tl) > (size_t)NT * NP * 32 * sizeof(skpi_tlpoint));
  assert_true(skpi_timelag_bytes(tl) < 64u * 1024 * 1024);
  s->groups = NULL;
  ks_free(s);
  skpi_timelag_free(tl);
}

static void render_per_partition_and_max(void **state) {
  skpi_timelag *tl;
  assert_int_equal(skpi_timelag_new("c1", NULL, &tl), SKPI_OK);
  for(int i = 0; i < 3; i++) {
    skpi_ksample *s = ks_new("c1", 100.0 * i);
    int t = ks_topic(s, "orders", 2);
    ks_wm(s, t, 0, 0, 1000 * i);
    ks_wm(s, t, 1, 0, 10);
    assert_int_equal(skpi_timelag_observe(tl, s, 100.0 * i), SKPI_OK);
    ks_free(s);
  }
  skpi_ksample *s = ks_new("c1", 200);
  int t = ks_topic(s, "orders", 2);
  int u = ks_topic(s, "unseen", 1);
  int g = ks_group(s, "app", "Stable", 1);
  ks_commit(s, g, t, 0, 1500); /* reached at 150: 100 s behind at 250 */
  ks_commit(s, g, t, 1, 10);   /* caught up */
  ks_commit(s, g, u, 0, 3);    /* no history: no series */
  int idle = ks_group(s, "idle", "Empty", 0);
  (void)idle;
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_timelag_render(tl, s, 250, m), SKPI_OK);
  double mx;
  assert_int_equal(skpi_timelag_group_max(tl, s, &s->groups[g], 250, &mx), 1);
  assert_float_equal(mx, 100, 1e-9);
  ks_free(s);
  char *text = kt_render(m);
  assert_float_equal(kt_value(text, "kafka_consumergroup_lag_seconds{cluster=\"c1\","
                                    "consumergroup=\"app\",topic=\"orders\",partition=\"0\"}"),
                     100, 1e-9);
  assert_float_equal(kt_value(text, "kafka_consumergroup_lag_seconds{cluster=\"c1\","
                                    "consumergroup=\"app\",topic=\"orders\",partition=\"1\"}"),
                     0, 0);
  assert_int_equal(kt_count(text, "kafka_consumergroup_lag_seconds{"), 2);
  assert_float_equal(kt_value(text, "kafka_consumergroup_lag_seconds_max{cluster=\"c1\","
                                    "consumergroup=\"app\"}"),
                     100, 1e-9);
  assert_int_equal(kt_count(text, "kafka_consumergroup_lag_seconds_max{"), 1);
  free(text);
  skpi_mset_unref(m);
  skpi_timelag_free(tl);
}

/* A consumer stalled before the watch: offset 10 of a partition whose
 * history starts at 100 and stays flat (no rate to extrapolate with). */
static skpi_timelag *stalled_before_watch(void) {
  skpi_timelag *tl;
  assert_int_equal(skpi_timelag_new("c1", NULL, &tl), SKPI_OK);
  for(int i = 0; i < 3; i++) {
    skpi_ksample *s = one_topic(1000.0 + 10 * i, 100);
    assert_int_equal(skpi_timelag_observe(tl, s, 1000.0 + 10 * i), SKPI_OK);
    ks_free(s);
  }
  return tl;
}

static void message_time_replaces_extrapolation(void **state) {
  skpi_timelag *tl = stalled_before_watch();
  double lag;
  enum skpi_timelag_method how;
  /* Without the message's time: the oldest point's time, marked so. */
  assert_int_equal(skpi_timelag_estimate_how(tl, "orders", 0, 10, 1100, &lag, &how), 1);
  assert_float_equal(lag, 100, 1e-9);
  assert_int_equal(how, SKPI_TL_EXTRAPOLATED);
  skpi_msgtime items[] = {
      {"orders", 0, 10, 400.0, SKPI_MSGTIME_EXACT},
      {"orders", 0, 20, 500.0, SKPI_MSGTIME_NEXT},
  };
  assert_int_equal(skpi_timelag_add_times(tl, items, 2), SKPI_OK);
  assert_int_equal(skpi_timelag_estimate_how(tl, "orders", 0, 10, 1100, &lag, &how), 1);
  assert_float_equal(lag, 700, 1e-9);
  assert_int_equal(how, SKPI_TL_EXACT);
  assert_string_equal(skpi_timelag_method_name(how), "exact");
  /* It rises at one second per second. */
  assert_int_equal(skpi_timelag_estimate(tl, "orders", 0, 10, 1130, &lag), 1);
  assert_float_equal(lag, 730, 1e-9);
  assert_int_equal(skpi_timelag_estimate_how(tl, "orders", 0, 20, 1100, &lag, &how), 1);
  assert_float_equal(lag, 600, 1e-9);
  assert_int_equal(how, SKPI_TL_NEXT);
  /* Bracketed and caught-up commits keep their own methods. */
  assert_int_equal(skpi_timelag_estimate_how(tl, "orders", 0, 100, 1100, &lag, &how), 1);
  assert_int_equal(how, SKPI_TL_CURRENT);
  assert_float_equal(lag, 0, 0);
  uint64_t reads, fb;
  skpi_timelag_time_counts(tl, &reads, &fb);
  assert_int_equal(reads, 2);
  assert_int_equal(fb, 1);
  skpi_timelag_free(tl);
}

/* A producer clock ahead of ours never makes a message younger than the
 * moment the watermark already covered it, and never gives a negative lag. */
static void message_time_never_negative(void **state) {
  skpi_timelag *tl = stalled_before_watch();
  skpi_msgtime future = {"orders", 0, 10, 5000.0, SKPI_MSGTIME_EXACT};
  assert_int_equal(skpi_timelag_add_times(tl, &future, 1), SKPI_OK);
  double lag;
  assert_int_equal(skpi_timelag_estimate(tl, "orders", 0, 10, 1100, &lag), 1);
  assert_float_equal(lag, 100, 1e-9);
  assert_int_equal(skpi_timelag_estimate(tl, "orders", 0, 10, 900, &lag), 1);
  assert_float_equal(lag, 0, 0);
  skpi_msgtime bad[] = {
      {NULL, 0, 1, 1.0, SKPI_MSGTIME_EXACT},
      {"orders", 0, -1, 1.0, SKPI_MSGTIME_EXACT},
      {"orders", 0, 11, NAN, SKPI_MSGTIME_EXACT},
  };
  assert_int_equal(skpi_timelag_add_times(tl, bad, 3), SKPI_EINVAL);
  uint64_t reads, fb;
  skpi_timelag_time_counts(tl, &reads, &fb);
  assert_int_equal(reads, 1);
  skpi_timelag_free(tl);
}

/* Timestamps of offsets no commit points at any more are forgotten: a
 * consumer that moves on is estimated from the history again. */
static void message_times_follow_the_commits(void **state) {
  skpi_timelag *tl = stalled_before_watch();
  skpi_msgtime items[] = {{"orders", 0, 10, 400.0, SKPI_MSGTIME_EXACT}};
  assert_int_equal(skpi_timelag_add_times(tl, items, 1), SKPI_OK);
  skpi_ksample *s = one_topic(1030, 100);
  int g = ks_group(s, "app", "Stable", 1);
  ks_commit(s, g, 0, 0, 10);
  skpi_timelag_keep_times(tl, s);
  double lag;
  enum skpi_timelag_method how;
  assert_int_equal(skpi_timelag_estimate_how(tl, "orders", 0, 10, 1100, &lag, &how), 1);
  assert_int_equal(how, SKPI_TL_EXACT);
  s->groups[g].commits[0].offset = 11;
  skpi_timelag_keep_times(tl, s);
  ks_free(s);
  assert_int_equal(skpi_timelag_estimate_how(tl, "orders", 0, 10, 1100, &lag, &how), 1);
  assert_int_equal(how, SKPI_TL_EXTRAPOLATED);
  skpi_timelag_free(tl);
}

/* The read counters exist at 0 before any read; the JSON names the method. */
static void counters_and_json(void **state) {
  skpi_timelag *tl = stalled_before_watch();
  skpi_ksample *s = one_topic(1030, 100);
  int g = ks_group(s, "app", "Stable", 1);
  ks_commit(s, g, 0, 0, 10);
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_timelag_render(tl, s, 1100, m), SKPI_OK);
  char *text = kt_render(m);
  assert_float_equal(kt_value(text, "streamkpi_kafka_message_time_reads_total{cluster=\"c1\"}"), 0,
                     0);
  assert_float_equal(kt_value(text, "streamkpi_kafka_message_time_fallbacks_total{cluster=\"c1\"}"),
                     0, 0);
  free(text);
  skpi_mset_unref(m);
  skpi_msgtime items[] = {{"orders", 0, 10, 400.0, SKPI_MSGTIME_NEXT}};
  assert_int_equal(skpi_timelag_add_times(tl, items, 1), SKPI_OK);
  m = skpi_mset_new();
  assert_int_equal(skpi_timelag_render(tl, s, 1100, m), SKPI_OK);
  text = kt_render(m);
  assert_float_equal(kt_value(text, "streamkpi_kafka_message_time_fallbacks_total{cluster=\"c1\"}"),
                     1, 0);
  assert_float_equal(kt_value(text, "kafka_consumergroup_lag_seconds{cluster=\"c1\","
                                    "consumergroup=\"app\",topic=\"orders\",partition=\"0\"}"),
                     700, 1e-9);
  free(text);
  skpi_mset_unref(m);
  json_t *j = skpi_timelag_json(tl, s, 1100);
  assert_non_null(j);
  assert_int_equal(json_array_size(j), 1);
  json_t *o = json_array_get(j, 0);
  assert_string_equal(json_string_value(json_object_get(o, "method")), "next");
  assert_string_equal(json_string_value(json_object_get(o, "group")), "app");
  assert_float_equal(json_real_value(json_object_get(o, "lag_seconds")), 700, 1e-9);
  json_decref(j);
  ks_free(s);
  skpi_timelag_free(tl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(interp_table),
      cmocka_unit_test(interp_degenerate),
      cmocka_unit_test(interp_idle_then_write),
      cmocka_unit_test(engine_tracks_and_flat_pairs),
      cmocka_unit_test(ring_thins_and_keeps_oldest),
      cmocka_unit_test(save_load_roundtrip),
      cmocka_unit_test(load_garbage),
      cmocka_unit_test(save_is_compact_and_version_1_loads),
      cmocka_unit_test(memory_for_100k_partitions),
      cmocka_unit_test(render_per_partition_and_max),
      cmocka_unit_test(message_time_replaces_extrapolation),
      cmocka_unit_test(message_time_never_negative),
      cmocka_unit_test(message_times_follow_the_commits),
      cmocka_unit_test(counters_and_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
