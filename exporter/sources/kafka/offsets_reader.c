/* offsets_reader.c: consumes __consumer_offsets into the committed-offsets
 * table.  See include/streamkpi/offsets_reader.h. */
#include "streamkpi/offsets_reader.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>

#include "streamkpi/kafka_client.h"
#include "streamkpi/log.h"

#define OFFSETS_TOPIC "__consumer_offsets"
#define BATCH 512   /* messages taken from the queue at once */
#define POLL_MS 100 /* longest wait for messages, so stop is seen */

struct skpi_offsets_reader {
  const skpi_cluster_cfg *cfg;
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  rd_kafka_queue_t *q;
  int timeout_ms;
  int32_t nparts; /* 0 until the partitions are started */
  int64_t *pos;   /* per partition: the next offset not yet read */
  int paused;
  rd_kafka_topic_partition_list_t *all; /* every partition, for pause/resume */
  skpi_offsets_topic *table;
  skpi_offsets_reader_stats st;
  int logged_bad; /* one log line per run for refused records */
};

/* Sums every broker's request counters ("req") of a statistics document:
 * they count from the handle's creation, so the sum is the running total. */
static void on_stats(rd_kafka_t *rk, const char *json, size_t len, void *user) {
  skpi_offsets_reader *r = user;
  json_t *doc = json_loadb(json, len, 0, NULL);
  json_t *brokers = doc ? json_object_get(doc, "brokers") : NULL;
  const char *name;
  json_t *b;
  uint64_t total = 0;
  if(!json_is_object(brokers)) {
    json_decref(doc);
    return;
  }
  json_object_foreach(brokers, name, b) {
    const char *kind;
    json_t *n;
    json_object_foreach(json_object_get(b, "req"), kind, n) {
      if(json_is_integer(n) && json_integer_value(n) > 0)
        total += (uint64_t)json_integer_value(n);
    }
  }
  /* Brokers that went away take their counts with them: never go back. */
  if(total > r->st.requests)
    r->st.requests = total;
  json_decref(doc);
}

skpi_err skpi_offsets_reader_new(const skpi_cluster_cfg *cfg, skpi_offsets_reader **out) {
  /* read_committed: a transactional commit counts once its transaction
   * commits.  Partition EOF events say when a partition has been read to
   * its end.  The prefetch queue is per partition with this API: kept
   * small (256 KiB, and fetches of 256 KiB per partition), it bounds memory
   * while catching up. */
  static const char *const forced[] = {"isolation.level",
                                       "read_committed",
                                       "enable.partition.eof",
                                       "true",
                                       "statistics.interval.ms",
                                       "1000",
                                       "queued.max.messages.kbytes",
                                       "256",
                                       "fetch.message.max.bytes",
                                       "262144",
                                       NULL};
  if(!cfg || !out)
    return SKPI_EINVAL;
  *out = NULL;
  skpi_offsets_reader *r = calloc(1, sizeof(*r));
  if(!r || !(r->table = skpi_offsets_topic_new())) {
    free(r);
    return SKPI_ENOMEM;
  }
  r->cfg = cfg;
  r->timeout_ms = skpi_kafka_client_timeout_ms(cfg);
  skpi_kafka_client_opts o = {.type = RD_KAFKA_CONSUMER,
                              .role = "offsets_topic",
                              .client_id = "streamkpi",
                              .forced = forced,
                              .user = r,
                              .on_stats = on_stats};
  if(!(r->rk = skpi_kafka_client_new(cfg, &o))) {
    skpi_offsets_topic_free(r->table);
    free(r);
    return SKPI_EINVAL;
  }
  *out = r;
  return SKPI_OK;
}

/* Learns the partitions of the topic and starts each from the beginning.
 * *missing is set when the topic does not exist yet. */
static skpi_err start(skpi_offsets_reader *r, int *missing) {
  const struct rd_kafka_metadata *md = NULL;
  skpi_err rc = SKPI_OK;
  *missing = 0;
  if(!r->rkt && !(r->rkt = rd_kafka_topic_new(r->rk, OFFSETS_TOPIC, NULL)))
    return SKPI_ENOMEM;
  if(!r->q && !(r->q = rd_kafka_queue_new(r->rk)))
    return SKPI_ENOMEM;
  rd_kafka_resp_err_t e = rd_kafka_metadata(r->rk, 0, r->rkt, &md, r->timeout_ms);
  if(e) {
    skpi_log(SKPI_WARN, "offsets topic metadata failed", "cluster", r->cfg->name, "error",
             rd_kafka_err2str(e));
    return SKPI_EKAFKA;
  }
  if(md->topic_cnt < 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
    *missing = md->topic_cnt >= 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    if(!*missing)
      rc = SKPI_EKAFKA;
    goto out;
  }
  int32_t n = md->topics[0].partition_cnt;
  if(!(r->pos = calloc((size_t)n, sizeof(*r->pos))) ||
     !(r->all = rd_kafka_topic_partition_list_new(n))) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  for(int32_t p = 0; p < n; p++) {
    rd_kafka_topic_partition_list_add(r->all, OFFSETS_TOPIC, p);
    if(rd_kafka_consume_start_queue(r->rkt, p, RD_KAFKA_OFFSET_BEGINNING, r->q) == -1) {
      skpi_log(SKPI_ERROR, "cannot start reading the offsets topic", "cluster", r->cfg->name,
               "error", rd_kafka_err2str(rd_kafka_last_error()));
      for(int32_t s = 0; s < p; s++)
        rd_kafka_consume_stop(r->rkt, s);
      rc = SKPI_EKAFKA;
      goto out;
    }
  }
  r->nparts = n;
out:
  if(rc != SKPI_OK || !r->nparts) {
    free(r->pos);
    r->pos = NULL;
    if(r->all)
      rd_kafka_topic_partition_list_destroy(r->all);
    r->all = NULL;
  }
  rd_kafka_metadata_destroy(md);
  return rc;
}

/* The end offsets to reach: the last stable offset of every partition
 * (read_committed handle), one ListOffsets per leader. */
static skpi_err ends(skpi_offsets_reader *r, int64_t *end) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(r->all);
  if(!l)
    return SKPI_ENOMEM;
  for(int i = 0; i < l->cnt; i++)
    l->elems[i].offset = RD_KAFKA_OFFSET_END;
  skpi_err rc = SKPI_OK;
  rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(r->rk, l, r->timeout_ms);
  for(int i = 0; i < l->cnt && !e; i++) {
    const rd_kafka_topic_partition_t *tp = &l->elems[i];
    if(tp->err || tp->offset < 0 || tp->partition < 0 || tp->partition >= r->nparts)
      e = tp->err ? tp->err : RD_KAFKA_RESP_ERR__FAIL;
    else
      end[tp->partition] = tp->offset;
  }
  if(e) {
    skpi_log(SKPI_WARN, "offsets topic end offsets failed", "cluster", r->cfg->name, "error",
             rd_kafka_err2str(e));
    rc = SKPI_EKAFKA;
  }
  rd_kafka_topic_partition_list_destroy(l);
  return rc;
}

static void apply(skpi_offsets_reader *r, const rd_kafka_message_t *m) {
  int32_t p = m->partition;
  if(p < 0 || p >= r->nparts)
    return;
  if(m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    if(m->offset > r->pos[p])
      r->pos[p] = m->offset;
    return;
  }
  if(m->err) {
    skpi_log(SKPI_WARN, "reading the offsets topic", "cluster", r->cfg->name, "error",
             rd_kafka_err2str(m->err));
    return;
  }
  if(m->offset + 1 > r->pos[p])
    r->pos[p] = m->offset + 1;
  skpi_offsets_topic_rec rec;
  const char *why = "record without a key";
  skpi_err rc = m->key
                    ? skpi_offsets_topic_parse(m->key, m->key_len, m->payload, m->len, &rec, &why)
                    : SKPI_EINVAL;
  if(rc != SKPI_OK) {
    r->st.bad++;
    if(!r->logged_bad++) {
      char at[48];
      snprintf(at, sizeof(at), "%d/%lld", (int)p, (long long)m->offset);
      skpi_log(SKPI_WARN, "offsets topic record refused", "cluster", r->cfg->name, "at", at,
               "error", why);
    }
    return;
  }
  if(rec.kind == SKPI_OFFSETS_TOPIC_OTHER) {
    r->st.skipped++;
    return;
  }
  if(skpi_offsets_topic_apply(r->table, &rec) != SKPI_OK) {
    /* Out of memory: the record is lost and the table may lag behind it. */
    r->st.bad++;
    skpi_log(SKPI_ERROR, "offsets topic record dropped", "cluster", r->cfg->name, "error",
             skpi_strerror(SKPI_ENOMEM));
    return;
  }
  r->st.applied++;
}

static int reached(const skpi_offsets_reader *r, const int64_t *end) {
  for(int32_t p = 0; p < r->nparts; p++)
    if(r->pos[p] < end[p])
      return 0;
  return 1;
}

skpi_err skpi_offsets_reader_run(skpi_offsets_reader *r, double budget_s, const skpi_stop *stop) {
  skpi_err rc = SKPI_OK;
  int64_t *end = NULL;
  rd_kafka_message_t *msgs[BATCH];
  double deadline = skpi_mono() + budget_s;
  if(!r)
    return SKPI_EINVAL;
  r->st.caught_up = 0;
  r->logged_bad = 0;
  rd_kafka_poll(r->rk, 0);
  if(!r->nparts) {
    int missing;
    if((rc = start(r, &missing)) != SKPI_OK || missing) {
      r->st.caught_up = rc == SKPI_OK;
      return rc;
    }
  }
  if(!(end = calloc((size_t)r->nparts, sizeof(*end))))
    return SKPI_ENOMEM;
  if((rc = ends(r, end)) != SKPI_OK)
    goto out;
  if(r->paused && !reached(r, end)) {
    rd_kafka_resume_partitions(r->rk, r->all);
    r->paused = 0;
  }
  while(!reached(r, end) && !(stop && skpi_stop_get(stop)) && skpi_mono() < deadline) {
    ssize_t n = rd_kafka_consume_batch_queue(r->q, POLL_MS, msgs, BATCH);
    for(ssize_t i = 0; i < n; i++) {
      apply(r, msgs[i]);
      rd_kafka_message_destroy(msgs[i]);
    }
    rd_kafka_poll(r->rk, 0);
  }
  r->st.caught_up = reached(r, end);
  /* Idle between runs: no fetch until the next one. */
  if(r->st.caught_up && !r->paused) {
    rd_kafka_pause_partitions(r->rk, r->all);
    r->paused = 1;
  }
out:
  free(end);
  rd_kafka_poll(r->rk, 0);
  return rc;
}

const skpi_offsets_topic *skpi_offsets_reader_table(const skpi_offsets_reader *r) {
  return r ? r->table : NULL;
}

void skpi_offsets_reader_stats_get(const skpi_offsets_reader *r, skpi_offsets_reader_stats *st) {
  if(r && st)
    *st = r->st;
}

void skpi_offsets_reader_free(skpi_offsets_reader *r) {
  if(!r)
    return;
  for(int32_t p = 0; p < r->nparts; p++)
    rd_kafka_consume_stop(r->rkt, p);
  if(r->q)
    rd_kafka_queue_destroy(r->q);
  if(r->rkt)
    rd_kafka_topic_destroy(r->rkt);
  if(r->all)
    rd_kafka_topic_partition_list_destroy(r->all);
  skpi_kafka_client_free(r->rk);
  skpi_offsets_topic_free(r->table);
  free(r->pos);
  free(r);
}
