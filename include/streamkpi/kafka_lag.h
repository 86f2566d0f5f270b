/* kafka_lag.h: offset lag arithmetic.
 *
 * Lag = high watermark - committed offset, clamped at 0.  A commit above the
 * high watermark (possible briefly after truncation or with a stale
 * watermark) gives 0 and counts a clamp.  An unknown watermark (-1) or a
 * missing commit gives no lag at all: callers emit no series then.
 */
#ifndef STREAMKPI_KAFKA_LAG_H
#define STREAMKPI_KAFKA_LAG_H

#include <stdint.h>

#include "streamkpi/sample.h"

/* Computes the lag of committed against high.  Returns 1 and sets *lag when
 * a lag exists, 0 when it does not (high < 0 or committed < 0).  Sets
 * *clamped to 1 when the value was clamped at 0, else 0. */
int skpi_lag_compute(int64_t high, int64_t committed, int64_t *lag, int *clamped);

/* The clamped commits already counted, so that a commit that stays above
 * the watermark for many cycles counts once.  A commit is identified by
 * (group, topic, partition, offset); it is forgotten when the group's commit
 * on that partition moves or disappears. */
typedef struct skpi_lag_clamps skpi_lag_clamps;

/* Returns a new, empty set, or NULL on OOM.  Free with skpi_lag_clamps_free
 * (NULL is ignored). */
skpi_lag_clamps *skpi_lag_clamps_new(void);
void skpi_lag_clamps_free(skpi_lag_clamps *c);

/* Returns how many commits of s (internal topics aside) are clamped and were
 * not counted before, and remembers them.  On allocation failure returns 0
 * and keeps the previous set (the next cycle counts them). */
uint64_t skpi_lag_clamps_update(skpi_lag_clamps *c, const skpi_ksample *s);

#endif
