/* kafka_source.h: one background thread per cluster that samples it.
 *
 * Each cycle: metadata for all topics (one request); low and high watermarks
 * through rd_kafka_offsets_for_times, planned by kafka_plan (per leader,
 * chunked, read_uncommitted handle); consumer groups through
 * ListConsumerGroups, DescribeConsumerGroups and ListConsumerGroupOffsets,
 * issued asynchronously with at most max_inflight in flight.  The cycle's
 * skpi_ksample goes to every observer, then its metric set is published in
 * the registry slot (cluster, "kafka").
 */
#ifndef STREAMKPI_KAFKA_SOURCE_H
#define STREAMKPI_KAFKA_SOURCE_H

#include "streamkpi/config.h"
#include "streamkpi/events.h"
#include "streamkpi/sample.h"
#include "streamkpi/registry.h"

typedef struct skpi_kafka_source skpi_kafka_source;

/* Called on the source thread after each successful cycle.  The sample is
 * valid during the call; take a reference to keep it. */
typedef void (*skpi_ksample_observer)(const skpi_ksample *s, void *user);

/* Starts the thread.  cfg must outlive the source.  Returns NULL (and logs
 * the property by name) when the librdkafka handle cannot be created (e.g.
 * a bad property).  reg may be NULL: cycles then run and observers are
 * called, but nothing is published.  Failed cycles (metadata unreachable)
 * publish an error; the first cycle starts at once, the next ones every
 * sample_interval_s from the start of the previous one. */
skpi_kafka_source *skpi_kafka_source_start(const skpi_cluster_cfg *cfg, skpi_registry *reg);

/* Adds an observer; call before the first cycle completes (right after
 * start is fine: observers added later just miss earlier cycles). */
void skpi_kafka_source_observe(skpi_kafka_source *src, skpi_ksample_observer fn, void *user);

/* Called on the source thread after each successful cycle, before the
 * sample observers, with the message timestamps read in that cycle (see
 * kafka_msgtime.h); n may be 0.  The sample and items are valid during the
 * call.  One such observer per source: a second call replaces the first. */
typedef void (*skpi_kmsgtime_observer)(const skpi_ksample *s, const skpi_msgtime *items, size_t n,
                                       void *user);
void skpi_kafka_source_observe_times(skpi_kafka_source *src, skpi_kmsgtime_observer fn,
                                     void *user);

/* Asks the thread to stop, joins it, frees everything.  Returns within
 * about one request timeout plus a second; a cycle cut short by the stop is
 * neither published nor shown to observers.  NULL is ignored. */
void skpi_kafka_source_stop(skpi_kafka_source *src);

/* Runs one cycle synchronously on a handle of its own (created and destroyed
 * here), for tests and one-shot tools.  On success *out is a sample with one
 * reference (the caller unrefs it).  A failed group listing is not an error
 * (groups_ok is 0 then).  Returns SKPI_EINVAL for a bad property or
 * argument, SKPI_EKAFKA when metadata cannot be had, SKPI_ENOMEM. */
skpi_err skpi_kafka_source_cycle_once(const skpi_cluster_cfg *cfg, skpi_ksample **out);

#endif
