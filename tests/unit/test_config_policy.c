/* test_config_policy.c: the policy section of the config: its typed struct,
 * the per-cluster override merged key by key (rules too), the checks made
 * at load (rule ids from the policy audit's table, thresholds, cleanup
 * policies, regexes) and the policy engine built from it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config_test.h"
#include "streamkpi/config.h"
#include "streamkpi/policy.h"

#define HEAD "clusters:\n  - name: prod\n    bootstrap_servers: k:9092\n"

static void expect_fail(const char *yaml, const char *want) {
  char tail[1024];
  if(ct_load(yaml, tail, sizeof(tail), NULL) != SKPI_EINVAL)
    fail_msg("accepted: %s", yaml);
  if(strcmp(tail, want) != 0)
    fail_msg("got \"%s\", want \"%s\"", tail, want);
}

static const skpi_config_policy_rule *rule(const skpi_config_policy *p, const char *id) {
  for(size_t i = 0; i < p->nrules; i++)
    if(strcmp(p->rules[i].id, id) == 0)
      return &p->rules[i];
  return NULL;
}

static const char yaml[] =
    "policy:\n"                                                         /* 1 */
    "  interval: 10m\n"                                                 /* 2 */
    "  naming_regex: \"^[a-z]+$\"\n"                                    /* 3 */
    "  platform_team: core\n"                                           /* 4 */
    "  window: 7d\n"                                                    /* 5 */
    "  max_violation_series: 20\n"                                      /* 6 */
    "  allowed_cleanup_policies: [delete, \"delete, compact\"]\n"       /* 7 */
    "  rules:\n"                                                        /* 8 */
    "    replication_factor: {threshold: 2, exempt: [\"^tmp\\\\.\"]}\n" /* 9 */
    "    naming: {enabled: false}\n"                                    /* 10 */
    "clusters:\n"                                                       /* 11 */
    "  - name: a\n"                                                     /* 12 */
    "    bootstrap_servers: a:9092\n"                                   /* 13 */
    "  - name: b\n"                                                     /* 14 */
    "    bootstrap_servers: b:9092\n"                                   /* 15 */
    "    policy:\n"                                                     /* 16 */
    "      window: 1d\n"                                                /* 17 */
    "      rules:\n"                                                    /* 18 */
    "        replication_factor: {threshold: 1}\n"                      /* 19 */
    "        retention: {enabled: false}\n"                             /* 20 */
    "  - name: c\n"                                                     /* 21 */
    "    bootstrap_servers: c:9092\n"                                   /* 22 */
    "    policy: {enabled: false}\n";                                   /* 23 */

static void typed_and_merged(void **state) {
  char tail[1024];
  skpi_config *c = NULL;
  assert_int_equal(ct_load(yaml, tail, sizeof(tail), &c), SKPI_OK);
  const skpi_config_policy *p = &c->policy;
  assert_int_equal(p->enabled, 1);
  assert_true(p->interval_s == 600.0);
  assert_string_equal(p->naming_regex, "^[a-z]+$");
  assert_string_equal(p->platform_team, "core");
  assert_true(p->window_s == 7 * 86400.0);
  assert_int_equal(p->max_violation_series, 20);
  assert_int_equal(p->allowed_cleanup_policies.n, 2);
  assert_string_equal(p->allowed_cleanup_policies.v[1], "delete, compact");
  assert_int_equal(p->allowed_cleanup_policies.lines[1], 7);
  assert_int_equal(p->line, 1);
  assert_int_equal(p->nrules, 2);
  const skpi_config_policy_rule *rf = rule(p, "replication_factor");
  assert_non_null(rf);
  assert_int_equal(rf->enabled, 1);
  assert_true(rf->threshold == 2.0);
  assert_int_equal(rf->exempt.n, 1);
  assert_string_equal(rf->exempt.v[0], "^tmp\\.");
  assert_int_equal(rf->line, 9);
  const skpi_config_policy_rule *nm = rule(p, "naming");
  assert_int_equal(nm->enabled, 0);
  assert_true(isnan(nm->threshold));
  assert_int_equal(nm->exempt.n, 0);

  /* a names no policy: the top-level section as it is. */
  const skpi_config_policy *pa = &c->clusters[0].policy;
  assert_true(pa->interval_s == 600.0);
  assert_true(pa->window_s == 7 * 86400.0);
  assert_string_equal(pa->platform_team, "core");
  assert_int_equal(pa->nrules, 2);
  assert_true(rule(pa, "replication_factor")->threshold == 2.0);

  /* b: its own keys, the rest from the top level; its replication_factor
   * keeps the top-level exemptions, retention is its own. */
  const skpi_config_policy *pb = &c->clusters[1].policy;
  assert_true(pb->window_s == 86400.0);
  assert_true(pb->interval_s == 600.0);
  assert_string_equal(pb->naming_regex, "^[a-z]+$");
  assert_int_equal(pb->line, 16);
  assert_int_equal(pb->nrules, 3);
  const skpi_config_policy_rule *brf = rule(pb, "replication_factor");
  assert_true(brf->threshold == 1.0);
  assert_int_equal(brf->enabled, 1);
  assert_int_equal(brf->exempt.n, 1);
  assert_string_equal(brf->exempt.v[0], "^tmp\\.");
  assert_int_equal(brf->line, 19);
  assert_int_equal(rule(pb, "retention")->enabled, 0);
  assert_int_equal(rule(pb, "naming")->enabled, 0);
  assert_int_equal(rule(pb, "naming")->line, 10);

  assert_int_equal(c->clusters[2].policy.enabled, 0);
  assert_int_equal(c->policy.enabled, 1);
  skpi_config_free(c);
}

static void refused_at_load(void **state) {
  expect_fail(HEAD "policy:\n  rules:\n    replication:\n      threshold: 3\n",
              "6: policy.rules.replication: unknown rule");
  expect_fail(HEAD "    policy:\n      rules:\n        bogus: {}\n",
              "6: clusters[0].policy.rules.bogus: unknown rule");
  expect_fail(HEAD "policy:\n  rules:\n    naming: {threshold: 3}\n",
              "6: policy.rules.naming.threshold: not used by rule naming");
  expect_fail(HEAD "policy:\n  rules:\n    partitions: {threshold: -1}\n",
              "6: policy.rules.partitions.threshold: must be at least 0, got \"-1\"");
  expect_fail(HEAD "policy:\n  rules:\n    partitions: {thresold: 5}\n",
              "6: policy.rules.partitions.thresold: unknown key");
  expect_fail(HEAD "policy:\n  rules:\n    partitions: 5\n",
              "6: policy.rules.partitions: expected a mapping, got a value");
  expect_fail(HEAD "policy:\n  rules: [partitions]\n",
              "5: policy.rules: expected a mapping, got a list");
  expect_fail(HEAD "policy:\n  rules:\n    schema: {exempt: [\"(a+)+\"]}\n",
              "6: policy.rules.schema.exempt[0]: invalid regex \"(a+)+\": nested repetition (a "
              "repeated group or quantifier that contains a quantifier)");
  expect_fail(HEAD "policy:\n  naming_regex: \"^[a-z0-9]+([._-][a-z0-9]+)*$\"\n",
              "5: policy.naming_regex: invalid regex \"^[a-z0-9]+([._-][a-z0-9]+)*$\": nested "
              "repetition (a repeated group or quantifier that contains a quantifier)");
  expect_fail(HEAD "policy:\n  allowed_cleanup_policies: [delete, purge]\n",
              "5: policy.allowed_cleanup_policies[1]: expected delete, compact or "
              "\"compact,delete\", got \"purge\"");
  expect_fail(HEAD "policy:\n  allowed_cleanup_policies: [\"compact,\"]\n",
              "5: policy.allowed_cleanup_policies[0]: expected delete, compact or "
              "\"compact,delete\", got \"compact,\"");
  expect_fail(HEAD "policy:\n  allowed_cleanup_policies: [\"delete,,compact\"]\n",
              "5: policy.allowed_cleanup_policies[0]: expected delete, compact or "
              "\"compact,delete\", got \"delete,,compact\"");
  expect_fail(HEAD "policy:\n  allowed_cleanup_policies: []\n",
              "5: policy.allowed_cleanup_policies: must not be empty");
  expect_fail(HEAD "policy:\n  max_violation_series: 1000001\n",
              "5: policy.max_violation_series: must be at least 0 and at most 1000000, got "
              "\"1000001\"");
  expect_fail(HEAD "policy:\n  interval: 0s\n",
              "5: policy.interval: must be greater than 0, got \"0s\"");
  expect_fail(HEAD "policy:\n  platform_team: \" \"\n",
              "5: policy.platform_team: must not be empty");
}

/* Every rule id of the audit's table is accepted, "id:" alone too. */
static void every_rule_id(void **state) {
  char text[4096], tail[1024];
  size_t off = (size_t)snprintf(text, sizeof(text), HEAD "policy:\n  rules:\n");
  for(size_t r = 0; r < SKPI_PR_COUNT; r++)
    off += (size_t)snprintf(text + off, sizeof(text) - off, "    %s:\n", skpi_policy_rules()[r].id);
  skpi_config *c = NULL;
  assert_int_equal(ct_load(text, tail, sizeof(tail), &c), SKPI_OK);
  assert_int_equal(c->policy.nrules, SKPI_PR_COUNT);
  for(size_t r = 0; r < SKPI_PR_COUNT; r++) {
    assert_string_equal(c->policy.rules[r].id, skpi_policy_rules()[r].id);
    assert_int_equal(c->policy.rules[r].enabled, 1);
    assert_true(isnan(c->policy.rules[r].threshold));
  }
  skpi_config_free(c);
}

static skpi_tc_topic *topic(skpi_topic_configs *tc, const char *name, int rf) {
  skpi_tc_topic *t = skpi_topic_configs_add_topic(tc, name, 0, 6, rf);
  assert_non_null(t);
  return t;
}

static enum skpi_policy_result judge(const skpi_policy *p, enum skpi_policy_rule r,
                                     const skpi_tc_topic *t) {
  char o[256];
  return skpi_policy_judge_topic(p, r, t, 3, o, sizeof(o), NULL);
}

/* The engine of each cluster follows that cluster's merged settings. */
static void engine_from_config(void **state) {
  char tail[1024], err[256];
  skpi_config *c = NULL;
  skpi_policy *pa = NULL, *pb = NULL, *pc = NULL, *pd = NULL;
  assert_int_equal(ct_load(yaml, tail, sizeof(tail), &c), SKPI_OK);
  assert_int_equal(skpi_policy_from_config(c, "a", NULL, &pa, err, sizeof(err)), SKPI_OK);
  assert_int_equal(skpi_policy_from_config(c, "b", NULL, &pb, err, sizeof(err)), SKPI_OK);
  assert_int_equal(skpi_policy_from_config(c, "c", NULL, &pc, err, sizeof(err)), SKPI_OK);
  assert_int_equal(skpi_policy_from_config(NULL, "d", NULL, &pd, err, sizeof(err)), SKPI_OK);
  assert_non_null(pa);
  assert_non_null(pb);
  assert_null(pc); /* switched off for c */
  assert_non_null(pd);
  skpi_topic_configs *tc = skpi_topic_configs_new("a");
  skpi_tc_topic *one = topic(tc, "orders", 1), *tmp = topic(tc, "tmp.x", 1);
  /* Threshold 2 at the top, 1 for b; default 3 without a config. */
  assert_int_equal(judge(pa, SKPI_PR_REPLICATION, one), SKPI_POL_FAIL);
  assert_int_equal(judge(pb, SKPI_PR_REPLICATION, one), SKPI_POL_PASS);
  one->rf = 2;
  assert_int_equal(judge(pa, SKPI_PR_REPLICATION, one), SKPI_POL_PASS);
  assert_int_equal(judge(pd, SKPI_PR_REPLICATION, one), SKPI_POL_FAIL);
  /* Exempt by regex in both (b inherits the exemption). */
  assert_int_equal(judge(pa, SKPI_PR_REPLICATION, tmp), SKPI_POL_SKIP);
  assert_int_equal(judge(pb, SKPI_PR_REPLICATION, tmp), SKPI_POL_SKIP);
  /* naming off everywhere, retention off for b only. */
  assert_int_equal(judge(pa, SKPI_PR_NAMING, tmp), SKPI_POL_SKIP);
  assert_int_equal(judge(pd, SKPI_PR_NAMING, tmp), SKPI_POL_PASS);
  assert_int_equal(judge(pb, SKPI_PR_RETENTION, one), SKPI_POL_SKIP);
  assert_int_not_equal(judge(pa, SKPI_PR_RETENTION, one), SKPI_POL_SKIP);
  /* "delete, compact" was allowed: the cleanup rule passes it. */
  assert_int_equal(
      skpi_tc_set(&one->v[SKPI_TC_CLEANUP_POLICY], "compact,delete", SKPI_CFGSRC_DYNAMIC_TOPIC),
      SKPI_OK);
  assert_int_equal(judge(pa, SKPI_PR_CLEANUP, one), SKPI_POL_PASS);
  assert_int_equal(
      skpi_tc_set(&one->v[SKPI_TC_CLEANUP_POLICY], "compact", SKPI_CFGSRC_DYNAMIC_TOPIC), SKPI_OK);
  assert_int_equal(judge(pa, SKPI_PR_CLEANUP, one), SKPI_POL_FAIL);
  skpi_topic_configs_unref(tc);
  skpi_policy_free(pa);
  skpi_policy_free(pb);
  skpi_policy_free(pd);
  skpi_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(typed_and_merged),
      cmocka_unit_test(refused_at_load),
      cmocka_unit_test(every_rule_id),
      cmocka_unit_test(engine_from_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
