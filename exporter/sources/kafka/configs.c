/* configs.c: the topic and broker configuration source.
 *
 * One admin-capable handle per cluster.  A cycle is one Metadata request,
 * then DescribeConfigs calls on one queue: topic chunks spread round robin
 * over the listed brokers (any broker answers for any topic), each retried
 * once on the next broker when its call fails, and one call per broker for
 * its own configuration.  At most max_inflight calls are out at once.
 */
#include "streamkpi/configs_source.h"

#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/clock.h"
#include "streamkpi/expo.h"
#include "streamkpi/kafka_client.h"
#include "streamkpi/log.h"
#include "streamkpi/refcnt.h"

#define DEFAULT_INTERVAL_S SKPI_CONFIGS_DEFAULT_INTERVAL_S
#define DEFAULT_TOPICS_PER_REQUEST 200
#define DEFAULT_MAX_INFLIGHT 4
#define MAX_TOPICS 1000000 /* topics audited per cycle; more are ignored */

void skpi_configs_opts_default(skpi_configs_opts *opts) {
  opts->interval_s = DEFAULT_INTERVAL_S;
  opts->topics_per_request = DEFAULT_TOPICS_PER_REQUEST;
  opts->max_inflight = DEFAULT_MAX_INFLIGHT;
}

static void opts_fill(skpi_configs_opts *o, const skpi_configs_opts *in) {
  skpi_configs_opts_default(o);
  if(!in)
    return;
  if(in->interval_s > 0)
    o->interval_s = in->interval_s;
  if(in->topics_per_request > 0)
    o->topics_per_request = in->topics_per_request;
  if(in->max_inflight > 0)
    o->max_inflight = in->max_inflight;
}

/* ---- handle ------------------------------------------------------------ */

typedef struct cctx {
  const skpi_cluster_cfg *cfg;
  skpi_configs_opts opts;
  rd_kafka_t *rk;
  const skpi_stop *stop;
  int timeout_ms;
  size_t md_partitions; /* in the last Metadata reply of the handle */
} cctx;

static int stopping(const cctx *k) {
  return k->stop && skpi_stop_get(k->stop);
}

/* A producer-type handle: it never joins a group and sends nothing unless
 * asked, which is all the admin API needs. */
static rd_kafka_t *make_handle(const skpi_cluster_cfg *cfg) {
  skpi_kafka_client_opts o = {.type = RD_KAFKA_PRODUCER,
                              .role = "configs",
                              .client_id = "streamkpi-configs"};
  return skpi_kafka_client_new(cfg, &o);
}

/* ---- metadata ---------------------------------------------------------- */

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Distinct broker ids among the listed brokers and every replica list. */
static size_t count_brokers(const struct rd_kafka_metadata *md) {
  size_t n = (size_t)(md->broker_cnt > 0 ? md->broker_cnt : 0);
  for(int t = 0; t < md->topic_cnt; t++)
    for(int p = 0; p < md->topics[t].partition_cnt; p++)
      n += (size_t)md->topics[t].partitions[p].replica_cnt;
  int32_t *ids = n ? malloc(n * sizeof(*ids)) : NULL;
  if(!ids)
    return (size_t)(md->broker_cnt > 0 ? md->broker_cnt : 0);
  size_t k = 0;
  for(int b = 0; b < md->broker_cnt; b++)
    ids[k++] = md->brokers[b].id;
  for(int t = 0; t < md->topic_cnt; t++)
    for(int p = 0; p < md->topics[t].partition_cnt; p++)
      for(int r = 0; r < md->topics[t].partitions[p].replica_cnt; r++)
        ids[k++] = md->topics[t].partitions[p].replicas[r];
  qsort(ids, k, sizeof(*ids), cmp_i32);
  size_t distinct = 0;
  for(size_t i = 0; i < k; i++)
    distinct += i == 0 || ids[i] != ids[i - 1];
  free(ids);
  return distinct;
}

static skpi_err collect_metadata(cctx *k, skpi_topic_configs *c, char *err, size_t errlen) {
  skpi_err rc = SKPI_OK;
  const struct rd_kafka_metadata *md = NULL;
  c->requests++;
  rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 1, NULL, &md, k->timeout_ms);
  if(e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    c->errors++;
    char why[256];
    if(skpi_kafka_client_auth_error(k->rk, 2.0 * k->timeout_ms / 1000 + 60, why, sizeof(why)))
      snprintf(err, errlen, "metadata: %s; login refused: %.160s", rd_kafka_err2str(e), why);
    else
      snprintf(err, errlen, "metadata: %s", rd_kafka_err2str(e));
    return SKPI_EKAFKA;
  }
  k->md_partitions = skpi_kafka_client_md_partitions(md);
  for(int i = 0; i < md->broker_cnt; i++)
    if(!skpi_topic_configs_add_broker(c, md->brokers[i].id)) {
      rc = SKPI_ENOMEM;
      goto out;
    }
  for(int i = 0; i < md->topic_cnt && c->ntopics < MAX_TOPICS; i++) {
    const rd_kafka_metadata_topic_t *mt = &md->topics[i];
    if(!mt->topic || !skpi_filter_match(&k->cfg->topics, mt->topic))
      continue;
    int rf = 0;
    for(int p = 0; p < mt->partition_cnt; p++)
      if(mt->partitions[p].replica_cnt > rf)
        rf = mt->partitions[p].replica_cnt;
    int internal = strncmp(mt->topic, "__", 2) == 0 ||
                   (k->cfg->probe_topic && strcmp(mt->topic, k->cfg->probe_topic) == 0);
    if(!skpi_topic_configs_add_topic(c, mt->topic, internal,
                                     mt->partition_cnt > 0 ? mt->partition_cnt : 0, rf)) {
      rc = SKPI_ENOMEM;
      goto out;
    }
  }
  c->cluster_brokers = count_brokers(md);
  if(md->topic_cnt > MAX_TOPICS)
    skpi_log(SKPI_WARN, "too many topics, the rest is not audited", "cluster", k->cfg->name);
  skpi_topic_configs_sort(c);
out:
  rd_kafka_metadata_destroy(md);
  if(rc != SKPI_OK)
    snprintf(err, errlen, "metadata: %s", skpi_strerror(rc));
  return rc;
}

/* ---- DescribeConfigs ---------------------------------------------------- */

/* One call: a run of topics, or one broker (broker >= 0 and ntopics 0). */
typedef struct dcall {
  size_t first, count; /* topics */
  long broker_ix;      /* index into c->brokers for a broker call, else -1 */
  size_t target;       /* round-robin position of the broker asked */
  int attempts;
  int out; /* in flight */
  int done;
} dcall;

static enum skpi_cfg_source map_source(rd_kafka_ConfigSource_t s) {
  switch(s) {
  case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG: return SKPI_CFGSRC_DYNAMIC_TOPIC;
  case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG:
  case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG: return SKPI_CFGSRC_DYNAMIC_BROKER;
  case RD_KAFKA_CONFIG_SOURCE_STATIC_BROKER_CONFIG: return SKPI_CFGSRC_STATIC;
  case RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG: return SKPI_CFGSRC_DEFAULT;
  default: return SKPI_CFGSRC_UNKNOWN;
  }
}

/* Copies the kept keys of one described resource into v. */
static const char *topic_key(int k) { return skpi_tc_key_name((enum skpi_tc_key)k); }
static const char *broker_key(int k) { return skpi_bc_key_name((enum skpi_bc_key)k); }

/* key_name names the nkeys kept keys (skpi_tc_key_name or skpi_bc_key_name). */
static skpi_err copy_entries(const rd_kafka_ConfigResource_t *r, const char *(*key_name)(int),
                             size_t nkeys, skpi_tc_value *v) {
  size_t n = 0;
  const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(r, &n);
  for(size_t i = 0; i < n; i++) {
    const char *name = rd_kafka_ConfigEntry_name(e[i]);
    if(!name)
      continue;
    for(size_t kx = 0; kx < nkeys; kx++) {
      if(strcmp(name, key_name((int)kx)) != 0)
        continue;
      skpi_err rc = skpi_tc_set(&v[kx], rd_kafka_ConfigEntry_value(e[i]),
                                map_source(rd_kafka_ConfigEntry_source(e[i])));
      if(rc != SKPI_OK)
        return rc;
    }
  }
  return SKPI_OK;
}

static skpi_tc_topic *find_topic_mut(skpi_topic_configs *c, const char *name, size_t first,
                                     size_t count) {
  for(size_t i = 0; i < count; i++)
    if(!strcmp(c->topics[first + i].name, name))
      return &c->topics[first + i];
  return NULL;
}

static skpi_err on_result(skpi_topic_configs *c, dcall *d, rd_kafka_event_t *ev) {
  skpi_err rc = SKPI_OK;
  const rd_kafka_DescribeConfigs_result_t *res = rd_kafka_event_DescribeConfigs_result(ev);
  size_t n = 0;
  const rd_kafka_ConfigResource_t **rs =
      res ? rd_kafka_DescribeConfigs_result_resources(res, &n) : NULL;
  for(size_t i = 0; i < n && rc == SKPI_OK; i++) {
    const char *name = rd_kafka_ConfigResource_name(rs[i]);
    rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(rs[i]);
    const char *why = e ? rd_kafka_ConfigResource_error_string(rs[i]) : NULL;
    if(e && !why)
      why = rd_kafka_err2str(e);
    if(d->broker_ix >= 0) {
      skpi_tc_broker *b = &c->brokers[d->broker_ix];
      rc = e ? skpi_tc_broker_fail(b, why) : copy_entries(rs[i], broker_key, SKPI_BC_NKEYS, b->v);
      continue;
    }
    skpi_tc_topic *t = name ? find_topic_mut(c, name, d->first, d->count) : NULL;
    if(!t)
      continue;
    rc = e ? skpi_tc_topic_fail(t, why) : copy_entries(rs[i], topic_key, SKPI_TC_NKEYS, t->v);
  }
  return rc;
}

/* Sends call d; returns SKPI_ENOMEM, else SKPI_OK (a send failure shows up
 * as an error event). */
static skpi_err send_call(cctx *k, skpi_topic_configs *c, dcall *d, rd_kafka_queue_t *q) {
  char errstr[256];
  skpi_err rc = SKPI_OK;
  size_t nres = d->broker_ix >= 0 ? 1 : d->count;
  rd_kafka_ConfigResource_t **res = calloc(nres, sizeof(*res));
  rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(k->rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  if(!res || !o) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  rd_kafka_AdminOptions_set_request_timeout(o, k->timeout_ms, errstr, sizeof(errstr));
  rd_kafka_AdminOptions_set_opaque(o, d);
  if(d->broker_ix >= 0) {
    char id[16];
    snprintf(id, sizeof(id), "%d", (int)c->brokers[d->broker_ix].id);
    res[0] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, id);
  } else {
    /* Spread topic chunks over the brokers so that one bad broker only
     * holds up its own share. */
    if(c->nbrokers > 0)
      rd_kafka_AdminOptions_set_broker(o, c->brokers[d->target % c->nbrokers].id, errstr,
                                       sizeof(errstr));
    for(size_t i = 0; i < d->count; i++)
      res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, c->topics[d->first + i].name);
  }
  for(size_t i = 0; i < nres; i++)
    if(!res[i]) {
      rc = SKPI_ENOMEM;
      goto out;
    }
  rd_kafka_DescribeConfigs(k->rk, res, nres, o, q);
  c->requests++;
  d->attempts++;
  d->out = 1;
out:
  if(res)
    rd_kafka_ConfigResource_destroy_array(res, nres);
  free(res);
  if(o)
    rd_kafka_AdminOptions_destroy(o);
  return rc;
}

static void fail_call(skpi_topic_configs *c, dcall *d, const char *why) {
  if(d->broker_ix >= 0) {
    skpi_tc_broker_fail(&c->brokers[d->broker_ix], why);
    return;
  }
  for(size_t i = 0; i < d->count; i++)
    skpi_tc_topic_fail(&c->topics[d->first + i], why);
}

/* Waits for the next event on q, up to wait_s, watching the stop flag. */
static rd_kafka_event_t *wait_event(cctx *k, rd_kafka_queue_t *q, double wait_s) {
  double end = skpi_mono() + wait_s;
  for(;;) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
    if(ev)
      return ev;
    if(stopping(k) || skpi_mono() >= end)
      return NULL;
  }
}

static skpi_err describe_all(cctx *k, skpi_topic_configs *c) {
  skpi_err rc = SKPI_OK;
  size_t per = (size_t)k->opts.topics_per_request;
  size_t nchunks = (c->ntopics + per - 1) / per;
  size_t ncalls = nchunks + c->nbrokers;
  size_t inflight = 0, next = 0, left = ncalls;
  size_t limit = (size_t)k->opts.max_inflight;
  rd_kafka_queue_t *q = NULL;
  dcall *calls = NULL;
  if(ncalls == 0)
    return SKPI_OK;
  calls = calloc(ncalls, sizeof(*calls));
  q = rd_kafka_queue_new(k->rk);
  if(!calls || !q) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  for(size_t i = 0; i < nchunks; i++) {
    calls[i].first = i * per;
    calls[i].count = c->ntopics - i * per < per ? c->ntopics - i * per : per;
    calls[i].broker_ix = -1;
    calls[i].target = i;
  }
  for(size_t b = 0; b < c->nbrokers; b++)
    calls[nchunks + b].broker_ix = (long)b;
  while(left > 0 && !stopping(k)) {
    while(next < ncalls && inflight < limit) {
      if((rc = send_call(k, c, &calls[next], q)) != SKPI_OK)
        goto out;
      next++;
      inflight++;
    }
    /* Each call ends by its own request timeout; the margin covers the
     * broker connection librdkafka may have to set up first. */
    rd_kafka_event_t *ev = wait_event(k, q, 2.0 * k->timeout_ms / 1000.0 + 5);
    if(!ev)
      break;
    dcall *d = rd_kafka_event_opaque(ev);
    if(d >= calls && d < calls + ncalls && d->out) {
      d->out = 0;
      inflight--;
      rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
      if(!e) {
        d->done = 1;
        left--;
        rc = on_result(c, d, ev);
      } else {
        c->errors++;
        const char *why = rd_kafka_event_error_string(ev);
        skpi_log(SKPI_WARN, "describe configs failed", "cluster", k->cfg->name, "error",
                 why ? why : rd_kafka_err2str(e));
        /* A topic chunk gets one more chance on the next broker; a broker's
         * own configuration can only come from that broker. */
        if(d->broker_ix < 0 && d->attempts < 2 && c->nbrokers > 1) {
          d->target++;
          rc = send_call(k, c, d, q);
          if(rc == SKPI_OK)
            inflight++;
        } else {
          d->done = 1;
          left--;
          fail_call(c, d, why ? why : rd_kafka_err2str(e));
        }
      }
    }
    rd_kafka_event_destroy(ev);
    if(rc != SKPI_OK)
      goto out;
  }
  /* Calls never answered or never sent (stop, or the wait ran out). */
  for(size_t i = 0; i < ncalls; i++)
    if(!calls[i].done) {
      if(calls[i].out)
        c->errors++;
      fail_call(c, &calls[i], stopping(k) ? "stopped" : "no answer");
    }
out:
  if(q)
    rd_kafka_queue_destroy(q);
  free(calls);
  return rc;
}

/* ---- the cycle --------------------------------------------------------- */

static skpi_err run_cycle(cctx *k, skpi_topic_configs **out, char *err, size_t errlen) {
  skpi_err rc;
  double t0 = skpi_mono();
  *out = NULL;
  err[0] = '\0';
  skpi_topic_configs *c = skpi_topic_configs_new(k->cfg->name);
  if(!c)
    return SKPI_ENOMEM;
  if(!k->rk && !(k->rk = make_handle(k->cfg))) {
    rc = SKPI_EKAFKA;
    snprintf(err, errlen, "cannot create the kafka client");
    goto out;
  }
  rd_kafka_poll(k->rk, 0);
  if((rc = collect_metadata(k, c, err, errlen)) != SKPI_OK)
    goto out;
  if((rc = describe_all(k, c)) != SKPI_OK)
    goto out;
  if(stopping(k)) {
    rc = SKPI_ETIMEOUT;
    snprintf(err, errlen, "stopped");
    goto out;
  }
  for(size_t i = 0; i < c->ntopics; i++)
    if(!c->topics[i].ok)
      c->failed_topics++;
  c->time = skpi_now();
  c->duration_s = skpi_mono() - t0;
out:
  /* Between audits a large cluster's metadata is not kept. */
  if(skpi_kafka_client_drop_large(&k->rk, k->md_partitions))
    k->md_partitions = 0;
  if(rc != SKPI_OK) {
    if(!err[0])
      snprintf(err, errlen, "%s", skpi_strerror(rc));
    skpi_topic_configs_unref(c);
    return rc;
  }
  *out = c;
  return SKPI_OK;
}

skpi_err skpi_configs_cycle_once(const skpi_cluster_cfg *cfg, const skpi_configs_opts *opts,
                                 skpi_topic_configs **out) {
  char err[256];
  if(!cfg || !out)
    return SKPI_EINVAL;
  *out = NULL;
  cctx k = {.cfg = cfg, .timeout_ms = skpi_kafka_client_timeout_ms(cfg)};
  opts_fill(&k.opts, opts);
  if(!(k.rk = make_handle(cfg)))
    return SKPI_EINVAL;
  skpi_err rc = run_cycle(&k, out, err, sizeof(err));
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "config audit cycle failed", "cluster", cfg->name, "error", err);
  skpi_kafka_client_free(k.rk);
  return rc;
}

/* ---- the thread -------------------------------------------------------- */

struct skpi_configs_source {
  cctx k;
  skpi_registry *reg;
  int slot;
  pthread_t thread;
  skpi_stop stop;
  skpi_configs_observer observer;
  void *user;
  uint64_t requests_total, errors_total;
};

static skpi_err render_self(const skpi_configs_source *src, const skpi_topic_configs *c,
                            skpi_mset *m) {
  skpi_err rc;
  const char *cl = src->k.cfg->name;
  int f1 = skpi_mset_family(m, "streamkpi_config_audit_requests_total", SKPI_MT_COUNTER,
                            "Metadata and DescribeConfigs calls sent by the config audit.");
  int f2 = skpi_mset_family(m, "streamkpi_config_audit_request_errors_total", SKPI_MT_COUNTER,
                            "Config audit calls that failed as a whole.");
  int f3 = skpi_mset_family(m, "streamkpi_config_audit_failed_resources", SKPI_MT_GAUGE,
                            "Topics and brokers whose configuration the last audit could not "
                            "read.");
  if(f1 < 0 || f2 < 0 || f3 < 0)
    return SKPI_ENOMEM;
  size_t failed_brokers = 0;
  for(size_t i = 0; i < c->nbrokers; i++)
    failed_brokers += !c->brokers[i].ok;
  if((rc = skpi_mset_add(m, f1, (double)src->requests_total, "cluster", cl)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f2, (double)src->errors_total, "cluster", cl)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f3, (double)c->failed_topics, "cluster", cl, "kind", "topic")) !=
         SKPI_OK ||
     (rc = skpi_mset_add(m, f3, (double)failed_brokers, "cluster", cl, "kind", "broker")) !=
         SKPI_OK)
    return rc;
  return SKPI_OK;
}

static void publish(skpi_configs_source *src, const skpi_topic_configs *c) {
  if(!src->reg)
    return;
  skpi_mset *m = skpi_mset_new();
  skpi_err rc = m ? render_self(src, c, m) : SKPI_ENOMEM;
  if(rc != SKPI_OK) {
    skpi_mset_unref(m);
    skpi_registry_publish(src->reg, src->slot, NULL, "render failed", c->duration_s);
    return;
  }
  skpi_registry_publish(src->reg, src->slot, m, NULL, c->duration_s);
}

static void *source_main(void *arg) {
  skpi_configs_source *src = arg;
  const skpi_cluster_cfg *cfg = src->k.cfg;
  char err[256];
  while(!skpi_stop_get(&src->stop)) {
    double t0 = skpi_mono();
    skpi_topic_configs *c = NULL;
    skpi_err rc = run_cycle(&src->k, &c, err, sizeof(err));
    if(skpi_stop_get(&src->stop)) {
      skpi_topic_configs_unref(c);
      break;
    }
    if(rc == SKPI_OK) {
      src->requests_total += c->requests;
      src->errors_total += c->errors;
      if(src->observer)
        src->observer(c, src->user);
      publish(src, c);
      skpi_topic_configs_unref(c);
    } else {
      /* A failed metadata request is one request and one error. */
      src->requests_total++;
      src->errors_total++;
      skpi_log(SKPI_WARN, "config audit cycle failed", "cluster", cfg->name, "error", err);
      if(src->reg)
        skpi_registry_publish(src->reg, src->slot, NULL, err, skpi_mono() - t0);
    }
    double left = src->k.opts.interval_s - (skpi_mono() - t0);
    skpi_sleep(left > 0 ? left : 0, &src->stop);
  }
  return NULL;
}

skpi_configs_source *skpi_configs_source_start(const skpi_cluster_cfg *cfg, skpi_registry *reg,
                                               double interval_s, skpi_configs_observer observer,
                                               void *user) {
  if(!cfg)
    return NULL;
  skpi_configs_source *src = calloc(1, sizeof(*src));
  if(!src)
    return NULL;
  skpi_configs_opts o = {.interval_s = interval_s};
  opts_fill(&src->k.opts, &o);
  src->k.cfg = cfg;
  src->k.stop = &src->stop;
  src->k.timeout_ms = skpi_kafka_client_timeout_ms(cfg);
  src->reg = reg;
  src->slot = -1;
  src->observer = observer;
  src->user = user;
  if(!(src->k.rk = make_handle(cfg)))
    goto fail;
  if(reg) {
    /* A slow source must not hold /ready back, and its data ages with its
     * own cadence. */
    double ttl = cfg->stale_ttl_s > 3 * src->k.opts.interval_s ? cfg->stale_ttl_s
                                                               : 3 * src->k.opts.interval_s;
    src->slot = skpi_registry_add_source(reg, cfg->name, "configs", ttl, 0);
    if(src->slot < 0) {
      skpi_log(SKPI_ERROR, "cannot add registry slot", "cluster", cfg->name);
      goto fail;
    }
  }
  if(pthread_create(&src->thread, NULL, source_main, src) != 0) {
    skpi_log(SKPI_ERROR, "cannot start config audit thread", "cluster", cfg->name);
    goto fail;
  }
  return src;
fail:
  if(src->k.rk)
    skpi_kafka_client_free(src->k.rk);
  free(src);
  return NULL;
}

void skpi_configs_source_stop(skpi_configs_source *src) {
  if(!src)
    return;
  skpi_stop_set(&src->stop, 1);
  pthread_join(src->thread, NULL);
  skpi_kafka_client_free(src->k.rk);
  free(src);
}
