/* kafka_metrics.h: maps a cluster sample to kafka_exporter-compatible
 * metric families (plus what kafka_exporter lacks), each with a "cluster"
 * label.
 *
 * Families: kafka_brokers, kafka_broker_info, kafka_controller_id,
 * kafka_topic_partitions, kafka_topic_partition_current_offset,
 * kafka_topic_partition_oldest_offset, kafka_topic_partition_leader,
 * kafka_topic_partition_replicas, kafka_topic_partition_in_sync_replica,
 * kafka_topic_partition_leader_is_preferred,
 * kafka_topic_partition_under_replicated_partition,
 * kafka_offline_partitions (count per cluster),
 * kafka_consumergroup_current_offset, kafka_consumergroup_current_offset_sum,
 * kafka_consumergroup_lag, kafka_consumergroup_lag_sum,
 * kafka_consumergroup_members, kafka_consumergroup_state{state} (1 for the
 * current state, like an enum),
 * streamkpi_kafka_requests{request} (requests sent in the last cycle),
 * streamkpi_kafka_request_errors{request} (calls that failed in it),
 * streamkpi_kafka_lag_clamped_total, streamkpi_kafka_topics_seen,
 * streamkpi_kafka_groups_seen, streamkpi_kafka_group_listing_ok, and with
 * a card (skpi_kmetrics_render_opts) streamkpi_series_dropped_total.
 *
 * No series is emitted for an unknown value: no offset series for a
 * partition at -1, no leader series without a leader, no controller series
 * when it is unknown, no members series for a group that could not be
 * described, no consumergroup series where a group has no commit, and lag
 * (and lag_sum) only for non-internal topics with a known high watermark.
 */
#ifndef STREAMKPI_KAFKA_METRICS_H
#define STREAMKPI_KAFKA_METRICS_H

#include <stdint.h>

#include "streamkpi/card.h"
#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

/* Appends the sample's families to m (every family is declared, even when
 * it gets no sample).  lag_clamped_total is the number of distinct clamped
 * commits the source has seen (skpi_lag_clamps_update).  Returns SKPI_EINVAL when a family cannot
 * be declared in m (a clash with an earlier declaration, or out of memory), or the error of
 * skpi_mset_add; m then holds a partial set the caller drops. */
skpi_err skpi_kmetrics_render(const skpi_ksample *s, uint64_t lag_clamped_total, skpi_mset *m);

/* How a cluster's families are cut down (all borrowed, all optional). */
typedef struct skpi_kmetrics_opts {
  /* topic: the per-partition families once per topic without the
   * partition label (how each is folded: docs/scale.md). */
  skpi_config_granularity granularity;
  skpi_card *card;         /* family filter and series caps; NULL: none */
  const skpi_shard *shard; /* NULL: unsharded */
} skpi_kmetrics_opts;

/* skpi_kmetrics_render with cardinality controls and sharding: only the
 * families the card passes are declared, series past a family's cap are
 * left out (and streamkpi_series_dropped_total is added); with a shard,
 * only the topics and groups it owns get series, and brokers and offline
 * partitions come from shard 0 alone.  The card is updated (counts), so
 * one card serves one render at a time.  o may be NULL.  Errors as for
 * skpi_kmetrics_render, plus SKPI_ENOMEM from the card. */
skpi_err skpi_kmetrics_render_opts(const skpi_ksample *s, uint64_t lag_clamped_total,
                                   const skpi_kmetrics_opts *o, skpi_mset *m);

#endif
