/* replication.c: MirrorMaker 2 flows and watermark replication lag (see
 * replication.h). */
#include "streamkpi/replication.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/kpi.h"

#define NAME_MAX_LEN 512

/* Movement of one watermark sum of a target cluster's topic. */
typedef struct moved {
  int64_t sum;     /* -1 unknown */
  double moved_at; /* sample time of the last increase, -1 none seen */
} moved;

struct skpi_repl {
  char **names;
  size_t n;
  char *probe;
  skpi_ksample **last; /* per cluster, NULL until its first sample */
  moved *hb, *ck;      /* [source * n + target]: "<source>.heartbeats" and
                          "<source>.checkpoints.internal" in target */
};

static const char *const policy_names[] = {"default", "identity"};

skpi_err skpi_repl_new(const char *const *names, size_t n, const char *probe_topic,
                       skpi_repl **out) {
  skpi_repl *r = calloc(1, sizeof(*r));
  if(!r)
    return SKPI_ENOMEM;
  r->n = n;
  r->names = calloc(n ? n : 1, sizeof(char *));
  r->last = calloc(n ? n : 1, sizeof(skpi_ksample *));
  r->hb = calloc(n ? n * n : 1, sizeof(moved));
  r->ck = calloc(n ? n * n : 1, sizeof(moved));
  if(!r->names || !r->last || !r->hb || !r->ck ||
     (probe_topic && !(r->probe = strdup(probe_topic))))
    goto oom;
  for(size_t i = 0; i < n * n; i++) {
    r->hb[i] = (moved){-1, -1};
    r->ck[i] = (moved){-1, -1};
  }
  for(size_t i = 0; i < n; i++)
    if(!(r->names[i] = strdup(names[i])))
      goto oom;
  *out = r;
  return SKPI_OK;
oom:
  skpi_repl_free(r);
  return SKPI_ENOMEM;
}

void skpi_repl_free(skpi_repl *r) {
  if(!r)
    return;
  for(size_t i = 0; i < r->n; i++) {
    if(r->names)
      free(r->names[i]);
    if(r->last)
      skpi_ksample_unref(r->last[i]);
  }
  free(r->names);
  free(r->last);
  free(r->hb);
  free(r->ck);
  free(r->probe);
  free(r);
}

/* Sum of the high watermarks of topic "<alias><suffix>" in s, or -1 when
 * absent or a watermark is unknown. */
static int64_t hsum(const skpi_ksample *s, const char *alias, const char *suffix) {
  char name[NAME_MAX_LEN];
  int len = snprintf(name, sizeof(name), "%s%s", alias, suffix);
  const skpi_ktopic *t = len > 0 && (size_t)len < sizeof(name) ? skpi_ksample_topic(s, name) : NULL;
  if(!t || t->nparts <= 0)
    return -1;
  int64_t sum = 0;
  for(int p = 0; p < t->nparts; p++) {
    if(t->parts[p].high < 0)
      return -1;
    sum += t->parts[p].high;
  }
  return sum;
}

static void track(moved *m, int64_t sum, double t) {
  if(sum < 0)
    return; /* unknown this cycle: keep what was known */
  if(m->sum >= 0 && sum > m->sum)
    m->moved_at = t;
  m->sum = sum;
}

void skpi_repl_observe(skpi_repl *r, size_t idx, const skpi_ksample *s) {
  if(idx >= r->n || !s || s->ntopics == 0)
    return;
  skpi_ksample_ref((skpi_ksample *)s);
  skpi_ksample_unref(r->last[idx]);
  r->last[idx] = (skpi_ksample *)s;
  for(size_t si = 0; si < r->n; si++) {
    if(si == idx)
      continue;
    track(&r->hb[si * r->n + idx], hsum(s, r->names[si], ".heartbeats"), s->time);
    track(&r->ck[si * r->n + idx], hsum(s, r->names[si], ".checkpoints.internal"), s->time);
  }
}

int skpi_repl_heartbeat_age(const skpi_repl *r, size_t source, size_t target, double now,
                            double *age) {
  if(source >= r->n || target >= r->n || r->hb[source * r->n + target].moved_at < 0)
    return 0;
  double a = now - r->hb[source * r->n + target].moved_at;
  *age = a > 0 ? a : 0;
  return 1;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Topics that are MM2's own or the exporter's, never data being mirrored. */
static int excluded(const skpi_repl *r, const char *name) {
  return strncmp(name, "__", 2) == 0 || strncmp(name, "mm2-", 4) == 0 ||
         strcmp(name, "heartbeats") == 0 || ends_with(name, ".heartbeats") ||
         ends_with(name, ".checkpoints.internal") || (r->probe && strcmp(name, r->probe) == 0);
}

static int has_topicf(const skpi_ksample *s, const char *fmt, const char *alias) {
  char name[NAME_MAX_LEN];
  int len = snprintf(name, sizeof(name), fmt, alias);
  return len > 0 && (size_t)len < sizeof(name) && skpi_ksample_topic(s, name) != NULL;
}

static int is_flow(const skpi_repl *r, size_t si, size_t ti) {
  const skpi_ksample *s = r->last[si], *t = r->last[ti];
  return si != ti && s && t &&
         (has_topicf(s, "mm2-offset-syncs.%s.internal", r->names[ti]) ||
          has_topicf(t, "%s.heartbeats", r->names[si]) ||
          has_topicf(t, "%s.checkpoints.internal", r->names[si]));
}

/* Sum over partitions of source minus target high watermark, or -1 when the
 * partition counts differ or a watermark is unknown. */
static int64_t topic_lag(const skpi_ktopic *src, const skpi_ktopic *dst) {
  if(src->nparts != dst->nparts || src->nparts <= 0)
    return -1;
  int64_t lag = 0;
  for(int p = 0; p < src->nparts; p++) {
    int64_t a = src->parts[p].high, b = dst->parts[p].high;
    if(a < 0 || b < 0)
      return -1;
    lag += a > b ? a - b : 0;
  }
  return lag;
}

typedef void (*topic_cb)(void *user, const char *topic, int64_t lag);

/* Calls cb for every mirrored topic of flow si -> ti under policy; returns
 * how many. */
static size_t walk(const skpi_repl *r, size_t si, size_t ti, enum skpi_repl_policy policy,
                   topic_cb cb, void *user) {
  const skpi_ksample *s = r->last[si], *t = r->last[ti];
  size_t plen = strlen(r->names[si]), count = 0;
  for(size_t i = 0; i < t->ntopics; i++) {
    const char *name = t->topics[i].name;
    if(policy == SKPI_REPL_DEFAULT) {
      if(strncmp(name, r->names[si], plen) != 0 || name[plen] != '.')
        continue;
      name += plen + 1;
    }
    if(excluded(r, name))
      continue;
    const skpi_ktopic *src = skpi_ksample_topic(s, name);
    if(!src)
      continue;
    count++;
    if(cb)
      cb(user, name, topic_lag(src, &t->topics[i]));
  }
  return count;
}

static enum skpi_repl_policy policy_of(const skpi_repl *r, size_t si, size_t ti) {
  return walk(r, si, ti, SKPI_REPL_DEFAULT, NULL, NULL) ? SKPI_REPL_DEFAULT : SKPI_REPL_IDENTITY;
}

int skpi_repl_count(const skpi_repl *r, size_t *flows) {
  if(r->n < 2)
    return 0;
  for(size_t i = 0; i < r->n; i++)
    if(!r->last[i])
      return 0;
  *flows = 0;
  for(size_t si = 0; si < r->n; si++)
    for(size_t ti = 0; ti < r->n; ti++)
      *flows += is_flow(r, si, ti);
  return 1;
}

static long cluster_index(const skpi_repl *r, const char *name) {
  for(size_t i = 0; i < r->n; i++)
    if(strcmp(r->names[i], name) == 0)
      return (long)i;
  return -1;
}

typedef struct find_ctx {
  const char *topic;
  int found;
  int64_t lag;
} find_ctx;

static void find_cb(void *user, const char *topic, int64_t lag) {
  find_ctx *f = user;
  if(!f->found && strcmp(topic, f->topic) == 0) {
    f->found = 1;
    f->lag = lag;
  }
}

int skpi_repl_lag(const skpi_repl *r, const char *source, const char *target, const char *topic,
                  int64_t *lag) {
  long si = cluster_index(r, source), ti = cluster_index(r, target);
  if(si < 0 || ti < 0 || !is_flow(r, (size_t)si, (size_t)ti))
    return 0;
  find_ctx f = {topic, 0, -1};
  walk(r, (size_t)si, (size_t)ti, policy_of(r, (size_t)si, (size_t)ti), find_cb, &f);
  if(!f.found || f.lag < 0)
    return 0;
  *lag = f.lag;
  return 1;
}

typedef struct render_ctx {
  skpi_mset *m;
  int fam_lag;
  const char *source, *target;
  skpi_err rc;
  int64_t sum;
  size_t known, unknown;
} render_ctx;

static void render_cb(void *user, const char *topic, int64_t lag) {
  render_ctx *c = user;
  if(lag < 0) {
    c->unknown++;
    return;
  }
  c->known++;
  c->sum += lag;
  if(c->rc == SKPI_OK)
    c->rc = skpi_mset_add(c->m, c->fam_lag, (double)lag, "source", c->source, "target", c->target,
                          "topic", topic);
}

skpi_err skpi_repl_render(const skpi_repl *r, double now, skpi_mset *m) {
  int fi = skpi_mset_family(m, "streamkpi_replication_flow_info", SKPI_MT_INFO,
                            "A MirrorMaker 2 flow between two configured clusters.");
  int ft = skpi_mset_family(m, "streamkpi_replication_topics", SKPI_MT_GAUGE,
                            "Topics mirrored by the flow.");
  int fl = skpi_mset_family(m, "streamkpi_replication_lag_messages", SKPI_MT_GAUGE,
                            "Source minus target high watermarks of a mirrored topic, summed "
                            "over its partitions (an approximation: see the docs).");
  int fs = skpi_mset_family(m, "streamkpi_replication_flow_lag_messages", SKPI_MT_GAUGE,
                            "Replication lag in messages summed over the flow's topics with a "
                            "known lag.");
  int fu = skpi_mset_family(m, "streamkpi_replication_lag_unknown_topics", SKPI_MT_GAUGE,
                            "Mirrored topics without a lag: partition counts differ or a "
                            "watermark is unknown.");
  int fh = skpi_mset_family(m, "streamkpi_replication_heartbeat_age_seconds", SKPI_MT_GAUGE,
                            "Seconds since the target's copy of the source's heartbeats topic "
                            "last grew.");
  int fc = skpi_mset_family(m, "streamkpi_replication_checkpoint_age_seconds", SKPI_MT_GAUGE,
                            "Seconds since the target's checkpoints topic for the source last "
                            "grew.");
  if(fi < 0 || ft < 0 || fl < 0 || fs < 0 || fu < 0 || fh < 0 || fc < 0)
    return SKPI_ENOMEM;
  for(size_t si = 0; si < r->n; si++)
    for(size_t ti = 0; ti < r->n; ti++) {
      if(!is_flow(r, si, ti))
        continue;
      enum skpi_repl_policy pol = policy_of(r, si, ti);
      render_ctx c = {m, fl, r->names[si], r->names[ti], SKPI_OK, 0, 0, 0};
      size_t n = walk(r, si, ti, pol, render_cb, &c);
      skpi_err rc = c.rc;
      if(rc == SKPI_OK)
        rc = skpi_mset_add(m, fi, 1, "source", c.source, "target", c.target, "policy",
                           policy_names[pol]);
      if(rc == SKPI_OK)
        rc = skpi_mset_add(m, ft, (double)n, "source", c.source, "target", c.target);
      if(rc == SKPI_OK)
        rc = skpi_mset_add(m, fu, (double)c.unknown, "source", c.source, "target", c.target);
      if(rc == SKPI_OK && c.known)
        rc = skpi_mset_add(m, fs, (double)c.sum, "source", c.source, "target", c.target);
      double age;
      if(rc == SKPI_OK && skpi_repl_heartbeat_age(r, si, ti, now, &age))
        rc = skpi_mset_add(m, fh, age, "source", c.source, "target", c.target);
      const moved *ck = &r->ck[si * r->n + ti];
      if(rc == SKPI_OK && ck->moved_at >= 0)
        rc = skpi_mset_add(m, fc, now > ck->moved_at ? now - ck->moved_at : 0, "source", c.source,
                           "target", c.target);
      if(rc != SKPI_OK)
        return rc;
    }
  return SKPI_OK;
}

/* ---- the KPI family ---- */

typedef struct repl_kpi {
  skpi_repl *r;
  double as_of; /* time of the newest sample */
} repl_kpi;

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  size_t n = ctx->cfg->nclusters;
  const char **names = calloc(n ? n : 1, sizeof(char *));
  repl_kpi *k = calloc(1, sizeof(*k));
  skpi_err rc = SKPI_ENOMEM;
  if(!names || !k)
    goto out;
  for(size_t i = 0; i < n; i++)
    names[i] = ctx->cfg->clusters[i].name;
  const char *probe = ctx->cfg->probe.topic;
  if((rc = skpi_repl_new(names, n, probe, &k->r)) != SKPI_OK)
    goto out;
  *self = k;
  k = NULL;
out:
  free(names);
  free(k);
  return rc;
}

static void kpi_observe(void *self, const skpi_event *ev) {
  repl_kpi *k = self;
  if(ev->kind != SKPI_EV_SAMPLE || !ev->cluster)
    return;
  skpi_repl_observe(k->r, ev->cluster_idx, ev->u.sample);
  k->as_of = ev->now;
}

static void kpi_facts(const void *self, double now, skpi_facts *out) {
  const repl_kpi *k = self;
  size_t flows;
  if(skpi_repl_count(k->r, &flows))
    skpi_facts_observed(out, SKPI_FACT_REPLICATION_FLOWS, NULL, (double)flows, "count", k->as_of);
  else
    skpi_facts_unknown(out, SKPI_FACT_REPLICATION_FLOWS, NULL, "count",
                       k->r->n < 2 ? "configure two or more clusters (MirrorMaker 2 aliases "
                                     "equal to the cluster names)"
                                   : "not every cluster has finished a sampling cycle yet");
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  return skpi_repl_render(((const repl_kpi *)self)->r, now, m);
}

static void kpi_free(void *self) {
  repl_kpi *k = self;
  if(!k)
    return;
  skpi_repl_free(k->r);
  free(k);
}

const skpi_kpi_ops skpi_kpi_replication = {
    "replication", 0, kpi_create, kpi_observe, kpi_facts, kpi_render, NULL, NULL, kpi_free,
};
