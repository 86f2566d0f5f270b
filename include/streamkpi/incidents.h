/* incidents.h: incidents from health state (debounced) and from
 * Alertmanager, with MTTR over rolling windows.
 *
 * Health incidents: per cluster, an incident opens after open_after
 * consecutive unhealthy intervals (its start is the first of them) and is
 * resolved after resolve_after consecutive healthy ones (its end is the
 * first healthy interval's start).  Its cause is the highest-priority cause
 * seen while it was pending or open.  Maintenance intervals are skipped:
 * they neither advance nor break a streak.  Unobserved gaps do not break a
 * streak either.
 *
 * Alertmanager incidents are keyed by fingerprint: firing opens one (start =
 * startsAt), resolved closes it (end = endsAt, or now when unset); repeats
 * are idempotent; a resolve for a fingerprint never seen is counted and
 * ignored.  Their cause is the alertname; labels alertname, severity and
 * cluster are kept ("unknown" cluster when absent, "other" for a cluster
 * that was not declared while any is).  An alert is refused when its
 * fingerprint is empty, a kept label is empty or longer than
 * SKPI_INC_MAX_STR, or a time is before 2000 or more than a day ahead; the
 * loader applies the same rule to every saved alert incident and drops (and
 * counts) the ones it refuses, one by one.  Alertmanager incidents hold at
 * most nine tenths of max_kept open.
 *
 * All open incidents plus resolved ones that ended within 31 days are kept,
 * at most max_kept (oldest resolved dropped first; when every kept incident
 * is open a new one is refused and counted).
 *
 * Metrics (skpi_inc_render):
 *   streamkpi_incidents_opened_total{cluster,source}
 *   streamkpi_incidents_resolved_total{cluster,source}
 *   streamkpi_incidents_open{cluster,source}
 *   streamkpi_incident_recovery_seconds{cluster,source}  (histogram)
 *   streamkpi_mttr_seconds{cluster,window}   (1h,1d,7d,30d; absent when no
 *                                             incident was resolved in it)
 *   streamkpi_incident_oldest_open_start_timestamp_seconds{cluster}
 *   streamkpi_alertmanager_unknown_resolved_total
 *   streamkpi_incidents_dropped_total
 *   streamkpi_incidents_state_dropped_total
 * source is "health" or "alertmanager".
 *
 * Plain data structure: not thread-safe, the caller locks.  Time is always an
 * argument (unix seconds).
 */
#ifndef STREAMKPI_INCIDENTS_H
#define STREAMKPI_INCIDENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/health.h"

/* Longest string kept for a cluster, fingerprint or label value. */
#define SKPI_INC_MAX_STR 256
/* Default cap on kept incidents. */
#define SKPI_INC_DEFAULT_MAX 10000

typedef struct skpi_incidents skpi_incidents;

/* Returns a new engine, or NULL when open_after or resolve_after is 0,
 * max_kept is 0, or memory ran out. */
skpi_incidents *skpi_inc_new(unsigned open_after, unsigned resolve_after, size_t max_kept);
void skpi_inc_free(skpi_incidents *inc);

/* Declares a cluster whose counters (opened, resolved, open, recovery
 * histogram, per source) are rendered at 0 before its first incident.
 * Declarations survive skpi_inc_load.  SKPI_EINVAL for an empty or too long
 * name, SKPI_ETOOBIG past the series cap, SKPI_ENOMEM. */
skpi_err skpi_inc_declare(skpi_incidents *inc, const char *cluster);

/* Feeds one sampled interval [t_start, t_end) of cluster: cause NONE is a
 * healthy interval.  SKPI_EINVAL on bad times, an empty or too long cluster
 * name; SKPI_ENOMEM.  Nothing changes on error. */
skpi_err skpi_inc_health(skpi_incidents *inc, const char *cluster, double t_start, double t_end,
                         enum skpi_cause cause, int in_maintenance);

/* One alert of an Alertmanager webhook.  Strings are borrowed; NULL
 * alertname/severity/cluster mean absent.  starts_at/ends_at are unix
 * seconds, 0 when unset. */
typedef struct skpi_inc_alert {
  int firing;
  const char *fingerprint;
  const char *alertname;
  const char *severity;
  const char *cluster;
  double starts_at;
  double ends_at;
} skpi_inc_alert;

/* Returns why a is refused at now (a static sentence), or NULL when it is
 * acceptable (see the top of this file). */
const char *skpi_inc_alert_check(const skpi_inc_alert *a, double now);

/* Applies one alert (see the top of this file).  SKPI_EINVAL when
 * skpi_inc_alert_check refuses it, SKPI_ETOOBIG when it would open an
 * incident past the cap or the quota (counted as dropped), SKPI_ENOMEM.
 * Nothing changes on error. */
skpi_err skpi_inc_alert_apply(skpi_incidents *inc, const skpi_inc_alert *a, double now);

/* Applies alerts[0..n) all or none: SKPI_EINVAL (nothing applied) when any
 * is refused, else the first error of skpi_inc_alert_apply, after undoing
 * the ones before it.  errbuf (may be NULL) names the alert and the reason. */
skpi_err skpi_inc_alerts_apply(skpi_incidents *inc, const skpi_inc_alert *alerts, size_t n,
                               double now, char *errbuf, size_t errlen);

/* Drops resolved incidents that ended more than 31 days before now. */
void skpi_inc_prune(skpi_incidents *inc, double now);

/* A read-only view of one kept incident (pointers valid until the next
 * change). */
typedef struct skpi_inc_info {
  uint64_t id;
  const char *cluster;
  const char *source; /* "health" | "alertmanager" */
  const char *cause;
  const char *fingerprint; /* NULL for health incidents */
  double start;
  double end; /* 0 while open */
  int open;
} skpi_inc_info;

/* Number of kept incidents, and the i-th in the order they were opened. */
size_t skpi_inc_count(const skpi_incidents *inc);
int skpi_inc_get(const skpi_incidents *inc, size_t i, skpi_inc_info *out);

/* Mean recovery time of cluster's incidents (all sources) that ended in
 * (now - len_s, now]; *n gets their number (0: the result is 0). */
double skpi_inc_mttr(const skpi_incidents *inc, const char *cluster, double now, double len_s,
                     size_t *n);

/* Resolves seen for unknown fingerprints, and incidents refused at the cap. */
unsigned long skpi_inc_unknown_resolved(const skpi_incidents *inc);
unsigned long skpi_inc_dropped(const skpi_incidents *inc);
/* Saved incidents the loader refused one by one, since creation. */
unsigned long skpi_inc_load_dropped(const skpi_incidents *inc);

/* Adds the metrics above to m. */
skpi_err skpi_inc_render(const skpi_incidents *inc, double now, skpi_mset *m);

/* Returns the listing for GET /api/v1/incidents, newest start first:
 *   {"incidents":[{"id","cluster","source","cause","fingerprint","labels",
 *     "start","start_unix","end","end_unix","duration_seconds","open"}]}
 * Times are RFC 3339 UTC; end/end_unix are null while open and
 * duration_seconds runs to now.  NULL on OOM.  Caller decrefs. */
json_t *skpi_inc_list_json(const skpi_incidents *inc, double now);

/* State for state.c: everything above, counters included.  NULL on OOM. */
json_t *skpi_inc_save(const skpi_incidents *inc);

/* Replaces inc's state with doc.  A refused incident entry is dropped and
 * counted (skpi_inc_load_dropped); SKPI_ESTATE (message in errbuf, may be
 * NULL) when the rest of the section is malformed; inc is unchanged then. */
skpi_err skpi_inc_load(skpi_incidents *inc, const json_t *doc, char *errbuf, size_t errlen);

/* The KPI family (kpi.h): see the table in exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_incidents;

#endif
