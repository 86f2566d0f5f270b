/* client.c: librdkafka handles made one way (see kafka_client.h). */
#include "streamkpi/kafka_client.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/clock.h"
#include "streamkpi/log.h"

/* What the factory attaches to a handle as its opaque: the log callbacks
 * need the cluster's name, the delivery callback the caller's pointer. */
typedef struct kclient {
  char cluster[128];
  char role[32];
  skpi_kafka_client_dr on_delivery;
  skpi_kafka_client_stats on_stats;
  void *user;
  /* The last login refusal (SASL or TLS) librdkafka logged: a failed
   * request says only "transport failure", the operator needs the why. */
  pthread_mutex_t mu;
  char auth[256];
  double auth_at;
} kclient;

/* Keeps what follows the first refusal marker in a librdkafka line. */
static void note_auth(kclient *k, const char *line) {
  static const char *const marks[] = {"SASL authentication error", "SSL handshake failed",
                                      "Authentication failed"};
  const char *at = NULL;
  for(size_t i = 0; i < sizeof(marks) / sizeof(marks[0]) && !at; i++)
    at = strstr(line, marks[i]);
  if(!k || !at)
    return;
  pthread_mutex_lock(&k->mu);
  snprintf(k->auth, sizeof(k->auth), "%s", at);
  k->auth_at = skpi_mono();
  pthread_mutex_unlock(&k->mu);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  kclient *k = rd_kafka_opaque(rk);
  if(level <= 3)
    note_auth(k, buf);
  /* syslog levels: 0-3 are errors, 4 warnings, the rest chatter. */
  enum skpi_log_level lvl = level <= 3 ? SKPI_ERROR : level == 4 ? SKPI_WARN : SKPI_DEBUG;
  skpi_log(lvl, "librdkafka", "cluster", k ? k->cluster : "", "client", k ? k->role : "",
           "facility", fac, "detail", buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  kclient *k = opaque;
  if(err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
    note_auth(k, reason);
  skpi_log(SKPI_WARN, "kafka client error", "cluster", k ? k->cluster : "", "client",
           k ? k->role : "", "error", rd_kafka_err2name((rd_kafka_resp_err_t)err), "detail",
           reason);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  const kclient *k = opaque;
  if(k && k->on_delivery)
    k->on_delivery(rk, m, k->user);
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  const kclient *k = opaque;
  if(k && k->on_stats)
    k->on_stats(rk, json, len, k->user);
  return 0; /* librdkafka frees json */
}

static int set_prop(rd_kafka_conf_t *conf, const kclient *k, const char *key, const char *value) {
  char errstr[512];
  if(rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
    return 0;
  skpi_log(SKPI_ERROR, "bad kafka property", "cluster", k->cluster, "client", k->role, "property",
           key, "detail", errstr);
  return -1;
}

/* Sets key, value pairs up to a NULL key. */
static int set_pairs(rd_kafka_conf_t *conf, const kclient *k, const char *const *kv) {
  for(size_t i = 0; kv && kv[i]; i += 2)
    if(!kv[i + 1] || set_prop(conf, k, kv[i], kv[i + 1]))
      return -1;
  return 0;
}

rd_kafka_t *skpi_kafka_client_new(const skpi_cluster_cfg *cfg, const skpi_kafka_client_opts *o) {
  char errstr[512];
  rd_kafka_t *rk = NULL;
  rd_kafka_conf_t *conf = NULL;
  if(!cfg || !o)
    return NULL;
  kclient *k = calloc(1, sizeof(*k));
  if(!k)
    return NULL;
  pthread_mutex_init(&k->mu, NULL);
  snprintf(k->cluster, sizeof(k->cluster), "%s", cfg->name ? cfg->name : "");
  snprintf(k->role, sizeof(k->role), "%s", o->role ? o->role : "");
  k->on_delivery = o->on_delivery;
  k->on_stats = o->on_stats;
  k->user = o->user;
  if(!(conf = rd_kafka_conf_new()))
    goto fail;
  int consumer = o->type == RD_KAFKA_CONSUMER;
  if(set_prop(conf, k, "client.id", o->client_id ? o->client_id : "streamkpi") ||
     set_pairs(conf, k, o->defaults))
    goto fail;
  for(size_t i = 0; i < cfg->nproperties; i++)
    if(set_prop(conf, k, cfg->properties[i].key, cfg->properties[i].value))
      goto fail;
  if(cfg->bootstrap_servers && set_prop(conf, k, "bootstrap.servers", cfg->bootstrap_servers))
    goto fail;
  if(set_prop(conf, k, "allow.auto.create.topics", "false") ||
     set_prop(conf, k, "statistics.interval.ms", "0"))
    goto fail;
  if(consumer && (set_prop(conf, k, "enable.auto.commit", "false") ||
                  set_prop(conf, k, "isolation.level", "read_uncommitted")))
    goto fail;
  if(set_pairs(conf, k, o->forced))
    goto fail;
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  if(!consumer && o->on_delivery)
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  if(o->on_stats)
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
  rd_kafka_conf_set_opaque(conf, k);
  /* On success the handle owns conf. */
  if(!(rk = rd_kafka_new(o->type, conf, errstr, sizeof(errstr)))) {
    skpi_log(SKPI_ERROR, "cannot create kafka client", "cluster", k->cluster, "client", k->role,
             "detail", errstr);
    goto fail;
  }
  return rk;
fail:
  if(conf)
    rd_kafka_conf_destroy(conf);
  pthread_mutex_destroy(&k->mu);
  free(k);
  return NULL;
}

void *skpi_kafka_client_user(const rd_kafka_t *rk) {
  const kclient *k = rk ? rd_kafka_opaque(rk) : NULL;
  return k ? k->user : NULL;
}

void skpi_kafka_client_free(rd_kafka_t *rk) {
  if(!rk)
    return;
  /* Callbacks may run during destroy: the attachment goes last. */
  kclient *k = rd_kafka_opaque(rk);
  rd_kafka_destroy(rk);
  if(k)
    pthread_mutex_destroy(&k->mu);
  free(k);
}

int skpi_kafka_client_auth_error(const rd_kafka_t *rk, double max_age_s, char *out, size_t len) {
  kclient *k = rk ? rd_kafka_opaque(rk) : NULL;
  int found = 0;
  if(!k || len == 0)
    return 0;
  pthread_mutex_lock(&k->mu);
  if(k->auth[0] && skpi_mono() - k->auth_at <= max_age_s) {
    snprintf(out, len, "%s", k->auth);
    found = 1;
  }
  pthread_mutex_unlock(&k->mu);
  return found;
}

int skpi_kafka_client_timeout_ms(const skpi_cluster_cfg *cfg) {
  double s = cfg && cfg->request_timeout_s > 0 ? cfg->request_timeout_s : 10;
  double ms = s * 1000;
  if(ms < 1)
    ms = 1;
  if(ms > INT_MAX / 4)
    ms = INT_MAX / 4;
  return (int)ms;
}

size_t skpi_kafka_client_md_partitions(const struct rd_kafka_metadata *md) {
  size_t n = 0;
  for(int i = 0; md && i < md->topic_cnt; i++)
    n += md->topics[i].partition_cnt > 0 ? (size_t)md->topics[i].partition_cnt : 0;
  return n;
}

int skpi_kafka_client_drop_large(rd_kafka_t **rk, size_t md_partitions) {
  if(!rk || !*rk || md_partitions < SKPI_KAFKA_CLIENT_RENEW_PARTITIONS)
    return 0;
  rd_kafka_poll(*rk, 0);
  skpi_kafka_client_free(*rk);
  *rk = NULL;
  return 1;
}
