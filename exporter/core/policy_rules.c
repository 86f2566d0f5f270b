/* policy_rules.c: the policy audit's rule table. */
#include "streamkpi/policy_rules.h"

#include <math.h>

static const skpi_policy_rule_def rule_table[SKPI_PR_COUNT] = {
    [SKPI_PR_REPLICATION] = {"replication_factor", SKPI_PS_TOPIC,
                             "replication factor, counted up to the cluster's size, at least "
                             "the threshold",
                             3},
    [SKPI_PR_MIN_ISR] = {"min_insync_replicas", SKPI_PS_TOPIC,
                         "min.insync.replicas at least the threshold and at most RF - 1", 2},
    [SKPI_PR_UNCLEAN] = {"unclean_leader_election", SKPI_PS_TOPIC,
                         "unclean.leader.election.enable is false", NAN},
    [SKPI_PR_RETENTION] = {"retention", SKPI_PS_TOPIC,
                           "retention.ms set explicitly and at most the threshold (ms); "
                           "compacted topics are exempt",
                           2592000000.0},
    [SKPI_PR_CLEANUP] = {"cleanup_policy", SKPI_PS_TOPIC, "cleanup.policy in the allowed set", NAN},
    [SKPI_PR_PARTITIONS] = {"partitions", SKPI_PS_TOPIC, "partition count at most the threshold",
                            1000},
    [SKPI_PR_MAX_MESSAGE] = {"max_message_bytes", SKPI_PS_TOPIC,
                             "max.message.bytes at most the threshold", 10485760},
    [SKPI_PR_NAMING] = {"naming", SKPI_PS_TOPIC, "topic name matches the naming regex", NAN},
    [SKPI_PR_OWNER] = {"owner", SKPI_PS_TOPIC,
                       "owning team known from the catalog or the team regex", NAN},
    [SKPI_PR_SCHEMA] = {"schema", SKPI_PS_TOPIC,
                        "a \"<topic>-value\" subject in the Schema Registry", NAN},
    [SKPI_PR_BROKER_AUTO_CREATE] = {"broker_auto_create_topics", SKPI_PS_BROKER,
                                    "auto.create.topics.enable is false", NAN},
    [SKPI_PR_BROKER_MIN_ISR] = {"broker_min_insync_replicas", SKPI_PS_BROKER,
                                "broker default min.insync.replicas at least the threshold", 2},
};

const skpi_policy_rule_def *skpi_policy_rules(void) {
  return rule_table;
}
