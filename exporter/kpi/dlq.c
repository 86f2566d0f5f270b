/* dlq.c: DLQ topics, watermark-delta counters and ratio windows. */
#include "streamkpi/dlq.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/ntable.h"
#include "streamkpi/state.h"
#include "streamkpi/windows.h"

#define MAX_PATTERN_LEN 200
#define MAX_NAME 249
#define MAX_PART_ID 1000000
#define WEEK_MINUTES (7u * 1440u + 1u)
/* Watermark marks: never seen since the engine started counting (a new
 * partition counts its whole high), and seen only unknown during the
 * baseline observation (counts nothing when it becomes known). */
#define HW_NEW (-1)
#define HW_BASELINE (-2)

typedef struct dtopic {
  skpi_nentry h;
  int64_t *high; /* last seen per partition, or HW_NEW / HW_BASELINE */
  int nparts;
  double total;
} dtopic;

/* A source topic with a DLQ; named by the source topic. */
typedef struct dpipe {
  skpi_nentry h;
  skpi_win *w; /* slot 0: DLQ messages, slot 1: source messages */
} dpipe;

struct skpi_dlq {
  char *cluster;
  skpi_dlq_cfg cfg;
  char **patterns;
  size_t npatterns;
  skpi_ntable topics; /* of dtopic */
  skpi_ntable pipes;  /* of dpipe */
  int observed; /* 0 until the first observation (the baseline) */
};

static const char *const DEFAULT_PATTERNS[] = {"{src}.dlq", "{src}-dlq", "dlq.{src}", "{src}.DLT",
                                                "{src}-dlt"};

static const struct {
  const char *label;
  double seconds;
} WINDOWS[] = {{"1h", 3600}, {"1d", 86400}, {"7d", 7 * 86400}};

void skpi_dlq_cfg_default(skpi_dlq_cfg *cfg) {
  cfg->patterns = NULL;
  cfg->npatterns = 0;
  cfg->forget_after_s = 7 * 86400;
  cfg->max_pipelines = 500;
}

static int pattern_ok(const char *p) {
  const char *a = strstr(p, "{src}");
  return strlen(p) <= MAX_PATTERN_LEN && a && !strstr(a + 5, "{src}");
}

static void drop_topic(void *e, void *user) {
  free(((dtopic *)e)->high);
}

static void drop_pipe(void *e, void *user) {
  skpi_win_free(((dpipe *)e)->w);
}

static void clear_state(skpi_dlq *d) {
  skpi_ntable_clear(&d->topics);
  skpi_ntable_clear(&d->pipes);
  d->observed = 0;
}

void skpi_dlq_free(skpi_dlq *d) {
  if(!d)
    return;
  clear_state(d);
  for(size_t i = 0; i < d->npatterns; i++)
    free(d->patterns[i]);
  free(d->patterns);
  free(d->cluster);
  free(d);
}

skpi_err skpi_dlq_new(const char *cluster, const skpi_dlq_cfg *cfg, skpi_dlq **out) {
  skpi_dlq_cfg c;
  if(cfg)
    c = *cfg;
  else
    skpi_dlq_cfg_default(&c);
  *out = NULL;
  const char *const *pats = c.patterns ? c.patterns : DEFAULT_PATTERNS;
  size_t npats = c.patterns ? c.npatterns : sizeof(DEFAULT_PATTERNS) / sizeof(DEFAULT_PATTERNS[0]);
  if(!cluster || npats > SKPI_CONFIG_MAX_DLQ_PATTERNS || !(c.forget_after_s >= 0) ||
     c.max_pipelines > 100000)
    return SKPI_EINVAL;
  for(size_t i = 0; i < npats; i++)
    if(!pats[i] || !pattern_ok(pats[i]))
      return SKPI_EINVAL;
  skpi_dlq *d = calloc(1, sizeof(*d));
  if(!d)
    return SKPI_ENOMEM;
  d->cfg = c;
  d->cfg.patterns = NULL;
  skpi_ntable_init(&d->topics, sizeof(dtopic), drop_topic, NULL);
  skpi_ntable_init(&d->pipes, sizeof(dpipe), drop_pipe, NULL);
  d->cluster = strdup(cluster);
  d->patterns = calloc(npats ? npats : 1, sizeof(char *));
  if(!d->cluster || !d->patterns)
    goto oom;
  for(size_t i = 0; i < npats; i++) {
    if(!(d->patterns[i] = strdup(pats[i])))
      goto oom;
    d->npatterns++;
  }
  d->cfg.npatterns = npats;
  *out = d;
  return SKPI_OK;
oom:
  skpi_dlq_free(d);
  return SKPI_ENOMEM;
}

int skpi_dlq_match(const skpi_dlq *d, const char *topic, char *src, size_t srclen) {
  size_t tl = strlen(topic);
  for(size_t i = 0; i < d->npatterns; i++) {
    const char *p = d->patterns[i];
    const char *hole = strstr(p, "{src}");
    size_t pre = (size_t)(hole - p), suf = strlen(hole + 5);
    if(tl <= pre + suf || strncmp(topic, p, pre) != 0 || strcmp(topic + tl - suf, hole + 5) != 0)
      continue;
    size_t n = tl - pre - suf;
    if(n + 1 > srclen)
      return 0;
    memcpy(src, topic + pre, n);
    src[n] = '\0';
    return 1;
  }
  return 0;
}

static dpipe *find_pipe(const skpi_dlq *d, const char *source) {
  return skpi_ntable_find(&d->pipes, source);
}

/* Creates the pipelines of the sample's DLQs that do not exist yet. */
static skpi_err add_pipes(skpi_dlq *d, const skpi_ksample *s, double now) {
  char src[MAX_NAME + 1];
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; i < s->ntopics; i++) {
    const skpi_ktopic *kt = &s->topics[i];
    if(skpi_ksample_topic_internal(kt) || !skpi_dlq_match(d, kt->name, src, sizeof(src)))
      continue;
    /* Several DLQ topics may name the same source: it is one pipeline. */
    dpipe *p = find_pipe(d, src);
    if(!p) {
      void *e;
      if(skpi_ntable_len(&d->pipes) >= d->cfg.max_pipelines)
        continue;
      if((rc = skpi_ntable_add(&d->pipes, src, &e)) != SKPI_OK)
        break;
      p = e;
      if(!(p->w = skpi_win_new(2, WEEK_MINUTES))) {
        skpi_ntable_remove(&d->pipes, src);
        rc = SKPI_ENOMEM;
        break;
      }
    }
    p->h.last_seen = now;
  }
  skpi_ntable_sort(&d->pipes);
  return rc;
}

/* Counts one topic's watermark deltas and returns the messages written. */
static skpi_err count_topic(skpi_dlq *d, dtopic *t, const skpi_ktopic *kt, int baseline,
                            double *written) {
  double sum = 0;
  for(int i = 0; i < kt->nparts; i++) {
    const skpi_kpartition *kp = &kt->parts[i];
    if(kp->id < 0 || kp->id >= MAX_PART_ID)
      continue;
    if(kp->id >= t->nparts) {
      int64_t *nh = realloc(t->high, (size_t)(kp->id + 1) * sizeof(int64_t));
      if(!nh)
        return SKPI_ENOMEM;
      for(int j = t->nparts; j <= kp->id; j++)
        nh[j] = baseline ? HW_BASELINE : HW_NEW;
      t->high = nh;
      t->nparts = kp->id + 1;
    }
    int64_t last = t->high[kp->id];
    if(kp->high < 0)
      continue;
    /* The baseline counts nothing; a new partition or a re-created topic
     * (watermark went down) counts from 0. */
    if(last != HW_BASELINE)
      sum += (last == HW_NEW || kp->high < last) ? (double)kp->high : (double)(kp->high - last);
    t->high[kp->id] = kp->high;
  }
  t->total += sum;
  *written = sum;
  return SKPI_OK;
}

skpi_err skpi_dlq_observe(skpi_dlq *d, const skpi_ksample *s, double now) {
  skpi_err rc;
  char src[MAX_NAME + 1];
  if(!d || !s || !isfinite(now) || now < 0)
    return SKPI_EINVAL;
  if((rc = add_pipes(d, s, now)) != SKPI_OK)
    return rc;
  for(size_t i = 0; i < s->ntopics && rc == SKPI_OK; i++) {
    const skpi_ktopic *kt = &s->topics[i];
    if(skpi_ksample_topic_internal(kt) || strlen(kt->name) > MAX_NAME)
      continue;
    dpipe *as_dlq = skpi_dlq_match(d, kt->name, src, sizeof(src)) ? find_pipe(d, src) : NULL;
    dpipe *as_src = find_pipe(d, kt->name);
    if(!as_dlq && !as_src)
      continue;
    dtopic *t = skpi_ntable_find(&d->topics, kt->name);
    /* Everything is a baseline on the first observation.  Later, a newly
     * tracked DLQ is new and counts its whole watermark, while a newly
     * tracked source existed before its DLQ did: a baseline. */
    int baseline = !d->observed || (!t && !as_dlq);
    if(!t) {
      void *e;
      if((rc = skpi_ntable_add(&d->topics, kt->name, &e)) != SKPI_OK)
        break;
      t = e;
    }
    t->h.last_seen = now;
    double written = 0;
    if((rc = count_topic(d, t, kt, baseline, &written)) != SKPI_OK)
      break;
    /* A minute already replaced in the ring (clock went back) is dropped
     * from the windows only; the counters keep it. */
    if(as_dlq)
      (void)skpi_win_add(as_dlq->w, now, 0, written);
    if(as_src)
      (void)skpi_win_add(as_src->w, now, 1, written);
  }
  /* Forget what has not been seen for a long time (deleted topics). */
  skpi_ntable_sweep(&d->topics, now, d->cfg.forget_after_s);
  skpi_ntable_sweep(&d->pipes, now, d->cfg.forget_after_s);
  if(rc == SKPI_OK)
    d->observed = 1;
  return rc;
}

int skpi_dlq_total(const skpi_dlq *d, const char *topic, double *total) {
  const dtopic *t = skpi_ntable_find(&d->topics, topic);
  if(!t)
    return 0;
  *total = t->total;
  return 1;
}

int skpi_dlq_ratio(const skpi_dlq *d, const char *source, double window_s, double now,
                   double *ratio) {
  const dpipe *p = find_pipe(d, source);
  if(!p || !(window_s > 0))
    return 0;
  /* The window ends just after now so the minute holding now is included. */
  double dl = skpi_win_sum(p->w, now - window_s, now + 1e-3, 0);
  double sr = skpi_win_sum(p->w, now - window_s, now + 1e-3, 1);
  if(!(dl + sr > 0))
    return 0;
  *ratio = dl / (dl + sr);
  return 1;
}

/* Largest summed offset lag of any group committing on topic index ti. */
static int backlog(const skpi_ksample *s, size_t ti, double *out) {
  const skpi_ktopic *kt = &s->topics[ti];
  int any = 0;
  double mx = 0;
  for(size_t g = 0; g < s->ngroups; g++) {
    const skpi_kgroup *kg = &s->groups[g];
    double lag = 0;
    int has = 0;
    for(size_t c = 0; c < kg->ncommits; c++) {
      const skpi_kcommit *kc = &kg->commits[c];
      if(kc->topic != (int32_t)ti || kc->partition < 0 || kc->partition >= kt->nparts)
        continue;
      const skpi_kpartition *kp = &kt->parts[kc->partition];
      has = 1;
      if(kp->high >= 0 && kc->offset >= 0 && kp->high > kc->offset)
        lag += (double)(kp->high - kc->offset);
    }
    if(has && (!any || lag > mx))
      mx = lag;
    any |= has;
  }
  if(any)
    *out = mx;
  return any;
}

skpi_err skpi_dlq_render(const skpi_dlq *d, const skpi_ksample *s, double now, skpi_mset *m) {
  skpi_err rc = SKPI_OK;
  char src[MAX_NAME + 1];
  int f_dlq = skpi_mset_family(m, "streamkpi_dlq_messages_total", SKPI_MT_COUNTER,
                               "Messages written to a dead-letter topic, from watermark deltas.");
  int f_src = skpi_mset_family(m, "streamkpi_dlq_source_messages_total", SKPI_MT_COUNTER,
                               "Messages written to a topic that has a dead-letter topic.");
  int f_ratio = skpi_mset_family(m, "streamkpi_dlq_ratio", SKPI_MT_GAUGE,
                                 "Dead-lettered share of a source's messages over the window.");
  int f_back = skpi_mset_family(m, "streamkpi_dlq_backlog_messages", SKPI_MT_GAUGE,
                                "Largest offset lag of the groups consuming a dead-letter topic.");
  if(f_dlq < 0 || f_src < 0 || f_ratio < 0 || f_back < 0)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < skpi_ntable_len(&d->topics); i++) {
    const dtopic *t = skpi_ntable_at(&d->topics, i);
    const char *name = t->h.name;
    if(skpi_dlq_match(d, name, src, sizeof(src)) && find_pipe(d, src) &&
       (rc = skpi_mset_add(m, f_dlq, t->total, "cluster", d->cluster, "topic", name,
                           "source_topic", src)) != SKPI_OK)
      return rc;
    if(find_pipe(d, name) && (rc = skpi_mset_add(m, f_src, t->total, "cluster", d->cluster,
                                                  "topic", name)) != SKPI_OK)
      return rc;
  }
  for(size_t i = 0; i < skpi_ntable_len(&d->pipes); i++) {
    const char *source = ((const dpipe *)skpi_ntable_at(&d->pipes, i))->h.name;
    for(size_t w = 0; w < sizeof(WINDOWS) / sizeof(WINDOWS[0]); w++) {
      double r;
      if(skpi_dlq_ratio(d, source, WINDOWS[w].seconds, now, &r) &&
         (rc = skpi_mset_add(m, f_ratio, r, "cluster", d->cluster, "source_topic", source,
                             "window", WINDOWS[w].label)) != SKPI_OK)
        return rc;
    }
  }
  for(size_t i = 0; s && i < s->ntopics; i++) {
    double b;
    if(skpi_ksample_topic_internal(&s->topics[i]) ||
       !skpi_dlq_match(d, s->topics[i].name, src, sizeof(src)) || !backlog(s, i, &b))
      continue;
    if((rc = skpi_mset_add(m, f_back, b, "cluster", d->cluster, "topic", s->topics[i].name)) !=
       SKPI_OK)
      return rc;
  }
  return rc;
}

json_t *skpi_dlq_save(const skpi_dlq *d) {
  json_t *doc = json_object(), *topics = json_array(), *pipes = json_array();
  if(!doc || !topics || !pipes || json_object_set_new(doc, "version", json_integer(1)) ||
     json_object_set_new(doc, "observed", json_boolean(d->observed)) ||
     json_object_set(doc, "topics", topics) || json_object_set(doc, "pipelines", pipes))
    goto fail;
  for(size_t i = 0; i < skpi_ntable_len(&d->topics); i++) {
    const dtopic *t = skpi_ntable_at(&d->topics, i);
    json_t *jt = json_object(), *hw = json_array();
    if(!jt || !hw || json_array_append_new(topics, jt)) {
      json_decref(jt);
      json_decref(hw);
      goto fail;
    }
    if(json_object_set_new(jt, "high", hw) ||
       json_object_set_new(jt, "name", json_string(t->h.name)) ||
       json_object_set_new(jt, "total", json_real(t->total)) ||
       json_object_set_new(jt, "last_seen", json_real(t->h.last_seen)))
      goto fail;
    for(int j = 0; j < t->nparts; j++)
      if(json_array_append_new(hw, json_integer(t->high[j])))
        goto fail;
  }
  for(size_t i = 0; i < skpi_ntable_len(&d->pipes); i++) {
    const dpipe *p = skpi_ntable_at(&d->pipes, i);
    json_t *jp = json_object(), *jw = skpi_win_save(p->w);
    if(!jp || !jw || json_array_append_new(pipes, jp)) {
      json_decref(jp);
      json_decref(jw);
      goto fail;
    }
    if(json_object_set_new(jp, "window", jw) ||
       json_object_set_new(jp, "source", json_string(p->h.name)) ||
       json_object_set_new(jp, "last_seen", json_real(p->h.last_seen)))
      goto fail;
  }
  json_decref(topics);
  json_decref(pipes);
  return doc;
fail:
  json_decref(topics);
  json_decref(pipes);
  json_decref(doc);
  return NULL;
}

static int jnum(const json_t *j, double *out) {
  return skpi_state_number(j, -DBL_MAX, DBL_MAX, out);
}

static int name_ok(const json_t *j) {
  return json_is_string(j) && json_string_length(j) > 0 && json_string_length(j) <= MAX_NAME &&
         strlen(json_string_value(j)) == json_string_length(j);
}

/* Adds the entry object o names under key, with its last_seen, to t.
 * SKPI_EINVAL for a bad or repeated name or a bad time. */
static skpi_err load_entry(skpi_ntable *t, const json_t *o, const char *key, void **e) {
  double seen;
  const json_t *name = json_object_get(o, key);
  if(!name_ok(name) || !jnum(json_object_get(o, "last_seen"), &seen))
    return SKPI_EINVAL;
  skpi_err rc = skpi_ntable_add(t, json_string_value(name), e);
  if(rc == SKPI_OK)
    ((skpi_nentry *)*e)->last_seen = seen;
  return rc;
}

skpi_err skpi_dlq_load(skpi_dlq *d, const json_t *doc) {
  skpi_err rc = SKPI_EINVAL;
  clear_state(d);
  const json_t *topics = json_object_get(doc, "topics"), *pipes = json_object_get(doc, "pipelines");
  const json_t *ver = json_object_get(doc, "version"), *obs = json_object_get(doc, "observed");
  if(!json_is_object(doc) || !json_is_integer(ver) || json_integer_value(ver) != 1 ||
     !json_is_boolean(obs) || !json_is_array(topics) || !json_is_array(pipes) ||
     json_array_size(pipes) > d->cfg.max_pipelines ||
     json_array_size(topics) > 2 * d->cfg.max_pipelines + 1000)
    goto out;
  size_t nt = json_array_size(topics), np = json_array_size(pipes);
  for(size_t i = 0; i < nt; i++) {
    const json_t *jt = json_array_get(topics, i), *hw = json_object_get(jt, "high");
    double total;
    void *e;
    if(!jnum(json_object_get(jt, "total"), &total) || total < 0 || !json_is_array(hw) ||
       json_array_size(hw) > MAX_PART_ID ||
       (rc = load_entry(&d->topics, jt, "name", &e)) != SKPI_OK)
      goto out;
    rc = SKPI_EINVAL;
    dtopic *t = e;
    t->total = total;
    t->nparts = (int)json_array_size(hw);
    if(!(t->high = malloc((size_t)(t->nparts + 1) * sizeof(int64_t)))) {
      rc = SKPI_ENOMEM;
      goto out;
    }
    for(int j = 0; j < t->nparts; j++) {
      const json_t *h = json_array_get(hw, (size_t)j);
      if(!json_is_integer(h) || json_integer_value(h) < HW_BASELINE)
        goto out;
      t->high[j] = json_integer_value(h);
    }
  }
  for(size_t i = 0; i < np; i++) {
    const json_t *jp = json_array_get(pipes, i);
    void *e;
    if((rc = load_entry(&d->pipes, jp, "source", &e)) != SKPI_OK)
      goto out;
    rc = SKPI_EINVAL;
    dpipe *p = e;
    if(!(p->w = skpi_win_new(2, WEEK_MINUTES))) {
      rc = SKPI_ENOMEM;
      goto out;
    }
    if(skpi_win_load(p->w, json_object_get(jp, "window"), NULL, 0) != SKPI_OK)
      goto out;
  }
  skpi_ntable_sort(&d->topics);
  skpi_ntable_sort(&d->pipes);
  d->observed = json_is_true(obs);
  rc = SKPI_OK;
out:
  if(rc != SKPI_OK)
    clear_state(d);
  return rc;
}

/* ---- KPI family "dlq" (per cluster) ---- */

typedef struct dlq_kpi {
  skpi_dlq *d;
  skpi_ksample *last;   /* newest sample, referenced */
  skpi_ksample *judged; /* newest sample with a group listing, referenced:
                           the coverage fact does not flip to unknown when one cycle
                           cannot list groups (a coordinator moving) */
} dlq_kpi;

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  skpi_dlq_cfg cfg;
  skpi_dlq_cfg_default(&cfg);
  const skpi_config_strlist *pl = &ctx->cfg->dlq.patterns;
  if(pl->n > 0) {
    cfg.patterns = (const char *const *)pl->v;
    cfg.npatterns = pl->n;
  }
  dlq_kpi *k = calloc(1, sizeof(*k));
  if(!k)
    return SKPI_ENOMEM;
  skpi_err rc = skpi_dlq_new(ctx->cluster->name, &cfg, &k->d);
  if(rc != SKPI_OK) {
    snprintf(errbuf, errlen, "dlq.patterns: invalid pattern list");
    free(k);
    return rc;
  }
  *self = k;
  return SKPI_OK;
}

static void kpi_observe(void *self, const skpi_event *ev) {
  dlq_kpi *k = self;
  if(ev->kind != SKPI_EV_SAMPLE)
    return;
  skpi_ksample_ref((skpi_ksample *)ev->u.sample);
  skpi_ksample_unref(k->last);
  k->last = (skpi_ksample *)ev->u.sample;
  if(ev->u.sample->groups_ok) {
    skpi_ksample_ref((skpi_ksample *)ev->u.sample);
    skpi_ksample_unref(k->judged);
    k->judged = (skpi_ksample *)ev->u.sample;
  }
  skpi_err rc = skpi_dlq_observe(k->d, ev->u.sample, ev->now);
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "dlq rejected a sample", "cluster", ev->cluster, "error",
             skpi_strerror(rc));
}

/* Consuming pipelines are the non-internal topics, not DLQs themselves, on
 * which some group has committed; a pipeline has a DLQ when some DLQ topic of
 * the sample maps to it. */
static void kpi_facts(const void *self, double now, skpi_facts *out) {
  const dlq_kpi *k = self;
  const skpi_ksample *s = k->judged;
  const char *c = k->d->cluster;
  if(!s) {
    skpi_facts_unknown(out, SKPI_FACT_DLQ_COVERAGE, c, "ratio",
                       "no sample with consumer groups yet");
    return;
  }
  if(!s->ntopics) {
    skpi_facts_unknown(out, SKPI_FACT_DLQ_COVERAGE, c, "ratio", "the cluster has no topic");
    return;
  }
  unsigned char *consumed = skpi_ksample_consumed(s, 1);
  unsigned char *has_dlq = calloc(s->ntopics ? s->ntopics : 1, 1);
  if(!consumed || !has_dlq)
    goto out;
  char src[512];
  for(size_t i = 0; i < s->ntopics; i++) {
    if(!skpi_dlq_match(k->d, s->topics[i].name, src, sizeof(src)))
      continue;
    const skpi_ktopic *t = skpi_ksample_topic(s, src);
    if(t)
      has_dlq[t - s->topics] = 1;
  }
  size_t pipelines = 0, covered = 0;
  for(size_t i = 0; i < s->ntopics; i++) {
    if(!consumed[i] || skpi_ksample_topic_internal(&s->topics[i]) ||
       skpi_dlq_match(k->d, s->topics[i].name, src, sizeof(src)))
      continue;
    pipelines++;
    covered += has_dlq[i];
  }
  if(pipelines)
    skpi_facts_observed(out, SKPI_FACT_DLQ_COVERAGE, c, (double)covered / (double)pipelines,
                        "ratio", now);
  else
    skpi_facts_unknown(out, SKPI_FACT_DLQ_COVERAGE, c, "ratio", "no topic has a consumer yet");
out:
  free(consumed);
  free(has_dlq);
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  const dlq_kpi *k = self;
  return k->last ? skpi_dlq_render(k->d, k->last, now, m) : SKPI_OK;
}

int skpi_dlq_kpi_totals(const void *inst, const char *source, double *dlq, double *src) {
  const dlq_kpi *k = inst;
  const skpi_ksample *s = k ? k->last : NULL;
  if(!s || !skpi_dlq_total(k->d, source, src))
    return 0;
  int found = 0;
  char name[512];
  *dlq = 0;
  for(size_t i = 0; i < s->ntopics; i++) {
    double t;
    if(skpi_dlq_match(k->d, s->topics[i].name, name, sizeof(name)) &&
       strcmp(name, source) == 0 && skpi_dlq_total(k->d, s->topics[i].name, &t)) {
      *dlq += t;
      found = 1;
    }
  }
  return found;
}

static json_t *kpi_save(void *self, double now) { return skpi_dlq_save(((dlq_kpi *)self)->d); }

static skpi_err kpi_load(void *self, const json_t *doc, char *errbuf, size_t errlen) {
  skpi_err rc = skpi_dlq_load(((dlq_kpi *)self)->d, doc);
  if(rc != SKPI_OK && errbuf && errlen)
    snprintf(errbuf, errlen, "dlq: malformed section");
  return rc;
}

static void kpi_free(void *self) {
  dlq_kpi *k = self;
  if(!k)
    return;
  skpi_dlq_free(k->d);
  skpi_ksample_unref(k->last);
  skpi_ksample_unref(k->judged);
  free(k);
}

const skpi_kpi_ops skpi_kpi_dlq = {
    "dlq", 1, kpi_create, kpi_observe, kpi_facts, kpi_render, kpi_save, kpi_load, kpi_free,
};
