/* stateful.c: Kafka Streams and ksqlDB applications and their state topics
 * (see stateful.h). */
#include "streamkpi/stateful.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/kpi.h"
#include "streamkpi/log.h"

#define SUFFIX_CHANGELOG "-changelog"
#define SUFFIX_REPARTITION "-repartition"

static const char *const kind_names[SKPI_STATEFUL_KINDS] = {"kafka_streams", "ksqldb"};

const char *skpi_stateful_kind_name(enum skpi_stateful_kind k) {
  return (unsigned)k < SKPI_STATEFUL_KINDS ? kind_names[k] : "unknown";
}

void skpi_stateful_clear(skpi_stateful *st) {
  for(size_t i = 0; i < st->napps; i++)
    free(st->apps[i].app);
  free(st->apps);
  memset(st, 0, sizeof(*st));
}

static int ends_with(const char *s, size_t n, const char *suffix) {
  size_t m = strlen(suffix);
  return n > m && memcmp(s + n - m, suffix, m) == 0;
}

/* The group whose id is name's longest prefix ending right before a '-',
 * or -1.  Groups are sorted by id. */
static long owner_group(const skpi_ksample *s, const char *name, size_t n) {
  char id[1024];
  for(size_t cut = n; cut-- > 1;) {
    if(name[cut] != '-' || cut >= sizeof(id))
      continue;
    memcpy(id, name, cut);
    id[cut] = 0;
    size_t lo = 0, hi = s->ngroups;
    while(lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp(s->groups[mid].id, id);
      if(c == 0)
        return (long)mid;
      if(c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  }
  return -1;
}

static int64_t group_lag(const skpi_ksample *s, const skpi_kgroup *g) {
  int64_t lag = 0;
  int known = 0;
  for(size_t i = 0; i < g->ncommits; i++) {
    const skpi_kcommit *c = &g->commits[i];
    if(c->topic < 0 || (size_t)c->topic >= s->ntopics)
      continue;
    const skpi_ktopic *t = &s->topics[c->topic];
    if(c->partition < 0 || c->partition >= t->nparts || t->parts[c->partition].high < 0)
      continue;
    int64_t h = t->parts[c->partition].high;
    lag += h > c->offset ? h - c->offset : 0;
    known = 1;
  }
  return known ? lag : -1;
}

skpi_err skpi_stateful_detect(const skpi_ksample *s, skpi_stateful *out) {
  skpi_stateful_clear(out);
  if(!s->groups_ok)
    return SKPI_EINVAL;
  /* Per group: changelog and repartition counts, filled by topic. */
  size_t *counts = calloc(s->ngroups ? 2 * s->ngroups : 1, sizeof(size_t));
  if(!counts)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < s->ntopics; i++) {
    const char *name = s->topics[i].name;
    size_t n = strlen(name);
    int changelog = ends_with(name, n, SUFFIX_CHANGELOG);
    if(s->topics[i].internal || (!changelog && !ends_with(name, n, SUFFIX_REPARTITION)))
      continue;
    long g = owner_group(s, name, n);
    if(g < 0)
      out->orphans++;
    else
      counts[2 * (size_t)g + (changelog ? 0 : 1)]++;
  }
  skpi_err rc = SKPI_OK;
  for(size_t g = 0; g < s->ngroups; g++)
    out->napps += counts[2 * g] || counts[2 * g + 1];
  out->apps = calloc(out->napps ? out->napps : 1, sizeof(skpi_stateful_app));
  if(!out->apps) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  size_t k = 0;
  for(size_t g = 0; g < s->ngroups; g++) {
    if(!counts[2 * g] && !counts[2 * g + 1])
      continue;
    skpi_stateful_app *a = &out->apps[k++];
    if(!(a->app = strdup(s->groups[g].id))) {
      rc = SKPI_ENOMEM;
      goto out;
    }
    a->kind = strncmp(a->app, SKPI_STATEFUL_KSQL_PREFIX, strlen(SKPI_STATEFUL_KSQL_PREFIX)) == 0
                  ? SKPI_STATEFUL_KSQLDB
                  : SKPI_STATEFUL_STREAMS;
    a->changelogs = counts[2 * g];
    a->repartitions = counts[2 * g + 1];
    a->lag = group_lag(s, &s->groups[g]);
  }
out:
  free(counts);
  if(rc != SKPI_OK)
    skpi_stateful_clear(out);
  return rc;
}

skpi_err skpi_stateful_render(const skpi_stateful *st, const char *cluster, skpi_mset *m) {
  int fa = skpi_mset_family(m, "streamkpi_stateful_apps", SKPI_MT_GAUGE,
                            "Stream processing applications with state topics (changelog or "
                            "repartition), by kind.");
  int ft = skpi_mset_family(m, "streamkpi_stateful_app_state_topics", SKPI_MT_GAUGE,
                            "State topics of a stream processing application, by type.");
  int fl = skpi_mset_family(m, "streamkpi_stateful_app_lag_messages", SKPI_MT_GAUGE,
                            "Messages the application's consumer group has not committed yet, "
                            "summed over its partitions.");
  int fo = skpi_mset_family(m, "streamkpi_stateful_orphan_state_topics", SKPI_MT_GAUGE,
                            "Changelog and repartition topics whose application has no consumer "
                            "group.");
  if(fa < 0 || ft < 0 || fl < 0 || fo < 0)
    return SKPI_ENOMEM;
  skpi_err rc = skpi_mset_add(m, fo, (double)st->orphans, "cluster", cluster);
  for(int kind = 0; rc == SKPI_OK && kind < SKPI_STATEFUL_KINDS; kind++) {
    size_t n = 0;
    for(size_t i = 0; i < st->napps; i++)
      n += st->apps[i].kind == (enum skpi_stateful_kind)kind;
    rc = skpi_mset_add(m, fa, (double)n, "cluster", cluster, "kind", kind_names[kind]);
  }
  for(size_t i = 0; rc == SKPI_OK && i < st->napps; i++) {
    const skpi_stateful_app *a = &st->apps[i];
    const char *kind = kind_names[a->kind];
    rc = skpi_mset_add(m, ft, (double)a->changelogs, "cluster", cluster, "app", a->app, "kind",
                       kind, "type", "changelog");
    if(rc == SKPI_OK)
      rc = skpi_mset_add(m, ft, (double)a->repartitions, "cluster", cluster, "app", a->app, "kind",
                         kind, "type", "repartition");
    if(rc == SKPI_OK && a->lag >= 0)
      rc = skpi_mset_add(m, fl, (double)a->lag, "cluster", cluster, "app", a->app, "kind", kind);
  }
  return rc;
}

/* ---- the KPI family ---- */

typedef struct stateful_kpi {
  const char *cluster; /* borrowed from the config */
  int seen;            /* a sample with a group listing was detected */
  double as_of;
  skpi_stateful st;
} stateful_kpi;

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  stateful_kpi *k = calloc(1, sizeof(*k));
  if(!k)
    return SKPI_ENOMEM;
  k->cluster = ctx->cluster->name;
  *self = k;
  return SKPI_OK;
}

static void kpi_observe(void *self, const skpi_event *ev) {
  stateful_kpi *k = self;
  if(ev->kind != SKPI_EV_SAMPLE || !ev->u.sample->groups_ok)
    return;
  skpi_err rc = skpi_stateful_detect(ev->u.sample, &k->st);
  k->seen = rc == SKPI_OK;
  k->as_of = ev->now;
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "stateful detection skipped a sample", "cluster", k->cluster, "error",
             skpi_strerror(rc));
}

static void kpi_facts(const void *self, double now, skpi_facts *out) {
  const stateful_kpi *k = self;
  if(k->seen)
    skpi_facts_observed(out, SKPI_FACT_STATEFUL_APPS, k->cluster, (double)k->st.napps, "count",
                        k->as_of);
  else
    skpi_facts_unknown(out, SKPI_FACT_STATEFUL_APPS, k->cluster, "count",
                       "no sample with a consumer group listing yet");
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  const stateful_kpi *k = self;
  return k->seen ? skpi_stateful_render(&k->st, k->cluster, m) : SKPI_OK;
}

static void kpi_free(void *self) {
  stateful_kpi *k = self;
  if(!k)
    return;
  skpi_stateful_clear(&k->st);
  free(k);
}

const skpi_kpi_ops skpi_kpi_stateful = {
    "stateful", 1, kpi_create, kpi_observe, kpi_facts, kpi_render, NULL, NULL, kpi_free,
};
