/* kbench.c: the benchmark's librdkafka helper.
 *
 *   kbench setup   -b BROKERS -t TOPICS -p PARTS -g GROUPS -m MSGS
 *       creates bench-tNNNNN topics (batched CreateTopics), produces MSGS
 *       messages to every partition and commits offsets for bench-gNNNN
 *       groups (AlterConsumerGroupOffsets, many in flight).
 *   kbench traffic -b BROKERS -t TOPICS -r MSGS_PER_S -d SECONDS
 *       light produce traffic on the first TOPICS topics, then exits.
 *   kbench floor   -b BROKERS [-n RUNS] [-c CHUNK] [-i INFLIGHT]
 *       times the raw requests one collection needs (metadata, ListOffsets
 *       per leader in chunks for both ends, group listing, description and
 *       offset fetches) and prints one JSON object of medians.
 *   kbench offsets -b BROKERS -s SAMPLEFILE
 *       for lines "topic partition group" prints
 *       "topic partition group high committed lag" from the raw protocol.
 *
 * Group g commits on topics (4g+k) mod TOPICS, k=0..3, all partitions, at
 * offset MSGS*(g%8+1)/9, so every group has a known, non-zero lag.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOPIC_FMT "bench-t%05d"
#define GROUP_FMT "bench-g%04d"
#define GROUP_TOPICS 4
#define MAX_RUNS 50

typedef struct opts {
  const char *brokers;
  const char *sample;
  long topics, parts, groups, msgs, rate, seconds, runs, chunk, inflight;
} opts;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if(errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static rd_kafka_t *mk(rd_kafka_type_t type, const opts *o, const char *extra_k,
                      const char *extra_v) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if(rd_kafka_conf_set(conf, "bootstrap.servers", o->brokers, err, sizeof(err)) !=
         RD_KAFKA_CONF_OK ||
     rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
     rd_kafka_conf_set(conf, "client.id", "kbench", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
     (extra_k && rd_kafka_conf_set(conf, extra_k, extra_v, err, sizeof(err)) != RD_KAFKA_CONF_OK)) {
    fprintf(stderr, "kbench: conf: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  if(type == RD_KAFKA_CONSUMER)
    rd_kafka_conf_set(conf, "isolation.level", "read_uncommitted", err, sizeof(err));
  if(type == RD_KAFKA_PRODUCER) {
    rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof(err));
    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof(err));
  }
  rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
  if(!rk)
    fprintf(stderr, "kbench: rd_kafka_new: %s\n", err);
  return rk;
}

/* Waits for one admin result event of the given type on q; NULL on timeout. */
static rd_kafka_event_t *wait_event(rd_kafka_queue_t *q, int timeout_ms) {
  double deadline = now_s() + timeout_ms / 1000.0;
  while(now_s() < deadline) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 1000);
    if(ev)
      return ev;
  }
  return NULL;
}

static int create_topics(rd_kafka_t *rk, const opts *o) {
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  int rc = 0, batch = 200, created = 0, existed = 0;
  for(long first = 0; first < o->topics && rc == 0; first += batch) {
    long n = o->topics - first < batch ? o->topics - first : batch;
    rd_kafka_NewTopic_t *nt[200];
    char err[256], name[64];
    for(long i = 0; i < n; i++) {
      snprintf(name, sizeof(name), TOPIC_FMT, (int)(first + i));
      nt[i] = rd_kafka_NewTopic_new(name, (int)o->parts, 1, err, sizeof(err));
    }
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(ao, 60000, err, sizeof(err));
    rd_kafka_AdminOptions_set_request_timeout(ao, 90000, err, sizeof(err));
    rd_kafka_CreateTopics(rk, nt, (size_t)n, ao, q);
    rd_kafka_event_t *ev = wait_event(q, 120000);
    if(!ev || rd_kafka_event_error(ev)) {
      fprintf(stderr, "kbench: CreateTopics: %s\n",
              ev ? rd_kafka_event_error_string(ev) : "timeout");
      rc = -1;
    } else {
      size_t cnt = 0;
      const rd_kafka_topic_result_t **tr =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
      for(size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
        if(e == RD_KAFKA_RESP_ERR_NO_ERROR)
          created++;
        else if(e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
          existed++;
        else {
          fprintf(stderr, "kbench: create %s: %s\n", rd_kafka_topic_result_name(tr[i]),
                  rd_kafka_err2str(e));
          rc = -1;
        }
      }
    }
    if(ev)
      rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
  }
  rd_kafka_queue_destroy(q);
  fprintf(stderr, "kbench: topics created %d, existed %d\n", created, existed);
  return rc;
}

/* Waits until metadata shows every bench topic with a leader everywhere.
 * Up to 10 minutes: on a shared machine the controller creates 2,000
 * topics in several minutes. */
static int wait_leaders(rd_kafka_t *rk, const opts *o) {
  for(int attempt = 0; attempt < 600; attempt++) {
    const struct rd_kafka_metadata *md = NULL;
    if(rd_kafka_metadata(rk, 1, NULL, &md, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      long ready = 0;
      for(int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        if(strncmp(t->topic, "bench-t", 7) != 0 || t->err || t->partition_cnt != o->parts)
          continue;
        int ok = 1;
        for(int p = 0; p < t->partition_cnt; p++)
          if(t->partitions[p].leader < 0 || t->partitions[p].err)
            ok = 0;
        ready += ok;
      }
      rd_kafka_metadata_destroy(md);
      if(ready >= o->topics)
        return 0;
      fprintf(stderr, "kbench: %ld/%ld topics have leaders\n", ready, o->topics);
    }
    sleep(1);
  }
  return -1;
}

static int produce_all(rd_kafka_t *rk, const opts *o, long topics, long per_part) {
  char name[64];
  long sent = 0;
  for(long t = 0; t < topics; t++) {
    snprintf(name, sizeof(name), TOPIC_FMT, (int)t);
    for(long p = 0; p < o->parts; p++) {
      for(long m = 0; m < per_part; m++) {
        for(int tries = 0; tries < 1000; tries++) {
          rd_kafka_resp_err_t e =
              rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(name), RD_KAFKA_V_PARTITION((int32_t)p),
                                RD_KAFKA_V_VALUE("bench", 5),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
          if(e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
          if(e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "kbench: produce %s: %s\n", name, rd_kafka_err2str(e));
            return -1;
          }
          rd_kafka_poll(rk, 100);
        }
        sent++;
      }
      rd_kafka_poll(rk, 0);
    }
  }
  if(rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "kbench: flush timed out\n");
    return -1;
  }
  fprintf(stderr, "kbench: produced %ld messages\n", sent);
  return 0;
}

/* Commits the groups listed in todo[0..n); failed ones are written back to
 * todo and counted in the return value. */
static long commit_groups(rd_kafka_t *rk, const opts *o, long *todo, long n) {
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  long next = 0, done = 0, inflight = 0, failed = 0;
  char err[256], name[64];
  double deadline = now_s() + 300;
  while(done < n && now_s() < deadline) {
    while(next < n && inflight < 20) {
      long g = todo[next++];
      long off = o->msgs * (g % 8 + 1) / 9;
      rd_kafka_topic_partition_list_t *l =
          rd_kafka_topic_partition_list_new((int)(GROUP_TOPICS * o->parts));
      for(int k = 0; k < GROUP_TOPICS; k++) {
        snprintf(name, sizeof(name), TOPIC_FMT, (int)((GROUP_TOPICS * g + k) % o->topics));
        for(long p = 0; p < o->parts; p++)
          rd_kafka_topic_partition_list_add(l, name, (int32_t)p)->offset = off;
      }
      snprintf(name, sizeof(name), GROUP_FMT, (int)g);
      rd_kafka_AlterConsumerGroupOffsets_t *a = rd_kafka_AlterConsumerGroupOffsets_new(name, l);
      rd_kafka_AdminOptions_t *ao =
          rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
      rd_kafka_AdminOptions_set_request_timeout(ao, 60000, err, sizeof(err));
      rd_kafka_AlterConsumerGroupOffsets(rk, &a, 1, ao, q);
      rd_kafka_AdminOptions_destroy(ao);
      rd_kafka_AlterConsumerGroupOffsets_destroy(a);
      rd_kafka_topic_partition_list_destroy(l);
      inflight++;
    }
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 1000);
    if(!ev)
      continue;
    inflight--;
    done++;
    if(rd_kafka_event_error(ev)) {
      fprintf(stderr, "kbench: commit: %s\n", rd_kafka_event_error_string(ev));
      failed = -1;
    } else {
      size_t cnt = 0;
      const rd_kafka_group_result_t **gr = rd_kafka_AlterConsumerGroupOffsets_result_groups(
          rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &cnt);
      for(size_t i = 0; i < cnt; i++) {
        const rd_kafka_error_t *e = rd_kafka_group_result_error(gr[i]);
        const rd_kafka_topic_partition_list_t *pl = rd_kafka_group_result_partitions(gr[i]);
        const char *why = e ? rd_kafka_error_string(e) : NULL;
        for(int j = 0; !why && pl && j < pl->cnt; j++)
          if(pl->elems[j].err)
            why = rd_kafka_err2str(pl->elems[j].err);
        if(why && failed >= 0) {
          fprintf(stderr, "kbench: commit %s: %s (will retry)\n", rd_kafka_group_result_name(gr[i]),
                  why);
          todo[failed++] = strtol(rd_kafka_group_result_name(gr[i]) + 7, NULL, 10);
        }
      }
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(q);
  return done == n ? failed : -1;
}

static int cmd_setup(const opts *o) {
  int rc = -1;
  rd_kafka_t *p = mk(RD_KAFKA_PRODUCER, o, NULL, NULL);
  if(!p)
    return -1;
  double t0 = now_s();
  if(create_topics(p, o) != 0 || wait_leaders(p, o) != 0)
    goto out;
  double t1 = now_s();
  if(produce_all(p, o, o->topics, o->msgs) != 0)
    goto out;
  double t2 = now_s();
  /* The first commits can meet NOT_COORDINATOR while __consumer_offsets is
   * being created: retry those groups a bounded number of times. */
  long *todo = calloc((size_t)(o->groups ? o->groups : 1), sizeof(long));
  long n = o->groups;
  for(long g = 0; todo && g < n; g++)
    todo[g] = g;
  for(int attempt = 0; todo && n > 0 && attempt < 10; attempt++) {
    n = commit_groups(p, o, todo, n);
    if(n < 0)
      break;
    if(n > 0)
      sleep(1);
  }
  free(todo);
  if(n != 0) {
    fprintf(stderr, "kbench: commits failed\n");
    goto out;
  }
  fprintf(stderr, "kbench: %ld groups committed\n", o->groups);
  fprintf(stderr, "kbench: setup topics %.1fs, produce %.1fs, commits %.1fs\n", t1 - t0, t2 - t1,
          now_s() - t2);
  rc = 0;
out:
  rd_kafka_destroy(p);
  return rc;
}

static int cmd_traffic(const opts *o) {
  rd_kafka_t *p = mk(RD_KAFKA_PRODUCER, o, NULL, NULL);
  char name[64];
  if(!p)
    return -1;
  unsigned seed = 42;
  long total = o->rate * o->seconds;
  double start = now_s();
  for(long i = 0; i < total; i++) {
    double due = start + (double)i / (double)o->rate;
    double wait = due - now_s();
    if(wait > 0)
      usleep((useconds_t)(wait * 1e6));
    snprintf(name, sizeof(name), TOPIC_FMT, (int)(rand_r(&seed) % o->topics));
    rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(name), RD_KAFKA_V_PARTITION((int32_t)(rand_r(&seed) % o->parts)),
        RD_KAFKA_V_VALUE("traffic", 7), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_poll(p, 0);
  }
  rd_kafka_flush(p, 10000);
  rd_kafka_destroy(p);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, long n) {
  qsort(v, (size_t)n, sizeof(double), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One ListOffsets pass for one end (-1 or -2): partitions grouped by leader,
 * chunk partitions per call, calls in sequence.  Returns seconds, adds the
 * number of calls made to *calls, or -1 on error. */
static double list_offsets(rd_kafka_t *c, const struct rd_kafka_metadata *md, long chunk,
                           int64_t end, long *calls) {
  double t0 = now_s();
  for(int b = 0; b < md->broker_cnt; b++) {
    int32_t leader = md->brokers[b].id;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)chunk);
    for(int i = 0; i <= md->topic_cnt; i++) {
      if(i < md->topic_cnt) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        for(int p = 0; p < t->partition_cnt; p++)
          if(t->partitions[p].leader == leader)
            rd_kafka_topic_partition_list_add(l, t->topic, t->partitions[p].id)->offset = end;
      }
      if(l->cnt >= chunk || (i == md->topic_cnt && l->cnt > 0)) {
        rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(c, l, 30000);
        (*calls)++;
        rd_kafka_topic_partition_list_destroy(l);
        l = rd_kafka_topic_partition_list_new((int)chunk);
        if(e) {
          fprintf(stderr, "kbench: offsets_for_times: %s\n", rd_kafka_err2str(e));
          rd_kafka_topic_partition_list_destroy(l);
          return -1;
        }
      }
    }
    rd_kafka_topic_partition_list_destroy(l);
  }
  return now_s() - t0;
}

/* Lists groups, describes them in one call, then fetches every group's
 * offsets with at most inflight calls outstanding.  Times into t[0..2]. */
static int groups_pass(rd_kafka_t *c, long inflight, double t[3], long *ngroups) {
  rd_kafka_queue_t *q = rd_kafka_queue_new(c);
  char err[256];
  int rc = -1;
  double t0 = now_s();
  rd_kafka_ListConsumerGroups(c, NULL, q);
  rd_kafka_event_t *ev = wait_event(q, 60000);
  if(!ev || rd_kafka_event_error(ev)) {
    fprintf(stderr, "kbench: ListConsumerGroups: %s\n",
            ev ? rd_kafka_event_error_string(ev) : "timeout");
    if(ev)
      rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    return -1;
  }
  size_t n = 0;
  const rd_kafka_ConsumerGroupListing_t **gl =
      rd_kafka_ListConsumerGroups_result_valid(rd_kafka_event_ListConsumerGroups_result(ev), &n);
  const char **ids = calloc(n ? n : 1, sizeof(*ids));
  for(size_t i = 0; i < n; i++)
    ids[i] = rd_kafka_ConsumerGroupListing_group_id(gl[i]);
  t[0] = now_s() - t0;
  *ngroups = (long)n;
  t0 = now_s();
  if(n > 0) {
    rd_kafka_DescribeConsumerGroups(c, ids, n, NULL, q);
    rd_kafka_event_t *dev = wait_event(q, 120000);
    if(!dev)
      goto out;
    rd_kafka_event_destroy(dev);
  }
  t[1] = now_s() - t0;
  t0 = now_s();
  size_t next = 0, done = 0;
  long out_n = 0;
  double deadline = now_s() + 300;
  while(done < n && now_s() < deadline) {
    while(next < n && out_n < inflight) {
      rd_kafka_ListConsumerGroupOffsets_t *lo =
          rd_kafka_ListConsumerGroupOffsets_new(ids[next++], NULL);
      rd_kafka_AdminOptions_t *ao =
          rd_kafka_AdminOptions_new(c, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
      rd_kafka_AdminOptions_set_request_timeout(ao, 30000, err, sizeof(err));
      rd_kafka_ListConsumerGroupOffsets(c, &lo, 1, ao, q);
      rd_kafka_AdminOptions_destroy(ao);
      rd_kafka_ListConsumerGroupOffsets_destroy(lo);
      out_n++;
    }
    rd_kafka_event_t *oev = rd_kafka_queue_poll(q, 1000);
    if(oev) {
      out_n--;
      done++;
      rd_kafka_event_destroy(oev);
    }
  }
  t[2] = now_s() - t0;
  rc = done == n ? 0 : -1;
out:
  free(ids);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  return rc;
}

static int cmd_floor(const opts *o) {
  rd_kafka_t *c = mk(RD_KAFKA_CONSUMER, o, NULL, NULL);
  double meta[MAX_RUNS], lo[MAX_RUNS], gl[MAX_RUNS], gd[MAX_RUNS], go[MAX_RUNS], tot[MAX_RUNS];
  long calls = 0, parts = 0, topics = 0, brokers = 0, ngroups = 0, groups_ok = 1;
  if(!c)
    return -1;
  /* A first metadata request warms up the broker connections, which a
   * long-running exporter has open too. */
  const struct rd_kafka_metadata *md = NULL;
  if(rd_kafka_metadata(c, 1, NULL, &md, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR)
    rd_kafka_metadata_destroy(md);
  for(long r = 0; r < o->runs; r++) {
    double t0 = now_s();
    rd_kafka_resp_err_t e = rd_kafka_metadata(c, 1, NULL, &md, 60000);
    if(e) {
      fprintf(stderr, "kbench: metadata: %s\n", rd_kafka_err2str(e));
      rd_kafka_destroy(c);
      return -1;
    }
    meta[r] = now_s() - t0;
    topics = md->topic_cnt;
    brokers = md->broker_cnt;
    parts = 0;
    for(int i = 0; i < md->topic_cnt; i++)
      parts += md->topics[i].partition_cnt;
    calls = 0;
    double a = list_offsets(c, md, o->chunk, RD_KAFKA_OFFSET_END, &calls);
    double b = list_offsets(c, md, o->chunk, RD_KAFKA_OFFSET_BEGINNING, &calls);
    rd_kafka_metadata_destroy(md);
    if(a < 0 || b < 0) {
      rd_kafka_destroy(c);
      return -1;
    }
    lo[r] = a + b;
    double gt[3] = {0, 0, 0};
    if(groups_ok && groups_pass(c, o->inflight, gt, &ngroups) != 0)
      groups_ok = 0; /* the mock cluster has no ListGroups */
    gl[r] = gt[0];
    gd[r] = gt[1];
    go[r] = gt[2];
    tot[r] = meta[r] + lo[r] + gl[r] + gd[r] + go[r];
  }
  printf("{\"runs\": %ld, \"brokers\": %ld, \"topics\": %ld, \"partitions\": %ld, "
         "\"chunk\": %ld, \"list_offsets_calls\": %ld, \"groups\": %ld, \"groups_ok\": %ld, "
         "\"metadata_s\": %.6f, \"list_offsets_s\": %.6f, \"list_groups_s\": %.6f, "
         "\"describe_groups_s\": %.6f, \"offset_fetch_s\": %.6f, \"total_s\": %.6f}\n",
         o->runs, brokers, topics, parts, o->chunk, calls, groups_ok ? ngroups : 0, groups_ok,
         median(meta, o->runs), median(lo, o->runs), median(gl, o->runs), median(gd, o->runs),
         median(go, o->runs), median(tot, o->runs));
  rd_kafka_destroy(c);
  return 0;
}

static int cmd_offsets(const opts *o) {
  FILE *f = fopen(o->sample, "r");
  char line[512], topic[256], group[256];
  int part;
  if(!f) {
    fprintf(stderr, "kbench: %s: %s\n", o->sample, strerror(errno));
    return -1;
  }
  rd_kafka_t *c = mk(RD_KAFKA_CONSUMER, o, NULL, NULL);
  rd_kafka_queue_t *q = c ? rd_kafka_queue_new(c) : NULL;
  int rc = c ? 0 : -1;
  for(int lines = 0; rc == 0 && lines < 10000 && fgets(line, sizeof(line), f); lines++) {
    if(sscanf(line, "%255s %d %255s", topic, &part, group) != 3)
      continue;
    int64_t lo = -1, hi = -1, committed = -1;
    rd_kafka_query_watermark_offsets(c, topic, part, &lo, &hi, 10000);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, part);
    rd_kafka_ListConsumerGroupOffsets_t *lg = rd_kafka_ListConsumerGroupOffsets_new(group, l);
    rd_kafka_ListConsumerGroupOffsets(c, &lg, 1, NULL, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(lg);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_event_t *ev = wait_event(q, 30000);
    if(ev && !rd_kafka_event_error(ev)) {
      size_t cnt = 0;
      const rd_kafka_group_result_t **gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
          rd_kafka_event_ListConsumerGroupOffsets_result(ev), &cnt);
      const rd_kafka_topic_partition_list_t *pl =
          cnt ? rd_kafka_group_result_partitions(gr[0]) : NULL;
      if(pl && pl->cnt > 0 && !pl->elems[0].err)
        committed = pl->elems[0].offset;
    }
    if(ev)
      rd_kafka_event_destroy(ev);
    printf("%s %d %s %" PRId64 " %" PRId64 " %" PRId64 "\n", topic, part, group, hi, committed,
           committed >= 0 && hi >= committed ? hi - committed : -1);
  }
  fclose(f);
  if(q)
    rd_kafka_queue_destroy(q);
  if(c)
    rd_kafka_destroy(c);
  return rc;
}

static void usage(void) {
  fprintf(stderr, "usage: kbench setup|traffic|floor|offsets -b BROKERS [-t TOPICS] [-p PARTS] "
                  "[-g GROUPS] [-m MSGS] [-r RATE] [-d SECONDS] [-n RUNS] [-c CHUNK] "
                  "[-i INFLIGHT] [-s SAMPLEFILE]\n");
}

int main(int argc, char **argv) {
  opts o = {.topics = 2000,
            .parts = 5,
            .groups = 500,
            .msgs = 18,
            .rate = 50,
            .seconds = 60,
            .runs = 5,
            .chunk = 2000,
            .inflight = 10};
  if(argc < 2) {
    usage();
    return 2;
  }
  const char *cmd = argv[1];
  int ch;
  optind = 2;
  while((ch = getopt(argc, argv, "b:t:p:g:m:r:d:n:c:i:s:")) != -1) {
    int bad = 0;
    switch(ch) {
    case 'b': o.brokers = optarg; break;
    case 's': o.sample = optarg; break;
    case 't': bad = parse_long(optarg, 1, 1000000, &o.topics); break;
    case 'p': bad = parse_long(optarg, 1, 10000, &o.parts); break;
    case 'g': bad = parse_long(optarg, 0, 100000, &o.groups); break;
    case 'm': bad = parse_long(optarg, 1, 100000, &o.msgs); break;
    case 'r': bad = parse_long(optarg, 1, 100000, &o.rate); break;
    case 'd': bad = parse_long(optarg, 1, 86400, &o.seconds); break;
    case 'n': bad = parse_long(optarg, 1, MAX_RUNS, &o.runs); break;
    case 'c': bad = parse_long(optarg, 1, 1000000, &o.chunk); break;
    case 'i': bad = parse_long(optarg, 1, 1000, &o.inflight); break;
    default: bad = -1;
    }
    if(bad) {
      usage();
      return 2;
    }
  }
  if(!o.brokers) {
    usage();
    return 2;
  }
  int rc;
  if(strcmp(cmd, "setup") == 0)
    rc = cmd_setup(&o);
  else if(strcmp(cmd, "traffic") == 0)
    rc = cmd_traffic(&o);
  else if(strcmp(cmd, "floor") == 0)
    rc = cmd_floor(&o);
  else if(strcmp(cmd, "offsets") == 0 && o.sample)
    rc = cmd_offsets(&o);
  else {
    usage();
    return 2;
  }
  return rc == 0 ? 0 : 1;
}
