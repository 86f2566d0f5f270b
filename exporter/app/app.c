/* app.c: the assembly (see app.h). */
#include "streamkpi/app.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "streamkpi/amwebhook.h"
#include "streamkpi/assess.h"
#include "streamkpi/assess_history.h"
#include "streamkpi/assess_report.h"
#include "streamkpi/availability.h"
#include "streamkpi/clock.h"
#include "streamkpi/consumer_status.h"
#include "streamkpi/health.h"
#include "streamkpi/http_source.h"
#include "streamkpi/incidents.h"
#include "streamkpi/kafka_source.h"
#include "streamkpi/kpi.h"
#include "streamkpi/log.h"
#include "streamkpi/policy.h"
#include "streamkpi/probe.h"
#include "streamkpi/products.h"
#include "streamkpi/refcnt.h"
#include "streamkpi/state.h"
#include "streamkpi/configs_source.h"
#include "streamkpi/timelag.h"
#include "streamkpi/web.h"

/* Re-render at least this often so rolling windows move without events. */
#define RERENDER_S 10.0
#define TICK_S 1.0
#define SECTION_MAX 256
/* The state section of the daily assessment history. */
#define HISTORY_SECTION "maturity"
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
  skpi_configs_source *configs; /* topic and broker configs, for the policy audit */
} ccluster;

enum { WH_200, WH_400, WH_401, WH_403, WH_413, WH_503, WH_OTHER, WH_N };

struct skpi_app {
  const skpi_config *cfg;
  skpi_registry *reg;
  skpi_web *web;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  pthread_t thread;
  int running;
  int built;   /* skpi_app_new completed: the state may be written */
  int check_only; /* a configuration check: nothing is ever written */
  int stopped; /* skpi_app_stop ran */
  skpi_stop stop;
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
  int webhook_open; /* a token is configured, or the webhook was opened without one */
  int lifecycle;    /* POST /-/reload is served */
  char listen[256]; /* the listen address as given, to know if a reload keeps it */
  unsigned long webhook_codes[WH_N]; /* atomic: the webhook guard counts without the mutex */
  int dirty;                         /* atomic: a change waits for the app thread to publish it */
  int reload_ok;                     /* the last configuration reload succeeded */
  double reload_ts;                  /* unix time of the last successful (re)load */
  skpi_incidents *inc;               /* the incidents family's instance */
  /* The maturity assessment: its settings, the newest result, the daily
   * history (state section "maturity"). */
  skpi_assess_cfg acfg;
  skpi_assess_threshold *athresholds;
  skpi_assess_toggle *atoggles;
  skpi_assess_answer *asurvey;
  skpi_assess_cluster *aclusters;
  skpi_assessment *assessment;
  skpi_assess_history *history;
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
  char sec[SECTION_MAX];
  for(size_t i = 0; i < a->cfg->nslos; i++) {
    const char *name = a->cfg->slos[i].name;
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

/* A section its loader refused: kept aside with the reason by the state
 * module (which logs where), except in a configuration check, which writes
 * nothing. */
static void refused(skpi_app *a, const char *sec, const char *why) {
  if(a->check_only || skpi_state_set_aside(a->state, sec, why, NULL, 0) == SKPI_ENOENT)
    skpi_log(SKPI_ERROR, "state section unreadable, starting it fresh", "section", sec, "error",
             why);
}

static void load_history(skpi_app *a) {
  char err[256] = "";
  json_t *doc = skpi_state_get(a->state, HISTORY_SECTION);
  if(!doc)
    return;
  skpi_err rc = skpi_assess_history_load(a->history, doc, err, sizeof(err));
  if(rc != SKPI_OK)
    refused(a, HISTORY_SECTION, err[0] ? err : skpi_strerror(rc));
  json_decref(doc);
}

static void load_state(skpi_app *a) {
  char sec[SECTION_MAX], err[256];
  load_history(a);
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
    if(rc != SKPI_OK)
      refused(a, sec, err[0] ? err : skpi_strerror(rc));
    json_decref(doc);
  }
}

/* Saves every section into the state (caller holds the mutex). */
static void save_sections(skpi_app *a, double now) {
  char sec[SECTION_MAX];
  json_t *hist = skpi_assess_history_save(a->history);
  if(hist)
    skpi_state_put(a->state, HISTORY_SECTION, hist);
  else
    skpi_log(SKPI_ERROR, "cannot save state section", "section", HISTORY_SECTION);
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

/* ---- the maturity assessment ---- */

static skpi_err build_assessment(skpi_app *a, char *errbuf, size_t errlen) {
  const skpi_config_maturity *m = &a->cfg->maturity;
  size_t ncl = a->cfg->nclusters;
  a->athresholds = calloc(m->nthresholds ? m->nthresholds : 1, sizeof(*a->athresholds));
  a->atoggles = calloc(m->ncriteria ? m->ncriteria : 1, sizeof(*a->atoggles));
  a->asurvey = calloc(m->nsurvey ? m->nsurvey : 1, sizeof(*a->asurvey));
  a->aclusters = calloc(ncl ? ncl : 1, sizeof(*a->aclusters));
  if(!a->athresholds || !a->atoggles || !a->asurvey || !a->aclusters ||
     !(a->history = skpi_assess_history_new()))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < m->nthresholds; i++)
    a->athresholds[i] = (skpi_assess_threshold){m->thresholds[i].id, m->thresholds[i].value,
                                                 m->thresholds[i].line};
  for(size_t i = 0; i < m->ncriteria; i++)
    a->atoggles[i] =
        (skpi_assess_toggle){m->criteria[i].id, m->criteria[i].enabled, m->criteria[i].line};
  for(size_t i = 0; i < m->nsurvey; i++)
    a->asurvey[i] = (skpi_assess_answer){m->survey[i].item, m->survey[i].score,
                                         m->survey[i].date, m->survey[i].line};
  for(size_t i = 0; i < ncl; i++) {
    const char *role = a->cfg->clusters[i].role;
    a->aclusters[i] = (skpi_assess_cluster){a->cfg->clusters[i].name,
                                            role && strcmp(role, "production") == 0};
  }
  a->acfg = (skpi_assess_cfg){a->athresholds, m->nthresholds, a->atoggles, m->ncriteria,
                              a->asurvey,     m->nsurvey,     m->survey_max_age_s,
                              a->aclusters,   ncl};
  skpi_assess_cfg_error e;
  memset(&e, 0, sizeof(e));
  if(skpi_assess_validate(&a->acfg, &e) != SKPI_OK) {
    skpi_config_error(a->cfg, e.line, e.key, e.msg, errbuf, errlen);
    return SKPI_EINVAL;
  }
  return SKPI_OK;
}

/* Runs the assessment on every KPI's facts at now, keeps it and records
 * the day in the history (mutex held). */
static void assess(skpi_app *a, double now) {
  skpi_facts *f = skpi_facts_new();
  if(!f)
    return;
  for(size_t i = 0; i < a->nkpis; i++)
    if(a->kpis[i].ops->facts)
      a->kpis[i].ops->facts(a->kpis[i].self, now, f);
  skpi_assessment *res = NULL;
  skpi_err rc = skpi_assess_run(&a->acfg, f, now, &res);
  skpi_facts_free(f);
  if(rc != SKPI_OK) {
    skpi_log(SKPI_WARN, "cannot assess maturity", "error", skpi_strerror(rc));
    return;
  }
  skpi_assess_free(a->assessment);
  a->assessment = res;
  if((rc = skpi_assess_history_record(a->history, res)) != SKPI_OK)
    skpi_log(SKPI_WARN, "cannot record the assessment history", "error", skpi_strerror(rc));
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
  static const char *const codes[WH_N] = {"200", "400", "401", "403", "413", "503", "other"};
  for(size_t i = 0; f_wh >= 0 && i < WH_N; i++)
    skpi_mset_add(m, f_wh, (double)__atomic_load_n(&a->webhook_codes[i], __ATOMIC_RELAXED), "code",
                  codes[i]);
  int f_rok = skpi_mset_family(m, "streamkpi_config_last_reload_successful", SKPI_MT_GAUGE,
                               "Whether the last configuration reload succeeded (1) or not (0).");
  int f_rts =
      skpi_mset_family(m, "streamkpi_config_last_reload_success_timestamp_seconds", SKPI_MT_GAUGE,
                       "Unix time of the last successful configuration load or reload.");
  if(f_rok >= 0)
    skpi_mset_add(m, f_rok, a->reload_ok ? 1.0 : 0.0);
  if(f_rts >= 0)
    skpi_mset_add(m, f_rts, a->reload_ts);
  int f_rej = skpi_mset_family(m, "streamkpi_state_rejected_sections_total", SKPI_MT_COUNTER,
                               "State sections their loader refused, kept aside with the reason.");
  int f_sup = skpi_mset_family(m, "streamkpi_log_lines_suppressed_total", SKPI_MT_COUNTER,
                               "Log lines left out by the repeat limit.");
  int f_web = skpi_mset_family(m, "streamkpi_web_refused_total", SKPI_MT_COUNTER,
                               "HTTP requests or connections the server refused or cut, by "
                               "reason.");
  if(f_rej >= 0)
    skpi_mset_add(m, f_rej, (double)skpi_state_rejected_count(a->state));
  if(f_sup >= 0)
    skpi_mset_add(m, f_sup, (double)skpi_log_suppressed());
  skpi_web_counters k;
  memset(&k, 0, sizeof(k));
  if(a->web)
    skpi_web_counters_get(a->web, &k);
  const struct {
    const char *reason;
    unsigned long n;
  } web[] = {{"deadline", k.deadline_closed},  {"slow_reader", k.slow_readers_cut},
             {"pinned", k.pinned_refused},     {"auth", k.auth_refused},
             {"auth_busy", k.auth_busy},       {"client_cert", k.cert_refused},
             {"framing", k.framing_refused}};
  for(size_t i = 0; f_web >= 0 && i < sizeof(web) / sizeof(web[0]); i++)
    skpi_mset_add(m, f_web, (double)web[i].n, "reason", web[i].reason);
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
  assess(a, now);
  if(a->assessment) {
    skpi_err rc = skpi_assess_metrics(a->assessment, m);
    if(rc != SKPI_OK)
      skpi_log(SKPI_WARN, "cannot render the maturity metrics", "error", skpi_strerror(rc));
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

/* An event of kind about cluster c at now; the maintenance windows are
 * fixed when the app is built, so no lock is needed to read them. */
static skpi_event cluster_event(const ccluster *c, enum skpi_event_kind kind, double now) {
  skpi_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = kind;
  ev.now = now;
  ev.cluster = c->cfg->name;
  ev.cluster_idx = c->idx;
  ev.maintenance = in_maint(c->app, ev.cluster, now);
  return ev;
}

static void on_probe(const skpi_probe_result *r, void *user) {
  ccluster *c = user;
  skpi_app *a = c->app;
  skpi_health h = {r->ok, r->brokers_up, c->pcfg.min_brokers, r->offline_partitions};
  skpi_event ev = cluster_event(c, SKPI_EV_PROBE, r->t_end);
  ev.u.probe.t1 = r->t_end;
  ev.u.probe.ok = r->ok;
  ev.u.probe.cause = skpi_health_cause(&h);
  ev.u.probe.roundtrip_latency_s = r->roundtrip_latency_s;
  ev.u.probe.metadata_only = c->pcfg.mode == SKPI_PROBE_METADATA_ONLY;
  pthread_mutex_lock(&a->mu);
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
  skpi_event ev = cluster_event(c, SKPI_EV_SAMPLE, s->time);
  ev.u.sample = s;
  pthread_mutex_lock(&a->mu);
  deliver(a, &ev);
  schema_coverage(a, &ev);
  publish(a);
  pthread_mutex_unlock(&a->mu);
}

static void on_configs(const skpi_topic_configs *tc, void *user) {
  ccluster *c = user;
  skpi_app *a = c->app;
  skpi_event ev = cluster_event(c, SKPI_EV_TOPIC_CONFIGS, skpi_now());
  ev.u.configs = tc;
  pthread_mutex_lock(&a->mu);
  deliver(a, &ev);
  publish(a);
  pthread_mutex_unlock(&a->mu);
}

/* The topic-config source runs where the policy family has an instance. */
static int wants_configs(const skpi_app *a, const ccluster *c) {
  return lookup(&(skpi_kpi_ctx){.lookup_user = (void *)a}, "policy", c->cfg->name) != NULL;
}


/* One SKPI_EV_CONNECT from the Connect targets: connectors and their tasks. */
static void deliver_connect(skpi_app *a, skpi_event *ev) {
  ev->kind = SKPI_EV_CONNECT;
  memset(&ev->u.connect, 0, sizeof(ev->u.connect));
  if(skpi_http_source_connect(a->http, &ev->u.connect.connectors, &ev->u.connect.running) !=
     SKPI_OK)
    return;
  ev->u.connect.have_tasks =
      skpi_http_source_connect_tasks(a->http, &ev->u.connect.tasks, &ev->u.connect.tasks_running) ==
      SKPI_OK;
  deliver(a, ev);
}

/* Appends doc (taken over; NULL means out of memory) as one line of JSON. */
static skpi_err json_into(json_t *doc, skpi_buf *out) {
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  skpi_err rc = text ? skpi_buf_addstr(out, text) : SKPI_ENOMEM;
  if(rc == SKPI_OK)
    rc = skpi_buf_addc(out, '\n');
  free(text);
  return rc;
}

/* Answers doc (taken over; NULL means out of memory) as the JSON body. */
static void reply_json(skpi_web_resp *resp, json_t *doc) {
  if(json_into(doc, &resp->body) != SKPI_OK) {
    resp->status = 500;
    skpi_buf_reset(&resp->body);
    skpi_buf_addstr(&resp->body, "{\"error\":\"out of memory\"}\n");
  }
}

/* ---- message timestamps (time lag of commits older than the history) ---- */

/* Delivers the timestamps read in a Kafka cycle.  The cycle's sample comes
 * right after and publishes, so this does not render. */
static void on_msg_times(const skpi_ksample *s, const skpi_msgtime *items, size_t n, void *user) {
  ccluster *c = user;
  skpi_app *a = c->app;
  if(n == 0)
    return;
  skpi_event ev = cluster_event(c, SKPI_EV_MSG_TIMES, s->time);
  ev.u.msg_times.items = items;
  ev.u.msg_times.n = n;
  pthread_mutex_lock(&a->mu);
  deliver(a, &ev);
  pthread_mutex_unlock(&a->mu);
}

/* GET /api/v1/timelag: every commit's time lag and how it was found,
 * {"clusters":{"<name>":[{group,topic,partition,offset,lag_seconds,method}]}}. */
static void route_timelag(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_app *a = user;
  json_t *doc = json_object(), *cl = json_object();
  int bad = !doc || !cl || json_object_set(doc, "clusters", cl) != 0;
  double now = skpi_now();
  pthread_mutex_lock(&a->mu);
  for(size_t i = 0; !bad && i < a->nkpis; i++) {
    const kinst *k = &a->kpis[i];
    if(k->ops != &skpi_kpi_timelag || !k->cluster)
      continue;
    json_t *arr = skpi_timelag_kpi_json(k->self, now);
    bad = !arr || json_object_set_new(cl, k->cluster, arr) != 0;
  }
  pthread_mutex_unlock(&a->mu);
  json_decref(cl);
  if(bad) {
    json_decref(doc);
    doc = NULL;
  }
  reply_json(resp, doc);
}

/* GET /api/v1/products: the data products with their SLOs, consumers and
 * value, and the catalog's hygiene lists (see products.h). */
static void route_products(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_app *a = user;
  json_t *doc = NULL;
  double now = skpi_now();
  pthread_mutex_lock(&a->mu);
  for(size_t i = 0; i < a->nkpis; i++)
    if(a->kpis[i].ops == &skpi_kpi_products) {
      doc = skpi_products_kpi_json(a->kpis[i].self, now);
      break;
    }
  pthread_mutex_unlock(&a->mu);
  reply_json(resp, doc);
}

/* Application quality and Connect status (mutex held). */
static void poll_targets(skpi_app *a, double now) {
  if(!a->http)
    return;
  skpi_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.now = now;
  ev.maintenance = in_maint(a, NULL, now);
  for(size_t i = 0; i < a->cfg->ntargets; i++) {
    const char *name = a->cfg->targets[i].name;
    if(a->cfg->targets[i].kind != SKPI_CONFIG_TARGET_METRICS)
      continue;
    ev.kind = SKPI_EV_APP_QUALITY;
    ev.u.quality.target = name;
    if(skpi_http_source_quality(a->http, name, &ev.u.quality.good, &ev.u.quality.total) ==
       SKPI_OK)
      deliver(a, &ev);
  }
  if(a->has_connect_target)
    deliver_connect(a, &ev);
}

static void *app_thread(void *arg) {
  skpi_app *a = arg;
  double next_persist = skpi_mono() + a->persist_interval;
  pthread_mutex_lock(&a->mu);
  while(!skpi_stop_get(&a->stop)) {
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
    if(skpi_stop_get(&a->stop))
      break;
    double now = skpi_now();
    poll_targets(a, now);
    skpi_event tick;
    memset(&tick, 0, sizeof(tick));
    tick.kind = SKPI_EV_TICK;
    tick.now = now;
    deliver(a, &tick);
    if(__atomic_exchange_n(&a->dirty, 0, __ATOMIC_RELAXED) || now - a->last_render >= RERENDER_S)
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
  reply_json(resp, doc);
}

static void count_webhook(skpi_app *a, int code) {
  int idx = code == 200   ? WH_200
            : code == 400 ? WH_400
            : code == 401 ? WH_401
            : code == 403 ? WH_403
            : code == 413 ? WH_413
            : code == 503 ? WH_503
                          : WH_OTHER;
  __atomic_fetch_add(&a->webhook_codes[idx], 1, __ATOMIC_RELAXED);
  __atomic_store_n(&a->dirty, 1, __ATOMIC_RELAXED);
  if(code != 200) {
    char status[16];
    snprintf(status, sizeof(status), "%d", code);
    skpi_log(SKPI_WARN, "alertmanager webhook refused", "status", status);
  }
}

/* Runs before the body is read, without the mutex: a closed webhook or a
 * wrong token costs neither the body nor the KPIs' lock. */
static int webhook_guard(const char *authorization, void *user, const char **msg) {
  skpi_app *a = user;
  int code = 0;
  if(!a->webhook_open) {
    code = 403;
    *msg = "{\"status\":\"error\",\"error\":\"the webhook is closed: configure "
           "incidents.webhook_token or incidents.webhook_open\"}\n";
  } else if(!skpi_am_bearer_ok(authorization, a->token)) {
    code = 401;
    *msg = "{\"status\":\"error\",\"error\":\"missing or wrong bearer token\"}\n";
  }
  if(code)
    count_webhook(a, code);
  return code;
}

static void route_alertmanager(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_app *a = user;
  pthread_mutex_lock(&a->mu);
  int code = skpi_am_handle(a->inc, a->token, req->authorization, req->body, req->body_len,
                            skpi_now(), &resp->body);
  /* The app thread publishes within a tick: a burst of webhooks costs one
   * render, not one each. */
  pthread_mutex_unlock(&a->mu);
  resp->status = code;
  count_webhook(a, code);
}

/* POST /-/reload: the reload itself runs on the main thread, which owns the
 * app; the request only asks for it, as SIGHUP does. */
static void route_reload(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  if(kill(getpid(), SIGHUP) != 0) {
    resp->status = 500;
    skpi_buf_addstr(&resp->body, "{\"status\":\"error\",\"error\":\"cannot signal\"}\n");
    return;
  }
  skpi_buf_addstr(&resp->body, "{\"status\":\"reloading\"}\n");
}

/* Renders the newest assessment in format ("json", "text", "markdown",
 * "html") into out (mutex held). */
static skpi_err render_assessment(const skpi_app *a, const char *format, skpi_buf *out) {
  if(!a->assessment)
    return SKPI_ENOENT;
  if(strcmp(format, "text") == 0)
    return skpi_assess_text(a->assessment, out);
  if(strcmp(format, "markdown") == 0)
    return skpi_assess_markdown(a->assessment, out);
  if(strcmp(format, "html") == 0) {
    json_t *products = NULL;
    for(size_t i = 0; i < a->nkpis && !products; i++)
      if(a->kpis[i].ops == &skpi_kpi_products)
        products = skpi_products_kpi_json(a->kpis[i].self, skpi_now());
    skpi_err rc = skpi_assess_html_products(a->assessment, a->history, products, out);
    json_decref(products);
    return rc;
  }
  return json_into(skpi_assess_json(a->assessment), out);
}

skpi_err skpi_app_assessment(skpi_app *a, const char *format, skpi_buf *out, int *level) {
  pthread_mutex_lock(&a->mu);
  skpi_err rc = render_assessment(a, format, out);
  if(level)
    *level = a->assessment ? a->assessment->level : SKPI_ASSESS_UNKNOWN;
  pthread_mutex_unlock(&a->mu);
  return rc;
}

/* The value of key in a query string ("a=1&format=text"), or NULL. */
static const char *query_value(const char *query, const char *key, char *out, size_t len) {
  size_t klen = strlen(key);
  for(const char *p = query; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    if(n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=' && n - klen - 1 < len) {
      memcpy(out, p + klen + 1, n - klen - 1);
      out[n - klen - 1] = '\0';
      return out;
    }
    p = amp ? amp + 1 : NULL;
  }
  return NULL;
}

static void fail_route(skpi_web_resp *resp, int status, const char *json) {
  resp->status = status;
  resp->content_type = "application/json";
  skpi_buf_reset(&resp->body);
  skpi_buf_addstr(&resp->body, json);
}

static void route_assessment(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_app *a = user;
  char fmt[16];
  const char *f = query_value(req->query, "format", fmt, sizeof(fmt));
  if(!f)
    f = "json";
  if(strcmp(f, "json") != 0 && strcmp(f, "text") != 0 && strcmp(f, "markdown") != 0) {
    fail_route(resp, 400, "{\"error\":\"format must be json, text or markdown\"}\n");
    return;
  }
  if(strcmp(f, "json") != 0)
    resp->content_type = strcmp(f, "text") == 0 ? "text/plain; charset=utf-8"
                                                : "text/markdown; charset=utf-8";
  if(skpi_app_assessment(a, f, &resp->body, NULL) != SKPI_OK) {
    fail_route(resp, 500, "{\"error\":\"cannot render the assessment\"}\n");
  }
}

static void route_history(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_app *a = user;
  pthread_mutex_lock(&a->mu);
  json_t *doc = skpi_assess_history_json(a->history);
  pthread_mutex_unlock(&a->mu);
  reply_json(resp, doc);
}

static void route_report(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  resp->content_type = "text/html; charset=utf-8";
  if(skpi_app_assessment(user, "html", &resp->body, NULL) != SKPI_OK) {
    fail_route(resp, 500, "{\"error\":\"cannot render the report\"}\n");
  }
}

static void route_policy(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_app *a = user;
  json_t *list = json_array();
  json_t *doc = json_pack("{s:o}", "clusters", list);
  double now = skpi_now();
  int bad = !doc;
  pthread_mutex_lock(&a->mu);
  for(size_t i = 0; !bad && i < a->nkpis; i++)
    if(strcmp(a->kpis[i].ops->name, "policy") == 0)
      bad = json_array_append_new(list, skpi_policy_json(a->kpis[i].self, now)) != 0;
  pthread_mutex_unlock(&a->mu);
  if(bad) {
    json_decref(doc);
    doc = NULL;
  }
  reply_json(resp, doc);
}

/* The landing page's line on the maturity level, linking the report. */
static void landing_summary(skpi_buf *html, void *user) {
  skpi_app *a = user;
  pthread_mutex_lock(&a->mu);
  int level = a->assessment ? a->assessment->level : SKPI_ASSESS_UNKNOWN;
  int stage = a->assessment ? a->assessment->stage : SKPI_ASSESS_UNKNOWN;
  pthread_mutex_unlock(&a->mu);
  char lv[8] = "?", sg[8] = "?";
  if(level != SKPI_ASSESS_UNKNOWN)
    snprintf(lv, sizeof(lv), "%d", level);
  if(stage != SKPI_ASSESS_UNKNOWN)
    snprintf(sg, sizeof(sg), "%d", stage);
  skpi_buf_printf(html,
                  "<p id=\"maturity\" data-level=\"%d\">Maturity level <strong>%s</strong> "
                  "(%s), adoption stage <strong>%s</strong> (%s): "
                  "<a href=\"/report\">read the assessment report</a>.</p>\n",
                  level, lv, skpi_assess_level_name(level), sg, skpi_assess_stage_name(stage));
}

/* GET /api/v1/groups: {"clusters": [skpi_consumer_status_json of each
 * cluster's consumer_status instance]}. */
static void route_groups(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_app *a = user;
  json_t *arr = json_array();
  json_t *doc = json_pack("{s:o}", "clusters", arr);
  pthread_mutex_lock(&a->mu);
  for(size_t i = 0; doc && i < a->nkpis; i++) {
    if(a->kpis[i].ops != &skpi_kpi_consumer_status)
      continue;
    json_t *c = skpi_consumer_status_json(a->kpis[i].self);
    if(!c || json_array_append_new(arr, c) != 0) {
      json_decref(doc);
      doc = NULL;
    }
  }
  pthread_mutex_unlock(&a->mu);
  reply_json(resp, doc);
}

static skpi_err add_routes(skpi_app *a) {
  skpi_web_set_summary(a->web, landing_summary, a);
  skpi_err rc;
  size_t max_body = a->cfg->incidents.max_body;
  if((rc = skpi_web_route(a->web, "GET", "/api/v1/incidents", 0, route_incidents, a)) != SKPI_OK ||
     (rc = skpi_web_route(a->web, "GET", "/api/v1/assessment", 0, route_assessment, a)) !=
         SKPI_OK ||
     (rc = skpi_web_route(a->web, "GET", "/api/v1/assessment/history", 0, route_history, a)) !=
         SKPI_OK ||
     (rc = skpi_web_route(a->web, "GET", "/report", 0, route_report, a)) != SKPI_OK ||
     (rc = skpi_web_route(a->web, "GET", "/api/v1/policy", 0, route_policy, a)) != SKPI_OK)
    return rc;
  if((rc = skpi_web_route(a->web, "GET", "/api/v1/groups", 0, route_groups, a)) != SKPI_OK)
    return rc;
  if((rc = skpi_web_route(a->web, "GET", "/api/v1/timelag", 0, route_timelag, a)) != SKPI_OK)
    return rc;
  if((rc = skpi_web_route(a->web, "GET", "/api/v1/products", 0, route_products, a)) != SKPI_OK)
    return rc;
  if(a->lifecycle &&
     (rc = skpi_web_route(a->web, "POST", "/-/reload", 0, route_reload, a)) != SKPI_OK)
    return rc;
  if((rc = skpi_web_route(a->web, "POST", "/api/v1/alertmanager", max_body, route_alertmanager,
                          a)) != SKPI_OK)
    return rc;
  return skpi_web_route_guard(a->web, "POST", "/api/v1/alertmanager", webhook_guard);
}

/* ---- construction ---- */

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
    const skpi_config_probe *p = &c->cfg->probe;
    c->probe_enabled = p->enabled;
    _Static_assert((int)SKPI_CONFIG_PROBE_METADATA_ONLY == (int)SKPI_PROBE_METADATA_ONLY,
                   "probe modes in the same order");
    c->pcfg.mode = (enum skpi_probe_mode)p->mode;
    c->pcfg.topic = p->topic;
    c->pcfg.replication_factor = p->replication_factor;
    c->pcfg.interval_s = p->interval_s;
    c->pcfg.timeout_s = p->timeout_s;
    c->pcfg.min_brokers = p->min_brokers;
    c->pcfg.observer = on_probe;
    c->pcfg.observer_user = c;
  }
  return SKPI_OK;
}

static skpi_err build_maintenance(skpi_app *a) {
  size_t nm = a->cfg->nmaintenance;
  a->maint = calloc(nm ? nm : 1, sizeof(*a->maint));
  if(!a->maint)
    return SKPI_ENOMEM;
  for(size_t k = 0; k < nm; k++) {
    const skpi_config_maintenance *mw = &a->cfg->maintenance[k];
    a->maint[a->nmaint].start = mw->start;
    a->maint[a->nmaint].end = mw->end;
    a->maint[a->nmaint].cluster = mw->cluster;
    a->nmaint++;
  }
  return SKPI_OK;
}

static skpi_err build_targets(skpi_app *a, char *errbuf, size_t errlen) {
  size_t n = a->cfg->ntargets;
  if(!n)
    return SKPI_OK;
  skpi_target_cfg *t = calloc(n, sizeof(*t));
  if(!t)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < n; i++) {
    const skpi_config_target *o = &a->cfg->targets[i];
    skpi_http_source_cfg_defaults(&t[i]);
    t[i].name = o->name;
    t[i].url = o->url;
    _Static_assert((int)SKPI_CONFIG_TARGET_SCHEMA_REGISTRY == (int)SKPI_TARGET_SCHEMA_REGISTRY &&
                       (int)SKPI_CONFIG_TARGET_CONNECT == (int)SKPI_TARGET_CONNECT,
                   "target kinds in the same order");
    t[i].kind = (enum skpi_target_kind)o->kind;
    a->has_schema_target |= t[i].kind == SKPI_TARGET_SCHEMA_REGISTRY;
    a->has_connect_target |= t[i].kind == SKPI_TARGET_CONNECT;
    t[i].interval_s = o->interval_s;
    t[i].timeout_s = o->timeout_s;
    if(t[i].connect_timeout_s > t[i].timeout_s)
      t[i].connect_timeout_s = t[i].timeout_s;
    t[i].max_bytes = o->max_bytes;
    t[i].username = o->username;
    t[i].password = o->password;
    t[i].ca_file = o->ca_file;
    t[i].insecure = o->insecure_skip_verify;
    t[i].quality_family = o->quality.family;
    t[i].quality_label = o->quality.label;
    t[i].good = (const char *const *)o->quality.good.v;
    t[i].ngood = o->quality.good.n;
  }
  skpi_err rc = skpi_http_source_new(a->reg, t, n, &a->http, errbuf, errlen);
  free(t);
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
  snprintf(a->listen, sizeof(a->listen), "%s", wo.listen_address);
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
  skpi_stop_set(&a->stop, 0);
  a->cfg = cfg;
  a->slot = -1;
  a->check_only = opts && opts->check_only;
  a->lifecycle = opts && opts->enable_lifecycle;
  a->webhook_open = cfg->incidents.webhook_token || cfg->incidents.webhook_open;
  a->reload_ok = 1;
  a->reload_ts = skpi_now();
  skpi_err rc = SKPI_ENOMEM;
  if(!(a->reg = skpi_registry_new()))
    goto fail;
  if((rc = build_web(a, opts, errbuf, errlen)) != SKPI_OK)
    goto fail;
  a->persist_interval = cfg->state.persist_interval_s;
  if(!(a->state_path = strdup(cfg->state.path)))
    goto fail;
  if((rc = skpi_state_open(a->state_path, &a->state)) != SKPI_OK) {
    snprintf(errbuf, errlen, "state.path: cannot use %s: %s", a->state_path, skpi_strerror(rc));
    goto fail;
  }
  /* The config read webhook_token_file at load already. */
  rc = SKPI_ENOMEM;
  if(cfg->incidents.webhook_token && !(a->token = strdup(cfg->incidents.webhook_token)))
    goto fail;
  if((rc = build_maintenance(a)) != SKPI_OK || (rc = build_clusters(a)) != SKPI_OK ||
     (rc = build_kpis(a, errbuf, errlen)) != SKPI_OK ||
     (rc = build_assessment(a, errbuf, errlen)) != SKPI_OK ||
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
  a->built = !a->check_only;
  return a;
fail:
  if(!errbuf[0])
    snprintf(errbuf, errlen, "%s", skpi_strerror(rc));
  skpi_app_free(a);
  return NULL;
}

skpi_err skpi_app_sample_once(skpi_app *a, char *errbuf, size_t errlen) {
  skpi_err first = SKPI_OK;
  for(size_t i = 0; i < a->ncl; i++) {
    ccluster *c = &a->cl[i];
    skpi_ksample *s = NULL;
    skpi_err rc = skpi_kafka_source_cycle_once(c->cfg, &s);
    if(rc == SKPI_OK) {
      on_sample(s, c);
      skpi_ksample_unref(s);
    } else if(first == SKPI_OK) {
      first = rc;
      snprintf(errbuf, errlen, "cluster %s: cannot sample: %s", c->cfg->name,
               skpi_strerror(rc));
    }
    skpi_topic_configs *tc = NULL;
    if(wants_configs(a, c) && skpi_configs_cycle_once(c->cfg, NULL, &tc) == SKPI_OK) {
      on_configs(tc, c);
      skpi_topic_configs_unref(tc);
    }
    if(!c->probe_enabled)
      continue;
    /* The probe reports to on_probe like its thread would. */
    skpi_probe *p = skpi_probe_new(&c->pcfg, c->cfg, NULL);
    if(p) {
      skpi_probe_run_once(p, NULL);
      skpi_probe_stop(p);
    }
  }
  return first;
}

skpi_err skpi_app_check(skpi_app *a, char *errbuf, size_t errlen) {
  errbuf[0] = '\0';
  int in_use = 0;
  skpi_err rc = skpi_web_check(a->web, &in_use, errbuf, errlen);
  if(rc != SKPI_OK)
    return rc;
  if(in_use)
    skpi_log(SKPI_WARN, "the listen address is in use now (by a running exporter?); the start "
                        "fails unless it is free then");
  return SKPI_OK;
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
    skpi_kafka_source_observe_times(c->src, on_msg_times, c);
    skpi_kafka_source_observe(c->src, on_sample, c);
    if(wants_configs(a, c) &&
       !(c->configs = skpi_configs_source_start(c->cfg, a->reg, c->cfg->policy.interval_s, on_configs,
                                                c))) {
      snprintf(errbuf, errlen, "cannot start the config source of cluster %s", c->cfg->name);
      return SKPI_EKAFKA;
    }
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
    skpi_configs_source_stop(a->cl[i].configs);
    a->cl[i].configs = NULL;
    skpi_probe_stop(a->cl[i].probe);
    a->cl[i].probe = NULL;
  }
  if(a->http)
    skpi_http_source_stop(a->http);
  if(a->running) {
    pthread_mutex_lock(&a->mu);
    skpi_stop_set(&a->stop, 1);
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
  skpi_assess_free(a->assessment);
  skpi_assess_history_free(a->history);
  free(a->athresholds);
  free(a->atoggles);
  free(a->asurvey);
  free(a->aclusters);
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

int skpi_app_take_listener(skpi_app *next, skpi_app *old) {
  if(strcmp(next->listen, old->listen) != 0)
    return -1;
  return skpi_web_handover(old->web, next->web);
}

skpi_err skpi_app_reload_state(skpi_app *a) {
  skpi_state *fresh = NULL;
  skpi_err rc = skpi_state_open(a->state_path, &fresh);
  if(rc != SKPI_OK)
    return rc;
  pthread_mutex_lock(&a->mu);
  skpi_state_close(a->state);
  a->state = fresh;
  load_state(a);
  publish(a);
  pthread_mutex_unlock(&a->mu);
  return SKPI_OK;
}

void skpi_app_set_reload_status(skpi_app *a, int ok, double when) {
  pthread_mutex_lock(&a->mu);
  a->reload_ok = ok;
  if(ok)
    a->reload_ts = when;
  pthread_mutex_unlock(&a->mu);
  __atomic_store_n(&a->dirty, 1, __ATOMIC_RELAXED);
}

skpi_registry *skpi_app_registry(skpi_app *a) {
  return a->reg;
}

unsigned skpi_app_port(const skpi_app *a) {
  return skpi_web_port(a->web);
}
