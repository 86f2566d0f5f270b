/* probe.c: end-to-end canary probe (metadata, produce acks=all, consume back). */
#include "streamkpi/probe.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "streamkpi/clock.h"
#include "streamkpi/expo.h"
#include "streamkpi/hist.h"
#include "streamkpi/kafka_client.h"
#include "streamkpi/log.h"

#define DEFAULT_TOPIC "streamkpi-probe"
#define PAYLOAD_MAX 128
#define RUN_MAX 32
/* In-flight and recent messages, indexed by seq modulo the size.  It must
 * hold several cycles of SKPI_PROBE_MAX_PARTITIONS messages so a late
 * arrival is still recognised. */
#define RING 1024

static const double LATENCY_BOUNDS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1,    2.5,   5,    10};

/* Failure reasons, in the order they are checked; the first one found is the
 * cycle's reason.  Index = label position. */
enum reason {
  R_NONE = -1,
  R_METADATA = 0,
  R_BROKERS,
  R_TOPIC,
  R_CONSUMER,
  R_PRODUCE,
  R_TIMEOUT,
  NREASONS
};
static const char *const REASON_NAMES[NREASONS] = {
    "metadata", "brokers_below_min", "topic", "consumer_assign", "produce", "roundtrip_timeout"};

enum estate { E_FREE = 0, E_PENDING, E_DONE, E_LOST };

typedef struct entry {
  uint64_t seq;
  enum estate state;
  int delivery_failed;
  int32_t partition;
  double mono_sent;
  double produce_s; /* -1 until delivered */
  double rtt_s;     /* -1 until received */
} entry;

struct skpi_probe {
  skpi_probe_cfg cfg;
  char *topic;
  char *cluster;
  skpi_registry *reg;
  int slot;
  rd_kafka_t *prod;
  rd_kafka_t *cons; /* NULL in metadata-only mode */
  rd_kafka_topic_t *crkt; /* the consumer's probe topic handle */
  rd_kafka_queue_t *cq;   /* all consumed partitions forward here */

  pthread_t thread;
  int started;
  skpi_stop stop;

  /* mu guards st, the histograms and the failure counters: the thread
   * writes them, skpi_probe_stats_get reads them from anywhere. */
  pthread_mutex_t mu;
  skpi_probe_stats st;
  uint64_t failures[NREASONS];
  skpi_histogram h_produce, h_rtt;
  double last_success_ts;

  int brokers_max;
  int warned_short; /* logged that the topic has fewer partitions than brokers */
  char run[RUN_MAX + 1];
  uint64_t next_seq;
  entry ring[RING];
  int32_t parts[SKPI_PROBE_MAX_PARTITIONS];
  int nparts; /* partitions assigned to the consumer */
  char last_dr_error[128];

  /* The last result's strings. */
  char reason[32];
  char error[256];
};

/* ---- payload ---------------------------------------------------------- */

static int valid_run(const char *run) {
  size_t n = strlen(run);
  if(n < 1 || n > RUN_MAX)
    return 0;
  for(size_t i = 0; i < n; i++) {
    if(!((run[i] >= '0' && run[i] <= '9') || (run[i] >= 'a' && run[i] <= 'z')))
      return 0;
  }
  return 1;
}

int skpi_probe_payload_format(char *out, size_t outlen, const char *run, uint64_t seq, double ts) {
  if(!out || !run || !valid_run(run) || !isfinite(ts) || ts < 0)
    return -1;
  int n = snprintf(out, outlen, "skpi-probe v=1 run=%s seq=%" PRIu64 " ts=%.6f", run, seq, ts);
  if(n < 0 || (size_t)n >= outlen)
    return -1;
  return n;
}

/* Consumes "key=" then a token up to the next space or the end.  Returns a
 * pointer past the token and sets *tok and *toklen, or NULL. */
static const char *field(const char *p, const char *end, const char *key, const char **tok,
                         size_t *toklen) {
  size_t kl = strlen(key);
  if((size_t)(end - p) < kl || memcmp(p, key, kl) != 0)
    return NULL;
  p += kl;
  const char *s = p;
  while(p < end && *p != ' ')
    p++;
  if(p == s)
    return NULL;
  *tok = s;
  *toklen = (size_t)(p - s);
  return p;
}

skpi_err skpi_probe_payload_parse(const void *data, size_t len, char *run, size_t runlen,
                                  uint64_t *seq, double *ts) {
  static const char prefix[] = "skpi-probe v=1 ";
  char copy[PAYLOAD_MAX + 1];
  char num[40];
  const char *tok;
  size_t tl;
  if(!data || len > PAYLOAD_MAX || len < sizeof(prefix) - 1 || !run || runlen < RUN_MAX + 1)
    return SKPI_EINVAL;
  /* A copy, so the parse never reads past len and stray NULs are caught. */
  memcpy(copy, data, len);
  copy[len] = '\0';
  if(strlen(copy) != len || memcmp(copy, prefix, sizeof(prefix) - 1) != 0)
    return SKPI_EINVAL;
  const char *p = copy + sizeof(prefix) - 1, *end = copy + len;

  if(!(p = field(p, end, "run=", &tok, &tl)) || tl > RUN_MAX)
    return SKPI_EINVAL;
  memcpy(run, tok, tl);
  run[tl] = '\0';
  if(!valid_run(run) || p >= end || *p++ != ' ')
    return SKPI_EINVAL;

  if(!(p = field(p, end, "seq=", &tok, &tl)) || tl >= sizeof(num) || p >= end || *p++ != ' ')
    return SKPI_EINVAL;
  memcpy(num, tok, tl);
  num[tl] = '\0';
  if(num[0] < '0' || num[0] > '9')
    return SKPI_EINVAL; /* strtoull would accept a sign or spaces */
  char *ep;
  errno = 0;
  unsigned long long sv = strtoull(num, &ep, 10);
  if(errno || *ep)
    return SKPI_EINVAL;

  if(!(p = field(p, end, "ts=", &tok, &tl)) || tl >= sizeof(num) || p != end)
    return SKPI_EINVAL;
  memcpy(num, tok, tl);
  num[tl] = '\0';
  if(num[0] < '0' || num[0] > '9')
    return SKPI_EINVAL;
  errno = 0;
  double tv = strtod(num, &ep);
  if(errno || *ep || !isfinite(tv))
    return SKPI_EINVAL;

  *seq = (uint64_t)sv;
  *ts = tv;
  return SKPI_OK;
}

/* ---- replica plan ----------------------------------------------------- */

int skpi_probe_plan_replicas(const int32_t *brokers, size_t nbrokers, int rf, int32_t *out) {
  if(!brokers || !out || nbrokers == 0 || rf < 1)
    return -1;
  if((size_t)rf > nbrokers)
    rf = (int)nbrokers;
  for(size_t i = 0; i < nbrokers; i++) {
    for(int r = 0; r < rf; r++)
      out[i * (size_t)rf + (size_t)r] = brokers[(i + (size_t)r) % nbrokers];
  }
  return rf;
}

/* ---- handles ---------------------------------------------------------- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *user) {
  skpi_probe *p = user;
  uint64_t seq = (uint64_t)(uintptr_t)m->_private;
  entry *e = &p->ring[seq % RING];
  if(e->seq != seq || e->state == E_FREE)
    return;
  if(m->err) {
    e->delivery_failed = 1;
    snprintf(p->last_dr_error, sizeof(p->last_dr_error), "%s", rd_kafka_err2str(m->err));
    return;
  }
  e->produce_s = skpi_mono() - e->mono_sent;
  pthread_mutex_lock(&p->mu);
  skpi_hist_observe(&p->h_produce, e->produce_s);
  p->st.produce_observations = p->h_produce.count;
  pthread_mutex_unlock(&p->mu);
}

/* Builds a handle of the given type through the factory; the settings the
 * probe depends on win over the cluster's properties. */
static rd_kafka_t *make_handle(skpi_probe *p, const skpi_cluster_cfg *c, rd_kafka_type_t type) {
  char tmo[32];
  snprintf(tmo, sizeof(tmo), "%d", (int)(p->cfg.timeout_s * 1000));
  /* The probe measures when a cluster comes back: librdkafka's default
   * reconnect backoff grows to 10 s and would add up to that to every
   * measured recovery (and MTTR).  One attempt a second is cheap. */
  const char *const producer[] = {"client.id", "streamkpi-probe", "reconnect.backoff.ms", "100",
                                  "reconnect.backoff.max.ms", "1000", "acks", "all",
                                  "message.timeout.ms", tmo, "linger.ms", "0",
                                  "enable.idempotence", "false", NULL};
  const char *const consumer[] = {"client.id", "streamkpi-probe-consumer", "reconnect.backoff.ms",
                                  "100", "reconnect.backoff.max.ms", "1000",
                                  "enable.auto.offset.store", "false", "enable.partition.eof",
                                  "false", "fetch.wait.max.ms", "100", NULL};
  skpi_kafka_client_opts o = {.type = type, .role = "probe", .user = p};
  if(type == RD_KAFKA_PRODUCER) {
    o.forced = producer;
    o.on_delivery = on_delivery;
  } else {
    o.forced = consumer;
  }
  return skpi_kafka_client_new(c, &o);
}

/* A random run id, so messages from another instance are never counted. */
static void make_run_id(char *out, size_t outlen) {
  uint64_t x = 0;
  FILE *f = fopen("/dev/urandom", "rb");
  if(!f || fread(&x, sizeof(x), 1, f) != 1)
    x = (uint64_t)(skpi_now() * 1e6) ^ ((uint64_t)(uintptr_t)out << 16);
  if(f)
    fclose(f);
  snprintf(out, outlen, "%016" PRIx64, x);
}

static void probe_free(skpi_probe *p) {
  if(!p)
    return;
  for(int i = 0; i < p->nparts; i++)
    rd_kafka_consume_stop(p->crkt, p->parts[i]);
  if(p->cq)
    rd_kafka_queue_destroy(p->cq);
  if(p->crkt)
    rd_kafka_topic_destroy(p->crkt);
  skpi_kafka_client_free(p->cons);
  if(p->prod) {
    rd_kafka_flush(p->prod, 1000);
    skpi_kafka_client_free(p->prod);
  }
  pthread_mutex_destroy(&p->mu);
  free(p->topic);
  free(p->cluster);
  free(p);
}

skpi_probe *skpi_probe_new(const skpi_probe_cfg *cfg, const skpi_cluster_cfg *cluster,
                           skpi_registry *reg) {
  if(!cfg || !cluster || !cluster->name || !cluster->bootstrap_servers)
    return NULL;
  skpi_probe *p = calloc(1, sizeof(*p));
  if(!p)
    return NULL;
  pthread_mutex_init(&p->mu, NULL);
  skpi_stop_set(&p->stop, 0);
  p->cfg = *cfg;
  p->cfg.topic = NULL; /* the copy below is the one used */
  if(p->cfg.replication_factor <= 0)
    p->cfg.replication_factor = 3;
  if(!(p->cfg.interval_s > 0))
    p->cfg.interval_s = 10;
  if(!(p->cfg.timeout_s > 0))
    p->cfg.timeout_s = 5;
  if(p->cfg.min_brokers <= 0)
    p->cfg.min_brokers = 1;
  if(p->cfg.brokers_expected < 0)
    p->cfg.brokers_expected = 0;
  /* librdkafka takes whole milliseconds in an int. */
  if(p->cfg.timeout_s > 3600 || p->cfg.interval_s > 86400 ||
     (p->cfg.mode != SKPI_PROBE_PRODUCE_CONSUME && p->cfg.mode != SKPI_PROBE_METADATA_ONLY)) {
    skpi_log(SKPI_ERROR, "probe: bad settings", "cluster", cluster->name);
    goto fail;
  }
  p->topic = strdup(cfg->topic && *cfg->topic ? cfg->topic : DEFAULT_TOPIC);
  p->cluster = strdup(cluster->name);
  if(!p->topic || !p->cluster)
    goto fail;
  const size_t nb = sizeof(LATENCY_BOUNDS) / sizeof(*LATENCY_BOUNDS);
  if(skpi_hist_init(&p->h_produce, LATENCY_BOUNDS, nb) != SKPI_OK ||
     skpi_hist_init(&p->h_rtt, LATENCY_BOUNDS, nb) != SKPI_OK)
    goto fail;
  make_run_id(p->run, sizeof(p->run));
  if(!(p->prod = make_handle(p, cluster, RD_KAFKA_PRODUCER)))
    goto fail;
  if(p->cfg.mode == SKPI_PROBE_PRODUCE_CONSUME &&
     !(p->cons = make_handle(p, cluster, RD_KAFKA_CONSUMER)))
    goto fail;
  p->reg = reg;
  p->slot = -1;
  if(reg) {
    double ttl = cluster->stale_ttl_s > 0 ? cluster->stale_ttl_s : 300;
    p->slot = skpi_registry_add_source(reg, p->cluster, "probe", ttl, 0);
    if(p->slot < 0)
      goto fail;
  }
  return p;
fail:
  probe_free(p);
  return NULL;
}

/* ---- one cycle -------------------------------------------------------- */

typedef struct cycle {
  skpi_probe_result r;
  enum reason reason;
  uint64_t first_seq; /* this cycle's messages are [first_seq, next_seq) */
  int received;
} cycle;

static void fail(skpi_probe *p, cycle *c, enum reason why, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a failure; only the first one names the cycle's reason. */
static void fail(skpi_probe *p, cycle *c, enum reason why, const char *fmt, ...) {
  if(c->reason != R_NONE)
    return;
  c->reason = why;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->error, sizeof(p->error), fmt, ap);
  va_end(ap);
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Creates the probe topic: one partition per broker (up to the cap), broker
 * i the preferred leader of partition i.  TOPIC_ALREADY_EXISTS is success. */
static skpi_err create_topic(skpi_probe *p, const rd_kafka_metadata_t *md, char *err,
                             size_t errlen) {
  int32_t ids[SKPI_PROBE_MAX_PARTITIONS];
  int32_t plan[SKPI_PROBE_MAX_PARTITIONS * SKPI_PROBE_MAX_PARTITIONS];
  char errstr[192]; /* leaves room for a prefix in err */
  size_t n = 0;
  int tmo = (int)(p->cfg.timeout_s * 1000);
  skpi_err rc = SKPI_EKAFKA;
  rd_kafka_NewTopic_t *nt = NULL;
  rd_kafka_AdminOptions_t *opts = NULL;
  rd_kafka_queue_t *q = NULL;
  rd_kafka_event_t *ev = NULL;

  for(int i = 0; i < md->broker_cnt && n < SKPI_PROBE_MAX_PARTITIONS; i++)
    ids[n++] = md->brokers[i].id;
  if(n == 0) {
    snprintf(err, errlen, "no brokers in metadata");
    goto out;
  }
  if(n > 1)
    qsort(ids, n, sizeof(*ids), cmp_i32);
  int rf = skpi_probe_plan_replicas(ids, n, p->cfg.replication_factor, plan);
  pthread_mutex_lock(&p->mu);
  p->st.topic_creates++;
  pthread_mutex_unlock(&p->mu);
  /* With an explicit assignment the replication factor must be -1. */
  if(!(nt = rd_kafka_NewTopic_new(p->topic, (int)n, -1, errstr, sizeof(errstr)))) {
    snprintf(err, errlen, "%s", errstr);
    goto out;
  }
  for(size_t i = 0; i < n; i++) {
    if(rd_kafka_NewTopic_set_replica_assignment(nt, (int32_t)i, &plan[i * (size_t)rf], (size_t)rf,
                                                errstr, sizeof(errstr))) {
      snprintf(err, errlen, "%s", errstr);
      goto out;
    }
  }
  opts = rd_kafka_AdminOptions_new(p->prod, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  if(!opts || rd_kafka_AdminOptions_set_request_timeout(opts, tmo, errstr, sizeof(errstr)) ||
     rd_kafka_AdminOptions_set_operation_timeout(opts, tmo, errstr, sizeof(errstr))) {
    snprintf(err, errlen, "admin options: %s", opts ? errstr : "out of memory");
    goto out;
  }
  q = rd_kafka_queue_new(p->prod);
  rd_kafka_CreateTopics(p->prod, &nt, 1, opts, q);
  /* The request carries its own timeout; the margin covers queueing. */
  ev = rd_kafka_queue_poll(q, tmo + 2000);
  if(!ev) {
    snprintf(err, errlen, "CreateTopics: no answer");
    rc = SKPI_ETIMEOUT;
    goto out;
  }
  if(rd_kafka_event_error(ev)) {
    snprintf(err, errlen, "CreateTopics: %s", rd_kafka_event_error_string(ev));
    goto out;
  }
  const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
  size_t cnt = 0;
  const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
  if(cnt != 1 || !tr) {
    snprintf(err, errlen, "CreateTopics: malformed result");
    goto out;
  }
  rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[0]);
  if(e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    const char *es = rd_kafka_topic_result_error_string(tr[0]);
    snprintf(err, errlen, "CreateTopics: %s", es ? es : rd_kafka_err2str(e));
    goto out;
  }
  char parts[16], rfs[16];
  snprintf(parts, sizeof(parts), "%zu", n);
  snprintf(rfs, sizeof(rfs), "%d", rf);
  skpi_log(SKPI_INFO, "probe topic created", "cluster", p->cluster, "topic", p->topic,
           "partitions", parts, "replication_factor", rfs);
  rc = SKPI_OK;
out:
  if(ev)
    rd_kafka_event_destroy(ev);
  if(q)
    rd_kafka_queue_destroy(q);
  if(opts)
    rd_kafka_AdminOptions_destroy(opts);
  if(nt)
    rd_kafka_NewTopic_destroy(nt);
  return rc;
}

/* Finds the probe topic in md and copies its usable partition ids (sorted,
 * capped).  Returns the count, 0 when it is absent or has none. */
static int topic_partitions(const skpi_probe *p, const rd_kafka_metadata_t *md, int32_t *out) {
  for(int t = 0; t < md->topic_cnt; t++) {
    const rd_kafka_metadata_topic_t *mt = &md->topics[t];
    if(!mt->topic || strcmp(mt->topic, p->topic) != 0 || mt->err)
      continue;
    int n = 0;
    for(int i = 0; i < mt->partition_cnt && n < SKPI_PROBE_MAX_PARTITIONS; i++)
      out[n++] = mt->partitions[i].id;
    if((size_t)n > 1)
      qsort(out, (size_t)n, sizeof(*out), cmp_i32);
    return n;
  }
  return 0;
}

/* Returns 1 when the probe topic is in md and every one of its partitions
 * has a leader. */
static int topic_led(const skpi_probe *p, const rd_kafka_metadata_t *md) {
  for(int t = 0; t < md->topic_cnt; t++) {
    const rd_kafka_metadata_topic_t *mt = &md->topics[t];
    if(!mt->topic || strcmp(mt->topic, p->topic) != 0)
      continue;
    if(mt->err || mt->partition_cnt <= 0)
      return 0;
    for(int i = 0; i < mt->partition_cnt; i++)
      if(mt->partitions[i].leader < 0 || mt->partitions[i].err)
        return 0;
    return 1;
  }
  return 0;
}

/* Waits (bounded by the timeout) for a just-created topic to appear in
 * metadata with a leader for each partition: before that, reading its
 * offsets fails and the first cycle would count a failure of a healthy
 * cluster. */
static int wait_topic(skpi_probe *p, int32_t *parts) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->prod, p->topic, NULL);
  int n = 0;
  if(!rkt)
    return 0;
  double end = skpi_mono() + p->cfg.timeout_s;
  while(n == 0 && !skpi_stop_get(&p->stop) && skpi_mono() < end) {
    const rd_kafka_metadata_t *md = NULL;
    if(rd_kafka_metadata(p->prod, 0, rkt, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if(topic_led(p, md))
        n = topic_partitions(p, md, parts);
      rd_kafka_metadata_destroy(md);
    }
    if(n == 0)
      skpi_sleep(0.2, &p->stop);
  }
  rd_kafka_topic_destroy(rkt);
  return n;
}

/* Starts consuming the partitions of parts that are new (at their current
 * end, read explicitly so that a message produced right after cannot be
 * skipped by a late offset reset) and stops the ones gone.  The legacy
 * per-partition consumer needs no group, so the probe leaves no trace in
 * the cluster's consumer groups. */
static skpi_err ensure_assigned(skpi_probe *p, const int32_t *parts, int n, char *err,
                                size_t errlen) {
  if(n == p->nparts && memcmp(parts, p->parts, (size_t)n * sizeof(*parts)) == 0)
    return SKPI_OK;
  if(!p->crkt && !(p->crkt = rd_kafka_topic_new(p->cons, p->topic, NULL))) {
    snprintf(err, errlen, "topic handle: %s", rd_kafka_err2str(rd_kafka_last_error()));
    return SKPI_EKAFKA;
  }
  if(!p->cq && !(p->cq = rd_kafka_queue_new(p->cons))) {
    snprintf(err, errlen, "queue: out of memory");
    return SKPI_ENOMEM;
  }
  for(int i = 0; i < p->nparts; i++) {
    if(!bsearch(&p->parts[i], parts, (size_t)n, sizeof(*parts), cmp_i32))
      rd_kafka_consume_stop(p->crkt, p->parts[i]);
  }
  int32_t now[SKPI_PROBE_MAX_PARTITIONS];
  int nnow = 0;
  skpi_err rc = SKPI_OK;
  for(int i = 0; i < n; i++) {
    int64_t lo, hi;
    if(bsearch(&parts[i], p->parts, (size_t)p->nparts, sizeof(*parts), cmp_i32)) {
      now[nnow++] = parts[i];
      continue;
    }
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(p->cons, p->topic, parts[i], &lo, &hi,
                                                             (int)(p->cfg.timeout_s * 1000));
    if(!e && rd_kafka_consume_start_queue(p->crkt, parts[i], hi, p->cq) == -1)
      e = rd_kafka_last_error();
    if(e) {
      /* Retried next cycle; the partitions started so far stay. */
      snprintf(err, errlen, "partition %" PRId32 ": %s", parts[i], rd_kafka_err2str(e));
      rc = SKPI_EKAFKA;
      continue;
    }
    now[nnow++] = parts[i];
  }
  memcpy(p->parts, now, (size_t)nnow * sizeof(*now));
  p->nparts = nnow;
  return rc;
}

/* Handles one consumed message: a round trip when it is ours and pending,
 * a late arrival when it was already counted lost. */
static void on_message(skpi_probe *p, cycle *c, const rd_kafka_message_t *m) {
  char run[RUN_MAX + 1];
  uint64_t seq;
  double ts;
  if(m->err) {
    skpi_log(SKPI_DEBUG, "probe: consumer error", "cluster", p->cluster, "error",
             rd_kafka_message_errstr(m));
    return;
  }
  if(skpi_probe_payload_parse(m->payload, m->len, run, sizeof(run), &seq, &ts) != SKPI_OK ||
     strcmp(run, p->run) != 0)
    return; /* someone else's message on the probe topic */
  entry *e = &p->ring[seq % RING];
  if(e->seq != seq)
    return;
  if(e->state == E_PENDING) {
    e->state = E_DONE;
    e->rtt_s = skpi_mono() - e->mono_sent;
    if(seq >= c->first_seq)
      c->received++;
    pthread_mutex_lock(&p->mu);
    skpi_hist_observe(&p->h_rtt, e->rtt_s);
    p->st.roundtrip_observations = p->h_rtt.count;
    p->st.messages_received++;
    pthread_mutex_unlock(&p->mu);
  } else if(e->state == E_LOST) {
    e->state = E_DONE;
    pthread_mutex_lock(&p->mu);
    p->st.messages_late++;
    pthread_mutex_unlock(&p->mu);
  }
}

/* Messages of this cycle still waiting for their consumption, or consumed
 * but without their delivery report yet: the consumer can see a message
 * before the producer has read the broker's acknowledgement, and the
 * cycle's produce latency must include it. */
static int outstanding(const skpi_probe *p, const cycle *c) {
  int n = 0;
  for(uint64_t s = c->first_seq; s < p->next_seq; s++) {
    const entry *e = &p->ring[s % RING];
    if(e->seq != s || e->delivery_failed)
      continue;
    if(e->state == E_PENDING || e->produce_s < 0)
      n++;
  }
  return n;
}

static void produce_and_consume(skpi_probe *p, cycle *c) {
  char payload[PAYLOAD_MAX + 1];
  int enqueue_failed = 0;
  c->first_seq = p->next_seq;
  p->last_dr_error[0] = '\0';
  for(int i = 0; i < p->nparts; i++) {
    uint64_t seq = p->next_seq++;
    entry *e = &p->ring[seq % RING];
    *e = (entry){.seq = seq, .state = E_PENDING, .partition = p->parts[i],
                 .mono_sent = skpi_mono(), .produce_s = -1, .rtt_s = -1};
    int n = skpi_probe_payload_format(payload, sizeof(payload), p->run, seq, skpi_now());
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__FAIL;
    if(n >= 0)
      err = rd_kafka_producev(p->prod, RD_KAFKA_V_TOPIC(p->topic),
                              RD_KAFKA_V_PARTITION(p->parts[i]),
                              RD_KAFKA_V_VALUE(payload, (size_t)n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_END);
    if(err) {
      e->delivery_failed = 1;
      enqueue_failed++;
      snprintf(p->last_dr_error, sizeof(p->last_dr_error), "%s", rd_kafka_err2str(err));
    }
  }
  c->r.messages_sent = p->nparts;
  double deadline = skpi_mono() + p->cfg.timeout_s;
  while(!skpi_stop_get(&p->stop) && skpi_mono() < deadline) {
    rd_kafka_poll(p->prod, 0);
    if(outstanding(p, c) == 0)
      break;
    rd_kafka_message_t *m = rd_kafka_consume_queue(p->cq, 20);
    if(m) {
      on_message(p, c, m);
      rd_kafka_message_destroy(m);
    }
  }
  rd_kafka_poll(p->prod, 0);

  int lost = 0, failed = 0;
  double worst_prod = -1, worst_rtt = -1;
  for(uint64_t s = c->first_seq; s < p->next_seq; s++) {
    entry *e = &p->ring[s % RING];
    if(e->seq != s)
      continue;
    if(e->delivery_failed)
      failed++;
    else if(e->produce_s < 0 && e->state == E_PENDING)
      failed++; /* not even acknowledged within the SLA */
    if(e->state == E_PENDING) {
      e->state = E_LOST;
      lost++;
    }
    if(e->produce_s > worst_prod)
      worst_prod = e->produce_s;
    if(e->rtt_s > worst_rtt)
      worst_rtt = e->rtt_s;
  }
  c->r.messages_lost = lost;
  c->r.produce_latency_s = worst_prod;
  c->r.roundtrip_latency_s = worst_rtt;
  pthread_mutex_lock(&p->mu);
  p->st.messages_sent += (uint64_t)p->nparts;
  p->st.messages_lost += (uint64_t)lost;
  pthread_mutex_unlock(&p->mu);
  if(failed)
    fail(p, c, R_PRODUCE, "%d of %d messages not delivered: %s", failed, p->nparts,
         p->last_dr_error[0] ? p->last_dr_error : "no acknowledgement within the timeout");
  else if(lost)
    fail(p, c, R_TIMEOUT, "%d of %d messages not consumed back within %.3gs", lost, p->nparts,
         p->cfg.timeout_s);
}

/* Reads the metadata facts into c; returns the metadata (caller destroys)
 * or NULL when the request failed. */
static const rd_kafka_metadata_t *probe_metadata(skpi_probe *p, cycle *c) {
  const rd_kafka_metadata_t *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(p->prod, 1, NULL, &md, (int)(p->cfg.timeout_s * 1000));
  if(e) {
    fail(p, c, R_METADATA, "metadata: %s", rd_kafka_err2str(e));
    return NULL;
  }
  c->r.metadata_ok = 1;
  c->r.brokers_up = md->broker_cnt;
  int off = 0;
  for(int t = 0; t < md->topic_cnt; t++) {
    const rd_kafka_metadata_topic_t *mt = &md->topics[t];
    if(mt->err)
      continue;
    for(int i = 0; i < mt->partition_cnt; i++) {
      if(mt->partitions[i].leader < 0 ||
         mt->partitions[i].err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
        off++;
    }
  }
  c->r.offline_partitions = off;
  if(md->broker_cnt > p->brokers_max)
    p->brokers_max = md->broker_cnt;
  if(md->broker_cnt < p->cfg.min_brokers)
    fail(p, c, R_BROKERS, "%d brokers up, at least %d required", md->broker_cnt,
         p->cfg.min_brokers);
  return md;
}

static void probe_topic(skpi_probe *p, cycle *c, const rd_kafka_metadata_t *md) {
  int32_t parts[SKPI_PROBE_MAX_PARTITIONS];
  char err[256];
  int n = topic_partitions(p, md, parts);
  int created = 0;
  if(n == 0) {
    created = 1;
    if(create_topic(p, md, err, sizeof(err)) != SKPI_OK) {
      skpi_log(SKPI_WARN, "probe: cannot create topic", "cluster", p->cluster, "topic", p->topic,
               "error", err);
      fail(p, c, R_TOPIC, "topic %s missing and not created: %s", p->topic, err);
      return;
    }
    if((n = wait_topic(p, parts)) == 0) {
      fail(p, c, R_TOPIC, "topic %s created but not in metadata yet", p->topic);
      return;
    }
  }
  /* Partitions are not added when brokers join (say so once): the probe
   * still covers every partition it has. */
  if(n < md->broker_cnt && n < SKPI_PROBE_MAX_PARTITIONS && !p->warned_short) {
    p->warned_short = 1;
    skpi_log(SKPI_INFO, "probe topic has fewer partitions than brokers", "cluster", p->cluster,
             "topic", p->topic);
  } else if(n >= md->broker_cnt) {
    p->warned_short = 0;
  }
  skpi_err rc = ensure_assigned(p, parts, n, err, sizeof(err));
  /* A topic this cycle created may still be settling on its new leaders
   * (they learn of their leadership a little after the metadata shows
   * it): retry for up to the probe timeout before calling it a failure. */
  double end = skpi_mono() + p->cfg.timeout_s;
  while(rc != SKPI_OK && created && !p->stop && skpi_mono() < end) {
    skpi_sleep(0.2, &p->stop);
    rc = ensure_assigned(p, parts, n, err, sizeof(err));
  }
  if(rc != SKPI_OK) {
    fail(p, c, R_CONSUMER, "consumer: %s", err);
    return;
  }
  produce_and_consume(p, c);
}

static skpi_err build_set(skpi_probe *p, const cycle *c, skpi_mset **out) {
  skpi_err rc = SKPI_ENOMEM;
  skpi_mset *m = skpi_mset_new();
  skpi_hist hv;
  const char *kv[2] = {"cluster", p->cluster};
  int f;
  if(!m)
    goto out;
  pthread_mutex_lock(&p->mu);
#define FAM(name, type, help)                                                                      \
  if((f = skpi_mset_family(m, name, type, help)) < 0) {                                            \
    rc = SKPI_EINVAL;                                                                              \
    goto unlock;                                                                                   \
  }
#define ADD(call)                                                                                  \
  if((rc = (call)) != SKPI_OK)                                                                     \
    goto unlock;
  FAM("streamkpi_probe_total", SKPI_MT_COUNTER, "Canary probe cycles run.");
  ADD(skpi_mset_add(m, f, (double)p->st.probes, "cluster", p->cluster));
  FAM("streamkpi_probe_failures_total", SKPI_MT_COUNTER,
      "Canary probe cycles failed, by first reason.");
  for(int i = 0; i < NREASONS; i++)
    ADD(skpi_mset_add(m, f, (double)p->failures[i], "cluster", p->cluster, "reason",
                      REASON_NAMES[i]));
  FAM("streamkpi_probe_success", SKPI_MT_GAUGE, "Whether the last canary probe cycle succeeded.");
  ADD(skpi_mset_add(m, f, p->st.last_success ? 1 : 0, "cluster", p->cluster));
  FAM("streamkpi_probe_produce_latency_seconds", SKPI_MT_HISTOGRAM,
      "Time from producing a canary message (acks=all) to its acknowledgement.");
  skpi_hist_view(&p->h_produce, &hv);
  ADD(skpi_mset_add_hist(m, f, &hv, kv, 1));
  FAM("streamkpi_probe_roundtrip_latency_seconds", SKPI_MT_HISTOGRAM,
      "Time from producing a canary message to consuming it back.");
  skpi_hist_view(&p->h_rtt, &hv);
  ADD(skpi_mset_add_hist(m, f, &hv, kv, 1));
  FAM("streamkpi_probe_messages_sent_total", SKPI_MT_COUNTER, "Canary messages produced.");
  ADD(skpi_mset_add(m, f, (double)p->st.messages_sent, "cluster", p->cluster));
  FAM("streamkpi_probe_messages_lost_total", SKPI_MT_COUNTER,
      "Canary messages not consumed back within the round-trip timeout.");
  ADD(skpi_mset_add(m, f, (double)p->st.messages_lost, "cluster", p->cluster));
  FAM("streamkpi_probe_messages_late_total", SKPI_MT_COUNTER,
      "Canary messages consumed back after being counted lost.");
  ADD(skpi_mset_add(m, f, (double)p->st.messages_late, "cluster", p->cluster));
  FAM("streamkpi_probe_brokers_up", SKPI_MT_GAUGE, "Brokers listed in the last probe's metadata.");
  ADD(skpi_mset_add(m, f, c->r.brokers_up, "cluster", p->cluster));
  FAM("streamkpi_probe_offline_partitions", SKPI_MT_GAUGE,
      "Partitions without a leader in the last probe's metadata.");
  ADD(skpi_mset_add(m, f, c->r.offline_partitions, "cluster", p->cluster));
  if(p->last_success_ts > 0) {
    FAM("streamkpi_probe_last_success_timestamp_seconds", SKPI_MT_GAUGE,
        "Unix time of the end of the last successful probe cycle.");
    ADD(skpi_mset_add(m, f, p->last_success_ts, "cluster", p->cluster));
  }
#undef FAM
#undef ADD
  rc = SKPI_OK;
unlock:
  pthread_mutex_unlock(&p->mu);
out:
  if(rc != SKPI_OK) {
    skpi_mset_unref(m);
    m = NULL;
  }
  *out = m;
  return rc;
}

skpi_err skpi_probe_run_once(skpi_probe *p, skpi_probe_result *out) {
  cycle c;
  skpi_mset *set = NULL;
  skpi_err rc;
  memset(&c, 0, sizeof(c));
  c.reason = R_NONE;
  p->error[0] = '\0';
  c.r.cluster = p->cluster;
  c.r.t_start = skpi_now();
  c.r.produce_latency_s = -1;
  c.r.roundtrip_latency_s = -1;
  double m0 = skpi_mono();

  const rd_kafka_metadata_t *md = probe_metadata(p, &c);
  if(md && p->cfg.mode == SKPI_PROBE_PRODUCE_CONSUME)
    probe_topic(p, &c, md);
  if(md)
    rd_kafka_metadata_destroy(md);

  c.r.brokers_expected = p->cfg.brokers_expected > 0 ? p->cfg.brokers_expected : p->brokers_max;
  c.r.ok = c.reason == R_NONE;
  c.r.t_end = skpi_now();
  snprintf(p->reason, sizeof(p->reason), "%s", c.r.ok ? "" : REASON_NAMES[c.reason]);
  c.r.reason = p->reason;
  c.r.error = p->error;

  pthread_mutex_lock(&p->mu);
  p->st.probes++;
  p->st.last_success = c.r.ok;
  if(c.r.ok)
    p->last_success_ts = c.r.t_end;
  else {
    p->st.failures++;
    p->failures[c.reason]++;
  }
  pthread_mutex_unlock(&p->mu);
  if(!c.r.ok)
    skpi_log(SKPI_WARN, "probe failed", "cluster", p->cluster, "reason", p->reason, "error",
             p->error);

  rc = build_set(p, &c, &set);
  if(p->reg && p->slot >= 0)
    skpi_registry_publish(p->reg, p->slot, set, rc == SKPI_OK ? NULL : skpi_strerror(rc),
                          skpi_mono() - m0);
  else
    skpi_mset_unref(set);
  if(p->cfg.observer)
    p->cfg.observer(&c.r, p->cfg.observer_user);
  if(out)
    *out = c.r;
  return rc;
}

void skpi_probe_stats_get(skpi_probe *p, skpi_probe_stats *out) {
  pthread_mutex_lock(&p->mu);
  *out = p->st;
  out->partitions = p->nparts;
  pthread_mutex_unlock(&p->mu);
}

/* ---- thread ----------------------------------------------------------- */

static void *probe_main(void *arg) {
  skpi_probe *p = arg;
  while(!skpi_stop_get(&p->stop)) {
    double t0 = skpi_mono();
    skpi_probe_run_once(p, NULL);
    double left = p->cfg.interval_s - (skpi_mono() - t0);
    if(left > 0)
      skpi_sleep(left, &p->stop);
  }
  return NULL;
}

skpi_probe *skpi_probe_start(const skpi_probe_cfg *cfg, const skpi_cluster_cfg *cluster,
                             skpi_registry *reg) {
  skpi_probe *p = skpi_probe_new(cfg, cluster, reg);
  if(!p)
    return NULL;
  if(pthread_create(&p->thread, NULL, probe_main, p) != 0) {
    skpi_log(SKPI_ERROR, "probe: cannot start thread", "cluster", p->cluster);
    probe_free(p);
    return NULL;
  }
  p->started = 1;
  return p;
}

void skpi_probe_stop(skpi_probe *p) {
  if(!p)
    return;
  if(p->started) {
    skpi_stop_set(&p->stop, 1);
    pthread_join(p->thread, NULL);
  }
  probe_free(p);
}
