/* kafka_plan.h: plans the ListOffsets calls of one cycle.
 *
 * rd_kafka_offsets_for_times is all-or-nothing per call and quadratic in its
 * list, so partitions are grouped by leader and split into chunks of at most
 * chunk_size; each chunk is one call, and a failed leader costs only its own
 * chunks.  Partitions without a leader (-1) are left out: they have no
 * offsets this cycle.
 */
#ifndef STREAMKPI_KAFKA_PLAN_H
#define STREAMKPI_KAFKA_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"

/* One partition to query: its topic index and partition id, and leader. */
typedef struct skpi_plan_item {
  int32_t topic;
  int32_t partition;
  int32_t leader;
} skpi_plan_item;

typedef struct skpi_plan_chunk {
  int32_t leader;
  size_t first; /* index into plan->items */
  size_t count;
} skpi_plan_chunk;

typedef struct skpi_plan {
  skpi_plan_item *items; /* grouped by leader, ascending; stable within a leader */
  size_t nitems;
  skpi_plan_chunk *chunks;
  size_t nchunks;
} skpi_plan;

/* Builds the plan from n items (copied).  chunk_size must be >= 1. */
skpi_err skpi_plan_build(const skpi_plan_item *items, size_t n, size_t chunk_size,
                         skpi_plan *out);
void skpi_plan_free(skpi_plan *p);

#endif
