/* test_utilisation.c: consumer group parallelism from member assignments,
 * and the Connect task ratio, with their facts unknown until observed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/kpi.h"
#include "streamkpi/utilisation.h"

static void group(skpi_ksample *s, const char *id, int members, int active, int assigned) {
  int g = ks_group(s, id, members ? "Stable" : "Empty", members);
  s->groups[g].active_members = active;
  s->groups[g].assigned_parts = assigned;
}

static skpi_ksample *sample(void) {
  skpi_ksample *s = ks_new("c1", 7);
  group(s, "broken", 2, -1, -1); /* assignments unknown */
  group(s, "empty", 0, 0, 0);
  group(s, "one-per-partition", 4, 4, 4);
  group(s, "one-serves-six", 1, 1, 6);
  group(s, "too-many", 5, 3, 3);
  return s;
}

static void per_group_series(void **state) {
  skpi_ksample *s = sample();
  skpi_util_totals t;
  skpi_util_totals_of(s, &t);
  assert_int_equal(t.groups, 3);
  assert_int_equal(t.members, 10);
  assert_int_equal(t.active, 8);
  assert_int_equal(t.assigned, 13);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_util_render(s, m), SKPI_OK);
  char *text = kt_render(m);
  assert_float_equal(kt_value(text, "streamkpi_consumer_parallelism_ratio{cluster=\"c1\","
                                    "consumergroup=\"one-per-partition\"}"),
                     1, 1e-9);
  assert_float_equal(kt_value(text, "streamkpi_consumer_parallelism_ratio{cluster=\"c1\","
                                    "consumergroup=\"one-serves-six\"}"),
                     1.0 / 6, 1e-9);
  assert_float_equal(
      kt_value(text, "streamkpi_consumer_members_idle{cluster=\"c1\",consumergroup=\"too-many\"}"),
      2, 0);
  assert_float_equal(kt_value(text, "streamkpi_consumer_assigned_partitions{cluster=\"c1\","
                                    "consumergroup=\"too-many\"}"),
                     3, 0);
  /* Unknown assignments and groups without members have no series. */
  assert_int_equal(kt_count(text, "streamkpi_consumer_members_active{"), 3);
  assert_int_equal(kt_count(text, "streamkpi_consumer_parallelism_ratio{"), 3);
  free(text);
  skpi_mset_unref(m);
  ks_free(s);
}

static void utilisation_facts(void **state) {
  skpi_cluster_cfg cl = {.name = "c1"};
  skpi_kpi_ctx ctx = {.cluster = &cl};
  void *k = NULL;
  char err[64] = "";
  assert_int_equal(skpi_kpi_utilisation.create(&ctx, &k, err, sizeof(err)), SKPI_OK);
  skpi_facts *f = skpi_facts_new();
  skpi_kpi_utilisation.facts(k, 0, f);
  assert_true(isnan(skpi_facts_get(f, SKPI_FACT_PARALLELISM, "c1")->value));
  assert_true(isnan(skpi_facts_get(f, SKPI_FACT_IDLE_MEMBERS, "c1")->value));
  skpi_facts_free(f);

  /* Only groups without assignments: still unknown, with a reason. */
  skpi_ksample *s = ks_new("c1", 3);
  group(s, "broken", 2, -1, -1);
  skpi_event ev = {.kind = SKPI_EV_SAMPLE, .now = 3, .cluster = "c1", .u.sample = s};
  skpi_kpi_utilisation.observe(k, &ev);
  skpi_ksample_unref(s); /* the KPI may hold a reference */
  f = skpi_facts_new();
  skpi_kpi_utilisation.facts(k, 3, f);
  assert_true(isnan(skpi_facts_get(f, SKPI_FACT_PARALLELISM, "c1")->value));
  assert_non_null(skpi_facts_get(f, SKPI_FACT_PARALLELISM, "c1")->reason);
  skpi_facts_free(f);

  s = sample();
  ev.u.sample = s;
  ev.now = 7;
  skpi_kpi_utilisation.observe(k, &ev);
  s->groups_ok = 0; /* ignored: the last listing stays */
  skpi_kpi_utilisation.observe(k, &ev);
  skpi_ksample_unref(s); /* the KPI may hold a reference */
  f = skpi_facts_new();
  skpi_kpi_utilisation.facts(k, 8, f);
  assert_float_equal(skpi_facts_get(f, SKPI_FACT_PARALLELISM, "c1")->value, 8.0 / 13, 1e-9);
  assert_float_equal(skpi_facts_get(f, SKPI_FACT_IDLE_MEMBERS, "c1")->value, 2, 0);
  skpi_facts_free(f);
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_kpi_utilisation.render(k, 8, m), SKPI_OK);
  assert_int_equal(skpi_mset_size(m), 3 * 4);
  skpi_mset_unref(m);
  skpi_kpi_utilisation.free(k);
}

static void connect_task_ratio(void **state) {
  skpi_kpi_ctx ctx = {0};
  skpi_config *cfg = NULL;
  char err[256] = "";
  /* No config: no connect target. */
  void *k = NULL;
  ctx.cfg = cfg;
  assert_int_equal(skpi_kpi_connect_tasks.create(&ctx, &k, err, sizeof(err)), SKPI_OK);
  skpi_facts *f = skpi_facts_new();
  skpi_kpi_connect_tasks.facts(k, 0, f);
  const skpi_fact *fact = skpi_facts_get(f, SKPI_FACT_CONNECT_TASKS_RUNNING, NULL);
  assert_true(isnan(fact->value));
  assert_non_null(strstr(fact->reason, "connect"));
  skpi_facts_free(f);

  skpi_event ev = {.kind = SKPI_EV_CONNECT, .now = 4};
  ev.u.connect.connectors = 2;
  ev.u.connect.running = 2;
  skpi_kpi_connect_tasks.observe(k, &ev); /* tasks not known: ignored */
  ev.u.connect.have_tasks = 1;
  ev.u.connect.tasks = 4;
  ev.u.connect.tasks_running = 3;
  skpi_kpi_connect_tasks.observe(k, &ev);
  f = skpi_facts_new();
  skpi_kpi_connect_tasks.facts(k, 5, f);
  assert_float_equal(skpi_facts_get(f, SKPI_FACT_CONNECT_TASKS_RUNNING, NULL)->value, 0.75, 1e-9);
  skpi_facts_free(f);
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_kpi_connect_tasks.render(k, 5, m), SKPI_OK);
  char *text = kt_render(m);
  assert_float_equal(kt_value(text, "streamkpi_connect_tasks_running_ratio"), 0.75, 1e-9);
  free(text);
  skpi_mset_unref(m);

  ev.u.connect.tasks = 0; /* connectors without tasks: unknown, not 0 */
  ev.u.connect.tasks_running = 0;
  skpi_kpi_connect_tasks.observe(k, &ev);
  f = skpi_facts_new();
  skpi_kpi_connect_tasks.facts(k, 6, f);
  assert_true(isnan(skpi_facts_get(f, SKPI_FACT_CONNECT_TASKS_RUNNING, NULL)->value));
  skpi_facts_free(f);
  skpi_kpi_connect_tasks.free(k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(per_group_series),
      cmocka_unit_test(utilisation_facts),
      cmocka_unit_test(connect_task_ratio),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
