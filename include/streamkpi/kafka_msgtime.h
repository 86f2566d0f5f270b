/* kafka_msgtime.h: reads the timestamps of the messages at committed offsets.
 *
 * The time lag of a commit is exact when the commit's message was written
 * while the exporter watched the partition (the watermark history brackets
 * it).  A commit older than that (a consumer stalled before the exporter
 * started) can only be timed by reading the message itself.  This reader,
 * run by the Kafka source once per cycle after the group offsets, decides
 * from the samples alone which commits need a read:
 *
 *   lag > 0, and the committed offset is below the first high watermark this
 *   reader saw on the partition (the message predates its watch), and the
 *   (topic, partition, offset) was not read before.
 *
 * A stalled consumer therefore costs one read, however long it stalls.
 * Reads are batched: one consumer handle of its own (no commits)
 * is assigned all wanted partitions at their offsets, so librdkafka sends
 * one Fetch per leader broker, and each partition is paused after its first
 * message.  At most max_reads partitions are read per cycle (one offset per
 * partition; the rest wait for the next cycle).  An offset that no longer
 * exists (compacted, deleted by retention, a transaction marker) yields the
 * next message after it, marked SKPI_MSGTIME_NEXT.
 *
 * Not thread-safe: one source thread uses a reader.
 */
#ifndef STREAMKPI_KAFKA_MSGTIME_H
#define STREAMKPI_KAFKA_MSGTIME_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/refcnt.h"
#include "streamkpi/events.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

/* A failed read (no message came back, or the broker failed) is tried again
 * in later cycles, at most this many times in all. */
#define SKPI_MSGTIME_MAX_TRIES 3

/* The exporter's own consumer group id: never joined, never committed, and
 * left out of the group listings. */
#define SKPI_KAFKA_OWN_GROUP "streamkpi-exporter-offsets"

typedef struct skpi_msgtime_reader skpi_msgtime_reader;

/* What the reader did, cumulative since it was created. */
typedef struct skpi_msgtime_stats {
  uint64_t cycles;    /* run calls that read at least one partition */
  uint64_t reads;     /* partitions asked for */
  uint64_t found;     /* of those, a timestamp came back */
  uint64_t fallbacks; /* of those found, the next message stood in */
  uint64_t failed;    /* asked for, nothing came back */
  size_t last_reads;  /* partitions asked for in the last cycle */
  double last_read_s; /* wall time of the last cycle's reads, 0 without reads */
} skpi_msgtime_stats;

/* Creates a reader for the cluster cfg (which must outlive it), reading at
 * most max_reads partitions per cycle (0 switches reading off).  The
 * librdkafka handle is created on the first read.  SKPI_EINVAL for a NULL
 * cfg, SKPI_ENOMEM. */
skpi_err skpi_msgtime_reader_new(const skpi_cluster_cfg *cfg, size_t max_reads,
                                 skpi_msgtime_reader **out);

/* Frees the reader and its handle; NULL is ignored. */
void skpi_msgtime_reader_free(skpi_msgtime_reader *r);

/* Bookkeeping for s without any I/O: updates the first watermarks seen,
 * forgets reads of commits that moved, and returns how many partitions the
 * next read would ask for.  run calls it; tests call it alone.  Returns 0 on
 * allocation failure (nothing is read then). */
size_t skpi_msgtime_reader_plan(skpi_msgtime_reader *r, const skpi_ksample *s);

/* Plans for s, then reads.  On success *items (owned by the reader, valid
 * until the next call; topic names point into s) holds the timestamps found
 * this cycle, *n of them; a partition whose read failed is simply absent.
 * stop (may be NULL) cuts the reads short.  SKPI_EKAFKA when the handle
 * cannot be created or assigned, SKPI_ENOMEM. */
skpi_err skpi_msgtime_reader_run(skpi_msgtime_reader *r, const skpi_ksample *s,
                                 const skpi_stop *stop, const skpi_msgtime **items, size_t *n);

/* Copies the cumulative counters to *st. */
void skpi_msgtime_reader_stats(const skpi_msgtime_reader *r, skpi_msgtime_stats *st);

/* Adds the reader's own cost to m, labelled cluster:
 * streamkpi_kafka_message_time_cycle_partitions and
 * streamkpi_kafka_message_time_cycle_seconds (the last cycle's reads) and
 * streamkpi_kafka_message_time_failures_total.  Errors come from the set. */
skpi_err skpi_msgtime_reader_render(const skpi_msgtime_reader *r, const char *cluster,
                                    skpi_mset *m);

#endif
