/* probe.h: the end-to-end canary probe, one thread per cluster.
 *
 * Every interval the probe asks for the cluster's metadata (brokers up,
 * offline partitions), then, in produce-consume mode, produces one
 * timestamped message (acks=all) to each partition of the probe topic and
 * reads them back with an assigned consumer (no group).  A message not back
 * within the timeout (the round-trip SLA) is lost; if it shows up later it is
 * counted as late, never as a success.  The topic is created when absent
 * (one partition per broker, broker i preferred leader of partition i); in
 * metadata-only mode nothing is created and nothing is produced.
 *
 * Each cycle publishes a metric set to its own registry slot (cluster,
 * source "probe") and hands an skpi_probe_result to the observer, if any,
 * on the probe thread.
 */
#ifndef STREAMKPI_PROBE_H
#define STREAMKPI_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/registry.h"

enum skpi_probe_mode { SKPI_PROBE_PRODUCE_CONSUME = 0, SKPI_PROBE_METADATA_ONLY };

/* Upper bound on probe partitions used per cycle (messages per cycle). */
#define SKPI_PROBE_MAX_PARTITIONS 64

/* One probe cycle's outcome.  Strings point into the probe: valid during
 * the observer call only (copy what you keep). */
typedef struct skpi_probe_result {
  const char *cluster;
  double t_start, t_end;   /* unix seconds */
  int ok;                  /* the cycle passed: see below */
  int metadata_ok;         /* the metadata request succeeded */
  int brokers_up;          /* brokers listed in metadata (0 when it failed) */
  int brokers_expected;    /* configured, or the most ever seen */
  int offline_partitions;  /* leader -1 or LEADER_NOT_AVAILABLE, all topics */
  int messages_sent;       /* produced this cycle */
  int messages_lost;       /* of those, not back within the timeout */
  double produce_latency_s;   /* worst delivery time this cycle, -1 if none */
  double roundtrip_latency_s; /* worst round trip this cycle, -1 if none */
  const char *reason;      /* failure reason label, "" when ok */
  const char *error;       /* human text, "" when ok */
} skpi_probe_result;

typedef void (*skpi_probe_observer)(const skpi_probe_result *r, void *user);

/* Probe settings.  Zero values mean the default given in brackets, so a
 * zeroed struct is a valid configuration. */
typedef struct skpi_probe_cfg {
  enum skpi_probe_mode mode; /* [produce-consume] */
  const char *topic;         /* [streamkpi-probe]; copied */
  int replication_factor;    /* [3], capped at the broker count */
  double interval_s;         /* [10] */
  double timeout_s;          /* [5] round-trip SLA, also message.timeout.ms */
  int min_brokers;           /* [1] fewer brokers up fails the cycle */
  int brokers_expected;      /* [0 = most brokers seen so far] */
  skpi_probe_observer observer; /* may be NULL */
  void *observer_user;
} skpi_probe_cfg;

/* Cumulative counters over the probe's lifetime (for tests and the
 * landing page). */
typedef struct skpi_probe_stats {
  uint64_t probes;
  uint64_t failures;
  uint64_t messages_sent;
  uint64_t messages_received; /* back within the timeout */
  uint64_t messages_lost;
  uint64_t messages_late;     /* back after being counted lost */
  uint64_t produce_observations;   /* produce latency histogram count */
  uint64_t roundtrip_observations; /* round-trip latency histogram count */
  uint64_t topic_creates;     /* CreateTopics attempts */
  int last_success;           /* last cycle ok */
  int partitions;             /* probe partitions in use */
} skpi_probe_stats;

typedef struct skpi_probe skpi_probe;

/* Creates the probe's Kafka handles (the cluster's bootstrap servers and
 * properties applied to each) and its registry slot (reg may be NULL: no
 * publishing), without starting a thread.  cfg and cluster are copied;
 * the registry must outlive the probe.  Returns NULL on bad settings or
 * when a handle cannot be created (logged). */
skpi_probe *skpi_probe_new(const skpi_probe_cfg *cfg, const skpi_cluster_cfg *cluster,
                           skpi_registry *reg);

/* Runs one cycle now on the calling thread (ensures the topic, probes,
 * publishes, calls the observer) and copies the result to out if non-NULL
 * (its strings valid until the next cycle or free).  Returns SKPI_OK when
 * the cycle ran, whatever it found; an error only when the probe itself
 * could not work (memory).  Not to be mixed with a running thread. */
skpi_err skpi_probe_run_once(skpi_probe *p, skpi_probe_result *out);

/* Copies the cumulative counters.  Thread-safe. */
void skpi_probe_stats_get(skpi_probe *p, skpi_probe_stats *out);

/* skpi_probe_new plus a thread running a cycle every interval.  Returns
 * NULL on failure. */
skpi_probe *skpi_probe_start(const skpi_probe_cfg *cfg, const skpi_cluster_cfg *cluster,
                             skpi_registry *reg);

/* Stops the thread (if started; returns within about one timeout), closes
 * the handles and frees p.  NULL is ignored. */
void skpi_probe_stop(skpi_probe *p);

/* Plans the probe topic's replica assignment: nbrokers partitions, partition
 * i led by brokers[i] with the next rf-1 brokers (wrapping) as followers.
 * out receives nbrokers*rf ids, row per partition.  rf is capped at nbrokers.
 * Returns the replication factor used, or -1 when nbrokers is 0 or rf < 1. */
int skpi_probe_plan_replicas(const int32_t *brokers, size_t nbrokers, int rf, int32_t *out);

/* The canary payload: "skpi-probe v=1 run=RUN seq=SEQ ts=UNIXSECONDS".
 * run identifies the probe instance (so another exporter's or an earlier
 * run's messages are never counted), seq the message, ts its send time.
 * format writes at most outlen bytes (NUL included) and returns the length,
 * or -1 when it does not fit or run is not 1..32 characters of [0-9a-z]. */
int skpi_probe_payload_format(char *out, size_t outlen, const char *run, uint64_t seq, double ts);

/* Parses a payload of len bytes (not NUL-terminated, untrusted).  Copies the
 * run id into run (runlen >= 33) and sets *seq and *ts.  Returns SKPI_OK, or
 * SKPI_EINVAL for anything else (wrong prefix, version, fields, trailing
 * bytes, more than 128 bytes, out-of-range numbers). */
skpi_err skpi_probe_payload_parse(const void *data, size_t len, char *run, size_t runlen,
                                  uint64_t *seq, double *ts);

#endif
