/* availability.h: observed time, downtime and availability ratios of one
 * cluster over rolling windows (1h, 1d, 7d, 30d).
 *
 * The caller reports each sampled interval [t_start, t_end) with whether the
 * cluster was healthy and whether a maintenance window was active.  Time the
 * exporter did not observe counts as neither up nor down; maintenance counts
 * apart and is excluded from both.  Intervals are clipped so they never
 * overlap or go backwards: after a restart, the gap between the last
 * persisted observation and the first new one stays unobserved.
 *
 * Metrics (skpi_avail_render):
 *   streamkpi_observed_seconds_total{cluster}
 *   streamkpi_downtime_seconds_total{cluster}
 *   streamkpi_maintenance_seconds_total{cluster}
 *   streamkpi_healthy{cluster}                        (once known)
 *   streamkpi_availability_ratio{cluster,window}      (1 - down/observed;
 *                                                      absent when observed is 0)
 *   streamkpi_observed_ratio{cluster,window}          (observed / window length)
 *
 * Plain data structure: not thread-safe, the caller locks.  Time is always an
 * argument (unix seconds).
 */
#ifndef STREAMKPI_AVAILABILITY_H
#define STREAMKPI_AVAILABILITY_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"

/* A planned maintenance window [start, end); cluster NULL means every
 * cluster. */
typedef struct skpi_maint {
  double start;
  double end;
  const char *cluster;
} skpi_maint;

/* Returns 1 when t falls in a window of list that applies to cluster. */
int skpi_maint_active(const skpi_maint *list, size_t n, const char *cluster, double t);

/* The rolling windows, in rendering order. */
#define SKPI_AVAIL_NWINDOWS 4
extern const char *const skpi_avail_window_names[SKPI_AVAIL_NWINDOWS]; /* "1h".."30d" */
extern const double skpi_avail_window_seconds[SKPI_AVAIL_NWINDOWS];

/* Longest interval one observation may cover (the ring's span). */
#define SKPI_AVAIL_MAX_INTERVAL (31.0 * 86400.0)

typedef struct skpi_avail skpi_avail;

/* Returns a new engine for cluster (copied), or NULL on OOM or an empty
 * name.  Free with skpi_avail_free. */
skpi_avail *skpi_avail_new(const char *cluster);
void skpi_avail_free(skpi_avail *a);

/* Records [t_start, t_end).  The part before the end of the previous
 * observation is dropped (an interval entirely before it changes nothing and
 * returns SKPI_OK).  SKPI_EINVAL when a time is not finite or negative,
 * t_end <= t_start, or the interval is longer than SKPI_AVAIL_MAX_INTERVAL;
 * nothing changes then. */
skpi_err skpi_avail_observe(skpi_avail *a, double t_start, double t_end, int healthy,
                            int in_maintenance);

/* Totals since the engine's state began (they survive save/load). */
typedef struct skpi_avail_totals {
  double observed_s;
  double down_s;
  double maintenance_s;
  double last_end; /* end of the newest observation, 0 when none */
  int healthy;     /* -1 unknown, else 0/1 of the newest observation */
} skpi_avail_totals;
void skpi_avail_totals_get(const skpi_avail *a, skpi_avail_totals *out);

/* Observed and down seconds in the window of length len_s ending at now.
 * The window starts at the first minute boundary at or after now - len_s
 * (minute resolution; see windows.h). */
void skpi_avail_window(const skpi_avail *a, double now, double len_s, double *observed,
                       double *down);

/* Adds this cluster's series to m.  Errors from expo.h. */
skpi_err skpi_avail_render(const skpi_avail *a, double now, skpi_mset *m);

/* Returns a new JSON document with everything the metrics need after a
 * restart (totals, last end, per-minute buckets), or NULL on OOM. */
json_t *skpi_avail_save(const skpi_avail *a);

/* Replaces a's state with doc.  SKPI_ESTATE (message in errbuf, may be NULL)
 * when doc is malformed or belongs to another cluster; a is unchanged then. */
skpi_err skpi_avail_load(skpi_avail *a, const json_t *doc, char *errbuf, size_t errlen);


/* The KPI family (kpi.h): see the table in exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_availability;

#endif
