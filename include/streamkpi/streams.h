/* streams.h: active streams and the teams that own them (level 1-2 KPIs).
 *
 * A stream is active when, within the last window_s seconds, its
 * watermarks moved (traffic) and some consumer group had committed offsets
 * on it (a consumer); internal topics (`__*`) never count.  Movement is
 * the sum of the high watermarks changing between two samples in which all
 * of the topic's partitions were known; a topic's first sample only sets
 * the reference.  A sample without topics is taken as failed metadata and
 * ignored, and group commits count only from samples with groups_ok.
 *
 * The owning team of a topic comes from the catalog (exact topic name)
 * when listed there, else from the first capture group of team_regex
 * (POSIX ERE, default `^([A-Za-z0-9]+)[._-]`); topics matching neither have
 * no team and count for no team.  Topics unseen for forget_after_s are
 * dropped.  Movement and consumer times persist (save/load).
 *
 * Not thread-safe: the caller serialises calls.  Time is always passed in.
 */
#ifndef STREAMKPI_STREAMS_H
#define STREAMKPI_STREAMS_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

typedef struct skpi_streams_owner {
  const char *topic;
  const char *team;
} skpi_streams_owner;

typedef struct skpi_streams_cfg {
  double window_s;                   /* default 86400 */
  const char *team_regex;            /* NULL: the default; "" disables */
  const skpi_streams_owner *catalog; /* copied; may be NULL */
  size_t ncatalog;
  double forget_after_s; /* default 3600 */
  size_t max_topics;     /* default 100000 */
} skpi_streams_cfg;

typedef struct skpi_streams skpi_streams;

void skpi_streams_cfg_default(skpi_streams_cfg *cfg);

/* Creates an engine for cluster (copied).  SKPI_EINVAL for a regex that
 * does not compile or has no capture group, an empty catalog entry or
 * out-of-range settings (errbuf, which may be NULL, says which); ENOMEM. */
skpi_err skpi_streams_new(const char *cluster, const skpi_streams_cfg *cfg, skpi_streams **out,
                          char *errbuf, size_t errlen);

void skpi_streams_free(skpi_streams *st);

/* Records the sample's watermark movement and consumers at now. */
skpi_err skpi_streams_observe(skpi_streams *st, const skpi_ksample *s, double now);

/* Writes topic's team into team and returns 1, or returns 0 when it has
 * none (or team is too small). */
int skpi_streams_team(const skpi_streams *st, const char *topic, char *team, size_t len);

/* Active streams and distinct teams owning them at now. */
void skpi_streams_counts(const skpi_streams *st, double now, size_t *active, size_t *teams);

/* Adds streamkpi_active_streams{cluster}, streamkpi_active_teams{cluster},
 * streamkpi_stream_active{cluster,topic,team} (1, active streams only) and
 * streamkpi_topic_naming_conformance_ratio{cluster} (share of the tracked
 * topics that match team_regex; no series without topics or regex). */
skpi_err skpi_streams_render(const skpi_streams *st, double now, skpi_mset *m);

/* Returns a new JSON document with per-topic times (caller decrefs), or
 * NULL on OOM. */
json_t *skpi_streams_save(const skpi_streams *st);

/* Replaces the state with doc's.  Garbage: SKPI_EINVAL, the engine empty. */
skpi_err skpi_streams_load(skpi_streams *st, const json_t *doc);


/* Share of the tracked topics that match team_regex.  Returns 1 and sets
 * *out, or 0 without topics or regex. */
int skpi_streams_naming_ratio(const skpi_streams *st, double *out);

/* The KPI family (kpi.h): see the table in exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_streams;

#endif
