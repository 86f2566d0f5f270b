/* test_config_defaults.c: the config schema's defaults equal the defaults
 * the KPI modules fall back to when built without a config (unit tests,
 * policytool).  The schema is where users read them (docs/config.md); this
 * test keeps the modules' copies from drifting away from it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config_test.h"
#include "streamkpi/config.h"
#include "streamkpi/consumer_status.h"
#include "streamkpi/policy.h"

static const char minimal[] = "clusters:\n  - name: prod\n    bootstrap_servers: k:9092\n";

static skpi_config *load_minimal(void) {
  char tail[1024];
  skpi_config *c = NULL;
  assert_int_equal(ct_load(minimal, tail, sizeof(tail), &c), SKPI_OK);
  assert_non_null(c);
  return c;
}

static void policy_defaults_agree(void **state) {
  (void)state;
  skpi_config *c = load_minimal();
  skpi_policy_cfg d;
  skpi_policy_cfg_default(&d);
  const skpi_config_policy *p = &c->policy;
  assert_string_equal(p->naming_regex, d.naming_regex);
  assert_string_equal(p->platform_team, d.platform_team);
  assert_true(p->window_s == d.window_s);
  assert_int_equal(p->max_violation_series, d.max_violation_series);
  assert_string_equal(c->catalog.team_regex, d.team_regex);
  assert_int_equal(p->allowed_cleanup_policies.n, d.nallowed_cleanup);
  for(size_t i = 0; i < d.nallowed_cleanup; i++)
    assert_string_equal(p->allowed_cleanup_policies.v[i], d.allowed_cleanup[i]);
  /* No rule named: every rule keeps the table's threshold. */
  assert_int_equal(p->nrules, 0);
  skpi_config_free(c);
}

static void consumer_status_defaults_agree(void **state) {
  (void)state;
  skpi_config *c = load_minimal();
  skpi_cstatus_cfg d;
  skpi_cstatus_cfg_default(&d);
  assert_true(c->consumer_status.window_s == d.window_s);
  assert_int_equal(c->consumer_status.min_points, d.min_points);
  skpi_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(policy_defaults_agree),
      cmocka_unit_test(consumer_status_defaults_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
