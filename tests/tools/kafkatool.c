/* kafkatool: a small librdkafka command line for tests, the demo and the
 * bench, so that no JVM starts per command.
 *
 *   kafkatool -b BROKERS [-t TIMEOUT_S] [-X key=value]... COMMAND ARGS
 *     brokers                                  print the broker count
 *     create TOPIC PARTITIONS [RF] [--if-not-exists]
 *     delete TOPIC [--if-exists]
 *     truncate TOPIC PARTITION OFFSET         delete the records before OFFSET
 *     produce TOPIC PARTITION COUNT [--rate N/s]  (PARTITION -1: any)
 *     commit GROUP TOPIC PARTITION OFFSET      commit without joining
 *     consume GROUP TOPIC --max N [--hold SECONDS]
 *     follow GROUP TOPIC [--delay MS]          consume+commit until SIGTERM
 *
 * Exit codes: 0 success, 1 Kafka or timeout failure, 2 usage error,
 * 3 watchdog (a librdkafka call blocked past every deadline).
 * Every wait is bounded by TIMEOUT_S (default 30); commands that run until
 * stopped (consume --hold, follow) end cleanly on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_KAFKA 1
#define EXIT_USAGE 2
#define EXIT_WATCHDOG 3
#define MAX_PROPS 32
#define MAX_PARTS 4096

static volatile sig_atomic_t g_stop;
static unsigned g_stop_grace = 40; /* seconds the shutdown may take */

typedef struct opts {
  const char *brokers;
  long timeout_s;
  const char *props[MAX_PROPS]; /* "key=value" from -X */
  int nprops;
} opts;

/* A stop request also arms the watchdog, so shutdown is bounded even when
 * closing a consumer waits on an unreachable broker. */
static void on_stop(int sig) {
  (void)sig;
  if(!g_stop)
    alarm(g_stop_grace);
  g_stop = 1;
}

/* The watchdog catches a librdkafka call that blocks although we gave it a
 * timeout: better a clear failure than a hung test. */
static void on_alarm(int sig) {
  static const char msg[] = "kafkatool: watchdog expired, giving up\n";
  (void)sig;
  if(write(2, msg, sizeof(msg) - 1) < 0) {
    /* Nothing left to report to. */
  }
  _exit(EXIT_WATCHDOG);
}

static void fail(const char *fmt, ...) {
  va_list ap;
  fputs("kafkatool: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static void usage(void) {
  fputs("usage: kafkatool -b BROKERS [-t TIMEOUT_S] [-X key=value]... COMMAND ...\n"
        "  brokers\n"
        "  create TOPIC PARTITIONS [RF] [--if-not-exists]\n"
        "  delete TOPIC [--if-exists]\n"
        "  truncate TOPIC PARTITION OFFSET\n"
        "  produce TOPIC PARTITION COUNT [--rate N/s]\n"
        "  commit GROUP TOPIC PARTITION OFFSET\n"
        "  consume GROUP TOPIC --max N [--hold SECONDS]\n"
        "  follow GROUP TOPIC [--delay MS]\n",
        stderr);
}

/* Parses a whole decimal integer within [lo, hi]; -1 on anything else. */
static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end = NULL;
  long v;
  if(!s || !*s)
    return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if(errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static double now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
  struct timespec ts;
  if(s <= 0)
    return;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
}

/* Ends the process without destroying the client: librdkafka 2.0.2 can
 * spin forever in rd_kafka_destroy while a request to an unreachable
 * coordinator is pending, and the exit frees everything anyway. */
static void abandon(int rc) {
  fflush(stdout);
  fflush(stderr);
  _exit(rc);
}

static int set_conf(rd_kafka_conf_t *conf, const char *key, const char *value) {
  char errstr[512];
  if(rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fail("config %s=%s: %s", key, value, errstr);
    return -1;
  }
  return 0;
}

/* Builds a configuration with the common settings, the extra properties
 * from -X, and then the command's own kv pairs (which win).  NULL after
 * reporting a bad property. */
static rd_kafka_conf_t *make_conf(const opts *o, const char *const *kv) {
  char tmo[32];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  int i;
  snprintf(tmo, sizeof(tmo), "%ld", o->timeout_s * 1000);
  if(set_conf(conf, "bootstrap.servers", o->brokers) || set_conf(conf, "socket.timeout.ms", tmo))
    goto fail;
  for(i = 0; i < o->nprops; i++) {
    char key[256];
    const char *eq = strchr(o->props[i], '=');
    size_t klen = eq ? (size_t)(eq - o->props[i]) : 0;
    if(!eq || klen == 0 || klen >= sizeof(key)) {
      fail("bad -X %s (want key=value)", o->props[i]);
      goto fail;
    }
    memcpy(key, o->props[i], klen);
    key[klen] = '\0';
    if(set_conf(conf, key, eq + 1))
      goto fail;
  }
  for(i = 0; kv && kv[i]; i += 2)
    if(set_conf(conf, kv[i], kv[i + 1]))
      goto fail;
  return conf;
fail:
  rd_kafka_conf_destroy(conf);
  return NULL;
}

/* Creates a client from conf, which it always consumes. */
static rd_kafka_t *new_handle(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
  char errstr[512];
  rd_kafka_t *rk;
  if(!conf)
    return NULL;
  if(!(rk = rd_kafka_new(type, conf, errstr, sizeof(errstr)))) {
    rd_kafka_conf_destroy(conf);
    fail("cannot create client: %s", errstr);
  }
  return rk;
}

static rd_kafka_t *make_handle(const opts *o, rd_kafka_type_t type, const char *const *kv) {
  return new_handle(type, make_conf(o, kv));
}

static int cmd_brokers(const opts *o) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_t *rk = make_handle(o, RD_KAFKA_PRODUCER, NULL);
  rd_kafka_resp_err_t err;
  if(!rk)
    return EXIT_KAFKA;
  err = rd_kafka_metadata(rk, 0, NULL, &md, (int)(o->timeout_s * 1000));
  if(err) {
    fail("metadata: %s", rd_kafka_err2str(err));
    rd_kafka_destroy(rk);
    return EXIT_KAFKA;
  }
  printf("%d\n", md->broker_cnt);
  rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);
  return 0;
}

/* Runs one admin request already issued on q and checks the per-topic
 * result; tolerated is an error code that counts as success (or 0). */
static int admin_wait(const opts *o, rd_kafka_queue_t *q, rd_kafka_event_type_t want,
                      rd_kafka_resp_err_t tolerated, const char *what) {
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)(o->timeout_s * 1000) + 5000);
  const rd_kafka_topic_result_t **res = NULL;
  size_t n = 0, i;
  int rc = 0;
  if(!ev) {
    fail("%s: no answer within %lds", what, o->timeout_s);
    return EXIT_KAFKA;
  }
  if(rd_kafka_event_error(ev)) {
    fail("%s: %s", what, rd_kafka_event_error_string(ev));
    rd_kafka_event_destroy(ev);
    return EXIT_KAFKA;
  }
  if(rd_kafka_event_type(ev) != want) {
    fail("%s: unexpected event %s", what, rd_kafka_event_name(ev));
    rd_kafka_event_destroy(ev);
    return EXIT_KAFKA;
  }
  if(want == RD_KAFKA_EVENT_CREATETOPICS_RESULT)
    res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  else
    res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
  for(i = 0; i < n; i++) {
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
    if(err && err != tolerated) {
      const char *msg = rd_kafka_topic_result_error_string(res[i]);
      fail("%s %s: %s", what, rd_kafka_topic_result_name(res[i]),
           msg ? msg : rd_kafka_err2str(err));
      rc = EXIT_KAFKA;
    }
  }
  rd_kafka_event_destroy(ev);
  return rc;
}

static rd_kafka_AdminOptions_t *admin_options(const opts *o, rd_kafka_t *rk,
                                              rd_kafka_admin_op_t op) {
  char errstr[256];
  rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, op);
  int ms = (int)(o->timeout_s * 1000);
  if(ao && (rd_kafka_AdminOptions_set_request_timeout(ao, ms, errstr, sizeof(errstr)) ||
            rd_kafka_AdminOptions_set_operation_timeout(ao, ms, errstr, sizeof(errstr)))) {
    fail("admin options: %s", errstr);
    rd_kafka_AdminOptions_destroy(ao);
    ao = NULL;
  }
  return ao;
}

static int cmd_create(const opts *o, int argc, char **argv) {
  long parts, rf = 1;
  int if_not_exists = 0, rc = EXIT_KAFKA, i, npos = 0;
  const char *pos[3] = {NULL, NULL, NULL};
  char errstr[256];
  rd_kafka_t *rk = NULL;
  rd_kafka_queue_t *q = NULL;
  rd_kafka_NewTopic_t *nt = NULL;
  rd_kafka_AdminOptions_t *ao = NULL;
  for(i = 0; i < argc; i++) {
    if(strcmp(argv[i], "--if-not-exists") == 0)
      if_not_exists = 1;
    else if(npos < 3)
      pos[npos++] = argv[i];
    else
      npos = 4;
  }
  if(npos < 2 || npos > 3 || parse_long(pos[1], 1, 100000, &parts) ||
     (npos == 3 && parse_long(pos[2], 1, 32, &rf))) {
    fail("create TOPIC PARTITIONS [RF] [--if-not-exists]: bad arguments");
    return EXIT_USAGE;
  }
  if(!(rk = make_handle(o, RD_KAFKA_PRODUCER, NULL)))
    goto out;
  nt = rd_kafka_NewTopic_new(pos[0], (int)parts, (int)rf, errstr, sizeof(errstr));
  if(!nt) {
    fail("create %s: %s", pos[0], errstr);
    rc = EXIT_USAGE;
    goto out;
  }
  q = rd_kafka_queue_new(rk);
  if(!(ao = admin_options(o, rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)))
    goto out;
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  rc = admin_wait(o, q, RD_KAFKA_EVENT_CREATETOPICS_RESULT,
                  if_not_exists ? RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS : 0, "create");
out:
  if(ao)
    rd_kafka_AdminOptions_destroy(ao);
  if(nt)
    rd_kafka_NewTopic_destroy(nt);
  if(q)
    rd_kafka_queue_destroy(q);
  if(rk)
    rd_kafka_destroy(rk);
  return rc;
}

static int cmd_delete(const opts *o, int argc, char **argv) {
  int if_exists = 0, rc = EXIT_KAFKA, i, npos = 0;
  const char *topic = NULL;
  rd_kafka_t *rk = NULL;
  rd_kafka_queue_t *q = NULL;
  rd_kafka_DeleteTopic_t *dt = NULL;
  rd_kafka_AdminOptions_t *ao = NULL;
  for(i = 0; i < argc; i++) {
    if(strcmp(argv[i], "--if-exists") == 0)
      if_exists = 1;
    else if(npos++ == 0)
      topic = argv[i];
  }
  if(npos != 1) {
    fail("delete TOPIC [--if-exists]: bad arguments");
    return EXIT_USAGE;
  }
  if(!(rk = make_handle(o, RD_KAFKA_PRODUCER, NULL)))
    goto out;
  dt = rd_kafka_DeleteTopic_new(topic);
  q = rd_kafka_queue_new(rk);
  if(!(ao = admin_options(o, rk, RD_KAFKA_ADMIN_OP_DELETETOPICS)))
    goto out;
  rd_kafka_DeleteTopics(rk, &dt, 1, ao, q);
  rc = admin_wait(o, q, RD_KAFKA_EVENT_DELETETOPICS_RESULT,
                  if_exists ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART : 0, "delete");
out:
  if(ao)
    rd_kafka_AdminOptions_destroy(ao);
  if(dt)
    rd_kafka_DeleteTopic_destroy(dt);
  if(q)
    rd_kafka_queue_destroy(q);
  if(rk)
    rd_kafka_destroy(rk);
  return rc;
}

/* DeleteRecords: moves the partition's oldest offset up to OFFSET, as
 * retention would. */
static int cmd_truncate(const opts *o, int argc, char **argv) {
  long part, off;
  int rc = EXIT_KAFKA;
  rd_kafka_t *rk = NULL;
  rd_kafka_queue_t *q = NULL;
  rd_kafka_DeleteRecords_t *dr = NULL;
  rd_kafka_AdminOptions_t *ao = NULL;
  rd_kafka_event_t *ev = NULL;
  if(argc != 3 || parse_long(argv[1], 0, INT32_MAX, &part) ||
     parse_long(argv[2], 0, LONG_MAX, &off)) {
    fail("truncate TOPIC PARTITION OFFSET: bad arguments");
    return EXIT_USAGE;
  }
  if(!(rk = make_handle(o, RD_KAFKA_PRODUCER, NULL)))
    goto out;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, argv[0], (int32_t)part)->offset = off;
  dr = rd_kafka_DeleteRecords_new(l);
  rd_kafka_topic_partition_list_destroy(l);
  q = rd_kafka_queue_new(rk);
  if(!(ao = admin_options(o, rk, RD_KAFKA_ADMIN_OP_DELETERECORDS)))
    goto out;
  rd_kafka_DeleteRecords(rk, &dr, 1, ao, q);
  if(!(ev = rd_kafka_queue_poll(q, (int)(o->timeout_s * 1000) + 5000))) {
    fail("truncate: no answer within %lds", o->timeout_s);
    goto out;
  }
  if(rd_kafka_event_error(ev)) {
    fail("truncate: %s", rd_kafka_event_error_string(ev));
    goto out;
  }
  const rd_kafka_topic_partition_list_t *res =
      rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
  if(!res || res->cnt != 1 || res->elems[0].err) {
    fail("truncate %s[%ld]: %s", argv[0], part,
         res && res->cnt == 1 ? rd_kafka_err2str(res->elems[0].err) : "no result");
    goto out;
  }
  rc = 0;
out:
  if(ev)
    rd_kafka_event_destroy(ev);
  if(ao)
    rd_kafka_AdminOptions_destroy(ao);
  if(dr)
    rd_kafka_DeleteRecords_destroy(dr);
  if(q)
    rd_kafka_queue_destroy(q);
  if(rk)
    rd_kafka_destroy(rk);
  return rc;
}

typedef struct dr_count {
  long ok;
  long failed;
  rd_kafka_resp_err_t first_err;
} dr_count;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  dr_count *c = opaque;
  (void)rk;
  if(m->err) {
    if(!c->failed)
      c->first_err = m->err;
    c->failed++;
  } else {
    c->ok++;
  }
}

/* Parses "N/s" or "N" into messages per second (0 = unlimited). */
static int parse_rate(const char *s, long *out) {
  char num[32];
  size_t n = strcspn(s, "/");
  if(n == 0 || n >= sizeof(num))
    return -1;
  if(s[n] && strcmp(s + n, "/s") != 0)
    return -1;
  memcpy(num, s, n);
  num[n] = '\0';
  return parse_long(num, 1, 1000000, out);
}

static int cmd_produce(const opts *o, int argc, char **argv) {
  long part, count, rate = 0, i;
  int rc = EXIT_KAFKA;
  dr_count dc = {0, 0, RD_KAFKA_RESP_ERR_NO_ERROR};
  char tmo[32];
  const char *kv[] = {
      "acks", "all", "enable.idempotence", "true", "message.timeout.ms", tmo, "linger.ms",
      "5",    NULL};
  rd_kafka_t *rk = NULL;
  double start, deadline;
  if(argc == 5 && strcmp(argv[3], "--rate") == 0) {
    if(parse_rate(argv[4], &rate)) {
      fail("produce: bad --rate %s (want N/s)", argv[4]);
      return EXIT_USAGE;
    }
    argc = 3;
  }
  if(argc != 3 || parse_long(argv[1], -1, INT32_MAX, &part) ||
     parse_long(argv[2], 0, 1000000000L, &count)) {
    fail("produce TOPIC PARTITION COUNT [--rate N/s]: bad arguments");
    return EXIT_USAGE;
  }
  snprintf(tmo, sizeof(tmo), "%ld", o->timeout_s * 1000);
  {
    rd_kafka_conf_t *conf = make_conf(o, kv);
    if(!conf)
      return EXIT_USAGE;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &dc);
    if(!(rk = new_handle(RD_KAFKA_PRODUCER, conf)))
      return EXIT_KAFKA;
  }
  start = now_mono();
  for(i = 0; i < count && !g_stop; i++) {
    char payload[64];
    int n = snprintf(payload, sizeof(payload), "message-%ld", i);
    rd_kafka_resp_err_t err;
    if(rate > 0) {
      double due = start + (double)i / (double)rate;
      while(!g_stop && now_mono() < due) {
        rd_kafka_poll(rk, 0);
        sleep_s(due - now_mono() > 0.05 ? 0.05 : due - now_mono());
      }
    }
    deadline = now_mono() + (double)o->timeout_s;
    for(;;) {
      err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[0]), RD_KAFKA_V_PARTITION((int32_t)part),
                              RD_KAFKA_V_VALUE(payload, (size_t)n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if(err != RD_KAFKA_RESP_ERR__QUEUE_FULL || now_mono() > deadline || g_stop)
        break;
      rd_kafka_poll(rk, 100); /* local queue full: let deliveries drain it */
    }
    if(err) {
      fail("produce %s[%ld]: %s", argv[0], part, rd_kafka_err2str(err));
      goto out;
    }
    rd_kafka_poll(rk, 0);
  }
  if(rd_kafka_flush(rk, (int)(o->timeout_s * 1000)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fail("produce %s: %d message(s) not delivered within %lds", argv[0], rd_kafka_outq_len(rk),
         o->timeout_s);
    goto out;
  }
  if(dc.failed) {
    fail("produce %s[%ld]: %ld message(s) failed: %s", argv[0], part, dc.failed,
         rd_kafka_err2str(dc.first_err));
    goto out;
  }
  if(dc.ok != count) {
    fail("produce %s[%ld]: delivered %ld of %ld%s", argv[0], part, dc.ok, count,
         g_stop ? " (interrupted)" : "");
    goto out;
  }
  printf("produced %ld\n", dc.ok);
  rc = 0;
out:
  if(rk)
    rd_kafka_destroy(rk);
  return rc;
}

/* Commits offsets (or the stored offsets when NULL) and waits for the
 * broker's answer within the timeout.  Returns 0 or EXIT_KAFKA. */
static int commit_wait(const opts *o, rd_kafka_t *rk,
                       const rd_kafka_topic_partition_list_t *offsets) {
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_event_t *ev = NULL;
  rd_kafka_resp_err_t err;
  double deadline = now_mono() + (double)o->timeout_s;
  int rc = EXIT_KAFKA, i;
  err = rd_kafka_commit_queue(rk, offsets, q, NULL, NULL);
  if(err) {
    fail("commit: %s", rd_kafka_err2str(err));
    goto out;
  }
  while(!ev && now_mono() < deadline) {
    ev = rd_kafka_queue_poll(q, 200);
    if(ev && rd_kafka_event_type(ev) != RD_KAFKA_EVENT_OFFSET_COMMIT) {
      rd_kafka_event_destroy(ev);
      ev = NULL;
    }
  }
  if(!ev) {
    fail("commit: no answer within %lds", o->timeout_s);
    goto out;
  }
  if((err = rd_kafka_event_error(ev)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fail("commit: %s", rd_kafka_event_error_string(ev));
    goto out;
  }
  {
    const rd_kafka_topic_partition_list_t *res = rd_kafka_event_topic_partition_list(ev);
    for(i = 0; res && i < res->cnt; i++) {
      if(res->elems[i].err) {
        fail("commit %s[%" PRId32 "]: %s", res->elems[i].topic, res->elems[i].partition,
             rd_kafka_err2str(res->elems[i].err));
        goto out;
      }
    }
  }
  rc = 0;
out:
  if(ev)
    rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  return rc;
}

static int cmd_commit(const opts *o, int argc, char **argv) {
  long part, offset;
  int rc;
  rd_kafka_t *rk;
  rd_kafka_topic_partition_list_t *l;
  const char *kv[] = {"group.id", NULL, "enable.auto.commit", "false", NULL};
  if(argc != 4 || parse_long(argv[2], 0, INT32_MAX, &part) ||
     parse_long(argv[3], 0, LONG_MAX, &offset)) {
    fail("commit GROUP TOPIC PARTITION OFFSET: bad arguments");
    return EXIT_USAGE;
  }
  kv[1] = argv[0];
  if(!(rk = make_handle(o, RD_KAFKA_CONSUMER, kv)))
    return EXIT_KAFKA;
  l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, argv[1], (int32_t)part)->offset = offset;
  rc = commit_wait(o, rk, l);
  if(rc == 0)
    printf("committed %s %s[%ld]=%ld\n", argv[0], argv[1], part, offset);
  rd_kafka_topic_partition_list_destroy(l);
  if(rc)
    abandon(rc);
  rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  return rc;
}

/* Consumer state shared with the rebalance callback. */
typedef struct cstate {
  int joined;  /* printed "joined" already */
  int holding; /* after the commit: keep partitions paused */
  int nassigned;
  unsigned char eof[MAX_PARTS];
} cstate;

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  cstate *cs = opaque;
  if(err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, parts);
    cs->nassigned = parts->cnt;
    memset(cs->eof, 0, sizeof(cs->eof));
    if(cs->holding)
      rd_kafka_pause_partitions(rk, parts);
    if(!cs->joined) {
      cs->joined = 1;
      printf("joined\n");
      fflush(stdout);
    }
  } else {
    rd_kafka_assign(rk, NULL);
    cs->nassigned = 0;
  }
}

static rd_kafka_t *make_consumer(const opts *o, const char *group, const char *autocommit,
                                 const char *topic, cstate *cs) {
  const char *kv[] = {"group.id",
                      group,
                      "enable.auto.commit",
                      autocommit,
                      "auto.commit.interval.ms",
                      "1000",
                      "enable.auto.offset.store",
                      "false",
                      "auto.offset.reset",
                      "earliest",
                      "enable.partition.eof",
                      "true",
                      "session.timeout.ms",
                      "10000",
                      "heartbeat.interval.ms",
                      "1000",
                      NULL};
  rd_kafka_t *rk;
  rd_kafka_topic_partition_list_t *sub;
  rd_kafka_resp_err_t err;
  rd_kafka_conf_t *conf = make_conf(o, kv);
  if(!conf)
    return NULL;
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_opaque(conf, cs);
  if(!(rk = new_handle(RD_KAFKA_CONSUMER, conf)))
    return NULL;
  rd_kafka_poll_set_consumer(rk);
  sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
  err = rd_kafka_subscribe(rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if(err) {
    fail("subscribe %s: %s", topic, rd_kafka_err2str(err));
    rd_kafka_destroy(rk);
    return NULL;
  }
  return rk;
}

static int all_eof(const cstate *cs, rd_kafka_t *rk) {
  rd_kafka_topic_partition_list_t *a = NULL;
  int i, ok = 1;
  if(cs->nassigned == 0 || rd_kafka_assignment(rk, &a) || !a)
    return 0;
  for(i = 0; i < a->cnt; i++)
    if(a->elems[i].partition < 0 || a->elems[i].partition >= MAX_PARTS ||
       !cs->eof[a->elems[i].partition])
      ok = 0;
  if(a->cnt == 0)
    ok = 0;
  rd_kafka_topic_partition_list_destroy(a);
  return ok;
}

/* Closes the consumer so it leaves the group at once rather than after the
 * session timeout. */
static void close_consumer(rd_kafka_t *rk) {
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

static int cmd_consume(const opts *o, int argc, char **argv) {
  long max = -1, hold = 0;
  long consumed = 0;
  int i, rc = EXIT_KAFKA;
  static cstate cs; /* large: keep it off the stack */
  rd_kafka_t *rk;
  double deadline;
  for(i = 2; i < argc; i++) {
    if(strcmp(argv[i], "--max") == 0 && i + 1 < argc) {
      if(parse_long(argv[++i], 0, 1000000000L, &max))
        max = -2;
    } else if(strcmp(argv[i], "--hold") == 0 && i + 1 < argc) {
      if(parse_long(argv[++i], 0, 86400L * 365, &hold))
        max = -2;
    } else {
      max = -2;
    }
  }
  if(argc < 2 || max < 0) {
    fail("consume GROUP TOPIC --max N [--hold SECONDS]: bad arguments");
    return EXIT_USAGE;
  }
  memset(&cs, 0, sizeof(cs));
  if(!(rk = make_consumer(o, argv[0], "false", argv[1], &cs)))
    return EXIT_KAFKA;
  deadline = now_mono() + (double)o->timeout_s;
  /* Consume until max messages or the end of every assigned partition. */
  while(consumed < max && !g_stop) {
    rd_kafka_message_t *m;
    if(now_mono() > deadline) {
      fail("consume %s: %s within %lds (consumed %ld)", argv[1],
           cs.joined ? "end of partitions not reached" : "no assignment", o->timeout_s, consumed);
      goto out;
    }
    if(!(m = rd_kafka_consumer_poll(rk, 100)))
      continue;
    if(m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if(m->partition >= 0 && m->partition < MAX_PARTS)
        cs.eof[m->partition] = 1;
    } else if(m->err) {
      fail("consume %s: %s", argv[1], rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      goto out;
    } else {
      if(m->partition >= 0 && m->partition < MAX_PARTS)
        cs.eof[m->partition] = 0;
      rd_kafka_offset_store(m->rkt, m->partition, m->offset);
      consumed++;
    }
    rd_kafka_message_destroy(m);
    if(all_eof(&cs, rk))
      break;
  }
  if(g_stop) {
    fail("consume %s: interrupted before the commit", argv[1]);
    goto out;
  }
  if(consumed > 0 && commit_wait(o, rk, NULL))
    goto out;
  printf("committed %ld\n", consumed);
  fflush(stdout);
  /* Hold the membership: pause so nothing more is fetched, keep polling so
   * heartbeats and rebalances are served. */
  {
    rd_kafka_topic_partition_list_t *a = NULL;
    cs.holding = 1;
    if(rd_kafka_assignment(rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
      rd_kafka_pause_partitions(rk, a);
      rd_kafka_topic_partition_list_destroy(a);
    }
  }
  deadline = now_mono() + (double)hold;
  while(!g_stop && now_mono() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    if(m)
      rd_kafka_message_destroy(m);
  }
  rc = 0;
out:
  if(rc)
    abandon(rc);
  close_consumer(rk);
  return rc;
}

static int cmd_follow(const opts *o, int argc, char **argv) {
  long delay = 0;
  static cstate cs;
  rd_kafka_t *rk;
  if(argc == 4 && strcmp(argv[2], "--delay") == 0) {
    if(parse_long(argv[3], 0, 60000, &delay)) {
      fail("follow: bad --delay %s (want milliseconds)", argv[3]);
      return EXIT_USAGE;
    }
    argc = 2;
  }
  if(argc != 2) {
    fail("follow GROUP TOPIC [--delay MS]: bad arguments");
    return EXIT_USAGE;
  }
  memset(&cs, 0, sizeof(cs));
  if(!(rk = make_consumer(o, argv[0], "true", argv[1], &cs)))
    return EXIT_KAFKA;
  while(!g_stop) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    if(!m)
      continue;
    if(!m->err) {
      if(delay > 0)
        sleep_s((double)delay / 1000.0);
      rd_kafka_offset_store(m->rkt, m->partition, m->offset);
    } else if(m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      /* Transient errors (a broker restart) are logged and survived. */
      fail("follow %s: %s", argv[1], rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  close_consumer(rk);
  return 0;
}

int main(int argc, char **argv) {
  opts o = {NULL, 30, {NULL}, 0};
  struct sigaction sa;
  int i = 1, rc;
  const char *cmd;
  while(i < argc && argv[i][0] == '-') {
    if(strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
      o.brokers = argv[i + 1];
    } else if(strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
      if(parse_long(argv[i + 1], 1, 3600, &o.timeout_s)) {
        fail("bad -t %s (want 1..3600 seconds)", argv[i + 1]);
        return EXIT_USAGE;
      }
    } else if(strcmp(argv[i], "-X") == 0 && i + 1 < argc) {
      if(o.nprops >= MAX_PROPS || !strchr(argv[i + 1], '=')) {
        fail("bad or too many -X (want key=value, at most %d)", MAX_PROPS);
        return EXIT_USAGE;
      }
      o.props[o.nprops++] = argv[i + 1];
    } else {
      usage();
      return EXIT_USAGE;
    }
    i += 2;
  }
  if(!o.brokers || i >= argc) {
    usage();
    return EXIT_USAGE;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  g_stop_grace = (unsigned)(o.timeout_s + 10);
  cmd = argv[i++];
  argc -= i;
  argv += i;
  /* One-shot commands get a watchdog well past their own deadlines. */
  if(strcmp(cmd, "follow") != 0 && strcmp(cmd, "consume") != 0)
    alarm((unsigned)(o.timeout_s * 3 + 10));
  if(strcmp(cmd, "brokers") == 0 && argc == 0)
    rc = cmd_brokers(&o);
  else if(strcmp(cmd, "create") == 0)
    rc = cmd_create(&o, argc, argv);
  else if(strcmp(cmd, "truncate") == 0)
    rc = cmd_truncate(&o, argc, argv);
  else if(strcmp(cmd, "delete") == 0)
    rc = cmd_delete(&o, argc, argv);
  else if(strcmp(cmd, "produce") == 0)
    rc = cmd_produce(&o, argc, argv);
  else if(strcmp(cmd, "commit") == 0)
    rc = cmd_commit(&o, argc, argv);
  else if(strcmp(cmd, "consume") == 0)
    rc = cmd_consume(&o, argc, argv);
  else if(strcmp(cmd, "follow") == 0)
    rc = cmd_follow(&o, argc, argv);
  else {
    usage();
    rc = EXIT_USAGE;
  }
  fflush(stdout);
  return rc;
}
