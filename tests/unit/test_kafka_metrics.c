/* test_kafka_metrics.c: a hand-built sample (its sort/lookup too) rendered
 * to kafka_exporter-compatible series. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/expo.h"
#include "streamkpi/kafka_metrics.h"
#include "streamkpi/sample.h"

static char *xstrdup(const char *s) {
  char *p = strdup(s);
  assert_non_null(p);
  return p;
}

/* Appends n ids to topic t's one id block (the layout copy_topic makes:
 * the partitions' arrays point into it) and returns where they start. */
enum { IDS_PER_TOPIC = 16 };
static int32_t *ids(skpi_ktopic *t, int n, ...) {
  if(!t->ids) {
    t->ids = calloc(IDS_PER_TOPIC + 1, sizeof(*t->ids));
    assert_non_null(t->ids);
  }
  int32_t *p = t->ids;
  while(*p)
    p++; /* ids here are broker ids >= 1; 0 marks the free space */
  assert_true(p + n < t->ids + IDS_PER_TOPIC);
  va_list ap;
  va_start(ap, n);
  for(int i = 0; i < n; i++)
    p[i] = va_arg(ap, int);
  va_end(ap);
  return p;
}

static void set_part(skpi_kpartition *p, int32_t id, int32_t leader, int64_t low, int64_t high,
                     int32_t *replicas, int nreplicas, int32_t *isrs, int nisrs) {
  p->id = id;
  p->leader = leader;
  p->low = low;
  p->high = high;
  p->replicas = replicas;
  p->nreplicas = nreplicas;
  p->isrs = isrs;
  p->nisrs = nisrs;
}

static void set_group(skpi_kgroup *g, const char *id, const char *state, int nmembers,
                      size_t ncommits) {
  g->id = xstrdup(id);
  g->state = state ? xstrdup(state) : NULL;
  g->protocol_type = xstrdup("consumer");
  g->nmembers = nmembers;
  g->ncommits = ncommits;
  g->commits = ncommits ? calloc(ncommits, sizeof(skpi_kcommit)) : NULL;
}

/* Topics and brokers are built out of order on purpose: sort must fix them
 * and remap the commits' topic indices. */
static skpi_ksample *build(void) {
  skpi_ksample *s = calloc(1, sizeof(*s));
  assert_non_null(s);
  skpi_refcnt_init(&s->refcnt, 1);
  s->cluster = xstrdup("c1");
  s->controller = 1;
  s->nbrokers = 2;
  s->brokers = calloc(2, sizeof(*s->brokers));
  s->brokers[0] = (skpi_kbroker){2, xstrdup("b2"), 9092, NULL};
  s->brokers[1] = (skpi_kbroker){1, xstrdup("b1"), 9093, xstrdup("rack-a")};

  s->ntopics = 3;
  s->topics = calloc(3, sizeof(*s->topics));
  skpi_ktopic *orders = &s->topics[0], *co = &s->topics[1], *audit = &s->topics[2];
  orders->name = xstrdup("orders");
  orders->nparts = 2;
  orders->parts = calloc(2, sizeof(skpi_kpartition));
  /* stored as p1, p0: the partition sort must restore parts[i].id == i */
  set_part(&orders->parts[0], 1, 2, -1, -1, ids(orders, 2, 1, 2), 2, ids(orders, 1, 2), 1);
  set_part(&orders->parts[1], 0, 1, 10, 100, ids(orders, 2, 1, 2), 2, ids(orders, 2, 1, 2), 2);
  co->name = xstrdup("__consumer_offsets");
  co->internal = 1;
  co->nparts = 1;
  co->parts = calloc(1, sizeof(skpi_kpartition));
  set_part(&co->parts[0], 0, 1, 0, 50, ids(co, 1, 1), 1, ids(co, 1, 1), 1);
  audit->name = xstrdup("audit");
  audit->nparts = 1;
  audit->parts = calloc(1, sizeof(skpi_kpartition));
  set_part(&audit->parts[0], 0, -1, -1, -1, ids(audit, 1, 2), 1, NULL, 0);

  s->ngroups = 4;
  s->groups = calloc(4, sizeof(*s->groups));
  skpi_kgroup *g1 = &s->groups[1], *g2 = &s->groups[0], *g3 = &s->groups[2], *g4 = &s->groups[3];
  set_group(g1, "g1", "Stable", 3, 3);
  g1->commits[0] = (skpi_kcommit){1, 0, 20}; /* __consumer_offsets/0 */
  g1->commits[1] = (skpi_kcommit){0, 1, 5};  /* orders/1: high unknown */
  g1->commits[2] = (skpi_kcommit){0, 0, 40}; /* orders/0 */
  set_group(g2, "g2", "Empty", 0, 1);
  g2->commits[0] = (skpi_kcommit){0, 0, 150}; /* above high: clamped */
  set_group(g3, "g3", NULL, -1, 0);
  g3->err = 1;
  set_group(g4, "we\"ird", "Stable", 1, 1);
  g4->commits[0] = (skpi_kcommit){-1, 0, 7}; /* unknown topic: no series */

  s->groups_ok = 1;
  s->reqs = (skpi_kreqs){1, 4, 2, 4, 4, 0};
  s->errors = (skpi_kreqs){0, 1, 0, 0, 1, 0};
  skpi_ksample_sort(s);
  return s;
}

/* The exposition text of s rendered with o (NULL: every partition, no
 * filter, no shard). */
static char *render_opts(const skpi_ksample *s, uint64_t clamped_total,
                         const skpi_kmetrics_opts *o) {
  skpi_mset *m = skpi_mset_new();
  assert_non_null(m);
  assert_int_equal(o ? skpi_kmetrics_render_opts(s, clamped_total, o, m)
                     : skpi_kmetrics_render(s, clamped_total, m),
                   SKPI_OK);
  skpi_buf b;
  skpi_buf_init(&b, 1 << 20);
  const skpi_mset *sets[] = {m};
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &b), SKPI_OK);
  skpi_mset_unref(m);
  char *text = skpi_buf_steal(&b, NULL);
  assert_non_null(text);
  return text;
}

static char *render(const skpi_ksample *s, uint64_t clamped_total) {
  return render_opts(s, clamped_total, NULL);
}

/* True when text holds exactly this line. */
static int has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for(const char *p = text; (p = strstr(p, line)) != NULL; p++)
    if((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
      return 1;
  return 0;
}

/* True when some line starts with this prefix (a series, any value). */
static int has_series(const char *text, const char *series) {
  size_t n = strlen(series);
  for(const char *p = text; (p = strstr(p, series)) != NULL; p++)
    if((p == text || p[-1] == '\n') && p[n] == ' ')
      return 1;
  return 0;
}

#define PRESENT(text, line)                                                                        \
  do {                                                                                             \
    if(!has_line((text), (line)))                                                                  \
      fail_msg("missing line: %s", (line));                                                        \
  } while(0)
#define ABSENT(text, series)                                                                       \
  do {                                                                                             \
    if(has_series((text), (series)))                                                               \
      fail_msg("unexpected series: %s", (series));                                                 \
  } while(0)

static void sort_orders_and_remaps(void **state) {
  skpi_ksample *s = build();
  assert_string_equal(s->topics[0].name, "__consumer_offsets");
  assert_string_equal(s->topics[1].name, "audit");
  assert_string_equal(s->topics[2].name, "orders");
  assert_int_equal(s->brokers[0].id, 1);
  assert_int_equal(s->brokers[1].id, 2);
  assert_int_equal(s->topics[2].parts[0].id, 0);
  assert_int_equal(s->topics[2].parts[1].id, 1);
  assert_string_equal(s->groups[0].id, "g1");
  assert_string_equal(s->groups[1].id, "g2");
  assert_string_equal(s->groups[3].id, "we\"ird");
  /* g1's commits follow their topics: __consumer_offsets (0), orders (2) */
  const skpi_kgroup *g1 = &s->groups[0];
  assert_int_equal(g1->commits[0].topic, 0);
  assert_int_equal(g1->commits[1].topic, 2);
  assert_int_equal(g1->commits[1].partition, 0);
  assert_int_equal(g1->commits[1].offset, 40);
  assert_int_equal(g1->commits[2].topic, 2);
  assert_int_equal(g1->commits[2].partition, 1);
  assert_int_equal(s->groups[1].commits[0].topic, 2);
  assert_int_equal(s->groups[3].commits[0].topic, -1);
  skpi_ksample_free(s);
}

static void lookups(void **state) {
  skpi_ksample *s = build();
  assert_ptr_equal(skpi_ksample_topic(s, "orders"), &s->topics[2]);
  assert_ptr_equal(skpi_ksample_topic(s, "__consumer_offsets"), &s->topics[0]);
  assert_null(skpi_ksample_topic(s, "order"));
  assert_null(skpi_ksample_topic(s, "zzz"));
  assert_null(skpi_ksample_topic(s, ""));
  assert_null(skpi_ksample_topic(s, NULL));
  const skpi_kpartition *p = skpi_ksample_partition(s, "orders", 1);
  assert_non_null(p);
  assert_int_equal(p->leader, 2);
  assert_null(skpi_ksample_partition(s, "orders", 2));
  assert_null(skpi_ksample_partition(s, "orders", -1));
  assert_null(skpi_ksample_partition(s, "nope", 0));
  skpi_ksample_free(s);
}

static void lookup_with_gaps(void **state) {
  /* Incomplete metadata: ids 0, 3, 7 stored at 0, 1, 2. */
  skpi_ksample *s = calloc(1, sizeof(*s));
  s->ntopics = 1;
  s->topics = calloc(1, sizeof(*s->topics));
  s->topics[0].name = xstrdup("t");
  s->topics[0].nparts = 3;
  s->topics[0].parts = calloc(3, sizeof(skpi_kpartition));
  int32_t pid[] = {7, 0, 3};
  for(int i = 0; i < 3; i++)
    set_part(&s->topics[0].parts[i], pid[i], i, -1, i * 10, NULL, 0, NULL, 0);
  skpi_ksample_sort(s);
  assert_int_equal(skpi_ksample_partition(s, "t", 3)->high, 20);
  assert_int_equal(skpi_ksample_partition(s, "t", 7)->high, 0);
  assert_int_equal(skpi_ksample_partition(s, "t", 0)->high, 10);
  assert_null(skpi_ksample_partition(s, "t", 1));
  assert_null(skpi_ksample_partition(s, "t", 2));
  skpi_ksample_free(s);
}

static void refcount_frees_on_last(void **state) {
  skpi_ksample *s = build();
  skpi_ksample_ref(s);
  skpi_ksample_unref(s);
  assert_int_equal(skpi_refcnt_get(&s->refcnt), 1);
  skpi_ksample_unref(s); /* frees: ASan reports a leak otherwise */
  skpi_ksample_ref(NULL);
  skpi_ksample_unref(NULL);
  skpi_ksample_free(NULL);
}

static void cluster_and_topic_series(void **state) {
  skpi_ksample *s = build();
  char *t = render(s, 7);
  PRESENT(t, "kafka_brokers{cluster=\"c1\"} 2");
  PRESENT(t, "kafka_broker_info{cluster=\"c1\",id=\"1\",address=\"b1:9093\"} 1");
  PRESENT(t, "kafka_broker_info{cluster=\"c1\",id=\"2\",address=\"b2:9092\"} 1");
  PRESENT(t, "kafka_controller_id{cluster=\"c1\"} 1");
  PRESENT(t, "kafka_topic_partitions{cluster=\"c1\",topic=\"orders\"} 2");
  PRESENT(t, "kafka_topic_partitions{cluster=\"c1\",topic=\"__consumer_offsets\"} 1");
  PRESENT(t, "kafka_topic_partition_current_offset{cluster=\"c1\",topic=\"orders\","
             "partition=\"0\"} 100");
  PRESENT(t, "kafka_topic_partition_oldest_offset{cluster=\"c1\",topic=\"orders\",partition=\"0\"} "
             "10");
  /* unknown watermarks (-1) give no series */
  ABSENT(t, "kafka_topic_partition_current_offset{cluster=\"c1\",topic=\"orders\","
            "partition=\"1\"}");
  ABSENT(t, "kafka_topic_partition_oldest_offset{cluster=\"c1\",topic=\"orders\",partition=\"1\"}");
  ABSENT(t, "kafka_topic_partition_current_offset{cluster=\"c1\",topic=\"audit\",partition=\"0\"}");
  PRESENT(t, "kafka_topic_partition_leader{cluster=\"c1\",topic=\"orders\",partition=\"1\"} 2");
  ABSENT(t, "kafka_topic_partition_leader{cluster=\"c1\",topic=\"audit\",partition=\"0\"}");
  PRESENT(t, "kafka_topic_partition_replicas{cluster=\"c1\",topic=\"orders\",partition=\"1\"} 2");
  PRESENT(t, "kafka_topic_partition_in_sync_replica{cluster=\"c1\",topic=\"orders\","
             "partition=\"1\"} 1");
  PRESENT(t, "kafka_topic_partition_in_sync_replica{cluster=\"c1\",topic=\"audit\","
             "partition=\"0\"} 0");
  PRESENT(t, "kafka_topic_partition_leader_is_preferred{cluster=\"c1\",topic=\"orders\",partition="
             "\"0\"} 1");
  PRESENT(t, "kafka_topic_partition_leader_is_preferred{cluster=\"c1\",topic=\"orders\",partition="
             "\"1\"} 0");
  PRESENT(t, "kafka_topic_partition_leader_is_preferred{cluster=\"c1\",topic=\"audit\",partition="
             "\"0\"} 0");
  PRESENT(t, "kafka_topic_partition_under_replicated_partition{cluster=\"c1\",topic=\"orders\","
             "partition=\"0\"} 0");
  PRESENT(t, "kafka_topic_partition_under_replicated_partition{cluster=\"c1\",topic=\"orders\","
             "partition=\"1\"} 1");
  PRESENT(t, "kafka_offline_partitions{cluster=\"c1\"} 1");
  PRESENT(t, "# TYPE kafka_brokers gauge");
  PRESENT(t, "# HELP kafka_brokers Number of Brokers in the Kafka Cluster.");
  free(t);
  skpi_ksample_free(s);
}

static void group_series(void **state) {
  skpi_ksample *s = build();
  char *t = render(s, 7);
  PRESENT(t, "kafka_consumergroup_members{cluster=\"c1\",consumergroup=\"g1\"} 3");
  PRESENT(t, "kafka_consumergroup_members{cluster=\"c1\",consumergroup=\"g2\"} 0");
  PRESENT(t, "kafka_consumergroup_state{cluster=\"c1\",consumergroup=\"g1\",state=\"Stable\"} 1");
  PRESENT(t, "kafka_consumergroup_state{cluster=\"c1\",consumergroup=\"g2\",state=\"Empty\"} 1");
  /* g3 could not be described: no members, no state */
  ABSENT(t, "kafka_consumergroup_members{cluster=\"c1\",consumergroup=\"g3\"}");
  if(strstr(t, "consumergroup=\"g3\""))
    fail_msg("g3 has series");

  PRESENT(t, "kafka_consumergroup_current_offset{cluster=\"c1\",consumergroup=\"g1\",topic="
             "\"orders\",partition=\"0\"} 40");
  PRESENT(t, "kafka_consumergroup_current_offset{cluster=\"c1\",consumergroup=\"g1\",topic="
             "\"orders\",partition=\"1\"} 5");
  PRESENT(t, "kafka_consumergroup_current_offset_sum{cluster=\"c1\",consumergroup=\"g1\",topic="
             "\"orders\"} 45");
  PRESENT(t, "kafka_consumergroup_lag{cluster=\"c1\",consumergroup=\"g1\",topic=\"orders\","
             "partition=\"0\"} 60");
  /* high watermark unknown: no lag there, and the sum covers the rest */
  ABSENT(t, "kafka_consumergroup_lag{cluster=\"c1\",consumergroup=\"g1\",topic=\"orders\","
            "partition=\"1\"}");
  PRESENT(t, "kafka_consumergroup_lag_sum{cluster=\"c1\",consumergroup=\"g1\",topic=\"orders\"} "
             "60");
  /* internal topic: offsets yes, lag no */
  PRESENT(t, "kafka_consumergroup_current_offset{cluster=\"c1\",consumergroup=\"g1\",topic=\"__"
             "consumer_offsets\",partition=\"0\"} 20");
  ABSENT(t, "kafka_consumergroup_lag{cluster=\"c1\",consumergroup=\"g1\",topic=\"__consumer_"
            "offsets\",partition=\"0\"}");
  ABSENT(t, "kafka_consumergroup_lag_sum{cluster=\"c1\",consumergroup=\"g1\",topic=\"__consumer_"
            "offsets\"}");
  /* no commit: no series for g2 on the internal topic */
  ABSENT(t, "kafka_consumergroup_current_offset{cluster=\"c1\",consumergroup=\"g2\",topic=\"__"
            "consumer_offsets\",partition=\"0\"}");
  /* commit above the watermark: lag clamped to 0 */
  PRESENT(t, "kafka_consumergroup_lag{cluster=\"c1\",consumergroup=\"g2\",topic=\"orders\","
             "partition=\"0\"} 0");
  /* label values are escaped; an unknown topic gives no offset series */
  PRESENT(t, "kafka_consumergroup_members{cluster=\"c1\",consumergroup=\"we\\\"ird\"} 1");
  if(strstr(t, "kafka_consumergroup_current_offset{cluster=\"c1\",consumergroup=\"we"))
    fail_msg("commit on an unknown topic rendered");
  /* nothing is ever -1 */
  if(strstr(t, " -1\n"))
    fail_msg("a -1 value was rendered");
  free(t);
  skpi_ksample_free(s);
}

static void self_series(void **state) {
  skpi_ksample *s = build();
  char *t = render(s, 7);
  PRESENT(t, "streamkpi_kafka_requests{cluster=\"c1\",request=\"metadata\"} 1");
  PRESENT(t, "streamkpi_kafka_requests{cluster=\"c1\",request=\"list_offsets\"} 4");
  PRESENT(t, "streamkpi_kafka_requests{cluster=\"c1\",request=\"list_groups\"} 2");
  PRESENT(t, "streamkpi_kafka_requests{cluster=\"c1\",request=\"describe_groups\"} 4");
  PRESENT(t, "streamkpi_kafka_requests{cluster=\"c1\",request=\"offset_fetch\"} 4");
  PRESENT(t, "streamkpi_kafka_request_errors{cluster=\"c1\",request=\"list_offsets\"} 1");
  PRESENT(t, "streamkpi_kafka_request_errors{cluster=\"c1\",request=\"metadata\"} 0");
  PRESENT(t, "streamkpi_kafka_lag_clamped_total{cluster=\"c1\"} 7");
  PRESENT(t, "# TYPE streamkpi_kafka_lag_clamped_total counter");
  PRESENT(t, "streamkpi_kafka_topics_seen{cluster=\"c1\"} 3");
  PRESENT(t, "streamkpi_kafka_groups_seen{cluster=\"c1\"} 4");
  PRESENT(t, "streamkpi_kafka_group_listing_ok{cluster=\"c1\"} 1");
  PRESENT(t, "streamkpi_kafka_requests{cluster=\"c1\",request=\"offsets_topic\"} 0");
  /* The __consumer_offsets reader's series only when it is used. */
  if(strstr(t, "streamkpi_kafka_offsets_topic_"))
    fail_msg("offsets topic series without the reader");
  free(t);
  skpi_ksample_free(s);
}

static void offsets_topic_series(void **state) {
  skpi_ksample *s = build();
  s->reqs.offsets_topic = 6;
  s->offsets_topic =
      (skpi_koffsets){.used = 1, .caught_up = 0, .applied = 5, .skipped = 2, .bad = 1};
  char *t = render(s, 0);
  PRESENT(t, "streamkpi_kafka_requests{cluster=\"c1\",request=\"offsets_topic\"} 6");
  PRESENT(t, "streamkpi_kafka_offsets_topic_caught_up{cluster=\"c1\"} 0");
  PRESENT(t, "# TYPE streamkpi_kafka_offsets_topic_records_total counter");
  PRESENT(t, "streamkpi_kafka_offsets_topic_records_total{cluster=\"c1\",outcome=\"applied\"} 5");
  PRESENT(t, "streamkpi_kafka_offsets_topic_records_total{cluster=\"c1\",outcome=\"skipped\"} 2");
  PRESENT(t, "streamkpi_kafka_offsets_topic_records_total{cluster=\"c1\",outcome=\"refused\"} 1");
  free(t);
  skpi_ksample_free(s);
}

static void empty_and_unknown(void **state) {
  skpi_ksample *s = calloc(1, sizeof(*s));
  s->controller = -1; /* no cluster name, nothing seen, listing failed */
  char *t = render(s, 0);
  PRESENT(t, "kafka_brokers{cluster=\"\"} 0");
  PRESENT(t, "kafka_offline_partitions{cluster=\"\"} 0");
  PRESENT(t, "streamkpi_kafka_group_listing_ok{cluster=\"\"} 0");
  ABSENT(t, "kafka_controller_id{cluster=\"\"}");
  free(t);
  skpi_ksample_free(s);

  skpi_mset *m = skpi_mset_new();
  assert_int_equal(skpi_kmetrics_render(NULL, 0, m), SKPI_EINVAL);
  skpi_mset_unref(m);
}

static void family_clash_fails(void **state) {
  /* A set where a name is already taken with another type cannot take ours. */
  skpi_ksample *s = build();
  skpi_mset *m = skpi_mset_new();
  assert_true(skpi_mset_family(m, "kafka_brokers", SKPI_MT_HISTOGRAM, NULL) >= 0);
  assert_int_equal(skpi_kmetrics_render(s, 0, m), SKPI_EINVAL);
  skpi_mset_unref(m);
  skpi_ksample_free(s);
}

static void topic_granularity_folds_partitions(void **state) {
  skpi_ksample *s = build();
  skpi_kmetrics_opts o = {.granularity = SKPI_CONFIG_GRANULARITY_TOPIC};
  char *t = render_opts(s, 7, &o);
  /* No per-partition series remain. */
  if(strstr(t, "partition=\""))
    fail_msg("a partition label at topic granularity");
  ABSENT(t, "kafka_topic_partition_leader{cluster=\"c1\",topic=\"orders\"}");
  /* orders/1's watermarks are unknown: so are the topic's sums. */
  ABSENT(t, "kafka_topic_partition_current_offset{cluster=\"c1\",topic=\"orders\"}");
  ABSENT(t, "kafka_topic_partition_oldest_offset{cluster=\"c1\",topic=\"orders\"}");
  PRESENT(t,
          "kafka_topic_partition_current_offset{cluster=\"c1\",topic=\"__consumer_offsets\"} 50");
  PRESENT(t, "kafka_topic_partition_replicas{cluster=\"c1\",topic=\"orders\"} 2");
  PRESENT(t, "kafka_topic_partition_in_sync_replica{cluster=\"c1\",topic=\"orders\"} 1");
  PRESENT(t, "kafka_topic_partition_leader_is_preferred{cluster=\"c1\",topic=\"orders\"} 0");
  PRESENT(t, "kafka_topic_partition_under_replicated_partition{cluster=\"c1\",topic=\"orders\"} 1");
  PRESENT(t, "kafka_topic_partitions{cluster=\"c1\",topic=\"orders\"} 2");
  PRESENT(t, "kafka_brokers{cluster=\"c1\"} 2");
  PRESENT(t, "kafka_consumergroup_current_offset{cluster=\"c1\",consumergroup=\"g1\",topic="
             "\"orders\"} 45");
  /* g1's lag on orders/1 is unknown, so the topic's lag is too; the
   * _sum family keeps its partial sum as before. */
  ABSENT(t, "kafka_consumergroup_lag{cluster=\"c1\",consumergroup=\"g1\",topic=\"orders\"}");
  PRESENT(t, "kafka_consumergroup_lag_sum{cluster=\"c1\",consumergroup=\"g1\",topic=\"orders\"} "
             "60");
  PRESENT(t, "kafka_consumergroup_lag{cluster=\"c1\",consumergroup=\"g2\",topic=\"orders\"} 0");
  free(t);

  /* With every watermark known, the sums appear. */
  skpi_ktopic *orders = (skpi_ktopic *)skpi_ksample_topic(s, "orders");
  orders->parts[1].low = 5;
  orders->parts[1].high = 30;
  t = render_opts(s, 7, &o);
  PRESENT(t, "kafka_topic_partition_current_offset{cluster=\"c1\",topic=\"orders\"} 130");
  PRESENT(t, "kafka_topic_partition_oldest_offset{cluster=\"c1\",topic=\"orders\"} 15");
  PRESENT(t, "kafka_consumergroup_lag{cluster=\"c1\",consumergroup=\"g1\",topic=\"orders\"} 85");
  PRESENT(t, "kafka_consumergroup_lag_sum{cluster=\"c1\",consumergroup=\"g1\",topic=\"orders\"} "
             "85");
  free(t);
  skpi_ksample_free(s);
}

static void card_filters_families_and_caps_series(void **state) {
  skpi_ksample *s = build();
  regex_t exc;
  assert_int_equal(regcomp(&exc, "^kafka_topic_partition_", REG_EXTENDED | REG_NOSUB), 0);
  skpi_filter f = {.nexclude = 1, .exclude = &exc};
  skpi_card_cap caps[] = {{"kafka_consumergroup_lag", 1}};
  skpi_card *card = skpi_card_new(&f, 0, caps, 1);
  assert_non_null(card);
  skpi_kmetrics_opts o = {.card = card};
  char *t = render_opts(s, 7, &o);
  if(strstr(t, "kafka_topic_partition_"))
    fail_msg("a refused family was rendered");
  PRESENT(t, "kafka_topic_partitions{cluster=\"c1\",topic=\"orders\"} 2");
  /* Two lag series exist (g1 and g2 on orders/0); the cap keeps the first. */
  PRESENT(t, "kafka_consumergroup_lag{cluster=\"c1\",consumergroup=\"g1\",topic=\"orders\","
             "partition=\"0\"} 60");
  ABSENT(t, "kafka_consumergroup_lag{cluster=\"c1\",consumergroup=\"g2\",topic=\"orders\","
            "partition=\"0\"}");
  PRESENT(t, "streamkpi_series_dropped_total{cluster=\"c1\",family=\"kafka_consumergroup_lag\"} 1");
  free(t);
  /* The next cycle drops the same series again: the counter adds up. */
  t = render_opts(s, 7, &o);
  PRESENT(t, "streamkpi_series_dropped_total{cluster=\"c1\",family=\"kafka_consumergroup_lag\"} 2");
  free(t);
  skpi_card_free(card);
  regfree(&exc);
  skpi_ksample_free(s);
}

/* The self-metrics every shard reports about its own cycle. */
static int self_line(const char *line) {
  return !strncmp(line, "streamkpi_kafka_", 16) || line[0] == '#';
}

/* Counts how many of the texts hold exactly this line. */
static int holders(char **texts, int n, const char *line) {
  int k = 0;
  for(int i = 0; i < n; i++)
    k += has_line(texts[i], line);
  return k;
}

static void shards_split_series_exactly(void **state) {
  skpi_ksample *s = build();
  skpi_shard sh[3] = {{0, 3}, {1, 3}, {2, 3}};
  char *parts[3];
  for(int i = 0; i < 3; i++) {
    skpi_kmetrics_opts o = {.shard = &sh[i]};
    parts[i] = render_opts(s, 7, &o);
  }
  /* Brokers and offline partitions come from shard 0 only. */
  assert_true(has_line(parts[0], "kafka_brokers{cluster=\"c1\"} 2"));
  assert_true(has_line(parts[0], "kafka_offline_partitions{cluster=\"c1\"} 1"));
  for(int i = 1; i < 3; i++)
    assert_null(strstr(parts[i], "kafka_brokers{"));
  char *whole = render(s, 7);
  /* Every series of the unsharded output is in exactly one shard's. */
  size_t checked = 0;
  for(char *line = strtok(whole, "\n"); line; line = strtok(NULL, "\n")) {
    if(self_line(line))
      continue;
    if(holders(parts, 3, line) != 1)
      fail_msg("held by %d shards: %s", holders(parts, 3, line), line);
    checked++;
  }
  assert_true(checked > 20);
  /* And no shard has a series the unsharded output lacks. */
  char *again = render(s, 7);
  for(int i = 0; i < 3; i++) {
    for(char *line = strtok(parts[i], "\n"); line; line = strtok(NULL, "\n"))
      if(!self_line(line) && !has_line(again, line))
        fail_msg("shard %d invented: %s", i, line);
  }
  free(again);
  free(whole);
  for(int i = 0; i < 3; i++)
    free(parts[i]);
  skpi_ksample_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sort_orders_and_remaps),
      cmocka_unit_test(lookups),
      cmocka_unit_test(lookup_with_gaps),
      cmocka_unit_test(refcount_frees_on_last),
      cmocka_unit_test(cluster_and_topic_series),
      cmocka_unit_test(group_series),
      cmocka_unit_test(self_series),
      cmocka_unit_test(offsets_topic_series),
      cmocka_unit_test(empty_and_unknown),
      cmocka_unit_test(family_clash_fails),
      cmocka_unit_test(topic_granularity_folds_partitions),
      cmocka_unit_test(card_filters_families_and_caps_series),
      cmocka_unit_test(shards_split_series_exactly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
