/* slo.h: one service-level objective over per-minute good/total buckets.
 *
 * Generic on purpose: the caller decides what an event is (one probe = one
 * event; one sample interval per group, bad when its time lag exceeds a
 * threshold; DLQ or application counter deltas) and records good/total
 * counts with skpi_slo_record.  While the caller marks the SLO excluded
 * (a maintenance window), records are dropped and counted apart.
 *
 * Over the window (rolling, at most 31 days, or the current calendar month
 * in UTC) the engine reports:
 *   attainment        = good / total (no series when total is 0)
 *   error budget left = 1 - bad / ((1 - objective) * total); 1 with no
 *                       events.  Not clamped: a negative value says by how
 *                       many budgets the SLO is overspent.
 *   burn rate (w)     = (bad_w / total_w) / (1 - objective) over the last
 *                       1h and 6h; 0 with no events.
 * Sums include every minute overlapping the window, so a rolling window may
 * hold up to one minute more than its length.  Event counters (total and
 * bad) are monotonic and persisted, for Prometheus burn-rate rules.
 *
 * Not thread-safe: the caller serialises calls.  Time is always passed in.
 */
#ifndef STREAMKPI_SLO_H
#define STREAMKPI_SLO_H

#include <jansson.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"

enum skpi_slo_window { SKPI_SLO_ROLLING = 0, SKPI_SLO_CALENDAR_MONTH };

typedef struct skpi_slo_cfg {
  const char *name;          /* label value, copied; 1..128 bytes */
  double objective;          /* 0 < objective < 1, e.g. 0.999 */
  enum skpi_slo_window kind; /* rolling or calendar month */
  double window_s;           /* rolling only: 60 .. 31 days (28d, 30d usual) */
} skpi_slo_cfg;

/* What the SLO looks like at one instant. */
typedef struct skpi_slo_status {
  double window_s;         /* rolling length, or the current month's length */
  double good, total;      /* events in the window */
  double attainment;       /* NAN when total is 0 */
  double budget_remaining; /* see above */
  double burn_1h, burn_6h;
  double events_total, bad_events_total; /* counters since the state began */
  double excluded_total;                 /* events dropped while excluded */
} skpi_slo_status;

typedef struct skpi_slo skpi_slo;

/* Creates an SLO.  SKPI_EINVAL for a bad name, objective or window;
 * SKPI_ENOMEM. */
skpi_err skpi_slo_new(const skpi_slo_cfg *cfg, skpi_slo **out);

void skpi_slo_free(skpi_slo *s);

/* Records good of total events at time t (unix seconds).  SKPI_EINVAL when
 * a value is negative or not finite, good > total, or t is older than the
 * 31 days kept (nothing is recorded then).  While excluded, the events are
 * only added to excluded_total. */
skpi_err skpi_slo_record(skpi_slo *s, double t, double good, double total);

/* Marks the SLO as inside (non-zero) or outside (0) a maintenance window. */
void skpi_slo_set_excluded(skpi_slo *s, int excluded);

/* Computes the status at now. */
void skpi_slo_status_at(const skpi_slo *s, double now, skpi_slo_status *st);

/* Length in seconds of the UTC calendar month containing t, and its start;
 * 0 when t is not a valid time. */
double skpi_slo_month_start(double t);
double skpi_slo_month_length(double t);

/* Adds streamkpi_slo_objective_ratio, streamkpi_slo_window_seconds,
 * streamkpi_slo_events_total, streamkpi_slo_bad_events_total,
 * streamkpi_slo_attainment_ratio (when there are events),
 * streamkpi_slo_error_budget_remaining_ratio and
 * streamkpi_slo_burn_rate{window="1h"|"6h"}, all labelled slo=<name>. */
skpi_err skpi_slo_render(const skpi_slo *s, double now, skpi_mset *m);

/* Returns a new JSON document with counters and buckets (caller decrefs),
 * or NULL on OOM. */
json_t *skpi_slo_save(const skpi_slo *s);

/* Replaces the state with doc's.  Garbage: SKPI_EINVAL and the SLO is left
 * empty (no events, counters 0). */
skpi_err skpi_slo_load(skpi_slo *s, const json_t *doc);


/* The KPI family (kpi.h): see the table in exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_slo;

#endif
