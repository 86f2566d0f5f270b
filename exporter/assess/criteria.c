/* criteria.c: the compiled-in criteria of both maturity models, as data.
 *
 * Adding a criterion is one row here (and a line in docs/assessment.md);
 * ids are stable because configs, history and dashboards name them. */
#include <stddef.h>
#include <string.h>

#include "streamkpi/assess.h"

#define A SKPI_ASSESS_LEVELS
#define B SKPI_ASSESS_STAGES
#define TECH SKPI_DIM_TECHNOLOGY
#define GOV SKPI_DIM_GOVERNANCE
#define SKL SKPI_DIM_SKILLS
#define OPS SKPI_DIM_OPERATIONS
#define BIZ SKPI_DIM_BUSINESS_VALUE
#define CL SKPI_SCOPE_CLUSTER
#define ANY SKPI_SCOPE_ANY_CLUSTER
#define ORG SKPI_SCOPE_ORG

/* Roadmap steps, shared by the rows they close. */
#define STEP_PILOT "Stand up a first cluster and run one pilot stream on it end to end."
#define STEP_1_2                                                                                   \
  "Standardise on one core streaming stack, write down the use cases and start a platform team."
#define STEP_SKILLS                                                                                \
  "Invest in people: training, a community of practice and a shared on-call rotation."
#define STEP_VALUE                                                                                 \
  "Tie every data product to the business value it delivers and ask its stakeholders regularly."
#define HOW_KAFKA "Known once the Kafka source samples the cluster (check its bootstrap_servers)."
#define HOW_CONFIGS "Known once the Kafka source reads topic configurations of the cluster."
#define HOW_PROBE "Enable the canary probe for the cluster (probe section of the cluster)."
#define HOW_CATALOG "Declare data products with owner and domain in the catalog section."
#define HOW_POLICY "Configure the policy checks over topic configurations."
#define HOW_SURVEY "Answer this item (score 1-5 with its date) under maturity.survey."

#define SURVEY_ROWS(L, DIM, ITEM, TAG, TITLE, STEP)                                                \
  {                                                                                                \
    "l" #L "_" TAG, A, L, DIM, "survey." ITEM, ORG, SKPI_CMP_GE, L, "score", TITLE, STEP,          \
        HOW_SURVEY                                                                                 \
  }

static const skpi_criterion rows[] = {
    /* Model A, level 1. */
    {"l1_tech_reachable", A, 1, TECH, SKPI_FACT_CLUSTER_REACHABLE, CL, SKPI_CMP_GE, 1, "bool",
     "Production clusters are reachable", STEP_PILOT, HOW_KAFKA},
    {"l1_tech_streams", A, 1, TECH, SKPI_FACT_ACTIVE_STREAMS, CL, SKPI_CMP_GE, 1, "count",
     "At least one active stream", STEP_PILOT, HOW_KAFKA},
    {"l1_ops_probe", A, 1, OPS, SKPI_FACT_PROBE_RUNNING, CL, SKPI_CMP_GE, 1, "bool",
     "The platform is probed end to end",
     "Run the canary probe on every production cluster so availability is measured, not assumed.",
     HOW_PROBE},
    /* Level 2. */
    {"l2_tech_streams", A, 2, TECH, SKPI_FACT_ACTIVE_STREAMS, CL, SKPI_CMP_GE, 3, "count",
     "Three or more active streams", STEP_1_2, HOW_KAFKA},
    {"l2_bv_teams", A, 2, BIZ, SKPI_FACT_ACTIVE_TEAMS, CL, SKPI_CMP_GE, 2, "count",
     "Two or more teams own active streams",
     "Document the use cases with their owning teams and bring a second team onto the stack.",
     "Name stream owners in the catalog, or set a naming convention that carries the team."},
    {"l2_gov_naming", A, 2, GOV, SKPI_FACT_NAMING_RATIO, CL, SKPI_CMP_GE, 0.5, "ratio",
     "Half of the topics follow the naming convention",
     "Agree on a topic naming convention and bring new topics under it.",
     "Set the topic naming convention (a name pattern) in the catalog section."},
    /* Level 3. */
    {"l3_tech_brokers", A, 3, TECH, SKPI_FACT_BROKERS, CL, SKPI_CMP_GE, 3, "count",
     "Three or more brokers per production cluster",
     "Consolidate onto one shared platform with at least three brokers per cluster.", HOW_KAFKA},
    {"l3_tech_durable", A, 3, TECH, SKPI_FACT_DURABLE_TOPICS, CL, SKPI_CMP_GE, 0.9, "ratio",
     "Durable topics: replication factor 3 and min.insync.replicas 2",
     "Make replication factor 3 with min.insync.replicas 2 the platform default and fix the "
     "existing topics.",
     HOW_CONFIGS},
    {"l3_tech_connectors", A, 3, TECH, SKPI_FACT_CONNECTORS_RUNNING, ORG, SKPI_CMP_GE, 1, "count",
     "Reusable connectors run on the platform",
     "Offer Kafka Connect as a shared service so teams reuse connectors instead of writing "
     "their own.",
     "Add the Kafka Connect REST endpoint as a target of kind connect."},
    {"l3_gov_schemas", A, 3, GOV, SKPI_FACT_SCHEMA_COVERAGE, CL, SKPI_CMP_GE, 0.8, "ratio",
     "Schemas registered for active topics",
     "Introduce a schema registry and data contracts, and register a schema for every active "
     "topic.",
     "Add the Schema Registry as an http target of the cluster."},
    {"l3_gov_policy", A, 3, GOV, SKPI_FACT_POLICY_PASS, CL, SKPI_CMP_GE, 0.8, "ratio",
     "Topics pass the platform policy checks",
     "Write the platform's governance rules down as policy checks and fix what fails them.",
     HOW_POLICY},
    {"l3_ops_availability", A, 3, OPS, SKPI_FACT_AVAILABILITY, CL, SKPI_CMP_GE, 0.999, "ratio",
     "Availability objective met over 30 days",
     "Run the platform as a product with an availability objective, central monitoring and "
     "alerting.",
     HOW_PROBE},
    {"l3_ops_dlq", A, 3, OPS, SKPI_FACT_DLQ_COVERAGE, CL, SKPI_CMP_GE, 0.5, "ratio",
     "Failures isolated: pipelines have a dead-letter queue",
     "Give consuming pipelines a dead-letter topic so one bad record does not stop a stream.",
     "Set the dead-letter topic pattern in the dlq section."},
    {"l3_ops_incidents", A, 3, OPS, SKPI_FACT_INCIDENTS_TRACKED, ORG, SKPI_CMP_GE, 1, "bool",
     "Incidents are tracked with their recovery time",
     "Track platform incidents and their time to recover, from health checks or Alertmanager.",
     "Enable the incidents section or point Alertmanager's webhook at the exporter."},
    {"l3_ops_self_service", A, 3, OPS, SKPI_FACT_ONBOARDING_MEDIAN, CL, SKPI_CMP_LE, 86400,
     "seconds", "Self-service: a new stream is onboarded within a day",
     "Offer self-service provisioning so a team gets a new stream running within a day.",
     "Known once new topics have been seen from creation to first consumer (onboarding)."},
    /* Level 4. */
    {"l4_tech_stateful", A, 4, TECH, SKPI_FACT_STATEFUL_APPS, ANY, SKPI_CMP_GE, 1, "count",
     "Stateful stream processing runs",
     "Move processing into streams: stateful applications (Kafka Streams, ksqlDB) on the "
     "platform.",
     HOW_KAFKA},
    {"l4_tech_clusters", A, 4, TECH, SKPI_FACT_CLUSTERS, ORG, SKPI_CMP_GT, 1, "count",
     "More than one cluster",
     "Run a second cluster (another region or datacenter) for resilience and locality.",
     "Configure every cluster of the estate under clusters."},
    {"l4_tech_replication", A, 4, TECH, SKPI_FACT_REPLICATION_FLOWS, ORG, SKPI_CMP_GE, 1, "count",
     "Replication between clusters",
     "Replicate the important topics between clusters (for example with MirrorMaker 2).",
     "Known once the replication source watches the clusters' mirroring."},
    {"l4_ops_latency", A, 4, OPS, SKPI_FACT_PROBE_P99, CL, SKPI_CMP_LT, 1, "seconds",
     "Sub-second end to end: probe round trip p99 below 1 s",
     "Tune the platform for latency until a record crosses it in well under a second.", HOW_PROBE},
    {"l4_ops_mttr", A, 4, OPS, SKPI_FACT_MTTR, ORG, SKPI_CMP_LT, 3600, "seconds",
     "Mean time to recover below one hour over 30 days",
     "Automate detection and recovery (runbooks, alerts on symptoms) to recover within the "
     "hour.",
     "Known once incidents are tracked and at least one was resolved in 30 days."},
    {"l4_gov_quality", A, 4, GOV, SKPI_FACT_QUALITY_SLOS_DEFINED, ORG, SKPI_CMP_GE, 1, "count",
     "Automated data quality objectives exist",
     "Introduce a data quality framework: an objective on DLQ ratio or application errors.",
     "Declare a data quality objective (DLQ ratio or error share) in the slos section."},
    {"l4_gov_quality_met", A, 4, GOV, SKPI_FACT_QUALITY_SLOS_MET, ORG, SKPI_CMP_GE, 1, "ratio",
     "Every data quality objective is met",
     "Fix the sources of bad records until every data quality objective holds.",
     "Declare a data quality objective (DLQ ratio or error share) in the slos section."},
    /* Level 5. */
    {"l5_bv_products", A, 5, BIZ, SKPI_FACT_PRODUCTS, ORG, SKPI_CMP_GE, 1, "count",
     "Data products declared with owner, domain and objectives",
     "Let domains own their streams as data products with an owner and objectives.", HOW_CATALOG},
    {"l5_ops_product_slos", A, 5, OPS, SKPI_FACT_PRODUCT_SLO, ORG, SKPI_CMP_GE, 1, "ratio",
     "Every data-product objective met",
     "Hold each data product to its objectives and make the owning domain answer for them.",
     HOW_CATALOG},
    {"l5_bv_reuse", A, 5, BIZ, SKPI_FACT_PRODUCT_REUSE, ORG, SKPI_CMP_GE, 0.5, "ratio",
     "Half of the data products are used by another domain",
     "Publish a catalog so other domains find and reuse the data products.", HOW_CATALOG},
    {"l5_gov_compliance", A, 5, GOV, SKPI_FACT_POLICY_PASS, CL, SKPI_CMP_GE, 0.95, "ratio",
     "Compliance: policy checks pass on 95% of topics",
     "Automate compliance: policy checks in the provisioning path, federated to the domains.",
     HOW_POLICY},
    {"l5_tech_self_service", A, 5, TECH, SKPI_FACT_SELF_SERVICE, CL, SKPI_CMP_GE, 0.8, "ratio",
     "Self-service adoption: 80% of new streams onboarded by their teams",
     "Make self-service the normal path: teams onboard compliant streams without the platform "
     "team.",
     "Known once onboarding and the policy checks are configured."},
    /* Skills, declared, levels 2-5 with rising scores. */
    SURVEY_ROWS(2, SKL, "training", "skills_training", "Training (survey)", STEP_SKILLS),
    SURVEY_ROWS(2, SKL, "community_of_practice", "skills_community",
                "Community of practice (survey)", STEP_SKILLS),
    SURVEY_ROWS(2, SKL, "on_call", "skills_on_call", "On-call practice (survey)", STEP_SKILLS),
    SURVEY_ROWS(3, SKL, "training", "skills_training", "Training (survey)", STEP_SKILLS),
    SURVEY_ROWS(3, SKL, "community_of_practice", "skills_community",
                "Community of practice (survey)", STEP_SKILLS),
    SURVEY_ROWS(3, SKL, "on_call", "skills_on_call", "On-call practice (survey)", STEP_SKILLS),
    SURVEY_ROWS(4, SKL, "training", "skills_training", "Training (survey)", STEP_SKILLS),
    SURVEY_ROWS(4, SKL, "community_of_practice", "skills_community",
                "Community of practice (survey)", STEP_SKILLS),
    SURVEY_ROWS(4, SKL, "on_call", "skills_on_call", "On-call practice (survey)", STEP_SKILLS),
    SURVEY_ROWS(5, SKL, "training", "skills_training", "Training (survey)", STEP_SKILLS),
    SURVEY_ROWS(5, SKL, "community_of_practice", "skills_community",
                "Community of practice (survey)", STEP_SKILLS),
    SURVEY_ROWS(5, SKL, "on_call", "skills_on_call", "On-call practice (survey)", STEP_SKILLS),
    /* Business value, declared, levels 3-5. */
    SURVEY_ROWS(3, BIZ, "value_per_product", "bv_value", "Value per data product (survey)",
                STEP_VALUE),
    SURVEY_ROWS(3, BIZ, "stakeholder_satisfaction", "bv_satisfaction",
                "Stakeholder satisfaction (survey)", STEP_VALUE),
    SURVEY_ROWS(4, BIZ, "value_per_product", "bv_value", "Value per data product (survey)",
                STEP_VALUE),
    SURVEY_ROWS(4, BIZ, "stakeholder_satisfaction", "bv_satisfaction",
                "Stakeholder satisfaction (survey)", STEP_VALUE),
    SURVEY_ROWS(5, BIZ, "value_per_product", "bv_value", "Value per data product (survey)",
                STEP_VALUE),
    SURVEY_ROWS(5, BIZ, "stakeholder_satisfaction", "bv_satisfaction",
                "Stakeholder satisfaction (survey)", STEP_VALUE),
    /* Model B: adoption stages. */
    {"s1_reachable", B, 1, TECH, SKPI_FACT_CLUSTER_REACHABLE, ANY, SKPI_CMP_GE, 1, "bool",
     "A reachable cluster", STEP_PILOT, HOW_KAFKA},
    {"s1_stream", B, 1, TECH, SKPI_FACT_ACTIVE_STREAMS, ANY, SKPI_CMP_GE, 1, "count",
     "A first stream in use", STEP_PILOT, HOW_KAFKA},
    {"s2_streams", B, 2, TECH, SKPI_FACT_ACTIVE_STREAMS, CL, SKPI_CMP_GE, 2, "count",
     "Streams in production beyond the pilot",
     "Put a few bounded, non-critical projects into production.", HOW_KAFKA},
    {"s2_probe", B, 2, OPS, SKPI_FACT_PROBE_RUNNING, CL, SKPI_CMP_GE, 1, "bool",
     "Production is probed end to end",
     "Probe production end to end before anything critical depends on it.", HOW_PROBE},
    {"s3_availability", B, 3, OPS, SKPI_FACT_AVAILABILITY, CL, SKPI_CMP_GE, 0.999, "ratio",
     "Availability objective met (99.9% over 30 days)",
     "Commit to an availability objective and meet it before taking mission-critical flows.",
     HOW_PROBE},
    {"s3_durable", B, 3, TECH, SKPI_FACT_DURABLE_TOPICS, CL, SKPI_CMP_GE, 0.9, "ratio",
     "Durable topics", "Make topics durable: replication factor 3 and min.insync.replicas 2.",
     HOW_CONFIGS},
    {"s3_teams", B, 3, BIZ, SKPI_FACT_ACTIVE_TEAMS, CL, SKPI_CMP_GE, 2, "count",
     "Streams shared by two or more teams",
     "Join business units through shared streams rather than point-to-point links.",
     "Name stream owners in the catalog, or set a naming convention that carries the team."},
    {"s4_clusters", B, 4, TECH, SKPI_FACT_CLUSTERS, ORG, SKPI_CMP_GE, 2, "count",
     "Several clusters", "Spread the platform over datacenters or regions.",
     "Configure every cluster of the estate under clusters."},
    {"s4_replication", B, 4, TECH, SKPI_FACT_REPLICATION_FLOWS, ORG, SKPI_CMP_GE, 1, "count",
     "Replication between clusters", "Replicate between clusters, respecting where data may live.",
     "Known once the replication source watches the clusters' mirroring."},
    {"s5_availability", B, 5, OPS, SKPI_FACT_AVAILABILITY, CL, SKPI_CMP_GE, 0.9995, "ratio",
     "High-nines availability (99.95%)",
     "Engineer for high-nines availability: the platform is now the business's nervous system.",
     HOW_PROBE},
    {"s5_teams", B, 5, BIZ, SKPI_FACT_TEAMS_ON_PLATFORM, ORG, SKPI_CMP_GT, 0.5, "ratio",
     "Most teams publish or consume on the platform",
     "Bring most teams' business events onto the platform.",
     "List the organisation's teams in the catalog so their share on the platform is known."},
};

const skpi_criterion *skpi_assess_criteria(size_t *n) {
  if(n)
    *n = sizeof(rows) / sizeof(rows[0]);
  return rows;
}

const skpi_criterion *skpi_assess_criterion(const char *id) {
  if(!id)
    return NULL;
  for(size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
    if(strcmp(rows[i].id, id) == 0)
      return &rows[i];
  return NULL;
}
