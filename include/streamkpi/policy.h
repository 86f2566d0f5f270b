/* policy.h: the continuous policy audit of topic and broker configurations,
 * and the retention risk of consumer groups.
 *
 * Rules are rows of data (skpi_policy_rules): an id, a scope (topic or
 * broker), what it checks and a default threshold.  Each rule can be
 * switched off, given another threshold and exempt topics by regex.  Every
 * audit (one skpi_topic_configs) judges each non-internal topic by each
 * enabled topic rule, and each broker by each broker rule, as pass, fail or
 * unknown (with a reason: the resource could not be described, a value is
 * missing or garbage, an input such as the Schema Registry is absent).
 *
 * A topic passes the audit when no rule fails and no rule is unknown for a
 * reason of its own; rules whose input is missing for the whole cluster
 * (no Schema Registry) are reported unknown but do not decide a topic.  The
 * pass ratio is passing topics over decided (passing or failing) topics.
 *
 * Self-service adoption: topics seen at the first audit are the baseline;
 * a topic first seen later is onboarded then, and judged by its first
 * decided audit.  Among topics onboarded within window_s, the ratio is the
 * share whose owner is known, is not platform_team, and that passed.
 * First-seen times and first verdicts persist (save/load).
 *
 * Retention risk, per consumer group and topic, from the newest Kafka
 * sample: messages already lost (commits below the low watermark) and,
 * with retention.ms known and a time-lag engine, the seconds left before
 * the oldest unconsumed message is due for deletion (retention minus the
 * group's time lag, the smallest over the partitions; negative when the
 * message is past its retention but its segment not yet deleted).
 *
 * Not thread-safe: the caller serialises calls.  Time is always passed in.
 */
#ifndef STREAMKPI_POLICY_H
#define STREAMKPI_POLICY_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/facts.h"
#include "streamkpi/kpi.h"
#include "streamkpi/policy_rules.h"
#include "streamkpi/sample.h"
#include "streamkpi/timelag.h"
#include "streamkpi/topic_configs.h"

enum skpi_policy_result { SKPI_POL_PASS = 0, SKPI_POL_FAIL, SKPI_POL_UNKNOWN, SKPI_POL_SKIP };

typedef struct skpi_policy_rule_cfg {
  int enabled;
  double threshold;
  const char *const *exempt; /* topic regexes (POSIX ERE), copied */
  size_t nexempt;
} skpi_policy_rule_cfg;

typedef struct skpi_policy_owner {
  const char *topic, *team;
} skpi_policy_owner;

typedef struct skpi_policy_cfg {
  skpi_policy_rule_cfg rules[SKPI_PR_COUNT];
  const char *naming_regex;         /* default "^[a-z0-9]([._-][a-z0-9]|[a-z0-9])*$" */
  const char *team_regex;           /* one capture group; default "^([A-Za-z0-9]+)[._-]" */
  const skpi_policy_owner *catalog; /* copied */
  size_t ncatalog;
  const char *const *allowed_cleanup; /* default delete, compact, compact+delete */
  size_t nallowed_cleanup;
  const char *platform_team;   /* default "platform" */
  double window_s;             /* self-service window; default 30 d */
  size_t max_violation_series; /* default 1000 */
  size_t max_topics;           /* tracked for self-service; default 100000 */
} skpi_policy_cfg;

/* Fills cfg with the defaults: every rule on at its table threshold. */
void skpi_policy_cfg_default(skpi_policy_cfg *cfg);

typedef struct skpi_policy skpi_policy;

/* Creates an engine for cluster (copied).  tl (may be NULL) is the cluster's
 * time-lag engine, read for retention margins; it must outlive the policy
 * engine.  SKPI_EINVAL (errbuf says which) for a regex that does not compile
 * or a threshold out of range; SKPI_ENOMEM. */
skpi_err skpi_policy_new(const char *cluster, const skpi_policy_cfg *cfg, const skpi_timelag *tl,
                         skpi_policy **out, char *errbuf, size_t errlen);

/* Creates the engine of cluster from the config: the cluster's policy
 * settings (c->clusters[i].policy, found by name; c->policy for a name the
 * config does not list; keys in docs/policy.md) and the catalog (owners,
 * team_regex).  c NULL gives the defaults.  With policy.enabled false it
 * returns SKPI_OK and *out NULL.  Errors as for skpi_policy_new. */
skpi_err skpi_policy_from_config(const skpi_config *c, const char *cluster, const skpi_timelag *tl,
                                 skpi_policy **out, char *errbuf, size_t errlen);

void skpi_policy_free(skpi_policy *p);

/* Sets the Schema Registry subjects known for the cluster (copied), or,
 * with have_registry 0, says there is no registry: the schema rule is then
 * unknown.  SKPI_ENOMEM. */
skpi_err skpi_policy_set_subjects(skpi_policy *p, int have_registry, const char *const *subjects,
                                  size_t n);

/* Runs one audit over c (a reference is kept until the next one). */
skpi_err skpi_policy_audit(skpi_policy *p, skpi_topic_configs *c, double now);

/* Keeps a reference to the newest sample, for the retention risk. */
void skpi_policy_sample(skpi_policy *p, skpi_ksample *s);

/* Judges one topic or broker by one rule; for tests and the API.  observed
 * and why (either may be NULL) receive the observed value and, for unknown,
 * the reason. */
enum skpi_policy_result skpi_policy_judge_topic(const skpi_policy *p, enum skpi_policy_rule r,
                                                const skpi_tc_topic *t, size_t brokers,
                                                char *observed, size_t olen, const char **why);
enum skpi_policy_result skpi_policy_judge_broker(const skpi_policy *p, enum skpi_policy_rule r,
                                                 const skpi_tc_broker *b, char *observed,
                                                 size_t olen, const char **why);

/* Counts of the last audit: topics per rule and result, and topic verdicts
 * (pass/fail/unknown).  Returns 0 when no audit ran yet. */
int skpi_policy_counts(const skpi_policy *p, enum skpi_policy_rule r, size_t out[3]);
int skpi_policy_verdicts(const skpi_policy *p, size_t out[3]);

/* Adds streamkpi_policy_topics{cluster,rule,result},
 * streamkpi_policy_brokers{cluster,rule,result},
 * streamkpi_policy_pass_ratio{cluster}, streamkpi_topic_policy_violation
 * {cluster,topic,rule} (capped), streamkpi_policy_violation_series_dropped_total,
 * streamkpi_policy_audits_total, streamkpi_policy_last_audit_timestamp_seconds,
 * streamkpi_policy_audit_age_seconds, streamkpi_self_service_adoption_ratio
 * {cluster,window}, kafka_consumergroup_skipped_messages and
 * kafka_consumergroup_retention_margin_seconds {cluster,consumergroup,topic}. */
skpi_err skpi_policy_render(const skpi_policy *p, double now, skpi_mset *m);

/* Adds policy_pass_ratio, durable_topics_ratio and
 * self_service_adoption_ratio for the cluster (unknown with a reason when
 * they cannot be known). */
void skpi_policy_facts(const skpi_policy *p, double now, skpi_facts *out);

/* The last audit as a new JSON object (caller decrefs), NULL on OOM:
 * {"cluster","audited_at","topics","passing","failing","unknown",
 * "pass_ratio","violations":[{"topic","rule","observed","threshold"}],
 * "unknown_results":[{"topic","rule","reason"}],
 * "broker_violations":[{"broker","rule","observed","threshold"}]}. */
json_t *skpi_policy_json(const skpi_policy *p, double now);

/* Persisted state (self-service first-seen and first verdicts). */
json_t *skpi_policy_save(const skpi_policy *p);
skpi_err skpi_policy_load(skpi_policy *p, const json_t *doc, char *errbuf, size_t errlen);

/* The KPI family: per cluster, observes SKPI_EV_TOPIC_CONFIGS and
 * SKPI_EV_SAMPLE; finds the cluster's "timelag" instance through
 * ctx->lookup (taken to be an skpi_timelag). */
extern const skpi_kpi_ops skpi_kpi_policy;

#endif
