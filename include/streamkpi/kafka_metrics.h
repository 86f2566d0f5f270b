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
 * streamkpi_kafka_lag_clamped_total.
 */
#ifndef STREAMKPI_KAFKA_METRICS_H
#define STREAMKPI_KAFKA_METRICS_H

#include <stdint.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/kafka_sample.h"

/* Appends the sample's families to m.  lag_clamped_total is the running
 * count of clamps the source keeps across cycles. */
skpi_err skpi_kmetrics_render(const skpi_ksample *s, uint64_t lag_clamped_total, skpi_mset *m);

#endif
