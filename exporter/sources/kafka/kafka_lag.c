/* kafka_lag.c: offset lag arithmetic. */
#include "streamkpi/kafka_lag.h"

int skpi_lag_compute(int64_t high, int64_t committed, int64_t *lag, int *clamped) {
  if(clamped)
    *clamped = 0;
  if(high < 0 || committed < 0)
    return 0;
  if(committed > high) {
    /* A commit past the watermark is a stale watermark or a truncated log:
     * the consumer is caught up, not ahead. */
    if(clamped)
      *clamped = 1;
    if(lag)
      *lag = 0;
    return 1;
  }
  if(lag)
    *lag = high - committed;
  return 1;
}
