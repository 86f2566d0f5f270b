/* utilisation.h: connection utilisation (a level 3-4 KPI): how much of the
 * possible parallelism consumer groups and Kafka Connect connectors use.
 *
 * Two KPI families:
 *   "utilisation" (per cluster), from the newest sample with a group
 *     listing, for every described group with members whose assignments
 *     are known:
 *       streamkpi_consumer_members_active{cluster,consumergroup}
 *         members holding at least one partition;
 *       streamkpi_consumer_members_idle{cluster,consumergroup}
 *         members holding none (more members than partitions, or a
 *         rebalance in progress);
 *       streamkpi_consumer_assigned_partitions{cluster,consumergroup};
 *       streamkpi_consumer_parallelism_ratio{cluster,consumergroup}
 *         active members / assigned partitions: 1 when every partition has
 *         its own consumer, lower when consumers serve several partitions
 *         (absent with no assigned partition).
 *     Facts: consumer_parallelism_ratio (sum of active members over sum of
 *     assigned partitions) and consumer_idle_members.
 *   "connect_tasks" (one instance), from the Connect targets:
 *       streamkpi_connect_tasks_running_ratio  RUNNING tasks / tasks;
 *     fact connect_tasks_running_ratio.  Per connector, the targets publish
 *     streamkpi_connect_connector_tasks{,_running} themselves.
 * Nothing is persisted.
 */
#ifndef STREAMKPI_UTILISATION_H
#define STREAMKPI_UTILISATION_H

#include <stddef.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

/* Totals over the groups of a sample that have members and known
 * assignments. */
typedef struct skpi_util_totals {
  size_t groups;
  size_t members, active, assigned;
} skpi_util_totals;

/* Sums sample s's groups into *t (zeroed first). */
void skpi_util_totals_of(const skpi_ksample *s, skpi_util_totals *t);

/* Adds the per-group families above for the groups of s. */
skpi_err skpi_util_render(const skpi_ksample *s, skpi_mset *m);

/* The KPI families (kpi.h): see exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_utilisation;
extern const struct skpi_kpi_ops skpi_kpi_connect_tasks;

#endif
