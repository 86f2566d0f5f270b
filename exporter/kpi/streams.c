/* streams.c: active streams and owning teams. */
#include "streamkpi/streams.h"

#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/ntable.h"

#define MAX_NAME 255
#define MAX_CATALOG 100000
#define DEFAULT_TEAM_REGEX "^([A-Za-z0-9]+)[._-]"

typedef struct stopic {
  skpi_nentry h;
  char *team;         /* NULL when none */
  int conforming;     /* the name matches team_regex */
  double last_moved;  /* -1 never */
  double last_consumed;
  int nparts;
  int64_t hsum; /* -1 when some watermark was unknown */
} stopic;

/* A catalog row: the topic's name and its owning team. */
typedef struct owner {
  skpi_nentry h;
  char *team;
} owner;

struct skpi_streams {
  char *cluster;
  skpi_streams_cfg cfg;
  regex_t re;
  int has_re;
  skpi_ntable catalog; /* of owner */
  skpi_ntable topics;  /* of stopic */
};

void skpi_streams_cfg_default(skpi_streams_cfg *cfg) {
  cfg->window_s = 86400;
  cfg->team_regex = NULL;
  cfg->catalog = NULL;
  cfg->ncatalog = 0;
  cfg->forget_after_s = 3600;
  cfg->max_topics = 100000;
}

static void drop_owner(void *e, void *user) {
  free(((owner *)e)->team);
}

static void drop_stopic(void *e, void *user) {
  free(((stopic *)e)->team);
}

static void clear_topics(skpi_streams *st) {
  skpi_ntable_clear(&st->topics);
}

void skpi_streams_free(skpi_streams *st) {
  if(!st)
    return;
  clear_topics(st);
  skpi_ntable_clear(&st->catalog);
  if(st->has_re)
    regfree(&st->re);
  free(st->cluster);
  free(st);
}

static skpi_err fail(char *errbuf, size_t errlen, const char *what) {
  if(errbuf && errlen)
    snprintf(errbuf, errlen, "%s", what);
  return SKPI_EINVAL;
}

skpi_err skpi_streams_new(const char *cluster, const skpi_streams_cfg *cfg, skpi_streams **out,
                          char *errbuf, size_t errlen) {
  skpi_streams_cfg c;
  if(cfg)
    c = *cfg;
  else
    skpi_streams_cfg_default(&c);
  *out = NULL;
  if(!cluster || !(c.window_s > 0) || !isfinite(c.window_s) || !(c.forget_after_s >= 0) ||
     !isfinite(c.forget_after_s) || c.ncatalog > MAX_CATALOG || (c.ncatalog && !c.catalog))
    return fail(errbuf, errlen, "streams: window, forget_after or catalog size out of range");
  skpi_streams *st = calloc(1, sizeof(*st));
  if(!st)
    return SKPI_ENOMEM;
  st->cfg = c;
  st->cfg.catalog = NULL;
  st->cfg.team_regex = NULL;
  skpi_ntable_init(&st->catalog, sizeof(owner), drop_owner, NULL);
  skpi_ntable_init(&st->topics, sizeof(stopic), drop_stopic, NULL);
  skpi_err rc = SKPI_ENOMEM;
  if(!(st->cluster = strdup(cluster)))
    goto out;
  const char *rx = c.team_regex ? c.team_regex : DEFAULT_TEAM_REGEX;
  if(*rx) {
    if(regcomp(&st->re, rx, REG_EXTENDED) != 0) {
      rc = fail(errbuf, errlen, "streams: team_regex does not compile");
      goto out;
    }
    st->has_re = 1;
    if(st->re.re_nsub < 1) {
      rc = fail(errbuf, errlen, "streams: team_regex needs one capture group");
      goto out;
    }
  }
  for(size_t i = 0; i < c.ncatalog; i++) {
    const skpi_streams_owner *o = &c.catalog[i];
    if(!o->topic || !o->team || !*o->topic || !*o->team || strlen(o->topic) > MAX_NAME ||
       strlen(o->team) > MAX_NAME) {
      rc = fail(errbuf, errlen, "streams: catalog entry without topic or team");
      goto out;
    }
    /* A topic listed twice keeps its first team. */
    if(skpi_ntable_find(&st->catalog, o->topic))
      continue;
    void *e;
    if(skpi_ntable_add(&st->catalog, o->topic, &e) != SKPI_OK ||
       !(((owner *)e)->team = strdup(o->team)))
      goto out;
  }
  skpi_ntable_sort(&st->catalog);
  *out = st;
  return SKPI_OK;
out:
  skpi_streams_free(st);
  return rc;
}

/* Sets t->team and t->conforming from the catalog and the regex. */
static skpi_err assign_team(const skpi_streams *st, stopic *t) {
  regmatch_t mt[2];
  const char *team = NULL;
  size_t tlen = 0;
  t->conforming = st->has_re && regexec(&st->re, t->h.name, 2, mt, 0) == 0;
  const owner *o = skpi_ntable_find(&st->catalog, t->h.name);
  if(o) {
    team = o->team;
    tlen = strlen(team);
  } else if(t->conforming && mt[1].rm_so >= 0 && mt[1].rm_eo > mt[1].rm_so) {
    team = t->h.name + mt[1].rm_so;
    tlen = (size_t)(mt[1].rm_eo - mt[1].rm_so);
  }
  free(t->team);
  t->team = NULL;
  if(team && !(t->team = strndup(team, tlen)))
    return SKPI_ENOMEM;
  return SKPI_OK;
}

skpi_err skpi_streams_observe(skpi_streams *st, const skpi_ksample *s, double now) {
  if(!st || !s || !isfinite(now))
    return SKPI_EINVAL;
  if(s->ntopics == 0)
    return SKPI_OK;
  /* A dead group consumes nothing. */
  unsigned char *consumed = skpi_ksample_consumed(s, 1);
  if(!consumed)
    return SKPI_ENOMEM;
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; i < s->ntopics; i++) {
    const skpi_ktopic *kt = &s->topics[i];
    if(skpi_ksample_topic_internal(kt) || strlen(kt->name) > MAX_NAME)
      continue;
    int64_t hsum = 0;
    for(int p = 0; p < kt->nparts; p++)
      hsum = (kt->parts[p].high < 0 || hsum < 0) ? -1 : hsum + kt->parts[p].high;
    stopic *t = skpi_ntable_find(&st->topics, kt->name);
    if(!t) {
      void *e;
      if(skpi_ntable_len(&st->topics) >= st->cfg.max_topics)
        continue;
      if((rc = skpi_ntable_add(&st->topics, kt->name, &e)) != SKPI_OK)
        break;
      t = e;
      t->last_moved = t->last_consumed = -1;
      t->hsum = -1;
      if((rc = assign_team(st, t)) != SKPI_OK) {
        skpi_ntable_remove(&st->topics, kt->name);
        break;
      }
    } else if(hsum >= 0 && t->hsum >= 0 && kt->nparts == t->nparts && hsum != t->hsum) {
      t->last_moved = now;
    }
    t->nparts = kt->nparts;
    t->hsum = hsum;
    t->h.last_seen = now;
    if(consumed[i])
      t->last_consumed = now;
  }
  free(consumed);
  skpi_ntable_sweep(&st->topics, now, st->cfg.forget_after_s);
  return rc;
}

int skpi_streams_team(const skpi_streams *st, const char *topic, char *team, size_t len) {
  const stopic *t = skpi_ntable_find(&st->topics, topic);
  if(!t || !t->team || strlen(t->team) + 1 > len)
    return 0;
  memcpy(team, t->team, strlen(t->team) + 1);
  return 1;
}

static int active(const skpi_streams *st, const stopic *t, double now) {
  double from = now - st->cfg.window_s;
  return t->last_moved >= 0 && t->last_moved >= from && t->last_consumed >= 0 &&
         t->last_consumed >= from;
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void skpi_streams_counts(const skpi_streams *st, double now, size_t *nactive, size_t *nteams) {
  *nactive = *nteams = 0;
  size_t ntopics = skpi_ntable_len(&st->topics);
  const char **teams = ntopics ? malloc(ntopics * sizeof(char *)) : NULL;
  size_t n = 0;
  for(size_t i = 0; i < ntopics; i++) {
    const stopic *t = skpi_ntable_at(&st->topics, i);
    if(!active(st, t, now))
      continue;
    (*nactive)++;
    if(teams && t->team)
      teams[n++] = t->team;
  }
  /* Without memory for the list, teams stay 0 rather than wrong. */
  if(teams && n) {
    qsort(teams, n, sizeof(char *), str_cmp);
    *nteams = 1;
    for(size_t i = 1; i < n; i++)
      if(strcmp(teams[i - 1], teams[i]) != 0)
        (*nteams)++;
  }
  free(teams);
}

skpi_err skpi_streams_render(const skpi_streams *st, double now, skpi_mset *m) {
  skpi_err rc;
  int f_as = skpi_mset_family(m, "streamkpi_active_streams", SKPI_MT_GAUGE,
                              "Topics with traffic and a consuming group within the window.");
  int f_at = skpi_mset_family(m, "streamkpi_active_teams", SKPI_MT_GAUGE,
                              "Distinct teams owning active streams.");
  int f_sa = skpi_mset_family(m, "streamkpi_stream_active", SKPI_MT_GAUGE,
                              "1 for each active stream, with its owning team.");
  int f_nc = skpi_mset_family(m, "streamkpi_topic_naming_conformance_ratio", SKPI_MT_GAUGE,
                              "Share of topics whose name follows the team naming convention.");
  if(f_as < 0 || f_at < 0 || f_sa < 0 || f_nc < 0)
    return SKPI_ENOMEM;
  size_t na, nt;
  skpi_streams_counts(st, now, &na, &nt);
  if((rc = skpi_mset_add(m, f_as, (double)na, "cluster", st->cluster)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_at, (double)nt, "cluster", st->cluster)) != SKPI_OK)
    return rc;
  size_t ntopics = skpi_ntable_len(&st->topics);
  for(size_t i = 0; i < ntopics; i++) {
    const stopic *t = skpi_ntable_at(&st->topics, i);
    if(active(st, t, now) &&
       (rc = skpi_mset_add(m, f_sa, 1, "cluster", st->cluster, "topic", t->h.name, "team",
                           t->team ? t->team : "")) != SKPI_OK)
      return rc;
  }
  double ratio;
  if(skpi_streams_naming_ratio(st, &ratio) &&
     (rc = skpi_mset_add(m, f_nc, ratio, "cluster", st->cluster)) != SKPI_OK)
    return rc;
  return SKPI_OK;
}

int skpi_streams_naming_ratio(const skpi_streams *st, double *out) {
  size_t n = skpi_ntable_len(&st->topics);
  if(!st->has_re || !n)
    return 0;
  size_t conf = 0;
  for(size_t i = 0; i < n; i++)
    conf += ((const stopic *)skpi_ntable_at(&st->topics, i))->conforming != 0;
  *out = (double)conf / (double)n;
  return 1;
}

json_t *skpi_streams_save(const skpi_streams *st) {
  json_t *a = json_array();
  json_t *doc = json_pack("{s:i,s:o}", "version", 1, "topics", a);
  if(!doc)
    return NULL;
  for(size_t i = 0; i < skpi_ntable_len(&st->topics); i++) {
    const stopic *t = skpi_ntable_at(&st->topics, i);
    json_t *row = json_pack("[s,f,f,f,I,I]", t->h.name, t->last_moved, t->last_consumed,
                            t->h.last_seen, (json_int_t)t->nparts, (json_int_t)t->hsum);
    if(!row || json_array_append_new(a, row)) {
      json_decref(doc);
      return NULL;
    }
  }
  return doc;
}

static int time_ok(double t, int allow_unset) {
  return isfinite(t) && (t >= 0 || (allow_unset && t == -1));
}

skpi_err skpi_streams_load(skpi_streams *st, const json_t *doc) {
  skpi_err rc = SKPI_EINVAL;
  int ver;
  json_t *a;
  clear_topics(st);
  if(!doc || json_unpack((json_t *)doc, "{s:i,s:o}", "version", &ver, "topics", &a) != 0 ||
     ver != 1 || !json_is_array(a) || json_array_size(a) > st->cfg.max_topics)
    goto out;
  size_t n = json_array_size(a);
  for(size_t i = 0; i < n; i++) {
    const char *name;
    double moved, consumed, seen;
    json_int_t np, hs;
    void *e;
    if(json_unpack(json_array_get(a, i), "[s,F,F,F,I,I!]", &name, &moved, &consumed, &seen, &np,
                   &hs) != 0 ||
       !*name || strlen(name) > MAX_NAME || !time_ok(moved, 1) || !time_ok(consumed, 1) ||
       !time_ok(seen, 0) || np < 0 || np > 1000000 || hs < -1)
      goto out;
    /* A name twice is garbage (EINVAL). */
    if((rc = skpi_ntable_add(&st->topics, name, &e)) != SKPI_OK)
      goto out;
    stopic *t = e;
    t->last_moved = moved;
    t->last_consumed = consumed;
    t->h.last_seen = seen;
    t->nparts = (int)np;
    t->hsum = hs;
    if((rc = assign_team(st, t)) != SKPI_OK)
      goto out;
    rc = SKPI_EINVAL;
  }
  skpi_ntable_sort(&st->topics);
  rc = SKPI_OK;
out:
  if(rc != SKPI_OK)
    clear_topics(st);
  return rc;
}

/* ---- KPI family "streams" (per cluster) ---- */

typedef struct streams_kpi {
  skpi_streams *st;
  int seen; /* a sample with metadata arrived */
} streams_kpi;

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  skpi_streams_cfg cfg;
  skpi_streams_cfg_default(&cfg);
  const skpi_config_catalog *cat = &ctx->cfg->catalog;
  cfg.team_regex = cat->team_regex;
  size_t nown = 0;
  for(size_t i = 0; i < cat->nproducts; i++)
    nown += cat->products[i].topics.n;
  skpi_streams_owner *owners = calloc(nown ? nown : 1, sizeof(*owners));
  streams_kpi *k = calloc(1, sizeof(*k));
  skpi_err rc = SKPI_ENOMEM;
  if(!owners || !k)
    goto out;
  nown = 0;
  for(size_t i = 0; i < cat->nproducts; i++) {
    const skpi_config_product *prod = &cat->products[i];
    for(size_t j = 0; j < prod->topics.n; j++) {
      owners[nown].topic = prod->topics.v[j];
      owners[nown].team = prod->owner;
      nown++;
    }
  }
  cfg.catalog = owners;
  cfg.ncatalog = nown;
  if((rc = skpi_streams_new(ctx->cluster->name, &cfg, &k->st, errbuf, errlen)) != SKPI_OK)
    goto out;
  *self = k;
  k = NULL;
out:
  free(owners);
  free(k);
  return rc;
}

static void kpi_observe(void *self, const skpi_event *ev) {
  streams_kpi *k = self;
  if(ev->kind != SKPI_EV_SAMPLE)
    return;
  if(ev->u.sample->ntopics)
    k->seen = 1;
  skpi_err rc = skpi_streams_observe(k->st, ev->u.sample, ev->now);
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "streams rejected a sample", "cluster", ev->cluster, "error",
             skpi_strerror(rc));
}

static void kpi_facts(const void *self, double now, skpi_facts *out) {
  const streams_kpi *k = self;
  const char *c = k->st->cluster;
  if(!k->seen) {
    const char *why = "no sample with topic metadata yet";
    skpi_facts_unknown(out, SKPI_FACT_ACTIVE_STREAMS, c, "count", why);
    skpi_facts_unknown(out, SKPI_FACT_ACTIVE_TEAMS, c, "count", why);
    skpi_facts_unknown(out, SKPI_FACT_NAMING_RATIO, c, "ratio", why);
    return;
  }
  size_t na, nt;
  double ratio;
  skpi_streams_counts(k->st, now, &na, &nt);
  skpi_facts_observed(out, SKPI_FACT_ACTIVE_STREAMS, c, (double)na, "count", now);
  skpi_facts_observed(out, SKPI_FACT_ACTIVE_TEAMS, c, (double)nt, "count", now);
  if(skpi_streams_naming_ratio(k->st, &ratio))
    skpi_facts_observed(out, SKPI_FACT_NAMING_RATIO, c, ratio, "ratio", now);
  else
    skpi_facts_unknown(out, SKPI_FACT_NAMING_RATIO, c, "ratio",
                       k->st->has_re ? "no topic seen" : "catalog.team_regex is disabled");
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  return skpi_streams_render(((const streams_kpi *)self)->st, now, m);
}

static json_t *kpi_save(void *self, double now) {
  return skpi_streams_save(((streams_kpi *)self)->st);
}

static skpi_err kpi_load(void *self, const json_t *doc, char *errbuf, size_t errlen) {
  skpi_err rc = skpi_streams_load(((streams_kpi *)self)->st, doc);
  if(rc != SKPI_OK && errbuf && errlen)
    snprintf(errbuf, errlen, "streams: malformed section");
  return rc;
}

static void kpi_free(void *self) {
  streams_kpi *k = self;
  if(!k)
    return;
  skpi_streams_free(k->st);
  free(k);
}

const skpi_kpi_ops skpi_kpi_streams = {
    "streams", 1, kpi_create, kpi_observe, kpi_facts, kpi_render, kpi_save, kpi_load, kpi_free,
};
