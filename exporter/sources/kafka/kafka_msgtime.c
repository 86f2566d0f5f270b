/* kafka_msgtime.c: timestamps of the messages at committed offsets (see
 * kafka_msgtime.h). */
#include "streamkpi/kafka_msgtime.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/clock.h"
#include "streamkpi/kafka_client.h"
#include "streamkpi/log.h"

#define POLL_MS 100
#define DEFAULT_TIMEOUT_S 10

/* The first high watermark seen on each partition of a topic (-1: none). */
typedef struct ftopic {
  char *name;
  int64_t *first;
  int nparts;
} ftopic;

/* A (topic, partition, offset) read before, or being retried. */
typedef struct rkey {
  char *topic;
  int32_t partition;
  int64_t offset;
  int tries;
  int done; /* a timestamp came back: never read again */
  int live; /* a commit of the current sample still points here */
} rkey;

/* One partition to read this cycle. */
typedef struct want {
  int32_t topic; /* index into the sample's topics */
  int32_t partition;
  int64_t offset; /* the committed offset */
  int64_t start;  /* where the read starts: the offset, or the oldest one left */
  int state;      /* 0 waiting, 1 found, -1 nothing came back */
} want;

struct skpi_msgtime_reader {
  const skpi_cluster_cfg *cfg;
  size_t max_reads;
  rd_kafka_t *rk;
  ftopic *ft; /* sorted by name */
  size_t nft;
  rkey *keys; /* sorted by (topic, partition, offset) */
  size_t nkeys;
  want *w; /* sorted by (topic, partition) */
  size_t nw;
  skpi_msgtime *items;
  size_t nitems;
  skpi_msgtime_stats st;
};

skpi_err skpi_msgtime_reader_new(const skpi_cluster_cfg *cfg, size_t max_reads,
                                 skpi_msgtime_reader **out) {
  *out = NULL;
  if(!cfg)
    return SKPI_EINVAL;
  skpi_msgtime_reader *r = calloc(1, sizeof(*r));
  if(!r)
    return SKPI_ENOMEM;
  r->cfg = cfg;
  r->max_reads = max_reads;
  *out = r;
  return SKPI_OK;
}

static void free_ft(ftopic *ft, size_t n) {
  for(size_t i = 0; i < n; i++) {
    free(ft[i].name);
    free(ft[i].first);
  }
  free(ft);
}

void skpi_msgtime_reader_free(skpi_msgtime_reader *r) {
  if(!r)
    return;
  if(r->rk)
    skpi_kafka_client_free(r->rk);
  free_ft(r->ft, r->nft);
  for(size_t i = 0; i < r->nkeys; i++)
    free(r->keys[i].topic);
  free(r->keys);
  free(r->w);
  free(r->items);
  free(r);
}

void skpi_msgtime_reader_stats(const skpi_msgtime_reader *r, skpi_msgtime_stats *st) {
  *st = r->st;
}

/* ---- bookkeeping ------------------------------------------------------- */

static const ftopic *find_ft(const ftopic *ft, size_t n, const char *name) {
  size_t lo = 0, hi = n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(ft[mid].name, name);
    if(c == 0)
      return &ft[mid];
    if(c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Carries the first watermarks over to the sample's topics: a partition
 * keeps its first value unless its watermark fell below it (the log was
 * truncated or the topic re-created: the watch starts again). */
static skpi_err update_first(skpi_msgtime_reader *r, const skpi_ksample *s) {
  ftopic *nft = calloc(s->ntopics ? s->ntopics : 1, sizeof(*nft));
  size_t n = 0;
  if(!nft)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < s->ntopics; i++) {
    const skpi_ktopic *t = &s->topics[i];
    if(t->internal || !t->name || t->nparts <= 0)
      continue;
    const ftopic *old = find_ft(r->ft, r->nft, t->name);
    ftopic *f = &nft[n];
    f->name = strdup(t->name);
    f->first = malloc((size_t)t->nparts * sizeof(*f->first));
    if(!f->name || !f->first) {
      free(f->name);
      free(f->first);
      free_ft(nft, n);
      return SKPI_ENOMEM;
    }
    f->nparts = t->nparts;
    n++;
    for(int p = 0; p < t->nparts; p++) {
      int32_t id = t->parts[p].id;
      int64_t high = t->parts[p].high;
      int64_t prev = old && id >= 0 && id < old->nparts ? old->first[id] : -1;
      f->first[p] = high < 0 ? prev : (prev < 0 || high < prev) ? high : prev;
    }
  }
  free_ft(r->ft, r->nft);
  r->ft = nft;
  r->nft = n;
  return SKPI_OK;
}

static int key_cmp3(const char *topic, int32_t part, int64_t off, const rkey *k) {
  int c = strcmp(topic, k->topic);
  if(c)
    return c;
  if(part != k->partition)
    return part < k->partition ? -1 : 1;
  return off < k->offset ? -1 : off > k->offset;
}

static int key_cmp(const void *a, const void *b) {
  const rkey *x = a;
  return key_cmp3(x->topic, x->partition, x->offset, b);
}

static rkey *find_key(rkey *keys, size_t n, const char *topic, int32_t part, int64_t off) {
  size_t lo = 0, hi = n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = key_cmp3(topic, part, off, &keys[mid]);
    if(c == 0)
      return &keys[mid];
    if(c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

/* Forgets the reads no commit points at any more. */
static void prune_keys(skpi_msgtime_reader *r, const skpi_ksample *s) {
  for(size_t i = 0; i < r->nkeys; i++)
    r->keys[i].live = 0;
  for(size_t g = 0; g < s->ngroups; g++)
    for(size_t c = 0; c < s->groups[g].ncommits; c++) {
      const skpi_kcommit *k = &s->groups[g].commits[c];
      if(k->topic < 0 || (size_t)k->topic >= s->ntopics)
        continue;
      rkey *key = find_key(r->keys, r->nkeys, s->topics[k->topic].name, k->partition, k->offset);
      if(key)
        key->live = 1;
    }
  size_t w = 0;
  for(size_t i = 0; i < r->nkeys; i++) {
    if(r->keys[i].live)
      r->keys[w++] = r->keys[i];
    else
      free(r->keys[i].topic);
  }
  r->nkeys = w;
}

static int want_cmp(const void *a, const void *b) {
  const want *x = a, *y = b;
  if(x->topic != y->topic)
    return x->topic < y->topic ? -1 : 1;
  if(x->partition != y->partition)
    return x->partition < y->partition ? -1 : 1;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Does the commit need a read?  Sets *start to where the read begins. */
static int needs_read(const skpi_msgtime_reader *r, const skpi_ksample *s, const skpi_kcommit *k,
                      int64_t *start) {
  if(k->topic < 0 || (size_t)k->topic >= s->ntopics || k->partition < 0)
    return 0;
  const skpi_ktopic *t = &s->topics[k->topic];
  if(t->internal)
    return 0;
  const skpi_kpartition *p = skpi_ksample_partition(s, t->name, k->partition);
  const ftopic *f = find_ft(r->ft, r->nft, t->name);
  if(!p || !f || p->high < 0 || k->offset >= p->high)
    return 0;
  int idx = (int)(p - t->parts);
  if(idx >= f->nparts || f->first[idx] < 0 || k->offset >= f->first[idx])
    return 0;
  const rkey *key = find_key(r->keys, r->nkeys, t->name, k->partition, k->offset);
  if(key && (key->done || key->tries >= SKPI_MSGTIME_MAX_TRIES))
    return 0;
  *start = p->low > k->offset ? p->low : k->offset;
  return 1;
}

size_t skpi_msgtime_reader_plan(skpi_msgtime_reader *r, const skpi_ksample *s) {
  r->nw = 0;
  if(update_first(r, s) != SKPI_OK)
    return 0;
  prune_keys(r, s);
  if(r->max_reads == 0)
    return 0;
  size_t ncommits = 0;
  for(size_t g = 0; g < s->ngroups; g++)
    ncommits += s->groups[g].ncommits;
  if(ncommits == 0)
    return 0;
  want *w = realloc(r->w, ncommits * sizeof(*w));
  if(!w)
    return 0;
  r->w = w;
  size_t n = 0;
  for(size_t g = 0; g < s->ngroups; g++)
    for(size_t c = 0; c < s->groups[g].ncommits; c++) {
      const skpi_kcommit *k = &s->groups[g].commits[c];
      int64_t start;
      if(needs_read(r, s, k, &start))
        w[n++] = (want){
            .topic = k->topic, .partition = k->partition, .offset = k->offset, .start = start};
    }
  if(n > 1)
    qsort(w, n, sizeof(*w), want_cmp);
  /* One offset per partition and cycle: a consumer is assigned a partition
   * once.  The others wait for a later cycle. */
  size_t u = 0;
  for(size_t i = 0; i < n && u < r->max_reads; i++) {
    if(u > 0 && w[u - 1].topic == w[i].topic && w[u - 1].partition == w[i].partition)
      continue;
    w[u++] = w[i];
  }
  r->nw = u;
  return u;
}

/* Records the outcome of this cycle's reads in the keys. */
static skpi_err remember(skpi_msgtime_reader *r, const skpi_ksample *s) {
  size_t add = 0;
  for(size_t i = 0; i < r->nw; i++)
    if(!find_key(r->keys, r->nkeys, s->topics[r->w[i].topic].name, r->w[i].partition,
                 r->w[i].offset))
      add++;
  if(add) {
    rkey *k = realloc(r->keys, (r->nkeys + add) * sizeof(*k));
    if(!k)
      return SKPI_ENOMEM;
    r->keys = k;
  }
  size_t nold = r->nkeys;
  for(size_t i = 0; i < r->nw; i++) {
    const want *w = &r->w[i];
    const char *topic = s->topics[w->topic].name;
    rkey *k = find_key(r->keys, nold, topic, w->partition, w->offset);
    if(!k) {
      char *name = strdup(topic);
      if(!name)
        return SKPI_ENOMEM;
      k = &r->keys[r->nkeys++];
      *k = (rkey){.topic = name, .partition = w->partition, .offset = w->offset, .live = 1};
    }
    k->tries++;
    k->done = w->state == 1;
  }
  if(r->nkeys > nold)
    qsort(r->keys, r->nkeys, sizeof(*r->keys), key_cmp);
  return SKPI_OK;
}

/* ---- reading ----------------------------------------------------------- */

/* A consumer of its own: the cluster's properties for security, then what
 * the reads depend on.  librdkafka 2.0.2 wants a group id to assign
 * partitions; the group is never joined and nothing is committed, and it is
 * the one the Kafka source already leaves out of its group listing.  The
 * per-partition fetch size must hold a whole record batch: a broker returns
 * an oversized batch for the first partition of a Fetch answer only, so a
 * tiny size would cost one Fetch per partition.  One message per partition
 * is read, so a partition is not fetched again once anything is queued for
 * it (librdkafka otherwise prefetches up to 100,000 messages a partition,
 * held until the unassign, up to the queue's byte cap). */
static rd_kafka_t *make_handle(const skpi_cluster_cfg *cfg) {
  static const char *const forced[] = {"group.id", SKPI_KAFKA_OWN_GROUP,
                                       "enable.auto.offset.store", "false",
                                       "enable.partition.eof", "true",
                                       "auto.offset.reset", "earliest",
                                       "max.partition.fetch.bytes", "65536",
                                       "queued.max.messages.kbytes", "16384",
                                       "queued.min.messages", "1",
                                       "fetch.wait.max.ms", "100",
                                       NULL};
  skpi_kafka_client_opts o = {.type = RD_KAFKA_CONSUMER,
                              .role = "msgtime",
                              .client_id = "streamkpi-msgtime",
                              .forced = forced};
  return skpi_kafka_client_new(cfg, &o);
}

static want *find_want(skpi_msgtime_reader *r, const skpi_ksample *s, const char *topic,
                       int32_t part) {
  size_t lo = 0, hi = r->nw;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    want *w = &r->w[mid];
    int c = strcmp(topic, s->topics[w->topic].name);
    if(c == 0)
      c = part < w->partition ? -1 : part > w->partition;
    if(c == 0)
      return w;
    if(c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

static void pause_one(rd_kafka_t *rk, const char *topic, int32_t part) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  if(!l)
    return;
  rd_kafka_topic_partition_list_add(l, topic, part);
  rd_kafka_pause_partitions(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
}

/* Takes one message (or end-of-partition) into its want; returns 1 when it
 * settled a want that was waiting. */
static int take(skpi_msgtime_reader *r, const skpi_ksample *s, const rd_kafka_message_t *m) {
  if(!m->rkt)
    return 0; /* a client-level error: the deadline covers it */
  const char *topic = rd_kafka_topic_name(m->rkt);
  want *w = find_want(r, s, topic, m->partition);
  if(!w || w->state != 0)
    return 0;
  if(m->err) {
    /* End of the partition before any message (only markers left), or a
     * partition-level failure: no timestamp this cycle. */
    w->state = -1;
    return 1;
  }
  if(m->offset < w->offset)
    return 0;
  rd_kafka_timestamp_type_t tt;
  int64_t ts = rd_kafka_message_timestamp(m, &tt);
  pause_one(r->rk, topic, m->partition);
  if(ts < 0 || tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) {
    w->state = -1;
    return 1;
  }
  w->state = 1;
  r->items[r->nitems++] = (skpi_msgtime){
      .topic = s->topics[w->topic].name,
      .partition = w->partition,
      .offset = w->offset,
      .timestamp = (double)ts / 1000.0,
      .method = m->offset == w->offset ? SKPI_MSGTIME_EXACT : SKPI_MSGTIME_NEXT,
  };
  return 1;
}

static skpi_err read_all(skpi_msgtime_reader *r, const skpi_ksample *s, const skpi_stop *stop) {
  if(!r->rk && !(r->rk = make_handle(r->cfg)))
    return SKPI_EKAFKA;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)r->nw);
  if(!l)
    return SKPI_ENOMEM;
  for(size_t i = 0; i < r->nw; i++)
    rd_kafka_topic_partition_list_add(l, s->topics[r->w[i].topic].name, r->w[i].partition)->offset =
        r->w[i].start;
  rd_kafka_resp_err_t e = rd_kafka_assign(r->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if(e) {
    skpi_log(SKPI_WARN, "cannot assign partitions for message times", "cluster", r->cfg->name,
             "error", rd_kafka_err2str(e));
    return SKPI_EKAFKA;
  }
  double tmo = r->cfg->request_timeout_s > 0 ? r->cfg->request_timeout_s : DEFAULT_TIMEOUT_S;
  double end = skpi_mono() + tmo;
  size_t left = r->nw;
  while(left > 0 && !skpi_stop_get(stop) && skpi_mono() < end) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, POLL_MS);
    if(!m)
      continue;
    left -= (size_t)take(r, s, m);
    rd_kafka_message_destroy(m);
  }
  /* Unassigning drops whatever was prefetched. */
  rd_kafka_assign(r->rk, NULL);
  return SKPI_OK;
}

skpi_err skpi_msgtime_reader_run(skpi_msgtime_reader *r, const skpi_ksample *s,
                                 const skpi_stop *stop, const skpi_msgtime **items, size_t *n) {
  skpi_err rc = SKPI_OK;
  *items = NULL;
  *n = 0;
  r->nitems = 0;
  r->st.last_reads = 0;
  r->st.last_read_s = 0;
  if(skpi_msgtime_reader_plan(r, s) == 0)
    return SKPI_OK;
  r->st.last_reads = r->nw;
  skpi_msgtime *it = realloc(r->items, r->nw * sizeof(*it));
  if(!it)
    return SKPI_ENOMEM;
  r->items = it;
  double t0 = skpi_mono();
  rc = read_all(r, s, stop);
  /* The handle lives for one batch, whatever its outcome: librdkafka 2.0.2
   * keeps a topic object and the state of every partition of each topic a
   * handle ever assigned (about 1.5 kB a partition) until it is destroyed.
   * Reads come in bursts (the first cycles after a start, then the odd
   * stalled group), so a new handle per batch costs a connection and keeps
   * that state from piling up: 24 MB at 10,000 partitions. */
  skpi_kafka_client_free(r->rk);
  r->rk = NULL;
  r->st.last_read_s = skpi_mono() - t0;
  if(rc != SKPI_OK)
    return rc;
  r->st.cycles++;
  r->st.reads += r->nw;
  for(size_t i = 0; i < r->nw; i++) {
    if(r->w[i].state != 1)
      r->st.failed++;
  }
  for(size_t i = 0; i < r->nitems; i++) {
    r->st.found++;
    if(r->items[i].method == SKPI_MSGTIME_NEXT)
      r->st.fallbacks++;
  }
  if((rc = remember(r, s)) != SKPI_OK)
    return rc;
  *items = r->items;
  *n = r->nitems;
  return SKPI_OK;
}

skpi_err skpi_msgtime_reader_render(const skpi_msgtime_reader *r, const char *cluster,
                                    skpi_mset *m) {
  skpi_err rc;
  int f_parts = skpi_mset_family(m, "streamkpi_kafka_message_time_cycle_partitions", SKPI_MT_GAUGE,
                                 "Partitions whose committed message was read in the last cycle.");
  int f_secs = skpi_mset_family(m, "streamkpi_kafka_message_time_cycle_seconds", SKPI_MT_GAUGE,
                                "Wall time of the last cycle's committed-message reads.");
  int f_fail = skpi_mset_family(m, "streamkpi_kafka_message_time_failures_total", SKPI_MT_COUNTER,
                                "Committed-message reads that brought no timestamp back.");
  if(f_parts < 0 || f_secs < 0 || f_fail < 0)
    return SKPI_EINVAL;
  if((rc = skpi_mset_add(m, f_parts, (double)r->st.last_reads, "cluster", cluster)) != SKPI_OK ||
     (rc = skpi_mset_add(m, f_secs, r->st.last_read_s, "cluster", cluster)) != SKPI_OK)
    return rc;
  return skpi_mset_add(m, f_fail, (double)r->st.failed, "cluster", cluster);
}
