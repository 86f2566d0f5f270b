/* replication.h: MirrorMaker 2 flows between the configured clusters and how
 * far each mirrored topic trails its source (stage 4, "global").
 *
 * An estate-wide family: it keeps the newest sample of every cluster and,
 * with two or more clusters, finds flows source -> target from names alone.
 * MM2 names things by cluster alias; the aliases must equal the streamkpi
 * cluster names for a flow to be matched.
 *   - A flow S -> T exists when S holds "mm2-offset-syncs.T.internal" (MM2
 *     writes offset syncs to the source by default), or T holds
 *     "S.heartbeats" or "S.checkpoints.internal".
 *   - Default replication policy: T's topic "S.<topic>" mirrors S's
 *     "<topic>".  Identity policy (no prefix): used for a flow only when T
 *     has no "S.<topic>" mirror; then every same-named topic of S and T is
 *     taken as mirrored.  Never mirrored: internal topics ("__*"), the
 *     probe topic, heartbeats, "*.checkpoints.internal" and "mm2-*".
 *
 * Replication lag in messages is an approximation read from watermarks
 * alone: per partition, source high watermark minus target high watermark
 * (never below 0), for topics with the same partition count on both sides
 * and every watermark known.  It equals the true lag when the mirror started
 * at the source's offset 0 with no record deleted before it was copied and
 * the source is not transactional (MM2 does not copy transaction markers);
 * otherwise it over-states the lag by that offset gap, steadily, so its
 * changes still track the mirror.
 *
 * Latency and checkpoint age are read from watermark movement as well: MM2
 * writes a heartbeat to the source every emit.heartbeats.interval (1 s by
 * default) and copies it to the target's "<source>.heartbeats"; the seconds
 * since that topic's watermark sum last grew (between two samples in which
 * it was known) bound the age of the newest replicated heartbeat from above,
 * within one sample interval plus one heartbeat interval.  The same on
 * "<source>.checkpoints.internal" gives the age of the newest checkpoint
 * (consumer offset translation), which MM2 writes only for groups whose
 * offsets it syncs.  Both are absent until a growth was seen.  The exact lag
 * through offset syncs needs those records read, which this family does
 * not do.
 *
 * Metric families (labels source, target):
 *   streamkpi_replication_flow_info{source,target,policy}    1 per flow
 *   streamkpi_replication_topics{source,target}              mirrored topics
 *   streamkpi_replication_lag_messages{source,target,topic}  see above
 *   streamkpi_replication_flow_lag_messages{source,target}   sum over its topics
 *   streamkpi_replication_lag_unknown_topics{source,target}  topics without a lag
 *   streamkpi_replication_heartbeat_age_seconds{source,target}
 *   streamkpi_replication_checkpoint_age_seconds{source,target}
 * Fact: replication_flows (organisation).  Nothing is persisted.
 */
#ifndef STREAMKPI_REPLICATION_H
#define STREAMKPI_REPLICATION_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

enum skpi_repl_policy { SKPI_REPL_DEFAULT = 0, SKPI_REPL_IDENTITY };

typedef struct skpi_repl skpi_repl;

/* Creates a tracker for n clusters named names[0..n) (copied) and a probe
 * topic (copied, may be NULL) never taken as mirrored.  SKPI_ENOMEM. */
skpi_err skpi_repl_new(const char *const *names, size_t n, const char *probe_topic,
                       skpi_repl **out);

void skpi_repl_free(skpi_repl *r);

/* Keeps s (a reference is taken) as the newest sample of cluster idx;
 * samples without topics (failed metadata) and idx out of range are
 * ignored. */
void skpi_repl_observe(skpi_repl *r, size_t idx, const skpi_ksample *s);

/* Flows found in the newest samples: returns 1 and sets *flows, or 0 when
 * fewer than two clusters are configured or some cluster has no sample
 * yet (the count is unknown). */
int skpi_repl_count(const skpi_repl *r, size_t *flows);

/* The lag of topic (the source's name) on flow source -> target: returns 1
 * and sets *lag, or 0 when there is no such mirrored topic or its lag is
 * unknown. */
int skpi_repl_lag(const skpi_repl *r, const char *source, const char *target, const char *topic,
                  int64_t *lag);

/* Seconds at now since the target's "<source>.heartbeats" last grew
 * (clusters by index): returns 1 and sets *age, or 0 before a growth was
 * seen. */
int skpi_repl_heartbeat_age(const skpi_repl *r, size_t source, size_t target, double now,
                            double *age);

/* Adds the families above at now. */
skpi_err skpi_repl_render(const skpi_repl *r, double now, skpi_mset *m);

/* The KPI family (kpi.h), estate-wide: see exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_replication;

#endif
