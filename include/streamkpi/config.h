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
 * d, w), compound in descending order ("1h30m").  The caller owns the
 * returned config and frees it with skpi_config_free.
 *
 * Sections other than global/clusters (state, probe, incidents, maintenance,
 * availability, dlq, onboarding, targets, slos, catalog, maturity) are
 * validated too but not turned into structs: read them with
 * skpi_config_section() and the skpi_cfg_* accessors.  In that validated
 * tree every known key is present with its default (except optional keys
 * without one), durations are JSON reals in seconds, RFC 3339 times are JSON
 * reals in seconds since the epoch (UTC), ints are JSON integers, bools are
 * JSON booleans, everything else is a string.  docs/config.md lists all keys.
 */
#ifndef STREAMKPI_CONFIG_H
#define STREAMKPI_CONFIG_H

#include <jansson.h>
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
  int message_time_reads;   /* default 1000: message timestamps read per cycle, 0 off */
  char *probe_topic; /* the canary topic when the probe runs, else NULL: the
                        Kafka source marks it internal, so it counts as no
                        data stream */
} skpi_cluster_cfg;

/* Private part of a loaded config (validated tree, line table). */
typedef struct skpi_config_priv skpi_config_priv;

/* Caps on untrusted config input. */
#define SKPI_CONFIG_MAX_BYTES (1024 * 1024)
#define SKPI_CONFIG_MAX_DEPTH 32

typedef struct skpi_config {
  char *path; /* NULL when built from flags only */
  char *listen_address;  /* default ":10308" */
  char *telemetry_path;  /* default "/metrics" */
  char *log_level;       /* default "info" */
  char *log_format;      /* default "logfmt" */
  skpi_cluster_cfg *clusters;
  size_t nclusters;
  skpi_config_priv *priv; /* opaque; owned by the config */
} skpi_config;

/* Loads and validates path (at most SKPI_CONFIG_MAX_BYTES, nesting at most
 * SKPI_CONFIG_MAX_DEPTH; YAML anchors/aliases and multiple documents are
 * refused).  On success *out is the caller's.  On error *out is NULL, the
 * return is SKPI_EINVAL (bad content), SKPI_ETOOBIG (file too large),
 * SKPI_EIO (cannot read) or SKPI_ENOMEM, and errbuf holds one line
 * "FILE:LINE: KEY.PATH: what is wrong" (no trailing newline). */
skpi_err skpi_config_load(const char *path, skpi_config **out, char *errbuf, size_t errlen);

/* Builds a config with one cluster named "default" for --kafka.brokers and
 * every other value at its default.  Empty or blank brokers give SKPI_EINVAL
 * and one line in errbuf.  Ownership as for skpi_config_load. */
skpi_err skpi_config_from_brokers(const char *brokers, skpi_config **out, char *errbuf,
                                  size_t errlen);

/* Returns 1 when name passes the filter. */
int skpi_filter_match(const skpi_filter *f, const char *name);

/* Parses "15s", "500ms", "2m", "1h", "7d", "2w", compounds in descending
 * unit order ("1h30m", "1m30s500ms") or a plain number of seconds ("15",
 * "0.5").  Each part is digits with an optional fraction.  Returns 0 and sets
 * *out, or -1 on garbage, "", a sign, trailing junk, a repeated or
 * out-of-order unit, or a total above SKPI_DURATION_MAX seconds. */
#define SKPI_DURATION_MAX 3153600000.0 /* 100 years */
int skpi_parse_duration(const char *s, double *out);

/* Frees c and everything it owns (including the trees handed out by
 * skpi_config_section).  NULL is fine. */
void skpi_config_free(skpi_config *c);

/* Returns the validated top-level section `name` ("global", "state",
 * "probe", "incidents", "maintenance", "availability", "dlq", "onboarding",
 * "targets", "slos", "catalog", "maturity", "clusters"), borrowed from c and
 * valid until skpi_config_free; NULL for an unknown name.  Sections absent
 * from the file are present with their defaults (lists are empty arrays).
 * The "clusters" array is in the order of c->clusters. */
json_t *skpi_config_section(const skpi_config *c, const char *name);

/* Returns section `name` of cluster i (e.g. "probe": the cluster's own probe
 * keys merged over the top-level probe section, key by key), borrowed like
 * skpi_config_section; NULL when i is out of range or the key is unknown. */
json_t *skpi_config_cluster_section(const skpi_config *c, size_t i, const char *name);

/* Returns the 1-based line in the file where node (from a tree handed out
 * above) was written: for a mapping value the line of its key, for a list
 * item the line where it starts.  Returns 0 when unknown: defaults, values
 * from --kafka.brokers, and booleans (jansson shares true/false). */
int skpi_config_line(const skpi_config *c, const json_t *node);

/* Typed accessors for a validated object: return obj[key] converted, or dflt
 * when obj is NULL or the key is absent or of another JSON type.  Strings are
 * borrowed from obj.  skpi_cfg_duration is skpi_cfg_number under a name that
 * says "seconds". */
const char *skpi_cfg_string(const json_t *obj, const char *key, const char *dflt);
long long skpi_cfg_int(const json_t *obj, const char *key, long long dflt);
double skpi_cfg_number(const json_t *obj, const char *key, double dflt);
double skpi_cfg_duration(const json_t *obj, const char *key, double dflt);
int skpi_cfg_bool(const json_t *obj, const char *key, int dflt);

#endif
