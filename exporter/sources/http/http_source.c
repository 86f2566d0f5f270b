/* http_source.c: application targets over HTTP (curl multi, one thread). */
#include "streamkpi/http_source.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "streamkpi/buf.h"
#include "streamkpi/clock.h"
#include "streamkpi/config.h"
#include "streamkpi/log.h"
#include "streamkpi/promtext.h"

#ifndef SKPI_VERSION
#define SKPI_VERSION "dev"
#endif

/* Bounds on what one target can make us hold. */
#define MAX_STATUSES 32      /* distinct quality label values per target */
#define MAX_SUBJECTS 100000  /* Schema Registry subjects */
#define MAX_CONNECTORS 10000 /* Connect connectors */
#define MAX_NAME 56          /* "target:" + name fits the registry's 64 */

enum reason { R_TIMEOUT = 0, R_TOO_BIG, R_HTTP, R_PARSE, R_CONNECT };

const char *const skpi_http_source_reasons[SKPI_TARGET_NREASONS] = {
    "timeout", "too_big", "http_status", "parse", "connect"};

#define NSTATES 7
static const char *const connect_states[NSTATES] = {
    "RUNNING", "FAILED", "PAUSED", "UNASSIGNED", "RESTARTING", "STOPPED", "UNKNOWN"};

/* One value of the quality label and its counter history. */
typedef struct status_ctr {
  char *value;
  double last_raw; /* the target's own sum at the last scrape, 0 when absent */
  double cum;      /* reset-safe cumulative */
} status_ctr;

typedef struct connector {
  char *name;
  int state;    /* index into connect_states */
  size_t tasks; /* tasks in its status (the task configurations it created) */
  size_t tasks_running;
} connector;

typedef struct target {
  /* Configuration: immutable after skpi_http_source_new. */
  char *name;
  char *url; /* the URL actually fetched */
  char *username, *password, *ca_file;
  char *family, *label;
  char **good;
  size_t ngood;
  enum skpi_target_kind kind;
  double interval_s, timeout_s, connect_timeout_s, stale_ttl_s;
  size_t max_bytes;
  int insecure;
  int slot;

  /* Transfer: touched by the scraping thread (or run_once) only. */
  CURL *easy;
  struct curl_slist *headers;
  skpi_buf body;
  size_t received;
  int too_big;
  int busy;
  double started;
  double next_due;
  char curl_err[CURL_ERROR_SIZE];

  /* Results: under the source's mutex. */
  skpi_target_status st;
  int has_data; /* kind data below is from a successful scrape */
  double last_success;
  status_ctr statuses[MAX_STATUSES];
  size_t nstatuses;
  double delta_good, delta_total;
  int has_ratio;
  char **subjects; /* sorted */
  size_t nsubjects;
  unsigned long conn_count[NSTATES], task_count[NSTATES];
  connector *connectors;
  size_t nconnectors;
} target;

struct skpi_http_source {
  skpi_registry *reg;
  target *t;
  size_t n;
  CURLM *multi;
  pthread_mutex_t mu;
  pthread_t thread;
  int running;
  atomic_int stop;
};

static char *dupstr(const char *s) { return s ? strdup(s) : NULL; }

static void free_strv(char **v, size_t n) {
  for(size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void free_connectors(connector *c, size_t n) {
  for(size_t i = 0; i < n; i++)
    free(c[i].name);
  free(c);
}

void skpi_http_source_cfg_defaults(skpi_target_cfg *c) {
  static const char *const good[] = {"success"};
  memset(c, 0, sizeof(*c));
  c->kind = SKPI_TARGET_METRICS;
  c->interval_s = SKPI_CONFIG_TARGET_INTERVAL_S;
  c->timeout_s = SKPI_CONFIG_TARGET_TIMEOUT_S;
  c->connect_timeout_s = 5;
  c->stale_ttl_s = 300;
  c->max_bytes = SKPI_CONFIG_TARGET_MAX_BYTES;
  c->quality_family = "events_processed_total";
  c->quality_label = "status";
  c->good = good;
  c->ngood = 1;
}

/* Kind data is usable while its last success is within the TTL. */
static int fresh(const target *t, double now) {
  return t->has_data && now - t->last_success <= t->stale_ttl_s;
}

static int is_good(const target *t, const char *v) {
  for(size_t i = 0; i < t->ngood; i++)
    if(strcmp(t->good[i], v) == 0)
      return 1;
  return 0;
}

/* ---- curl plumbing ---- */

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud) {
  target *t = ud;
  size_t n = size * nmemb;
  t->received += n;
  if(t->too_big)
    return 0;
  /* Servers can lie about (or omit) Content-Length: the cap holds here. */
  if(skpi_buf_add(&t->body, p, n) != SKPI_OK) {
    t->too_big = 1;
    return 0;
  }
  return n;
}

static skpi_err setup_easy(target *t) {
  const char *accept =
      t->kind == SKPI_TARGET_METRICS ? "Accept: text/plain;version=0.0.4" : "Accept: application/json";
  t->headers = curl_slist_append(NULL, accept);
  t->easy = curl_easy_init();
  if(!t->headers || !t->easy)
    return SKPI_ENOMEM;
  CURL *e = t->easy;
  long timeout_ms = (long)(t->timeout_s * 1000);
  long connect_ms = (long)(t->connect_timeout_s * 1000);
  if(connect_ms > timeout_ms || connect_ms <= 0)
    connect_ms = timeout_ms;
  int bad = 0;
  bad |= curl_easy_setopt(e, CURLOPT_URL, t->url) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, t) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, t) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max_bytes) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK;
  /* Compressed bodies are decoded before write_cb, so the cap also bounds
   * what a compression bomb expands to. */
  bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "streamkpi/" SKPI_VERSION) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->curl_err) != CURLE_OK;
  if(t->username) {
    bad |= curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_USERNAME, t->username) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PASSWORD, t->password ? t->password : "") != CURLE_OK;
  }
  if(t->ca_file)
    bad |= curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file) != CURLE_OK;
  if(t->insecure) {
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK;
  }
  return bad ? SKPI_EINVAL : SKPI_OK;
}

/* ---- parsing per kind (no lock held; results go to a scratch struct) ---- */

typedef struct parsed {
  /* metrics */
  char *svalue[MAX_STATUSES];
  double ssum[MAX_STATUSES];
  size_t nstatus;
  const target *t;
  /* schema registry */
  char **subjects;
  size_t nsubjects;
  /* connect */
  connector *connectors;
  size_t nconnectors;
  unsigned long conn_count[NSTATES], task_count[NSTATES];
} parsed;

static void parsed_free(parsed *p) {
  for(size_t i = 0; i < p->nstatus; i++)
    free(p->svalue[i]);
  free_strv(p->subjects, p->nsubjects);
  free_connectors(p->connectors, p->nconnectors);
}

static skpi_err quality_cb(const skpi_promtext_sample *s, void *ud) {
  parsed *p = ud;
  const target *t = p->t;
  /* The filter also passes _bucket/_sum/...; only the family itself (or its
   * _total form when configured by OpenMetrics family name) counts. */
  size_t fl = strlen(t->family);
  if(strcmp(s->name, t->family) != 0 && !(strncmp(s->name, t->family, fl) == 0 &&
                                          strcmp(s->name + fl, "_total") == 0))
    return SKPI_OK;
  if(!isfinite(s->value) || s->value < 0)
    return SKPI_OK; /* not a counter value: ignored rather than poisoning the sum */
  const char *v = NULL;
  for(size_t i = 0; i < s->nlabels; i++)
    if(strcmp(s->label_names[i], t->label) == 0)
      v = s->label_values[i];
  if(!v || !*v)
    return SKPI_OK;
  size_t i;
  for(i = 0; i < p->nstatus; i++)
    if(strcmp(p->svalue[i], v) == 0)
      break;
  if(i == p->nstatus) {
    if(p->nstatus == MAX_STATUSES)
      return SKPI_OK; /* bounded: further distinct values are dropped */
    if(!(p->svalue[i] = strdup(v)))
      return SKPI_ENOMEM;
    p->ssum[i] = 0;
    p->nstatus++;
  }
  p->ssum[i] += s->value;
  return SKPI_OK;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static skpi_err parse_subjects(json_t *root, parsed *p, char *err, size_t errlen) {
  if(!json_is_array(root)) {
    snprintf(err, errlen, "subjects: not a JSON array");
    return SKPI_EINVAL;
  }
  size_t n = json_array_size(root);
  if(n > MAX_SUBJECTS) {
    snprintf(err, errlen, "subjects: more than %d", MAX_SUBJECTS);
    return SKPI_EINVAL;
  }
  p->subjects = calloc(n ? n : 1, sizeof(char *));
  if(!p->subjects)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(root, i));
    if(!s) {
      snprintf(err, errlen, "subjects: element %zu is not a string", i);
      return SKPI_EINVAL;
    }
    if(!(p->subjects[p->nsubjects] = strdup(s)))
      return SKPI_ENOMEM;
    p->nsubjects++;
  }
  if(p->nsubjects > 1)
    qsort(p->subjects, p->nsubjects, sizeof(char *), cmp_str);
  return SKPI_OK;
}

static int state_index(const char *s) {
  if(!s)
    return NSTATES - 1;
  for(int i = 0; i < NSTATES - 1; i++)
    if(strcmp(connect_states[i], s) == 0)
      return i;
  return NSTATES - 1;
}

static skpi_err parse_connect(json_t *root, parsed *p, char *err, size_t errlen) {
  if(!json_is_object(root)) {
    snprintf(err, errlen, "connectors: not a JSON object");
    return SKPI_EINVAL;
  }
  size_t n = json_object_size(root);
  if(n > MAX_CONNECTORS) {
    snprintf(err, errlen, "connectors: more than %d", MAX_CONNECTORS);
    return SKPI_EINVAL;
  }
  p->connectors = calloc(n ? n : 1, sizeof(connector));
  if(!p->connectors)
    return SKPI_ENOMEM;
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    json_t *status = json_object_get(val, "status");
    if(!json_is_object(status)) {
      snprintf(err, errlen, "connector '%.64s': no status object (missing expand=status?)", key);
      return SKPI_EINVAL;
    }
    json_t *conn = json_object_get(status, "connector");
    int st = state_index(json_string_value(json_object_get(conn, "state")));
    connector *c = &p->connectors[p->nconnectors];
    if(!(c->name = strdup(key)))
      return SKPI_ENOMEM;
    c->state = st;
    p->nconnectors++;
    p->conn_count[st]++;
    json_t *tasks = json_object_get(status, "tasks");
    size_t i;
    json_t *task;
    json_array_foreach(tasks, i, task) {
      int ts = state_index(json_string_value(json_object_get(task, "state")));
      p->task_count[ts]++;
      c->tasks++;
      c->tasks_running += ts == 0; /* RUNNING */
    }
  }
  return SKPI_OK;
}

static skpi_err parse_body(const target *t, parsed *p, char *err, size_t errlen) {
  const char *data = t->body.data ? t->body.data : "";
  size_t len = t->body.len;
  if(t->kind == SKPI_TARGET_METRICS) {
    p->t = t;
    return skpi_promtext_parse(data, len, NULL, t->family, quality_cb, p, err, errlen);
  }
  json_error_t jerr;
  json_t *root = json_loadb(data, len, 0, &jerr);
  if(!root) {
    snprintf(err, errlen, "json line %d: %s", jerr.line, jerr.text);
    return SKPI_EINVAL;
  }
  skpi_err rc = t->kind == SKPI_TARGET_SCHEMA_REGISTRY ? parse_subjects(root, p, err, errlen)
                                                       : parse_connect(root, p, err, errlen);
  json_decref(root);
  return rc;
}

/* ---- committing results (lock held) ---- */

static void commit_metrics(target *t, parsed *p) {
  int first = !t->has_data;
  double dgood = 0, dtotal = 0;
  /* Statuses absent from this scrape restarted from zero as far as we can
   * tell: their next appearance counts in full. */
  for(size_t k = 0; k < t->nstatuses; k++) {
    size_t j;
    for(j = 0; j < p->nstatus; j++)
      if(strcmp(t->statuses[k].value, p->svalue[j]) == 0)
        break;
    if(j == p->nstatus)
      t->statuses[k].last_raw = 0;
  }
  for(size_t j = 0; j < p->nstatus; j++) {
    double r = p->ssum[j];
    size_t k;
    for(k = 0; k < t->nstatuses; k++)
      if(strcmp(t->statuses[k].value, p->svalue[j]) == 0)
        break;
    double delta;
    if(k == t->nstatuses) {
      if(k == MAX_STATUSES)
        continue;
      t->statuses[k].value = p->svalue[j];
      p->svalue[j] = NULL;
      t->statuses[k].last_raw = 0;
      t->statuses[k].cum = 0;
      t->nstatuses++;
    }
    status_ctr *c = &t->statuses[k];
    /* A decrease is a counter reset: the new value is all new events. */
    delta = r >= c->last_raw ? r - c->last_raw : r;
    c->cum += delta;
    c->last_raw = r;
    dtotal += delta;
    if(is_good(t, c->value))
      dgood += delta;
  }
  t->delta_good = dgood;
  t->delta_total = dtotal;
  /* The first scrape has no previous one to make an interval with. */
  t->has_ratio = !first && dtotal > 0;
}

static void commit(target *t, parsed *p, double now) {
  if(t->kind == SKPI_TARGET_METRICS) {
    commit_metrics(t, p);
  } else if(t->kind == SKPI_TARGET_SCHEMA_REGISTRY) {
    free_strv(t->subjects, t->nsubjects);
    t->subjects = p->subjects;
    t->nsubjects = p->nsubjects;
    p->subjects = NULL;
    p->nsubjects = 0;
  } else {
    free_connectors(t->connectors, t->nconnectors);
    t->connectors = p->connectors;
    t->nconnectors = p->nconnectors;
    p->connectors = NULL;
    p->nconnectors = 0;
    memcpy(t->conn_count, p->conn_count, sizeof(t->conn_count));
    memcpy(t->task_count, p->task_count, sizeof(t->task_count));
  }
  t->has_data = 1;
  t->last_success = now;
}

/* ---- the set a target publishes ---- */

static skpi_err put(skpi_mset *m, const char *fam, enum skpi_mtype type, const char *help,
                    double v, const char *const *kv, size_t npairs) {
  int f = skpi_mset_family(m, fam, type, help);
  if(f < 0)
    return SKPI_EINVAL;
  return skpi_mset_addv(m, f, v, kv, npairs);
}

static skpi_err fill_set(const target *t, skpi_mset *m, double now) {
  skpi_err rc = SKPI_OK;
  const char *kv[4] = {"target", t->name, NULL, NULL};
  if((rc = put(m, "streamkpi_target_up", SKPI_MT_GAUGE,
               "1 when the last scrape of the target succeeded", t->st.up ? 1 : 0, kv, 1)))
    return rc;
  if(t->st.scraped) {
    if((rc = put(m, "streamkpi_target_scrape_duration_seconds", SKPI_MT_GAUGE,
                 "Duration of the last scrape of the target", t->st.duration_s, kv, 1)))
      return rc;
    if((rc = put(m, "streamkpi_target_response_bytes", SKPI_MT_GAUGE,
                 "Body bytes received in the last scrape of the target",
                 (double)t->st.response_bytes, kv, 1)))
      return rc;
  }
  kv[2] = "reason";
  for(int r = 0; r < SKPI_TARGET_NREASONS; r++) {
    kv[3] = skpi_http_source_reasons[r];
    if((rc = put(m, "streamkpi_target_errors_total", SKPI_MT_COUNTER,
                 "Failed scrapes of the target by reason", (double)t->st.errors[r], kv, 2)))
      return rc;
  }
  if(!fresh(t, now))
    return SKPI_OK;
  if(t->kind == SKPI_TARGET_METRICS) {
    kv[2] = "status";
    for(size_t i = 0; i < t->nstatuses; i++) {
      kv[3] = t->statuses[i].value;
      if((rc = put(m, "streamkpi_app_events_total", SKPI_MT_COUNTER,
                   "Application events by status, summed over the target's series",
                   t->statuses[i].cum, kv, 2)))
        return rc;
    }
    if(t->st.up && t->has_ratio &&
       (rc = put(m, "streamkpi_data_quality_ratio", SKPI_MT_GAUGE,
                 "Share of good application events over the last scrape interval",
                 t->delta_good / t->delta_total, kv, 1)))
      return rc;
  } else if(t->kind == SKPI_TARGET_SCHEMA_REGISTRY) {
    if((rc = put(m, "streamkpi_schema_registry_subjects", SKPI_MT_GAUGE,
                 "Subjects registered in the Schema Registry", (double)t->nsubjects, kv, 1)))
      return rc;
  } else {
    kv[2] = "state";
    for(int s = 0; s < NSTATES; s++) {
      kv[3] = connect_states[s];
      if((rc = put(m, "streamkpi_connect_connectors", SKPI_MT_GAUGE,
                   "Kafka Connect connectors by state", (double)t->conn_count[s], kv, 2)))
        return rc;
    }
    for(int s = 0; s < NSTATES; s++) {
      kv[3] = connect_states[s];
      if((rc = put(m, "streamkpi_connect_tasks", SKPI_MT_GAUGE, "Kafka Connect tasks by state",
                   (double)t->task_count[s], kv, 2)))
        return rc;
    }
    kv[2] = "connector";
    for(size_t i = 0; i < t->nconnectors; i++) {
      kv[3] = t->connectors[i].name;
      if((rc = put(m, "streamkpi_connect_connector_running", SKPI_MT_GAUGE,
                   "1 when the Kafka Connect connector is RUNNING",
                   t->connectors[i].state == 0 ? 1 : 0, kv, 2)))
        return rc;
      if((rc = put(m, "streamkpi_connect_connector_tasks", SKPI_MT_GAUGE,
                   "Tasks the Kafka Connect connector has (its task configurations)",
                   (double)t->connectors[i].tasks, kv, 2)))
        return rc;
      if((rc = put(m, "streamkpi_connect_connector_tasks_running", SKPI_MT_GAUGE,
                   "Tasks of the Kafka Connect connector in state RUNNING",
                   (double)t->connectors[i].tasks_running, kv, 2)))
        return rc;
    }
  }
  return SKPI_OK;
}

static skpi_mset *build_set(const target *t, double now) {
  skpi_mset *m = skpi_mset_new();
  if(m && fill_set(t, m, now) != SKPI_OK) {
    skpi_mset_unref(m);
    m = NULL;
  }
  return m;
}

/* ---- one finished transfer ---- */

static void finish(skpi_http_source *s, target *t, CURLcode res) {
  char err[256] = "";
  int reason = -1;
  long code = 0;
  parsed p;
  memset(&p, 0, sizeof(p));
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
  if(res == CURLE_OPERATION_TIMEDOUT) {
    reason = R_TIMEOUT;
  } else if(res == CURLE_FILESIZE_EXCEEDED || (res == CURLE_WRITE_ERROR && t->too_big)) {
    reason = R_TOO_BIG;
    snprintf(err, sizeof(err), "response larger than %zu bytes", t->max_bytes);
  } else if(res == CURLE_TOO_MANY_REDIRECTS) {
    reason = R_HTTP;
  } else if(res != CURLE_OK) {
    reason = R_CONNECT;
  } else if(code < 200 || code > 299) {
    reason = R_HTTP;
    snprintf(err, sizeof(err), "HTTP status %ld", code);
  }
  if(reason < 0 && !err[0]) {
    skpi_err prc = parse_body(t, &p, err, sizeof(err));
    if(prc == SKPI_ENOMEM)
      snprintf(err, sizeof(err), "out of memory");
    if(prc != SKPI_OK)
      reason = R_PARSE;
  } else if(!err[0]) {
    snprintf(err, sizeof(err), "%s", t->curl_err[0] ? t->curl_err : curl_easy_strerror(res));
  }
  double now = skpi_mono();
  double dur = now - t->started;
  skpi_buf_free(&t->body);

  pthread_mutex_lock(&s->mu);
  int was_up = t->st.up || !t->st.scraped;
  t->st.scraped = 1;
  t->st.scrapes++;
  t->st.duration_s = dur;
  t->st.response_bytes = t->received;
  t->st.http_status = code;
  if(reason < 0) {
    t->st.up = 1;
    t->st.last_error[0] = '\0';
    commit(t, &p, now);
  } else {
    t->st.up = 0;
    t->st.errors[reason]++;
    t->has_ratio = 0;
    snprintf(t->st.last_error, sizeof(t->st.last_error), "%s", err);
  }
  skpi_mset *set = s->reg ? build_set(t, now) : NULL;
  pthread_mutex_unlock(&s->mu);
  parsed_free(&p);

  if(reason >= 0)
    skpi_log(was_up ? SKPI_WARN : SKPI_DEBUG, "target scrape failed", "target", t->name, "reason",
             skpi_http_source_reasons[reason], "error", err);
  if(s->reg) {
    if(set)
      skpi_registry_publish(s->reg, t->slot, set, NULL, dur);
    else
      skpi_registry_publish(s->reg, t->slot, NULL, "out of memory", dur);
  }
}

static void start_transfer(skpi_http_source *s, target *t, double now) {
  skpi_buf_init(&t->body, t->max_bytes);
  t->received = 0;
  t->too_big = 0;
  t->curl_err[0] = '\0';
  t->started = now;
  t->next_due = now + t->interval_s;
  if(curl_multi_add_handle(s->multi, t->easy) != CURLM_OK) {
    /* Only on misuse or OOM; count it like a failed connection. */
    finish(s, t, CURLE_FAILED_INIT);
    return;
  }
  t->busy = 1;
}

/* Runs the multi handle once and handles finished transfers. */
static void step(skpi_http_source *s, int wait_ms) {
  int still = 0;
  curl_multi_perform(s->multi, &still);
  CURLMsg *msg;
  int left = 0;
  while((msg = curl_multi_info_read(s->multi, &left))) {
    if(msg->msg != CURLMSG_DONE)
      continue;
    CURL *e = msg->easy_handle;
    CURLcode res = msg->data.result; /* msg dies with remove_handle */
    char *priv = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    target *t = (target *)(void *)priv;
    curl_multi_remove_handle(s->multi, e);
    if(t) {
      t->busy = 0;
      finish(s, t, res);
    }
  }
  if(wait_ms > 0)
    curl_multi_poll(s->multi, NULL, 0, wait_ms, NULL);
}

static void abort_all(skpi_http_source *s) {
  for(size_t i = 0; i < s->n; i++) {
    if(!s->t[i].busy)
      continue;
    curl_multi_remove_handle(s->multi, s->t[i].easy);
    s->t[i].busy = 0;
    skpi_buf_free(&s->t[i].body);
  }
}

static void *thread_main(void *arg) {
  skpi_http_source *s = arg;
  while(!atomic_load(&s->stop)) {
    double now = skpi_mono();
    double wait = 1.0;
    for(size_t i = 0; i < s->n; i++) {
      target *t = &s->t[i];
      if(t->busy)
        continue;
      if(now >= t->next_due)
        start_transfer(s, t, now);
      else if(t->next_due - now < wait)
        wait = t->next_due - now;
    }
    step(s, (int)(wait * 1000) + 1);
  }
  abort_all(s);
  return NULL;
}

/* ---- public API ---- */

static void target_free(target *t) {
  if(t->easy)
    curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  skpi_buf_free(&t->body);
  free(t->name);
  free(t->url);
  free(t->username);
  free(t->password);
  free(t->ca_file);
  free(t->family);
  free(t->label);
  free_strv(t->good, t->ngood);
  for(size_t i = 0; i < t->nstatuses; i++)
    free(t->statuses[i].value);
  free_strv(t->subjects, t->nsubjects);
  free_connectors(t->connectors, t->nconnectors);
}

static skpi_err validate(const skpi_target_cfg *c, size_t idx, const skpi_target_cfg *all,
                         char *errbuf, size_t errlen) {
  const char *name = c->name ? c->name : "";
  const char *what = NULL;
  if(!*name || strlen(name) > MAX_NAME)
    what = "name must be 1..56 bytes";
  else if(!c->url || (strncasecmp(c->url, "http://", 7) != 0 &&
                      strncasecmp(c->url, "https://", 8) != 0))
    what = "url must start with http:// or https://";
  else if(!(c->interval_s > 0) || !(c->timeout_s > 0) || !(c->stale_ttl_s >= 0))
    what = "interval and timeout must be positive";
  else if(c->max_bytes == 0)
    what = "max_bytes must be positive";
  else if(c->kind != SKPI_TARGET_METRICS && c->kind != SKPI_TARGET_SCHEMA_REGISTRY &&
          c->kind != SKPI_TARGET_CONNECT)
    what = "unknown kind";
  else if(c->kind == SKPI_TARGET_METRICS &&
          (!c->quality_family || !skpi_expo_valid_name(c->quality_family) || !c->quality_label ||
           !*c->quality_label || (c->ngood && !c->good)))
    what = "quality family/label invalid";
  for(size_t i = 0; !what && i < c->ngood; i++)
    if(!c->good[i])
      what = "good list has a NULL entry";
  for(size_t i = 0; !what && i < idx; i++)
    if(all[i].name && strcmp(all[i].name, name) == 0)
      what = "duplicate target name";
  if(!what)
    return SKPI_OK;
  if(errbuf && errlen)
    snprintf(errbuf, errlen, "target '%.64s': %s", name, what);
  return SKPI_EINVAL;
}

static skpi_err target_init(target *t, const skpi_target_cfg *c) {
  const char *suffix = c->kind == SKPI_TARGET_SCHEMA_REGISTRY ? "/subjects"
                       : c->kind == SKPI_TARGET_CONNECT       ? "/connectors?expand=status"
                                                              : "";
  size_t ul = strlen(c->url);
  /* A base URL's trailing slashes would double up with the suffix. */
  while(*suffix && ul > 0 && c->url[ul - 1] == '/')
    ul--;
  skpi_buf u;
  skpi_buf_init(&u, 8192);
  if(skpi_buf_add(&u, c->url, ul) != SKPI_OK || skpi_buf_addstr(&u, suffix) != SKPI_OK)
    return SKPI_EINVAL;
  t->url = skpi_buf_steal(&u, NULL);
  t->name = dupstr(c->name);
  t->username = dupstr(c->username);
  t->password = dupstr(c->password);
  t->ca_file = dupstr(c->ca_file);
  t->family = dupstr(c->quality_family ? c->quality_family : "events_processed_total");
  t->label = dupstr(c->quality_label ? c->quality_label : "status");
  t->kind = c->kind;
  t->interval_s = c->interval_s;
  t->timeout_s = c->timeout_s;
  t->connect_timeout_s = c->connect_timeout_s;
  t->stale_ttl_s = c->stale_ttl_s;
  t->max_bytes = c->max_bytes;
  t->insecure = c->insecure;
  t->slot = -1;
  skpi_buf_init(&t->body, c->max_bytes);
  if(!t->url || !t->name || !t->family || !t->label || (c->username && !t->username) ||
     (c->password && !t->password) || (c->ca_file && !t->ca_file))
    return SKPI_ENOMEM;
  if(c->ngood) {
    if(!(t->good = calloc(c->ngood, sizeof(char *))))
      return SKPI_ENOMEM;
    for(size_t i = 0; i < c->ngood; i++, t->ngood++)
      if(!(t->good[i] = strdup(c->good[i])))
        return SKPI_ENOMEM;
  }
  return setup_easy(t);
}

skpi_err skpi_http_source_new(skpi_registry *reg, const skpi_target_cfg *targets, size_t n,
                              skpi_http_source **out, char *errbuf, size_t errlen) {
  skpi_err rc = SKPI_OK;
  skpi_http_source *s = NULL;
  int curl_inited = 0;
  *out = NULL;
  if(errbuf && errlen)
    errbuf[0] = '\0';
  for(size_t i = 0; i < n; i++)
    if((rc = validate(&targets[i], i, targets, errbuf, errlen)) != SKPI_OK)
      goto out;
  if(curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    rc = SKPI_EHTTP;
    goto out;
  }
  curl_inited = 1;
  s = calloc(1, sizeof(*s));
  if(!s || (n && !(s->t = calloc(n, sizeof(target))))) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  pthread_mutex_init(&s->mu, NULL);
  s->reg = reg;
  s->n = n;
  atomic_init(&s->stop, 0);
  if(!(s->multi = curl_multi_init())) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  for(size_t i = 0; i < n; i++) {
    if((rc = target_init(&s->t[i], &targets[i])) != SKPI_OK) {
      if(errbuf && errlen)
        snprintf(errbuf, errlen, "target '%.64s': %s", targets[i].name, skpi_strerror(rc));
      goto out;
    }
  }
  for(size_t i = 0; reg && i < n; i++) {
    char src[80];
    snprintf(src, sizeof(src), "target:%s", s->t[i].name);
    s->t[i].slot = skpi_registry_add_source(reg, "", src, s->t[i].stale_ttl_s, 0);
    if(s->t[i].slot < 0) {
      rc = SKPI_ENOMEM;
      if(errbuf && errlen)
        snprintf(errbuf, errlen, "target '%s': no registry slot", s->t[i].name);
      goto out;
    }
  }
out:
  if(rc != SKPI_OK) {
    if(s)
      skpi_http_source_free(s);
    else if(curl_inited)
      curl_global_cleanup();
    return rc;
  }
  *out = s;
  return SKPI_OK;
}

skpi_err skpi_http_source_start(skpi_http_source *s) {
  if(s->running)
    return SKPI_EINVAL;
  atomic_store(&s->stop, 0);
  if(pthread_create(&s->thread, NULL, thread_main, s) != 0)
    return SKPI_ENOMEM;
  s->running = 1;
  return SKPI_OK;
}

void skpi_http_source_stop(skpi_http_source *s) {
  if(!s->running)
    return;
  atomic_store(&s->stop, 1);
  curl_multi_wakeup(s->multi);
  pthread_join(s->thread, NULL);
  s->running = 0;
}

void skpi_http_source_free(skpi_http_source *s) {
  if(!s)
    return;
  skpi_http_source_stop(s);
  if(s->multi)
    abort_all(s);
  for(size_t i = 0; s->t && i < s->n; i++)
    target_free(&s->t[i]);
  if(s->multi)
    curl_multi_cleanup(s->multi);
  free(s->t);
  pthread_mutex_destroy(&s->mu);
  free(s);
  curl_global_cleanup();
}

skpi_err skpi_http_source_run_once(skpi_http_source *s) {
  if(s->running)
    return SKPI_EINVAL;
  double now = skpi_mono();
  double longest = 0;
  for(size_t i = 0; i < s->n; i++) {
    if(s->t[i].timeout_s > longest)
      longest = s->t[i].timeout_s;
    start_transfer(s, &s->t[i], now);
  }
  /* curl enforces each timeout; the deadline only guards against a stuck
   * multi handle so this loop is bounded whatever happens. */
  double deadline = now + longest + 10;
  for(;;) {
    int busy = 0;
    for(size_t i = 0; i < s->n; i++)
      busy |= s->t[i].busy;
    if(!busy)
      break;
    if(skpi_mono() > deadline) {
      for(size_t i = 0; i < s->n; i++) {
        target *t = &s->t[i];
        if(!t->busy)
          continue;
        curl_multi_remove_handle(s->multi, t->easy);
        t->busy = 0;
        finish(s, t, CURLE_OPERATION_TIMEDOUT);
      }
      break;
    }
    step(s, 100);
  }
  return SKPI_OK;
}

static target *find(skpi_http_source *s, const char *name) {
  for(size_t i = 0; i < s->n; i++)
    if(strcmp(s->t[i].name, name) == 0)
      return &s->t[i];
  return NULL;
}

skpi_err skpi_http_source_status(skpi_http_source *s, const char *name, skpi_target_status *out) {
  target *t = find(s, name);
  if(!t)
    return SKPI_ENOENT;
  pthread_mutex_lock(&s->mu);
  *out = t->st;
  pthread_mutex_unlock(&s->mu);
  return SKPI_OK;
}

skpi_err skpi_http_source_quality(skpi_http_source *s, const char *name, double *good,
                                  double *total) {
  skpi_err rc = SKPI_ENOENT;
  double g = 0, a = 0, now = skpi_mono();
  pthread_mutex_lock(&s->mu);
  for(size_t i = 0; i < s->n; i++) {
    target *t = &s->t[i];
    if(t->kind != SKPI_TARGET_METRICS || (name && strcmp(t->name, name) != 0) || !fresh(t, now))
      continue;
    for(size_t k = 0; k < t->nstatuses; k++) {
      a += t->statuses[k].cum;
      if(is_good(t, t->statuses[k].value))
        g += t->statuses[k].cum;
    }
    rc = SKPI_OK;
  }
  pthread_mutex_unlock(&s->mu);
  *good = g;
  *total = a;
  return rc;
}

skpi_err skpi_http_source_schema_coverage(skpi_http_source *s, const char *const *topics,
                                          size_t n, size_t *covered) {
  skpi_err rc = SKPI_ENOENT;
  size_t c = 0;
  double now = skpi_mono();
  pthread_mutex_lock(&s->mu);
  for(size_t i = 0; i < s->n; i++)
    if(s->t[i].kind == SKPI_TARGET_SCHEMA_REGISTRY && fresh(&s->t[i], now))
      rc = SKPI_OK;
  for(size_t k = 0; rc == SKPI_OK && k < n; k++) {
    char subj[512];
    int w = snprintf(subj, sizeof(subj), "%s-value", topics[k]);
    if(w < 0 || (size_t)w >= sizeof(subj))
      continue; /* longer than any Kafka topic name can be */
    const char *key = subj;
    for(size_t i = 0; i < s->n; i++) {
      target *t = &s->t[i];
      if(t->kind != SKPI_TARGET_SCHEMA_REGISTRY || !fresh(t, now))
        continue;
      if(bsearch(&key, t->subjects, t->nsubjects, sizeof(char *), cmp_str)) {
        c++;
        break;
      }
    }
  }
  pthread_mutex_unlock(&s->mu);
  *covered = c;
  return rc;
}

/* Totals over the fresh connect targets: out[0..4) = connectors, RUNNING
 * connectors, tasks, RUNNING tasks.  SKPI_ENOENT when none has data. */
static skpi_err connect_totals(skpi_http_source *s, size_t out[4]) {
  skpi_err rc = SKPI_ENOENT;
  double now = skpi_mono();
  memset(out, 0, 4 * sizeof(size_t));
  pthread_mutex_lock(&s->mu);
  for(size_t i = 0; i < s->n; i++) {
    const target *t = &s->t[i];
    if(t->kind != SKPI_TARGET_CONNECT || !fresh(t, now))
      continue;
    rc = SKPI_OK;
    out[0] += t->nconnectors;
    for(size_t k = 0; k < t->nconnectors; k++) {
      out[1] += t->connectors[k].state == 0; /* RUNNING */
      out[2] += t->connectors[k].tasks;
      out[3] += t->connectors[k].tasks_running;
    }
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

skpi_err skpi_http_source_connect(skpi_http_source *s, size_t *connectors, size_t *running) {
  size_t tot[4];
  skpi_err rc = connect_totals(s, tot);
  *connectors = tot[0];
  *running = tot[1];
  return rc;
}

skpi_err skpi_http_source_connect_tasks(skpi_http_source *s, size_t *tasks, size_t *running) {
  size_t tot[4];
  skpi_err rc = connect_totals(s, tot);
  *tasks = tot[2];
  *running = tot[3];
  return rc;
}

skpi_mset *skpi_http_source_target_set(skpi_http_source *s, const char *name) {
  target *t = find(s, name);
  if(!t)
    return NULL;
  pthread_mutex_lock(&s->mu);
  skpi_mset *m = build_set(t, skpi_mono());
  pthread_mutex_unlock(&s->mu);
  return m;
}
