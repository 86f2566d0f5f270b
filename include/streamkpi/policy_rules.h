/* policy_rules.h: the policy audit's rule table (ids, scopes, what each
 * rule checks, default thresholds).  It is data the config schema validates
 * rule keys against and the policy KPI judges with, so it lives below both.
 */
#ifndef STREAMKPI_POLICY_RULES_H
#define STREAMKPI_POLICY_RULES_H

enum skpi_policy_rule {
  SKPI_PR_REPLICATION = 0,    /* RF >= min(threshold, brokers) */
  SKPI_PR_MIN_ISR,            /* min.insync.replicas >= threshold and <= RF - 1 */
  SKPI_PR_UNCLEAN,            /* unclean.leader.election.enable false */
  SKPI_PR_RETENTION,          /* retention.ms set (not default) and <= threshold ms */
  SKPI_PR_CLEANUP,            /* cleanup.policy in the allowed set */
  SKPI_PR_PARTITIONS,         /* partitions <= threshold */
  SKPI_PR_MAX_MESSAGE,        /* max.message.bytes <= threshold */
  SKPI_PR_NAMING,             /* name matches naming_regex */
  SKPI_PR_OWNER,              /* owner known: catalog or team_regex */
  SKPI_PR_SCHEMA,             /* "<topic>-value" subject registered */
  SKPI_PR_BROKER_AUTO_CREATE, /* broker auto.create.topics.enable false */
  SKPI_PR_BROKER_MIN_ISR,     /* broker default min.insync.replicas >= threshold */
  SKPI_PR_COUNT
};

enum skpi_policy_scope { SKPI_PS_TOPIC = 0, SKPI_PS_BROKER };

/* One row of the rule table. */
typedef struct skpi_policy_rule_def {
  const char *id; /* "replication_factor", ...: label value and config key */
  enum skpi_policy_scope scope;
  const char *checks; /* one line for docs and the API */
  double threshold;   /* default; NaN when the rule has none */
} skpi_policy_rule_def;

/* The rule table, SKPI_PR_COUNT rows in enum order. */
const skpi_policy_rule_def *skpi_policy_rules(void);

#endif
