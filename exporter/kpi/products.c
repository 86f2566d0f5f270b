/* products.c: the data-product family (see products.h). */
#include "streamkpi/products.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "streamkpi/contracts.h"
#include "streamkpi/dlq.h"
#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/regex.h"
#include "streamkpi/slo.h"
#include "streamkpi/timelag.h"

enum pslo { PS_FRESHNESS = 0, PS_TIME_LAG, PS_AVAILABILITY, PS_DLQ_RATIO, PS_RETENTION, PS_N };
static const char *const pslo_name[PS_N] = {"freshness", "time_lag", "availability", "dlq_ratio",
                                            "retention"};

/* What one cluster's latest sample said about one topic. */
typedef struct tstate {
  const char *name; /* borrowed from the sample held in cl_state */
  int64_t high;     /* sum of the known high watermarks, -1 unknown */
  double first_seen;
  double last_advance; /* NaN: not seen moving */
} tstate;

typedef struct cl_state {
  skpi_ksample *s; /* latest sample (a reference), NULL before the first */
  tstate *t;       /* one per topic of s, same order (sorted by name) */
  double at;       /* when s was taken; NaN before the first */
} cl_state;

typedef struct consumer {
  char *group;
  const char *domain; /* borrowed from the catalog or config; NULL unmapped */
  size_t cluster;
} consumer;

typedef struct prod {
  skpi_product *p; /* borrowed from the catalog */
  skpi_slo *slo[PS_N];
  double threshold[PS_N], objective[PS_N];
  double *prev_dlq, *prev_src; /* [cluster * ntopics + topic], NaN until seen */
  consumer *c;
  size_t nc;
  double age;      /* newest message age at the last sample, NaN unknown */
  double observed; /* good events of its value target so far, NaN before any */
} prod;

typedef struct products_kpi {
  skpi_kpi_ctx ctx;
  skpi_catalog *cat;
  prod *v;
  size_t n;
  cl_state *cl;
  size_t ncl;
  regex_t *gd;
  size_t ngd;
  regex_t team_re;
  int have_team_re;
  int sampled; /* a sample arrived */
} products_kpi;

/* ---- helpers ---- */

static int cmp_tname(const void *key, const void *el) {
  return strcmp((const char *)key, ((const tstate *)el)->name);
}

static const tstate *find_topic(const cl_state *c, const char *name) {
  if(!c->s || !c->t)
    return NULL;
  return bsearch(name, c->t, c->s->ntopics, sizeof(*c->t), cmp_tname);
}

static int in_product(const skpi_product *p, const char *topic) {
  for(size_t i = 0; i < p->ntopics; i++)
    if(!strcmp(p->topics[i], topic))
      return 1;
  return 0;
}

static int in_any_product(const products_kpi *k, const char *topic) {
  for(size_t i = 0; i < k->n; i++)
    if(in_product(k->v[i].p, topic))
      return 1;
  return 0;
}

/* The domain of a consumer group, or NULL when nothing maps it. */
static const char *group_domain(const products_kpi *k, const char *group) {
  const skpi_config_catalog *cat = &k->ctx.cfg->catalog;
  regmatch_t m[2];
  for(size_t i = 0; i < k->ngd; i++)
    if(regexec(&k->gd[i], group, 0, NULL, 0) == 0)
      return cat->group_domains[i].domain;
  for(size_t i = 0; i < k->n; i++)
    for(size_t j = 0; j < k->v[i].p->nconsumers; j++)
      if(!strcmp(k->v[i].p->consumers[j].group, group))
        return k->v[i].p->consumers[j].domain;
  if(!k->have_team_re || regexec(&k->team_re, group, 2, m, 0) != 0 || m[1].rm_so < 0)
    return NULL;
  size_t tl = (size_t)(m[1].rm_eo - m[1].rm_so);
  const char *dom = NULL;
  for(size_t i = 0; i < k->n; i++) {
    const skpi_product *p = k->v[i].p;
    if(strlen(p->owner) != tl || strncmp(p->owner, group + m[1].rm_so, tl) != 0)
      continue;
    if(dom && strcmp(dom, p->domain) != 0)
      return NULL; /* the team owns products in two domains: not guessed */
    dom = p->domain;
  }
  return dom;
}

static void record(prod *pr, enum pslo s, const skpi_event *ev, double t, int good) {
  skpi_slo_set_excluded(pr->slo[s], ev->maintenance);
  skpi_err rc = skpi_slo_record(pr->slo[s], t, good ? 1 : 0, 1);
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "data product SLO rejected an event", "product", pr->p->name, "slo",
             pslo_name[s], "error", skpi_strerror(rc));
}

/* ---- create / free ---- */

static void kpi_free(void *self) {
  products_kpi *k = self;
  if(!k)
    return;
  for(size_t i = 0; i < k->n; i++) {
    prod *pr = &k->v[i];
    for(int s = 0; s < PS_N; s++)
      skpi_slo_free(pr->slo[s]);
    free(pr->prev_dlq);
    free(pr->prev_src);
    for(size_t j = 0; j < pr->nc; j++)
      free(pr->c[j].group);
    free(pr->c);
  }
  free(k->v);
  for(size_t i = 0; k->cl && i < k->ncl; i++) {
    if(k->cl[i].s)
      skpi_ksample_unref(k->cl[i].s);
    free(k->cl[i].t);
  }
  free(k->cl);
  for(size_t i = 0; i < k->ngd; i++)
    regfree(&k->gd[i]);
  free(k->gd);
  if(k->have_team_re)
    regfree(&k->team_re);
  skpi_catalog_free(k->cat);
  free(k);
}

static skpi_err prod_init(products_kpi *k, prod *pr, skpi_product *p, char *errbuf, size_t errlen) {
  const skpi_config_catalog *cat = &k->ctx.cfg->catalog;
  double thr[PS_N] = {p->freshness_s, p->time_lag_s, p->availability, p->dlq_ratio, p->retention_s};
  size_t cells = (k->ncl ? k->ncl : 1) * (p->ntopics ? p->ntopics : 1);
  pr->p = p;
  pr->age = NAN;
  pr->observed = NAN;
  if(p->value_target) {
    size_t t;
    for(t = 0; t < k->ctx.cfg->ntargets; t++)
      if(k->ctx.cfg->targets[t].kind == SKPI_CONFIG_TARGET_METRICS &&
         !strcmp(k->ctx.cfg->targets[t].name, p->value_target))
        break;
    if(t == k->ctx.cfg->ntargets) {
      snprintf(errbuf, errlen, "%s: value_target \"%s\" of \"%s\" names no metrics target",
               p->origin, p->value_target, p->name);
      return SKPI_EINVAL;
    }
  }
  if(!(pr->prev_dlq = malloc(cells * sizeof(double))) ||
     !(pr->prev_src = malloc(cells * sizeof(double))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < cells; i++)
    pr->prev_dlq[i] = pr->prev_src[i] = NAN;
  for(int s = 0; s < PS_N; s++) {
    pr->threshold[s] = thr[s];
    if(isnan(thr[s]))
      continue;
    char name[300];
    skpi_slo_cfg sc;
    memset(&sc, 0, sizeof(sc));
    snprintf(name, sizeof(name), "%.128s/%s", p->name, pslo_name[s]);
    sc.name = name;
    sc.objective = pr->objective[s] = s == PS_AVAILABILITY ? thr[s] : cat->slo_objective;
    sc.kind = SKPI_SLO_ROLLING;
    sc.window_s = cat->slo_window_s;
    skpi_err rc = skpi_slo_new(&sc, &pr->slo[s]);
    if(rc != SKPI_OK) {
      snprintf(errbuf, errlen, "catalog.products: cannot set up SLO %s of \"%s\"", pslo_name[s],
               p->name);
      return rc;
    }
  }
  return SKPI_OK;
}

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  const skpi_config_catalog *cat = &ctx->cfg->catalog;
  products_kpi *k = calloc(1, sizeof(*k));
  skpi_err rc = SKPI_ENOMEM;
  if(!k)
    return SKPI_ENOMEM;
  k->ctx = *ctx;
  k->ncl = ctx->cfg->nclusters;
  if((rc = skpi_catalog_load(ctx->cfg, &k->cat)) != SKPI_OK)
    goto out;
  for(size_t i = 0; i < k->cat->nerrors; i++)
    skpi_log(SKPI_ERROR, "data product catalog", "error", k->cat->errors[i]);
  rc = SKPI_ENOMEM;
  if(!(k->cl = calloc(k->ncl ? k->ncl : 1, sizeof(*k->cl))) ||
     !(k->v = calloc(k->cat->n ? k->cat->n : 1, sizeof(*k->v))) ||
     !(k->gd = calloc(cat->ngroup_domains ? cat->ngroup_domains : 1, sizeof(*k->gd))))
    goto out;
  for(size_t i = 0; i < k->ncl; i++)
    k->cl[i].at = NAN;
  for(size_t i = 0; i < k->cat->n; i++, k->n++)
    if((rc = prod_init(k, &k->v[i], &k->cat->v[i], errbuf, errlen)) != SKPI_OK)
      goto out;
  for(size_t i = 0; i < cat->ngroup_domains; i++, k->ngd++)
    if((rc = skpi_regex_compile(&k->gd[i], cat->group_domains[i].regex, REG_NOSUB, NULL, 0)) !=
       SKPI_OK) {
      snprintf(errbuf, errlen, "catalog.group_domains: cannot compile %s",
               cat->group_domains[i].regex);
      goto out;
    }
  if(cat->team_regex && *cat->team_regex) {
    if((rc = skpi_regex_compile(&k->team_re, cat->team_regex, 0, NULL, 0)) != SKPI_OK) {
      snprintf(errbuf, errlen, "catalog.team_regex: cannot compile it");
      goto out;
    }
    k->have_team_re = 1;
  }
  *self = k;
  return SKPI_OK;
out:
  if(rc == SKPI_ENOMEM && !errbuf[0])
    snprintf(errbuf, errlen, "catalog: %s", skpi_strerror(rc));
  kpi_free(k);
  return rc;
}

/* ---- observe ---- */

/* Replaces cluster ci's topic states with those of s, carrying history. */
static skpi_err take_sample(products_kpi *k, size_t ci, skpi_ksample *s, double now) {
  cl_state *c = &k->cl[ci];
  tstate *nt = calloc(s->ntopics ? s->ntopics : 1, sizeof(*nt));
  if(!nt)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < s->ntopics; i++) {
    const skpi_ktopic *t = &s->topics[i];
    int64_t high = 0;
    int known = 0;
    for(int p = 0; p < t->nparts; p++)
      if(t->parts[p].high >= 0) {
        high += t->parts[p].high;
        known = 1;
      }
    nt[i].name = t->name;
    nt[i].high = known ? high : -1;
    nt[i].first_seen = now;
    nt[i].last_advance = NAN;
    const tstate *old = find_topic(c, t->name);
    if(old) {
      nt[i].first_seen = old->first_seen;
      nt[i].last_advance = old->last_advance;
      /* The newest message came after the previous sample, whose high it
       * was not in: the age is at most now minus that sample's time, the
       * bound an objective "no older than N s" can be held to. */
      if(old->high >= 0 && nt[i].high > old->high)
        nt[i].last_advance = isnan(c->at) ? now : c->at;
    }
  }
  skpi_ksample_ref(s);
  if(c->s)
    skpi_ksample_unref(c->s);
  free(c->t);
  c->s = s;
  c->t = nt;
  c->at = now;
  return SKPI_OK;
}

static void on_freshness(prod *pr, const cl_state *c, const skpi_event *ev) {
  double age = INFINITY;
  int any = 0, known = 0;
  for(size_t i = 0; i < pr->p->ntopics; i++) {
    const tstate *t = find_topic(c, pr->p->topics[i]);
    if(!t)
      continue;
    any = 1;
    if(!isnan(t->last_advance)) {
      known = 1;
      if(ev->now - t->last_advance < age)
        age = ev->now - t->last_advance;
    } else if(ev->now - t->first_seen < age) {
      age = ev->now - t->first_seen; /* at least this old */
    }
  }
  if(!any)
    return;
  /* Not seen moving and watched for less than the objective: not yet known. */
  if(!known && (isnan(pr->threshold[PS_FRESHNESS]) || !(age > pr->threshold[PS_FRESHNESS]))) {
    pr->age = NAN;
    return;
  }
  pr->age = age;
  if(pr->slo[PS_FRESHNESS])
    record(pr, PS_FRESHNESS, ev, ev->now, age <= pr->threshold[PS_FRESHNESS]);
}

static int group_reads(const skpi_ksample *s, const skpi_kgroup *g, const skpi_product *p) {
  for(size_t i = 0; i < g->ncommits; i++) {
    int32_t ti = g->commits[i].topic;
    if(ti >= 0 && (size_t)ti < s->ntopics && in_product(p, s->topics[ti].name))
      return 1;
  }
  return 0;
}

static int live_group(const skpi_kgroup *g) {
  return !g->state || strcmp(g->state, "Dead") != 0;
}

/* Replaces the consumers pr had on cluster ci with those of s. */
static skpi_err on_consumers(products_kpi *k, prod *pr, size_t ci, const skpi_ksample *s) {
  size_t keep = 0;
  for(size_t j = 0; j < pr->nc; j++) {
    if(pr->c[j].cluster == ci)
      free(pr->c[j].group);
    else
      pr->c[keep++] = pr->c[j];
  }
  pr->nc = keep;
  if(!s->groups_ok)
    return SKPI_OK;
  for(size_t g = 0; g < s->ngroups; g++) {
    const skpi_kgroup *gr = &s->groups[g];
    if(!live_group(gr) || !group_reads(s, gr, pr->p))
      continue;
    consumer *v = realloc(pr->c, (pr->nc + 1) * sizeof(*v));
    if(!v)
      return SKPI_ENOMEM;
    pr->c = v;
    if(!(v[pr->nc].group = strdup(gr->id)))
      return SKPI_ENOMEM;
    v[pr->nc].domain = group_domain(k, gr->id);
    v[pr->nc].cluster = ci;
    pr->nc++;
  }
  return SKPI_OK;
}

static void on_time_lag(products_kpi *k, prod *pr, const skpi_ksample *s, const skpi_event *ev) {
  const void *tl = k->ctx.lookup(&k->ctx, "timelag", ev->cluster);
  double worst = -1;
  if(!tl)
    return;
  for(size_t g = 0; g < s->ngroups; g++) {
    const skpi_kgroup *gr = &s->groups[g];
    double max_s;
    if(live_group(gr) && group_reads(s, gr, pr->p) &&
       skpi_timelag_kpi_group_max(tl, gr->id, ev->now, &max_s) && max_s > worst)
      worst = max_s;
  }
  if(worst >= 0)
    record(pr, PS_TIME_LAG, ev, ev->now, worst <= pr->threshold[PS_TIME_LAG]);
}

static void on_dlq(products_kpi *k, prod *pr, size_t ci, const skpi_event *ev) {
  const void *dq = k->ctx.lookup(&k->ctx, "dlq", ev->cluster);
  double dd = 0, ds = 0;
  int have = 0;
  if(!dq)
    return;
  for(size_t i = 0; i < pr->p->ntopics; i++) {
    double dlq, src;
    size_t cell = ci * pr->p->ntopics + i;
    if(!skpi_dlq_kpi_totals(dq, pr->p->topics[i], &dlq, &src))
      continue;
    double pd = pr->prev_dlq[cell], ps = pr->prev_src[cell];
    pr->prev_dlq[cell] = dlq;
    pr->prev_src[cell] = src;
    if(isnan(pd) || isnan(ps) || dlq < pd || src < ps)
      continue;
    dd += dlq - pd;
    ds += src - ps;
    have = 1;
  }
  if(have && dd + ds > 0) /* no traffic in the interval: no event */
    record(pr, PS_DLQ_RATIO, ev, ev->now, dd / (dd + ds) <= pr->threshold[PS_DLQ_RATIO]);
}

static void on_sample(products_kpi *k, const skpi_event *ev) {
  size_t ci = ev->cluster_idx;
  skpi_ksample *s = (skpi_ksample *)ev->u.sample;
  if(ci >= k->ncl)
    return;
  if(take_sample(k, ci, s, ev->now) != SKPI_OK) {
    skpi_log(SKPI_WARN, "data products skipped a sample", "cluster", ev->cluster, "error",
             skpi_strerror(SKPI_ENOMEM));
    return;
  }
  k->sampled = 1;
  for(size_t i = 0; i < k->n; i++) {
    prod *pr = &k->v[i];
    on_freshness(pr, &k->cl[ci], ev);
    if(on_consumers(k, pr, ci, s) != SKPI_OK)
      skpi_log(SKPI_WARN, "data product consumers incomplete", "product", pr->p->name, "error",
               skpi_strerror(SKPI_ENOMEM));
    if(pr->slo[PS_TIME_LAG])
      on_time_lag(k, pr, s, ev);
    if(pr->slo[PS_DLQ_RATIO])
      on_dlq(k, pr, ci, ev);
  }
}

/* Whether any topic of p is in cluster ci's latest sample. */
static int on_cluster(const products_kpi *k, const prod *pr, size_t ci) {
  for(size_t i = 0; i < pr->p->ntopics; i++)
    if(find_topic(&k->cl[ci], pr->p->topics[i]))
      return 1;
  return 0;
}

static int parse_ms(const char *s, double *out) {
  char *end;
  if(!s || !*s)
    return 0;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if(errno || *end)
    return 0;
  *out = (double)v;
  return 1;
}

static void on_configs(products_kpi *k, const skpi_event *ev) {
  const skpi_topic_configs *tc = ev->u.configs;
  for(size_t i = 0; i < k->n; i++) {
    prod *pr = &k->v[i];
    int seen = 0, good = 1;
    if(!pr->slo[PS_RETENTION])
      continue;
    for(size_t j = 0; j < pr->p->ntopics; j++) {
      const skpi_tc_topic *t = skpi_topic_configs_topic(tc, pr->p->topics[j]);
      double ms;
      if(!t || !t->ok || !parse_ms(t->v[SKPI_TC_RETENTION_MS].value, &ms))
        continue;
      seen = 1;
      /* -1 keeps data forever. */
      if(ms >= 0 && ms / 1000.0 < pr->threshold[PS_RETENTION])
        good = 0;
    }
    if(seen)
      record(pr, PS_RETENTION, ev, ev->now, good);
  }
}

static void kpi_observe(void *self, const skpi_event *ev) {
  products_kpi *k = self;
  if(ev->kind == SKPI_EV_APP_QUALITY) {
    /* Cumulative and counter-reset-safe already: the newest value is the total. */
    for(size_t i = 0; i < k->n; i++)
      if(k->v[i].p->value_target && !strcmp(k->v[i].p->value_target, ev->u.quality.target))
        k->v[i].observed = ev->u.quality.good;
    return;
  }
  if(!ev->cluster)
    return;
  switch(ev->kind) {
  case SKPI_EV_SAMPLE: on_sample(k, ev); break;
  case SKPI_EV_PROBE:
    for(size_t i = 0; ev->cluster_idx < k->ncl && i < k->n; i++)
      if(k->v[i].slo[PS_AVAILABILITY] && on_cluster(k, &k->v[i], ev->cluster_idx))
        record(&k->v[i], PS_AVAILABILITY, ev, ev->u.probe.t1, ev->u.probe.cause == SKPI_CAUSE_NONE);
    break;
  case SKPI_EV_TOPIC_CONFIGS: on_configs(k, ev); break;
  default: break;
  }
}

/* ---- status ---- */

/* 1 met, 0 missed, -1 unknown (no event in the window). */
static int slo_met(const prod *pr, int s, double now, skpi_slo_status *st) {
  skpi_slo_status_at(pr->slo[s], now, st);
  if(isnan(st->attainment))
    return -1;
  return st->attainment >= pr->objective[s];
}

/* 1 every SLO with events met, 0 one missed, -1 none judged. */
static int prod_met(const prod *pr, double now) {
  int judged = 0;
  for(int s = 0; s < PS_N; s++) {
    skpi_slo_status st;
    if(!pr->slo[s])
      continue;
    int m = slo_met(pr, s, now, &st);
    if(m == 0)
      return 0;
    judged |= m == 1;
  }
  return judged ? 1 : -1;
}

static int cross(const prod *pr, const consumer *c) {
  return c->domain && strcmp(c->domain, pr->p->domain) != 0;
}

static void achievement(const products_kpi *k, double now, size_t *judged, size_t *met) {
  *judged = *met = 0;
  for(size_t i = 0; i < k->n; i++) {
    int m = prod_met(&k->v[i], now);
    *judged += m >= 0;
    *met += m == 1;
  }
}

static size_t reused(const products_kpi *k) {
  size_t r = 0;
  for(size_t i = 0; i < k->n; i++)
    for(size_t j = 0; j < k->v[i].nc; j++)
      if(cross(&k->v[i], &k->v[i].c[j])) {
        r++;
        break;
      }
  return r;
}

static int shared_topic(const products_kpi *k, size_t pi, size_t ti) {
  const char *t = k->v[pi].p->topics[ti];
  for(size_t i = 0; i < k->n; i++)
    if(i != pi && in_product(k->v[i].p, t))
      return 1;
  return 0;
}

/* Topics in more than one product, each counted once (and appended to list
 * when not NULL). */
static size_t count_shared(const products_kpi *k, json_t *list) {
  size_t n = 0;
  for(size_t i = 0; i < k->n; i++)
    for(size_t j = 0; j < k->v[i].p->ntopics; j++) {
      int first = 1; /* count a topic once, at its first product */
      for(size_t e = 0; e < i; e++)
        if(in_product(k->v[e].p, k->v[i].p->topics[j]))
          first = 0;
      if(!first || !shared_topic(k, i, j))
        continue;
      n++;
      if(list)
        json_array_append_new(list, json_string(k->v[i].p->topics[j]));
    }
  return n;
}

static int active(const tstate *t, double now) {
  return !isnan(t->last_advance) && now - t->last_advance <= SKPI_PRODUCTS_ACTIVE_S;
}

static size_t count_unowned(const products_kpi *k, double now, json_t *list) {
  size_t n = 0;
  for(size_t c = 0; c < k->ncl; c++) {
    const cl_state *cs = &k->cl[c];
    for(size_t i = 0; cs->s && i < cs->s->ntopics; i++) {
      if(skpi_ksample_topic_internal(&cs->s->topics[i]) || !active(&cs->t[i], now) ||
         in_any_product(k, cs->t[i].name))
        continue;
      n++;
      if(list)
        json_array_append_new(list, json_string(cs->t[i].name));
    }
  }
  return n;
}

/* Topics of pr found in no sampled cluster (only once a sample arrived). */
static size_t count_missing(const products_kpi *k, const prod *pr, json_t *list) {
  size_t n = 0;
  for(size_t i = 0; k->sampled && i < pr->p->ntopics; i++) {
    int found = 0;
    for(size_t c = 0; c < k->ncl && !found; c++)
      found = find_topic(&k->cl[c], pr->p->topics[i]) != NULL;
    if(!found) {
      n++;
      if(list)
        json_array_append_new(list, json_string(pr->p->topics[i]));
    }
  }
  return n;
}

/* ---- facts ---- */

static void kpi_facts(const void *self, double now, skpi_facts *out) {
  const products_kpi *k = self;
  size_t judged, met, declared = 0;
  const char *how = "declare data products in catalog.products or catalog.contracts_dir";
  for(size_t i = 0; i < k->n; i++) {
    int any = 0;
    for(int s = 0; s < PS_N; s++)
      any |= k->v[i].slo[s] != NULL;
    declared += any && *k->v[i].p->owner && *k->v[i].p->domain;
  }
  skpi_fact f = {
      SKPI_FACT_PRODUCTS, NULL, (double)declared, "count", SKPI_PROV_DECLARED, now, NULL};
  skpi_facts_put(out, &f);
  if(k->n)
    skpi_facts_observed(out, SKPI_FACT_MULTI_PRODUCT_TOPICS, NULL, (double)count_shared(k, NULL),
                        "count", now);
  else
    skpi_facts_unknown(out, SKPI_FACT_MULTI_PRODUCT_TOPICS, NULL, "count", how);
  achievement(k, now, &judged, &met);
  if(judged)
    skpi_facts_observed(out, SKPI_FACT_PRODUCT_SLO, NULL, (double)met / (double)judged, "ratio",
                        now);
  else
    skpi_facts_unknown(out, SKPI_FACT_PRODUCT_SLO, NULL, "ratio",
                       k->n ? "no data-product objective has counted an event yet"
                            : "no data product declares an objective (freshness, time_lag, "
                              "availability, dlq_ratio, retention)");
  if(k->n && k->sampled)
    skpi_facts_observed(out, SKPI_FACT_PRODUCT_REUSE, NULL, (double)reused(k) / (double)k->n,
                        "ratio", now);
  else
    skpi_facts_unknown(out, SKPI_FACT_PRODUCT_REUSE, NULL, "ratio",
                       k->n ? "no Kafka sample has arrived yet" : how);
  if(k->sampled)
    skpi_facts_observed(out, SKPI_FACT_UNOWNED_TOPICS, NULL, (double)count_unowned(k, now, NULL),
                        "count", now);
  else
    skpi_facts_unknown(out, SKPI_FACT_UNOWNED_TOPICS, NULL, "count",
                       "no Kafka sample has arrived yet");
}

/* ---- render ---- */

enum {
  F_INFO,
  F_OBJ,
  F_ATT,
  F_BUD,
  F_EV,
  F_MET,
  F_ACH,
  F_AGE,
  F_CONS,
  F_UNMAPPED,
  F_REUSE,
  F_VALUE,
  F_VALUE_TS,
  F_OBSERVED,
  F_MISSING,
  F_SHARED,
  F_UNOWNED,
  F_ERRORS,
  F_N
};

static const struct {
  const char *name;
  enum skpi_mtype type;
  const char *help;
} fams[F_N] = {
    {"streamkpi_data_product_info", SKPI_MT_GAUGE,
     "A declared data product: 1, labelled with its owner and domain."},
    {"streamkpi_data_product_slo_objective_ratio", SKPI_MT_GAUGE,
     "Objective of a data-product SLO (share of good events)."},
    {"streamkpi_data_product_slo_attainment_ratio", SKPI_MT_GAUGE,
     "Share of good events of a data-product SLO over its window."},
    {"streamkpi_data_product_slo_error_budget_remaining_ratio", SKPI_MT_GAUGE,
     "Share of the error budget of a data-product SLO left; negative when overspent."},
    {"streamkpi_data_product_slo_events_total", SKPI_MT_COUNTER,
     "Events counted for a data-product SLO, outside maintenance windows."},
    {"streamkpi_data_product_slo_met", SKPI_MT_GAUGE,
     "1 when a data-product SLO meets its objective over its window, 0 when not; absent "
     "without events."},
    {"streamkpi_data_product_slo_achievement_ratio", SKPI_MT_GAUGE,
     "Share of data products with events meeting every one of their SLOs."},
    {"streamkpi_data_product_freshness_age_seconds", SKPI_MT_GAUGE,
     "Age of the newest message on a data product's topics, from the watermark history."},
    {"streamkpi_data_product_consumers", SKPI_MT_GAUGE,
     "Consumer groups reading a data product, by the consumers' domain."},
    {"streamkpi_data_product_unmapped_consumers", SKPI_MT_GAUGE,
     "Consumer groups reading a data product whose domain is not known."},
    {"streamkpi_data_product_reuse_ratio", SKPI_MT_GAUGE,
     "Share of data products read by at least one group of another domain."},
    {"streamkpi_data_product_value", SKPI_MT_GAUGE,
     "Declared business value of a data product per period, in its currency."},
    {"streamkpi_data_product_value_declared_timestamp_seconds", SKPI_MT_GAUGE,
     "When the business value of a data product was declared."},
    {"streamkpi_data_product_observed_value_total", SKPI_MT_COUNTER,
     "Good events of the metrics target that counts the value a data product delivers."},
    {"streamkpi_data_product_missing_topics", SKPI_MT_GAUGE,
     "Topics of a data product that no watched cluster has."},
    {"streamkpi_data_product_shared_topics", SKPI_MT_GAUGE,
     "Topics declared in more than one data product."},
    {"streamkpi_data_product_unowned_active_topics", SKPI_MT_GAUGE,
     "Topics written to in the last hour that belong to no data product."},
    {"streamkpi_data_product_catalog_errors", SKPI_MT_GAUGE,
     "Products or contract files of the catalog that could not be used."},
};

/* Distinct consumer domains of pr in order of first appearance. */
static skpi_err render_consumers(const prod *pr, int fam, int f_unm, skpi_mset *m) {
  skpi_err rc;
  size_t unmapped = 0;
  for(size_t j = 0; j < pr->nc; j++) {
    const char *d = pr->c[j].domain;
    int first = 1;
    if(!d) {
      unmapped++;
      continue;
    }
    for(size_t e = 0; e < j && first; e++)
      first = !(pr->c[e].domain && !strcmp(pr->c[e].domain, d));
    if(!first)
      continue;
    size_t n = 0;
    for(size_t e = j; e < pr->nc; e++)
      n += pr->c[e].domain && !strcmp(pr->c[e].domain, d);
    if((rc = skpi_mset_add(m, fam, (double)n, "product", pr->p->name, "consumer_domain", d,
                           "cross_domain", cross(pr, &pr->c[j]) ? "true" : "false")) != SKPI_OK)
      return rc;
  }
  return skpi_mset_add(m, f_unm, (double)unmapped, "product", pr->p->name);
}

static skpi_err render_slos(const prod *pr, const int *f, double now, skpi_mset *m) {
  skpi_err rc;
  for(int s = 0; s < PS_N; s++) {
    skpi_slo_status st;
    if(!pr->slo[s])
      continue;
    int met = slo_met(pr, s, now, &st);
    const char *pn = pr->p->name, *sn = pslo_name[s];
    if((rc = skpi_mset_add(m, f[F_OBJ], pr->objective[s], "product", pn, "slo", sn)) != SKPI_OK ||
       (rc = skpi_mset_add(m, f[F_BUD], st.budget_remaining, "product", pn, "slo", sn)) !=
           SKPI_OK ||
       (rc = skpi_mset_add(m, f[F_EV], st.events_total, "product", pn, "slo", sn)) != SKPI_OK)
      return rc;
    if(met >= 0 &&
       ((rc = skpi_mset_add(m, f[F_ATT], st.attainment, "product", pn, "slo", sn)) != SKPI_OK ||
        (rc = skpi_mset_add(m, f[F_MET], met, "product", pn, "slo", sn)) != SKPI_OK))
      return rc;
  }
  return SKPI_OK;
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  const products_kpi *k = self;
  int f[F_N];
  skpi_err rc;
  size_t judged, met;
  for(int i = 0; i < F_N; i++)
    if((f[i] = skpi_mset_family(m, fams[i].name, fams[i].type, fams[i].help)) < 0)
      return SKPI_ENOMEM;
  for(size_t i = 0; i < k->n; i++) {
    const prod *pr = &k->v[i];
    const skpi_product *p = pr->p;
    if((rc = skpi_mset_add(m, f[F_INFO], 1, "product", p->name, "owner", p->owner, "domain",
                           p->domain)) != SKPI_OK ||
       (rc = render_slos(pr, f, now, m)) != SKPI_OK)
      return rc;
    if(!isnan(pr->age) && (rc = skpi_mset_add(m, f[F_AGE], pr->age, "product", p->name)) != SKPI_OK)
      return rc;
    if(k->sampled && ((rc = render_consumers(pr, f[F_CONS], f[F_UNMAPPED], m)) != SKPI_OK ||
                      (rc = skpi_mset_add(m, f[F_MISSING], (double)count_missing(k, pr, NULL),
                                          "product", p->name)) != SKPI_OK))
      return rc;
    if(p->value_date > 0 &&
       ((rc = skpi_mset_add(m, f[F_VALUE], p->value_amount, "product", p->name, "currency",
                            p->value_currency ? p->value_currency : "", "period",
                            p->value_period ? p->value_period : "")) != SKPI_OK ||
        (rc = skpi_mset_add(m, f[F_VALUE_TS], p->value_date, "product", p->name)) != SKPI_OK))
      return rc;
  }
  for(size_t i = 0; i < k->n; i++)
    if(!isnan(k->v[i].observed) && (rc = skpi_mset_add(m, f[F_OBSERVED], k->v[i].observed,
                                                       "product", k->v[i].p->name)) != SKPI_OK)
      return rc;
  achievement(k, now, &judged, &met);
  if(judged && (rc = skpi_mset_add(m, f[F_ACH], (double)met / (double)judged)) != SKPI_OK)
    return rc;
  if(k->n && k->sampled &&
     (rc = skpi_mset_add(m, f[F_REUSE], (double)reused(k) / (double)k->n)) != SKPI_OK)
    return rc;
  if(k->sampled &&
     (rc = skpi_mset_add(m, f[F_UNOWNED], (double)count_unowned(k, now, NULL))) != SKPI_OK)
    return rc;
  if((rc = skpi_mset_add(m, f[F_SHARED], (double)count_shared(k, NULL))) != SKPI_OK)
    return rc;
  return skpi_mset_add(m, f[F_ERRORS], (double)k->cat->nerrors);
}

/* ---- JSON ---- */

static json_t *num_or_null(double x) {
  return isfinite(x) ? json_real(x) : json_null();
}

static json_t *date_text(double t) {
  char buf[32];
  time_t tt = (time_t)t;
  struct tm tm;
  if(!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d", &tm))
    return json_null();
  return json_string(buf);
}

static json_t *prod_json(const products_kpi *k, const prod *pr, double now) {
  const skpi_product *p = pr->p;
  json_t *o = json_object(), *topics = json_array(), *slos = json_object();
  json_t *cons = json_array(), *by = json_object(), *missing = json_array();
  int bad = !o || !topics || !slos || !cons || !by || !missing;
  for(size_t i = 0; !bad && i < p->ntopics; i++)
    bad = json_array_append_new(topics, json_string(p->topics[i])) != 0;
  for(int s = 0; !bad && s < PS_N; s++) {
    skpi_slo_status st;
    if(!pr->slo[s])
      continue;
    int met = slo_met(pr, s, now, &st);
    json_t *e = json_pack("{s:f, s:f, s:o, s:f, s:f, s:o}", "threshold", pr->threshold[s],
                          "objective", pr->objective[s], "attainment", num_or_null(st.attainment),
                          "error_budget_remaining", st.budget_remaining, "events", st.events_total,
                          "met", met < 0 ? json_null() : json_boolean(met));
    bad = !e || json_object_set_new(slos, pslo_name[s], e) != 0;
  }
  size_t unmapped = 0;
  for(size_t j = 0; !bad && j < pr->nc; j++) {
    const consumer *c = &pr->c[j];
    json_t *e = json_pack(
        "{s:s, s:s, s:o, s:b}", "group", c->group, "cluster", k->ctx.cfg->clusters[c->cluster].name,
        "domain", c->domain ? json_string(c->domain) : json_null(), "cross_domain", cross(pr, c));
    bad = !e || json_array_append_new(cons, e) != 0;
    if(!c->domain) {
      unmapped++;
      continue;
    }
    json_t *n = json_object_get(by, c->domain);
    bad = bad ||
          json_object_set_new(by, c->domain, json_integer(n ? json_integer_value(n) + 1 : 1)) != 0;
  }
  count_missing(k, pr, missing);
  int met = prod_met(pr, now);
  json_t *value =
      p->value_date > 0
          ? json_pack("{s:f, s:s, s:s, s:o}", "amount", p->value_amount, "currency",
                      p->value_currency ? p->value_currency : "", "period",
                      p->value_period ? p->value_period : "", "declared", date_text(p->value_date))
          : json_null();
  bad = bad || !value;
  if(!bad) {
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "owner", json_string(p->owner));
    json_object_set_new(o, "domain", json_string(p->domain));
    json_object_set_new(o, "origin", json_string(p->origin));
    json_object_set_new(o, "contract_id",
                        p->contract_id ? json_string(p->contract_id) : json_null());
    json_object_set_new(o, "description",
                        p->description ? json_string(p->description) : json_null());
    json_object_set(o, "topics", topics);
    json_object_set(o, "slos", slos);
    json_object_set_new(o, "slo_met", met < 0 ? json_null() : json_boolean(met));
    json_object_set_new(o, "freshness_age_seconds", num_or_null(pr->age));
    json_object_set(o, "consumers", cons);
    json_object_set(o, "consumers_by_domain", by);
    json_object_set_new(o, "unmapped_consumers", json_integer((json_int_t)unmapped));
    json_object_set(o, "missing_topics", missing);
    json_object_set(o, "value", value);
    json_object_set_new(o, "value_target",
                        p->value_target ? json_string(p->value_target) : json_null());
    json_object_set_new(o, "observed_value_total", num_or_null(pr->observed));
  }
  json_decref(topics);
  json_decref(slos);
  json_decref(cons);
  json_decref(by);
  json_decref(missing);
  json_decref(value);
  if(bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *skpi_products_kpi_json(const void *inst, double now) {
  const products_kpi *k = inst;
  json_t *doc = json_object(), *list = json_array(), *shared = json_array();
  json_t *unowned = json_array(), *errors = json_array();
  int bad = !doc || !list || !shared || !unowned || !errors;
  size_t judged, met;
  for(size_t i = 0; !bad && i < k->n; i++) {
    json_t *o = prod_json(k, &k->v[i], now);
    bad = !o || json_array_append_new(list, o) != 0;
  }
  if(!bad)
    count_shared(k, shared);
  if(k->sampled)
    count_unowned(k, now, unowned);
  for(size_t i = 0; !bad && i < k->cat->nerrors; i++)
    bad = json_array_append_new(errors, json_string(k->cat->errors[i])) != 0;
  achievement(k, now, &judged, &met);
  if(!bad) {
    json_object_set(doc, "products", list);
    json_object_set_new(doc, "slo_achievement_ratio",
                        judged ? json_real((double)met / (double)judged) : json_null());
    json_object_set_new(doc, "reuse_ratio",
                        k->n && k->sampled ? json_real((double)reused(k) / (double)k->n)
                                           : json_null());
    json_object_set(doc, "shared_topics", shared);
    json_object_set(doc, "unowned_active_topics", k->sampled ? unowned : json_null());
    json_object_set(doc, "catalog_errors", errors);
  }
  json_decref(list);
  json_decref(shared);
  json_decref(unowned);
  json_decref(errors);
  if(bad) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

/* ---- save / load: the SLO buckets, {"<product>": {"<slo>": doc}} ---- */

static json_t *kpi_save(void *self, double now) {
  products_kpi *k = self;
  json_t *doc = json_object();
  for(size_t i = 0; doc && i < k->n; i++) {
    json_t *p = json_object();
    for(int s = 0; p && s < PS_N; s++) {
      json_t *d;
      if(!k->v[i].slo[s])
        continue;
      if(!(d = skpi_slo_save(k->v[i].slo[s])) || json_object_set_new(p, pslo_name[s], d) != 0) {
        json_decref(p);
        p = NULL;
      }
    }
    if(!p || json_object_set_new(doc, k->v[i].p->name, p) != 0) {
      json_decref(doc);
      return NULL;
    }
  }
  return doc;
}

/* A malformed SLO starts fresh and is named in errbuf; the others load. */
static skpi_err kpi_load(void *self, const json_t *doc, char *errbuf, size_t errlen) {
  products_kpi *k = self;
  skpi_err rc = SKPI_OK;
  if(!json_is_object(doc)) {
    snprintf(errbuf, errlen, "products: not an object");
    return SKPI_ESTATE;
  }
  for(size_t i = 0; i < k->n; i++) {
    const json_t *p = json_object_get(doc, k->v[i].p->name);
    for(int s = 0; p && s < PS_N; s++) {
      const json_t *d = json_object_get(p, pslo_name[s]);
      if(k->v[i].slo[s] && d && skpi_slo_load(k->v[i].slo[s], d) != SKPI_OK) {
        snprintf(errbuf, errlen, "products: SLO %s of \"%s\" malformed", pslo_name[s],
                 k->v[i].p->name);
        rc = SKPI_ESTATE;
      }
    }
  }
  return rc;
}

const skpi_kpi_ops skpi_kpi_products = {
    "products", 0, kpi_create, kpi_observe, kpi_facts, kpi_render, kpi_save, kpi_load, kpi_free,
};
