/* dlq.h: dead-letter queues mapped to their source topics, with message
 * counters from watermark deltas and DLQ ratios over rolling windows.
 *
 * A pattern is a topic-name template holding "{src}" exactly once, e.g.
 * "{src}.dlq"; a topic matching it (with a non-empty {src}) is a DLQ whose
 * source is the {src} part.  The first matching pattern wins.  Defaults:
 * "{src}.dlq", "{src}-dlq", "dlq.{src}", "{src}.DLT", "{src}-dlt".
 *
 * Counting: per partition, messages written = high watermark now - high
 * watermark last seen.  A watermark that went down (topic re-created)
 * counts from 0 again (the new high is new messages); the counter never goes
 * backwards and the low watermark (retention) plays no part.  On the very
 * first observation of a fresh engine every topic is a baseline (nothing
 * counted).  Later, a new DLQ topic or a new partition counts its whole high
 * watermark (it was created after the previous observation), while a source
 * topic, tracked from when its first DLQ appears, starts as a baseline.  Restarts
 * continue from the persisted last-seen watermarks, so messages written
 * while down are counted once, when next seen.  Unknown watermarks (-1) are
 * skipped until known.
 *
 * Ratio over a window W: dlq / (dlq + source) messages counted in the last W
 * (per-minute buckets; the window may include up to one extra minute); no
 * series when both are 0.  Windows: 1h, 1d, 7d.
 *
 * Not thread-safe: the caller serialises calls.  Time is always passed in.
 */
#ifndef STREAMKPI_DLQ_H
#define STREAMKPI_DLQ_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

typedef struct skpi_dlq_cfg {
  const char *const *patterns; /* NULL: the defaults above */
  size_t npatterns;            /* at most SKPI_CONFIG_MAX_DLQ_PATTERNS */
  double forget_after_s;       /* drop topics unseen this long; default 7 days */
  size_t max_pipelines;        /* source topics with a DLQ tracked; default 500 */
} skpi_dlq_cfg;

typedef struct skpi_dlq skpi_dlq;

void skpi_dlq_cfg_default(skpi_dlq_cfg *cfg);

/* Creates an engine for cluster (copied); cfg may be NULL.  Patterns are
 * copied.  SKPI_EINVAL for a pattern without exactly one "{src}", longer
 * than 200 bytes, or out-of-range settings; SKPI_ENOMEM. */
skpi_err skpi_dlq_new(const char *cluster, const skpi_dlq_cfg *cfg, skpi_dlq **out);

void skpi_dlq_free(skpi_dlq *d);

/* Returns 1 and writes the source name (NUL-terminated) into src when topic
 * is a DLQ by the patterns, else 0 (also when src is too small). */
int skpi_dlq_match(const skpi_dlq *d, const char *topic, char *src, size_t srclen);

/* Counts the sample's watermark deltas at time now (see above). */
skpi_err skpi_dlq_observe(skpi_dlq *d, const skpi_ksample *s, double now);

/* Messages counted so far for a tracked topic (a DLQ or the source of one).
 * Returns 1 and sets *total, or 0 when topic is not tracked. */
int skpi_dlq_total(const skpi_dlq *d, const char *topic, double *total);

/* DLQ ratio of source over the window_s seconds ending at now.  Returns 1
 * and sets *ratio, or 0 when no pipeline exists or nothing was written. */
int skpi_dlq_ratio(const skpi_dlq *d, const char *source, double window_s, double now,
                   double *ratio);

/* Adds streamkpi_dlq_messages_total{cluster,topic,source_topic},
 * streamkpi_dlq_source_messages_total{cluster,topic},
 * streamkpi_dlq_ratio{cluster,source_topic,window} and
 * streamkpi_dlq_backlog_messages{cluster,topic} (the largest offset lag
 * of any group with commits on the DLQ in s; s may be NULL to skip it). */
skpi_err skpi_dlq_render(const skpi_dlq *d, const skpi_ksample *s, double now, skpi_mset *m);

/* Returns a new JSON document with counters, last-seen watermarks and
 * window buckets (caller decrefs), or NULL on OOM. */
json_t *skpi_dlq_save(const skpi_dlq *d);

/* Replaces the state with doc's.  Garbage: SKPI_EINVAL and the engine is
 * left empty (fresh); SKPI_ENOMEM likewise. */
skpi_err skpi_dlq_load(skpi_dlq *d, const json_t *doc);


/* For the KPI instance inst of this family: the cumulative messages counted
 * for source and for all of its DLQ topics in the newest sample.  Returns 1
 * and sets both, or 0 when source has no tracked pipeline. */
int skpi_dlq_kpi_totals(const void *inst, const char *source, double *dlq, double *src);

/* The KPI family (kpi.h): see the table in exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_dlq;

#endif
