/* topic_configs.h: what one configuration audit saw of one cluster: a
 * neutral, immutable, refcounted value that the config source
 * (configs_source.h) builds and the policy KPI reads.
 *
 * Per cycle the source fetches metadata for all topics (one request; it
 * gives partitions and replication factor), then DescribeConfigs for every
 * topic in chunks of topics_per_request resources, spread over the listed
 * brokers with at most max_inflight calls out; a chunk whose call fails is
 * retried once on the next broker, so a down broker costs only its own
 * share.  Each broker's own configuration is one more call, sent to that
 * broker.  The result is an immutable, refcounted skpi_topic_configs.
 *
 * A resource that could not be described keeps ok = 0 and its reason in
 * error; every value of it is unknown (NULL).  Only the keys below are kept.
 */
#ifndef STREAMKPI_TOPIC_CONFIGS_H
#define STREAMKPI_TOPIC_CONFIGS_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"
#include "streamkpi/refcnt.h"

/* Where a value comes from, as the broker reports it. */
enum skpi_cfg_source {
  SKPI_CFGSRC_UNKNOWN = 0,    /* not reported */
  SKPI_CFGSRC_DEFAULT,        /* Kafka's built-in default */
  SKPI_CFGSRC_STATIC,         /* the broker's server.properties */
  SKPI_CFGSRC_DYNAMIC_BROKER, /* set at runtime for a broker or all brokers */
  SKPI_CFGSRC_DYNAMIC_TOPIC,  /* set on the topic itself */
};

/* Topic keys kept. */
enum skpi_tc_key {
  SKPI_TC_RETENTION_MS = 0,
  SKPI_TC_CLEANUP_POLICY,
  SKPI_TC_MIN_ISR,
  SKPI_TC_UNCLEAN,
  SKPI_TC_MAX_MESSAGE_BYTES,
  SKPI_TC_NKEYS
};

/* Broker keys kept. */
enum skpi_bc_key { SKPI_BC_AUTO_CREATE = 0, SKPI_BC_MIN_ISR, SKPI_BC_NKEYS };

typedef struct skpi_tc_value {
  char *value; /* NULL: not reported (unknown, or sensitive) */
  enum skpi_cfg_source source;
} skpi_tc_value;

typedef struct skpi_tc_topic {
  char *name;
  int internal;   /* names starting "__" and the probe's canary topic */
  int partitions; /* from metadata */
  int rf;         /* largest replica count over the partitions, 0 unknown */
  int ok;         /* 1 when DescribeConfigs answered for it */
  char *error;    /* why not, when ok is 0 */
  skpi_tc_value v[SKPI_TC_NKEYS];
} skpi_tc_topic;

typedef struct skpi_tc_broker {
  int32_t id;
  int ok;
  char *error;
  skpi_tc_value v[SKPI_BC_NKEYS];
} skpi_tc_broker;

typedef struct skpi_topic_configs {
  char *cluster;
  double time;           /* unix seconds at the end of the cycle */
  double duration_s;     /* wall time of the cycle */
  skpi_tc_topic *topics; /* sorted by name */
  size_t ntopics;
  skpi_tc_broker *brokers; /* sorted by id: the brokers metadata listed */
  size_t nbrokers;
  size_t cluster_brokers; /* brokers listed plus other ids that replica lists
                             name (a broker down right now): the cluster's
                             size as metadata shows it; 0 unknown */
  unsigned requests;      /* Metadata and DescribeConfigs calls sent */
  unsigned errors;        /* of those, calls that failed as a whole */
  unsigned failed_topics; /* topics left without configs */
  skpi_refcnt refcnt;
} skpi_topic_configs;

/* Config key names ("retention.ms", ...) and source names ("default",
 * "static", "dynamic_broker", "dynamic_topic", "unknown"). */
const char *skpi_tc_key_name(enum skpi_tc_key k);
const char *skpi_bc_key_name(enum skpi_bc_key k);
const char *skpi_cfg_source_name(enum skpi_cfg_source s);

/* A new empty value for cluster (copied) with one reference, or NULL on
 * OOM.  For the source and for tests that build one by hand. */
skpi_topic_configs *skpi_topic_configs_new(const char *cluster);

/* Appends a topic (name copied; ok 1, every value unknown) and returns it,
 * or NULL on OOM or a NULL name.  Call skpi_topic_configs_sort once done. */
skpi_tc_topic *skpi_topic_configs_add_topic(skpi_topic_configs *c, const char *name, int internal,
                                            int partitions, int rf);

/* Appends a broker (ok 1, values unknown); NULL on OOM. */
skpi_tc_broker *skpi_topic_configs_add_broker(skpi_topic_configs *c, int32_t id);

/* Replaces one value (copied; NULL value: unknown).  SKPI_ENOMEM. */
skpi_err skpi_tc_set(skpi_tc_value *v, const char *value, enum skpi_cfg_source source);

/* Marks a topic or broker as not described, with reason (copied). */
skpi_err skpi_tc_topic_fail(skpi_tc_topic *t, const char *reason);
skpi_err skpi_tc_broker_fail(skpi_tc_broker *b, const char *reason);

/* Sorts topics by name and brokers by id. */
void skpi_topic_configs_sort(skpi_topic_configs *c);

/* Finds a topic by name (binary search after sort), or NULL. */
const skpi_tc_topic *skpi_topic_configs_topic(const skpi_topic_configs *c, const char *name);

/* Reference counting (atomic); unref frees on the last one.  NULL ignored. */
void skpi_topic_configs_ref(skpi_topic_configs *c);
void skpi_topic_configs_unref(skpi_topic_configs *c);

#endif
