/* timelag.h: consumer lag in seconds, estimated from a per-partition history
 * of (high watermark, time) points.
 *
 * The time lag of a committed offset c is now - t(c), where t(c) is when the
 * high watermark reached c.  t(c) is interpolated linearly between the two
 * history points that bracket c; a commit at or above the newest watermark
 * has lag 0; a commit older than the whole history is extrapolated from the
 * history's mean rate, at most max_extrapolate_s before its oldest point,
 * unless the timestamp of the committed message itself was read from the
 * broker (skpi_timelag_add_times): then t(c) is that timestamp.  Which way a
 * value was found is its method (skpi_timelag_method).
 * The result is never NaN and never negative.
 *
 * Each partition keeps at most `points` points.  A watermark that does not
 * move is kept as two points (first and last time seen at that value), so
 * idle partitions cost two points.  When a ring is full, the point whose
 * removal leaves the smallest gap relative to its age goes, so spacing grows
 * with age (logarithmic thinning) and a ring of 32 covers hours to days.
 * The oldest and newest points are never thinned.  A watermark that goes
 * down (topic re-created, partition truncated) restarts the history.
 *
 * Memory: 16 bytes per point plus about 40 per partition and 64 per topic;
 * 100k partitions with full 32-point rings use about 56 MB
 * (skpi_timelag_bytes reports the exact figure).
 *
 * Not thread-safe: the caller serialises calls.  Time is always passed in.
 */
#ifndef STREAMKPI_TIMELAG_H
#define STREAMKPI_TIMELAG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"
#include "streamkpi/events.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

typedef struct skpi_timelag_cfg {
  int points;               /* per partition, 4..256; default 32 */
  double max_extrapolate_s; /* bound before the oldest point; default 86400 */
  double forget_after_s;    /* drop topics unseen this long; default 3600 */
  size_t max_partitions;    /* total tracked; default 200000 */
} skpi_timelag_cfg;

/* One history point: the high watermark off was seen at unix time t. */
typedef struct skpi_tlpoint {
  int64_t off;
  double t;
} skpi_tlpoint;

typedef struct skpi_timelag skpi_timelag;

/* Fills cfg with the defaults above. */
void skpi_timelag_cfg_default(skpi_timelag_cfg *cfg);

/* Creates an empty engine for the cluster named cluster (copied).  cfg may be
 * NULL for defaults.  SKPI_EINVAL for out-of-range settings, SKPI_ENOMEM. */
skpi_err skpi_timelag_new(const char *cluster, const skpi_timelag_cfg *cfg, skpi_timelag **out);

/* Frees the engine; NULL is ignored. */
void skpi_timelag_free(skpi_timelag *tl);

/* Adds the sample's known high watermarks (>= 0) at time now.  Internal
 * topics are skipped.  Partitions beyond max_partitions are not tracked.
 * Returns SKPI_ENOMEM on allocation failure (the engine stays consistent). */
skpi_err skpi_timelag_observe(skpi_timelag *tl, const skpi_ksample *s, double now);

/* Estimates the time lag of committed on topic/partition at now.  Returns 1
 * and sets *lag_s (finite, >= 0) when the partition has history, else 0. */
int skpi_timelag_estimate(const skpi_timelag *tl, const char *topic, int32_t partition,
                          int64_t committed, double now, double *lag_s);

/* The estimate over an explicit history (n points, offsets non-decreasing,
 * times increasing): the pure function behind skpi_timelag_estimate.
 * Returns 1 and sets *lag_s, or 0 when n is 0 or committed < 0. */
int skpi_timelag_interp(const skpi_tlpoint *pts, size_t n, int64_t committed, double now,
                        double max_extrapolate_s, double *lag_s);

/* How an estimate was found. */
enum skpi_timelag_method {
  SKPI_TL_CURRENT = 0,  /* commit at or above the newest watermark: lag 0 */
  SKPI_TL_INTERPOLATED, /* between two history points */
  SKPI_TL_EXTRAPOLATED, /* older than the history, no message timestamp */
  SKPI_TL_EXACT,        /* older than the history: the message's timestamp */
  SKPI_TL_NEXT,         /* likewise, the next message's (the offset is gone) */
};

/* "current", "interpolated", "extrapolated", "exact" or "next". */
const char *skpi_timelag_method_name(enum skpi_timelag_method m);

/* skpi_timelag_estimate, also telling how (how may be NULL). */
int skpi_timelag_estimate_how(const skpi_timelag *tl, const char *topic, int32_t partition,
                              int64_t committed, double now, double *lag_s,
                              enum skpi_timelag_method *how);

/* Remembers the message timestamps read for committed offsets (the items
 * are copied).  At most max_partitions are kept; past that, and for a
 * malformed item (no topic, negative offset, timestamp not finite), the item
 * is skipped and SKPI_ETOOBIG or SKPI_EINVAL returned after the others are
 * taken.  SKPI_ENOMEM leaves the engine consistent. */
skpi_err skpi_timelag_add_times(skpi_timelag *tl, const skpi_msgtime *items, size_t n);

/* Forgets the timestamps of offsets no commit of s points at any more. */
void skpi_timelag_keep_times(skpi_timelag *tl, const skpi_ksample *s);

/* Message timestamps received so far, and how many of them came from the
 * next message because the committed one was gone. */
void skpi_timelag_time_counts(const skpi_timelag *tl, uint64_t *reads, uint64_t *fallbacks);

/* Returns a new JSON array (caller decrefs; NULL on OOM) with one object per
 * commit of s that has an estimate: {"group","topic","partition","offset",
 * "lag_seconds","method"}. */
json_t *skpi_timelag_json(const skpi_timelag *tl, const skpi_ksample *s, double now);

/* Largest time lag over the commits of group g (which belongs to s).
 * Returns 1 and sets *max_s, or 0 when no commit has history. */
int skpi_timelag_group_max(const skpi_timelag *tl, const skpi_ksample *s, const skpi_kgroup *g,
                           double now, double *max_s);

/* Adds kafka_consumergroup_lag_seconds{cluster,consumergroup,topic,partition}
 * and kafka_consumergroup_lag_seconds_max{cluster,consumergroup} for the
 * commits of s to m, and the counters
 * streamkpi_kafka_message_time_reads_total{cluster} and
 * streamkpi_kafka_message_time_fallbacks_total{cluster} (present from the
 * start).  Errors come from the metric set. */
skpi_err skpi_timelag_render(const skpi_timelag *tl, const skpi_ksample *s, double now,
                             skpi_mset *m);

/* Number of partitions tracked, and bytes allocated for them. */
size_t skpi_timelag_partitions(const skpi_timelag *tl);
size_t skpi_timelag_bytes(const skpi_timelag *tl);

/* Returns a new JSON document holding the histories (caller decrefs), or
 * NULL on OOM.  Format: {"version":2,"topics":[{"name":..,"last_seen":..,
 * "parts":"id off t off t ...\nid off t ..."},...]}: one string per topic,
 * a line per partition (few JSON nodes whatever the history's length). */
json_t *skpi_timelag_save(const skpi_timelag *tl);

/* Replaces the engine's histories with doc's, in the format above or the
 * earlier version 1 ("parts":[[id,off,t,off,t,...],...]).  On garbage returns
 * SKPI_EINVAL and leaves the engine empty; SKPI_ENOMEM likewise.  Histories
 * longer than the configured ring keep their newest points. */
skpi_err skpi_timelag_load(skpi_timelag *tl, const json_t *doc);

/* For the KPI instance inst of this family: the largest time lag of group in
 * the newest sample (see skpi_timelag_group_max).  0 when unknown. */
int skpi_timelag_kpi_group_max(const void *inst, const char *group, double now, double *max_s);

/* The engine inside the KPI instance inst of this family (NULL for NULL). */
const skpi_timelag *skpi_timelag_kpi_engine(const void *inst);

/* For the KPI instance inst of this family: skpi_timelag_json over the
 * newest sample, or an empty array before the first one.  NULL on OOM. */
json_t *skpi_timelag_kpi_json(const void *inst, double now);

/* The KPI family (kpi.h): see the table in exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_timelag;

#endif
