/* engine.c: wires sources into the KPI state machines, publishes their
 * metrics and persists their state.  See engine.h for the health rule. */
#include "streamkpi/engine.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/amwebhook.h"
#include "streamkpi/availability.h"
#include "streamkpi/clock.h"
#include "streamkpi/dlq.h"
#include "streamkpi/http_source.h"
#include "streamkpi/incidents.h"
#include "streamkpi/log.h"
#include "streamkpi/onboarding.h"
#include "streamkpi/probe.h"
#include "streamkpi/slo.h"
#include "streamkpi/state.h"
#include "streamkpi/streams.h"
#include "streamkpi/timelag.h"

/* Re-render at least this often so rolling windows move without events. */
#define RERENDER_S 10.0
#define TOKEN_FILE_MAX 4096

enum sli { SLI_PROBE_AVAIL, SLI_PROBE_LATENCY, SLI_GROUP_LAG, SLI_DLQ_RATIO, SLI_APP_RATIO };

typedef struct ckpi {
  struct skpi_engine *e;
  const skpi_cluster_cfg *cfg;
  size_t idx;
  int probe_enabled;
  skpi_probe_cfg pcfg;
  skpi_probe *probe;
  double prev_probe_end; /* 0: no bridge (first probe, or after a gap) */
  skpi_avail *avail;
  skpi_timelag *tl;
  skpi_dlq *dlq;
  skpi_onboarding *onb;
  skpi_streams *streams;
  skpi_ksample *last; /* newest sample, referenced */
  int have_cov;
  double cov_ratio;
} ckpi;

typedef struct slo_ent {
  skpi_slo *slo;
  enum sli sli;
  const char *name;
  const char *cluster; /* NULL: every cluster */
  double threshold;
  const char *group;
  const char *topic;
  const char *target;
  /* Previous cumulative values, for SLIs made of counter deltas. */
  double *prev_dlq, *prev_src; /* per cluster; NAN until first seen */
  double prev_good, prev_total;
  int have_app;
} slo_ent;

struct skpi_engine {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  pthread_t thread;
  int running;
  int stop;
  const skpi_config *cfg;
  skpi_registry *reg;
  int slot;
  skpi_state *state;
  char *state_path;
  double persist_interval;
  double last_write;
  ckpi *cl;
  size_t ncl;
  skpi_incidents *inc;
  skpi_maint *maint;
  size_t nmaint;
  slo_ent *slos;
  size_t nslos;
  skpi_http_source *http;
  int has_schema_target;
  char *token;
  unsigned long webhook_codes[6]; /* 200, 400, 401, 413, other */
  double last_render;
};

/* ---- state sections ---- */

static void section_name(char *out, size_t len, const char *kind, const char *name) {
  snprintf(out, len, "%s/%s", kind, name);
}

/* Loads one section with loader; a bad section is logged and left fresh. */
#define LOAD_SECTION(e, secname, call)                                                           \
  do {                                                                                           \
    json_t *doc_ = skpi_state_get((e)->state, (secname));                                        \
    if(doc_) {                                                                                   \
      json_t *doc = doc_;                                                                        \
      skpi_err rc_ = (call);                                                                     \
      if(rc_ != SKPI_OK)                                                                         \
        skpi_log(SKPI_ERROR, "state section unreadable, starting it fresh", "section",         \
                 (secname), "error", skpi_strerror(rc_));                                        \
      json_decref(doc_);                                                                         \
    }                                                                                            \
  } while(0)

static void load_state(skpi_engine *e) {
  char sec[256];
  char err[256];
  LOAD_SECTION(e, "incidents", skpi_inc_load(e->inc, doc, err, sizeof(err)));
  for(size_t i = 0; i < e->ncl; i++) {
    ckpi *c = &e->cl[i];
    const char *n = c->cfg->name;
    section_name(sec, sizeof(sec), "availability", n);
    LOAD_SECTION(e, sec, skpi_avail_load(c->avail, doc, err, sizeof(err)));
    section_name(sec, sizeof(sec), "timelag", n);
    LOAD_SECTION(e, sec, skpi_timelag_load(c->tl, doc));
    section_name(sec, sizeof(sec), "dlq", n);
    LOAD_SECTION(e, sec, skpi_dlq_load(c->dlq, doc));
    section_name(sec, sizeof(sec), "onboarding", n);
    LOAD_SECTION(e, sec, skpi_onboarding_load(c->onb, doc));
    section_name(sec, sizeof(sec), "streams", n);
    LOAD_SECTION(e, sec, skpi_streams_load(c->streams, doc));
  }
  for(size_t i = 0; i < e->nslos; i++) {
    section_name(sec, sizeof(sec), "slo", e->slos[i].name);
    LOAD_SECTION(e, sec, skpi_slo_load(e->slos[i].slo, doc));
  }
}

static void put(skpi_engine *e, const char *sec, json_t *doc) {
  if(doc)
    skpi_state_put(e->state, sec, doc);
  else
    skpi_log(SKPI_ERROR, "cannot save state section", "section", sec);
}

/* Saves every section into the state (caller holds the mutex). */
static void save_sections(skpi_engine *e, double now) {
  char sec[256];
  skpi_inc_prune(e->inc, now);
  put(e, "incidents", skpi_inc_save(e->inc));
  for(size_t i = 0; i < e->ncl; i++) {
    ckpi *c = &e->cl[i];
    const char *n = c->cfg->name;
    section_name(sec, sizeof(sec), "availability", n);
    put(e, sec, skpi_avail_save(c->avail));
    section_name(sec, sizeof(sec), "timelag", n);
    put(e, sec, skpi_timelag_save(c->tl));
    section_name(sec, sizeof(sec), "dlq", n);
    put(e, sec, skpi_dlq_save(c->dlq));
    section_name(sec, sizeof(sec), "onboarding", n);
    put(e, sec, skpi_onboarding_save(c->onb));
    section_name(sec, sizeof(sec), "streams", n);
    put(e, sec, skpi_streams_save(c->streams));
  }
  for(size_t i = 0; i < e->nslos; i++) {
    section_name(sec, sizeof(sec), "slo", e->slos[i].name);
    put(e, sec, skpi_slo_save(e->slos[i].slo));
  }
}

static void persist(skpi_engine *e) {
  double now = skpi_now();
  pthread_mutex_lock(&e->mu);
  save_sections(e, now);
  pthread_mutex_unlock(&e->mu);
  skpi_err rc = skpi_state_flush(e->state);
  pthread_mutex_lock(&e->mu);
  if(rc == SKPI_OK)
    e->last_write = now;
  pthread_mutex_unlock(&e->mu);
  if(rc != SKPI_OK)
    skpi_log(SKPI_ERROR, "cannot write state file", "path", e->state_path, "error",
             skpi_strerror(rc));
}

/* ---- rendering ---- */

static int in_maint(const skpi_engine *e, const char *cluster, double t) {
  return skpi_maint_active(e->maint, e->nmaint, cluster, t);
}

static void log_rc(const char *what, const char *cluster, skpi_err rc) {
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, what, "cluster", cluster, "error", skpi_strerror(rc));
}

/* Renders every engine into a new set and publishes it (mutex held). */
static void publish(skpi_engine *e) {
  double t0 = skpi_mono(), now = skpi_now();
  skpi_mset *m = skpi_mset_new();
  if(!m)
    return;
  for(size_t i = 0; i < e->ncl; i++) {
    ckpi *c = &e->cl[i];
    const char *n = c->cfg->name;
    if(c->probe_enabled)
      log_rc("cannot render availability", n, skpi_avail_render(c->avail, now, m));
    if(c->last) {
      log_rc("cannot render time lag", n, skpi_timelag_render(c->tl, c->last, now, m));
      log_rc("cannot render dlq", n, skpi_dlq_render(c->dlq, c->last, now, m));
    }
    log_rc("cannot render onboarding", n, skpi_onboarding_render(c->onb, now, m));
    log_rc("cannot render streams", n, skpi_streams_render(c->streams, now, m));
    if(c->have_cov) {
      int f = skpi_mset_family(m, "streamkpi_schema_coverage_ratio", SKPI_MT_GAUGE,
                               "Share of topics holding data that have a <topic>-value subject "
                               "in the Schema Registry.");
      if(f >= 0)
        skpi_mset_add(m, f, c->cov_ratio, "cluster", n);
    }
  }
  log_rc("cannot render incidents", "", skpi_inc_render(e->inc, now, m));
  for(size_t i = 0; i < e->nslos; i++)
    log_rc("cannot render slo", e->slos[i].name, skpi_slo_render(e->slos[i].slo, now, m));

  int f_corrupt = skpi_mset_family(m, "streamkpi_state_corrupt_files_total", SKPI_MT_COUNTER,
                                   "State files found corrupt or foreign and moved aside.");
  int f_werr = skpi_mset_family(m, "streamkpi_state_write_errors_total", SKPI_MT_COUNTER,
                                "State file writes that failed.");
  int f_wts = skpi_mset_family(m, "streamkpi_state_last_write_timestamp_seconds", SKPI_MT_GAUGE,
                               "Unix time of the last successful state write.");
  int f_wh = skpi_mset_family(m, "streamkpi_alertmanager_webhook_requests_total", SKPI_MT_COUNTER,
                              "Alertmanager webhook requests by response code.");
  if(f_corrupt >= 0)
    skpi_mset_add(m, f_corrupt, (double)skpi_state_corrupt_count(e->state));
  if(f_werr >= 0)
    skpi_mset_add(m, f_werr, (double)skpi_state_write_errors(e->state));
  if(f_wts >= 0 && e->last_write > 0)
    skpi_mset_add(m, f_wts, e->last_write);
  static const char *const codes[] = {"200", "400", "401", "413", "other"};
  for(size_t i = 0; f_wh >= 0 && i < 5; i++)
    skpi_mset_add(m, f_wh, (double)e->webhook_codes[i], "code", codes[i]);
  e->last_render = now;
  skpi_registry_publish(e->reg, e->slot, m, NULL, skpi_mono() - t0);
}

/* ---- observers ---- */

static int slo_applies(const slo_ent *s, const char *cluster) {
  return !s->cluster || strcmp(s->cluster, cluster) == 0;
}

static void on_probe(const skpi_probe_result *r, void *user) {
  ckpi *c = user;
  skpi_engine *e = c->e;
  const char *n = c->cfg->name;
  pthread_mutex_lock(&e->mu);
  int maint = in_maint(e, n, r->t_end);
  skpi_health h;
  h.probe_ok = r->ok;
  h.brokers_up = r->brokers_up;
  h.brokers_min = c->pcfg.min_brokers;
  h.offline_partitions = r->offline_partitions;
  enum skpi_cause cause = skpi_health_cause(&h);
  int healthy = cause == SKPI_CAUSE_NONE;
  double bridge = 2 * c->pcfg.interval_s + c->pcfg.timeout_s;
  double t0 = r->t_start;
  if(c->prev_probe_end > 0 && c->prev_probe_end < r->t_end &&
     r->t_end - c->prev_probe_end <= bridge)
    t0 = c->prev_probe_end;
  if(t0 < r->t_end) {
    log_rc("availability rejected an interval", n,
           skpi_avail_observe(c->avail, t0, r->t_end, healthy, maint));
    log_rc("incidents rejected an interval", n,
           skpi_inc_health(e->inc, n, t0, r->t_end, cause, maint));
  }
  c->prev_probe_end = r->t_end;
  for(size_t i = 0; i < e->nslos; i++) {
    slo_ent *s = &e->slos[i];
    if(!slo_applies(s, n))
      continue;
    double good;
    if(s->sli == SLI_PROBE_AVAIL)
      good = healthy;
    else if(s->sli == SLI_PROBE_LATENCY)
      good = r->ok && (c->pcfg.mode == SKPI_PROBE_METADATA_ONLY ||
                       (r->roundtrip_latency_s >= 0 && r->roundtrip_latency_s <= s->threshold));
    else
      continue;
    skpi_slo_set_excluded(s->slo, maint);
    log_rc("slo rejected an event", n, skpi_slo_record(s->slo, r->t_end, good, 1));
  }
  publish(e);
  pthread_mutex_unlock(&e->mu);
}

/* The DLQ messages counted for source (sum over its DLQ topics). */
static int dlq_sum_for(const ckpi *c, const skpi_ksample *s, const char *source, double *sum) {
  int found = 0;
  *sum = 0;
  char src[512];
  for(size_t i = 0; i < s->ntopics; i++) {
    double t;
    if(skpi_dlq_match(c->dlq, s->topics[i].name, src, sizeof(src)) &&
       strcmp(src, source) == 0 && skpi_dlq_total(c->dlq, s->topics[i].name, &t)) {
      *sum += t;
      found = 1;
    }
  }
  return found;
}

static void sample_slos(skpi_engine *e, ckpi *c, const skpi_ksample *s, double now) {
  const char *n = c->cfg->name;
  for(size_t i = 0; i < e->nslos; i++) {
    slo_ent *so = &e->slos[i];
    if(!slo_applies(so, n))
      continue;
    if(so->sli == SLI_GROUP_LAG && so->group) {
      const skpi_kgroup *g = skpi_ksample_group(s, so->group);
      double max_s;
      if(!g || !skpi_timelag_group_max(c->tl, s, g, now, &max_s))
        continue;
      skpi_slo_set_excluded(so->slo, in_maint(e, n, now));
      log_rc("slo rejected an event", n, skpi_slo_record(so->slo, now, max_s <= so->threshold, 1));
    } else if(so->sli == SLI_DLQ_RATIO && so->topic) {
      double dlq, src;
      if(!dlq_sum_for(c, s, so->topic, &dlq) || !skpi_dlq_total(c->dlq, so->topic, &src))
        continue;
      double pd = so->prev_dlq[c->idx], ps = so->prev_src[c->idx];
      so->prev_dlq[c->idx] = dlq;
      so->prev_src[c->idx] = src;
      if(isnan(pd) || isnan(ps) || dlq < pd || src < ps)
        continue;
      double dd = dlq - pd, ds = src - ps;
      if(dd + ds <= 0)
        continue; /* no traffic in the interval: no event */
      skpi_slo_set_excluded(so->slo, in_maint(e, n, now));
      log_rc("slo rejected an event", n,
             skpi_slo_record(so->slo, now, dd / (dd + ds) <= so->threshold, 1));
    }
  }
}

static void schema_coverage(skpi_engine *e, ckpi *c, const skpi_ksample *s) {
  if(!e->http || !e->has_schema_target)
    return;
  const char **topics = calloc(s->ntopics ? s->ntopics : 1, sizeof(*topics));
  if(!topics)
    return;
  size_t n = 0;
  for(size_t i = 0; i < s->ntopics; i++) {
    const skpi_ktopic *t = &s->topics[i];
    if(t->internal)
      continue;
    int64_t data = 0;
    for(int p = 0; p < t->nparts; p++)
      if(t->parts[p].high > 0)
        data += t->parts[p].high;
    if(data > 0)
      topics[n++] = t->name;
  }
  size_t covered = 0;
  if(n && skpi_http_source_schema_coverage(e->http, topics, n, &covered) == SKPI_OK) {
    c->have_cov = 1;
    c->cov_ratio = (double)covered / (double)n;
  }
  free(topics);
}

static void on_sample(const skpi_ksample *s, void *user) {
  ckpi *c = user;
  skpi_engine *e = c->e;
  const char *n = c->cfg->name;
  double now = s->time;
  pthread_mutex_lock(&e->mu);
  skpi_ksample_ref((skpi_ksample *)s);
  skpi_ksample_unref(c->last);
  c->last = (skpi_ksample *)s;
  log_rc("time lag rejected a sample", n, skpi_timelag_observe(c->tl, s, now));
  log_rc("dlq rejected a sample", n, skpi_dlq_observe(c->dlq, s, now));
  log_rc("onboarding rejected a sample", n, skpi_onboarding_observe(c->onb, s, now));
  log_rc("streams rejected a sample", n, skpi_streams_observe(c->streams, s, now));
  sample_slos(e, c, s, now);
  schema_coverage(e, c, s);
  publish(e);
  pthread_mutex_unlock(&e->mu);
}

/* App-ratio SLOs: good/total deltas of their target since the last tick. */
static void app_slos(skpi_engine *e, double now) {
  for(size_t i = 0; i < e->nslos; i++) {
    slo_ent *s = &e->slos[i];
    double good, total;
    if(s->sli != SLI_APP_RATIO || !e->http ||
       skpi_http_source_quality(e->http, s->target, &good, &total) != SKPI_OK)
      continue;
    if(s->have_app && total >= s->prev_total && good >= s->prev_good) {
      double dt = total - s->prev_total, dg = good - s->prev_good;
      if(dt > 0) {
        skpi_slo_set_excluded(s->slo, in_maint(e, s->cluster, now));
        log_rc("slo rejected an event", s->name, skpi_slo_record(s->slo, now, dg, dt));
      }
    }
    s->prev_good = good;
    s->prev_total = total;
    s->have_app = 1;
  }
}

static void *engine_thread(void *arg) {
  skpi_engine *e = arg;
  double next_persist = skpi_mono() + e->persist_interval;
  pthread_mutex_lock(&e->mu);
  while(!e->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double wait = e->persist_interval < 1.0 ? e->persist_interval : 1.0;
    ts.tv_sec += (time_t)wait;
    ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
    if(ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&e->cond, &e->mu, &ts);
    if(e->stop)
      break;
    double now = skpi_now();
    app_slos(e, now);
    if(now - e->last_render >= RERENDER_S)
      publish(e);
    if(skpi_mono() >= next_persist) {
      pthread_mutex_unlock(&e->mu);
      persist(e);
      pthread_mutex_lock(&e->mu);
      next_persist = skpi_mono() + e->persist_interval;
    }
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

/* ---- web routes ---- */

static void route_incidents(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_engine *e = user;
  pthread_mutex_lock(&e->mu);
  json_t *doc = skpi_inc_list_json(e->inc, skpi_now());
  pthread_mutex_unlock(&e->mu);
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if(!text) {
    resp->status = 500;
    skpi_buf_addstr(&resp->body, "{\"error\":\"out of memory\"}");
    return;
  }
  skpi_buf_addstr(&resp->body, text);
  skpi_buf_addc(&resp->body, '\n');
  free(text);
}

static void route_alertmanager(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_engine *e = user;
  pthread_mutex_lock(&e->mu);
  int code = skpi_am_handle(e->inc, e->token, req->authorization, req->body, req->body_len,
                            skpi_now(), &resp->body);
  resp->status = code;
  int idx = code == 200 ? 0 : code == 400 ? 1 : code == 401 ? 2 : code == 413 ? 3 : 4;
  e->webhook_codes[idx]++;
  if(code != 200)
    skpi_log(SKPI_WARN, "alertmanager webhook refused", "status", code == 400   ? "400"
                                                                  : code == 401 ? "401"
                                                                  : code == 413 ? "413"
                                                                                : "error");
  publish(e);
  pthread_mutex_unlock(&e->mu);
}

skpi_err skpi_engine_routes(skpi_engine *e, skpi_web *w) {
  skpi_err rc;
  json_t *inc = skpi_config_section(e->cfg, "incidents");
  size_t max_body = (size_t)skpi_cfg_int(inc, "max_body", SKPI_AM_MAX_BODY);
  if((rc = skpi_web_route(w, "GET", "/api/v1/incidents", 0, route_incidents, e)) != SKPI_OK)
    return rc;
  return skpi_web_route(w, "POST", "/api/v1/alertmanager", max_body, route_alertmanager, e);
}

/* ---- construction ---- */

static char *read_token_file(const char *path, char *errbuf, size_t errlen) {
  FILE *f = fopen(path, "r");
  if(!f) {
    snprintf(errbuf, errlen, "incidents.webhook_token_file: cannot read %s: %s", path,
             strerror(errno));
    return NULL;
  }
  char buf[TOKEN_FILE_MAX + 1];
  size_t n = fread(buf, 1, TOKEN_FILE_MAX, f);
  fclose(f);
  buf[n] = '\0';
  while(n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  if(!n) {
    snprintf(errbuf, errlen, "incidents.webhook_token_file: %s is empty", path);
    return NULL;
  }
  return strdup(buf);
}

static skpi_err build_cluster(skpi_engine *e, size_t i, char *errbuf, size_t errlen) {
  ckpi *c = &e->cl[i];
  c->e = e;
  c->idx = i;
  c->cfg = &e->cfg->clusters[i];
  const char *n = c->cfg->name;
  json_t *p = skpi_config_cluster_section(e->cfg, i, "probe");
  c->probe_enabled = skpi_cfg_bool(p, "enabled", 1);
  const char *mode = skpi_cfg_string(p, "mode", "produce-consume");
  c->pcfg.mode =
      strcmp(mode, "metadata-only") == 0 ? SKPI_PROBE_METADATA_ONLY : SKPI_PROBE_PRODUCE_CONSUME;
  c->pcfg.topic = skpi_cfg_string(p, "topic", "streamkpi-probe");
  c->pcfg.replication_factor = (int)skpi_cfg_int(p, "replication_factor", 3);
  c->pcfg.interval_s = skpi_cfg_duration(p, "interval", 10);
  c->pcfg.timeout_s = skpi_cfg_duration(p, "timeout", 5);
  c->pcfg.min_brokers = (int)skpi_cfg_int(p, "min_brokers", 1);
  c->pcfg.observer = on_probe;
  c->pcfg.observer_user = c;

  c->avail = skpi_avail_new(n);
  if(!c->avail)
    return SKPI_ENOMEM;
  skpi_err rc;
  skpi_timelag_cfg tcfg;
  skpi_timelag_cfg_default(&tcfg);
  if((rc = skpi_timelag_new(n, &tcfg, &c->tl)) != SKPI_OK)
    return rc;

  skpi_dlq_cfg dcfg;
  skpi_dlq_cfg_default(&dcfg);
  const char *pats[32];
  json_t *dl = skpi_config_section(e->cfg, "dlq");
  json_t *plist = dl ? json_object_get(dl, "patterns") : NULL;
  if(json_is_array(plist) && json_array_size(plist) > 0) {
    size_t k;
    json_t *v;
    dcfg.npatterns = 0;
    json_array_foreach(plist, k, v) {
      if(json_is_string(v) && dcfg.npatterns < 32)
        pats[dcfg.npatterns++] = json_string_value(v);
    }
    dcfg.patterns = pats;
  }
  if((rc = skpi_dlq_new(n, &dcfg, &c->dlq)) != SKPI_OK) {
    snprintf(errbuf, errlen, "dlq.patterns: invalid pattern list");
    return rc;
  }

  skpi_onboarding_cfg ocfg;
  skpi_onboarding_cfg_default(&ocfg);
  json_t *ob = skpi_config_section(e->cfg, "onboarding");
  ocfg.caught_up_lag = skpi_cfg_int(ob, "lag_threshold", ocfg.caught_up_lag);
  if((rc = skpi_onboarding_new(n, &ocfg, &c->onb)) != SKPI_OK)
    return rc;

  skpi_streams_cfg scfg;
  skpi_streams_cfg_default(&scfg);
  json_t *cat = skpi_config_section(e->cfg, "catalog");
  scfg.team_regex = skpi_cfg_string(cat, "team_regex", NULL);
  json_t *products = cat ? json_object_get(cat, "products") : NULL;
  size_t nown = 0;
  size_t k, k2;
  json_t *prod, *t;
  json_array_foreach(products, k, prod) {
    nown += json_array_size(json_object_get(prod, "topics"));
  }
  skpi_streams_owner *owners = calloc(nown ? nown : 1, sizeof(*owners));
  if(!owners)
    return SKPI_ENOMEM;
  nown = 0;
  json_array_foreach(products, k, prod) {
    const char *owner = skpi_cfg_string(prod, "owner", "");
    json_array_foreach(json_object_get(prod, "topics"), k2, t) {
      if(json_is_string(t)) {
        owners[nown].topic = json_string_value(t);
        owners[nown].team = owner;
        nown++;
      }
    }
  }
  scfg.catalog = owners;
  scfg.ncatalog = nown;
  rc = skpi_streams_new(n, &scfg, &c->streams, errbuf, errlen);
  free(owners);
  return rc;
}

static skpi_err build_slos(skpi_engine *e, char *errbuf, size_t errlen) {
  json_t *list = skpi_config_section(e->cfg, "slos");
  size_t n = json_array_size(list);
  e->slos = calloc(n ? n : 1, sizeof(*e->slos));
  if(!e->slos)
    return SKPI_ENOMEM;
  size_t i;
  json_t *o;
  json_array_foreach(list, i, o) {
    slo_ent *s = &e->slos[e->nslos];
    s->name = skpi_cfg_string(o, "name", "slo");
    const char *sli = skpi_cfg_string(o, "sli", "");
    s->sli = strcmp(sli, "probe_latency") == 0   ? SLI_PROBE_LATENCY
             : strcmp(sli, "group_lag") == 0     ? SLI_GROUP_LAG
             : strcmp(sli, "dlq_ratio") == 0     ? SLI_DLQ_RATIO
             : strcmp(sli, "app_ratio") == 0     ? SLI_APP_RATIO
                                                 : SLI_PROBE_AVAIL;
    s->cluster = skpi_cfg_string(o, "cluster", NULL);
    s->threshold = skpi_cfg_number(o, "threshold", 0);
    s->group = skpi_cfg_string(o, "group", NULL);
    s->topic = skpi_cfg_string(o, "topic", NULL);
    s->target = skpi_cfg_string(o, "target", NULL);
    s->prev_dlq = malloc((e->ncl ? e->ncl : 1) * sizeof(double));
    s->prev_src = malloc((e->ncl ? e->ncl : 1) * sizeof(double));
    if(!s->prev_dlq || !s->prev_src) {
      free(s->prev_dlq);
      free(s->prev_src);
      return SKPI_ENOMEM;
    }
    for(size_t c = 0; c < e->ncl; c++)
      s->prev_dlq[c] = s->prev_src[c] = NAN;
    skpi_slo_cfg sc;
    memset(&sc, 0, sizeof(sc));
    sc.name = s->name;
    sc.objective = skpi_cfg_number(o, "objective", 0.999);
    const char *win = skpi_cfg_string(o, "window", "30d");
    sc.kind = strcmp(win, "calendar_month") == 0 ? SKPI_SLO_CALENDAR_MONTH : SKPI_SLO_ROLLING;
    sc.window_s = strcmp(win, "28d") == 0 ? 28 * 86400.0 : 30 * 86400.0;
    skpi_err rc = skpi_slo_new(&sc, &s->slo);
    if(rc) {
      free(s->prev_dlq);
      free(s->prev_src);
      snprintf(errbuf, errlen, "slos: cannot set up SLO \"%s\"", s->name);
      return rc;
    }
    e->nslos++;
  }
  return SKPI_OK;
}

static skpi_err build_targets(skpi_engine *e, char *errbuf, size_t errlen) {
  json_t *list = skpi_config_section(e->cfg, "targets");
  size_t n = json_array_size(list);
  if(!n)
    return SKPI_OK;
  skpi_target_cfg *t = calloc(n, sizeof(*t));
  const char **goods = calloc(n * 64, sizeof(*goods));
  if(!t || !goods) {
    free(t);
    free(goods);
    return SKPI_ENOMEM;
  }
  size_t i, k;
  json_t *o, *g;
  json_array_foreach(list, i, o) {
    skpi_http_source_cfg_defaults(&t[i]);
    t[i].name = skpi_cfg_string(o, "name", "");
    t[i].url = skpi_cfg_string(o, "url", "");
    const char *kind = skpi_cfg_string(o, "kind", "metrics");
    t[i].kind = strcmp(kind, "schema_registry") == 0 ? SKPI_TARGET_SCHEMA_REGISTRY
                : strcmp(kind, "connect") == 0       ? SKPI_TARGET_CONNECT
                                                     : SKPI_TARGET_METRICS;
    if(t[i].kind == SKPI_TARGET_SCHEMA_REGISTRY)
      e->has_schema_target = 1;
    t[i].interval_s = skpi_cfg_duration(o, "interval", 15);
    t[i].timeout_s = skpi_cfg_duration(o, "timeout", 5);
    if(t[i].connect_timeout_s > t[i].timeout_s)
      t[i].connect_timeout_s = t[i].timeout_s;
    t[i].max_bytes = (size_t)skpi_cfg_int(o, "max_bytes", 10485760);
    t[i].username = skpi_cfg_string(o, "username", NULL);
    t[i].password = skpi_cfg_string(o, "password", NULL);
    t[i].ca_file = skpi_cfg_string(o, "ca_file", NULL);
    t[i].insecure = skpi_cfg_bool(o, "insecure_skip_verify", 0);
    json_t *q = json_object_get(o, "quality");
    if(q) {
      t[i].quality_family = skpi_cfg_string(q, "family", t[i].quality_family);
      t[i].quality_label = skpi_cfg_string(q, "label", t[i].quality_label);
      json_t *gl = json_object_get(q, "good");
      if(json_is_array(gl) && json_array_size(gl) > 0) {
        t[i].good = goods + i * 64;
        t[i].ngood = 0;
        json_array_foreach(gl, k, g) {
          if(json_is_string(g) && t[i].ngood < 64)
            goods[i * 64 + t[i].ngood++] = json_string_value(g);
        }
      }
    }
  }
  skpi_err rc = skpi_http_source_new(e->reg, t, n, &e->http, errbuf, errlen);
  free(t);
  free(goods);
  return rc;
}

skpi_engine *skpi_engine_new(const skpi_config *cfg, skpi_registry *reg, char *errbuf,
                             size_t errlen) {
  skpi_engine *e = calloc(1, sizeof(*e));
  if(!e) {
    snprintf(errbuf, errlen, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cond, NULL);
  e->cfg = cfg;
  e->reg = reg;
  skpi_err rc = SKPI_OK;
  json_t *st = skpi_config_section(cfg, "state");
  e->state_path = strdup(skpi_cfg_string(st, "path", "streamkpi-state.json"));
  e->persist_interval = skpi_cfg_duration(st, "persist_interval", 30);
  if(!e->state_path)
    goto oom;
  if((rc = skpi_state_open(e->state_path, &e->state)) != SKPI_OK) {
    snprintf(errbuf, errlen, "state.path: cannot use %s: %s", e->state_path,
             skpi_strerror(rc));
    goto fail;
  }

  json_t *inc = skpi_config_section(cfg, "incidents");
  e->inc = skpi_inc_new((unsigned)skpi_cfg_int(inc, "open_after", 3),
                        (unsigned)skpi_cfg_int(inc, "resolve_after", 2), SKPI_INC_DEFAULT_MAX);
  if(!e->inc)
    goto oom;
  const char *tok = skpi_cfg_string(inc, "webhook_token", NULL);
  const char *tokfile = skpi_cfg_string(inc, "webhook_token_file", NULL);
  if(tok && !(e->token = strdup(tok)))
    goto oom;
  if(tokfile && !(e->token = read_token_file(tokfile, errbuf, errlen)))
    goto fail;

  json_t *mlist = skpi_config_section(cfg, "maintenance");
  size_t nm = json_array_size(mlist);
  e->maint = calloc(nm ? nm : 1, sizeof(*e->maint));
  if(!e->maint)
    goto oom;
  size_t k;
  json_t *mw;
  json_array_foreach(mlist, k, mw) {
    e->maint[e->nmaint].start = skpi_cfg_number(mw, "start", 0);
    e->maint[e->nmaint].end = skpi_cfg_number(mw, "end", 0);
    e->maint[e->nmaint].cluster = skpi_cfg_string(mw, "cluster", NULL);
    e->nmaint++;
  }

  e->ncl = cfg->nclusters;
  e->cl = calloc(e->ncl ? e->ncl : 1, sizeof(*e->cl));
  if(!e->cl)
    goto oom;
  for(size_t i = 0; i < e->ncl; i++)
    if((rc = build_cluster(e, i, errbuf, errlen)) != SKPI_OK) {
      if(!errbuf[0])
        snprintf(errbuf, errlen, "cannot set up KPIs of cluster %s: %s", cfg->clusters[i].name,
                 skpi_strerror(rc));
      goto fail;
    }
  if((rc = build_slos(e, errbuf, errlen)) != SKPI_OK)
    goto fail;
  if((rc = build_targets(e, errbuf, errlen)) != SKPI_OK)
    goto fail;
  e->slot = skpi_registry_add_source(reg, "", "kpi", 1e12, 0);
  if(e->slot < 0) {
    snprintf(errbuf, errlen, "too many registry slots");
    goto fail;
  }
  load_state(e);
  if(skpi_state_corrupt_count(e->state))
    skpi_log(SKPI_ERROR, "state file was corrupt or foreign: moved aside, starting fresh", "path",
             e->state_path);
  pthread_mutex_lock(&e->mu);
  publish(e);
  pthread_mutex_unlock(&e->mu);
  return e;
oom:
  snprintf(errbuf, errlen, "out of memory");
fail:
  skpi_engine_free(e);
  return NULL;
}

void skpi_engine_attach(skpi_engine *e, size_t cluster, skpi_kafka_source *src) {
  if(cluster < e->ncl && src)
    skpi_kafka_source_observe(src, on_sample, &e->cl[cluster]);
}

skpi_err skpi_engine_start(skpi_engine *e) {
  for(size_t i = 0; i < e->ncl; i++) {
    ckpi *c = &e->cl[i];
    if(!c->probe_enabled)
      continue;
    c->probe = skpi_probe_start(&c->pcfg, c->cfg, e->reg);
    if(!c->probe) {
      skpi_log(SKPI_ERROR, "cannot start probe", "cluster", c->cfg->name);
      return SKPI_EKAFKA;
    }
  }
  if(e->http) {
    skpi_err rc = skpi_http_source_start(e->http);
    if(rc)
      return rc;
  }
  if(pthread_create(&e->thread, NULL, engine_thread, e) != 0)
    return SKPI_ENOMEM;
  e->running = 1;
  return SKPI_OK;
}

void skpi_engine_stop(skpi_engine *e) {
  if(!e)
    return;
  for(size_t i = 0; i < e->ncl; i++) {
    skpi_probe_stop(e->cl[i].probe);
    e->cl[i].probe = NULL;
  }
  if(e->http)
    skpi_http_source_stop(e->http);
  if(e->running) {
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    pthread_cond_signal(&e->cond);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    e->running = 0;
  }
  if(e->state)
    persist(e);
}

void skpi_engine_free(skpi_engine *e) {
  if(!e)
    return;
  for(size_t i = 0; e->cl && i < e->ncl; i++) {
    ckpi *c = &e->cl[i];
    skpi_probe_stop(c->probe);
    skpi_avail_free(c->avail);
    skpi_timelag_free(c->tl);
    skpi_dlq_free(c->dlq);
    skpi_onboarding_free(c->onb);
    skpi_streams_free(c->streams);
    skpi_ksample_unref(c->last);
  }
  free(e->cl);
  for(size_t i = 0; i < e->nslos; i++) {
    skpi_slo_free(e->slos[i].slo);
    free(e->slos[i].prev_dlq);
    free(e->slos[i].prev_src);
  }
  free(e->slos);
  skpi_http_source_free(e->http);
  skpi_inc_free(e->inc);
  free(e->maint);
  free(e->token);
  skpi_state_close(e->state);
  free(e->state_path);
  pthread_cond_destroy(&e->cond);
  pthread_mutex_destroy(&e->mu);
  free(e);
}
