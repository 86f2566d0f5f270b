/* offsets_reader.h: reads a cluster's __consumer_offsets topic into a table
 * of committed offsets (offsets_topic.h), for group_offsets: offsets_topic.
 *
 * One librdkafka consumer per cluster, made by the client factory, with no
 * group id: every partition of __consumer_offsets is started from the
 * beginning with the simple consumer API, read_committed (commits of
 * aborted transactions never count).  Each run first asks the end offsets
 * (one ListOffsets per leader), then consumes until every partition reached
 * them, then pauses the partitions until the next run, so that between
 * cycles no fetch is sent.  The table is exact as of the run's start only
 * when the run caught up; until the first catch-up the caller must treat
 * committed offsets as unknown.
 */
#ifndef STREAMKPI_OFFSETS_READER_H
#define STREAMKPI_OFFSETS_READER_H

#include <stdint.h>

#include "streamkpi/clock.h"
#include "streamkpi/config.h"
#include "streamkpi/offsets_topic.h"

typedef struct skpi_offsets_reader skpi_offsets_reader;

/* What the reader did so far (cumulative) and in its last run. */
typedef struct skpi_offsets_reader_stats {
  uint64_t applied;  /* offset commit and group records applied */
  uint64_t skipped;  /* records of other key versions */
  uint64_t bad;      /* records refused by the parser */
  uint64_t requests; /* every request the consumer sent, from librdkafka's statistics */
  int caught_up;     /* the last run reached the end offsets it asked for */
} skpi_offsets_reader_stats;

/* Creates the reader's handle on cluster cfg (cfg must outlive it); nothing
 * is sent yet.  Returns SKPI_EINVAL when the handle cannot be made (the
 * factory logs why), SKPI_ENOMEM. */
skpi_err skpi_offsets_reader_new(const skpi_cluster_cfg *cfg, skpi_offsets_reader **out)
    __attribute__((warn_unused_result));

/* Reads up to the end offsets of __consumer_offsets as they are at the
 * call, for at most budget_s seconds (or until stop is set).  Sets
 * st->caught_up to 1 when it got there: the table then holds every commit
 * made before the call.  A topic that does not exist yet (no group ever
 * committed) counts as caught up with an empty table.  Returns SKPI_EKAFKA
 * when the metadata or the end offsets cannot be had (caught_up 0),
 * SKPI_ENOMEM. */
skpi_err skpi_offsets_reader_run(skpi_offsets_reader *r, double budget_s, const skpi_stop *stop);

/* The table; valid until the next run or free. */
const skpi_offsets_topic *skpi_offsets_reader_table(const skpi_offsets_reader *r);

/* Copies the counters into *st; requests are those seen by the latest
 * statistics librdkafka delivered (at most about a second old). */
void skpi_offsets_reader_stats_get(const skpi_offsets_reader *r, skpi_offsets_reader_stats *st);

/* Stops consuming and frees everything.  NULL is ignored. */
void skpi_offsets_reader_free(skpi_offsets_reader *r);

#endif
