/* mockcluster.c: librdkafka's mock cluster as a separate process, so an
 * exporter can be measured against many partitions without a real broker.
 *
 *   mockcluster [-b BROKERS] [-t TOPICS] [-p PARTS]
 *
 * Creates TOPICS topics bench-mNNNNN with PARTS partitions each (replication
 * factor 1, leaders spread over the brokers by the mock), prints the
 * bootstrap servers on one line of stdout and stays up until SIGTERM or
 * SIGINT.  The mock listens on loopback only.  It has no ListGroups,
 * DescribeGroups or CreateTopics: group collection cannot be measured here.
 *
 * Topics are created from several threads because in librdkafka 2.0.2 a
 * mock-cluster command sometimes waits out the mock thread's 1 s poll
 * (a lost wakeup): one at a time, 1,000 topics take minutes.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

#define CREATORS 32

typedef struct creator {
  rd_kafka_mock_cluster_t *mc;
  long first, step, topics, parts;
  rd_kafka_resp_err_t err;
} creator;

static void *create_topics(void *arg) {
  creator *c = arg;
  char name[64];
  for(long t = c->first; t < c->topics && !c->err; t += c->step) {
    snprintf(name, sizeof(name), "bench-m%05ld", t);
    c->err = rd_kafka_mock_topic_create(c->mc, name, (int)c->parts, 1);
  }
  return NULL;
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

int main(int argc, char **argv) {
  long brokers = 3, topics = 1000, parts = 100;
  int ch;
  while((ch = getopt(argc, argv, "b:t:p:")) != -1) {
    int bad = 0;
    switch(ch) {
    case 'b': bad = parse_long(optarg, 1, 64, &brokers); break;
    case 't': bad = parse_long(optarg, 1, 100000, &topics); break;
    case 'p': bad = parse_long(optarg, 1, 100000, &parts); break;
    default: bad = -1;
    }
    if(bad) {
      fprintf(stderr, "usage: mockcluster [-b BROKERS] [-t TOPICS] [-p PARTS]\n");
      return 2;
    }
  }
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  /* A producer handle only hosts the mock cluster's threads. */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if(!rk) {
    fprintf(stderr, "mockcluster: rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
  if(!mc) {
    fprintf(stderr, "mockcluster: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  creator cr[CREATORS];
  pthread_t th[CREATORS];
  int started = 0;
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  for(int i = 0; i < CREATORS; i++) {
    cr[i] = (creator){.mc = mc, .first = i, .step = CREATORS, .topics = topics, .parts = parts};
    if(pthread_create(&th[i], NULL, create_topics, &cr[i]) != 0)
      break;
    started++;
  }
  for(int i = 0; i < started; i++) {
    pthread_join(th[i], NULL);
    if(cr[i].err)
      e = cr[i].err;
  }
  if(started < CREATORS || e) {
    fprintf(stderr, "mockcluster: creating topics: %s\n",
            started < CREATORS ? "cannot start threads" : rd_kafka_err2str(e));
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 1;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  while(!stop)
    pause();
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
