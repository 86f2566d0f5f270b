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

/* Computes the lag of committed against high.  Returns 1 and sets *lag when
 * a lag exists, 0 when it does not (high < 0 or committed < 0).  Sets
 * *clamped to 1 when the value was clamped at 0, else 0. */
int skpi_lag_compute(int64_t high, int64_t committed, int64_t *lag, int *clamped);

#endif
