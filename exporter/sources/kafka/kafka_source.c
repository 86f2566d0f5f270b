/* kafka_source.c: samples one Kafka cluster per cycle on its own thread.
 *
 * One consumer-type librdkafka handle per cluster (read_uncommitted, never
 * subscribed, auto commit off) does all the work: one Metadata request, the
 * watermarks through rd_kafka_offsets_for_times planned per leader and
 * chunked (a small pool runs different leaders concurrently), then the
 * consumer groups through the asynchronous admin API on one queue with a
 * bounded number of calls in flight.  See docs/internals/kafka_source.md.
 */
#include "streamkpi/kafka_source.h"

#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/card.h"
#include "streamkpi/clock.h"
#include "streamkpi/expo.h"
#include "streamkpi/kafka_client.h"
#include "streamkpi/kafka_lag.h"
#include "streamkpi/kafka_metrics.h"
#include "streamkpi/kafka_msgtime.h"
#include "streamkpi/kafka_plan.h"
#include "streamkpi/log.h"
#include "streamkpi/offsets_reader.h"
#include "streamkpi/shard.h"

#define MAX_OBSERVERS 16
#define WM_THREADS 4      /* leaders queried at once */
#define DESCRIBE_BATCH 32 /* groups per DescribeConsumerGroups call */
#define MAX_GROUPS 100000 /* groups handled per cycle; more are ignored */
#define DEFAULT_CHUNK 2000
#define OFFSETS_GROUP_ID SKPI_KAFKA_OWN_GROUP

/* The last description of a group, reused until it is due again. */
typedef struct gdesc {
  char *id;
  char *state;
  char *protocol_type;
  int nmembers, active_members, assigned_parts;
  double at; /* skpi_mono() when described */
} gdesc;

/* A group's state as the last listing gave it (a librdkafka static name). */
typedef struct glisted {
  char *id;
  const char *state;
} glisted;

/* What one cycle needs; shared by the thread and skpi_kafka_source_cycle_once. */
typedef struct kctx {
  const skpi_cluster_cfg *cfg;
  rd_kafka_t *rk;
  const skpi_stop *stop;
  int timeout_ms;
  /* The last successful group listing, used when a listing fails so that
   * groups are not reported gone because a broker did not answer. */
  char **last_groups;
  size_t nlast_groups;
  /* With describe_interval > 0: the groups' last descriptions and the
   * states of the last listing, both sorted by id. */
  gdesc *desc;
  size_t ndesc;
  glisted *listed;
  size_t nlisted;
  /* With group_offsets: offsets_topic, the reader of __consumer_offsets and
   * its request total when the last cycle counted it. */
  skpi_offsets_reader *otr;
  uint64_t otr_reqs;
  /* Partitions in the last metadata the handle fetched (all topics, before
   * the topic filter): what librdkafka keeps of it grows with this. */
  size_t md_partitions;
} kctx;

struct skpi_kafka_source {
  kctx k;
  skpi_registry *reg;
  int slot;
  pthread_t thread;
  skpi_stop stop;
  pthread_mutex_t mu; /* guards the observers */
  struct {
    skpi_ksample_observer fn;
    void *user;
  } obs[MAX_OBSERVERS];
  int nobs;
  uint64_t lag_clamped_total;
  skpi_lag_clamps *clamps;    /* the clamped commits counted so far */
  skpi_msgtime_reader *times; /* NULL when message_time_reads is 0 */
  skpi_kmsgtime_observer times_fn;
  void *times_user;
  skpi_card *card; /* the cluster's family filter and series caps */
};

static int stopping(const kctx *k) {
  return skpi_stop_get(k->stop);
}

/* ---- handle ------------------------------------------------------------ */

/* Creates the cluster's handle, or NULL after logging why.  The group id is
 * only the identity the admin calls go out under: the handle never joins
 * it, so there is nothing to leave or commit on destroy. */
static rd_kafka_t *make_handle(const skpi_cluster_cfg *cfg) {
  static const char *const defaults[] = {"group.id", OFFSETS_GROUP_ID, NULL};
  skpi_kafka_client_opts o = {
      .type = RD_KAFKA_CONSUMER, .role = "kafka", .client_id = "streamkpi", .defaults = defaults};
  return skpi_kafka_client_new(cfg, &o);
}

/* ---- metadata ---------------------------------------------------------- */

/* probe_topic (may be NULL) is the exporter's own canary topic: internal.
 * The replicas and ISRs of all partitions share one block: two small
 * allocations per partition cost more in allocator overhead than the ids
 * themselves at a million partitions. */
static skpi_err copy_topic(skpi_ktopic *t, const rd_kafka_metadata_topic_t *mt,
                           const char *probe_topic) {
  t->name = strdup(mt->topic);
  if(!t->name)
    return SKPI_ENOMEM;
  t->internal =
      skpi_ksample_name_internal(mt->topic) || (probe_topic && strcmp(mt->topic, probe_topic) == 0);
  if(mt->partition_cnt <= 0)
    return SKPI_OK;
  t->parts = calloc((size_t)mt->partition_cnt, sizeof(*t->parts));
  if(!t->parts)
    return SKPI_ENOMEM;
  t->nparts = mt->partition_cnt;
  size_t nids = 0;
  for(int p = 0; p < mt->partition_cnt; p++)
    nids += (size_t)(mt->partitions[p].replica_cnt > 0 ? mt->partitions[p].replica_cnt : 0) +
            (size_t)(mt->partitions[p].isr_cnt > 0 ? mt->partitions[p].isr_cnt : 0);
  if(nids && !(t->ids = malloc(nids * sizeof(*t->ids))))
    return SKPI_ENOMEM;
  int32_t *next = t->ids;
  for(int p = 0; p < mt->partition_cnt; p++) {
    const rd_kafka_metadata_partition_t *mp = &mt->partitions[p];
    skpi_kpartition *d = &t->parts[p];
    d->id = mp->id;
    d->leader = mp->leader >= 0 ? mp->leader : -1;
    d->err = (int)mp->err;
    d->low = -1;
    d->high = -1;
    d->nreplicas = mp->replica_cnt > 0 ? mp->replica_cnt : 0;
    d->nisrs = mp->isr_cnt > 0 ? mp->isr_cnt : 0;
    if(d->nreplicas) {
      d->replicas = memcpy(next, mp->replicas, (size_t)d->nreplicas * sizeof(*next));
      next += d->nreplicas;
    }
    if(d->nisrs) {
      d->isrs = memcpy(next, mp->isrs, (size_t)d->nisrs * sizeof(*next));
      next += d->nisrs;
    }
  }
  return SKPI_OK;
}

static skpi_err collect_metadata(kctx *k, skpi_ksample *s, char *err, size_t errlen) {
  skpi_err rc = SKPI_OK;
  const struct rd_kafka_metadata *md = NULL;
  s->reqs.metadata++;
  rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 1, NULL, &md, k->timeout_ms);
  if(e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    s->errors.metadata++;
    char why[256];
    if(skpi_kafka_client_auth_error(k->rk, 2.0 * k->timeout_ms / 1000 + 60, why, sizeof(why)))
      snprintf(err, errlen, "metadata: %s; login refused: %.160s", rd_kafka_err2str(e), why);
    else
      snprintf(err, errlen, "metadata: %s", rd_kafka_err2str(e));
    return SKPI_EKAFKA;
  }
  if(md->broker_cnt > 0) {
    s->brokers = calloc((size_t)md->broker_cnt, sizeof(*s->brokers));
    if(!s->brokers) {
      rc = SKPI_ENOMEM;
      goto out;
    }
    for(int i = 0; i < md->broker_cnt; i++) {
      s->brokers[i].id = md->brokers[i].id;
      s->brokers[i].port = md->brokers[i].port;
      s->brokers[i].host = strdup(md->brokers[i].host ? md->brokers[i].host : "");
      s->nbrokers++;
      if(!s->brokers[i].host) {
        rc = SKPI_ENOMEM;
        goto out;
      }
    }
  }
  k->md_partitions = skpi_kafka_client_md_partitions(md);
  if(md->topic_cnt > 0) {
    s->topics = calloc((size_t)md->topic_cnt, sizeof(*s->topics));
    if(!s->topics) {
      rc = SKPI_ENOMEM;
      goto out;
    }
    for(int i = 0; i < md->topic_cnt; i++) {
      if(!md->topics[i].topic || !skpi_filter_match(&k->cfg->topics, md->topics[i].topic))
        continue;
      skpi_ktopic *t = &s->topics[s->ntopics++];
      if((rc = copy_topic(t, &md->topics[i], k->cfg->probe_topic)) != SKPI_OK)
        goto out;
    }
  }
  /* The controller stays unknown (-1).  The Metadata reply's controller id
   * is true on ZooKeeper clusters only: KRaft brokers answer with a random
   * live broker (the active controller is not a broker there), and
   * librdkafka 2.0.2 has neither DescribeCluster nor a way to tell the two
   * kinds of cluster apart.  An id that may be random is not reported. */
out:
  rd_kafka_metadata_destroy(md);
  if(rc != SKPI_OK)
    snprintf(err, errlen, "metadata: %s", skpi_strerror(rc));
  return rc;
}

/* ---- watermarks -------------------------------------------------------- */

static skpi_kpartition *find_part(skpi_ktopic *t, int32_t id) {
  if(id >= 0 && id < t->nparts && t->parts[id].id == id)
    return &t->parts[id];
  for(int p = 0; p < t->nparts; p++)
    if(t->parts[p].id == id)
      return &t->parts[p];
  return NULL;
}

/* One leader's run of chunks: a worker queries them one after another. */
typedef struct wm_unit {
  size_t first_chunk, nchunks;
} wm_unit;

typedef struct wm_job {
  kctx *k;
  skpi_ksample *s;
  const skpi_plan *plan;
  const wm_unit *units;
  size_t nunits;
  atomic_size_t next; /* next unit to take */
  atomic_uint reqs;
  atomic_uint errors;
} wm_job;

/* Queries one side (END or BEGINNING) of one chunk; returns the librdkafka
 * error.  Results land in high or low of each partition. */
static rd_kafka_resp_err_t query_chunk(wm_job *j, const skpi_plan_chunk *c, int64_t which) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->count);
  if(!l)
    return RD_KAFKA_RESP_ERR__FAIL;
  for(size_t i = 0; i < c->count; i++) {
    const skpi_plan_item *it = &j->plan->items[c->first + i];
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_add(l, j->s->topics[it->topic].name, it->partition);
    tp->offset = which;
    /* The item travels with its element, whatever order the reply has. */
    tp->opaque = (void *)(uintptr_t)(c->first + i);
  }
  atomic_fetch_add_explicit(&j->reqs, 1, memory_order_relaxed);
  rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(j->k->rk, l, j->k->timeout_ms);
  if(e == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for(int i = 0; i < l->cnt; i++) {
      const rd_kafka_topic_partition_t *tp = &l->elems[i];
      uintptr_t ix = (uintptr_t)tp->opaque;
      if(tp->err || tp->offset < 0 || ix >= j->plan->nitems)
        continue;
      const skpi_plan_item *it = &j->plan->items[ix];
      skpi_kpartition *p = find_part(&j->s->topics[it->topic], it->partition);
      if(!p)
        continue;
      if(which == RD_KAFKA_OFFSET_END)
        p->high = tp->offset;
      else
        p->low = tp->offset;
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
  return e;
}

static void run_unit(wm_job *j, const wm_unit *u) {
  for(size_t c = 0; c < u->nchunks; c++) {
    if(stopping(j->k))
      return;
    const skpi_plan_chunk *ch = &j->plan->chunks[u->first_chunk + c];
    rd_kafka_resp_err_t e = query_chunk(j, ch, RD_KAFKA_OFFSET_END);
    if(e == RD_KAFKA_RESP_ERR_NO_ERROR)
      e = query_chunk(j, ch, RD_KAFKA_OFFSET_BEGINNING);
    if(e == RD_KAFKA_RESP_ERR_NO_ERROR)
      continue;
    atomic_fetch_add_explicit(&j->errors, 1, memory_order_relaxed);
    char leader[16];
    snprintf(leader, sizeof(leader), "%d", (int)ch->leader);
    skpi_log(SKPI_WARN, "list offsets failed", "cluster", j->k->cfg->name, "leader", leader,
             "error", rd_kafka_err2str(e));
    /* A leader that timed out would only time out again: its other chunks
     * stay unknown this cycle instead of costing a timeout each. */
    if(e == RD_KAFKA_RESP_ERR__TIMED_OUT) {
      atomic_fetch_add_explicit(&j->errors, (unsigned)(u->nchunks - c - 1), memory_order_relaxed);
      return;
    }
  }
}

static void *wm_worker(void *arg) {
  wm_job *j = arg;
  for(;;) {
    size_t i = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if(i >= j->nunits)
      break;
    run_unit(j, &j->units[i]);
  }
  return NULL;
}

/* Reads the watermarks of every topic t with pick[t] set (all topics when
 * pick is NULL). */
static skpi_err collect_watermarks(kctx *k, skpi_ksample *s, const unsigned char *pick) {
  skpi_err rc = SKPI_OK;
  skpi_plan plan = {0};
  skpi_plan_item *items = NULL;
  wm_unit *units = NULL;
  size_t n = 0;
  for(size_t t = 0; t < s->ntopics; t++)
    if(!pick || pick[t])
      n += (size_t)s->topics[t].nparts;
  if(n == 0)
    return SKPI_OK;
  items = malloc(n * sizeof(*items));
  if(!items) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  n = 0;
  for(size_t t = 0; t < s->ntopics; t++)
    for(int p = 0; p < s->topics[t].nparts && (!pick || pick[t]); p++) {
      items[n].topic = (int32_t)t;
      items[n].partition = s->topics[t].parts[p].id;
      items[n].leader = s->topics[t].parts[p].leader;
      n++;
    }
  size_t chunk = k->cfg->chunk_size > 0 ? (size_t)k->cfg->chunk_size : DEFAULT_CHUNK;
  if((rc = skpi_plan_build(items, n, chunk, &plan)) != SKPI_OK || plan.nchunks == 0)
    goto out;
  units = calloc(plan.nchunks, sizeof(*units));
  if(!units) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  size_t nunits = 0;
  for(size_t c = 0; c < plan.nchunks; c++) {
    if(c == 0 || plan.chunks[c].leader != plan.chunks[c - 1].leader)
      units[nunits++].first_chunk = c;
    units[nunits - 1].nchunks++;
  }
  wm_job job = {.k = k, .s = s, .plan = &plan, .units = units, .nunits = nunits};
  atomic_init(&job.next, 0);
  atomic_init(&job.reqs, 0);
  atomic_init(&job.errors, 0);
  pthread_t th[WM_THREADS - 1];
  size_t started = 0;
  size_t want = nunits < WM_THREADS ? nunits : WM_THREADS;
  /* This thread is one of the workers; a helper that fails to start only
   * makes the cycle slower. */
  for(size_t i = 0; i + 1 < want; i++) {
    if(pthread_create(&th[started], NULL, wm_worker, &job) != 0)
      break;
    started++;
  }
  wm_worker(&job);
  for(size_t i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  s->reqs.list_offsets += atomic_load(&job.reqs);
  s->errors.list_offsets += atomic_load(&job.errors);
out:
  free(items);
  free(units);
  skpi_plan_free(&plan);
  return rc;
}

/* ---- consumer groups --------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_strv(char **v, size_t n) {
  for(size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Waits for the next event on q, up to wait_s, watching the stop flag. */
static rd_kafka_event_t *wait_event(kctx *k, rd_kafka_queue_t *q, double wait_s) {
  double end = skpi_mono() + wait_s;
  for(;;) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
    if(ev)
      return ev;
    if(stopping(k) || skpi_mono() >= end)
      return NULL;
  }
}

static rd_kafka_AdminOptions_t *admin_opts(kctx *k, rd_kafka_admin_op_t op, void *opaque) {
  char errstr[256];
  rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(k->rk, op);
  if(!o)
    return NULL;
  rd_kafka_AdminOptions_set_request_timeout(o, k->timeout_ms, errstr, sizeof(errstr));
  rd_kafka_AdminOptions_set_opaque(o, opaque);
  return o;
}

static int cmp_listed(const void *a, const void *b) {
  return strcmp(((const glisted *)a)->id, ((const glisted *)b)->id);
}

static int cmp_desc(const void *a, const void *b) {
  return strcmp(((const gdesc *)a)->id, ((const gdesc *)b)->id);
}

static void free_listed(kctx *k) {
  for(size_t i = 0; i < k->nlisted; i++)
    free(k->listed[i].id);
  free(k->listed);
  k->listed = NULL;
  k->nlisted = 0;
}

static void free_gdesc(gdesc *d) {
  free(d->id);
  free(d->state);
  free(d->protocol_type);
}

static void free_descs(kctx *k) {
  for(size_t i = 0; i < k->ndesc; i++)
    free_gdesc(&k->desc[i]);
  free(k->desc);
  k->desc = NULL;
  k->ndesc = 0;
}

/* Keeps each listed group's state, for describe_interval: a group whose
 * state changed since its description is described again at once. */
static skpi_err remember_listing(kctx *k, const rd_kafka_ConsumerGroupListing_t **valid,
                                 size_t nvalid) {
  free_listed(k);
  if(k->cfg->describe_interval_s <= 0 || nvalid == 0)
    return SKPI_OK;
  if(!(k->listed = calloc(nvalid, sizeof(*k->listed))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < nvalid; i++) {
    const char *id = rd_kafka_ConsumerGroupListing_group_id(valid[i]);
    if(!id)
      continue;
    glisted *l = &k->listed[k->nlisted];
    if(!(l->id = strdup(id)))
      return SKPI_ENOMEM;
    l->state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(valid[i]));
    k->nlisted++;
  }
  qsort(k->listed, k->nlisted, sizeof(*k->listed), cmp_listed);
  return SKPI_OK;
}

static const gdesc *find_desc(const kctx *k, const char *id) {
  gdesc key = {.id = (char *)id};
  return k->ndesc ? bsearch(&key, k->desc, k->ndesc, sizeof(*k->desc), cmp_desc) : NULL;
}

/* Whether group id must be described this cycle: always without
 * describe_interval; else when it has no description, when its description
 * is describe_interval old, or when the listing shows another state. */
static int describe_due(const kctx *k, const char *id, double now) {
  if(k->cfg->describe_interval_s <= 0)
    return 1;
  const gdesc *d = find_desc(k, id);
  if(!d || now - d->at >= k->cfg->describe_interval_s)
    return 1;
  glisted key = {.id = (char *)id};
  const glisted *l =
      k->nlisted ? bsearch(&key, k->listed, k->nlisted, sizeof(*k->listed), cmp_listed) : NULL;
  return l && (!d->state || strcmp(l->state, d->state) != 0);
}

/* Lists group ids into *ids (sorted, unique, filtered).  Sets
 * s->groups_ok.  Only allocation failures are errors. */
static skpi_err list_groups(kctx *k, skpi_ksample *s, rd_kafka_queue_t *q, char ***ids,
                            size_t *nids) {
  skpi_err rc = SKPI_OK;
  rd_kafka_event_t *ev = NULL;
  char **v = NULL;
  size_t n = 0, cap = 0;
  const char *why = NULL;
  *ids = NULL;
  *nids = 0;
  s->groups_ok = 0;

  rd_kafka_AdminOptions_t *o = admin_opts(k, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, NULL);
  if(!o)
    return SKPI_ENOMEM;
  rd_kafka_ListConsumerGroups(k->rk, o, q);
  rd_kafka_AdminOptions_destroy(o);
  /* One ListGroups per broker. */
  s->reqs.list_groups += s->nbrokers ? (unsigned)s->nbrokers : 1;

  ev = wait_event(k, q, k->timeout_ms / 1000.0 + 5);
  const rd_kafka_ListConsumerGroups_result_t *res =
      ev ? rd_kafka_event_ListConsumerGroups_result(ev) : NULL;
  if(!ev)
    why = "no answer";
  else if(rd_kafka_event_error(ev))
    why = rd_kafka_event_error_string(ev);
  else if(!res)
    why = "unexpected event";
  size_t nvalid = 0, nerrs = 0;
  const rd_kafka_ConsumerGroupListing_t **valid = NULL;
  if(res) {
    valid = rd_kafka_ListConsumerGroups_result_valid(res, &nvalid);
    const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerrs);
    if(nerrs > 0)
      why = rd_kafka_error_string(errs[0]);
  }
  if(why) {
    s->errors.list_groups += nerrs ? (unsigned)nerrs : 1;
    skpi_log(SKPI_WARN, "listing consumer groups failed", "cluster", k->cfg->name, "error", why);
  } else {
    s->groups_ok = 1;
  }

  /* A failed listing is completed with the last good one. */
  size_t extra = s->groups_ok ? 0 : k->nlast_groups;
  cap = nvalid + extra;
  if(cap > 0) {
    v = calloc(cap, sizeof(*v));
    if(!v) {
      rc = SKPI_ENOMEM;
      goto out;
    }
  }
  if((rc = remember_listing(k, valid, nvalid)) != SKPI_OK)
    goto out;
  for(size_t i = 0; i < nvalid && n < MAX_GROUPS; i++) {
    const char *id = rd_kafka_ConsumerGroupListing_group_id(valid[i]);
    if(!id || !strcmp(id, OFFSETS_GROUP_ID) || !skpi_filter_match(&k->cfg->groups, id) ||
       !skpi_shard_owns(&k->cfg->shard, id))
      continue;
    if(!(v[n++] = strdup(id))) {
      rc = SKPI_ENOMEM;
      goto out;
    }
  }
  for(size_t i = 0; i < extra && n < MAX_GROUPS; i++)
    if(!(v[n++] = strdup(k->last_groups[i]))) {
      rc = SKPI_ENOMEM;
      goto out;
    }
  if(nvalid + extra > MAX_GROUPS && n == MAX_GROUPS)
    skpi_log(SKPI_WARN, "too many consumer groups, the rest is ignored", "cluster", k->cfg->name);
  if(n > 1)
    qsort(v, n, sizeof(*v), cmp_str);
  size_t u = 0;
  for(size_t i = 0; i < n; i++) {
    if(u > 0 && !strcmp(v[u - 1], v[i])) {
      free(v[i]);
      continue;
    }
    v[u++] = v[i];
  }
  n = u;

  if(s->groups_ok) {
    /* Remember this listing for the next failure. */
    char **copy = n ? calloc(n, sizeof(*copy)) : NULL;
    if(n && !copy) {
      rc = SKPI_ENOMEM;
      goto out;
    }
    for(size_t i = 0; i < n; i++)
      if(!(copy[i] = strdup(v[i]))) {
        free_strv(copy, i);
        rc = SKPI_ENOMEM;
        goto out;
      }
    free_strv(k->last_groups, k->nlast_groups);
    k->last_groups = copy;
    k->nlast_groups = n;
  }
out:
  if(ev)
    rd_kafka_event_destroy(ev);
  if(rc != SKPI_OK) {
    free_strv(v, n);
    return rc;
  }
  *ids = v;
  *nids = n;
  return SKPI_OK;
}

/* One admin call in flight: which groups it covers. */
typedef struct gcall {
  int describe; /* else offsets */
  size_t first, count;
  const size_t *idx; /* describe: group indices are idx[first..first+count) */
  int done;
} gcall;

static skpi_err on_describe(skpi_ksample *s, rd_kafka_event_t *ev, gcall *c) {
  const rd_kafka_DescribeConsumerGroups_result_t *res =
      rd_kafka_event_DescribeConsumerGroups_result(ev);
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t **d =
      res && !rd_kafka_event_error(ev) ? rd_kafka_DescribeConsumerGroups_result_groups(res, &n)
                                       : NULL;
  for(size_t i = 0; i < n; i++) {
    const skpi_kgroup *found =
        skpi_ksample_group(s, rd_kafka_ConsumerGroupDescription_group_id(d[i]));
    if(!found || rd_kafka_ConsumerGroupDescription_error(d[i]))
      continue;
    skpi_kgroup *g = &s->groups[found - s->groups];
    free(g->state);
    free(g->protocol_type);
    rd_kafka_consumer_group_state_t st = rd_kafka_ConsumerGroupDescription_state(d[i]);
    g->state = strdup(rd_kafka_consumer_group_state_name(st));
    g->protocol_type =
        strdup(rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d[i]) ? "" : "consumer");
    if(!g->state || !g->protocol_type)
      return SKPI_ENOMEM;
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(d[i]);
    g->nmembers = members > INT_MAX ? INT_MAX : (int)members;
    /* The reply carries each member's assignment: count the members doing
     * work and the partitions they hold. */
    size_t active = 0, assigned = 0;
    for(size_t m = 0; m < members; m++) {
      const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d[i], m);
      const rd_kafka_MemberAssignment_t *ma = md ? rd_kafka_MemberDescription_assignment(md) : NULL;
      const rd_kafka_topic_partition_list_t *tp =
          ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL;
      if(tp && tp->cnt > 0) {
        active++;
        assigned += (size_t)tp->cnt;
      }
    }
    g->active_members = active > INT_MAX ? INT_MAX : (int)active;
    g->assigned_parts = assigned > INT_MAX ? INT_MAX : (int)assigned;
  }
  /* A group the reply did not describe stays at nmembers -1.  err is only
   * ever set, never cleared: the offsets reply may have come first. */
  for(size_t i = 0; i < c->count; i++)
    if(s->groups[c->idx[c->first + i]].nmembers < 0)
      s->groups[c->idx[c->first + i]].err = 1;
  return SKPI_OK;
}

static skpi_err on_offsets(skpi_ksample *s, rd_kafka_event_t *ev, gcall *c) {
  skpi_kgroup *g = &s->groups[c->first];
  const rd_kafka_ListConsumerGroupOffsets_result_t *res =
      rd_kafka_event_ListConsumerGroupOffsets_result(ev);
  size_t n = 0;
  const rd_kafka_group_result_t **gr =
      res && !rd_kafka_event_error(ev) ? rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n)
                                       : NULL;
  if(n != 1 || rd_kafka_group_result_error(gr[0])) {
    g->err = 1;
    return SKPI_OK;
  }
  const rd_kafka_topic_partition_list_t *l = rd_kafka_group_result_partitions(gr[0]);
  if(!l || l->cnt <= 0)
    return SKPI_OK;
  free(g->commits);
  g->ncommits = 0;
  g->commits = malloc((size_t)l->cnt * sizeof(*g->commits));
  if(!g->commits)
    return SKPI_ENOMEM;
  for(int i = 0; i < l->cnt; i++) {
    const rd_kafka_topic_partition_t *tp = &l->elems[i];
    /* No commit (-1) and per-partition errors give no series. */
    if(tp->err || tp->offset < 0 || !tp->topic)
      continue;
    const skpi_ktopic *t = skpi_ksample_topic(s, tp->topic);
    if(!t)
      continue;
    skpi_kcommit *k = &g->commits[g->ncommits++];
    k->topic = (int32_t)(t - s->topics);
    k->partition = tp->partition;
    k->offset = tp->offset;
  }
  return SKPI_OK;
}

/* With describe_interval: groups not described this cycle (todo holds the
 * ndesc that were, ascending) take their last description, and the cache
 * becomes this cycle's descriptions plus the reused ones.  A group whose
 * describe failed has no entry, so the next cycle describes it again. */
static skpi_err reuse_descriptions(kctx *k, skpi_ksample *s, const size_t *todo, size_t ndesc,
                                   double now) {
  if(k->cfg->describe_interval_s <= 0)
    return SKPI_OK;
  gdesc *next = s->ngroups ? calloc(s->ngroups, sizeof(*next)) : NULL;
  size_t nnext = 0, t = 0;
  if(s->ngroups && !next)
    return SKPI_ENOMEM;
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; i < s->ngroups; i++) {
    skpi_kgroup *g = &s->groups[i];
    int described = t < ndesc && todo[t] == i;
    t += described;
    gdesc *d = &next[nnext];
    if(described) {
      if(g->nmembers < 0 || !g->state)
        continue;
      d->at = now;
      d->nmembers = g->nmembers;
      d->active_members = g->active_members;
      d->assigned_parts = g->assigned_parts;
      if(!(d->id = strdup(g->id)) || !(d->state = strdup(g->state)) ||
         !(d->protocol_type = strdup(g->protocol_type ? g->protocol_type : ""))) {
        nnext++;
        rc = SKPI_ENOMEM;
        break;
      }
      nnext++;
      continue;
    }
    const gdesc *old = find_desc(k, g->id);
    if(!old)
      continue;
    free(g->state);
    free(g->protocol_type);
    g->state = strdup(old->state);
    g->protocol_type = strdup(old->protocol_type);
    g->nmembers = old->nmembers;
    g->active_members = old->active_members;
    g->assigned_parts = old->assigned_parts;
    *d = *old;
    d->id = strdup(old->id);
    d->state = strdup(old->state);
    d->protocol_type = strdup(old->protocol_type);
    nnext++;
    if(!g->state || !g->protocol_type || !d->id || !d->state || !d->protocol_type) {
      rc = SKPI_ENOMEM;
      break;
    }
  }
  free_descs(k);
  k->desc = next;
  k->ndesc = nnext;
  if(rc != SKPI_OK)
    free_descs(k);
  return rc;
}

/* Describes every group and fetches its offsets, with at most max_inflight
 * groups in flight (a describe batch weighs its number of groups). */
static skpi_err describe_and_fetch(kctx *k, skpi_ksample *s, rd_kafka_queue_t *q) {
  skpi_err rc = SKPI_OK;
  size_t n = s->ngroups;
  /* Read from __consumer_offsets instead: no OffsetFetch at all. */
  size_t noff = k->otr ? 0 : n;
  size_t limit = k->cfg->max_inflight > 0 ? (size_t)k->cfg->max_inflight : 1;
  size_t batch = limit < DESCRIBE_BATCH ? limit : DESCRIBE_BATCH;
  /* At most n describe calls plus n offset calls. */
  gcall *calls = calloc(2 * n, sizeof(*calls));
  const char **names = calloc(batch, sizeof(*names));
  size_t *todo = calloc(n ? n : 1, sizeof(*todo));
  size_t ncalls = 0, inflight = 0, pending = 0, next_desc = 0, next_off = 0, ndesc = 0;
  double now = skpi_mono();
  if(!calls || !names || !todo) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  for(size_t g = 0; g < n; g++)
    if(describe_due(k, s->groups[g].id, now))
      todo[ndesc++] = g;
  for(;;) {
    while(!stopping(k) && (next_desc < ndesc || next_off < noff)) {
      gcall *c = &calls[ncalls];
      if(next_desc < ndesc) {
        size_t cnt = ndesc - next_desc < batch ? ndesc - next_desc : batch;
        if(inflight + cnt > limit)
          break;
        for(size_t i = 0; i < cnt; i++)
          names[i] = s->groups[todo[next_desc + i]].id;
        rd_kafka_AdminOptions_t *o = admin_opts(k, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, c);
        if(!o) {
          rc = SKPI_ENOMEM;
          goto out;
        }
        *c = (gcall){.describe = 1, .first = next_desc, .count = cnt, .idx = todo};
        rd_kafka_DescribeConsumerGroups(k->rk, names, cnt, o, q);
        rd_kafka_AdminOptions_destroy(o);
        s->reqs.describe_groups += (unsigned)cnt;
        next_desc += cnt;
      } else {
        if(inflight + 1 > limit)
          break;
        rd_kafka_ListConsumerGroupOffsets_t *req =
            rd_kafka_ListConsumerGroupOffsets_new(s->groups[next_off].id, NULL);
        rd_kafka_AdminOptions_t *o =
            req ? admin_opts(k, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, c) : NULL;
        if(!o) {
          if(req)
            rd_kafka_ListConsumerGroupOffsets_destroy(req);
          rc = SKPI_ENOMEM;
          goto out;
        }
        *c = (gcall){.describe = 0, .first = next_off, .count = 1};
        /* librdkafka 2.0.2 takes exactly one group per call. */
        rd_kafka_ListConsumerGroupOffsets(k->rk, &req, 1, o, q);
        rd_kafka_ListConsumerGroupOffsets_destroy(req);
        rd_kafka_AdminOptions_destroy(o);
        s->reqs.offset_fetch++;
        next_off++;
      }
      inflight += c->count;
      pending++;
      ncalls++;
    }
    if(pending == 0)
      break;
    /* Each call ends by its own request timeout; the margin covers the
     * coordinator lookup librdkafka does first. */
    rd_kafka_event_t *ev = wait_event(k, q, 2.0 * k->timeout_ms / 1000.0 + 5);
    if(!ev)
      break;
    gcall *c = rd_kafka_event_opaque(ev);
    if(c >= calls && c < calls + ncalls && !c->done) {
      c->done = 1;
      pending--;
      inflight -= c->count;
      if(rd_kafka_event_error(ev)) {
        unsigned *errs = c->describe ? &s->errors.describe_groups : &s->errors.offset_fetch;
        (*errs)++;
      }
      rc = c->describe ? on_describe(s, ev, c) : on_offsets(s, ev, c);
    }
    rd_kafka_event_destroy(ev);
    if(rc != SKPI_OK)
      goto out;
  }
  /* Calls still out (stop asked, or no answer) leave their groups in error. */
  for(size_t i = 0; i < ncalls; i++)
    if(!calls[i].done)
      for(size_t g = 0; g < calls[i].count; g++)
        s->groups[calls[i].describe ? todo[calls[i].first + g] : calls[i].first + g].err = 1;
  for(size_t g = next_desc; g < ndesc; g++)
    s->groups[todo[g]].err = 1;
  for(size_t g = next_off; g < noff; g++)
    s->groups[g].err = 1;
  rc = reuse_descriptions(k, s, todo, ndesc, now);
out:
  free(calls);
  free(names);
  free(todo);
  return rc;
}

/* With group_offsets: offsets_topic, gives each group its commits from the
 * table the reader keeps, for topics the sample holds.  Until the reader
 * caught up the offsets are unknown: every group is marked in error. */
static skpi_err commits_from_table(kctx *k, skpi_ksample *s) {
  const skpi_offsets_topic *t = skpi_offsets_reader_table(k->otr);
  for(size_t i = 0; i < s->ngroups; i++) {
    skpi_kgroup *g = &s->groups[i];
    size_t n;
    if(!s->offsets_topic.caught_up) {
      g->err = 1;
      continue;
    }
    const skpi_offsets_topic_entry *e = skpi_offsets_topic_group(t, g->id, &n);
    if(n == 0)
      continue;
    if(!(g->commits = malloc(n * sizeof(*g->commits))))
      return SKPI_ENOMEM;
    for(size_t c = 0; c < n; c++) {
      const skpi_ktopic *topic = skpi_ksample_topic(s, e[c].topic);
      if(!topic)
        continue;
      skpi_kcommit *kc = &g->commits[g->ncommits++];
      kc->topic = (int32_t)(topic - s->topics);
      kc->partition = e[c].partition;
      kc->offset = e[c].offset;
    }
  }
  return SKPI_OK;
}

/* Brings the reader's table up to the end of __consumer_offsets, within
 * half a sample interval (at least a second) so that catching up on a
 * large topic spreads over cycles instead of stalling one. */
static void read_offsets_topic(kctx *k, skpi_ksample *s) {
  double budget = (k->cfg->sample_interval_s > 0 ? k->cfg->sample_interval_s : 15) / 2;
  skpi_offsets_reader_stats st;
  skpi_err rc = skpi_offsets_reader_run(k->otr, budget < 1 ? 1 : budget, k->stop);
  skpi_offsets_reader_stats_get(k->otr, &st);
  s->offsets_topic = (skpi_koffsets){.used = 1,
                                     .caught_up = st.caught_up,
                                     .applied = st.applied,
                                     .skipped = st.skipped,
                                     .bad = st.bad};
  s->reqs.offsets_topic += (unsigned)(st.requests - k->otr_reqs);
  k->otr_reqs = st.requests;
  if(rc != SKPI_OK)
    s->errors.offsets_topic++;
}

static skpi_err collect_groups(kctx *k, skpi_ksample *s) {
  skpi_err rc;
  char **ids = NULL;
  size_t nids = 0;
  rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
  if(!q)
    return SKPI_ENOMEM;
  if((rc = list_groups(k, s, q, &ids, &nids)) != SKPI_OK)
    goto out;
  if(nids == 0)
    goto out;
  s->groups = calloc(nids, sizeof(*s->groups));
  if(!s->groups) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  /* The ids move into the sample, already sorted. */
  for(size_t i = 0; i < nids; i++) {
    s->groups[i].id = ids[i];
    s->groups[i].nmembers = -1;
    s->groups[i].active_members = -1;
    s->groups[i].assigned_parts = -1;
    ids[i] = NULL;
  }
  s->ngroups = nids;
  if((rc = describe_and_fetch(k, s, q)) == SKPI_OK && k->otr)
    rc = commits_from_table(k, s);
out:
  free_strv(ids, nids);
  /* Results of calls still out are dropped with the queue. */
  rd_kafka_queue_destroy(q);
  return rc;
}

/* ---- the cycle --------------------------------------------------------- */

static void count_clamps(skpi_ksample *s) {
  for(size_t i = 0; i < s->ngroups; i++) {
    const skpi_kgroup *g = &s->groups[i];
    for(size_t c = 0; c < g->ncommits; c++) {
      const skpi_kcommit *k = &g->commits[c];
      if(k->topic < 0 || (size_t)k->topic >= s->ntopics || s->topics[k->topic].internal)
        continue;
      skpi_kpartition *p = find_part(&s->topics[k->topic], k->partition);
      int64_t lag;
      int clamped = 0;
      if(p && skpi_lag_compute(p->high, k->offset, &lag, &clamped) && clamped)
        s->lag_clamped++;
    }
  }
}

/* Watermarks of a sharded cycle.  Every shard holds the whole metadata,
 * but reads the watermarks of its own topics only (second 0), then those
 * of other shards' topics that its groups commit on (second 1), which the
 * lag of its groups needs.  Unsharded, the first call reads everything. */
static skpi_err collect_shard_watermarks(kctx *k, skpi_ksample *s, int second) {
  const skpi_shard *sh = &k->cfg->shard;
  if(sh->count <= 1)
    return second ? SKPI_OK : collect_watermarks(k, s, NULL);
  if(s->ntopics == 0)
    return SKPI_OK;
  unsigned char *pick = NULL;
  if(second) {
    /* Group commits point at topics by index; sort them first. */
    skpi_ksample_sort(s);
    if(!(pick = skpi_ksample_consumed(s, 0)))
      return SKPI_ENOMEM;
  } else if(!(pick = calloc(s->ntopics, 1))) {
    return SKPI_ENOMEM;
  }
  size_t any = 0;
  for(size_t t = 0; t < s->ntopics; t++) {
    int own = skpi_shard_owns(sh, s->topics[t].name);
    pick[t] = second ? (unsigned char)(pick[t] && !own) : (unsigned char)own;
    any += pick[t];
  }
  skpi_err rc = any ? collect_watermarks(k, s, pick) : SKPI_OK;
  free(pick);
  return rc;
}

/* Runs one cycle.  On success *out holds a sample with one reference. */
static skpi_err run_cycle(kctx *k, skpi_ksample **out, char *err, size_t errlen) {
  skpi_err rc;
  double t0 = skpi_mono();
  *out = NULL;
  err[0] = '\0';
  skpi_ksample *s = calloc(1, sizeof(*s));
  if(!s)
    return SKPI_ENOMEM;
  skpi_refcnt_init(&s->refcnt, 1);
  s->controller = -1;
  s->cluster = strdup(k->cfg->name ? k->cfg->name : "");
  if(!s->cluster) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  if(!k->rk && !(k->rk = make_handle(k->cfg))) {
    rc = SKPI_EKAFKA;
    snprintf(err, errlen, "cannot create the kafka client");
    goto out;
  }
  /* Serves error callbacks queued on the handle since the last cycle. */
  rd_kafka_poll(k->rk, 0);
  if((rc = collect_metadata(k, s, err, errlen)) != SKPI_OK)
    goto out;
  /* Sorted now so commits can find their topic by name. */
  skpi_ksample_sort(s);
  if((rc = collect_shard_watermarks(k, s, 0)) != SKPI_OK)
    goto out;
  if(k->otr && !stopping(k))
    read_offsets_topic(k, s);
  if(!stopping(k) && (rc = collect_groups(k, s)) != SKPI_OK)
    goto out;
  if(!stopping(k) && (rc = collect_shard_watermarks(k, s, 1)) != SKPI_OK)
    goto out;
  if(stopping(k)) {
    rc = SKPI_ETIMEOUT;
    snprintf(err, errlen, "stopped");
    goto out;
  }
  skpi_ksample_sort(s);
  count_clamps(s);
  s->time = skpi_now();
  s->duration_s = skpi_mono() - t0;
out:
  /* On a large cluster the handle goes before the sample is rendered, with
   * the metadata it keeps; the next cycle makes a new one. */
  if(skpi_kafka_client_drop_large(&k->rk, k->md_partitions))
    k->md_partitions = 0;
  if(rc != SKPI_OK) {
    if(!err[0])
      snprintf(err, errlen, "%s", skpi_strerror(rc));
    skpi_ksample_free(s);
    return rc;
  }
  *out = s;
  return SKPI_OK;
}

skpi_err skpi_kafka_source_cycle_once(const skpi_cluster_cfg *cfg, skpi_ksample **out) {
  char err[256];
  if(!cfg || !out)
    return SKPI_EINVAL;
  *out = NULL;
  kctx k = {.cfg = cfg, .timeout_ms = skpi_kafka_client_timeout_ms(cfg)};
  if(!(k.rk = make_handle(cfg)))
    return SKPI_EINVAL;
  skpi_err rc = SKPI_OK;
  if(cfg->group_offsets == SKPI_CONFIG_GROUP_OFFSETS_TOPIC)
    rc = skpi_offsets_reader_new(cfg, &k.otr);
  if(rc == SKPI_OK)
    rc = run_cycle(&k, out, err, sizeof(err));
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "kafka cycle failed", "cluster", cfg->name, "error", err);
  free_strv(k.last_groups, k.nlast_groups);
  free_descs(&k);
  free_listed(&k);
  skpi_offsets_reader_free(k.otr);
  skpi_kafka_client_free(k.rk);
  return rc;
}

/* ---- the thread -------------------------------------------------------- */

static void notify(skpi_kafka_source *src, const skpi_ksample *s) {
  int n;
  struct {
    skpi_ksample_observer fn;
    void *user;
  } obs[MAX_OBSERVERS];
  pthread_mutex_lock(&src->mu);
  n = src->nobs;
  memcpy(obs, src->obs, (size_t)n * sizeof(obs[0]));
  pthread_mutex_unlock(&src->mu);
  for(int i = 0; i < n; i++)
    obs[i].fn(s, obs[i].user);
}

/* Reads the timestamps of commits older than the watch and hands them on;
 * a failed read only leaves those commits estimated. */
static void read_times(skpi_kafka_source *src, const skpi_ksample *s) {
  const skpi_msgtime *items = NULL;
  size_t n = 0;
  skpi_err rc = SKPI_OK;
  if(src->times)
    rc = skpi_msgtime_reader_run(src->times, s, &src->stop, &items, &n);
  if(rc != SKPI_OK)
    skpi_log(SKPI_WARN, "reading message times failed", "cluster", src->k.cfg->name, "error",
             skpi_strerror(rc));
  pthread_mutex_lock(&src->mu);
  skpi_kmsgtime_observer fn = src->times_fn;
  void *user = src->times_user;
  pthread_mutex_unlock(&src->mu);
  if(fn)
    fn(s, items, n, user);
}

static void publish(skpi_kafka_source *src, skpi_ksample *s) {
  skpi_mset *m = skpi_mset_new();
  const skpi_cluster_cfg *cfg = src->k.cfg;
  skpi_kmetrics_opts o = {.granularity = cfg->granularity, .card = src->card, .shard = &cfg->shard};
  skpi_err rc = m ? skpi_kmetrics_render_opts(s, src->lag_clamped_total, &o, m) : SKPI_ENOMEM;
  if(rc == SKPI_OK && src->times)
    rc = skpi_msgtime_reader_render(src->times, src->k.cfg->name, m);
  if(rc != SKPI_OK) {
    skpi_mset_unref(m);
    skpi_log(SKPI_ERROR, "rendering kafka metrics failed", "cluster", src->k.cfg->name, "error",
             skpi_strerror(rc));
    if(src->reg)
      skpi_registry_publish(src->reg, src->slot, NULL, "render failed", s->duration_s);
    return;
  }
  if(src->reg)
    skpi_registry_publish(src->reg, src->slot, m, NULL, s->duration_s);
  else
    skpi_mset_unref(m);
}

static void *source_main(void *arg) {
  skpi_kafka_source *src = arg;
  const skpi_cluster_cfg *cfg = src->k.cfg;
  double interval = cfg->sample_interval_s > 0 ? cfg->sample_interval_s : 15;
  char err[256];
  while(!skpi_stop_get(&src->stop)) {
    double t0 = skpi_mono();
    skpi_ksample *s = NULL;
    skpi_err rc = run_cycle(&src->k, &s, err, sizeof(err));
    if(skpi_stop_get(&src->stop)) {
      skpi_ksample_unref(s);
      break;
    }
    if(rc == SKPI_OK) {
      src->lag_clamped_total += skpi_lag_clamps_update(src->clamps, s);
      read_times(src, s);
      notify(src, s);
      publish(src, s);
      skpi_ksample_unref(s);
    } else {
      skpi_log(SKPI_WARN, "kafka cycle failed", "cluster", cfg->name, "error", err);
      if(src->reg)
        skpi_registry_publish(src->reg, src->slot, NULL, err, skpi_mono() - t0);
    }
    double left = interval - (skpi_mono() - t0);
    skpi_sleep(left > 0 ? left : 0, &src->stop);
  }
  return NULL;
}

/* The cluster's cardinality rules (config.h), borrowed from cfg. */
static skpi_card *make_card(const skpi_cluster_cfg *cfg) {
  skpi_card_cap *caps = NULL;
  if(cfg->nseries_caps && !(caps = calloc(cfg->nseries_caps, sizeof(*caps))))
    return NULL;
  for(size_t i = 0; i < cfg->nseries_caps; i++)
    caps[i] = (skpi_card_cap){cfg->series_caps[i].family, cfg->series_caps[i].cap};
  skpi_card *c = skpi_card_new(&cfg->families, cfg->series_cap, caps, cfg->nseries_caps);
  free(caps);
  if(!c)
    skpi_log(SKPI_ERROR, "cannot set up the series caps", "cluster", cfg->name);
  return c;
}

skpi_kafka_source *skpi_kafka_source_start(const skpi_cluster_cfg *cfg, skpi_registry *reg) {
  if(!cfg)
    return NULL;
  skpi_kafka_source *src = calloc(1, sizeof(*src));
  if(!src)
    return NULL;
  src->k.cfg = cfg;
  src->k.stop = &src->stop;
  src->k.timeout_ms = skpi_kafka_client_timeout_ms(cfg);
  src->reg = reg;
  src->slot = -1;
  skpi_stop_set(&src->stop, 0);
  pthread_mutex_init(&src->mu, NULL);
  if(!(src->k.rk = make_handle(cfg)) || !(src->clamps = skpi_lag_clamps_new()) ||
     !(src->card = make_card(cfg)))
    goto fail;
  if(cfg->message_time_reads > 0 &&
     skpi_msgtime_reader_new(cfg, (size_t)cfg->message_time_reads, &src->times) != SKPI_OK)
    goto fail;
  if(cfg->group_offsets == SKPI_CONFIG_GROUP_OFFSETS_TOPIC &&
     skpi_offsets_reader_new(cfg, &src->k.otr) != SKPI_OK)
    goto fail;
  if(reg) {
    src->slot = skpi_registry_add_source(reg, cfg->name, "kafka", cfg->stale_ttl_s, 1);
    if(src->slot < 0) {
      skpi_log(SKPI_ERROR, "cannot add registry slot", "cluster", cfg->name);
      goto fail;
    }
  }
  if(pthread_create(&src->thread, NULL, source_main, src) != 0) {
    skpi_log(SKPI_ERROR, "cannot start kafka source thread", "cluster", cfg->name);
    goto fail;
  }
  return src;
fail:
  skpi_offsets_reader_free(src->k.otr);
  skpi_card_free(src->card);
  skpi_lag_clamps_free(src->clamps);
  skpi_msgtime_reader_free(src->times);
  skpi_kafka_client_free(src->k.rk);
  pthread_mutex_destroy(&src->mu);
  free(src);
  return NULL;
}

void skpi_kafka_source_observe_times(skpi_kafka_source *src, skpi_kmsgtime_observer fn,
                                     void *user) {
  if(!src)
    return;
  pthread_mutex_lock(&src->mu);
  src->times_fn = fn;
  src->times_user = user;
  pthread_mutex_unlock(&src->mu);
}

void skpi_kafka_source_observe(skpi_kafka_source *src, skpi_ksample_observer fn, void *user) {
  if(!src || !fn)
    return;
  pthread_mutex_lock(&src->mu);
  if(src->nobs < MAX_OBSERVERS) {
    src->obs[src->nobs].fn = fn;
    src->obs[src->nobs].user = user;
    src->nobs++;
  } else {
    skpi_log(SKPI_ERROR, "too many kafka sample observers", "cluster", src->k.cfg->name);
  }
  pthread_mutex_unlock(&src->mu);
}

void skpi_kafka_source_stop(skpi_kafka_source *src) {
  if(!src)
    return;
  skpi_stop_set(&src->stop, 1);
  pthread_join(src->thread, NULL);
  free_strv(src->k.last_groups, src->k.nlast_groups);
  free_descs(&src->k);
  free_listed(&src->k);
  skpi_offsets_reader_free(src->k.otr);
  skpi_card_free(src->card);
  skpi_lag_clamps_free(src->clamps);
  skpi_msgtime_reader_free(src->times);
  skpi_kafka_client_free(src->k.rk);
  pthread_mutex_destroy(&src->mu);
  free(src);
}
