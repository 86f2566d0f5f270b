/* onboarding.c: stream onboarding and application deployment durations. */
#include "streamkpi/onboarding.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/hist.h"
#include "streamkpi/ntable.h"

#define MAX_NAME 255
#define NBOUNDS 11

/* Seconds: 1m 5m 15m 30m 1h 4h 12h 1d 3d 7d 30d. */
static const double BOUNDS[NBOUNDS] = {60,    300,   900,       1800,      3600,      14400,
                                       43200, 86400, 3 * 86400, 7 * 86400, 30 * 86400};

enum { H_FIRST_MESSAGE = 0, H_FIRST_CONSUMER, H_FIRST_COMMIT, H_CAUGHT_UP, H_N };
static const char *const HIST_NAMES[H_N] = {"first_message", "first_consumer", "first_commit",
                                            "caught_up"};

typedef struct entry {
  skpi_nentry h;
  skpi_onboarding_entry e;
  int nparts;   /* topics: partitions last seen */
  int64_t hsum; /* topics: watermark sum last seen, -1 when some were unknown */
} entry;

/* Topics or groups by name, each an entry. */
typedef skpi_ntable table;

struct skpi_onboarding {
  char *cluster;
  skpi_onboarding_cfg cfg;
  table topics, groups;
  int seen_topics, seen_groups; /* the baselines were taken */
  skpi_histogram h[H_N];
};

void skpi_onboarding_cfg_default(skpi_onboarding_cfg *cfg) {
  cfg->caught_up_lag = 100;
  cfg->forget_after_s = 600;
  cfg->max_entries = 100000;
}

static void clear_state(skpi_onboarding *o) {
  skpi_ntable_clear(&o->topics);
  skpi_ntable_clear(&o->groups);
  o->seen_topics = o->seen_groups = 0;
  /* The bounds are constant and valid. */
  for(int i = 0; i < H_N; i++)
    (void)skpi_hist_init(&o->h[i], BOUNDS, NBOUNDS);
}

skpi_err skpi_onboarding_new(const char *cluster, const skpi_onboarding_cfg *cfg,
                             skpi_onboarding **out) {
  skpi_onboarding_cfg c;
  if(cfg)
    c = *cfg;
  else
    skpi_onboarding_cfg_default(&c);
  *out = NULL;
  if(!cluster || c.caught_up_lag < 0 || !(c.forget_after_s >= 0) || !isfinite(c.forget_after_s))
    return SKPI_EINVAL;
  skpi_onboarding *o = calloc(1, sizeof(*o));
  if(!o)
    return SKPI_ENOMEM;
  o->cfg = c;
  if(!(o->cluster = strdup(cluster))) {
    free(o);
    return SKPI_ENOMEM;
  }
  skpi_ntable_init(&o->topics, sizeof(entry), NULL, NULL);
  skpi_ntable_init(&o->groups, sizeof(entry), NULL, NULL);
  clear_state(o);
  *out = o;
  return SKPI_OK;
}

void skpi_onboarding_free(skpi_onboarding *o) {
  if(!o)
    return;
  clear_state(o);
  free(o->cluster);
  free(o);
}

/* A duration that cannot be negative: clock steps count as 0. */
static void hist_add(skpi_histogram *h, double v) {
  skpi_hist_observe(h, isfinite(v) && v > 0 ? v : 0);
}

static void start(entry *e, double now, int baseline) {
  e->e.baseline = baseline;
  e->e.first_seen = now;
  e->e.step1 = -1;
  e->e.step2 = -1;
}

/* Adds name to t (absent), or NULL when memory runs out. */
static entry *append(table *t, const char *name, double now, int baseline) {
  void *p;
  if(skpi_ntable_add(t, name, &p) != SKPI_OK)
    return NULL;
  entry *e = p;
  start(e, now, baseline);
  e->hsum = -1;
  return e;
}

static skpi_err observe_topics(skpi_onboarding *o, const skpi_ksample *s, double now) {
  if(s->ntopics == 0)
    return SKPI_OK;
  /* Which topics some group has committed on, this sample. */
  unsigned char *consumed = skpi_ksample_consumed(s, 0);
  if(!consumed)
    return SKPI_ENOMEM;
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; i < s->ntopics; i++) {
    const skpi_ktopic *kt = &s->topics[i];
    if(skpi_ksample_topic_internal(kt) || strlen(kt->name) > MAX_NAME)
      continue;
    int64_t hsum = 0, hmax = 0;
    for(int p = 0; p < kt->nparts; p++) {
      int64_t h = kt->parts[p].high;
      if(h < 0 || hsum < 0)
        hsum = -1;
      else
        hsum += h;
      if(h > hmax)
        hmax = h;
    }
    entry *e = skpi_ntable_find(&o->topics, kt->name);
    if(e && (kt->nparts < e->nparts || (hsum >= 0 && e->hsum >= 0 && hsum < e->hsum)))
      start(e, now, 0); /* deleted and re-created under the same name */
    if(!e) {
      if(skpi_ntable_len(&o->topics) >= o->cfg.max_entries)
        continue;
      if(!(e = append(&o->topics, kt->name, now, !o->seen_topics))) {
        rc = SKPI_ENOMEM;
        break;
      }
    }
    e->h.last_seen = now;
    e->nparts = kt->nparts;
    e->hsum = hsum;
    if(e->e.baseline)
      continue;
    int had_both = e->e.step1 >= 0 && e->e.step2 >= 0;
    if(e->e.step1 < 0 && hmax > 0) {
      e->e.step1 = now;
      hist_add(&o->h[H_FIRST_MESSAGE], now - e->e.first_seen);
    }
    if(e->e.step2 < 0 && consumed[i])
      e->e.step2 = now;
    /* A group may commit before the first message: that step took 0. */
    if(!had_both && e->e.step1 >= 0 && e->e.step2 >= 0)
      hist_add(&o->h[H_FIRST_CONSUMER], e->e.step2 > e->e.step1 ? e->e.step2 - e->e.step1 : 0);
  }
  free(consumed);
  skpi_ntable_sweep(&o->topics, now, o->cfg.forget_after_s);
  if(rc == SKPI_OK)
    o->seen_topics = 1;
  return rc;
}

static skpi_err observe_groups(skpi_onboarding *o, const skpi_ksample *s, double now) {
  if(!s->groups_ok)
    return SKPI_OK;
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; i < s->ngroups; i++) {
    const skpi_kgroup *g = &s->groups[i];
    if(!g->id || strlen(g->id) > MAX_NAME)
      continue;
    entry *e = skpi_ntable_find(&o->groups, g->id);
    if(!e) {
      if(skpi_ntable_len(&o->groups) >= o->cfg.max_entries)
        continue;
      if(!(e = append(&o->groups, g->id, now, !o->seen_groups))) {
        rc = SKPI_ENOMEM;
        break;
      }
    }
    e->h.last_seen = now;
    if(e->e.baseline || g->ncommits == 0)
      continue;
    if(e->e.step1 < 0) {
      e->e.step1 = now;
      hist_add(&o->h[H_FIRST_COMMIT], now - e->e.first_seen);
    }
    if(e->e.step2 >= 0)
      continue;
    /* Caught up: summed lag over partitions with a known watermark. */
    int64_t lag = 0;
    int known = 0;
    for(size_t c = 0; c < g->ncommits; c++) {
      const skpi_kcommit *kc = &g->commits[c];
      if(kc->topic < 0 || (size_t)kc->topic >= s->ntopics || kc->partition < 0 ||
         kc->partition >= s->topics[kc->topic].nparts)
        continue;
      int64_t high = s->topics[kc->topic].parts[kc->partition].high;
      if(high < 0)
        continue;
      known = 1;
      if(high > kc->offset && lag <= o->cfg.caught_up_lag)
        lag += high - kc->offset;
    }
    if(known && lag <= o->cfg.caught_up_lag) {
      e->e.step2 = now;
      hist_add(&o->h[H_CAUGHT_UP], now - e->e.step1);
    }
  }
  skpi_ntable_sweep(&o->groups, now, o->cfg.forget_after_s);
  if(rc == SKPI_OK)
    o->seen_groups = 1;
  return rc;
}

skpi_err skpi_onboarding_observe(skpi_onboarding *o, const skpi_ksample *s, double now) {
  skpi_err rc;
  if(!o || !s || !isfinite(now))
    return SKPI_EINVAL;
  if((rc = observe_topics(o, s, now)) != SKPI_OK)
    return rc;
  return observe_groups(o, s, now);
}

int skpi_onboarding_get(const skpi_onboarding *o, int is_group, const char *name,
                        skpi_onboarding_entry *e) {
  const table *t = is_group ? &o->groups : &o->topics;
  const entry *x = skpi_ntable_find(t, name);
  if(!x)
    return 0;
  *e = x->e;
  return 1;
}

static skpi_err add_hist(skpi_mset *m, int fam, const skpi_histogram *h, const char *cluster,
                         const char *step) {
  skpi_hist sh;
  skpi_hist_view(h, &sh);
  const char *kv[4] = {"cluster", cluster, "step", step};
  return skpi_mset_add_hist(m, fam, &sh, kv, 2);
}

/* Number pending and age of the oldest pending entry of t. */
static void pending(const table *t, double now, double *n, double *age) {
  *n = 0;
  *age = 0;
  for(size_t i = 0; i < skpi_ntable_len(t); i++) {
    const skpi_onboarding_entry *e = &((const entry *)skpi_ntable_at(t, i))->e;
    if(e->baseline || (e->step1 >= 0 && e->step2 >= 0))
      continue;
    *n += 1;
    if(now - e->first_seen > *age)
      *age = now - e->first_seen;
  }
}

skpi_err skpi_onboarding_render(const skpi_onboarding *o, double now, skpi_mset *m) {
  skpi_err rc = SKPI_OK;
  int f_sd = skpi_mset_family(m, "streamkpi_stream_onboarding_duration_seconds",
                              SKPI_MT_HISTOGRAM,
                              "Time from a topic's first sight to its first message, and from "
                              "then to its first consumer commit.");
  int f_ad = skpi_mset_family(m, "streamkpi_app_deploy_duration_seconds", SKPI_MT_HISTOGRAM,
                              "Time from a consumer group's first sight to its first commit, and "
                              "from then until it caught up.");
  int f_sp = skpi_mset_family(m, "streamkpi_streams_onboarding_pending", SKPI_MT_GAUGE,
                              "Topics whose onboarding has not completed.");
  int f_so = skpi_mset_family(m, "streamkpi_stream_onboarding_oldest_pending_age_seconds",
                              SKPI_MT_GAUGE, "Age of the oldest pending stream onboarding.");
  int f_ap = skpi_mset_family(m, "streamkpi_apps_deploy_pending", SKPI_MT_GAUGE,
                              "Consumer groups that have not yet committed and caught up.");
  int f_ao = skpi_mset_family(m, "streamkpi_app_deploy_oldest_pending_age_seconds",
                              SKPI_MT_GAUGE, "Age of the oldest pending application deployment.");
  int f_fs = skpi_mset_family(m, "streamkpi_stream_first_seen_timestamp_seconds", SKPI_MT_GAUGE,
                              "When a topic still onboarding was first seen.");
  if(f_sd < 0 || f_ad < 0 || f_sp < 0 || f_so < 0 || f_ap < 0 || f_ao < 0 || f_fs < 0)
    return SKPI_ENOMEM;
  for(int i = 0; i < H_N; i++)
    if((rc = add_hist(m, i < H_FIRST_COMMIT ? f_sd : f_ad, &o->h[i], o->cluster,
                      HIST_NAMES[i])) != SKPI_OK)
      return rc;
  double n, age;
  pending(&o->topics, now, &n, &age);
  if((rc = skpi_mset_add(m, f_sp, n, "cluster", o->cluster)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_so, age, "cluster", o->cluster)) != SKPI_OK)
    return rc;
  pending(&o->groups, now, &n, &age);
  if((rc = skpi_mset_add(m, f_ap, n, "cluster", o->cluster)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_ao, age, "cluster", o->cluster)) != SKPI_OK)
    return rc;
  for(size_t i = 0; i < skpi_ntable_len(&o->topics); i++) {
    const entry *e = skpi_ntable_at(&o->topics, i);
    if(e->e.baseline || (e->e.step1 >= 0 && e->e.step2 >= 0))
      continue;
    if((rc = skpi_mset_add(m, f_fs, e->e.first_seen, "cluster", o->cluster, "topic", e->h.name)) !=
       SKPI_OK)
      return rc;
  }
  return rc;
}

static json_t *save_table(const table *t) {
  json_t *a = json_array();
  for(size_t i = 0; a && i < skpi_ntable_len(t); i++) {
    const entry *e = skpi_ntable_at(t, i);
    json_t *row = json_pack("[s,b,f,f,f,f,I,I]", e->h.name, e->e.baseline, e->e.first_seen,
                            e->e.step1, e->e.step2, e->h.last_seen, (json_int_t)e->nparts,
                            (json_int_t)e->hsum);
    if(!row || json_array_append_new(a, row)) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

json_t *skpi_onboarding_save(const skpi_onboarding *o) {
  json_t *doc = json_pack("{s:i,s:b,s:b}", "version", 1, "seen_topics", o->seen_topics,
                          "seen_groups", o->seen_groups);
  json_t *hists = json_object();
  if(!doc || !hists || json_object_set_new(doc, "histograms", hists) ||
     json_object_set_new(doc, "topics", save_table(&o->topics)) ||
     json_object_set_new(doc, "groups", save_table(&o->groups)))
    goto fail;
  for(int i = 0; i < H_N; i++) {
    json_t *counts = json_array();
    json_t *h = json_object();
    if(!counts || !h || json_object_set_new(hists, HIST_NAMES[i], h) ||
       json_object_set_new(h, "counts", counts) ||
       json_object_set_new(h, "sum", json_real(o->h[i].sum)))
      goto fail;
    for(size_t b = 0; b <= NBOUNDS; b++)
      if(json_array_append_new(counts, json_integer((json_int_t)skpi_hist_bucket(&o->h[i], b))))
        goto fail;
  }
  return doc;
fail:
  json_decref(doc);
  return NULL;
}

static int time_ok(double t, int allow_unset) {
  return isfinite(t) && (t >= 0 || (allow_unset && t == -1));
}

static skpi_err load_table(table *t, const json_t *a, size_t max) {
  if(!json_is_array(a) || json_array_size(a) > max)
    return SKPI_EINVAL;
  size_t n = json_array_size(a);
  for(size_t i = 0; i < n; i++) {
    const char *name;
    int baseline;
    double fs, s1, s2, ls;
    json_int_t np, hs;
    void *p;
    skpi_err rc;
    if(json_unpack(json_array_get(a, i), "[s,b,F,F,F,F,I,I!]", &name, &baseline, &fs, &s1, &s2,
                   &ls, &np, &hs) != 0 ||
       !*name || strlen(name) > MAX_NAME || !time_ok(fs, 0) || !time_ok(s1, 1) ||
       !time_ok(s2, 1) || !time_ok(ls, 0) || np < 0 || np > 1000000 || hs < -1)
      return SKPI_EINVAL;
    /* A name twice is garbage (EINVAL). */
    if((rc = skpi_ntable_add(t, name, &p)) != SKPI_OK)
      return rc;
    entry *e = p;
    e->e.baseline = baseline;
    e->e.first_seen = fs;
    e->e.step1 = s1;
    e->e.step2 = s2;
    e->h.last_seen = ls;
    e->nparts = (int)np;
    e->hsum = hs;
  }
  skpi_ntable_sort(t);
  return SKPI_OK;
}

skpi_err skpi_onboarding_load(skpi_onboarding *o, const json_t *doc) {
  skpi_err rc = SKPI_EINVAL;
  int ver, st, sg;
  json_t *topics, *groups, *hists;
  clear_state(o);
  if(!doc || json_unpack((json_t *)doc, "{s:i,s:b,s:b,s:o,s:o,s:o}", "version", &ver,
                         "seen_topics", &st, "seen_groups", &sg, "topics", &topics, "groups",
                         &groups, "histograms", &hists) != 0 ||
     ver != 1 || !json_is_object(hists))
    goto out;
  if((rc = load_table(&o->topics, topics, o->cfg.max_entries)) != SKPI_OK ||
     (rc = load_table(&o->groups, groups, o->cfg.max_entries)) != SKPI_OK)
    goto out;
  rc = SKPI_EINVAL;
  for(int i = 0; i < H_N; i++) {
    const json_t *h = json_object_get(hists, HIST_NAMES[i]);
    const json_t *counts = json_object_get(h, "counts");
    const json_t *sum = json_object_get(h, "sum");
    if(!json_is_array(counts) || json_array_size(counts) != NBOUNDS + 1 || !json_is_number(sum) ||
       !isfinite(json_number_value(sum)) || json_number_value(sum) < 0)
      goto out;
    uint64_t per[NBOUNDS + 1];
    for(size_t b = 0; b <= NBOUNDS; b++) {
      const json_t *c = json_array_get(counts, b);
      if(!json_is_integer(c) || json_integer_value(c) < 0)
        goto out;
      per[b] = (uint64_t)json_integer_value(c);
    }
    if(skpi_hist_restore(&o->h[i], per, NBOUNDS + 1, json_number_value(sum)) != SKPI_OK)
      goto out;
  }
  o->seen_topics = st;
  o->seen_groups = sg;
  rc = SKPI_OK;
out:
  if(rc != SKPI_OK)
    clear_state(o);
  return rc;
}

/* ---- KPI family "onboarding" (per cluster; the instance is the engine) ---- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int skpi_onboarding_median(const skpi_onboarding *o, double *out) {
  size_t n = 0, ntopics = skpi_ntable_len(&o->topics);
  double *v = malloc((ntopics ? ntopics : 1) * sizeof(double));
  if(!v)
    return 0;
  for(size_t i = 0; i < ntopics; i++) {
    const skpi_onboarding_entry *e = &((const entry *)skpi_ntable_at(&o->topics, i))->e;
    if(!e->baseline && e->step2 >= 0)
      v[n++] = e->step2 - e->first_seen;
  }
  if(n) {
    qsort(v, n, sizeof(double), cmp_double);
    *out = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  free(v);
  return n > 0;
}

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  skpi_onboarding_cfg cfg;
  skpi_onboarding_cfg_default(&cfg);
  cfg.caught_up_lag = ctx->cfg->onboarding.lag_threshold;
  return skpi_onboarding_new(ctx->cluster->name, &cfg, (skpi_onboarding **)self);
}

static void kpi_observe(void *self, const skpi_event *ev) {
  if(ev->kind != SKPI_EV_SAMPLE)
    return;
  skpi_err rc = skpi_onboarding_observe(self, ev->u.sample, ev->now);
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "onboarding rejected a sample", "cluster", ev->cluster, "error",
             skpi_strerror(rc));
}

static void kpi_facts(const void *self, double now, skpi_facts *out) {
  const skpi_onboarding *o = self;
  double med;
  if(skpi_onboarding_median(o, &med))
    skpi_facts_observed(out, SKPI_FACT_ONBOARDING_MEDIAN, o->cluster, med, "seconds", now);
  else
    skpi_facts_unknown(out, SKPI_FACT_ONBOARDING_MEDIAN, o->cluster, "seconds",
                       "no new stream has been onboarded (created, written and consumed) while "
                       "the exporter watched; topics present at its first sample are baseline");
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  return skpi_onboarding_render(self, now, m);
}

static json_t *kpi_save(void *self, double now) { return skpi_onboarding_save(self); }

static skpi_err kpi_load(void *self, const json_t *doc, char *errbuf, size_t errlen) {
  skpi_err rc = skpi_onboarding_load(self, doc);
  if(rc != SKPI_OK && errbuf && errlen)
    snprintf(errbuf, errlen, "onboarding: malformed section");
  return rc;
}

static void kpi_free(void *self) { skpi_onboarding_free(self); }

const skpi_kpi_ops skpi_kpi_onboarding = {
    "onboarding", 1, kpi_create, kpi_observe, kpi_facts, kpi_render,
    kpi_save,     kpi_load, kpi_free,
};
