/* clock.h: the two clocks every module uses. */
#ifndef STREAMKPI_CLOCK_H
#define STREAMKPI_CLOCK_H

/* Wall clock, unix seconds with sub-second precision. */
double skpi_now(void);

/* Monotonic seconds since an arbitrary origin, for durations. */
double skpi_mono(void);

/* Sleeps up to s seconds; returns early when *stop becomes non-zero (checked
 * every 50 ms).  stop may be NULL. */
void skpi_sleep(double s, const volatile int *stop);

#endif
