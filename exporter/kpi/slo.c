/* slo.c: SLO buckets, attainment, error budget and burn rates. */
#include "streamkpi/slo.h"

#include <float.h>
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "streamkpi/dlq.h"
#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/state.h"
#include "streamkpi/timelag.h"
#include "streamkpi/windows.h"

#define MONTH_MINUTES 44640u /* 31 days */
#define MAX_NAME 128

struct skpi_slo {
  char *name;
  skpi_slo_cfg cfg;
  skpi_win *w; /* slot 0: good, slot 1: total */
  double events, bad, excluded_events;
  int excluded;
};

skpi_err skpi_slo_new(const skpi_slo_cfg *cfg, skpi_slo **out) {
  *out = NULL;
  if(!cfg || !cfg->name || !*cfg->name || strlen(cfg->name) > MAX_NAME ||
     !(cfg->objective > 0 && cfg->objective < 1) ||
     (cfg->kind != SKPI_SLO_ROLLING && cfg->kind != SKPI_SLO_CALENDAR_MONTH) ||
     (cfg->kind == SKPI_SLO_ROLLING && !(cfg->window_s >= 60 && cfg->window_s <= 31 * 86400.0)))
    return SKPI_EINVAL;
  skpi_slo *s = calloc(1, sizeof(*s));
  if(!s)
    return SKPI_ENOMEM;
  s->cfg = *cfg;
  s->name = strdup(cfg->name);
  s->w = skpi_win_new(2, MONTH_MINUTES);
  if(!s->name || !s->w) {
    skpi_slo_free(s);
    return SKPI_ENOMEM;
  }
  s->cfg.name = s->name;
  *out = s;
  return SKPI_OK;
}

void skpi_slo_free(skpi_slo *s) {
  if(!s)
    return;
  skpi_win_free(s->w);
  free(s->name);
  free(s);
}

skpi_err skpi_slo_record(skpi_slo *s, double t, double good, double total) {
  skpi_err rc;
  if(!isfinite(good) || !isfinite(total) || good < 0 || total < 0 || good > total || !isfinite(t))
    return SKPI_EINVAL;
  if(s->excluded) {
    s->excluded_events += total;
    return SKPI_OK;
  }
  /* The total goes first: if the minute is refused nothing has changed. */
  if((rc = skpi_win_add(s->w, t, 1, total)) != SKPI_OK)
    return rc;
  if((rc = skpi_win_add(s->w, t, 0, good)) != SKPI_OK)
    return rc;
  s->events += total;
  s->bad += total - good;
  return SKPI_OK;
}

void skpi_slo_set_excluded(skpi_slo *s, int excluded) {
  s->excluded = excluded != 0;
}

double skpi_slo_month_start(double t) {
  if(!isfinite(t) || t < 0 || t > 1e11)
    return 0;
  time_t tt = (time_t)floor(t);
  struct tm tm;
  if(!gmtime_r(&tt, &tm))
    return 0;
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  return (double)timegm(&tm);
}

double skpi_slo_month_length(double t) {
  if(!isfinite(t) || t < 0 || t > 1e11)
    return 0;
  double start = skpi_slo_month_start(t);
  time_t tt = (time_t)start;
  struct tm tm;
  if(!gmtime_r(&tt, &tm))
    return 0;
  tm.tm_mon += 1; /* timegm normalises December + 1 into January */
  return (double)timegm(&tm) - start;
}

/* Good and total over [from, now]. */
static void sums(const skpi_slo *s, double from, double now, double *good, double *total) {
  *good = skpi_win_sum(s->w, from, now + 1e-3, 0);
  *total = skpi_win_sum(s->w, from, now + 1e-3, 1);
}

static double burn(const skpi_slo *s, double now, double w) {
  double g, t;
  sums(s, now - w, now, &g, &t);
  if(!(t > 0))
    return 0;
  return ((t - g) / t) / (1 - s->cfg.objective);
}

void skpi_slo_status_at(const skpi_slo *s, double now, skpi_slo_status *st) {
  double from;
  memset(st, 0, sizeof(*st));
  if(s->cfg.kind == SKPI_SLO_CALENDAR_MONTH) {
    from = skpi_slo_month_start(now);
    st->window_s = skpi_slo_month_length(now);
  } else {
    from = now - s->cfg.window_s;
    st->window_s = s->cfg.window_s;
  }
  sums(s, from, now, &st->good, &st->total);
  double bad = st->total - st->good;
  st->attainment = st->total > 0 ? st->good / st->total : NAN;
  st->budget_remaining = st->total > 0 ? 1 - bad / ((1 - s->cfg.objective) * st->total) : 1;
  st->burn_1h = burn(s, now, 3600);
  st->burn_6h = burn(s, now, 6 * 3600);
  st->events_total = s->events;
  st->bad_events_total = s->bad;
  st->excluded_total = s->excluded_events;
}

skpi_err skpi_slo_render(const skpi_slo *s, double now, skpi_mset *m) {
  skpi_err rc;
  skpi_slo_status st;
  skpi_slo_status_at(s, now, &st);
  int f_obj = skpi_mset_family(m, "streamkpi_slo_objective_ratio", SKPI_MT_GAUGE,
                               "Objective of the SLO (share of good events).");
  int f_win = skpi_mset_family(m, "streamkpi_slo_window_seconds", SKPI_MT_GAUGE,
                               "Length of the SLO window (calendar month: this month's).");
  int f_ev = skpi_mset_family(m, "streamkpi_slo_events_total", SKPI_MT_COUNTER,
                              "Events counted for the SLO, outside maintenance windows.");
  int f_bad = skpi_mset_family(m, "streamkpi_slo_bad_events_total", SKPI_MT_COUNTER,
                               "Bad events counted for the SLO, outside maintenance windows.");
  int f_att = skpi_mset_family(m, "streamkpi_slo_attainment_ratio", SKPI_MT_GAUGE,
                               "Share of good events over the SLO window.");
  int f_bud = skpi_mset_family(m, "streamkpi_slo_error_budget_remaining_ratio", SKPI_MT_GAUGE,
                               "Share of the error budget left over the window; negative when "
                               "overspent.");
  int f_burn = skpi_mset_family(m, "streamkpi_slo_burn_rate", SKPI_MT_GAUGE,
                                "Error rate over the window divided by the allowed error rate.");
  if(f_obj < 0 || f_win < 0 || f_ev < 0 || f_bad < 0 || f_att < 0 || f_bud < 0 || f_burn < 0)
    return SKPI_ENOMEM;
  if((rc = skpi_mset_add(m, f_obj, s->cfg.objective, "slo", s->name)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_win, st.window_s, "slo", s->name)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_ev, st.events_total, "slo", s->name)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_bad, st.bad_events_total, "slo", s->name)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_bud, st.budget_remaining, "slo", s->name)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_burn, st.burn_1h, "slo", s->name, "window", "1h")) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_burn, st.burn_6h, "slo", s->name, "window", "6h")) != SKPI_OK)
    return rc;
  if(st.total > 0 && (rc = skpi_mset_add(m, f_att, st.attainment, "slo", s->name)) != SKPI_OK)
    return rc;
  return SKPI_OK;
}

json_t *skpi_slo_save(const skpi_slo *s) {
  json_t *doc = json_object();
  json_t *w = skpi_win_save(s->w);
  if(!doc || !w || json_object_set_new(doc, "buckets", w)) {
    json_decref(doc);
    json_decref(w);
    return NULL;
  }
  if(json_object_set_new(doc, "version", json_integer(1)) ||
     json_object_set_new(doc, "events", json_real(s->events)) ||
     json_object_set_new(doc, "bad", json_real(s->bad)) ||
     json_object_set_new(doc, "excluded", json_real(s->excluded_events))) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

static int jnum(const json_t *j, double *out) {
  return skpi_state_number(j, 0, DBL_MAX, out);
}

skpi_err skpi_slo_load(skpi_slo *s, const json_t *doc) {
  double ev, bad, ex;
  const json_t *ver = json_object_get(doc, "version");
  /* A fresh ring first: whatever happens below, the SLO ends up empty or
   * fully loaded. */
  skpi_win *fresh = skpi_win_new(2, MONTH_MINUTES);
  if(!fresh)
    return SKPI_ENOMEM;
  skpi_win_free(s->w);
  s->w = fresh;
  s->events = s->bad = s->excluded_events = 0;
  if(!json_is_object(doc) || !json_is_integer(ver) || json_integer_value(ver) != 1 ||
     !jnum(json_object_get(doc, "events"), &ev) || !jnum(json_object_get(doc, "bad"), &bad) ||
     !jnum(json_object_get(doc, "excluded"), &ex) || bad > ev)
    return SKPI_EINVAL;
  if(skpi_win_load(s->w, json_object_get(doc, "buckets"), NULL, 0) != SKPI_OK)
    return SKPI_EINVAL;
  s->events = ev;
  s->bad = bad;
  s->excluded_events = ex;
  return SKPI_OK;
}

/* ---- KPI family "slo" (estate-wide: every configured SLO) ----
 *
 * Each SLO turns events into good/total counts by its SLI:
 *   probe_availability  one event per probe: good when the cluster is healthy;
 *   probe_latency       good when the probe passed within threshold seconds;
 *   group_lag           one event per sample: good when the group's largest
 *                       time lag is at most threshold seconds;
 *   dlq_ratio           one event per sample with traffic on the topic's
 *                       pipeline: good when DLQ / (DLQ + source) messages in
 *                       the interval is at most threshold;
 *   app_ratio           good/total deltas of an application target.
 * Events in a maintenance window are excluded. */

enum sli { SLI_PROBE_AVAIL, SLI_PROBE_LATENCY, SLI_GROUP_LAG, SLI_DLQ_RATIO, SLI_APP_RATIO };

typedef struct slo_ent {
  skpi_slo *slo;
  enum sli sli;
  const char *name;
  const char *cluster; /* NULL: every cluster */
  double threshold;
  double objective;
  const char *group, *topic, *target;
  double *prev_dlq, *prev_src; /* per cluster; NaN until first seen */
  double prev_good, prev_total;
  int have_app;
} slo_ent;

typedef struct slo_kpi {
  skpi_kpi_ctx ctx; /* for looking up time lag and DLQ instances */
  slo_ent *v;
  size_t n;
  size_t nclusters;
} slo_kpi;

static void kpi_free(void *self) {
  slo_kpi *k = self;
  if(!k)
    return;
  for(size_t i = 0; i < k->n; i++) {
    skpi_slo_free(k->v[i].slo);
    free(k->v[i].prev_dlq);
    free(k->v[i].prev_src);
  }
  free(k->v);
  free(k);
}

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  size_t n = ctx->cfg->nslos, ncl = ctx->cfg->nclusters;
  slo_kpi *k = calloc(1, sizeof(*k));
  if(!k || !(k->v = calloc(n ? n : 1, sizeof(*k->v)))) {
    free(k);
    return SKPI_ENOMEM;
  }
  k->ctx = *ctx;
  k->nclusters = ncl;
  for(size_t i = 0; i < n; i++) {
    const skpi_config_slo *o = &ctx->cfg->slos[i];
    slo_ent *e = &k->v[k->n];
    e->name = o->name;
    _Static_assert((int)SLI_PROBE_LATENCY == (int)SKPI_CONFIG_SLI_PROBE_LATENCY &&
                       (int)SLI_GROUP_LAG == (int)SKPI_CONFIG_SLI_GROUP_LAG &&
                       (int)SLI_DLQ_RATIO == (int)SKPI_CONFIG_SLI_DLQ_RATIO &&
                       (int)SLI_APP_RATIO == (int)SKPI_CONFIG_SLI_APP_RATIO,
                   "SLIs in the order of skpi_config_sli");
    e->sli = (enum sli)o->sli;
    e->cluster = o->cluster;
    e->threshold = o->threshold;
    e->group = o->group;
    e->topic = o->topic;
    e->target = o->target;
    e->prev_dlq = malloc((ncl ? ncl : 1) * sizeof(double));
    e->prev_src = malloc((ncl ? ncl : 1) * sizeof(double));
    if(!e->prev_dlq || !e->prev_src) {
      free(e->prev_dlq);
      free(e->prev_src);
      kpi_free(k);
      return SKPI_ENOMEM;
    }
    for(size_t c = 0; c < ncl; c++)
      e->prev_dlq[c] = e->prev_src[c] = NAN;
    skpi_slo_cfg sc;
    memset(&sc, 0, sizeof(sc));
    sc.name = e->name;
    sc.objective = e->objective = o->objective;
    sc.kind =
        o->window == SKPI_CONFIG_WINDOW_CALENDAR_MONTH ? SKPI_SLO_CALENDAR_MONTH : SKPI_SLO_ROLLING;
    sc.window_s = o->window_s; /* 0 for the month: read for rolling windows only */
    skpi_err rc = skpi_slo_new(&sc, &e->slo);
    if(rc != SKPI_OK) {
      free(e->prev_dlq);
      free(e->prev_src);
      snprintf(errbuf, errlen, "slos: cannot set up SLO \"%s\"", e->name);
      kpi_free(k);
      return rc;
    }
    k->n++;
  }
  *self = k;
  return SKPI_OK;
}

static void record(slo_ent *e, const skpi_event *ev, double t, double good, double total) {
  skpi_slo_set_excluded(e->slo, ev->maintenance);
  skpi_err rc = skpi_slo_record(e->slo, t, good, total);
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "slo rejected an event", "slo", e->name, "error", skpi_strerror(rc));
}

static void on_sample(slo_kpi *k, slo_ent *e, const skpi_event *ev) {
  size_t ci = ev->cluster_idx;
  if(e->sli == SLI_GROUP_LAG && e->group) {
    const void *tl = k->ctx.lookup(&k->ctx, "timelag", ev->cluster);
    double max_s;
    if(tl && skpi_timelag_kpi_group_max(tl, e->group, ev->now, &max_s))
      record(e, ev, ev->now, max_s <= e->threshold, 1);
  } else if(e->sli == SLI_DLQ_RATIO && e->topic && ci < k->nclusters) {
    const void *dq = k->ctx.lookup(&k->ctx, "dlq", ev->cluster);
    double dlq, src;
    if(!dq || !skpi_dlq_kpi_totals(dq, e->topic, &dlq, &src))
      return;
    double pd = e->prev_dlq[ci], ps = e->prev_src[ci];
    e->prev_dlq[ci] = dlq;
    e->prev_src[ci] = src;
    if(isnan(pd) || isnan(ps) || dlq < pd || src < ps)
      return;
    double dd = dlq - pd, ds = src - ps;
    if(dd + ds > 0) /* no traffic in the interval: no event */
      record(e, ev, ev->now, dd / (dd + ds) <= e->threshold, 1);
  }
}

static void kpi_observe(void *self, const skpi_event *ev) {
  slo_kpi *k = self;
  for(size_t i = 0; i < k->n; i++) {
    slo_ent *e = &k->v[i];
    if(ev->kind == SKPI_EV_APP_QUALITY) {
      const skpi_quality_event *q = &ev->u.quality;
      if(e->sli != SLI_APP_RATIO || !e->target || strcmp(e->target, q->target) != 0)
        continue;
      if(e->have_app && q->total >= e->prev_total && q->good >= e->prev_good &&
         q->total > e->prev_total)
        record(e, ev, ev->now, q->good - e->prev_good, q->total - e->prev_total);
      e->prev_good = q->good;
      e->prev_total = q->total;
      e->have_app = 1;
      continue;
    }
    if(!ev->cluster || (e->cluster && strcmp(e->cluster, ev->cluster) != 0))
      continue;
    if(ev->kind == SKPI_EV_PROBE) {
      const skpi_probe_event *p = &ev->u.probe;
      if(e->sli == SLI_PROBE_AVAIL)
        record(e, ev, p->t1, p->cause == SKPI_CAUSE_NONE, 1);
      else if(e->sli == SLI_PROBE_LATENCY)
        record(e, ev, p->t1,
               p->ok && (p->metadata_only ||
                         (p->roundtrip_latency_s >= 0 && p->roundtrip_latency_s <= e->threshold)),
               1);
    } else if(ev->kind == SKPI_EV_SAMPLE) {
      on_sample(k, e, ev);
    }
  }
}

static void kpi_facts(const void *self, double now, skpi_facts *out) {
  const slo_kpi *k = self;
  size_t judged = 0, met = 0, qdef = 0, qjudged = 0, qmet = 0;
  for(size_t i = 0; i < k->n; i++) {
    const slo_ent *e = &k->v[i];
    int quality = e->sli == SLI_DLQ_RATIO || e->sli == SLI_APP_RATIO;
    skpi_slo_status st;
    skpi_slo_status_at(e->slo, now, &st);
    qdef += quality;
    if(isnan(st.attainment))
      continue;
    int ok = st.attainment >= e->objective;
    judged++;
    met += ok;
    qjudged += quality;
    qmet += quality && ok;
  }
  skpi_facts_observed(out, SKPI_FACT_SLOS_DEFINED, NULL, (double)k->n, "count", now);
  skpi_facts_observed(out, SKPI_FACT_QUALITY_SLOS_DEFINED, NULL, (double)qdef, "count", now);
  if(judged)
    skpi_facts_observed(out, SKPI_FACT_SLOS_MET, NULL, (double)met / (double)judged, "ratio",
                        now);
  else
    skpi_facts_unknown(out, SKPI_FACT_SLOS_MET, NULL, "ratio",
                       k->n ? "no SLO has recorded an event in its window yet"
                            : "no SLO is configured (slos:)");
  if(qjudged)
    skpi_facts_observed(out, SKPI_FACT_QUALITY_SLOS_MET, NULL, (double)qmet / (double)qjudged,
                        "ratio", now);
  else
    skpi_facts_unknown(out, SKPI_FACT_QUALITY_SLOS_MET, NULL, "ratio",
                       qdef ? "no data-quality SLO has recorded an event in its window yet"
                            : "no dlq_ratio or app_ratio SLO is configured (slos:)");
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  const slo_kpi *k = self;
  for(size_t i = 0; i < k->n; i++) {
    skpi_err rc = skpi_slo_render(k->v[i].slo, now, m);
    if(rc != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

/* One object with a member per SLO name. */
static json_t *kpi_save(void *self, double now) {
  slo_kpi *k = self;
  json_t *doc = json_object();
  for(size_t i = 0; doc && i < k->n; i++) {
    json_t *d = skpi_slo_save(k->v[i].slo);
    if(!d || json_object_set_new(doc, k->v[i].name, d) != 0) {
      json_decref(doc);
      return NULL;
    }
  }
  return doc;
}

/* A bad member is skipped (that SLO starts fresh) and named in errbuf. */
static skpi_err kpi_load(void *self, const json_t *doc, char *errbuf, size_t errlen) {
  slo_kpi *k = self;
  if(!json_is_object(doc)) {
    snprintf(errbuf, errlen, "slo: not an object");
    return SKPI_ESTATE;
  }
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; i < k->n; i++) {
    json_t *d = json_object_get(doc, k->v[i].name);
    if(d && skpi_slo_load(k->v[i].slo, d) != SKPI_OK) {
      snprintf(errbuf, errlen, "slo: SLO \"%s\" malformed", k->v[i].name);
      rc = SKPI_ESTATE;
    }
  }
  return rc;
}

const skpi_kpi_ops skpi_kpi_slo = {
    "slo", 0, kpi_create, kpi_observe, kpi_facts, kpi_render, kpi_save, kpi_load, kpi_free,
};
