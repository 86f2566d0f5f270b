/* consumer_status.c: per-group status over a window (see consumer_status.h). */
#include "streamkpi/consumer_status.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/kpi.h"
#include "streamkpi/log.h"

#define REASON_LEN 256

typedef struct point {
  double t;
  int64_t off, high;
} point;

/* The lag at a point (never negative); derived rather than stored, as a
 * window holds up to max_points of these per group partition. */
static int64_t lag_at(const point *p) {
  return p->high > p->off ? p->high - p->off : 0;
}

typedef struct cpart {
  char *topic;
  int32_t partition;
  point *pts; /* grown up to max_points: a part costs the points it holds,
               * and the next state takes it over without copying them */
  size_t npts, cap;
  double rewind_at; /* < 0: none within memory */
  int64_t rewind_from, rewind_to;
  int64_t low; /* oldest offset at the newest point, -1 unknown */
  int moved;   /* taken over by the next state: topic belongs to it */
} cpart;

typedef struct cgroup {
  char *id;
  cpart *parts; /* sorted by (topic, partition) */
  size_t nparts;
  int members; /* -1 unknown */
  int has_status;
  enum skpi_cstatus_st status;
  int64_t lag; /* sum over partitions of known lag */
  char reason[REASON_LEN];
} cgroup;

struct skpi_cstatus {
  char *cluster;
  skpi_cstatus_cfg cfg;
  cgroup *groups; /* sorted by id */
  size_t ngroups;
  size_t untracked;
};

static const char *const names[SKPI_CSTATUS_COUNT] = {"OK",      "WARNING", "REWIND",
                                                      "STALLED", "STOPPED", "ERROR"};

const char *skpi_cstatus_name(enum skpi_cstatus_st st) {
  return (unsigned)st < SKPI_CSTATUS_COUNT ? names[st] : "unknown";
}

void skpi_cstatus_cfg_default(skpi_cstatus_cfg *cfg) {
  cfg->window_s = SKPI_CSTATUS_WINDOW_S;
  cfg->min_points = SKPI_CSTATUS_MIN_POINTS;
  cfg->max_points = SKPI_CSTATUS_MAX_POINTS;
  cfg->max_tracked = SKPI_CSTATUS_MAX_TRACKED;
}

static void free_groups(cgroup *g, size_t n) {
  for(size_t i = 0; i < n; i++) {
    for(size_t j = 0; j < g[i].nparts; j++)
      if(!g[i].parts[j].moved) {
        free(g[i].parts[j].topic);
        free(g[i].parts[j].pts);
      }
    free(g[i].parts);
    free(g[i].id);
  }
  free(g);
}

skpi_err skpi_cstatus_new(const char *cluster, const skpi_cstatus_cfg *cfg, skpi_cstatus **out) {
  skpi_cstatus_cfg c;
  if(cfg)
    c = *cfg;
  else
    skpi_cstatus_cfg_default(&c);
  if(!cluster || !(c.window_s > 0) || c.min_points < 2 || c.max_points <= c.min_points ||
     c.max_points < 6 || c.max_points > SKPI_CSTATUS_MAX_POINTS)
    return SKPI_EINVAL;
  skpi_cstatus *cs = calloc(1, sizeof(*cs));
  if(!cs || !(cs->cluster = strdup(cluster))) {
    free(cs);
    return SKPI_ENOMEM;
  }
  cs->cfg = c;
  *out = cs;
  return SKPI_OK;
}

void skpi_cstatus_free(skpi_cstatus *cs) {
  if(!cs)
    return;
  free_groups(cs->groups, cs->ngroups);
  free(cs->cluster);
  free(cs);
}

static const cgroup *find_group(const cgroup *g, size_t n, const char *id) {
  size_t lo = 0, hi = n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(g[mid].id, id);
    if(c == 0)
      return &g[mid];
    if(c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static int part_cmp(const char *ta, int32_t pa, const char *tb, int32_t pb) {
  int c = strcmp(ta, tb);
  return c ? c : (pa > pb) - (pa < pb);
}

static const cpart *find_part(const cgroup *g, const char *topic, int32_t partition) {
  size_t lo = 0, hi = g ? g->nparts : 0;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = part_cmp(g->parts[mid].topic, g->parts[mid].partition, topic, partition);
    if(c == 0)
      return &g->parts[mid];
    if(c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Drops points the window no longer needs: everything older than the
 * newest point at or before now - window (the anchor), and when the array
 * is still full the one after the anchor, so the window stays spanned. */
static void prune(cpart *p, double now, const skpi_cstatus_cfg *cfg) {
  size_t keep_from = 0;
  for(size_t i = 0; i < p->npts; i++)
    if(p->pts[i].t <= now - cfg->window_s)
      keep_from = i;
  if(keep_from) {
    memmove(p->pts, p->pts + keep_from, (p->npts - keep_from) * sizeof(point));
    p->npts -= keep_from;
  }
  if(p->npts >= cfg->max_points) {
    memmove(p->pts + 1, p->pts + 2, (p->npts - 2) * sizeof(point));
    p->npts--;
  }
  if(p->rewind_at >= 0 && p->rewind_at < now - cfg->window_s)
    p->rewind_at = -1;
}

static skpi_err add_point(cpart *p, double now, int64_t off, int64_t low, int64_t high,
                          const skpi_cstatus_cfg *cfg) {
  if(p->npts) {
    const point *last = &p->pts[p->npts - 1];
    if(high < last->high) {
      /* The topic was recreated: earlier offsets mean nothing now. */
      p->npts = 0;
      p->rewind_at = -1;
    } else if(off < last->off) {
      p->rewind_at = now;
      p->rewind_from = last->off;
      p->rewind_to = off;
    }
  }
  prune(p, now, cfg);
  /* Points closer than window / (max_points - 4) replace the newest one, so
   * a short sample interval thins the history instead of cutting the
   * window short: the window then holds at most max_points - 2 of them
   * besides the anchor and the newest. */
  double gap = cfg->window_s / (double)(cfg->max_points - 4);
  if(p->npts >= 2 && now - p->pts[p->npts - 2].t < gap)
    p->npts--;
  if(p->npts == p->cap) {
    size_t c = p->cap ? p->cap * 2 : 4;
    if(c > cfg->max_points)
      c = cfg->max_points;
    point *np = realloc(p->pts, c * sizeof(*np));
    if(!np)
      return SKPI_ENOMEM;
    p->pts = np;
    p->cap = c;
  }
  point *pt = &p->pts[p->npts++];
  pt->t = now;
  pt->off = off;
  pt->high = high;
  p->low = low;
  return SKPI_OK;
}

/* Judges one partition; writes a reason for anything but a plain OK. */
static enum skpi_cstatus_st judge(const cpart *p, int members, double now,
                                  const skpi_cstatus_cfg *cfg, char *reason, size_t len) {
  const point *last = &p->pts[p->npts - 1];
  const point *first = &p->pts[0];
  if(p->low >= 0 && last->off < p->low) {
    snprintf(reason, len,
             "%s[%" PRId32 "]: committed offset %" PRId64 " is below the oldest offset %" PRId64
             ": %" PRId64 " records were deleted unread",
             p->topic, p->partition, last->off, p->low, p->low - last->off);
    return SKPI_CSTATUS_ERROR;
  }
  if(p->rewind_at >= 0) {
    snprintf(reason, len,
             "%s[%" PRId32 "]: committed offset went back from %" PRId64 " to %" PRId64, p->topic,
             p->partition, p->rewind_from, p->rewind_to);
    return SKPI_CSTATUS_REWIND;
  }
  if(lag_at(last) == 0)
    return SKPI_CSTATUS_OK;
  if(p->npts < cfg->min_points || first->t > now - cfg->window_s)
    return SKPI_CSTATUS_OK; /* the window is not covered yet */
  /* The lag trend is read at commit points (where the committed offset
   * changed), the anchor and the newest point: between commits the lag
   * always grows, at a commit it drops by what was consumed. */
  int moved = 0, lag_always = 1, growing = 1;
  int64_t prev_lag = lag_at(first);
  for(size_t i = 0; i < p->npts; i++) {
    if(p->pts[i].off != first->off)
      moved = 1;
    if(lag_at(&p->pts[i]) == 0)
      lag_always = 0;
    int commit = i && p->pts[i].off != p->pts[i - 1].off;
    if(commit || i == p->npts - 1) {
      if(lag_at(&p->pts[i]) < prev_lag)
        growing = 0;
      prev_lag = lag_at(&p->pts[i]);
    }
  }
  if(!moved && lag_always) {
    int stopped = members == 0;
    snprintf(reason, len,
             "%s[%" PRId32 "]: committed offset %" PRId64 " unchanged for %.0f s with lag %" PRId64
             "%s",
             p->topic, p->partition, last->off, now - first->t, lag_at(last),
             stopped ? " and no members in the group" : " while the group has members");
    return stopped ? SKPI_CSTATUS_STOPPED : SKPI_CSTATUS_STALLED;
  }
  if(moved && growing && lag_at(last) > lag_at(first)) {
    snprintf(reason, len,
             "%s[%" PRId32 "]: lag grew from %" PRId64 " to %" PRId64 " over %.0f s while the "
             "group committed",
             p->topic, p->partition, lag_at(first), lag_at(last), now - first->t);
    return SKPI_CSTATUS_WARNING;
  }
  return SKPI_CSTATUS_OK;
}

static void judge_group(cgroup *g, double now, const skpi_cstatus_cfg *cfg) {
  char why[REASON_LEN];
  g->has_status = 0;
  g->status = SKPI_CSTATUS_OK;
  g->lag = 0;
  snprintf(g->reason, sizeof(g->reason), "no partition with a known lag");
  for(size_t i = 0; i < g->nparts; i++) {
    const cpart *p = &g->parts[i];
    if(!p->npts)
      continue;
    g->lag += lag_at(&p->pts[p->npts - 1]);
    why[0] = 0;
    enum skpi_cstatus_st st = judge(p, g->members, now, cfg, why, sizeof(why));
    if(!g->has_status || st > g->status) {
      g->status = st;
      if(st == SKPI_CSTATUS_OK)
        snprintf(g->reason, sizeof(g->reason), "caught up or consuming");
      else
        snprintf(g->reason, sizeof(g->reason), "%s", why);
    }
    g->has_status = 1;
  }
}

/* Moves old's partition state into np, or starts it fresh. */
static skpi_err take_part(cpart *np, cgroup *old, const char *topic, int32_t partition) {
  cpart *op = (cpart *)find_part(old, topic, partition);
  if(op && !op->moved) {
    *np = *op;
    op->moved = 1;
    return SKPI_OK;
  }
  memset(np, 0, sizeof(*np));
  np->partition = partition;
  np->rewind_at = -1;
  np->low = -1;
  return (np->topic = strdup(topic)) ? SKPI_OK : SKPI_ENOMEM;
}

/* Builds the new state of group sg from the old one (or fresh). */
static skpi_err build_group(skpi_cstatus *cs, const skpi_ksample *s, const skpi_kgroup *sg,
                            cgroup *old, cgroup *ng, size_t *tracked, double now) {
  skpi_err rc = SKPI_OK;
  memset(ng, 0, sizeof(*ng));
  if(!(ng->id = strdup(sg->id)))
    return SKPI_ENOMEM;
  ng->members = sg->nmembers;
  if(sg->err && old) {
    /* Offsets unreadable this cycle: keep the last judgement. */
    ng->parts = old->parts;
    ng->nparts = old->nparts;
    old->parts = NULL;
    old->nparts = 0;
    ng->has_status = old->has_status;
    ng->status = old->status;
    ng->lag = old->lag;
    memcpy(ng->reason, old->reason, sizeof(ng->reason));
    *tracked += ng->nparts;
    return SKPI_OK;
  }
  ng->parts = calloc(sg->ncommits ? sg->ncommits : 1, sizeof(cpart));
  if(!ng->parts)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < sg->ncommits; i++) {
    const skpi_kcommit *c = &sg->commits[i];
    if(c->topic < 0 || (size_t)c->topic >= s->ntopics)
      continue;
    const skpi_ktopic *t = &s->topics[c->topic];
    if(c->partition < 0 || c->partition >= t->nparts || t->parts[c->partition].high < 0)
      continue;
    if(*tracked >= cs->cfg.max_tracked) {
      cs->untracked++;
      continue;
    }
    const skpi_kpartition *kp = &t->parts[c->partition];
    cpart *np = &ng->parts[ng->nparts];
    if((rc = take_part(np, old, t->name, c->partition)) != SKPI_OK)
      return rc;
    ng->nparts++;
    (*tracked)++;
    if((rc = add_point(np, now, c->offset, kp->low, kp->high, &cs->cfg)) != SKPI_OK)
      return rc;
  }
  judge_group(ng, now, &cs->cfg);
  return SKPI_OK;
}

skpi_err skpi_cstatus_observe(skpi_cstatus *cs, const skpi_ksample *s, double now) {
  if(!s->groups_ok)
    return SKPI_OK;
  cgroup *ng = calloc(s->ngroups ? s->ngroups : 1, sizeof(cgroup));
  if(!ng)
    return SKPI_ENOMEM;
  size_t n = 0, tracked = 0;
  skpi_err rc = SKPI_OK;
  cs->untracked = 0;
  for(size_t i = 0; i < s->ngroups; i++) {
    const skpi_kgroup *sg = &s->groups[i];
    if(!sg->id || (n && strcmp(ng[n - 1].id, sg->id) >= 0))
      continue; /* unsorted or duplicate ids are not judged twice */
    cgroup *old = (cgroup *)find_group(cs->groups, cs->ngroups, sg->id);
    rc = build_group(cs, s, sg, old, &ng[n], &tracked, now);
    n++;
    if(rc != SKPI_OK)
      goto out;
  }
out:
  if(rc != SKPI_OK) {
    /* Some history already moved into ng: drop both and let the next
     * samples rebuild the window rather than keep half a state. */
    free_groups(ng, n);
    free_groups(cs->groups, cs->ngroups);
    cs->groups = NULL;
    cs->ngroups = 0;
    return rc;
  }
  free_groups(cs->groups, cs->ngroups);
  cs->groups = ng;
  cs->ngroups = n;
  return SKPI_OK;
}

int skpi_cstatus_get(const skpi_cstatus *cs, const char *group, enum skpi_cstatus_st *st,
                     const char **reason) {
  const cgroup *g = find_group(cs->groups, cs->ngroups, group);
  if(!g || !g->has_status)
    return 0;
  *st = g->status;
  *reason = g->reason;
  return 1;
}

size_t skpi_cstatus_untracked(const skpi_cstatus *cs) {
  return cs->untracked;
}

skpi_err skpi_cstatus_render(const skpi_cstatus *cs, skpi_mset *m) {
  int f = skpi_mset_family(m, "kafka_consumergroup_status", SKPI_MT_GAUGE,
                           "Consumer group status judged over the status window: 1 for the "
                           "current status, 0 for the others.");
  if(f < 0)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < cs->ngroups; i++) {
    const cgroup *g = &cs->groups[i];
    if(!g->has_status)
      continue;
    for(int st = 0; st < SKPI_CSTATUS_COUNT; st++) {
      skpi_err rc = skpi_mset_add(m, f, st == (int)g->status ? 1.0 : 0.0, "cluster", cs->cluster,
                                  "consumergroup", g->id, "status", names[st]);
      if(rc != SKPI_OK)
        return rc;
    }
  }
  return SKPI_OK;
}

json_t *skpi_cstatus_json(const skpi_cstatus *cs) {
  json_t *arr = json_array();
  json_t *doc = json_pack("{s:s, s:o}", "cluster", cs->cluster, "groups", arr);
  if(!doc)
    return NULL;
  for(size_t i = 0; i < cs->ngroups; i++) {
    const cgroup *g = &cs->groups[i];
    json_t *o = json_pack("{s:s, s:s, s:s}", "group", g->id, "status",
                          g->has_status ? names[g->status] : "unknown", "reason", g->reason);
    if(!o || json_array_append_new(arr, o) != 0)
      goto oom;
    if(g->has_status && json_object_set_new(o, "lag", json_integer(g->lag)) != 0)
      goto oom;
    if(g->members >= 0 && json_object_set_new(o, "members", json_integer(g->members)) != 0)
      goto oom;
  }
  return doc;
oom:
  json_decref(doc);
  return NULL;
}

/* ---- the KPI family ---- */

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  skpi_cstatus *cs;
  skpi_cstatus_cfg cfg;
  skpi_cstatus_cfg_default(&cfg);
  if(ctx->cfg) {
    cfg.window_s = ctx->cfg->consumer_status.window_s;
    cfg.min_points = (size_t)ctx->cfg->consumer_status.min_points;
  }
  skpi_err rc = skpi_cstatus_new(ctx->cluster->name, &cfg, &cs);
  if(rc == SKPI_EINVAL)
    snprintf(errbuf, errlen, "consumer_status: window must be > 0, min_points within 2..32");
  if(rc != SKPI_OK)
    return rc;
  *self = cs;
  return SKPI_OK;
}

static void kpi_observe(void *self, const skpi_event *ev) {
  if(ev->kind != SKPI_EV_SAMPLE)
    return;
  skpi_err rc = skpi_cstatus_observe(self, ev->u.sample, ev->now);
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "consumer status skipped a sample", "cluster", ev->cluster, "error",
             skpi_strerror(rc));
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  return skpi_cstatus_render(self, m);
}

static void kpi_free(void *self) {
  skpi_cstatus_free(self);
}

json_t *skpi_consumer_status_json(const void *inst) {
  return inst ? skpi_cstatus_json(inst) : NULL;
}

const skpi_kpi_ops skpi_kpi_consumer_status = {
    "consumer_status", 1, kpi_create, kpi_observe, NULL, kpi_render, NULL, NULL, kpi_free,
};
