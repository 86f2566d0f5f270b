/* slo.c: SLO buckets, attainment, error budget and burn rates. */
#include "streamkpi/slo.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "streamkpi/state.h"
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
