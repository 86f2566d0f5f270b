/* configs_source.h: the background source of topic and broker configs.
 *
 * Per cycle the source fetches metadata for all topics (one request; it
 * gives partitions and replication factor), then DescribeConfigs for every
 * topic in chunks of topics_per_request resources, spread over the listed
 * brokers with at most max_inflight calls out; a chunk whose call fails is
 * retried once on the next broker, so a down broker costs only its own
 * share.  Each broker's own configuration is one more call, sent to that
 * broker.  The result is an skpi_topic_configs (topic_configs.h).
 */
#ifndef STREAMKPI_CONFIGS_SOURCE_H
#define STREAMKPI_CONFIGS_SOURCE_H

#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/registry.h"
#include "streamkpi/topic_configs.h"

/* Default seconds between two audits of a cluster's configs. */
#define SKPI_CONFIGS_DEFAULT_INTERVAL_S 300.0

/* How a cycle is run.  Zero fields take the defaults. */
typedef struct skpi_configs_opts {
  double interval_s;      /* between cycle starts; default 300 */
  int topics_per_request; /* resources per DescribeConfigs call; default 200 */
  int max_inflight;       /* DescribeConfigs calls out at once; default 4 */
} skpi_configs_opts;

/* Fills opts with the defaults above. */
void skpi_configs_opts_default(skpi_configs_opts *opts);

/* Runs one cycle synchronously on a handle of its own.  opts may be NULL.
 * On success *out has one reference (caller unrefs); resources that failed
 * are in it with ok 0.  SKPI_EINVAL for a bad property or argument,
 * SKPI_EKAFKA when metadata cannot be had, SKPI_ENOMEM. */
skpi_err skpi_configs_cycle_once(const skpi_cluster_cfg *cfg, const skpi_configs_opts *opts,
                                 skpi_topic_configs **out);

typedef struct skpi_configs_source skpi_configs_source;

/* Called on the source thread after each successful cycle; the value is
 * borrowed for the call (take a reference to keep it). */
typedef void (*skpi_configs_observer)(const skpi_topic_configs *c, void *user);

/* Starts the thread: the first cycle at once, the next every interval_s
 * from the start of the previous one.  cfg must outlive the source.  reg
 * may be NULL (nothing published); else the source owns the registry slot
 * (cluster, "configs") and publishes there its up state, duration and its
 * counters streamkpi_config_audit_requests_total,
 * streamkpi_config_audit_request_errors_total and
 * streamkpi_config_audit_failed_resources.  observer may be NULL.  Returns
 * NULL (logged) when the handle or the thread cannot be created. */
skpi_configs_source *skpi_configs_source_start(const skpi_cluster_cfg *cfg, skpi_registry *reg,
                                               double interval_s, skpi_configs_observer observer,
                                               void *user);

/* Stops the thread, joins it and frees everything; returns within about one
 * request timeout plus a second.  NULL is ignored. */
void skpi_configs_source_stop(skpi_configs_source *src);

#endif
