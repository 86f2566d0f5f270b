/* availability.c: observed time, downtime and rolling availability. */
#include "streamkpi/availability.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/state.h"
#include "streamkpi/windows.h"

const char *const skpi_avail_window_names[SKPI_AVAIL_NWINDOWS] = {"1h", "1d", "7d", "30d"};
const double skpi_avail_window_seconds[SKPI_AVAIL_NWINDOWS] = {3600.0, 86400.0, 7 * 86400.0,
                                                               30 * 86400.0};

enum { SLOT_OBSERVED = 0, SLOT_DOWN, NSLOTS };

/* Times beyond this are garbage (year ~33,000). */
#define MAX_TIME 1e12

struct skpi_avail {
  char *cluster;
  double observed, down, maint;
  double last_end;
  int healthy;
  skpi_win *win;
};

int skpi_maint_active(const skpi_maint *list, size_t n, const char *cluster, double t) {
  for(size_t i = 0; i < n; i++) {
    if(list[i].cluster && (!cluster || strcmp(list[i].cluster, cluster) != 0))
      continue;
    if(t >= list[i].start && t < list[i].end)
      return 1;
  }
  return 0;
}

skpi_avail *skpi_avail_new(const char *cluster) {
  if(!cluster || !*cluster)
    return NULL;
  skpi_avail *a = calloc(1, sizeof(*a));
  if(!a)
    return NULL;
  a->healthy = -1;
  a->cluster = strdup(cluster);
  a->win = skpi_win_new(NSLOTS, SKPI_WIN_MINUTES_31D);
  if(!a->cluster || !a->win) {
    skpi_avail_free(a);
    return NULL;
  }
  return a;
}

void skpi_avail_free(skpi_avail *a) {
  if(!a)
    return;
  skpi_win_free(a->win);
  free(a->cluster);
  free(a);
}

static int bad_time(double t) { return !isfinite(t) || t < 0 || t > MAX_TIME; }

/* Spreads [t0, t1) over the minutes it touches so window edges are exact to
 * the minute. */
static void add_spread(skpi_win *w, double t0, double t1, size_t slot) {
  while(t0 < t1) {
    double next = (floor(t0 / 60.0) + 1.0) * 60.0;
    double e = next < t1 ? next : t1;
    /* Cannot fail: times are validated and newer than anything in the ring
     * except the current minute. */
    (void)skpi_win_add(w, t0, slot, e - t0);
    t0 = e;
  }
}

skpi_err skpi_avail_observe(skpi_avail *a, double t_start, double t_end, int healthy,
                            int in_maintenance) {
  if(bad_time(t_start) || bad_time(t_end) || t_end <= t_start ||
     t_end - t_start > SKPI_AVAIL_MAX_INTERVAL)
    return SKPI_EINVAL;
  if(t_start < a->last_end)
    t_start = a->last_end;
  if(t_end <= t_start)
    return SKPI_OK;
  double d = t_end - t_start;
  a->last_end = t_end;
  a->healthy = healthy ? 1 : 0;
  if(in_maintenance) {
    a->maint += d;
    return SKPI_OK;
  }
  a->observed += d;
  add_spread(a->win, t_start, t_end, SLOT_OBSERVED);
  if(!healthy) {
    a->down += d;
    add_spread(a->win, t_start, t_end, SLOT_DOWN);
  }
  return SKPI_OK;
}

void skpi_avail_totals_get(const skpi_avail *a, skpi_avail_totals *out) {
  out->observed_s = a->observed;
  out->down_s = a->down;
  out->maintenance_s = a->maint;
  out->last_end = a->last_end;
  out->healthy = a->healthy;
}

void skpi_avail_window(const skpi_avail *a, double now, double len_s, double *observed,
                       double *down) {
  double from = ceil((now - len_s) / 60.0) * 60.0;
  *observed = skpi_win_sum(a->win, from, now, SLOT_OBSERVED);
  *down = skpi_win_sum(a->win, from, now, SLOT_DOWN);
}

skpi_err skpi_avail_render(const skpi_avail *a, double now, skpi_mset *m) {
  skpi_err rc = SKPI_OK;
  int f_obs = skpi_mset_family(m, "streamkpi_observed_seconds_total", SKPI_MT_COUNTER,
                               "Seconds the exporter observed the cluster outside maintenance.");
  int f_down = skpi_mset_family(m, "streamkpi_downtime_seconds_total", SKPI_MT_COUNTER,
                                "Observed seconds the cluster was unhealthy.");
  int f_maint = skpi_mset_family(m, "streamkpi_maintenance_seconds_total", SKPI_MT_COUNTER,
                                 "Seconds observed inside a maintenance window.");
  int f_h = skpi_mset_family(m, "streamkpi_healthy", SKPI_MT_GAUGE,
                             "1 when the newest observed interval was healthy.");
  int f_av = skpi_mset_family(m, "streamkpi_availability_ratio", SKPI_MT_GAUGE,
                              "1 - downtime/observed over the window.");
  int f_cov = skpi_mset_family(m, "streamkpi_observed_ratio", SKPI_MT_GAUGE,
                               "Observed seconds / window length: how much of it was seen.");
  if(f_obs < 0 || f_down < 0 || f_maint < 0 || f_h < 0 || f_av < 0 || f_cov < 0)
    return SKPI_ENOMEM;
  if((rc = skpi_mset_add(m, f_obs, a->observed, "cluster", a->cluster)) != SKPI_OK)
    goto out;
  if((rc = skpi_mset_add(m, f_down, a->down, "cluster", a->cluster)) != SKPI_OK)
    goto out;
  if((rc = skpi_mset_add(m, f_maint, a->maint, "cluster", a->cluster)) != SKPI_OK)
    goto out;
  if(a->healthy >= 0 &&
     (rc = skpi_mset_add(m, f_h, (double)a->healthy, "cluster", a->cluster)) != SKPI_OK)
    goto out;
  for(size_t i = 0; i < SKPI_AVAIL_NWINDOWS; i++) {
    double obs, down;
    skpi_avail_window(a, now, skpi_avail_window_seconds[i], &obs, &down);
    const char *w = skpi_avail_window_names[i];
    if(obs > 0 && (rc = skpi_mset_add(m, f_av, 1.0 - down / obs, "cluster", a->cluster,
                                      "window", w)) != SKPI_OK)
      goto out;
    double cov = obs / skpi_avail_window_seconds[i];
    if((rc = skpi_mset_add(m, f_cov, cov > 1 ? 1 : cov, "cluster", a->cluster, "window", w)) !=
       SKPI_OK)
      goto out;
  }
out:
  return rc;
}

json_t *skpi_avail_save(const skpi_avail *a) {
  json_t *win = skpi_win_save(a->win);
  if(!win)
    return NULL;
  return json_pack("{s:s, s:f, s:f, s:f, s:f, s:i, s:o}", "cluster", a->cluster, "observed",
                   a->observed, "down", a->down, "maintenance", a->maint, "last_end",
                   a->last_end, "healthy", a->healthy, "windows", win);
}

static int get_num(const json_t *doc, const char *key, double *out) {
  return skpi_state_number(json_object_get(doc, key), 0, MAX_TIME * 100, out) ? 0 : -1;
}

skpi_err skpi_avail_load(skpi_avail *a, const json_t *doc, char *errbuf, size_t errlen) {
  skpi_err rc = SKPI_ESTATE;
  const char *why = "availability: not an object";
  double obs, down, maint, last;
  if(!json_is_object(doc))
    goto out;
  const char *c = json_string_value(json_object_get(doc, "cluster"));
  why = "availability: state of another cluster";
  if(!c || strcmp(c, a->cluster) != 0)
    goto out;
  why = "availability: bad totals";
  json_t *h = json_object_get(doc, "healthy");
  if(get_num(doc, "observed", &obs) || get_num(doc, "down", &down) ||
     get_num(doc, "maintenance", &maint) || get_num(doc, "last_end", &last) ||
     !json_is_integer(h) || json_integer_value(h) < -1 || json_integer_value(h) > 1 || down > obs)
    goto out;
  why = NULL;
  if((rc = skpi_win_load(a->win, json_object_get(doc, "windows"), errbuf, errlen)) != SKPI_OK)
    goto out;
  a->observed = obs;
  a->down = down;
  a->maint = maint;
  a->last_end = last;
  a->healthy = (int)json_integer_value(h);
out:
  if(rc != SKPI_OK && why && errbuf && errlen)
    snprintf(errbuf, errlen, "%s", why);
  return rc;
}

/* ---- KPI family "availability" (per cluster, only where the probe runs) ---- */

/* Round trips kept for the p99 fact: an hour of probes at the default
 * 10 s interval. */
#define RT_KEEP 360
#define FACT_WINDOW_S (30 * 86400.0)

typedef struct avail_kpi {
  skpi_avail *a;
  int metadata_only;
  double rt[RT_KEEP];
  size_t nrt, rt_next;
} avail_kpi;

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  *self = NULL;
  const skpi_config_probe *p = &ctx->cluster->probe;
  if(!p->enabled)
    return SKPI_OK;
  avail_kpi *k = calloc(1, sizeof(*k));
  if(!k || !(k->a = skpi_avail_new(ctx->cluster->name))) {
    free(k);
    return SKPI_ENOMEM;
  }
  k->metadata_only = p->mode == SKPI_CONFIG_PROBE_METADATA_ONLY;
  *self = k;
  return SKPI_OK;
}

static void kpi_observe(void *self, const skpi_event *ev) {
  avail_kpi *k = self;
  if(ev->kind != SKPI_EV_PROBE)
    return;
  const skpi_probe_event *pr = &ev->u.probe;
  if(pr->t0 < pr->t1) {
    skpi_err rc = skpi_avail_observe(k->a, pr->t0, pr->t1, pr->cause == SKPI_CAUSE_NONE,
                                     ev->maintenance);
    if(rc != SKPI_OK)
      skpi_log(SKPI_WARN, "availability rejected an interval", "cluster", ev->cluster, "error",
               skpi_strerror(rc));
  }
  if(pr->ok && pr->roundtrip_latency_s >= 0) {
    k->rt[k->rt_next] = pr->roundtrip_latency_s;
    k->rt_next = (k->rt_next + 1) % RT_KEEP;
    if(k->nrt < RT_KEEP)
      k->nrt++;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void kpi_facts(const void *self, double now, skpi_facts *out) {
  const avail_kpi *k = self;
  const char *c = k->a->cluster;
  skpi_facts_observed(out, SKPI_FACT_PROBE_RUNNING, c, 1, "bool", now);
  double observed, down;
  skpi_avail_window(k->a, now, FACT_WINDOW_S, &observed, &down);
  skpi_facts_observed(out, SKPI_FACT_AVAILABILITY_OBSERVED, c, observed, "seconds", now);
  if(observed > 0)
    skpi_facts_observed(out, SKPI_FACT_AVAILABILITY, c, 1 - down / observed, "ratio", now);
  else
    skpi_facts_unknown(out, SKPI_FACT_AVAILABILITY, c, "ratio",
                       "the probe has not observed this cluster yet");
  if(k->metadata_only) {
    skpi_facts_unknown(out, SKPI_FACT_PROBE_P99, c, "seconds",
                       "the probe runs metadata-only; set probe.mode: produce-consume");
  } else if(!k->nrt) {
    skpi_facts_unknown(out, SKPI_FACT_PROBE_P99, c, "seconds",
                       "no probe message has made the round trip yet");
  } else {
    double v[RT_KEEP];
    memcpy(v, k->rt, k->nrt * sizeof(double));
    qsort(v, k->nrt, sizeof(double), cmp_double);
    size_t i = (size_t)ceil(0.99 * (double)k->nrt);
    skpi_facts_observed(out, SKPI_FACT_PROBE_P99, c, v[i ? i - 1 : 0], "seconds", now);
  }
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  return skpi_avail_render(((const avail_kpi *)self)->a, now, m);
}

static json_t *kpi_save(void *self, double now) {
  return skpi_avail_save(((avail_kpi *)self)->a);
}

static skpi_err kpi_load(void *self, const json_t *doc, char *errbuf, size_t errlen) {
  return skpi_avail_load(((avail_kpi *)self)->a, doc, errbuf, errlen);
}

static void kpi_free(void *self) {
  avail_kpi *k = self;
  if(!k)
    return;
  skpi_avail_free(k->a);
  free(k);
}

const skpi_kpi_ops skpi_kpi_availability = {
    "availability", 1, kpi_create, kpi_observe, kpi_facts, kpi_render,
    kpi_save,       kpi_load, kpi_free,
};
