/* config.h: the configuration, read once from YAML and validated into a
 * struct.
 *
 * The YAML file is parsed with libyaml into a jansson tree that remembers the
 * line of every node; validation walks it against the known keys.  Every
 * error produces one line "FILE:LINE: KEY: what is wrong" in errbuf and the
 * load fails (the caller exits with status 2).  Unknown keys, wrong types,
 * bad regexes, missing brokers and duplicate cluster names are errors.
 *
 * Example:
 *   global:
 *     sample_interval: 15s      # default for clusters
 *     stale_ttl: 5m
 *   clusters:
 *     - name: prod
 *       bootstrap_servers: "k1:9092,k2:9092"
 *       sample_interval: 10s
 *       properties: { security.protocol: SASL_SSL, sasl.mechanism: PLAIN }
 *       topics:  { include: ["^orders"], exclude: ["^_"] }
 *       groups:  { include: [".*"], exclude: [] }
 *
 * Durations accept a number of seconds or a string with a unit (ms, s, m, h,
 * d).  The caller owns the returned config and frees it with
 * skpi_config_free.
 */
#ifndef STREAMKPI_CONFIG_H
#define STREAMKPI_CONFIG_H

#include <regex.h>
#include <stddef.h>

#include "streamkpi/err.h"

/* A list of include and exclude regexes (POSIX extended).  A name passes
 * when it matches some include (or there are none) and no exclude. */
typedef struct skpi_filter {
  size_t ninclude, nexclude;
  regex_t *include;
  regex_t *exclude;
} skpi_filter;

typedef struct skpi_kv {
  char *key;
  char *value;
} skpi_kv;

typedef struct skpi_cluster_cfg {
  char *name;
  char *bootstrap_servers;
  skpi_kv *properties; /* passed to librdkafka as they are */
  size_t nproperties;
  skpi_filter topics;
  skpi_filter groups;
  double sample_interval_s; /* default 15 */
  double stale_ttl_s;       /* default 300 */
  double request_timeout_s; /* default 10: bound on one Kafka request */
  int max_inflight;         /* default 10: group requests in flight */
  int chunk_size;           /* default 2000: partitions per ListOffsets call */
} skpi_cluster_cfg;

typedef struct skpi_config {
  char *path; /* NULL when built from flags only */
  char *listen_address;  /* default ":10308" */
  char *telemetry_path;  /* default "/metrics" */
  char *log_level;       /* default "info" */
  char *log_format;      /* default "logfmt" */
  skpi_cluster_cfg *clusters;
  size_t nclusters;
} skpi_config;

/* Loads and validates path.  On error returns SKPI_EINVAL (or SKPI_EIO when
 * the file cannot be read) and writes one line into errbuf. */
skpi_err skpi_config_load(const char *path, skpi_config **out, char *errbuf, size_t errlen);

/* Builds a config with one cluster named "default" for --kafka.brokers. */
skpi_err skpi_config_from_brokers(const char *brokers, skpi_config **out, char *errbuf,
                                  size_t errlen);

/* Returns 1 when name passes the filter. */
int skpi_filter_match(const skpi_filter *f, const char *name);

/* Parses "15s", "500ms", "2m", "1h", "7d" or a plain number of seconds.
 * Returns 0 and sets *out, or -1 on garbage or a negative value. */
int skpi_parse_duration(const char *s, double *out);

void skpi_config_free(skpi_config *c);

#endif
