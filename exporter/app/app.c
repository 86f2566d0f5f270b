/* app.c: the assembly (see app.h). */
#include "streamkpi/app.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/amwebhook.h"
#include "streamkpi/availability.h"
#include "streamkpi/clock.h"
#include "streamkpi/health.h"
#include "streamkpi/http_source.h"
#include "streamkpi/incidents.h"
#include "streamkpi/kafka_source.h"
#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/probe.h"
#include "streamkpi/state.h"
#include "streamkpi/web.h"

/* Re-render at least this often so rolling windows move without events. */
#define RERENDER_S 10.0
#define TICK_S 1.0
#define TOKEN_FILE_MAX 4096
#define SECTION_MAX 256
/* The readiness bound: two sample intervals plus a request timeout. */
#define READY_SLACK_S 15.0

typedef struct kinst {
  const skpi_kpi_ops *ops;
  void *self;
  const char *cluster; /* NULL for an estate-wide family */
  size_t cluster_idx;
} kinst;

typedef struct ccluster {
  skpi_app *app;
  size_t idx;
  const skpi_cluster_cfg *cfg;
  int probe_enabled;
  skpi_probe_cfg pcfg;
  skpi_probe *probe;
  double prev_probe_end; /* 0: no bridge (first probe, or after a gap) */
  skpi_kafka_source *src;
} ccluster;

enum { WH_200, WH_400, WH_401, WH_413, WH_OTHER, WH_N };

struct skpi_app {
  const skpi_config *cfg;
  skpi_registry *reg;
  skpi_web *web;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  pthread_t thread;
  int running;
  int built;   /* skpi_app_new completed: the state may be written */
  int stopped; /* skpi_app_stop ran */
  atomic_int stop;
  skpi_state *state;
  char *state_path;
  double persist_interval;
  double last_write;
  kinst *kpis;
  size_t nkpis;
  ccluster *cl;
  size_t ncl;
  skpi_http_source *http;
  int has_schema_target, has_connect_target;
  skpi_maint *maint;
  size_t nmaint;
  char *token;
  unsigned long webhook_codes[WH_N];
  skpi_incidents *inc; /* the incidents family's instance */
  int slot;
  double last_render;
};

/* ---- KPI instances ---- */

static void *lookup(const skpi_kpi_ctx *ctx, const char *family, const char *cluster) {
  const skpi_app *a = ctx->lookup_user;
  for(size_t i = 0; i < a->nkpis; i++) {
    const kinst *k = &a->kpis[i];
    if(strcmp(k->ops->name, family) != 0)
      continue;
    if((!cluster && !k->cluster) || (cluster && k->cluster && strcmp(cluster, k->cluster) == 0))
      return k->self;
  }
  return NULL;
}

static skpi_err add_instance(skpi_app *a, const skpi_kpi_ops *ops, const skpi_cluster_cfg *c,
                             size_t idx, char *errbuf, size_t errlen) {
  skpi_kpi_ctx ctx = {a->cfg, c, idx, lookup, a};
  void *self = NULL;
  skpi_err rc = ops->create(&ctx, &self, errbuf, errlen);
  if(rc != SKPI_OK) {
    if(!errbuf[0])
      snprintf(errbuf, errlen, "cannot set up KPI %s%s%s: %s", ops->name, c ? " of cluster " : "",
               c ? c->name : "", skpi_strerror(rc));
    return rc;
  }
  if(!self)
    return SKPI_OK; /* switched off */
  kinst *k = &a->kpis[a->nkpis++];
  k->ops = ops;
  k->self = self;
  k->cluster = c ? c->name : NULL;
  k->cluster_idx = idx;
  return SKPI_OK;
}

static skpi_err build_kpis(skpi_app *a, char *errbuf, size_t errlen) {
  size_t max = skpi_kpi_table_len * (a->ncl + 1);
  a->kpis = calloc(max ? max : 1, sizeof(*a->kpis));
  if(!a->kpis)
    return SKPI_ENOMEM;
  for(size_t t = 0; t < skpi_kpi_table_len; t++) {
    const skpi_kpi_ops *ops = skpi_kpi_table[t];
    skpi_err rc = SKPI_OK;
    if(!ops->per_cluster)
      rc = add_instance(a, ops, NULL, 0, errbuf, errlen);
    for(size_t i = 0; ops->per_cluster && rc == SKPI_OK && i < a->ncl; i++)
      rc = add_instance(a, ops, &a->cfg->clusters[i], i, errbuf, errlen);
    if(rc != SKPI_OK)
      return rc;
  }
  a->inc = lookup(&(skpi_kpi_ctx){.lookup_user = a}, "incidents", NULL);
  return SKPI_OK;
}

static void section_of(const kinst *k, char *out, size_t len) {
  if(k->cluster)
    snprintf(out, len, "%s/%s", k->ops->name, k->cluster);
  else
    snprintf(out, len, "%s", k->ops->name);
}

/* State files written before the SLOs became one family kept one section
 * per SLO ("slo/<name>"); gather them into the family's document. */
static json_t *legacy_slo_section(skpi_app *a) {
  json_t *doc = json_object();
  size_t i;
  json_t *o;
  char sec[SECTION_MAX];
  json_array_foreach(skpi_config_section(a->cfg, "slos"), i, o) {
    const char *name = skpi_cfg_string(o, "name", "");
    snprintf(sec, sizeof(sec), "slo/%s", name);
    json_t *d = skpi_state_get(a->state, sec);
    if(d && doc)
      json_object_set_new(doc, name, d);
    else
      json_decref(d);
  }
  if(doc && !json_object_size(doc)) {
    json_decref(doc);
    doc = NULL;
  }
  return doc;
}

static void load_state(skpi_app *a) {
  char sec[SECTION_MAX], err[256];
  for(size_t i = 0; i < a->nkpis; i++) {
    kinst *k = &a->kpis[i];
    if(!k->ops->load)
      continue;
    section_of(k, sec, sizeof(sec));
    json_t *doc = skpi_state_get(a->state, sec);
    if(!doc && strcmp(k->ops->name, "slo") == 0)
      doc = legacy_slo_section(a);
    if(!doc)
      continue;
    err[0] = '\0';
    skpi_err rc = k->ops->load(k->self, doc, err, sizeof(err));
    /* The state module logs where the refused section was kept. */
    const char *why = err[0] ? err : skpi_strerror(rc);
    if(rc != SKPI_OK && skpi_state_set_aside(a->state, sec, why, NULL, 0) == SKPI_ENOENT)
      skpi_log(SKPI_ERROR, "state section unreadable, starting it fresh", "section", sec, "error",
               why);
    json_decref(doc);
  }
}

/* Saves every section into the state (caller holds the mutex). */
static void save_sections(skpi_app *a, double now) {
  char sec[SECTION_MAX];
  for(size_t i = 0; i < a->nkpis; i++) {
    kinst *k = &a->kpis[i];
    if(!k->ops->save)
      continue;
    section_of(k, sec, sizeof(sec));
    json_t *doc = k->ops->save(k->self, now);
    if(doc)
      skpi_state_put(a->state, sec, doc);
    else
      skpi_log(SKPI_ERROR, "cannot save state section", "section", sec);
  }
}

static void persist(skpi_app *a) {
  double now = skpi_now();
  pthread_mutex_lock(&a->mu);
  save_sections(a, now);
  pthread_mutex_unlock(&a->mu);
  skpi_err rc = skpi_state_flush(a->state);
  pthread_mutex_lock(&a->mu);
  if(rc == SKPI_OK)
    a->last_write = now;
  pthread_mutex_unlock(&a->mu);
  if(rc != SKPI_OK)
    skpi_log(SKPI_ERROR, "cannot write state file", "path", a->state_path, "error",
             skpi_strerror(rc));
}

/* ---- rendering ---- */

static void render_self(const skpi_app *a, skpi_mset *m) {
  int f_corrupt = skpi_mset_family(m, "streamkpi_state_corrupt_files_total", SKPI_MT_COUNTER,
                                   "State files found corrupt or foreign and moved aside.");
  int f_werr = skpi_mset_family(m, "streamkpi_state_write_errors_total", SKPI_MT_COUNTER,
                                "State file writes that failed.");
  int f_wts = skpi_mset_family(m, "streamkpi_state_last_write_timestamp_seconds", SKPI_MT_GAUGE,
                               "Unix time of the last successful state write.");
  int f_wh = skpi_mset_family(m, "streamkpi_alertmanager_webhook_requests_total", SKPI_MT_COUNTER,
                              "Alertmanager webhook requests by response code.");
  if(f_corrupt >= 0)
    skpi_mset_add(m, f_corrupt, (double)skpi_state_corrupt_count(a->state));
  if(f_werr >= 0)
    skpi_mset_add(m, f_werr, (double)skpi_state_write_errors(a->state));
  if(f_wts >= 0 && a->last_write > 0)
    skpi_mset_add(m, f_wts, a->last_write);
  static const char *const codes[WH_N] = {"200", "400", "401", "413", "other"};
  for(size_t i = 0; f_wh >= 0 && i < WH_N; i++)
    skpi_mset_add(m, f_wh, (double)a->webhook_codes[i], "code", codes[i]);
}

/* Renders every KPI instance into a new set and publishes it (mutex held). */
static void publish(skpi_app *a) {
  double t0 = skpi_mono(), now = skpi_now();
  skpi_mset *m = skpi_mset_new();
  if(!m)
    return;
  for(size_t i = 0; i < a->nkpis; i++) {
    const kinst *k = &a->kpis[i];
    if(!k->ops->render)
      continue;
    skpi_err rc = k->ops->render(k->self, now, m);
    if(rc != SKPI_OK)
      skpi_log(SKPI_WARN, "cannot render KPI", "kpi", k->ops->name, "cluster",
               k->cluster ? k->cluster : "", "error", skpi_strerror(rc));
  }
  render_self(a, m);
  a->last_render = now;
  skpi_registry_publish(a->reg, a->slot, m, NULL, skpi_mono() - t0);
}

/* ---- events ---- */

/* Hands ev to the instances it concerns (mutex held). */
static void deliver(skpi_app *a, const skpi_event *ev) {
  for(size_t i = 0; i < a->nkpis; i++) {
    const kinst *k = &a->kpis[i];
    if(k->cluster && (!ev->cluster || k->cluster_idx != ev->cluster_idx))
      continue;
    k->ops->observe(k->self, ev);
  }
}

void skpi_app_dispatch(skpi_app *a, const skpi_event *ev) {
  pthread_mutex_lock(&a->mu);
  deliver(a, ev);
  publish(a);
  pthread_mutex_unlock(&a->mu);
}

skpi_facts *skpi_app_facts(skpi_app *a, double now) {
  skpi_facts *f = skpi_facts_new();
  if(!f)
    return NULL;
  pthread_mutex_lock(&a->mu);
  for(size_t i = 0; i < a->nkpis; i++)
    if(a->kpis[i].ops->facts)
      a->kpis[i].ops->facts(a->kpis[i].self, now, f);
  pthread_mutex_unlock(&a->mu);
  return f;
}

static int in_maint(const skpi_app *a, const char *cluster, double t) {
  return skpi_maint_active(a->maint, a->nmaint, cluster, t);
}

static void on_probe(const skpi_probe_result *r, void *user) {
  ccluster *c = user;
  skpi_app *a = c->app;
  skpi_health h = {r->ok, r->brokers_up, c->pcfg.min_brokers, r->offline_partitions};
  skpi_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = SKPI_EV_PROBE;
  ev.now = r->t_end;
  ev.cluster = c->cfg->name;
  ev.cluster_idx = c->idx;
  ev.u.probe.t1 = r->t_end;
  ev.u.probe.ok = r->ok;
  ev.u.probe.cause = skpi_health_cause(&h);
  ev.u.probe.roundtrip_latency_s = r->roundtrip_latency_s;
  ev.u.probe.metadata_only = c->pcfg.mode == SKPI_PROBE_METADATA_ONLY;
  pthread_mutex_lock(&a->mu);
  ev.maintenance = in_maint(a, ev.cluster, r->t_end);
  ev.u.probe.t0 = skpi_health_interval_start(c->prev_probe_end, r->t_start, r->t_end,
                                             c->pcfg.interval_s, c->pcfg.timeout_s);
  c->prev_probe_end = r->t_end;
  deliver(a, &ev);
  publish(a);
  pthread_mutex_unlock(&a->mu);
}

/* Schema Registry coverage of the sample's topics holding data (mutex held:
 * the HTTP source has its own lock and never calls back). */
static void schema_coverage(skpi_app *a, const skpi_event *sev) {
  const skpi_ksample *s = sev->u.sample;
  if(!a->http || !a->has_schema_target)
    return;
  const char **topics = calloc(s->ntopics ? s->ntopics : 1, sizeof(*topics));
  if(!topics)
    return;
  size_t n = 0, covered = 0;
  for(size_t i = 0; i < s->ntopics; i++) {
    const skpi_ktopic *t = &s->topics[i];
    int64_t data = 0;
    for(int p = 0; !t->internal && p < t->nparts; p++)
      if(t->parts[p].high > 0)
        data += t->parts[p].high;
    if(data > 0)
      topics[n++] = t->name;
  }
  if(n && skpi_http_source_schema_coverage(a->http, topics, n, &covered) == SKPI_OK) {
    skpi_event ev = *sev;
    ev.kind = SKPI_EV_SCHEMA_COVERAGE;
    ev.u.coverage.covered = covered;
    ev.u.coverage.topics = n;
    deliver(a, &ev);
  }
  free(topics);
}

static void on_sample(const skpi_ksample *s, void *user) {
  ccluster *c = user;
  skpi_app *a = c->app;
  skpi_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = SKPI_EV_SAMPLE;
  ev.now = s->time;
  ev.cluster = c->cfg->name;
  ev.cluster_idx = c->idx;
  ev.u.sample = s;
  pthread_mutex_lock(&a->mu);
  ev.maintenance = in_maint(a, ev.cluster, s->time);
  deliver(a, &ev);
  schema_coverage(a, &ev);
  publish(a);
  pthread_mutex_unlock(&a->mu);
}

/* Application quality and Connect status (mutex held). */
static void poll_targets(skpi_app *a, double now) {
  if(!a->http)
    return;
  skpi_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.now = now;
  ev.maintenance = in_maint(a, NULL, now);
  size_t i;
  json_t *t;
  json_array_foreach(skpi_config_section(a->cfg, "targets"), i, t) {
    const char *name = skpi_cfg_string(t, "name", "");
    if(strcmp(skpi_cfg_string(t, "kind", "metrics"), "metrics") != 0)
      continue;
    ev.kind = SKPI_EV_APP_QUALITY;
    ev.u.quality.target = name;
    if(skpi_http_source_quality(a->http, name, &ev.u.quality.good, &ev.u.quality.total) ==
       SKPI_OK)
      deliver(a, &ev);
  }
  if(a->has_connect_target) {
    ev.kind = SKPI_EV_CONNECT;
    if(skpi_http_source_connect(a->http, &ev.u.connect.connectors, &ev.u.connect.running) ==
       SKPI_OK)
      deliver(a, &ev);
  }
}

static void *app_thread(void *arg) {
  skpi_app *a = arg;
  double next_persist = skpi_mono() + a->persist_interval;
  pthread_mutex_lock(&a->mu);
  while(!atomic_load(&a->stop)) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double wait = a->persist_interval < TICK_S ? a->persist_interval : TICK_S;
    ts.tv_sec += (time_t)wait;
    ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
    if(ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&a->cond, &a->mu, &ts);
    if(atomic_load(&a->stop))
      break;
    double now = skpi_now();
    poll_targets(a, now);
    skpi_event tick;
    memset(&tick, 0, sizeof(tick));
    tick.kind = SKPI_EV_TICK;
    tick.now = now;
    deliver(a, &tick);
    if(now - a->last_render >= RERENDER_S)
      publish(a);
    if(skpi_mono() >= next_persist) {
      pthread_mutex_unlock(&a->mu);
      persist(a);
      pthread_mutex_lock(&a->mu);
      next_persist = skpi_mono() + a->persist_interval;
    }
  }
  pthread_mutex_unlock(&a->mu);
  return NULL;
}

/* ---- web routes ---- */

static void route_incidents(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_app *a = user;
  pthread_mutex_lock(&a->mu);
  json_t *doc = skpi_inc_list_json(a->inc, skpi_now());
  pthread_mutex_unlock(&a->mu);
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
  skpi_app *a = user;
  pthread_mutex_lock(&a->mu);
  int code = skpi_am_handle(a->inc, a->token, req->authorization, req->body, req->body_len,
                            skpi_now(), &resp->body);
  resp->status = code;
  int idx = code == 200   ? WH_200
            : code == 400 ? WH_400
            : code == 401 ? WH_401
            : code == 413 ? WH_413
                          : WH_OTHER;
  a->webhook_codes[idx]++;
  if(code != 200)
    skpi_log(SKPI_WARN, "alertmanager webhook refused", "status",
             idx == WH_400   ? "400"
             : idx == WH_401 ? "401"
             : idx == WH_413 ? "413"
                             : "error");
  publish(a);
  pthread_mutex_unlock(&a->mu);
}

static skpi_err add_routes(skpi_app *a) {
  skpi_err rc;
  json_t *inc = skpi_config_section(a->cfg, "incidents");
  size_t max_body = (size_t)skpi_cfg_int(inc, "max_body", SKPI_AM_MAX_BODY);
  if((rc = skpi_web_route(a->web, "GET", "/api/v1/incidents", 0, route_incidents, a)) != SKPI_OK)
    return rc;
  return skpi_web_route(a->web, "POST", "/api/v1/alertmanager", max_body, route_alertmanager, a);
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

static skpi_err build_clusters(skpi_app *a) {
  a->ncl = a->cfg->nclusters;
  a->cl = calloc(a->ncl ? a->ncl : 1, sizeof(*a->cl));
  if(!a->cl)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < a->ncl; i++) {
    ccluster *c = &a->cl[i];
    c->app = a;
    c->idx = i;
    c->cfg = &a->cfg->clusters[i];
    json_t *p = skpi_config_cluster_section(a->cfg, i, "probe");
    c->probe_enabled = skpi_cfg_bool(p, "enabled", 1);
    c->pcfg.mode = strcmp(skpi_cfg_string(p, "mode", ""), "metadata-only") == 0
                       ? SKPI_PROBE_METADATA_ONLY
                       : SKPI_PROBE_PRODUCE_CONSUME;
    c->pcfg.topic = skpi_cfg_string(p, "topic", "streamkpi-probe");
    c->pcfg.replication_factor = (int)skpi_cfg_int(p, "replication_factor", 3);
    c->pcfg.interval_s = skpi_cfg_duration(p, "interval", 10);
    c->pcfg.timeout_s = skpi_cfg_duration(p, "timeout", 5);
    c->pcfg.min_brokers = (int)skpi_cfg_int(p, "min_brokers", 1);
    c->pcfg.observer = on_probe;
    c->pcfg.observer_user = c;
  }
  return SKPI_OK;
}

static skpi_err build_maintenance(skpi_app *a) {
  json_t *mlist = skpi_config_section(a->cfg, "maintenance");
  size_t nm = json_array_size(mlist);
  a->maint = calloc(nm ? nm : 1, sizeof(*a->maint));
  if(!a->maint)
    return SKPI_ENOMEM;
  size_t k;
  json_t *mw;
  json_array_foreach(mlist, k, mw) {
    a->maint[a->nmaint].start = skpi_cfg_number(mw, "start", 0);
    a->maint[a->nmaint].end = skpi_cfg_number(mw, "end", 0);
    a->maint[a->nmaint].cluster = skpi_cfg_string(mw, "cluster", NULL);
    a->nmaint++;
  }
  return SKPI_OK;
}

/* Most quality.good values one target takes. */
#define TARGET_MAX_GOOD 64

static skpi_err build_targets(skpi_app *a, char *errbuf, size_t errlen) {
  json_t *list = skpi_config_section(a->cfg, "targets");
  size_t n = json_array_size(list);
  if(!n)
    return SKPI_OK;
  skpi_target_cfg *t = calloc(n, sizeof(*t));
  const char **goods = calloc(n * TARGET_MAX_GOOD, sizeof(*goods));
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
    a->has_schema_target |= t[i].kind == SKPI_TARGET_SCHEMA_REGISTRY;
    a->has_connect_target |= t[i].kind == SKPI_TARGET_CONNECT;
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
        t[i].good = goods + i * TARGET_MAX_GOOD;
        t[i].ngood = 0;
        json_array_foreach(gl, k, g) {
          if(json_is_string(g) && t[i].ngood < TARGET_MAX_GOOD)
            goods[i * TARGET_MAX_GOOD + t[i].ngood++] = json_string_value(g);
        }
      }
    }
  }
  skpi_err rc = skpi_http_source_new(a->reg, t, n, &a->http, errbuf, errlen);
  free(t);
  free(goods);
  return rc;
}

static skpi_err build_web(skpi_app *a, const skpi_app_opts *opts, char *errbuf, size_t errlen) {
  double max_interval = 0;
  for(size_t i = 0; i < a->cfg->nclusters; i++)
    if(a->cfg->clusters[i].sample_interval_s > max_interval)
      max_interval = a->cfg->clusters[i].sample_interval_s;
  skpi_web_opts wo;
  memset(&wo, 0, sizeof(wo));
  wo.listen_address =
      opts && opts->listen_address ? opts->listen_address : a->cfg->listen_address;
  wo.telemetry_path =
      opts && opts->telemetry_path ? opts->telemetry_path : a->cfg->telemetry_path;
  wo.ready_max_age_s = 2 * max_interval + READY_SLACK_S;
  wo.web_config_file = opts ? opts->web_config_file : NULL;
  a->web = skpi_web_new(&wo, a->reg, errbuf, errlen);
  return a->web ? add_routes(a) : SKPI_EINVAL;
}

skpi_app *skpi_app_new(const skpi_config *cfg, const skpi_app_opts *opts, char *errbuf,
                       size_t errlen) {
  errbuf[0] = '\0';
  skpi_app *a = calloc(1, sizeof(*a));
  if(!a) {
    snprintf(errbuf, errlen, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cond, NULL);
  atomic_init(&a->stop, 0);
  a->cfg = cfg;
  a->slot = -1;
  skpi_err rc = SKPI_ENOMEM;
  if(!(a->reg = skpi_registry_new()))
    goto fail;
  if((rc = build_web(a, opts, errbuf, errlen)) != SKPI_OK)
    goto fail;
  json_t *st = skpi_config_section(cfg, "state");
  a->persist_interval = skpi_cfg_duration(st, "persist_interval", 30);
  if(!(a->state_path = strdup(skpi_cfg_string(st, "path", "streamkpi-state.json"))))
    goto fail;
  if((rc = skpi_state_open(a->state_path, &a->state)) != SKPI_OK) {
    snprintf(errbuf, errlen, "state.path: cannot use %s: %s", a->state_path, skpi_strerror(rc));
    goto fail;
  }
  json_t *inc = skpi_config_section(cfg, "incidents");
  const char *tok = skpi_cfg_string(inc, "webhook_token", NULL);
  const char *tokfile = skpi_cfg_string(inc, "webhook_token_file", NULL);
  rc = SKPI_ENOMEM;
  if(tok && !(a->token = strdup(tok)))
    goto fail;
  rc = SKPI_EINVAL;
  if(tokfile && !(a->token = read_token_file(tokfile, errbuf, errlen)))
    goto fail;
  if((rc = build_maintenance(a)) != SKPI_OK || (rc = build_clusters(a)) != SKPI_OK ||
     (rc = build_kpis(a, errbuf, errlen)) != SKPI_OK ||
     (rc = build_targets(a, errbuf, errlen)) != SKPI_OK)
    goto fail;
  rc = SKPI_ENOMEM;
  if(!a->inc)
    goto fail;
  a->slot = skpi_registry_add_source(a->reg, "", "kpi", 1e12, 0);
  if(a->slot < 0) {
    snprintf(errbuf, errlen, "too many registry slots");
    goto fail;
  }
  load_state(a); /* a corrupt file was already moved aside and logged by the state module */
  pthread_mutex_lock(&a->mu);
  publish(a);
  pthread_mutex_unlock(&a->mu);
  a->built = !(opts && opts->check_only);
  return a;
fail:
  if(!errbuf[0])
    snprintf(errbuf, errlen, "%s", skpi_strerror(rc));
  skpi_app_free(a);
  return NULL;
}

skpi_err skpi_app_start(skpi_app *a, char *errbuf, size_t errlen) {
  skpi_err rc = skpi_web_start(a->web, errbuf, errlen);
  if(rc != SKPI_OK)
    return rc;
  for(size_t i = 0; i < a->ncl; i++) {
    ccluster *c = &a->cl[i];
    c->src = skpi_kafka_source_start(c->cfg, a->reg);
    if(!c->src) {
      snprintf(errbuf, errlen, "cannot start the Kafka source of cluster %s", c->cfg->name);
      return SKPI_EKAFKA;
    }
    skpi_kafka_source_observe(c->src, on_sample, c);
    if(!c->probe_enabled)
      continue;
    c->probe = skpi_probe_start(&c->pcfg, c->cfg, a->reg);
    if(!c->probe) {
      snprintf(errbuf, errlen, "cannot start the probe of cluster %s", c->cfg->name);
      return SKPI_EKAFKA;
    }
  }
  if(a->http && (rc = skpi_http_source_start(a->http)) != SKPI_OK) {
    snprintf(errbuf, errlen, "cannot start the HTTP targets: %s", skpi_strerror(rc));
    return rc;
  }
  if(pthread_create(&a->thread, NULL, app_thread, a) != 0) {
    snprintf(errbuf, errlen, "cannot start the KPI thread");
    return SKPI_ENOMEM;
  }
  a->running = 1;
  return SKPI_OK;
}

void skpi_app_stop(skpi_app *a) {
  if(!a || a->stopped)
    return;
  a->stopped = 1;
  for(size_t i = 0; a->cl && i < a->ncl; i++) {
    skpi_kafka_source_stop(a->cl[i].src);
    a->cl[i].src = NULL;
    skpi_probe_stop(a->cl[i].probe);
    a->cl[i].probe = NULL;
  }
  if(a->http)
    skpi_http_source_stop(a->http);
  if(a->running) {
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->stop, 1);
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    a->running = 0;
  }
  if(a->built)
    persist(a);
}

void skpi_app_free(skpi_app *a) {
  if(!a)
    return;
  skpi_app_stop(a);
  skpi_web_free(a->web);
  for(size_t i = 0; i < a->nkpis; i++)
    a->kpis[i].ops->free(a->kpis[i].self);
  free(a->kpis);
  free(a->cl);
  skpi_http_source_free(a->http);
  free(a->maint);
  free(a->token);
  skpi_state_close(a->state);
  free(a->state_path);
  skpi_registry_free(a->reg);
  pthread_cond_destroy(&a->cond);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

skpi_registry *skpi_app_registry(skpi_app *a) { return a->reg; }

unsigned skpi_app_port(const skpi_app *a) { return skpi_web_port(a->web); }
