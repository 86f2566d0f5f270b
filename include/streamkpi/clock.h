/* clock.h: the two clocks every module uses. */
#ifndef STREAMKPI_CLOCK_H
#define STREAMKPI_CLOCK_H

#include "streamkpi/refcnt.h"

/* Wall clock, unix seconds with sub-second precision. */
double skpi_now(void);

/* Monotonic seconds since an arbitrary origin, for durations. */
double skpi_mono(void);

/* Sleeps up to s seconds; returns early once stop is raised (checked every
 * 50 ms).  stop may be NULL. */
void skpi_sleep(double s, const skpi_stop *stop);

#endif
