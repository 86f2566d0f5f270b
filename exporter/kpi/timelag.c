/* timelag.c: per-partition watermark histories and time-lag estimates. */
#include "streamkpi/timelag.h"
#include "streamkpi/buf.h"
#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/ntable.h"
#include "streamkpi/state.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Partition ids above this are treated as garbage (Kafka has no such topics). */
#define MAX_PART_ID 1000000
#define MAX_NAME 249

typedef struct tlpart {
  skpi_tlpoint *pts; /* NULL until the first point */
  uint16_t n, cap;
} tlpart;

typedef struct tltopic {
  skpi_nentry h;
  tlpart *parts; /* indexed by partition id */
  int nparts;
} tltopic;

/* The timestamp of the message at a committed offset, read from the broker. */
typedef struct tlexact {
  char *topic;
  int32_t partition;
  int64_t offset;
  double ts;
  enum skpi_msgtime_method method;
  int live;
} tlexact;

struct skpi_timelag {
  char *cluster;
  skpi_timelag_cfg cfg;
  skpi_ntable topics; /* of tltopic */
  size_t npartitions; /* partitions with a ring */
  tlexact *exact;     /* sorted by (topic, partition, offset) */
  size_t nexact;
  uint64_t reads, fallbacks;
};

void skpi_timelag_cfg_default(skpi_timelag_cfg *cfg) {
  cfg->points = 32;
  cfg->max_extrapolate_s = 86400;
  cfg->forget_after_s = 3600;
  cfg->max_partitions = 200000;
}

/* Frees a forgotten topic's histories and uncounts them. */
static void drop_topic(void *e, void *user) {
  tltopic *t = e;
  skpi_timelag *tl = user;
  for(int i = 0; i < t->nparts; i++) {
    if(t->parts[i].pts)
      tl->npartitions--;
    free(t->parts[i].pts);
  }
  free(t->parts);
}

skpi_err skpi_timelag_new(const char *cluster, const skpi_timelag_cfg *cfg, skpi_timelag **out) {
  skpi_timelag_cfg c;
  if(cfg)
    c = *cfg;
  else
    skpi_timelag_cfg_default(&c);
  *out = NULL;
  if(!cluster || c.points < 4 || c.points > 256 || !(c.max_extrapolate_s >= 0) ||
     !(c.forget_after_s >= 0) || !isfinite(c.max_extrapolate_s) || !isfinite(c.forget_after_s))
    return SKPI_EINVAL;
  skpi_timelag *tl = calloc(1, sizeof(*tl));
  if(!tl)
    return SKPI_ENOMEM;
  tl->cluster = strdup(cluster);
  if(!tl->cluster) {
    free(tl);
    return SKPI_ENOMEM;
  }
  tl->cfg = c;
  skpi_ntable_init(&tl->topics, sizeof(tltopic), drop_topic, tl);
  *out = tl;
  return SKPI_OK;
}

static void clear_all(skpi_timelag *tl) {
  skpi_ntable_clear(&tl->topics);
  tl->npartitions = 0;
}

static void clear_exact(skpi_timelag *tl) {
  for(size_t i = 0; i < tl->nexact; i++)
    free(tl->exact[i].topic);
  free(tl->exact);
  tl->exact = NULL;
  tl->nexact = 0;
}

void skpi_timelag_free(skpi_timelag *tl) {
  if(!tl)
    return;
  clear_all(tl);
  clear_exact(tl);
  free(tl->cluster);
  free(tl);
}

/* Removes the interior point whose removal leaves the smallest gap relative
 * to its age, so older history gets sparser than recent history. */
static void thin(tlpart *p, double now) {
  int best = 1;
  double best_score = INFINITY;
  for(int i = 1; i + 1 < p->n; i++) {
    double gap = p->pts[i + 1].t - p->pts[i - 1].t;
    double age = now - p->pts[i].t;
    double score = gap / (age > 1 ? age : 1);
    if(score < best_score) {
      best_score = score;
      best = i;
    }
  }
  memmove(&p->pts[best], &p->pts[best + 1], (size_t)(p->n - best - 1) * sizeof(skpi_tlpoint));
  p->n--;
}

static skpi_err push(tlpart *p, int maxpts, int64_t off, double t) {
  if(p->n == p->cap) {
    if(p->cap >= maxpts) {
      thin(p, t);
    } else {
      int ncap = p->cap ? p->cap * 2 : 2;
      if(ncap > maxpts)
        ncap = maxpts;
      skpi_tlpoint *np = realloc(p->pts, (size_t)ncap * sizeof(*np));
      if(!np)
        return SKPI_ENOMEM;
      p->pts = np;
      p->cap = (uint16_t)ncap;
    }
  }
  p->pts[p->n].off = off;
  p->pts[p->n].t = t;
  p->n++;
  return SKPI_OK;
}

/* Records high at now: a moving watermark appends, a flat one keeps a pair
 * (first seen, last seen) at that value, a falling one restarts. */
static skpi_err record(tlpart *p, int maxpts, int64_t high, double now) {
  if(p->n > 0) {
    skpi_tlpoint *last = &p->pts[p->n - 1];
    if(!(now > last->t))
      return SKPI_OK;
    if(high < last->off) {
      p->n = 0;
    } else if(high == last->off && p->n >= 2 && p->pts[p->n - 2].off == high) {
      last->t = now;
      return SKPI_OK;
    }
  }
  return push(p, maxpts, high, now);
}

/* Grows t->parts to hold id n-1. */
static skpi_err ensure_parts(tltopic *t, int n) {
  if(n <= t->nparts)
    return SKPI_OK;
  tlpart *np = realloc(t->parts, (size_t)n * sizeof(*np));
  if(!np)
    return SKPI_ENOMEM;
  memset(np + t->nparts, 0, (size_t)(n - t->nparts) * sizeof(*np));
  t->parts = np;
  t->nparts = n;
  return SKPI_OK;
}

static skpi_err observe_topic(skpi_timelag *tl, tltopic *t, const skpi_ktopic *kt, double now) {
  skpi_err rc = SKPI_OK;
  t->h.last_seen = now;
  for(int i = 0; i < kt->nparts; i++) {
    const skpi_kpartition *kp = &kt->parts[i];
    if(kp->high < 0 || kp->id < 0 || kp->id >= MAX_PART_ID)
      continue;
    if(kp->id >= t->nparts) {
      if((rc = ensure_parts(t, kp->id + 1)) != SKPI_OK)
        return rc;
    }
    tlpart *p = &t->parts[kp->id];
    if(!p->pts) {
      if(tl->npartitions >= tl->cfg.max_partitions)
        continue;
    }
    int had = p->pts != NULL;
    if((rc = record(p, tl->cfg.points, kp->high, now)) != SKPI_OK)
      return rc;
    if(!had && p->pts)
      tl->npartitions++;
  }
  return rc;
}

skpi_err skpi_timelag_observe(skpi_timelag *tl, const skpi_ksample *s, double now) {
  skpi_err rc = SKPI_OK;
  if(!tl || !s || !isfinite(now))
    return SKPI_EINVAL;
  for(size_t i = 0; i < s->ntopics; i++) {
    const skpi_ktopic *kt = &s->topics[i];
    if(skpi_ksample_topic_internal(kt) || strlen(kt->name) > MAX_NAME)
      continue;
    void *t = skpi_ntable_find(&tl->topics, kt->name);
    if(!t && (rc = skpi_ntable_add(&tl->topics, kt->name, &t)) != SKPI_OK)
      break;
    if((rc = observe_topic(tl, t, kt, now)) != SKPI_OK)
      break;
  }
  /* Forget topics not seen for a while (deleted, or filtered out). */
  skpi_ntable_sweep(&tl->topics, now, tl->cfg.forget_after_s);
  return rc;
}

int skpi_timelag_interp(const skpi_tlpoint *pts, size_t n, int64_t committed, double now,
                        double max_extrapolate_s, double *lag_s) {
  if(n == 0 || committed < 0)
    return 0;
  double t;
  if(committed >= pts[n - 1].off) {
    *lag_s = 0;
    return 1;
  }
  /* First point whose watermark passed committed: message `committed` (the
   * oldest unconsumed) was written after its predecessor, the last point at
   * or below committed.  Bracketing with the first point that merely reached
   * committed would count an idle stretch at that watermark as lag. */
  size_t lo = 0, hi = n - 1;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(pts[mid].off > committed)
      hi = mid;
    else
      lo = mid + 1;
  }
  if(lo > 0) {
    const skpi_tlpoint *a = &pts[lo - 1], *b = &pts[lo];
    double f = (double)(committed - a->off) / (double)(b->off - a->off);
    t = a->t + f * (b->t - a->t);
  } else {
    /* Older than the history: extrapolate at the history's mean rate. */
    t = pts[0].t;
    double span_t = pts[n - 1].t - pts[0].t;
    double span_o = (double)(pts[n - 1].off - pts[0].off);
    if(committed < pts[0].off && span_t > 0 && span_o > 0) {
      double back = (double)(pts[0].off - committed) * span_t / span_o;
      if(!(back <= max_extrapolate_s))
        back = max_extrapolate_s;
      t -= back;
    }
  }
  double lag = now - t;
  *lag_s = isfinite(lag) && lag > 0 ? lag : 0;
  return 1;
}

static int exact_cmp3(const char *topic, int32_t part, int64_t off, const tlexact *e) {
  int c = strcmp(topic, e->topic);
  if(c)
    return c;
  if(part != e->partition)
    return part < e->partition ? -1 : 1;
  return off < e->offset ? -1 : off > e->offset;
}

static int exact_cmp(const void *a, const void *b) {
  const tlexact *x = a;
  return exact_cmp3(x->topic, x->partition, x->offset, b);
}

static tlexact *find_exact_in(tlexact *ex, size_t n, const char *topic, int32_t part, int64_t off) {
  size_t lo = 0, hi = n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = exact_cmp3(topic, part, off, &ex[mid]);
    if(c == 0)
      return &ex[mid];
    if(c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

static tlexact *find_exact(const skpi_timelag *tl, const char *topic, int32_t part, int64_t off) {
  return find_exact_in(tl->exact, tl->nexact, topic, part, off);
}

skpi_err skpi_timelag_add_times(skpi_timelag *tl, const skpi_msgtime *items, size_t n) {
  skpi_err rc = SKPI_OK;
  if(!tl || (n && !items))
    return SKPI_EINVAL;
  if(n == 0)
    return SKPI_OK;
  tlexact *grown = realloc(tl->exact, (tl->nexact + n) * sizeof(*grown));
  if(!grown)
    return SKPI_ENOMEM;
  tl->exact = grown;
  size_t nold = tl->nexact;
  for(size_t i = 0; i < n; i++) {
    const skpi_msgtime *m = &items[i];
    if(!m->topic || m->partition < 0 || m->offset < 0 || !isfinite(m->timestamp) ||
       strlen(m->topic) > MAX_NAME) {
      rc = SKPI_EINVAL;
      continue;
    }
    tlexact *e = find_exact_in(tl->exact, nold, m->topic, m->partition, m->offset);
    if(!e) {
      if(tl->nexact >= tl->cfg.max_partitions) {
        rc = SKPI_ETOOBIG;
        continue;
      }
      char *name = strdup(m->topic);
      if(!name) {
        rc = SKPI_ENOMEM;
        break;
      }
      e = &tl->exact[tl->nexact++];
      *e = (tlexact){.topic = name, .partition = m->partition, .offset = m->offset};
    }
    e->ts = m->timestamp;
    e->method = m->method;
    e->live = 1;
    tl->reads++;
    if(m->method == SKPI_MSGTIME_NEXT)
      tl->fallbacks++;
  }
  if(tl->nexact > nold) {
    qsort(tl->exact, tl->nexact, sizeof(*tl->exact), exact_cmp);
    /* The same offset twice in one batch: keep one. */
    size_t w = 0;
    for(size_t i = 0; i < tl->nexact; i++) {
      if(w > 0 && exact_cmp(&tl->exact[i], &tl->exact[w - 1]) == 0) {
        free(tl->exact[i].topic);
        continue;
      }
      tl->exact[w++] = tl->exact[i];
    }
    tl->nexact = w;
  }
  return rc;
}

void skpi_timelag_keep_times(skpi_timelag *tl, const skpi_ksample *s) {
  for(size_t i = 0; i < tl->nexact; i++)
    tl->exact[i].live = 0;
  for(size_t g = 0; g < s->ngroups; g++)
    for(size_t c = 0; c < s->groups[g].ncommits; c++) {
      const skpi_kcommit *k = &s->groups[g].commits[c];
      if(k->topic < 0 || (size_t)k->topic >= s->ntopics)
        continue;
      tlexact *e = find_exact(tl, s->topics[k->topic].name, k->partition, k->offset);
      if(e)
        e->live = 1;
    }
  size_t w = 0;
  for(size_t i = 0; i < tl->nexact; i++) {
    if(tl->exact[i].live)
      tl->exact[w++] = tl->exact[i];
    else
      free(tl->exact[i].topic);
  }
  tl->nexact = w;
}

const char *skpi_timelag_method_name(enum skpi_timelag_method m) {
  static const char *const names[] = {"current", "interpolated", "extrapolated", "exact", "next"};
  return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "unknown";
}

int skpi_timelag_estimate_how(const skpi_timelag *tl, const char *topic, int32_t partition,
                              int64_t committed, double now, double *lag_s,
                              enum skpi_timelag_method *how) {
  if(!tl || !topic)
    return 0;
  const tltopic *t = skpi_ntable_find(&tl->topics, topic);
  if(!t || partition < 0 || partition >= t->nparts)
    return 0;
  const tlpart *p = &t->parts[partition];
  if(!skpi_timelag_interp(p->pts, p->n, committed, now, tl->cfg.max_extrapolate_s, lag_s))
    return 0;
  enum skpi_timelag_method m = committed >= p->pts[p->n - 1].off ? SKPI_TL_CURRENT
                               : committed >= p->pts[0].off      ? SKPI_TL_INTERPOLATED
                                                                 : SKPI_TL_EXTRAPOLATED;
  if(m == SKPI_TL_EXTRAPOLATED) {
    /* Older than the history: the message's own timestamp, when it was read,
     * replaces the extrapolation.  The message existed when the oldest point
     * was taken, so a producer clock ahead of ours cannot make it younger. */
    const tlexact *e = find_exact(tl, topic, partition, committed);
    if(e) {
      double ts = e->ts < p->pts[0].t ? e->ts : p->pts[0].t;
      double lag = now - ts;
      *lag_s = isfinite(lag) && lag > 0 ? lag : 0;
      m = e->method == SKPI_MSGTIME_NEXT ? SKPI_TL_NEXT : SKPI_TL_EXACT;
    }
  }
  if(how)
    *how = m;
  return 1;
}

int skpi_timelag_estimate(const skpi_timelag *tl, const char *topic, int32_t partition,
                          int64_t committed, double now, double *lag_s) {
  return skpi_timelag_estimate_how(tl, topic, partition, committed, now, lag_s, NULL);
}

/* The time lag of one commit of sample s; 0 when it cannot be estimated. */
static int commit_lag(const skpi_timelag *tl, const skpi_ksample *s, const skpi_kcommit *c,
                      double now, double *lag) {
  if(c->topic < 0 || (size_t)c->topic >= s->ntopics)
    return 0;
  return skpi_timelag_estimate(tl, s->topics[c->topic].name, c->partition, c->offset, now, lag);
}

int skpi_timelag_group_max(const skpi_timelag *tl, const skpi_ksample *s, const skpi_kgroup *g,
                           double now, double *max_s) {
  int any = 0;
  double mx = 0;
  for(size_t i = 0; i < g->ncommits; i++) {
    double lag;
    if(commit_lag(tl, s, &g->commits[i], now, &lag)) {
      if(!any || lag > mx)
        mx = lag;
      any = 1;
    }
  }
  if(any)
    *max_s = mx;
  return any;
}

skpi_err skpi_timelag_render(const skpi_timelag *tl, const skpi_ksample *s, double now,
                             skpi_mset *m) {
  skpi_err rc = SKPI_OK;
  int f_lag = skpi_mset_family(m, "kafka_consumergroup_lag_seconds", SKPI_MT_GAUGE,
                               "Estimated seconds since the high watermark reached the "
                               "committed offset.");
  int f_max = skpi_mset_family(m, "kafka_consumergroup_lag_seconds_max", SKPI_MT_GAUGE,
                               "Largest estimated time lag over the group's partitions.");
  int f_reads = skpi_mset_family(m, "streamkpi_kafka_message_time_reads_total", SKPI_MT_COUNTER,
                                 "Committed messages whose timestamp was read from the broker "
                                 "to time a commit older than the watermark history.");
  int f_fb = skpi_mset_family(m, "streamkpi_kafka_message_time_fallbacks_total", SKPI_MT_COUNTER,
                              "Of those reads, committed offsets that no longer existed "
                              "(compacted or deleted), timed by the next message instead.");
  if(f_lag < 0 || f_max < 0 || f_reads < 0 || f_fb < 0)
    return SKPI_ENOMEM;
  if((rc = skpi_mset_add(m, f_reads, (double)tl->reads, "cluster", tl->cluster)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_fb, (double)tl->fallbacks, "cluster", tl->cluster)) != SKPI_OK)
    return rc;
  for(size_t gi = 0; gi < s->ngroups; gi++) {
    const skpi_kgroup *g = &s->groups[gi];
    int any = 0;
    double mx = 0;
    for(size_t i = 0; i < g->ncommits; i++) {
      const skpi_kcommit *c = &g->commits[i];
      double lag;
      if(!commit_lag(tl, s, c, now, &lag))
        continue;
      const char *topic = s->topics[c->topic].name;
      char part[16];
      snprintf(part, sizeof(part), "%d", (int)c->partition);
      if((rc = skpi_mset_add(m, f_lag, lag, "cluster", tl->cluster, "consumergroup", g->id, "topic",
                             topic, "partition", part)) != SKPI_OK)
        return rc;
      if(!any || lag > mx)
        mx = lag;
      any = 1;
    }
    if(any && (rc = skpi_mset_add(m, f_max, mx, "cluster", tl->cluster, "consumergroup", g->id)) !=
                  SKPI_OK)
      return rc;
  }
  return rc;
}

void skpi_timelag_time_counts(const skpi_timelag *tl, uint64_t *reads, uint64_t *fallbacks) {
  *reads = tl->reads;
  *fallbacks = tl->fallbacks;
}

json_t *skpi_timelag_json(const skpi_timelag *tl, const skpi_ksample *s, double now) {
  json_t *arr = json_array();
  if(!arr)
    return NULL;
  for(size_t gi = 0; gi < s->ngroups; gi++) {
    const skpi_kgroup *g = &s->groups[gi];
    for(size_t i = 0; i < g->ncommits; i++) {
      const skpi_kcommit *c = &g->commits[i];
      if(c->topic < 0 || (size_t)c->topic >= s->ntopics)
        continue;
      const char *topic = s->topics[c->topic].name;
      double lag;
      enum skpi_timelag_method how;
      if(!skpi_timelag_estimate_how(tl, topic, c->partition, c->offset, now, &lag, &how))
        continue;
      json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:f,s:s}", "group", g->id, "topic", topic,
                            "partition", (int)c->partition, "offset", (json_int_t)c->offset,
                            "lag_seconds", lag, "method", skpi_timelag_method_name(how));
      if(!o || json_array_append_new(arr, o) != 0) {
        json_decref(arr);
        return NULL;
      }
    }
  }
  return arr;
}

size_t skpi_timelag_partitions(const skpi_timelag *tl) {
  return tl->npartitions;
}

size_t skpi_timelag_bytes(const skpi_timelag *tl) {
  size_t n = skpi_ntable_len(&tl->topics);
  size_t b = sizeof(*tl) + n * sizeof(tltopic);
  for(size_t i = 0; i < n; i++) {
    const tltopic *t = skpi_ntable_at(&tl->topics, i);
    b += strlen(t->h.name) + 1 + (size_t)t->nparts * sizeof(tlpart);
    for(int j = 0; j < t->nparts; j++)
      b += (size_t)t->parts[j].cap * sizeof(skpi_tlpoint);
  }
  return b;
}

/* One topic's histories as text, one line per partition: "ID OFF T OFF T
 * ...".  A string per topic instead of a JSON node per number keeps the
 * save's memory near the size of the file. */
static json_t *parts_text(const tltopic *t) {
  skpi_buf b;
  skpi_buf_init(&b, (size_t)1 << 30);
  skpi_err rc = SKPI_OK;
  for(int j = 0; rc == SKPI_OK && j < t->nparts; j++) {
    const tlpart *p = &t->parts[j];
    if(!p->n)
      continue;
    rc = skpi_buf_printf(&b, "%s%d", b.len ? "\n" : "", j);
    for(int k = 0; rc == SKPI_OK && k < p->n; k++)
      rc = skpi_buf_printf(&b, " %lld %.17g", (long long)p->pts[k].off, p->pts[k].t);
  }
  json_t *out = rc == SKPI_OK ? json_stringn(b.len ? b.data : "", b.len) : NULL;
  skpi_buf_free(&b);
  return out;
}

json_t *skpi_timelag_save(const skpi_timelag *tl) {
  json_t *doc = json_object();
  json_t *topics = json_array();
  if(!doc || !topics || json_object_set_new(doc, "version", json_integer(2)) != 0 ||
     json_object_set(doc, "topics", topics) != 0)
    goto fail;
  for(size_t i = 0; i < skpi_ntable_len(&tl->topics); i++) {
    const tltopic *t = skpi_ntable_at(&tl->topics, i);
    json_t *jt = json_object();
    json_t *parts = parts_text(t);
    if(!jt || !parts || json_array_append_new(topics, jt) != 0) {
      json_decref(jt);
      json_decref(parts);
      goto fail;
    }
    if(json_object_set_new(jt, "name", json_string(t->h.name)) != 0 ||
       json_object_set_new(jt, "last_seen", json_real(t->h.last_seen)) != 0 ||
       json_object_set_new(jt, "parts", parts) != 0)
      goto fail;
  }
  json_decref(topics);
  return doc;
fail:
  json_decref(topics);
  json_decref(doc);
  return NULL;
}

static int jnum(const json_t *j, double *out) {
  return skpi_state_number(j, -DBL_MAX, DBL_MAX, out);
}

/* Where a partition's points come from: a JSON array [id, off, t, ...]
 * (version 1) or a text line "id off t ..." (version 2). */
typedef struct points_src {
  const json_t *arr; /* version 1, or NULL */
  const char *cur;   /* version 2: the next token */
  const char *end;   /* version 2: end of the line */
} points_src;

/* Reads the next text token as an integer (is_int) or a finite number. */
static int text_num(points_src *src, int is_int, int64_t *iv, double *dv) {
  if(src->cur >= src->end || *src->cur == ' ' || *src->cur == '+')
    return 0;
  char tok[64];
  const char *sp = memchr(src->cur, ' ', (size_t)(src->end - src->cur));
  size_t n = (size_t)((sp ? sp : src->end) - src->cur);
  if(n >= sizeof(tok))
    return 0;
  memcpy(tok, src->cur, n);
  tok[n] = '\0';
  src->cur += n + (sp ? 1 : 0);
  char *e;
  if(is_int) {
    long long v = strtoll(tok, &e, 10);
    *iv = (int64_t)v;
  } else {
    *dv = strtod(tok, &e);
    if(!isfinite(*dv))
      return 0;
  }
  return e == tok + n;
}

/* The k-th point of src (k counts up from 0, one call each). */
static int next_point(points_src *src, size_t k, int64_t *off, double *t) {
  if(src->arr) {
    const json_t *jo = json_array_get(src->arr, 1 + 2 * k);
    if(!json_is_integer(jo) || !jnum(json_array_get(src->arr, 2 + 2 * k), t))
      return 0;
    *off = json_integer_value(jo);
    return 1;
  }
  return text_num(src, 1, off, NULL) && text_num(src, 0, NULL, t);
}

/* Loads partition id's npts points from src into t. */
static skpi_err load_part(skpi_timelag *tl, tltopic *t, int64_t id, size_t npts, points_src *src) {
  skpi_err rc;
  if(id < 0 || id >= MAX_PART_ID || npts == 0)
    return SKPI_EINVAL;
  if((rc = ensure_parts(t, (int)id + 1)) != SKPI_OK)
    return rc;
  tlpart *p = &t->parts[id];
  if(p->pts)
    return SKPI_EINVAL;
  if(tl->npartitions >= tl->cfg.max_partitions)
    return SKPI_OK;
  p->pts = malloc(npts * sizeof(skpi_tlpoint));
  if(!p->pts)
    return SKPI_ENOMEM;
  p->cap = (uint16_t)(npts > (size_t)tl->cfg.points ? (size_t)tl->cfg.points : npts);
  tl->npartitions++;
  for(size_t k = 0; k < npts; k++) {
    int64_t off;
    double tt;
    if(!next_point(src, k, &off, &tt))
      return SKPI_EINVAL;
    if(off < 0 || (k > 0 && (off < p->pts[k - 1].off || !(tt > p->pts[k - 1].t))))
      return SKPI_EINVAL;
    p->pts[k].off = off;
    p->pts[k].t = tt;
  }
  /* Keep the newest points when the ring is now smaller than the file's. */
  if(npts > p->cap) {
    memmove(p->pts, p->pts + (npts - p->cap), p->cap * sizeof(skpi_tlpoint));
    skpi_tlpoint *shrunk = realloc(p->pts, p->cap * sizeof(skpi_tlpoint));
    if(shrunk)
      p->pts = shrunk;
  }
  p->n = p->cap;
  return SKPI_OK;
}

/* Version 1: parts is [[id, off, t, ...], ...]. */
static skpi_err load_parts_json(skpi_timelag *tl, tltopic *t, const json_t *parts) {
  if(!json_is_array(parts))
    return SKPI_EINVAL;
  for(size_t j = 0; j < json_array_size(parts); j++) {
    const json_t *a = json_array_get(parts, j);
    size_t n = json_array_size(a);
    if(!json_is_array(a) || n < 3 || n % 2 == 0 || !json_is_integer(json_array_get(a, 0)))
      return SKPI_EINVAL;
    points_src src = {a, NULL, NULL};
    skpi_err rc = load_part(tl, t, json_integer_value(json_array_get(a, 0)), (n - 1) / 2, &src);
    if(rc != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

/* Version 2: parts is the text of parts_text. */
static skpi_err load_parts_text(skpi_timelag *tl, tltopic *t, const json_t *parts) {
  if(!json_is_string(parts))
    return SKPI_EINVAL;
  const char *s = json_string_value(parts), *end = s + json_string_length(parts);
  while(s < end) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *le = nl ? nl : end;
    size_t tokens = 1;
    for(const char *c = s; c < le; c++)
      tokens += *c == ' ';
    points_src src = {NULL, s, le};
    int64_t id;
    if(tokens < 3 || tokens % 2 == 0 || !text_num(&src, 1, &id, NULL))
      return SKPI_EINVAL;
    skpi_err rc = load_part(tl, t, id, (tokens - 1) / 2, &src);
    if(rc != SKPI_OK)
      return rc;
    s = nl ? nl + 1 : end;
  }
  return SKPI_OK;
}

skpi_err skpi_timelag_load(skpi_timelag *tl, const json_t *doc) {
  skpi_err rc = SKPI_EINVAL;
  clear_all(tl);
  const json_t *topics = json_object_get(doc, "topics");
  const json_t *ver = json_object_get(doc, "version");
  if(!json_is_object(doc) || !json_is_integer(ver) || !json_is_array(topics))
    goto out;
  json_int_t version = json_integer_value(ver);
  if(version != 1 && version != 2)
    goto out;
  size_t n = json_array_size(topics);
  if(n > tl->cfg.max_partitions) {
    goto out;
  }
  for(size_t i = 0; i < n; i++) {
    const json_t *jt = json_array_get(topics, i);
    const json_t *name = json_object_get(jt, "name");
    const json_t *parts = json_object_get(jt, "parts");
    double seen;
    if(!json_is_string(name) || json_string_length(name) == 0 ||
       json_string_length(name) > MAX_NAME || !jnum(json_object_get(jt, "last_seen"), &seen)) {
      rc = SKPI_EINVAL;
      goto out;
    }
    void *e;
    /* A NUL inside the name, or a name twice, is garbage (EINVAL). */
    if(strlen(json_string_value(name)) != json_string_length(name)) {
      rc = SKPI_EINVAL;
      goto out;
    }
    if((rc = skpi_ntable_add(&tl->topics, json_string_value(name), &e)) != SKPI_OK)
      goto out;
    tltopic *t = e;
    t->h.last_seen = seen;
    rc = version == 1 ? load_parts_json(tl, t, parts) : load_parts_text(tl, t, parts);
    if(rc != SKPI_OK)
      goto out;
  }
  skpi_ntable_sort(&tl->topics);
  rc = SKPI_OK;
out:
  if(rc != SKPI_OK)
    clear_all(tl);
  return rc;
}

/* ---- KPI family "timelag" (per cluster) ---- */

typedef struct tl_kpi {
  skpi_timelag *tl;
  skpi_ksample *last; /* newest sample, referenced */
} tl_kpi;

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  tl_kpi *k = calloc(1, sizeof(*k));
  if(!k)
    return SKPI_ENOMEM;
  skpi_timelag_cfg cfg;
  skpi_timelag_cfg_default(&cfg);
  skpi_err rc = skpi_timelag_new(ctx->cluster->name, &cfg, &k->tl);
  if(rc != SKPI_OK) {
    free(k);
    return rc;
  }
  *self = k;
  return SKPI_OK;
}

static void kpi_observe(void *self, const skpi_event *ev) {
  tl_kpi *k = self;
  if(ev->kind == SKPI_EV_MSG_TIMES) {
    skpi_err rc = skpi_timelag_add_times(k->tl, ev->u.msg_times.items, ev->u.msg_times.n);
    if(rc != SKPI_OK)
      skpi_log(SKPI_WARN, "time lag dropped message timestamps", "cluster", ev->cluster, "error",
               skpi_strerror(rc));
    return;
  }
  if(ev->kind != SKPI_EV_SAMPLE)
    return;
  skpi_ksample_ref((skpi_ksample *)ev->u.sample);
  skpi_ksample_unref(k->last);
  k->last = (skpi_ksample *)ev->u.sample;
  skpi_err rc = skpi_timelag_observe(k->tl, ev->u.sample, ev->now);
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "time lag rejected a sample", "cluster", ev->cluster, "error",
             skpi_strerror(rc));
  skpi_timelag_keep_times(k->tl, ev->u.sample);
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  const tl_kpi *k = self;
  return k->last ? skpi_timelag_render(k->tl, k->last, now, m) : SKPI_OK;
}

int skpi_timelag_kpi_group_max(const void *inst, const char *group, double now, double *max_s) {
  const tl_kpi *k = inst;
  const skpi_kgroup *g = k && k->last ? skpi_ksample_group(k->last, group) : NULL;
  return g ? skpi_timelag_group_max(k->tl, k->last, g, now, max_s) : 0;
}

const skpi_timelag *skpi_timelag_kpi_engine(const void *inst) {
  return inst ? ((const tl_kpi *)inst)->tl : NULL;
}

json_t *skpi_timelag_kpi_json(const void *inst, double now) {
  const tl_kpi *k = inst;
  return k && k->last ? skpi_timelag_json(k->tl, k->last, now) : json_array();
}

static json_t *kpi_save(void *self, double now) {
  return skpi_timelag_save(((tl_kpi *)self)->tl);
}

static skpi_err kpi_load(void *self, const json_t *doc, char *errbuf, size_t errlen) {
  skpi_err rc = skpi_timelag_load(((tl_kpi *)self)->tl, doc);
  if(rc != SKPI_OK && errbuf && errlen)
    snprintf(errbuf, errlen, "timelag: malformed section");
  return rc;
}

static void kpi_free(void *self) {
  tl_kpi *k = self;
  if(!k)
    return;
  skpi_timelag_free(k->tl);
  skpi_ksample_unref(k->last);
  free(k);
}

const skpi_kpi_ops skpi_kpi_timelag = {
    "timelag", 1, kpi_create, kpi_observe, NULL, kpi_render, kpi_save, kpi_load, kpi_free,
};
