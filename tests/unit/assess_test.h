/* assess_test.h: facts sets and configurations shared by the assessment
 * tests. */
#ifndef STREAMKPI_ASSESS_TEST_H
#define STREAMKPI_ASSESS_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/assess.h"
#include "streamkpi/facts.h"

#define AT_NOW 1798761600.0 /* 2027-01-01T00:00:00Z */
#define AT_DAY 86400.0

static inline void at_put(skpi_facts *f, const char *name, const char *cluster, double v,
                          const char *unit) {
  if(skpi_facts_observed(f, name, cluster, v, unit, AT_NOW - 60) != SKPI_OK)
    abort();
}

/* One cluster "prod" that meets every level-1 and level-2 criterion and
 * some of level 3: technology, governance, operations and business value
 * at level 2 (operations has no level-2 criterion; its level-3
 * availability is missed), skills unknown; overall 2, stage 2. */
static inline skpi_facts *at_platform(void) {
  skpi_facts *f = skpi_facts_new();
  if(!f)
    abort();
  at_put(f, SKPI_FACT_CLUSTER_REACHABLE, "prod", 1, "bool");
  at_put(f, SKPI_FACT_BROKERS, "prod", 2, "count");
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "prod", 6, "count");
  at_put(f, SKPI_FACT_ACTIVE_TEAMS, "prod", 2, "count");
  at_put(f, SKPI_FACT_NAMING_RATIO, "prod", 0.8, "ratio");
  at_put(f, SKPI_FACT_PROBE_RUNNING, "prod", 1, "bool");
  at_put(f, SKPI_FACT_AVAILABILITY, "prod", 0.995, "ratio");
  at_put(f, SKPI_FACT_PROBE_P99, "prod", 0.25, "seconds");
  at_put(f, SKPI_FACT_ONBOARDING_MEDIAN, "prod", 3 * AT_DAY, "seconds");
  at_put(f, SKPI_FACT_DLQ_COVERAGE, "prod", 0.6, "ratio");
  at_put(f, SKPI_FACT_SCHEMA_COVERAGE, "prod", 0.3, "ratio");
  at_put(f, SKPI_FACT_DURABLE_TOPICS, "prod", 0.85, "ratio");
  at_put(f, SKPI_FACT_CONNECTORS_RUNNING, NULL, 1, "count");
  at_put(f, SKPI_FACT_CLUSTERS, NULL, 1, "count");
  at_put(f, SKPI_FACT_INCIDENTS_TRACKED, NULL, 1, "bool");
  at_put(f, SKPI_FACT_SLOS_DEFINED, NULL, 2, "count");
  return f;
}

static inline skpi_assessment *at_run(const skpi_assess_cfg *cfg, const skpi_facts *f) {
  skpi_assess_cfg empty = {0};
  skpi_assessment *a = NULL;
  if(skpi_assess_run(cfg ? cfg : &empty, f, AT_NOW, &a) != SKPI_OK || !a)
    abort();
  return a;
}

/* Writes "<repository root>/<rel>" into out, the root being the directory
 * above build/san/unit/ in the binary's path argv0 (the working directory
 * when the path has none). */
static inline void at_repo_path(const char *argv0, const char *rel, char *out, size_t len) {
  const char *cut = argv0 ? strstr(argv0, "build/san/unit/") : NULL;
  snprintf(out, len, "%.*s%s", cut ? (int)(cut - argv0) : 0, cut ? argv0 : "", rel);
}

#endif
