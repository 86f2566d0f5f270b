/* kafka_metrics.c: a cluster sample as kafka_exporter-compatible families.
 *
 * Names, labels and help texts follow danielqsj/kafka_exporter so existing
 * dashboards keep working; every family adds a "cluster" label.  Unknown
 * values (offset -1, no commit, no leader) produce no series at all.
 */
#include "streamkpi/kafka_metrics.h"

#include <stdio.h>
#include <string.h>

#include "streamkpi/kafka_lag.h"
#include "streamkpi/shard.h"

/* Family indices, declared once per render in this order so the output
 * order is stable. */
enum {
  F_BROKERS,
  F_BROKER_INFO,
  F_CONTROLLER,
  F_TOPIC_PARTS,
  F_CUR_OFF,
  F_OLD_OFF,
  F_LEADER,
  F_REPLICAS,
  F_ISR,
  F_PREFERRED,
  F_UNDER_REP,
  F_OFFLINE,
  F_CG_OFF,
  F_CG_OFF_SUM,
  F_CG_LAG,
  F_CG_LAG_SUM,
  F_CG_MEMBERS,
  F_CG_STATE,
  F_REQS,
  F_REQ_ERRS,
  F_CLAMPED,
  F_TOPICS_SEEN,
  F_GROUPS_SEEN,
  F_GROUPS_OK,
  F_OT_CAUGHT_UP,
  F_OT_RECORDS,
  F_COUNT
};

static const struct {
  const char *name;
  enum skpi_mtype type;
  const char *help;
} families[F_COUNT] = {
    [F_BROKERS] = {"kafka_brokers", SKPI_MT_GAUGE, "Number of Brokers in the Kafka Cluster."},
    [F_BROKER_INFO] = {"kafka_broker_info", SKPI_MT_GAUGE, "Information about the Kafka Broker."},
    [F_CONTROLLER] = {"kafka_controller_id", SKPI_MT_GAUGE,
                      "Broker ID of the active controller of the Kafka Cluster."},
    [F_TOPIC_PARTS] = {"kafka_topic_partitions", SKPI_MT_GAUGE,
                       "Number of partitions for this Topic"},
    [F_CUR_OFF] = {"kafka_topic_partition_current_offset", SKPI_MT_GAUGE,
                   "Current Offset of a Broker at Topic/Partition"},
    [F_OLD_OFF] = {"kafka_topic_partition_oldest_offset", SKPI_MT_GAUGE,
                   "Oldest Offset of a Broker at Topic/Partition"},
    [F_LEADER] = {"kafka_topic_partition_leader", SKPI_MT_GAUGE,
                  "Leader Broker ID of this Topic/Partition"},
    [F_REPLICAS] = {"kafka_topic_partition_replicas", SKPI_MT_GAUGE,
                    "Number of Replicas for this Topic/Partition"},
    [F_ISR] = {"kafka_topic_partition_in_sync_replica", SKPI_MT_GAUGE,
               "Number of In-Sync Replicas for this Topic/Partition"},
    [F_PREFERRED] = {"kafka_topic_partition_leader_is_preferred", SKPI_MT_GAUGE,
                     "1 if Topic/Partition is using the Preferred Broker"},
    [F_UNDER_REP] = {"kafka_topic_partition_under_replicated_partition", SKPI_MT_GAUGE,
                     "1 if Topic/Partition is under Replicated"},
    [F_OFFLINE] = {"kafka_offline_partitions", SKPI_MT_GAUGE,
                   "Number of partitions without a leader in the Kafka Cluster."},
    [F_CG_OFF] = {"kafka_consumergroup_current_offset", SKPI_MT_GAUGE,
                  "Current Offset of a ConsumerGroup at Topic/Partition"},
    [F_CG_OFF_SUM] = {"kafka_consumergroup_current_offset_sum", SKPI_MT_UNTYPED,
                      "Current Offset of a ConsumerGroup at Topic for all partitions"},
    [F_CG_LAG] = {"kafka_consumergroup_lag", SKPI_MT_GAUGE,
                  "Current Approximate Lag of a ConsumerGroup at Topic/Partition"},
    [F_CG_LAG_SUM] = {"kafka_consumergroup_lag_sum", SKPI_MT_UNTYPED,
                      "Current Approximate Lag of a ConsumerGroup at Topic for all partitions"},
    [F_CG_MEMBERS] = {"kafka_consumergroup_members", SKPI_MT_GAUGE,
                      "Amount of members in a consumer group"},
    [F_CG_STATE] = {"kafka_consumergroup_state", SKPI_MT_GAUGE,
                    "1 for the current state of a consumer group."},
    [F_REQS] = {"streamkpi_kafka_requests", SKPI_MT_GAUGE,
                "Kafka requests sent during the last sampling cycle, by kind."},
    [F_REQ_ERRS] = {"streamkpi_kafka_request_errors", SKPI_MT_GAUGE,
                    "Kafka calls that failed during the last sampling cycle, by kind."},
    [F_CLAMPED] = {"streamkpi_kafka_lag_clamped_total", SKPI_MT_COUNTER,
                   "Commits found above the high watermark (lag reported as 0); each commit "
                   "(group, topic, partition, offset) counts once, however long it stays."},
    [F_TOPICS_SEEN] = {"streamkpi_kafka_topics_seen", SKPI_MT_GAUGE,
                       "Topics seen in the last sampling cycle (after the topic filter)."},
    [F_GROUPS_SEEN] = {"streamkpi_kafka_groups_seen", SKPI_MT_GAUGE,
                       "Consumer groups seen in the last sampling cycle (after the group filter)."},
    [F_GROUPS_OK] = {"streamkpi_kafka_group_listing_ok", SKPI_MT_GAUGE,
                     "1 when the consumer group listing succeeded in the last sampling cycle."},
    [F_OT_CAUGHT_UP] = {"streamkpi_kafka_offsets_topic_caught_up", SKPI_MT_GAUGE,
                        "1 when the __consumer_offsets reader reached the end offsets of the "
                        "last cycle (committed offsets are unknown until then)."},
    [F_OT_RECORDS] = {"streamkpi_kafka_offsets_topic_records_total", SKPI_MT_COUNTER,
                      "Records of __consumer_offsets read, by outcome: applied, skipped (record "
                      "kinds not used) or refused (malformed)."},
};

typedef struct ctx {
  skpi_mset *m;
  int fam[F_COUNT];
  int card[F_COUNT]; /* the card's handle, -1 when the family is refused */
  skpi_card *cards;
  const char *cluster;
  int by_topic;
  const skpi_shard *shard;
} ctx;

/* Adds one series with the cluster label first, unless the card refuses
 * it (filtered family or cap reached).  kv holds npairs label pairs. */
static skpi_err put(ctx *c, int f, double v, const char *const *kv, size_t npairs) {
  const char *all[2 * 5];
  if(c->card[f] < 0 || npairs > 4 || !skpi_card_admit(c->cards, c->card[f]))
    return npairs > 4 ? SKPI_EINVAL : SKPI_OK;
  all[0] = "cluster";
  all[1] = c->cluster;
  for(size_t i = 0; i < 2 * npairs; i++)
    all[2 + i] = kv[i];
  return skpi_mset_addv(c->m, c->fam[f], v, all, npairs + 1);
}

static skpi_err add0(ctx *c, int f, double v) {
  return put(c, f, v, NULL, 0);
}

static skpi_err add_topic(ctx *c, int f, double v, const char *topic) {
  const char *kv[] = {"topic", topic};
  return put(c, f, v, kv, 1);
}

static skpi_err add_topic_part(ctx *c, int f, double v, const char *topic, const char *part) {
  const char *kv[] = {"topic", topic, "partition", part};
  return put(c, f, v, kv, 2);
}

static skpi_err add_group(ctx *c, int f, double v, const char *group) {
  const char *kv[] = {"consumergroup", group};
  return put(c, f, v, kv, 1);
}

/* A group's series on one topic, on one partition when part is not NULL. */
static skpi_err add_group_topic(ctx *c, int f, double v, const char *group, const char *topic,
                                const char *part) {
  const char *kv[] = {"consumergroup", group, "topic", topic, "partition", part};
  return put(c, f, v, kv, part ? 3 : 2);
}

static skpi_err render_brokers(ctx *c, const skpi_ksample *s) {
  skpi_err rc;
  char id[16], addr[512];
  if((rc = add0(c, F_BROKERS, (double)s->nbrokers)) != SKPI_OK)
    return rc;
  for(size_t i = 0; i < s->nbrokers; i++) {
    const skpi_kbroker *b = &s->brokers[i];
    snprintf(id, sizeof(id), "%d", (int)b->id);
    snprintf(addr, sizeof(addr), "%s:%d", b->host ? b->host : "", b->port);
    const char *kv[] = {"id", id, "address", addr};
    if((rc = put(c, F_BROKER_INFO, 1, kv, 2)) != SKPI_OK)
      return rc;
  }
  if(s->controller >= 0 && (rc = add0(c, F_CONTROLLER, s->controller)) != SKPI_OK)
    return rc;
  return SKPI_OK;
}

static int preferred(const skpi_kpartition *p) {
  return p->leader >= 0 && p->nreplicas > 0 && p->replicas[0] == p->leader;
}

static skpi_err render_partition(ctx *c, const skpi_ktopic *t, const skpi_kpartition *p) {
  skpi_err rc = SKPI_OK;
  char part[16];
  snprintf(part, sizeof(part), "%d", (int)p->id);
  if(p->high >= 0 && (rc = add_topic_part(c, F_CUR_OFF, (double)p->high, t->name, part)))
    return rc;
  if(p->low >= 0 && (rc = add_topic_part(c, F_OLD_OFF, (double)p->low, t->name, part)))
    return rc;
  if(p->leader >= 0 && (rc = add_topic_part(c, F_LEADER, p->leader, t->name, part)))
    return rc;
  if((rc = add_topic_part(c, F_REPLICAS, p->nreplicas, t->name, part)))
    return rc;
  if((rc = add_topic_part(c, F_ISR, p->nisrs, t->name, part)))
    return rc;
  if((rc = add_topic_part(c, F_PREFERRED, preferred(p), t->name, part)))
    return rc;
  return add_topic_part(c, F_UNDER_REP, p->nisrs < p->nreplicas, t->name, part);
}

/* The per-partition families folded into one series per topic: offsets
 * summed (only when every partition's is known), replicas at their
 * maximum, in-sync replicas and leader_is_preferred at their minimum (the
 * weakest partition), under_replicated at its maximum (1 when any
 * partition is).  The leader has no topic-level meaning and is left out. */
static skpi_err render_topic_folded(ctx *c, const skpi_ktopic *t) {
  skpi_err rc;
  double high = 0, low = 0;
  int high_known = t->nparts > 0, low_known = t->nparts > 0;
  int replicas = 0, isr = 0, pref = 1, under = 0;
  for(int i = 0; i < t->nparts; i++) {
    const skpi_kpartition *p = &t->parts[i];
    high_known = high_known && p->high >= 0;
    low_known = low_known && p->low >= 0;
    high += (double)p->high;
    low += (double)p->low;
    if(i == 0 || p->nreplicas > replicas)
      replicas = p->nreplicas;
    if(i == 0 || p->nisrs < isr)
      isr = p->nisrs;
    pref = pref && preferred(p);
    under = under || p->nisrs < p->nreplicas;
  }
  if(t->nparts == 0)
    return SKPI_OK;
  if(high_known && (rc = add_topic(c, F_CUR_OFF, high, t->name)) != SKPI_OK)
    return rc;
  if(low_known && (rc = add_topic(c, F_OLD_OFF, low, t->name)) != SKPI_OK)
    return rc;
  if((rc = add_topic(c, F_REPLICAS, replicas, t->name)) != SKPI_OK ||
     (rc = add_topic(c, F_ISR, isr, t->name)) != SKPI_OK ||
     (rc = add_topic(c, F_PREFERRED, pref, t->name)) != SKPI_OK)
    return rc;
  return add_topic(c, F_UNDER_REP, under, t->name);
}

static skpi_err render_topics(ctx *c, const skpi_ksample *s) {
  skpi_err rc;
  size_t offline = 0;
  for(size_t i = 0; i < s->ntopics; i++) {
    const skpi_ktopic *t = &s->topics[i];
    for(int p = 0; p < t->nparts; p++)
      if(t->parts[p].leader < 0)
        offline++;
    /* The sample may hold other shards' topics (for the lag of this
     * shard's groups); their series belong to their own shard. */
    if(!skpi_shard_owns(c->shard, t->name))
      continue;
    if((rc = add_topic(c, F_TOPIC_PARTS, t->nparts, t->name)) != SKPI_OK)
      return rc;
    if(c->by_topic) {
      if((rc = render_topic_folded(c, t)) != SKPI_OK)
        return rc;
      continue;
    }
    for(int p = 0; p < t->nparts; p++)
      if((rc = render_partition(c, t, &t->parts[p])) != SKPI_OK)
        return rc;
  }
  /* Every shard sees the whole metadata; the count is cluster-wide. */
  if(!skpi_shard_is_first(c->shard))
    return SKPI_OK;
  return add0(c, F_OFFLINE, (double)offline);
}

/* Emits the series of one group's commits on one topic: commits[0..n). */
static skpi_err render_group_topic(ctx *c, const skpi_kgroup *g, const skpi_ktopic *t,
                                   const skpi_kcommit *commits, size_t n) {
  skpi_err rc;
  char part[16];
  double offsum = 0, lagsum = 0;
  size_t nlag = 0, ncommits = 0;
  for(size_t i = 0; i < n; i++) {
    const skpi_kcommit *k = &commits[i];
    if(k->offset < 0)
      continue;
    snprintf(part, sizeof(part), "%d", (int)k->partition);
    offsum += (double)k->offset;
    ncommits++;
    if(!c->by_topic &&
       (rc = add_group_topic(c, F_CG_OFF, (double)k->offset, g->id, t->name, part)) != SKPI_OK)
      return rc;
    /* Lag of internal topics (e.g. __consumer_offsets readers) is noise. */
    if(t->internal)
      continue;
    int64_t high = -1, lag = 0;
    int clamped = 0;
    if(k->partition >= 0 && k->partition < t->nparts && t->parts[k->partition].id == k->partition)
      high = t->parts[k->partition].high;
    else
      for(int p = 0; p < t->nparts; p++)
        if(t->parts[p].id == k->partition)
          high = t->parts[p].high;
    if(!skpi_lag_compute(high, k->offset, &lag, &clamped))
      continue;
    lagsum += (double)lag;
    nlag++;
    if(!c->by_topic &&
       (rc = add_group_topic(c, F_CG_LAG, (double)lag, g->id, t->name, part)) != SKPI_OK)
      return rc;
  }
  if(c->by_topic) {
    /* Topic level: the committed offsets summed, and the lag summed when
     * every committed partition's lag is known. */
    if((rc = add_group_topic(c, F_CG_OFF, offsum, g->id, t->name, NULL)) != SKPI_OK)
      return rc;
    if(!t->internal && nlag == ncommits &&
       (rc = add_group_topic(c, F_CG_LAG, lagsum, g->id, t->name, NULL)) != SKPI_OK)
      return rc;
  }
  rc = add_group_topic(c, F_CG_OFF_SUM, offsum, g->id, t->name, NULL);
  if(rc != SKPI_OK || nlag == 0)
    return rc;
  return add_group_topic(c, F_CG_LAG_SUM, lagsum, g->id, t->name, NULL);
}

static skpi_err render_group(ctx *c, const skpi_ksample *s, const skpi_kgroup *g) {
  skpi_err rc;
  if(!skpi_shard_owns(c->shard, g->id))
    return SKPI_OK;
  if(g->nmembers >= 0 && (rc = add_group(c, F_CG_MEMBERS, g->nmembers, g->id)) != SKPI_OK)
    return rc;
  if(g->state && g->state[0]) {
    const char *kv[] = {"consumergroup", g->id, "state", g->state};
    if((rc = put(c, F_CG_STATE, 1, kv, 2)) != SKPI_OK)
      return rc;
  }
  /* Commits are sorted by (topic, partition): walk runs of one topic. */
  for(size_t i = 0; i < g->ncommits;) {
    int32_t ti = g->commits[i].topic;
    size_t end = i;
    size_t valid = 0;
    while(end < g->ncommits && g->commits[end].topic == ti) {
      if(g->commits[end].offset >= 0)
        valid++;
      end++;
    }
    if(ti >= 0 && (size_t)ti < s->ntopics && valid > 0) {
      rc = render_group_topic(c, g, &s->topics[ti], &g->commits[i], end - i);
      if(rc != SKPI_OK)
        return rc;
    }
    i = end;
  }
  return SKPI_OK;
}

static skpi_err render_self(ctx *c, const skpi_ksample *s, uint64_t lag_clamped_total) {
  static const char *kinds[] = {"metadata",        "list_offsets", "list_groups",
                                "describe_groups", "offset_fetch", "offsets_topic"};
  skpi_err rc;
  const skpi_kreqs *r[2] = {&s->reqs, &s->errors};
  int fams[2] = {F_REQS, F_REQ_ERRS};
  for(int k = 0; k < 2; k++) {
    unsigned v[] = {r[k]->metadata,        r[k]->list_offsets, r[k]->list_groups,
                    r[k]->describe_groups, r[k]->offset_fetch, r[k]->offsets_topic};
    for(size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
      const char *kv[] = {"request", kinds[i]};
      if((rc = put(c, fams[k], v[i], kv, 1)) != SKPI_OK)
        return rc;
    }
  }
  if((rc = add0(c, F_CLAMPED, (double)lag_clamped_total)) != SKPI_OK)
    return rc;
  if((rc = add0(c, F_TOPICS_SEEN, (double)s->ntopics)) != SKPI_OK)
    return rc;
  if((rc = add0(c, F_GROUPS_SEEN, (double)s->ngroups)) != SKPI_OK)
    return rc;
  if((rc = add0(c, F_GROUPS_OK, s->groups_ok ? 1 : 0)) != SKPI_OK)
    return rc;
  const skpi_koffsets *ot = &s->offsets_topic;
  if(!ot->used)
    return SKPI_OK;
  if((rc = add0(c, F_OT_CAUGHT_UP, ot->caught_up ? 1 : 0)) != SKPI_OK)
    return rc;
  const char *outcomes[] = {"applied", "skipped", "refused"};
  double counts[] = {(double)ot->applied, (double)ot->skipped, (double)ot->bad};
  for(size_t i = 0; i < 3; i++) {
    const char *kv[] = {"outcome", outcomes[i]};
    if((rc = put(c, F_OT_RECORDS, counts[i], kv, 1)) != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

skpi_err skpi_kmetrics_render_opts(const skpi_ksample *s, uint64_t lag_clamped_total,
                                   const skpi_kmetrics_opts *o, skpi_mset *m) {
  skpi_err rc;
  ctx c;
  if(!s || !m)
    return SKPI_EINVAL;
  c.m = m;
  c.cluster = s->cluster ? s->cluster : "";
  c.cards = o ? o->card : NULL;
  c.by_topic = o && o->granularity == SKPI_CONFIG_GRANULARITY_TOPIC;
  c.shard = o ? o->shard : NULL;
  skpi_card_begin(c.cards);
  for(int f = 0; f < F_COUNT; f++) {
    if((rc = skpi_card_family(c.cards, families[f].name, &c.card[f])) != SKPI_OK)
      return rc;
    c.fam[f] = -1;
    if(c.card[f] < 0)
      continue;
    c.fam[f] = skpi_mset_family(m, families[f].name, families[f].type, families[f].help);
    if(c.fam[f] < 0)
      return SKPI_EINVAL;
  }
  /* Brokers are cluster-wide: shard 0 speaks for them. */
  if(skpi_shard_is_first(c.shard) && (rc = render_brokers(&c, s)) != SKPI_OK)
    return rc;
  if((rc = render_topics(&c, s)) != SKPI_OK)
    return rc;
  for(size_t i = 0; i < s->ngroups; i++)
    if((rc = render_group(&c, s, &s->groups[i])) != SKPI_OK)
      return rc;
  if((rc = render_self(&c, s, lag_clamped_total)) != SKPI_OK)
    return rc;
  return skpi_card_render(c.cards, m, c.cluster);
}

skpi_err skpi_kmetrics_render(const skpi_ksample *s, uint64_t lag_clamped_total, skpi_mset *m) {
  return skpi_kmetrics_render_opts(s, lag_clamped_total, NULL, m);
}
