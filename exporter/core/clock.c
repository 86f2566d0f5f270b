/* clock.c: wall and monotonic clocks. */
#include "streamkpi/clock.h"

#include <time.h>

double skpi_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double skpi_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void skpi_sleep(double s, const skpi_stop *stop) {
  double end = skpi_mono() + s;
  for(;;) {
    if(skpi_stop_get(stop))
      return;
    double left = end - skpi_mono();
    if(left <= 0)
      return;
    if(left > 0.05)
      left = 0.05;
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    nanosleep(&ts, NULL);
  }
}
