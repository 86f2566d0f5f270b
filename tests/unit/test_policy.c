/* test_policy.c: the policy rules, the audit and its outputs, self-service
 * adoption and the retention risk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/policy.h"

#define DYN SKPI_CFGSRC_DYNAMIC_TOPIC
#define DEF SKPI_CFGSRC_DEFAULT

static skpi_policy *engine_with(const skpi_policy_cfg *cfg) {
  skpi_policy *p = NULL;
  char err[256];
  assert_int_equal(skpi_policy_new("c1", cfg, NULL, &p, err, sizeof(err)), SKPI_OK);
  return p;
}

static skpi_policy *engine(void) {
  return engine_with(NULL);
}

/* A topic that passes every topic rule but the schema one. */
static skpi_tc_topic *good_topic(skpi_topic_configs *c, const char *name, int rf) {
  skpi_tc_topic *t = skpi_topic_configs_add_topic(c, name, strncmp(name, "__", 2) == 0, 6, rf);
  assert_non_null(t);
  assert_int_equal(skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "604800000", DYN), SKPI_OK);
  assert_int_equal(skpi_tc_set(&t->v[SKPI_TC_CLEANUP_POLICY], "delete", DEF), SKPI_OK);
  assert_int_equal(skpi_tc_set(&t->v[SKPI_TC_MIN_ISR], "2", DYN), SKPI_OK);
  assert_int_equal(skpi_tc_set(&t->v[SKPI_TC_UNCLEAN], "false", DEF), SKPI_OK);
  assert_int_equal(skpi_tc_set(&t->v[SKPI_TC_MAX_MESSAGE_BYTES], "1048588", DEF), SKPI_OK);
  return t;
}

static enum skpi_policy_result judge(skpi_policy *p, enum skpi_policy_rule r,
                                     const skpi_tc_topic *t, size_t brokers, char *o) {
  static char scratch[256];
  return skpi_policy_judge_topic(p, r, t, brokers, o ? o : scratch, 256, NULL);
}

static void replication_factor_capped_at_brokers(void **state) {
  (void)state;
  skpi_policy *p = engine();
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_topic *t = good_topic(c, "team.orders", 1);
  char o[256];
  /* One broker: RF 1 is all it can have, and it fails honestly. */
  assert_int_equal(judge(p, SKPI_PR_REPLICATION, t, 1, o), SKPI_POL_FAIL);
  assert_string_equal(o, "1");
  t->rf = 3;
  assert_int_equal(judge(p, SKPI_PR_REPLICATION, t, 3, o), SKPI_POL_PASS);
  assert_string_equal(o, "3");
  /* Replicas beyond the brokers listed count for nothing. */
  assert_int_equal(judge(p, SKPI_PR_REPLICATION, t, 2, o), SKPI_POL_FAIL);
  assert_string_equal(o, "2");
  t->rf = 2;
  assert_int_equal(judge(p, SKPI_PR_REPLICATION, t, 5, o), SKPI_POL_FAIL);
  t->rf = 0;
  const char *why = NULL;
  assert_int_equal(skpi_policy_judge_topic(p, SKPI_PR_REPLICATION, t, 3, o, sizeof(o), &why),
                   SKPI_POL_UNKNOWN);
  assert_non_null(why);
  skpi_policy_free(p);

  skpi_policy_cfg cfg;
  skpi_policy_cfg_default(&cfg);
  cfg.rules[SKPI_PR_REPLICATION].threshold = 2;
  p = engine_with(&cfg);
  t->rf = 2;
  assert_int_equal(judge(p, SKPI_PR_REPLICATION, t, 3, NULL), SKPI_POL_PASS);
  skpi_policy_free(p);
  skpi_topic_configs_unref(c);
}

static void min_isr_bounds_and_garbage(void **state) {
  (void)state;
  skpi_policy *p = engine();
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_topic *t = good_topic(c, "team.orders", 3);
  assert_int_equal(judge(p, SKPI_PR_MIN_ISR, t, 3, NULL), SKPI_POL_PASS);
  skpi_tc_set(&t->v[SKPI_TC_MIN_ISR], "1", DEF);
  assert_int_equal(judge(p, SKPI_PR_MIN_ISR, t, 3, NULL), SKPI_POL_FAIL);
  /* min ISR equal to RF: one replica down stops every write. */
  skpi_tc_set(&t->v[SKPI_TC_MIN_ISR], "3", DYN);
  assert_int_equal(judge(p, SKPI_PR_MIN_ISR, t, 3, NULL), SKPI_POL_FAIL);
  t->rf = 4;
  assert_int_equal(judge(p, SKPI_PR_MIN_ISR, t, 4, NULL), SKPI_POL_PASS);
  const char *why = NULL;
  char o[64];
  skpi_tc_set(&t->v[SKPI_TC_MIN_ISR], "two", DYN);
  assert_int_equal(skpi_policy_judge_topic(p, SKPI_PR_MIN_ISR, t, 4, o, sizeof(o), &why),
                   SKPI_POL_UNKNOWN);
  assert_string_equal(why, "min.insync.replicas is not a number");
  assert_string_equal(o, "two");
  skpi_tc_set(&t->v[SKPI_TC_MIN_ISR], "", DYN);
  assert_int_equal(judge(p, SKPI_PR_MIN_ISR, t, 4, NULL), SKPI_POL_UNKNOWN);
  skpi_tc_set(&t->v[SKPI_TC_MIN_ISR], NULL, DYN);
  assert_int_equal(judge(p, SKPI_PR_MIN_ISR, t, 4, NULL), SKPI_POL_UNKNOWN);
  skpi_tc_set(&t->v[SKPI_TC_MIN_ISR], "2", DYN);
  skpi_tc_topic_fail(t, "broker down");
  assert_int_equal(skpi_policy_judge_topic(p, SKPI_PR_MIN_ISR, t, 4, o, sizeof(o), &why),
                   SKPI_POL_UNKNOWN);
  assert_string_equal(why, "topic configuration could not be read");
  skpi_policy_free(p);
  skpi_topic_configs_unref(c);
}

static void unclean_election(void **state) {
  (void)state;
  skpi_policy *p = engine();
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_topic *t = good_topic(c, "team.orders", 3);
  assert_int_equal(judge(p, SKPI_PR_UNCLEAN, t, 3, NULL), SKPI_POL_PASS);
  skpi_tc_set(&t->v[SKPI_TC_UNCLEAN], "true", DYN);
  assert_int_equal(judge(p, SKPI_PR_UNCLEAN, t, 3, NULL), SKPI_POL_FAIL);
  skpi_tc_set(&t->v[SKPI_TC_UNCLEAN], "yes", DYN);
  assert_int_equal(judge(p, SKPI_PR_UNCLEAN, t, 3, NULL), SKPI_POL_UNKNOWN);
  skpi_policy_free(p);
  skpi_topic_configs_unref(c);
}

static void retention_explicit_and_bounded(void **state) {
  (void)state;
  skpi_policy *p = engine();
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_topic *t = good_topic(c, "team.orders", 3);
  char o[256];
  assert_int_equal(judge(p, SKPI_PR_RETENTION, t, 3, o), SKPI_POL_PASS);
  assert_string_equal(o, "604800000");
  /* The maximum itself passes, one millisecond more fails. */
  skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "2592000000", DYN);
  assert_int_equal(judge(p, SKPI_PR_RETENTION, t, 3, NULL), SKPI_POL_PASS);
  skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "2592000001", DYN);
  assert_int_equal(judge(p, SKPI_PR_RETENTION, t, 3, NULL), SKPI_POL_FAIL);
  skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "-1", DYN);
  assert_int_equal(judge(p, SKPI_PR_RETENTION, t, 3, NULL), SKPI_POL_FAIL);
  /* Left at Kafka's default: not set explicitly. */
  skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "604800000", DEF);
  assert_int_equal(judge(p, SKPI_PR_RETENTION, t, 3, o), SKPI_POL_FAIL);
  assert_string_equal(o, "604800000 (default)");
  /* A broker-wide setting is an explicit choice too. */
  skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "604800000", SKPI_CFGSRC_STATIC);
  assert_int_equal(judge(p, SKPI_PR_RETENTION, t, 3, NULL), SKPI_POL_PASS);
  skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "604800000", SKPI_CFGSRC_UNKNOWN);
  assert_int_equal(judge(p, SKPI_PR_RETENTION, t, 3, NULL), SKPI_POL_UNKNOWN);
  const char *why = NULL;
  skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "7 days", DYN);
  assert_int_equal(skpi_policy_judge_topic(p, SKPI_PR_RETENTION, t, 3, o, sizeof(o), &why),
                   SKPI_POL_UNKNOWN);
  assert_string_equal(why, "retention.ms is not a number");
  /* Compacted topics are exempt, compact+delete ones are not. */
  skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "604800000", DEF);
  skpi_tc_set(&t->v[SKPI_TC_CLEANUP_POLICY], "compact", DYN);
  assert_int_equal(judge(p, SKPI_PR_RETENTION, t, 3, NULL), SKPI_POL_PASS);
  skpi_tc_set(&t->v[SKPI_TC_CLEANUP_POLICY], "delete,compact", DYN);
  assert_int_equal(judge(p, SKPI_PR_RETENTION, t, 3, NULL), SKPI_POL_FAIL);
  skpi_policy_free(p);
  skpi_topic_configs_unref(c);
}

static void cleanup_policy_allowed_set(void **state) {
  (void)state;
  skpi_policy *p = engine();
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_topic *t = good_topic(c, "team.orders", 3);
  assert_int_equal(judge(p, SKPI_PR_CLEANUP, t, 3, NULL), SKPI_POL_PASS);
  skpi_tc_set(&t->v[SKPI_TC_CLEANUP_POLICY], " delete , compact", DYN);
  assert_int_equal(judge(p, SKPI_PR_CLEANUP, t, 3, NULL), SKPI_POL_PASS);
  const char *why = NULL;
  char o[64];
  skpi_tc_set(&t->v[SKPI_TC_CLEANUP_POLICY], "shred", DYN);
  assert_int_equal(skpi_policy_judge_topic(p, SKPI_PR_CLEANUP, t, 3, o, sizeof(o), &why),
                   SKPI_POL_UNKNOWN);
  assert_string_equal(why, "cleanup.policy is not delete, compact or both");
  skpi_tc_set(&t->v[SKPI_TC_CLEANUP_POLICY], "", DYN);
  assert_int_equal(judge(p, SKPI_PR_CLEANUP, t, 3, NULL), SKPI_POL_UNKNOWN);
  skpi_policy_free(p);

  skpi_policy_cfg cfg;
  skpi_policy_cfg_default(&cfg);
  const char *only_delete[] = {"delete"};
  cfg.allowed_cleanup = only_delete;
  cfg.nallowed_cleanup = 1;
  p = engine_with(&cfg);
  skpi_tc_set(&t->v[SKPI_TC_CLEANUP_POLICY], "compact", DYN);
  assert_int_equal(judge(p, SKPI_PR_CLEANUP, t, 3, NULL), SKPI_POL_FAIL);
  skpi_tc_set(&t->v[SKPI_TC_CLEANUP_POLICY], "delete", DYN);
  assert_int_equal(judge(p, SKPI_PR_CLEANUP, t, 3, NULL), SKPI_POL_PASS);
  skpi_policy_free(p);
  skpi_topic_configs_unref(c);
}

static void partitions_and_message_size(void **state) {
  (void)state;
  skpi_policy_cfg cfg;
  skpi_policy_cfg_default(&cfg);
  cfg.rules[SKPI_PR_PARTITIONS].threshold = 6;
  cfg.rules[SKPI_PR_MAX_MESSAGE].threshold = 1048588;
  skpi_policy *p = engine_with(&cfg);
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_topic *t = good_topic(c, "team.orders", 3);
  assert_int_equal(judge(p, SKPI_PR_PARTITIONS, t, 3, NULL), SKPI_POL_PASS);
  t->partitions = 7;
  assert_int_equal(judge(p, SKPI_PR_PARTITIONS, t, 3, NULL), SKPI_POL_FAIL);
  t->partitions = 0;
  assert_int_equal(judge(p, SKPI_PR_PARTITIONS, t, 3, NULL), SKPI_POL_UNKNOWN);
  assert_int_equal(judge(p, SKPI_PR_MAX_MESSAGE, t, 3, NULL), SKPI_POL_PASS);
  skpi_tc_set(&t->v[SKPI_TC_MAX_MESSAGE_BYTES], "1048589", DYN);
  assert_int_equal(judge(p, SKPI_PR_MAX_MESSAGE, t, 3, NULL), SKPI_POL_FAIL);
  skpi_tc_set(&t->v[SKPI_TC_MAX_MESSAGE_BYTES], "1MB", DYN);
  assert_int_equal(judge(p, SKPI_PR_MAX_MESSAGE, t, 3, NULL), SKPI_POL_UNKNOWN);
  skpi_policy_free(p);
  skpi_topic_configs_unref(c);
}

static void naming_owner_and_schema(void **state) {
  (void)state;
  skpi_policy_cfg cfg;
  skpi_policy_cfg_default(&cfg);
  const skpi_policy_owner cat[] = {{"legacy", "ops"}};
  cfg.catalog = cat;
  cfg.ncatalog = 1;
  skpi_policy *p = engine_with(&cfg);
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_topic *a = good_topic(c, "team.orders", 3);
  skpi_tc_topic *b = good_topic(c, "Bad_Name", 3);
  skpi_tc_topic *l = good_topic(c, "legacy", 3);
  char o[256];
  assert_int_equal(judge(p, SKPI_PR_NAMING, a, 3, NULL), SKPI_POL_PASS);
  assert_int_equal(judge(p, SKPI_PR_NAMING, b, 3, NULL), SKPI_POL_FAIL);
  assert_int_equal(judge(p, SKPI_PR_OWNER, a, 3, o), SKPI_POL_PASS);
  assert_string_equal(o, "team");
  assert_int_equal(judge(p, SKPI_PR_OWNER, b, 3, o), SKPI_POL_PASS);
  assert_string_equal(o, "Bad");
  assert_int_equal(judge(p, SKPI_PR_OWNER, l, 3, o), SKPI_POL_PASS);
  assert_string_equal(o, "ops");
  skpi_tc_topic *n = good_topic(c, "orphan", 3);
  assert_int_equal(judge(p, SKPI_PR_OWNER, n, 3, o), SKPI_POL_FAIL);
  assert_string_equal(o, "none");
  /* Without a Schema Registry the rule cannot be known. */
  assert_int_equal(judge(p, SKPI_PR_SCHEMA, a, 3, NULL), SKPI_POL_UNKNOWN);
  const char *subjects[] = {"team.orders-value", "legacy-key"};
  assert_int_equal(skpi_policy_set_subjects(p, 1, subjects, 2), SKPI_OK);
  assert_int_equal(judge(p, SKPI_PR_SCHEMA, a, 3, NULL), SKPI_POL_PASS);
  assert_int_equal(judge(p, SKPI_PR_SCHEMA, l, 3, NULL), SKPI_POL_FAIL);
  assert_int_equal(skpi_policy_set_subjects(p, 0, NULL, 0), SKPI_OK);
  assert_int_equal(judge(p, SKPI_PR_SCHEMA, l, 3, NULL), SKPI_POL_UNKNOWN);
  skpi_policy_free(p);
  skpi_topic_configs_unref(c);
}

static void broker_rules(void **state) {
  (void)state;
  skpi_policy *p = engine();
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_broker *b = skpi_topic_configs_add_broker(c, 1);
  char o[64];
  assert_int_equal(skpi_policy_judge_broker(p, SKPI_PR_BROKER_AUTO_CREATE, b, o, sizeof(o), NULL),
                   SKPI_POL_UNKNOWN);
  skpi_tc_set(&b->v[SKPI_BC_AUTO_CREATE], "false", SKPI_CFGSRC_STATIC);
  skpi_tc_set(&b->v[SKPI_BC_MIN_ISR], "2", SKPI_CFGSRC_STATIC);
  assert_int_equal(skpi_policy_judge_broker(p, SKPI_PR_BROKER_AUTO_CREATE, b, o, sizeof(o), NULL),
                   SKPI_POL_PASS);
  assert_int_equal(skpi_policy_judge_broker(p, SKPI_PR_BROKER_MIN_ISR, b, o, sizeof(o), NULL),
                   SKPI_POL_PASS);
  skpi_tc_set(&b->v[SKPI_BC_AUTO_CREATE], "true", SKPI_CFGSRC_DEFAULT);
  skpi_tc_set(&b->v[SKPI_BC_MIN_ISR], "1", SKPI_CFGSRC_DEFAULT);
  assert_int_equal(skpi_policy_judge_broker(p, SKPI_PR_BROKER_AUTO_CREATE, b, o, sizeof(o), NULL),
                   SKPI_POL_FAIL);
  assert_int_equal(skpi_policy_judge_broker(p, SKPI_PR_BROKER_MIN_ISR, b, o, sizeof(o), NULL),
                   SKPI_POL_FAIL);
  assert_string_equal(o, "1");
  skpi_tc_set(&b->v[SKPI_BC_AUTO_CREATE], "maybe", SKPI_CFGSRC_DEFAULT);
  skpi_tc_set(&b->v[SKPI_BC_MIN_ISR], "x", SKPI_CFGSRC_DEFAULT);
  assert_int_equal(skpi_policy_judge_broker(p, SKPI_PR_BROKER_AUTO_CREATE, b, o, sizeof(o), NULL),
                   SKPI_POL_UNKNOWN);
  assert_int_equal(skpi_policy_judge_broker(p, SKPI_PR_BROKER_MIN_ISR, b, o, sizeof(o), NULL),
                   SKPI_POL_UNKNOWN);
  skpi_tc_broker_fail(b, "timed out");
  const char *why = NULL;
  assert_int_equal(skpi_policy_judge_broker(p, SKPI_PR_BROKER_MIN_ISR, b, o, sizeof(o), &why),
                   SKPI_POL_UNKNOWN);
  assert_string_equal(why, "broker configuration could not be read");
  /* A topic rule asked of a broker, and the reverse, judge nothing. */
  assert_int_equal(skpi_policy_judge_broker(p, SKPI_PR_MIN_ISR, b, o, sizeof(o), NULL),
                   SKPI_POL_SKIP);
  skpi_policy_free(p);
  skpi_topic_configs_unref(c);
}

static void exemptions_disabled_rules_and_internal(void **state) {
  (void)state;
  skpi_policy_cfg cfg;
  skpi_policy_cfg_default(&cfg);
  const char *ex[] = {"^legacy\\."};
  cfg.rules[SKPI_PR_REPLICATION].exempt = ex;
  cfg.rules[SKPI_PR_REPLICATION].nexempt = 1;
  cfg.rules[SKPI_PR_NAMING].enabled = 0;
  skpi_policy *p = engine_with(&cfg);
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_topic *l = good_topic(c, "legacy.orders", 1);
  skpi_tc_topic *t = good_topic(c, "team.Orders", 1);
  skpi_tc_topic *i = good_topic(c, "__consumer_offsets", 1);
  assert_int_equal(judge(p, SKPI_PR_REPLICATION, l, 1, NULL), SKPI_POL_SKIP);
  assert_int_equal(judge(p, SKPI_PR_REPLICATION, t, 1, NULL), SKPI_POL_FAIL);
  assert_int_equal(judge(p, SKPI_PR_NAMING, t, 1, NULL), SKPI_POL_SKIP);
  for(int r = 0; r < SKPI_PR_COUNT; r++)
    assert_int_equal(judge(p, (enum skpi_policy_rule)r, i, 1, NULL), SKPI_POL_SKIP);
  skpi_policy_free(p);
  skpi_topic_configs_unref(c);
}

static void bad_settings_are_refused(void **state) {
  (void)state;
  skpi_policy_cfg cfg;
  skpi_policy *p = NULL;
  char err[256];
  skpi_policy_cfg_default(&cfg);
  cfg.naming_regex = "([";
  assert_int_equal(skpi_policy_new("c1", &cfg, NULL, &p, err, sizeof(err)), SKPI_EINVAL);
  assert_null(p);
  assert_non_null(strstr(err, "policy.naming_regex"));
  skpi_policy_cfg_default(&cfg);
  cfg.team_regex = "^[a-z]+";
  assert_int_equal(skpi_policy_new("c1", &cfg, NULL, &p, err, sizeof(err)), SKPI_EINVAL);
  assert_non_null(strstr(err, "capture group"));
  skpi_policy_cfg_default(&cfg);
  const char *bad[] = {"shred"};
  cfg.allowed_cleanup = bad;
  cfg.nallowed_cleanup = 1;
  assert_int_equal(skpi_policy_new("c1", &cfg, NULL, &p, err, sizeof(err)), SKPI_EINVAL);
  assert_non_null(strstr(err, "allowed_cleanup_policies"));
  skpi_policy_cfg_default(&cfg);
  cfg.rules[SKPI_PR_PARTITIONS].threshold = NAN;
  assert_int_equal(skpi_policy_new("c1", &cfg, NULL, &p, err, sizeof(err)), SKPI_EINVAL);
  assert_non_null(strstr(err, "policy.rules.partitions.threshold"));
  skpi_policy_cfg_default(&cfg);
  const char *badex[] = {"(("};
  cfg.rules[SKPI_PR_OWNER].exempt = badex;
  cfg.rules[SKPI_PR_OWNER].nexempt = 1;
  assert_int_equal(skpi_policy_new("c1", &cfg, NULL, &p, err, sizeof(err)), SKPI_EINVAL);
  assert_non_null(strstr(err, "policy.rules.owner.exempt"));
}

/* Three brokers; topics: one compliant, one with RF 1 and unclean
 * election, one not described, one internal. */
static skpi_topic_configs *estate(void) {
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  for(int b = 1; b <= 3; b++) {
    skpi_tc_broker *br = skpi_topic_configs_add_broker(c, b);
    skpi_tc_set(&br->v[SKPI_BC_AUTO_CREATE], b == 2 ? "true" : "false", SKPI_CFGSRC_STATIC);
    skpi_tc_set(&br->v[SKPI_BC_MIN_ISR], "2", SKPI_CFGSRC_STATIC);
  }
  good_topic(c, "team.good", 3);
  skpi_tc_topic *bad = good_topic(c, "team.bad", 1);
  skpi_tc_set(&bad->v[SKPI_TC_UNCLEAN], "true", DYN);
  skpi_tc_topic *lost = good_topic(c, "team.lost", 3);
  skpi_tc_topic_fail(lost, "request timed out");
  good_topic(c, "__consumer_offsets", 3);
  skpi_topic_configs_sort(c);
  return c;
}

static void audit_counts_render_and_json(void **state) {
  (void)state;
  skpi_policy *p = engine();
  skpi_topic_configs *c = estate();
  size_t n[3];
  assert_int_equal(skpi_policy_verdicts(p, n), 0);
  assert_int_equal(skpi_policy_audit(p, c, 1000), SKPI_OK);
  skpi_topic_configs_unref(c); /* the engine keeps its own reference */
  assert_int_equal(skpi_policy_verdicts(p, n), 1);
  assert_int_equal(n[SKPI_POL_PASS], 1);
  assert_int_equal(n[SKPI_POL_FAIL], 1);
  assert_int_equal(n[SKPI_POL_UNKNOWN], 1);
  assert_int_equal(skpi_policy_counts(p, SKPI_PR_REPLICATION, n), 1);
  assert_int_equal(n[0], 2); /* team.good, and team.lost: RF comes from metadata */
  assert_int_equal(n[1], 1);
  assert_int_equal(n[2], 0);
  assert_int_equal(skpi_policy_counts(p, SKPI_PR_MIN_ISR, n), 1);
  assert_int_equal(n[0], 1);
  assert_int_equal(n[1], 1); /* min ISR 2 with RF 1 */
  assert_int_equal(n[2], 1);
  assert_int_equal(skpi_policy_counts(p, SKPI_PR_BROKER_AUTO_CREATE, n), 1);
  assert_int_equal(n[0], 2);
  assert_int_equal(n[1], 1);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_policy_render(p, 1010, m), SKPI_OK);
  char *text = kt_render(m);
  assert_true(kt_value(text, "streamkpi_policy_pass_ratio{cluster=\"c1\"}") == 0.5);
  assert_true(kt_value(text, "streamkpi_policy_topics{cluster=\"c1\",rule=\"unclean_leader_"
                             "election\",result=\"fail\"}") == 1);
  assert_true(kt_value(text, "streamkpi_policy_topics{cluster=\"c1\",rule=\"schema\",result="
                             "\"unknown\"}") == 3);
  assert_true(kt_value(text, "streamkpi_policy_brokers{cluster=\"c1\",rule=\"broker_auto_create_"
                             "topics\",result=\"fail\"}") == 1);
  assert_int_equal(kt_count(text, "streamkpi_topic_policy_violation{"), 3);
  assert_true(kt_value(text, "streamkpi_topic_policy_violation{cluster=\"c1\",topic=\"team.bad\","
                             "rule=\"replication_factor\"}") == 1);
  assert_true(kt_value(text, "streamkpi_policy_audit_age_seconds{cluster=\"c1\"}") == 10);
  assert_true(kt_value(text, "streamkpi_policy_audits_total{cluster=\"c1\"}") == 1);
  free(text);
  skpi_mset_unref(m);

  skpi_facts *f = skpi_facts_new();
  skpi_policy_facts(p, 1010, f);
  assert_true(skpi_facts_get(f, SKPI_FACT_POLICY_PASS, "c1")->value == 0.5);
  /* team.good durable, team.bad not, team.lost unknown. */
  assert_true(skpi_facts_get(f, SKPI_FACT_DURABLE_TOPICS, "c1")->value == 0.5);
  assert_true(isnan(skpi_facts_get(f, SKPI_FACT_SELF_SERVICE, "c1")->value));
  skpi_facts_free(f);

  json_t *doc = skpi_policy_json(p, 1010);
  assert_non_null(doc);
  assert_int_equal(json_integer_value(json_object_get(doc, "failing")), 1);
  json_t *v = json_object_get(doc, "violations");
  assert_int_equal(json_array_size(v), 3);
  json_t *first = json_array_get(v, 0);
  assert_string_equal(json_string_value(json_object_get(first, "topic")), "team.bad");
  assert_string_equal(json_string_value(json_object_get(first, "rule")), "replication_factor");
  assert_string_equal(json_string_value(json_object_get(first, "observed")), "1");
  assert_string_equal(json_string_value(json_object_get(first, "threshold")), ">= 3");
  json_t *second = json_array_get(v, 1);
  assert_string_equal(json_string_value(json_object_get(second, "threshold")), ">= 2 and <= 0");
  json_decref(doc);
  skpi_policy_free(p);
}

static void a_broker_down_does_not_shrink_the_cluster(void **state) {
  (void)state;
  skpi_policy *p = engine();
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_topic_configs_add_broker(c, 1);
  skpi_topic_configs_add_broker(c, 2);
  good_topic(c, "team.orders", 3);
  /* Broker 3 is missing from the listing but still named as a replica. */
  c->cluster_brokers = 3;
  assert_int_equal(skpi_policy_audit(p, c, 1000), SKPI_OK);
  size_t n[3];
  assert_int_equal(skpi_policy_counts(p, SKPI_PR_REPLICATION, n), 1);
  assert_int_equal(n[SKPI_POL_PASS], 1);
  c->cluster_brokers = 0;
  assert_int_equal(skpi_policy_audit(p, c, 1001), SKPI_OK);
  assert_int_equal(skpi_policy_counts(p, SKPI_PR_REPLICATION, n), 1);
  assert_int_equal(n[SKPI_POL_FAIL], 1);
  skpi_topic_configs_unref(c);
  skpi_policy_free(p);
}

static void violation_series_are_capped(void **state) {
  (void)state;
  skpi_policy_cfg cfg;
  skpi_policy_cfg_default(&cfg);
  cfg.max_violation_series = 2;
  skpi_policy *p = engine_with(&cfg);
  skpi_topic_configs *c = estate();
  assert_int_equal(skpi_policy_audit(p, c, 1000), SKPI_OK);
  assert_int_equal(skpi_policy_audit(p, c, 1300), SKPI_OK);
  skpi_topic_configs_unref(c);
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_policy_render(p, 1300, m), SKPI_OK);
  char *text = kt_render(m);
  assert_int_equal(kt_count(text, "streamkpi_topic_policy_violation{"), 2);
  assert_true(kt_value(text, "streamkpi_policy_violation_series_dropped_total{cluster=\"c1\"}") ==
              2);
  free(text);
  skpi_mset_unref(m);
  skpi_policy_free(p);
}

/* The estate at the first audit, then two topics onboarded. */
static skpi_topic_configs *onboarded(void) {
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  for(int b = 1; b <= 3; b++)
    skpi_topic_configs_add_broker(c, b);
  good_topic(c, "team.good", 3);
  good_topic(c, "shop.new", 3);
  good_topic(c, "platform.new", 3);
  skpi_tc_topic *b = good_topic(c, "shop.sloppy", 3);
  skpi_tc_set(&b->v[SKPI_TC_RETENTION_MS], "604800000", DEF);
  skpi_topic_configs_sort(c);
  return c;
}

static void self_service_adoption_and_persistence(void **state) {
  (void)state;
  skpi_policy *p = engine();
  skpi_topic_configs *c0 = skpi_topic_configs_new("c1");
  good_topic(c0, "team.good", 3);
  for(int b = 1; b <= 3; b++)
    skpi_topic_configs_add_broker(c0, b);
  assert_int_equal(skpi_policy_audit(p, c0, 1000), SKPI_OK);
  skpi_facts *f = skpi_facts_new();
  skpi_policy_facts(p, 1000, f);
  assert_true(isnan(skpi_facts_get(f, SKPI_FACT_SELF_SERVICE, "c1")->value));
  skpi_facts_free(f);
  skpi_topic_configs *c1 = onboarded();
  assert_int_equal(skpi_policy_audit(p, c1, 2000), SKPI_OK);
  /* shop.new adopted; platform.new by the platform team; shop.sloppy failed. */
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_policy_render(p, 2000, m), SKPI_OK);
  char *text = kt_render(m);
  assert_true(fabs(kt_value(text, "streamkpi_self_service_adoption_ratio{cluster=\"c1\",window="
                                  "\"30d\"}") -
                   1.0 / 3) < 1e-9);
  free(text);
  skpi_mset_unref(m);

  /* The first verdict sticks: fixing the topic later changes nothing. */
  json_t *saved = skpi_policy_save(p);
  assert_non_null(saved);
  skpi_policy *q = engine();
  char err[128];
  assert_int_equal(skpi_policy_load(q, saved, err, sizeof(err)), SKPI_OK);
  json_decref(saved);
  skpi_tc_topic *fixed = (skpi_tc_topic *)skpi_topic_configs_topic(c1, "shop.sloppy");
  skpi_tc_set(&fixed->v[SKPI_TC_RETENTION_MS], "604800000", DYN);
  assert_int_equal(skpi_policy_audit(q, c1, 3000), SKPI_OK);
  f = skpi_facts_new();
  skpi_policy_facts(q, 3000, f);
  assert_true(fabs(skpi_facts_get(f, SKPI_FACT_SELF_SERVICE, "c1")->value - 1.0 / 3) < 1e-9);
  skpi_facts_free(f);
  /* Out of the window: unknown again. */
  f = skpi_facts_new();
  skpi_policy_facts(q, 2000 + 31 * 86400.0, f);
  assert_true(isnan(skpi_facts_get(f, SKPI_FACT_SELF_SERVICE, "c1")->value));
  skpi_facts_free(f);

  /* Garbage state is refused and leaves the engine fresh. */
  const char *bad[] = {"[]", "{\"version\":2,\"baseline_done\":true,\"topics\":[]}",
                       "{\"version\":1,\"baseline_done\":true,\"topics\":[[\"a\",\"x\",false,-1]]}",
                       "{\"version\":1,\"baseline_done\":true,\"topics\":[[\"a\",1,false,7]]}",
                       "{\"version\":1,\"baseline_done\":true,\"topics\":[[\"b\",1,false,0],"
                       "[\"a\",1,false,0]]}"};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_t *doc = json_loads(bad[i], 0, NULL);
    assert_non_null(doc);
    assert_int_equal(skpi_policy_load(q, doc, err, sizeof(err)), SKPI_EINVAL);
    json_decref(doc);
  }
  f = skpi_facts_new();
  skpi_policy_facts(q, 3000, f);
  assert_true(isnan(skpi_facts_get(f, SKPI_FACT_SELF_SERVICE, "c1")->value));
  skpi_facts_free(f);
  skpi_policy_free(q);
  skpi_topic_configs_unref(c0);
  skpi_topic_configs_unref(c1);
  skpi_policy_free(p);
}

static void retention_risk(void **state) {
  (void)state;
  skpi_timelag *tl = NULL;
  assert_int_equal(skpi_timelag_new("c1", NULL, &tl), SKPI_OK);
  /* The high watermark of orders/0 moves 100 per 100 s from t=0. */
  for(int i = 0; i <= 10; i++) {
    skpi_ksample *s = ks_new("c1", i * 100.0);
    int t = ks_topic(s, "team.orders", 1);
    ks_wm(s, t, 0, 0, i * 100);
    assert_int_equal(skpi_timelag_observe(tl, s, i * 100.0), SKPI_OK);
    ks_free(s);
  }
  skpi_policy *p = NULL;
  char err[128];
  assert_int_equal(skpi_policy_new("c1", NULL, tl, &p, err, sizeof(err)), SKPI_OK);
  skpi_topic_configs *c = skpi_topic_configs_new("c1");
  skpi_tc_topic *t = good_topic(c, "team.orders", 3);
  skpi_tc_set(&t->v[SKPI_TC_RETENTION_MS], "900000", DYN); /* 900 s */
  good_topic(c, "team.other", 3);
  skpi_topic_configs_sort(c);
  assert_int_equal(skpi_policy_audit(p, c, 1000), SKPI_OK);

  skpi_ksample *s = ks_new("c1", 1000);
  int to = ks_topic(s, "team.orders", 1);
  int tt = ks_topic(s, "team.other", 2);
  ks_wm(s, to, 0, 350, 1000);
  ks_wm(s, tt, 0, 10, 20);
  ks_wm(s, tt, 1, -1, -1);
  int lagging = ks_group(s, "lagging", "Empty", 0);
  ks_commit(s, lagging, to, 0, 300); /* 50 lost; time lag 700 s */
  ks_commit(s, lagging, tt, 0, 10);
  int fine = ks_group(s, "fine", "Stable", 1);
  ks_commit(s, fine, to, 0, 900); /* time lag 100 s */
  skpi_policy_sample(p, s);
  skpi_ksample_unref(s); /* the engine holds its own reference */

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_policy_render(p, 1000, m), SKPI_OK);
  char *text = kt_render(m);
  assert_true(kt_value(text, "kafka_consumergroup_skipped_messages{cluster=\"c1\",consumergroup="
                             "\"lagging\",topic=\"team.orders\"}") == 50);
  assert_true(kt_value(text, "kafka_consumergroup_skipped_messages{cluster=\"c1\",consumergroup="
                             "\"lagging\",topic=\"team.other\"}") == 0);
  assert_true(kt_value(text, "kafka_consumergroup_retention_margin_seconds{cluster=\"c1\","
                             "consumergroup=\"lagging\",topic=\"team.orders\"}") == 200);
  assert_true(kt_value(text, "kafka_consumergroup_retention_margin_seconds{cluster=\"c1\","
                             "consumergroup=\"fine\",topic=\"team.orders\"}") == 800);
  /* No history for team.other: no margin rather than a made-up one. */
  assert_int_equal(kt_count(text, "kafka_consumergroup_retention_margin_seconds{cluster=\"c1\","
                                  "consumergroup=\"lagging\",topic=\"team.other\"}"),
                   0);
  free(text);
  skpi_mset_unref(m);
  skpi_topic_configs_unref(c);
  skpi_policy_free(p);
  skpi_timelag_free(tl);
}

static skpi_timelag *g_tl;

static void *lookup(const skpi_kpi_ctx *ctx, const char *family, const char *cluster) {
  (void)ctx;
  return !strcmp(family, "timelag") && !strcmp(cluster, "c1") ? g_tl : NULL;
}

static void kpi_family_observes_events(void **state) {
  (void)state;
  assert_int_equal(skpi_timelag_new("c1", NULL, &g_tl), SKPI_OK);
  skpi_cluster_cfg cl = {.name = "c1"};
  skpi_kpi_ctx ctx = {.cfg = NULL, .cluster = &cl, .lookup = lookup};
  void *self = NULL;
  char err[128];
  assert_string_equal(skpi_kpi_policy.name, "policy");
  assert_int_equal(skpi_kpi_policy.per_cluster, 1);
  assert_int_equal(skpi_kpi_policy.create(&ctx, &self, err, sizeof(err)), SKPI_OK);
  assert_non_null(self);
  skpi_topic_configs *c = estate();
  skpi_event ev = {.kind = SKPI_EV_TOPIC_CONFIGS, .now = 1000, .cluster = "c2"};
  ev.u.configs = c;
  skpi_kpi_policy.observe(self, &ev); /* another cluster's audit: ignored */
  skpi_facts *f = skpi_facts_new();
  skpi_kpi_policy.facts(self, 1000, f);
  assert_true(isnan(skpi_facts_get(f, SKPI_FACT_POLICY_PASS, "c1")->value));
  ev.cluster = "c1";
  skpi_kpi_policy.observe(self, &ev);
  skpi_kpi_policy.facts(self, 1000, f);
  assert_true(skpi_facts_get(f, SKPI_FACT_POLICY_PASS, "c1")->value == 0.5);
  skpi_facts_free(f);
  skpi_topic_configs_unref(c);
  json_t *saved = skpi_kpi_policy.save(self, 1000);
  assert_non_null(saved);
  assert_int_equal(skpi_kpi_policy.load(self, saved, err, sizeof(err)), SKPI_OK);
  json_decref(saved);
  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_kpi_policy.render(self, 1000, m), SKPI_OK);
  skpi_mset_unref(m);
  skpi_kpi_policy.free(self);
  skpi_timelag_free(g_tl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(replication_factor_capped_at_brokers),
      cmocka_unit_test(min_isr_bounds_and_garbage),
      cmocka_unit_test(unclean_election),
      cmocka_unit_test(retention_explicit_and_bounded),
      cmocka_unit_test(cleanup_policy_allowed_set),
      cmocka_unit_test(partitions_and_message_size),
      cmocka_unit_test(naming_owner_and_schema),
      cmocka_unit_test(broker_rules),
      cmocka_unit_test(exemptions_disabled_rules_and_internal),
      cmocka_unit_test(bad_settings_are_refused),
      cmocka_unit_test(audit_counts_render_and_json),
      cmocka_unit_test(a_broker_down_does_not_shrink_the_cluster),
      cmocka_unit_test(violation_series_are_capped),
      cmocka_unit_test(self_service_adoption_and_persistence),
      cmocka_unit_test(retention_risk),
      cmocka_unit_test(kpi_family_observes_events),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
