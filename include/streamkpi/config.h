/* config.h: the configuration, read once from YAML and validated into a
 * struct.
 *
 * The YAML file is parsed with libyaml into a tree that remembers the line
 * of every node; validation walks it against the known keys and the result
 * is copied into the typed structs below (the tree is gone when the load
 * returns).  Every
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
 * Every section comes out as a typed struct of skpi_config below, with its
 * defaults filled in.  The schema (every key's type, default, bounds and one
 * line of documentation) is one table in config.c; docs/config.md is
 * rendered from it by skpi_config_doc (`make config-doc`) and a unit test
 * fails when the two differ.
 */
#ifndef STREAMKPI_CONFIG_H
#define STREAMKPI_CONFIG_H

#include <regex.h>
#include <stddef.h>

#include "streamkpi/buf.h"
#include "streamkpi/err.h"
#include "streamkpi/shard.h"

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

/* ------------------------------------------------------------ caps
 *
 * Every bound on a configured list or value, in one place.  The schema table
 * in config.c names these; a longer list is refused at load (and so by
 * --config.check) with FILE:LINE, never cut.  Modules that size arrays for
 * configured values use the same constants.
 */
#define SKPI_CONFIG_MAX_BYTES 1048576 /* the file: 1 MiB */
#define SKPI_CONFIG_MAX_DEPTH 32      /* YAML nesting */
#define SKPI_CONFIG_MAX_CLUSTERS 64
#define SKPI_CONFIG_MAX_PROPERTIES 256     /* librdkafka properties per cluster */
#define SKPI_CONFIG_MAX_FILTER_REGEXES 256 /* include or exclude list */
#define SKPI_CONFIG_MAX_DLQ_PATTERNS 32
#define SKPI_CONFIG_MAX_TARGETS 256
#define SKPI_CONFIG_MAX_QUALITY_GOOD 64
#define SKPI_CONFIG_MAX_SLOS 256
#define SKPI_CONFIG_MAX_MAINTENANCE 1024
#define SKPI_CONFIG_MAX_PRODUCTS 1024
#define SKPI_CONFIG_MAX_PRODUCT_LIST 1024 /* topics or SLOs of one product */
#define SKPI_CONFIG_MAX_GROUP_DOMAINS 256
#define SKPI_CONFIG_MAX_MATURITY_KEYS 256 /* thresholds or criteria */
#define SKPI_CONFIG_MAX_SURVEY 256
#define SKPI_CONFIG_MAX_POLICY_EXEMPT 64         /* exempt regexes of one policy rule */
#define SKPI_CONFIG_MAX_CLEANUP_POLICIES 8       /* policy.allowed_cleanup_policies */
#define SKPI_CONFIG_MAX_VIOLATION_SERIES 1000000 /* policy.max_violation_series */
#define SKPI_CONFIG_MAX_CYCLES 1000              /* incidents.open_after / resolve_after */
/* incidents.max_body, and the webhook parser's own cap (SKPI_AM_MAX_BODY
 * is this value). */
#define SKPI_CONFIG_MAX_BODY 16777216
#define SKPI_CONFIG_MAX_TARGET_BYTES (1024 * 1024 * 1024) /* targets[].max_bytes */
#define SKPI_CONFIG_MAX_TOKEN_FILE 4096      /* bytes of incidents.webhook_token_file */
#define SKPI_CONFIG_MAX_PATH 127             /* global.telemetry_path */
#define SKPI_CONFIG_MAX_SERIES_CAP 100000000 /* clusters[].series_cap and series_caps */
#define SKPI_CONFIG_MAX_SERIES_CAPS 256      /* entries of clusters[].series_caps */
/* cluster, target and SLO names: "target:" + name fits a registry slot */
#define SKPI_CONFIG_MAX_NAME 56

/* Defaults that code outside the config needs too (the HTTP source's own
 * defaults are these, so a target behaves the same with or without a file). */
#define SKPI_CONFIG_TARGET_INTERVAL_S 15
#define SKPI_CONFIG_TARGET_TIMEOUT_S 5
#define SKPI_CONFIG_TARGET_MAX_BYTES 10485760 /* 10 MiB */

/* ----------------------------------------------------------- sections
 *
 * Every struct below is filled at load from the validated file, with the
 * schema's defaults for what the file leaves out.  Strings belong to the
 * config (NULL when an optional key is absent); every list has its count;
 * every entry has `line`, the 1-based line where it was written (0 for a
 * default or --kafka.brokers), so later checks can report FILE:LINE with
 * skpi_config_error.  Durations and times are seconds (times since the
 * Unix epoch, UTC).
 */

/* A list of strings with their lines.  v has n entries and a NULL after
 * them, so it can be passed where a `const char **` is wanted. */
typedef struct skpi_config_strlist {
  char **v;
  int *lines;
  size_t n;
} skpi_config_strlist;

typedef enum skpi_config_probe_mode {
  SKPI_CONFIG_PROBE_PRODUCE_CONSUME = 0,
  SKPI_CONFIG_PROBE_METADATA_ONLY
} skpi_config_probe_mode;

typedef struct skpi_config_probe {
  int enabled;
  skpi_config_probe_mode mode;
  char *topic;
  int replication_factor;
  double interval_s;
  double timeout_s;
  int min_brokers;
  int line;
} skpi_config_probe;

typedef struct skpi_config_state {
  char *path;
  double persist_interval_s;
  int line;
} skpi_config_state;

typedef struct skpi_config_incidents {
  unsigned open_after;    /* failed cycles before an incident opens */
  unsigned resolve_after; /* good cycles before it resolves */
  /* The webhook token: webhook_token, or the contents of webhook_token_file
   * (read at load, trailing newline and blanks removed); NULL when neither
   * is set. */
  char *webhook_token;
  char *webhook_token_file; /* the path as written, or NULL */
  int webhook_open;         /* accept the webhook without a token */
  size_t max_body;
  int line;
} skpi_config_incidents;

typedef struct skpi_config_maintenance {
  double start, end; /* end > start */
  char *cluster;     /* NULL: every cluster */
  char *reason;      /* NULL when not given */
  int line;
} skpi_config_maintenance;

typedef struct skpi_config_availability {
  double objective; /* 0 < objective < 1 */
  double window_s;
  int line;
} skpi_config_availability;

typedef struct skpi_config_dlq {
  skpi_config_strlist patterns; /* each holds "{src}" exactly once */
  int line;
} skpi_config_dlq;

typedef struct skpi_config_onboarding {
  long long lag_threshold;
  int baseline;
  int line;
} skpi_config_onboarding;

typedef struct skpi_config_consumer_status {
  double window_s; /* commits and lag judged over this span */
  int min_points;  /* samples in the window before WARNING/STALLED/... */
  int line;
} skpi_config_consumer_status;

typedef enum skpi_config_target_kind {
  SKPI_CONFIG_TARGET_METRICS = 0,
  SKPI_CONFIG_TARGET_SCHEMA_REGISTRY,
  SKPI_CONFIG_TARGET_CONNECT
} skpi_config_target_kind;

typedef struct skpi_config_quality {
  char *family;
  char *label;
  skpi_config_strlist good;
  int line; /* 0 when the target has no quality key */
} skpi_config_quality;

typedef struct skpi_config_target {
  char *name;
  char *url;
  skpi_config_target_kind kind;
  double interval_s;
  double timeout_s;
  size_t max_bytes;
  char *username; /* NULL when not given, and so on */
  char *password;
  char *ca_file;
  int insecure_skip_verify;
  skpi_config_quality quality;
  int line;
} skpi_config_target;

typedef enum skpi_config_sli {
  SKPI_CONFIG_SLI_PROBE_AVAILABILITY = 0,
  SKPI_CONFIG_SLI_PROBE_LATENCY,
  SKPI_CONFIG_SLI_GROUP_LAG,
  SKPI_CONFIG_SLI_DLQ_RATIO,
  SKPI_CONFIG_SLI_APP_RATIO
} skpi_config_sli;

typedef enum skpi_config_window {
  SKPI_CONFIG_WINDOW_28D = 0,
  SKPI_CONFIG_WINDOW_30D,
  SKPI_CONFIG_WINDOW_CALENDAR_MONTH
} skpi_config_window;

typedef struct skpi_config_slo {
  char *name;
  skpi_config_sli sli;
  double objective;
  skpi_config_window window;
  double window_s;  /* 28 or 30 days; 0 for the calendar month */
  char *cluster;    /* NULL: every cluster */
  double threshold; /* seconds (latency, lag) or a ratio (DLQ); NaN when the SLI takes none */
  char *group;
  char *topic;
  char *target;
  char *description;
  int line;
} skpi_config_slo;

/* A consumer group a product declares, with the domain it belongs to. */
typedef struct skpi_config_consumer {
  char *group;
  char *domain;
  int line;
} skpi_config_consumer;

typedef struct skpi_config_product {
  char *name;
  char *owner;
  char *domain;
  skpi_config_strlist topics;
  skpi_config_strlist slos; /* names of entries of cfg->slos */
  char *description;
  /* Product objectives; NaN when not declared. */
  double freshness_s;  /* newest message at most this old */
  double time_lag_s;   /* consumers at most this far behind */
  double availability; /* objective for the probe of the product's cluster */
  double dlq_ratio;    /* DLQ share of the product's topics at most this */
  double retention_s;  /* topics keep data at least this long */
  skpi_config_consumer *consumers;
  size_t nconsumers;
  /* Declared business value; value_date 0 when none is declared. */
  double value_amount;
  char *value_currency;
  char *value_period;
  double value_date;
  char *value_target; /* metrics target counting the value delivered; NULL none */
  int line;
} skpi_config_product;

typedef struct skpi_config_group_domain {
  char *regex; /* POSIX extended, checked by skpi_regex_check */
  char *domain;
  int line;
} skpi_config_group_domain;

typedef struct skpi_config_catalog {
  char *team_regex; /* exactly one capture group */
  skpi_config_product *products;
  size_t nproducts;
  skpi_config_group_domain *group_domains;
  size_t ngroup_domains;
  char *contracts_dir;    /* ODCS v3 contract files (*.yaml, *.yml); NULL: none */
  double slo_objective;   /* objective of every product SLO but availability */
  double slo_window_s;    /* rolling window of the product SLOs */
  int line;
} skpi_config_catalog;

/* Criterion ids are kept as written: the assessment module knows them and
 * reports unknown ones with skpi_config_error. */
typedef struct skpi_config_threshold {
  char *id;
  double value;
  int line;
} skpi_config_threshold;

typedef struct skpi_config_criterion {
  char *id;
  int enabled;
  int line;
} skpi_config_criterion;

typedef struct skpi_config_survey_item {
  char *item;  /* survey item id, as written */
  int score;   /* 1 .. 5 */
  double date; /* when it was answered */
  int line;
} skpi_config_survey_item;

typedef struct skpi_config_maturity {
  skpi_config_threshold *thresholds;
  size_t nthresholds;
  skpi_config_criterion *criteria;
  size_t ncriteria;
  skpi_config_survey_item *survey;
  size_t nsurvey;
  double survey_max_age_s; /* older answers are stale */
  int line;
} skpi_config_maturity;

/* One entry of policy.rules, kept under the id written (a rule id of the
 * policy audit, checked at load against its rule table). */
typedef struct skpi_config_policy_rule {
  char *id;
  int enabled;
  double threshold;           /* NaN when not given: the rule's own default */
  skpi_config_strlist exempt; /* topic regexes (POSIX ERE) */
  int line;
} skpi_config_policy_rule;

typedef struct skpi_config_policy {
  int enabled;
  double interval_s; /* between reads of topic and broker configs */
  char *naming_regex;
  char *platform_team;
  double window_s; /* self-service adoption window */
  size_t max_violation_series;
  skpi_config_strlist allowed_cleanup_policies; /* "delete", "compact", "compact,delete" */
  skpi_config_policy_rule *rules;               /* only the rules the file names */
  size_t nrules;
  int line;
} skpi_config_policy;

typedef enum skpi_config_granularity {
  SKPI_CONFIG_GRANULARITY_PARTITION = 0,
  SKPI_CONFIG_GRANULARITY_TOPIC
} skpi_config_granularity;

/* Where the committed offsets of consumer groups come from: the admin API
 * (an OffsetFetch per group and cycle) or the __consumer_offsets topic. */
typedef enum skpi_config_group_offsets {
  SKPI_CONFIG_GROUP_OFFSETS_ADMIN = 0,
  SKPI_CONFIG_GROUP_OFFSETS_TOPIC
} skpi_config_group_offsets;

typedef struct skpi_config_series_cap {
  char *family;
  long cap; /* 0: no cap */
} skpi_config_series_cap;

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
  char *probe_topic;        /* the canary topic when the probe runs, else NULL: the
                               Kafka source marks it internal, so it counts as no
                               data stream */
  char *role;               /* e.g. "production"; NULL when not given */
  skpi_config_probe probe;  /* the cluster's probe keys over the top-level ones */
  /* The cluster's policy keys over the top-level ones; a rule the cluster
   * names takes its keys over the top-level rule of that id. */
  skpi_config_policy policy;
  skpi_config_granularity granularity; /* default partition */
  skpi_filter families;                /* metric families of the Kafka sampler emitted */
  long series_cap;                     /* default 0: series per family and cycle, 0 no cap */
  skpi_config_series_cap *series_caps; /* per family, over series_cap */
  size_t nseries_caps;
  skpi_shard shard;           /* global.shard (or --shard), copied into every cluster */
  double describe_interval_s; /* default 0: describe every group every cycle */
  skpi_config_group_offsets group_offsets; /* default admin */
  int line;
} skpi_cluster_cfg;

typedef struct skpi_config {
  char *path;           /* NULL when built from flags only */
  char *listen_address; /* default ":10308" */
  char *telemetry_path; /* default "/metrics" */
  char *log_level;      /* default "info" */
  char *log_format;     /* default "logfmt" */
  skpi_shard shard;     /* global.shard, default 0/1 (unsharded) */
  skpi_cluster_cfg *clusters;
  size_t nclusters;
  skpi_config_state state;
  skpi_config_probe probe; /* top level; per cluster in clusters[i].probe */
  skpi_config_incidents incidents;
  skpi_config_maintenance *maintenance;
  size_t nmaintenance;
  skpi_config_availability availability;
  skpi_config_dlq dlq;
  skpi_config_onboarding onboarding;
  skpi_config_consumer_status consumer_status;
  skpi_config_target *targets;
  size_t ntargets;
  skpi_config_slo *slos;
  size_t nslos;
  skpi_config_catalog catalog;
  skpi_config_maturity maturity;
  skpi_config_policy policy; /* top level; per cluster in clusters[i].policy */
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

/* Sets the shard ("i/n", see shard.h) of c and of every cluster in it: the
 * loader applies global.shard, and main applies --shard over it.
 * SKPI_EINVAL with one line in errbuf when text is malformed; c is then
 * unchanged. */
skpi_err skpi_config_set_shard(skpi_config *c, const char *text, char *errbuf, size_t errlen);

/* Returns 1 when name passes the filter. */
int skpi_filter_match(const skpi_filter *f, const char *name);

/* Parses "15s", "500ms", "2m", "1h", "7d", "2w", compounds in descending
 * unit order ("1h30m", "1m30s500ms") or a plain number of seconds ("15",
 * "0.5").  Each part is digits with an optional fraction.  Returns 0 and sets
 * *out, or -1 on garbage, "", a sign, trailing junk, a repeated or
 * out-of-order unit, or a total above SKPI_DURATION_MAX seconds. */
#define SKPI_DURATION_MAX 3153600000.0 /* 100 years */
int skpi_parse_duration(const char *s, double *out);

/* Frees c and everything it owns.  NULL is fine. */
void skpi_config_free(skpi_config *c);

/* Formats the one error line every config check prints:
 * "FILE:LINE: KEY: MSG" (FILE is c->path, or "--kafka.brokers" for a config
 * built from flags; ": KEY" is left out when key is NULL or empty; LINE is
 * printed even when 0).  Checks outside this module (criterion ids, for
 * example) use it so that their lines look like the loader's.  Always
 * NUL-terminates errbuf when errlen > 0; a long line is cut. */
void skpi_config_error(const skpi_config *c, int line, const char *key, const char *msg,
                       char *errbuf, size_t errlen);

/* Appends docs/config.md, rendered from the schema table, to out.  Returns
 * SKPI_OK, or SKPI_ETOOBIG / SKPI_ENOMEM from the buffer. */
skpi_err skpi_config_doc(skpi_buf *out);

#endif
