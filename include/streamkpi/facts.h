/* facts.h: named values the KPI modules publish for the maturity engine.
 *
 * A fact is one value with a scope (the organisation, or one cluster), a
 * unit and a provenance: observed on the wire, or declared in the config
 * (with the date it was declared).  A fact that no source could produce is
 * unknown: its value is NaN and its reason says why and what configuration
 * would make it known.  Unknown is never zero.
 *
 * The names below are the contract between the KPI modules (which publish)
 * and the assessment (which reads): a criterion names a fact, so a KPI that
 * starts publishing a fact turns its criteria from unknown to met or unmet
 * without a change in the assessment.  docs/internals/facts.md lists who
 * publishes each one.
 *
 * A set copies every string it is given.  Not thread-safe: one builder at a
 * time; once built it is read-only.
 */
#ifndef STREAMKPI_FACTS_H
#define STREAMKPI_FACTS_H

#include <stddef.h>

#include "streamkpi/err.h"

/* Cluster scope (value per cluster). */
#define SKPI_FACT_CLUSTER_REACHABLE "cluster_reachable"     /* 0/1, last sample ok */
#define SKPI_FACT_BROKERS "brokers"                         /* count */
#define SKPI_FACT_TOPICS "topics"                           /* count, internal excluded */
#define SKPI_FACT_ACTIVE_STREAMS "active_streams"           /* count */
#define SKPI_FACT_ACTIVE_TEAMS "active_teams"               /* count */
#define SKPI_FACT_NAMING_RATIO "naming_conformance_ratio"   /* ratio */
#define SKPI_FACT_PROBE_RUNNING "probe_running"             /* 0/1 */
#define SKPI_FACT_AVAILABILITY "availability_ratio"         /* ratio over the 30 d window */
#define SKPI_FACT_AVAILABILITY_OBSERVED "availability_observed_seconds" /* seconds */
#define SKPI_FACT_PROBE_P99 "probe_roundtrip_p99_seconds"   /* seconds */
#define SKPI_FACT_ONBOARDING_MEDIAN "onboarding_median_seconds" /* seconds */
#define SKPI_FACT_DLQ_COVERAGE "dlq_coverage_ratio"         /* ratio of active streams with a DLQ */
#define SKPI_FACT_SCHEMA_COVERAGE "schema_coverage_ratio"   /* ratio */
#define SKPI_FACT_DURABLE_TOPICS "durable_topics_ratio"     /* RF >= 3 and min ISR >= 2 */
#define SKPI_FACT_POLICY_PASS "policy_pass_ratio"           /* ratio */
#define SKPI_FACT_SELF_SERVICE "self_service_adoption_ratio" /* ratio */
#define SKPI_FACT_STATEFUL_APPS "stateful_apps"             /* count */
#define SKPI_FACT_PARALLELISM "consumer_parallelism_ratio"  /* active members per partition */
#define SKPI_FACT_IDLE_MEMBERS "consumer_idle_members"      /* count, holding no partition */

/* Organisation scope (cluster NULL). */
#define SKPI_FACT_CLUSTERS "clusters"                       /* count */
#define SKPI_FACT_CONNECTORS_RUNNING "connectors_running"   /* count */
#define SKPI_FACT_CONNECT_TASKS_RUNNING "connect_tasks_running_ratio" /* ratio */
#define SKPI_FACT_REPLICATION_FLOWS "replication_flows"     /* count */
#define SKPI_FACT_INCIDENTS_TRACKED "incidents_tracked"     /* 0/1 */
#define SKPI_FACT_INCIDENTS_RESOLVED "incidents_resolved_30d" /* count */
#define SKPI_FACT_MTTR "mttr_seconds"                       /* seconds over 30 d */
#define SKPI_FACT_SLOS_DEFINED "slos_defined"               /* count */
#define SKPI_FACT_SLOS_MET "slos_met_ratio"                 /* ratio */
#define SKPI_FACT_QUALITY_SLOS_DEFINED "quality_slos_defined" /* count */
#define SKPI_FACT_QUALITY_SLOS_MET "quality_slos_met_ratio" /* ratio */
#define SKPI_FACT_PRODUCTS "data_products"                  /* count with owner, domain, SLOs */
#define SKPI_FACT_PRODUCT_SLO "data_product_slo_achievement_ratio" /* ratio */
#define SKPI_FACT_PRODUCT_REUSE "data_product_reuse_ratio"  /* ratio */
#define SKPI_FACT_UNOWNED_TOPICS "unowned_active_topics"    /* count */
#define SKPI_FACT_MULTI_PRODUCT_TOPICS "multi_product_topics" /* count of topics in > 1 product */
#define SKPI_FACT_TEAMS_ON_PLATFORM "teams_on_platform_ratio" /* ratio of known teams owning a stream */

enum skpi_prov { SKPI_PROV_OBSERVED = 0, SKPI_PROV_DECLARED };

typedef struct skpi_fact {
  const char *name;    /* one of the names above, or "survey.<item>" */
  const char *cluster; /* NULL: organisation scope */
  double value;        /* NaN: unknown */
  const char *unit;    /* "count", "ratio", "seconds", "bool", "score" */
  enum skpi_prov prov;
  double as_of;        /* unix time it was observed or declared; 0 unknown */
  const char *reason;  /* unknown facts: why, and what to configure; else NULL */
} skpi_fact;

typedef struct skpi_facts skpi_facts;

/* Returns a new empty set, or NULL on OOM.  Free with skpi_facts_free. */
skpi_facts *skpi_facts_new(void);
void skpi_facts_free(skpi_facts *f);

/* Adds a copy of fact, replacing one with the same (name, cluster).
 * SKPI_EINVAL for a NULL or empty name or unit; SKPI_ENOMEM. */
skpi_err skpi_facts_put(skpi_facts *f, const skpi_fact *fact);

/* Shorthands for an observed value and for an unknown one (reason given). */
skpi_err skpi_facts_observed(skpi_facts *f, const char *name, const char *cluster, double value,
                             const char *unit, double as_of);
skpi_err skpi_facts_unknown(skpi_facts *f, const char *name, const char *cluster,
                            const char *unit, const char *reason);

/* The fact (name, cluster), or NULL when none was published; borrowed
 * until the set changes or is freed. */
const skpi_fact *skpi_facts_get(const skpi_facts *f, const char *name, const char *cluster);

/* Iteration in insertion order. */
size_t skpi_facts_count(const skpi_facts *f);
const skpi_fact *skpi_facts_at(const skpi_facts *f, size_t i);

#endif
