/* test_app.c: the assembly with fake sources.  The app is built from a real
 * config file but never started: events are handed in with
 * skpi_app_dispatch, as the Kafka source and the probe would deliver them,
 * and what comes out (facts, the published metrics, the state file) is
 * checked. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/app.h"
#include "streamkpi/config.h"
#include "streamkpi/registry.h"

/* Events happen just before the wall clock: the published set is rendered
 * at the real now, so the rolling windows must hold them. */
static double T0;

typedef struct fixture {
  char dir[64];
  char cfgpath[128];
  skpi_config *cfg;
  skpi_app *app;
} fixture;

static void write_config(fixture *f, const char *extra) {
  snprintf(f->cfgpath, sizeof(f->cfgpath), "%s/streamkpi.yml", f->dir);
  FILE *fp = fopen(f->cfgpath, "w");
  assert_non_null(fp);
  fprintf(fp,
          "global:\n"
          "  listen_address: \"127.0.0.1:0\"\n"
          "state:\n"
          "  path: %s/state.json\n"
          "clusters:\n"
          "  - name: east\n"
          "    bootstrap_servers: \"127.0.0.1:1\"\n"
          "  - name: west\n"
          "    bootstrap_servers: \"127.0.0.1:2\"\n"
          "slos:\n"
          "  - name: east-up\n"
          "    sli: probe_availability\n"
          "    cluster: east\n"
          "    objective: 0.99\n"
          "%s",
          f->dir, extra ? extra : "");
  fclose(fp);
}

static skpi_app *build(fixture *f) {
  char err[512] = "";
  assert_int_equal(skpi_config_load(f->cfgpath, &f->cfg, err, sizeof(err)), SKPI_OK);
  skpi_app *a = skpi_app_new(f->cfg, NULL, err, sizeof(err));
  if(!a)
    fail_msg("skpi_app_new: %s", err);
  return a;
}

static void teardown_app(fixture *f) {
  skpi_app_stop(f->app);
  skpi_app_free(f->app);
  f->app = NULL;
  skpi_config_free(f->cfg);
  f->cfg = NULL;
}

static int setup(void **state) {
  fixture *f = kt_xcalloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/skpi-test-app-XXXXXX");
  if(!mkdtemp(f->dir))
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  teardown_app(f);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
  if(system(cmd) != 0)
    return -1;
  free(f);
  return 0;
}

static void dispatch_sample(skpi_app *a, size_t idx, skpi_ksample *s) {
  skpi_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = SKPI_EV_SAMPLE;
  ev.now = s->time;
  ev.cluster = s->cluster;
  ev.cluster_idx = idx;
  ev.u.sample = s;
  skpi_app_dispatch(a, &ev);
}

static void dispatch_probe(skpi_app *a, size_t idx, const char *cluster, double t0, double t1,
                           enum skpi_cause cause) {
  skpi_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = SKPI_EV_PROBE;
  ev.now = t1;
  ev.cluster = cluster;
  ev.cluster_idx = idx;
  ev.u.probe.t0 = t0;
  ev.u.probe.t1 = t1;
  ev.u.probe.ok = cause == SKPI_CAUSE_NONE;
  ev.u.probe.cause = cause;
  ev.u.probe.roundtrip_latency_s = 0.02;
  skpi_app_dispatch(a, &ev);
}

/* Two topics of team "orders" with traffic and a consumer, at time t. */
static skpi_ksample *orders_sample(const char *cluster, double t, int64_t high) {
  skpi_ksample *s = ks_new(cluster, t);
  s->brokers = kt_xcalloc(1, sizeof(*s->brokers));
  s->brokers[0].host = strdup("127.0.0.1");
  s->nbrokers = 1;
  int a = ks_topic(s, "orders.created", 1);
  int b = ks_topic(s, "orders.paid", 1);
  ks_wm(s, a, 0, 0, high);
  ks_wm(s, b, 0, 0, high);
  int g = ks_group(s, "billing", "Stable", 1);
  ks_commit(s, g, a, 0, high);
  ks_commit(s, g, b, 0, high);
  return s;
}

static double fact(skpi_app *a, const char *name, const char *cluster, double now) {
  skpi_facts *fs = skpi_app_facts(a, now);
  assert_non_null(fs);
  const skpi_fact *x = skpi_facts_get(fs, name, cluster);
  double v = x ? x->value : -12345;
  skpi_facts_free(fs);
  return v;
}

/* Before any event every observed fact is unknown (NaN), never 0. */
static void facts_unknown_before_events(void **state) {
  fixture *f = *state;
  write_config(f, NULL);
  f->app = build(f);
  assert_true(isnan(fact(f->app, SKPI_FACT_ACTIVE_STREAMS, "east", T0)));
  assert_true(isnan(fact(f->app, SKPI_FACT_CLUSTER_REACHABLE, "west", T0)));
  assert_true(isnan(fact(f->app, SKPI_FACT_AVAILABILITY, "east", T0)));
  assert_true(isnan(fact(f->app, SKPI_FACT_MTTR, NULL, T0)));
  assert_true(isnan(fact(f->app, SKPI_FACT_SCHEMA_COVERAGE, "east", T0)));
  assert_true(isnan(fact(f->app, SKPI_FACT_CONNECTORS_RUNNING, NULL, T0)));
  assert_true(fact(f->app, SKPI_FACT_CLUSTERS, NULL, T0) == 2);
  assert_true(fact(f->app, SKPI_FACT_SLOS_DEFINED, NULL, T0) == 1);
  skpi_facts *fs = skpi_app_facts(f->app, T0);
  const skpi_fact *x = skpi_facts_get(fs, SKPI_FACT_SCHEMA_COVERAGE, "east");
  assert_non_null(x);
  assert_non_null(strstr(x->reason, "schema_registry"));
  skpi_facts_free(fs);
}

/* A cluster's events reach that cluster's instances and no other's. */
static void events_reach_their_cluster_only(void **state) {
  fixture *f = *state;
  write_config(f, NULL);
  f->app = build(f);
  for(int i = 0; i < 3; i++) {
    skpi_ksample *s = orders_sample("east", T0 + 60.0 * i, 10 * (i + 1));
    dispatch_sample(f->app, 0, s);
    skpi_ksample_unref(s);
  }
  double now = T0 + 120;
  assert_true(fact(f->app, SKPI_FACT_ACTIVE_STREAMS, "east", now) == 2);
  assert_true(fact(f->app, SKPI_FACT_ACTIVE_TEAMS, "east", now) == 1);
  assert_true(fact(f->app, SKPI_FACT_NAMING_RATIO, "east", now) == 1);
  assert_true(fact(f->app, SKPI_FACT_TOPICS, "east", now) == 2);
  assert_true(fact(f->app, SKPI_FACT_CLUSTER_REACHABLE, "east", now) == 1);
  assert_true(isnan(fact(f->app, SKPI_FACT_ACTIVE_STREAMS, "west", now)));
  /* Two consumed topics, no DLQ topic. */
  assert_true(fact(f->app, SKPI_FACT_DLQ_COVERAGE, "east", now) == 0);
}

/* The snapshot's text joined in one string (caller frees), or NULL. */
static char *snapshot_text(skpi_snapshot *snap) {
  const skpi_expo_part *parts;
  size_t n, total;
  skpi_buf b;
  skpi_buf_init(&b, (size_t)1 << 30);
  if(skpi_snapshot_parts(snap, SKPI_FMT_TEXT, 0, &parts, &n, &total) != SKPI_OK ||
     skpi_expo_join(parts, n, &b) != SKPI_OK || !b.data) {
    skpi_buf_free(&b);
    return NULL;
  }
  return skpi_buf_steal(&b, NULL);
}

/* Probe events go through the health rule's verdict to availability,
 * incidents and the SLO; the published metrics show them. */
static void probe_events_feed_availability_incidents_and_slo(void **state) {
  fixture *f = *state;
  write_config(f, "incidents:\n  open_after: 2\n  resolve_after: 1\n");
  f->app = build(f);
  double t = T0;
  for(int i = 0; i < 6; i++, t += 10) /* 60 s healthy */
    dispatch_probe(f->app, 0, "east", t, t + 10, SKPI_CAUSE_NONE);
  for(int i = 0; i < 3; i++, t += 10) /* 30 s broker down: an incident opens */
    dispatch_probe(f->app, 0, "east", t, t + 10, SKPI_CAUSE_BROKER_DOWN);
  dispatch_probe(f->app, 0, "east", t, t + 10, SKPI_CAUSE_NONE); /* resolves it */
  t += 10;
  assert_float_equal(fact(f->app, SKPI_FACT_AVAILABILITY, "east", t), 70.0 / 100.0, 1e-9);
  assert_true(fact(f->app, SKPI_FACT_AVAILABILITY_OBSERVED, "east", t) == 100);
  assert_true(isnan(fact(f->app, SKPI_FACT_AVAILABILITY, "west", t)));
  assert_true(fact(f->app, SKPI_FACT_INCIDENTS_RESOLVED, NULL, t) == 1);
  assert_float_equal(fact(f->app, SKPI_FACT_MTTR, NULL, t), 30, 1e-9);
  /* 7 of 10 probe events good: 0.7 < 0.99, the one SLO is missed. */
  assert_true(fact(f->app, SKPI_FACT_SLOS_MET, NULL, t) == 0);
  assert_float_equal(fact(f->app, SKPI_FACT_PROBE_P99, "east", t), 0.02, 1e-12);

  /* The registry composes in the background: wait (bounded) for the set. */
  const char *want = "streamkpi_incidents_opened_total{cluster=\"east\",source=\"health\"} 1";
  int found = 0;
  for(int i = 0; i < 400 && !found; i++) {
    skpi_snapshot *snap = skpi_registry_acquire(skpi_app_registry(f->app));
    char *body = snapshot_text(snap);
    if(body && strstr(body, "streamkpi_availability_ratio{cluster=\"east\",window=\"1h\"} 0.7"))
      found = strstr(body, want) != NULL;
    free(body);
    skpi_snapshot_release(snap);
    if(!found)
      usleep(25000);
  }
  assert_true(found);
}

/* Waits (bounded) until the published text holds every string of want. */
static int published_has_all(skpi_app *a, const char *const *want, size_t n) {
  for(int i = 0; i < 400; i++) {
    skpi_snapshot *snap = skpi_registry_acquire(skpi_app_registry(a));
    char *body = snapshot_text(snap);
    size_t hits = 0;
    for(size_t k = 0; body && k < n; k++)
      hits += strstr(body, want[k]) != NULL;
    free(body);
    skpi_snapshot_release(snap);
    if(hits == n)
      return 1;
    usleep(25000);
  }
  return 0;
}

/* Every incident counter of every configured cluster and source exists at 0
 * before any incident, so increase() sees the first one. */
static void incident_counters_exist_from_the_start(void **state) {
  fixture *f = *state;
  write_config(f, NULL);
  f->app = build(f);
  static const char *const want[] = {
      "streamkpi_incidents_opened_total{cluster=\"east\",source=\"health\"} 0",
      "streamkpi_incidents_opened_total{cluster=\"east\",source=\"alertmanager\"} 0",
      "streamkpi_incidents_opened_total{cluster=\"west\",source=\"health\"} 0",
      "streamkpi_incidents_resolved_total{cluster=\"west\",source=\"alertmanager\"} 0",
      "streamkpi_incidents_open{cluster=\"west\",source=\"health\"} 0",
      "streamkpi_incident_recovery_seconds_count{cluster=\"east\",source=\"health\"} 0",
  };
  assert_true(published_has_all(f->app, want, sizeof(want) / sizeof(want[0])));
}

/* What the KPIs learned survives a stop and a new app on the same state. */
static void state_survives_a_restart(void **state) {
  fixture *f = *state;
  write_config(f, NULL);
  f->app = build(f);
  double t = T0;
  for(int i = 0; i < 4; i++, t += 10)
    dispatch_probe(f->app, 1, "west", t, t + 10, SKPI_CAUSE_NONE);
  teardown_app(f); /* stop persists */
  f->app = build(f);
  assert_true(fact(f->app, SKPI_FACT_AVAILABILITY_OBSERVED, "west", t) == 40);
  assert_true(fact(f->app, SKPI_FACT_AVAILABILITY, "west", t) == 1);
}

/* A reload builds the new app while the old one runs; the new one then
 * takes what the old one wrote when it stopped, open incidents included,
 * and publishes the reload outcome. */
static void reload_takes_the_state_the_old_app_wrote(void **state) {
  fixture *f = *state;
  write_config(f, "incidents:\n  open_after: 2\n  resolve_after: 1\n");
  f->app = build(f);
  double t = T0;
  for(int i = 0; i < 4; i++, t += 10)
    dispatch_probe(f->app, 1, "west", t, t + 10, SKPI_CAUSE_NONE);
  for(int i = 0; i < 3; i++, t += 10)
    dispatch_probe(f->app, 0, "east", t, t + 10, SKPI_CAUSE_BROKER_DOWN);
  skpi_config *cfg2 = NULL;
  char err[512] = "";
  assert_int_equal(skpi_config_load(f->cfgpath, &cfg2, err, sizeof(err)), SKPI_OK);
  skpi_app *next = skpi_app_new(cfg2, NULL, err, sizeof(err));
  assert_non_null(next);
  teardown_app(f); /* the old app persists as it stops */
  assert_int_equal(skpi_app_reload_state(next), SKPI_OK);
  assert_true(fact(next, SKPI_FACT_AVAILABILITY_OBSERVED, "west", t) == 40);
  skpi_app_set_reload_status(next, 0, 0);
  static const char *const want[] = {
      "streamkpi_incidents_open{cluster=\"east\",source=\"health\"} 1",
      "streamkpi_config_last_reload_successful 0",
  };
  /* The app is not started: its thread would publish the mark, a dispatch
   * does it here. */
  dispatch_probe(next, 1, "west", t, t + 10, SKPI_CAUSE_NONE);
  assert_true(published_has_all(next, want, sizeof(want) / sizeof(want[0])));
  skpi_app_stop(next);
  skpi_app_free(next);
  skpi_config_free(cfg2);
}

/* A config the app cannot use fails with one line naming the key: here the
 * state file's directory does not exist. */
static void unusable_config_is_refused(void **state) {
  fixture *f = *state;
  write_config(f, NULL);
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "sed -i 's#  path: .*state.json#  path: %s/missing/state.json#' %s",
           f->dir, f->cfgpath);
  assert_int_equal(system(cmd), 0);
  char err[512] = "";
  assert_int_equal(skpi_config_load(f->cfgpath, &f->cfg, err, sizeof(err)), SKPI_OK);
  skpi_app *a = skpi_app_new(f->cfg, NULL, err, sizeof(err));
  assert_null(a);
  assert_non_null(strstr(err, "state.path"));
}

/* The shipped example passes the whole check a start runs (the assessment's
 * criterion ids included), and a check writes no state. */
static void example_passes_the_full_check(void **state) {
  fixture *f = *state;
  char err[512] = "";
  assert_int_equal(skpi_config_load("examples/streamkpi.yml", &f->cfg, err, sizeof(err)),
                   SKPI_OK);
  skpi_app_opts o = {.check_only = 1};
  skpi_app *a = skpi_app_new(f->cfg, &o, err, sizeof(err));
  if(!a)
    fail_msg("examples/streamkpi.yml: %s", err);
  skpi_app_stop(a);
  skpi_app_free(a);
  assert_int_equal(access(f->cfg->state.path, F_OK), -1);
}

int main(void) {
  T0 = (double)time(NULL) - 300;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(facts_unknown_before_events, setup, teardown),
      cmocka_unit_test_setup_teardown(events_reach_their_cluster_only, setup, teardown),
      cmocka_unit_test_setup_teardown(probe_events_feed_availability_incidents_and_slo, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(state_survives_a_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(reload_takes_the_state_the_old_app_wrote, setup, teardown),
      cmocka_unit_test_setup_teardown(incident_counters_exist_from_the_start, setup, teardown),
      cmocka_unit_test_setup_teardown(unusable_config_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(example_passes_the_full_check, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
