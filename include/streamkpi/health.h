/* health.h: the one health rule.
 *
 * Per probe cycle of a cluster, the cluster is healthy when the probe
 * succeeded, no partition is offline and at least the configured minimum of
 * brokers is listed; otherwise the cause is, by priority,
 * all_brokers_unreachable > broker_down > offline_partitions > probe_failing.
 *
 * The interval a probe speaks for starts at the end of the previous probe
 * when that ended within 2 x interval + timeout of this one's end, else at
 * this probe's own start: a longer gap (exporter stopped, probe stuck) is
 * unobserved, neither up nor down.
 */
#ifndef STREAMKPI_HEALTH_H
#define STREAMKPI_HEALTH_H

/* Causes in ascending priority; NONE means healthy. */
enum skpi_cause {
  SKPI_CAUSE_NONE = 0,
  SKPI_CAUSE_PROBE_FAILING,
  SKPI_CAUSE_OFFLINE_PARTITIONS,
  SKPI_CAUSE_BROKER_DOWN,
  SKPI_CAUSE_ALL_BROKERS_UNREACHABLE
};

/* "none", "probe_failing", "offline_partitions", "broker_down",
 * "all_brokers_unreachable"; "unknown" for anything else. */
const char *skpi_cause_name(enum skpi_cause c);

/* What one probe cycle says about a cluster. */
typedef struct skpi_health {
  int probe_ok;            /* 1 when the canary/metadata probe succeeded */
  long brokers_up;         /* brokers in metadata (0 when none answered) */
  long brokers_min;        /* configured minimum */
  long offline_partitions; /* partitions without a leader */
} skpi_health;

/* The highest-priority reason the cluster is unhealthy, or
 * SKPI_CAUSE_NONE. */
enum skpi_cause skpi_health_cause(const skpi_health *h);

/* The start of the interval a probe ending at t_end speaks for: prev_end
 * when 0 < prev_end < t_end and t_end - prev_end <= 2 * interval_s +
 * timeout_s, else t_start. */
double skpi_health_interval_start(double prev_end, double t_start, double t_end,
                                  double interval_s, double timeout_s);

#endif
