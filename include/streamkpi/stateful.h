/* stateful.h: stateful stream processing seen in a cluster's topics and
 * consumer groups (a level 4 KPI).
 *
 * Kafka Streams names its internal topics "<application.id>-<name>-changelog"
 * (state store backups) and "<application.id>-<name>-repartition", and its
 * consumer group is the application id; ksqlDB runs each persistent query as
 * a Streams application whose id starts with "_confluent-ksql-".  A state
 * topic belongs to the consumer group whose id is its longest prefix ending
 * at a '-'; an application is a group with at least one state topic, of kind
 * "ksqldb" when its id starts with "_confluent-ksql-", else "kafka_streams".
 * State topics of no known group (an application whose group expired) are
 * counted apart.  An application's lag is the sum over its group's committed
 * partitions of high watermark minus committed offset (never below 0),
 * unknown when no committed partition has a known watermark.
 *
 * Metric families (per cluster, from the newest sample with a group listing):
 *   streamkpi_stateful_apps{cluster,kind}
 *   streamkpi_stateful_app_state_topics{cluster,app,kind,type}  type: changelog|repartition
 *   streamkpi_stateful_app_lag_messages{cluster,app,kind}
 *   streamkpi_stateful_orphan_state_topics{cluster}
 * Fact: stateful_apps (per cluster).  Nothing is persisted.
 */
#ifndef STREAMKPI_STATEFUL_H
#define STREAMKPI_STATEFUL_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

#define SKPI_STATEFUL_KSQL_PREFIX "_confluent-ksql-"

enum skpi_stateful_kind { SKPI_STATEFUL_STREAMS = 0, SKPI_STATEFUL_KSQLDB, SKPI_STATEFUL_KINDS };

typedef struct skpi_stateful_app {
  char *app;
  enum skpi_stateful_kind kind;
  size_t changelogs, repartitions;
  int64_t lag; /* -1 unknown */
} skpi_stateful_app;

typedef struct skpi_stateful {
  skpi_stateful_app *apps; /* sorted by app */
  size_t napps;
  size_t orphans; /* state topics of no known group */
} skpi_stateful;

/* Detects the applications of sample s into out (emptied first; the caller
 * owns it and clears it with skpi_stateful_clear).  A sample without a group
 * listing: SKPI_EINVAL with out empty.  SKPI_ENOMEM leaves out empty. */
skpi_err skpi_stateful_detect(const skpi_ksample *s, skpi_stateful *out);

void skpi_stateful_clear(skpi_stateful *st);

/* "kafka_streams" or "ksqldb". */
const char *skpi_stateful_kind_name(enum skpi_stateful_kind k);

/* Adds the families above for cluster. */
skpi_err skpi_stateful_render(const skpi_stateful *st, const char *cluster, skpi_mset *m);

/* The KPI family (kpi.h), per cluster: see exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_stateful;

#endif
