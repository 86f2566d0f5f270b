/* test_streams.c: active streams and owning teams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/streams.h"

static const skpi_streams_owner CATALOG[] = {{"legacy", "ops"}, {"shop-cart", "checkout"}};

static skpi_streams *engine(void) {
  skpi_streams_cfg cfg;
  skpi_streams_cfg_default(&cfg);
  cfg.catalog = CATALOG;
  cfg.ncatalog = 2;
  skpi_streams *st;
  char err[128];
  assert_int_equal(skpi_streams_new("c1", &cfg, &st, err, sizeof(err)), SKPI_OK);
  return st;
}

/* Topics in name order; base is added to the moving ones' watermarks. */
static skpi_ksample *sample(double t, int64_t base) {
  skpi_ksample *s = ks_new("c1", t);
  int co = ks_topic(s, "__consumer_offsets", 1);
  int idle = ks_topic(s, "idle.topic", 1);
  int legacy = ks_topic(s, "legacy", 2);
  int nobody = ks_topic(s, "nobody.reads", 1);
  int po = ks_topic(s, "payments.orders", 1);
  int pr = ks_topic(s, "payments.refunds", 1);
  int cart = ks_topic(s, "shop-cart", 1);
  ks_wm(s, co, 0, 0, 100 + base);
  ks_wm(s, idle, 0, 0, 5);
  ks_wm(s, legacy, 0, 0, 10);
  ks_wm(s, legacy, 1, 0, 10 + base);
  ks_wm(s, nobody, 0, 0, base);
  ks_wm(s, po, 0, 0, 1000 + 2 * base);
  ks_wm(s, pr, 0, 0, 7 + base);
  ks_wm(s, cart, 0, 0, 3 + base);
  int g = ks_group(s, "a", "Stable", 1);
  ks_commit(s, g, co, 0, 1);
  ks_commit(s, g, idle, 0, 5);
  ks_commit(s, g, legacy, 1, 3);
  ks_commit(s, g, po, 0, 1000);
  g = ks_group(s, "b", "Empty", 0);
  ks_commit(s, g, cart, 0, 1);
  g = ks_group(s, "z", "Dead", 0);
  ks_commit(s, g, pr, 0, 1);
  return s;
}

static void observe(skpi_streams *st, double t, int64_t base) {
  skpi_ksample *s = sample(t, base);
  assert_int_equal(skpi_streams_observe(st, s, t), SKPI_OK);
  ks_free(s);
}

static void teams_from_catalog_and_regex(void **state) {
  skpi_streams *st = engine();
  observe(st, 0, 0);
  char team[32];
  assert_int_equal(skpi_streams_team(st, "legacy", team, sizeof(team)), 1);
  assert_string_equal(team, "ops");
  assert_int_equal(skpi_streams_team(st, "shop-cart", team, sizeof(team)), 1);
  assert_string_equal(team, "checkout");
  assert_int_equal(skpi_streams_team(st, "payments.orders", team, sizeof(team)), 1);
  assert_string_equal(team, "payments");
  assert_int_equal(skpi_streams_team(st, "payments.orders", team, 4), 0);
  assert_int_equal(skpi_streams_team(st, "__consumer_offsets", team, sizeof(team)), 0);
  skpi_streams_free(st);

  skpi_streams_cfg cfg;
  skpi_streams_cfg_default(&cfg);
  char err[128] = "";
  cfg.team_regex = "^[a-z]+\\.";
  assert_int_equal(skpi_streams_new("c1", &cfg, &st, err, sizeof(err)), SKPI_EINVAL);
  assert_non_null(strstr(err, "capture"));
  cfg.team_regex = "^([a-z+\\.";
  assert_int_equal(skpi_streams_new("c1", &cfg, &st, err, sizeof(err)), SKPI_EINVAL);
  static const skpi_streams_owner empty[] = {{"x", ""}};
  cfg.team_regex = NULL;
  cfg.catalog = empty;
  cfg.ncatalog = 1;
  assert_int_equal(skpi_streams_new("c1", &cfg, &st, NULL, 0), SKPI_EINVAL);
}

static void active_streams_and_window(void **state) {
  skpi_streams *st = engine();
  size_t na, nt;
  observe(st, 0, 0);
  skpi_streams_counts(st, 0, &na, &nt);
  assert_int_equal(na, 0); /* no movement seen yet */
  observe(st, 60, 5);
  /* Moving and consumed: legacy (ops), payments.orders (payments), shop-cart
   * (checkout).  Not: idle.topic (no traffic), nobody.reads (no group),
   * payments.refunds (only a Dead group), internal topics. */
  skpi_streams_counts(st, 60, &na, &nt);
  assert_int_equal(na, 3);
  assert_int_equal(nt, 3);
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_streams_render(st, 120, m), SKPI_OK);
  char *text = kt_render(m);
  assert_float_equal(kt_value(text, "streamkpi_active_streams{cluster=\"c1\"}"), 3, 0);
  assert_float_equal(kt_value(text, "streamkpi_active_teams{cluster=\"c1\"}"), 3, 0);
  assert_float_equal(kt_value(text, "streamkpi_stream_active{cluster=\"c1\",topic=\"legacy\","
                                    "team=\"ops\"}"),
                     1, 0);
  assert_int_equal(kt_count(text, "streamkpi_stream_active{"), 3);
  /* 5 of 6 names follow <team>[._-]: all but legacy. */
  assert_float_equal(kt_value(text, "streamkpi_topic_naming_conformance_ratio{cluster=\"c1\"}"),
                     5.0 / 6, 1e-12);
  free(text);
  skpi_mset_unref(m);
  /* A day later without movement nothing is active. */
  observe(st, 60 + 86400, 5);
  skpi_streams_counts(st, 61 + 86400, &na, &nt);
  assert_int_equal(na, 0);
  assert_int_equal(nt, 0);
  skpi_streams_free(st);
}

static void save_load_and_garbage(void **state) {
  skpi_streams *a = engine(), *b = engine();
  observe(a, 0, 0);
  observe(a, 60, 5);
  json_t *doc = skpi_streams_save(a);
  assert_int_equal(skpi_streams_load(b, doc), SKPI_OK);
  json_decref(doc);
  size_t na, nt;
  skpi_streams_counts(b, 100, &na, &nt);
  assert_int_equal(na, 3);
  assert_int_equal(nt, 3);
  static const char *bad[] = {
      "[]",
      "{\"version\":1}",
      "{\"version\":3,\"topics\":[]}",
      "{\"version\":1,\"topics\":[[\"a\",1,1,1,1]]}",
      "{\"version\":1,\"topics\":[[\"a\",-7,1,1,1,1]]}",
      "{\"version\":1,\"topics\":[[\"\",1,1,1,1,1]]}",
      "{\"version\":1,\"topics\":[[\"a\",1,1,1,-1,1]]}",
      "{\"version\":1,\"topics\":[[\"a\",1,1,1,1,1],[\"a\",1,1,1,1,1]]}",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    doc = json_loads(bad[i], 0, NULL);
    assert_non_null(doc);
    assert_int_equal(skpi_streams_load(b, doc), SKPI_EINVAL);
    json_decref(doc);
    char team[32];
    assert_int_equal(skpi_streams_team(b, "legacy", team, sizeof(team)), 0);
    skpi_streams_counts(b, 100, &na, &nt);
    assert_int_equal(na, 0);
  }
  skpi_streams_free(a);
  skpi_streams_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(teams_from_catalog_and_regex),
      cmocka_unit_test(active_streams_and_window),
      cmocka_unit_test(save_load_and_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
