/* health.c: the health rule (see health.h). */
#include "streamkpi/health.h"

const char *skpi_cause_name(enum skpi_cause c) {
  switch(c) {
  case SKPI_CAUSE_NONE: return "none";
  case SKPI_CAUSE_PROBE_FAILING: return "probe_failing";
  case SKPI_CAUSE_OFFLINE_PARTITIONS: return "offline_partitions";
  case SKPI_CAUSE_BROKER_DOWN: return "broker_down";
  case SKPI_CAUSE_ALL_BROKERS_UNREACHABLE: return "all_brokers_unreachable";
  }
  return "unknown";
}

enum skpi_cause skpi_health_cause(const skpi_health *h) {
  if(h->brokers_up <= 0)
    return SKPI_CAUSE_ALL_BROKERS_UNREACHABLE;
  if(h->brokers_up < h->brokers_min)
    return SKPI_CAUSE_BROKER_DOWN;
  if(h->offline_partitions > 0)
    return SKPI_CAUSE_OFFLINE_PARTITIONS;
  if(!h->probe_ok)
    return SKPI_CAUSE_PROBE_FAILING;
  return SKPI_CAUSE_NONE;
}

double skpi_health_interval_start(double prev_end, double t_start, double t_end,
                                  double interval_s, double timeout_s) {
  if(prev_end > 0 && prev_end < t_end && t_end - prev_end <= 2 * interval_s + timeout_s)
    return prev_end;
  return t_start;
}
