/* kafka_client.h: the one place librdkafka handles are made.
 *
 * Every handle the exporter opens on a cluster (the Kafka source's, the
 * probe's producer and consumer) comes from skpi_kafka_client_new, so they
 * share one way of applying a cluster's configuration and the settings every
 * handle needs:
 *
 *   1. client.id (the caller's, default "streamkpi") and the caller's
 *      defaults, which the cluster's properties may override;
 *   2. the cluster's properties (TLS, SASL, any librdkafka property);
 *   3. bootstrap.servers from the cluster, then the settings the exporter
 *      depends on, which win: no topic auto-creation, no statistics (nobody
 *      serves their queue); for consumers no offset commits and
 *      isolation.level=read_uncommitted (the high watermark, not the last
 *      stable offset); then the caller's forced settings.
 *
 * librdkafka's log lines and client errors go to skpi_log, tagged with the
 * cluster and the handle's role.  A bad property is logged by name and the
 * handle is not created.
 */
#ifndef STREAMKPI_KAFKA_CLIENT_H
#define STREAMKPI_KAFKA_CLIENT_H

#include <librdkafka/rdkafka.h>

#include "streamkpi/config.h"

/* Delivery report callback: like librdkafka's, with the caller's user
 * pointer instead of the handle's opaque. */
typedef void (*skpi_kafka_client_dr)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *user);

/* Statistics callback: librdkafka's JSON statistics (json[0..len), valid
 * during the call) with the caller's user pointer.  Called from
 * rd_kafka_poll on the handle; statistics.interval.ms must be forced on. */
typedef void (*skpi_kafka_client_stats)(rd_kafka_t *rk, const char *json, size_t len, void *user);

typedef struct skpi_kafka_client_opts {
  rd_kafka_type_t type;       /* RD_KAFKA_PRODUCER or RD_KAFKA_CONSUMER */
  const char *role;           /* names the handle in logs ("kafka", "probe") */
  const char *client_id;      /* NULL: "streamkpi" */
  const char *const *defaults; /* key, value, ..., NULL: before the cluster's properties */
  const char *const *forced;   /* key, value, ..., NULL: after everything else */
  skpi_kafka_client_dr on_delivery; /* producers only; may be NULL */
  void *user;                 /* handed to on_delivery and skpi_kafka_client_user */
  skpi_kafka_client_stats on_stats; /* may be NULL */
} skpi_kafka_client_opts;

/* Creates a handle on cluster cfg as described above.  cfg and the strings
 * in o are only read during the call.  Returns NULL, after logging why, on a
 * bad property or when librdkafka refuses; free the handle with
 * skpi_kafka_client_free, never rd_kafka_destroy. */
rd_kafka_t *skpi_kafka_client_new(const skpi_cluster_cfg *cfg, const skpi_kafka_client_opts *o);

/* The user pointer given at creation. */
void *skpi_kafka_client_user(const rd_kafka_t *rk);

/* Destroys the handle (without flushing: producers flush first) and what the
 * factory attached to it.  NULL is ignored. */
void skpi_kafka_client_free(rd_kafka_t *rk);

/* Copies into out (len bytes, cut to fit) the last login refusal, SASL or
 * TLS, that librdkafka reported for the handle within max_age_s seconds, and
 * returns 1; returns 0 (out untouched) when there was none.  For error
 * messages: a request that fails on a refused login says only that the
 * brokers cannot be reached.  Safe from any thread. */
int skpi_kafka_client_auth_error(const rd_kafka_t *rk, double max_age_s, char *out, size_t len);

/* The bound on one request to the cluster, in milliseconds: the cluster's
 * request_timeout_s (10 s when unset), clamped to [1, INT_MAX / 4]. */
int skpi_kafka_client_timeout_ms(const skpi_cluster_cfg *cfg);

/* The partitions a Metadata reply lists over all its topics; 0 for NULL. */
size_t skpi_kafka_client_md_partitions(const struct rd_kafka_metadata *md);

/* A handle that fetched the metadata of every topic keeps two copies of it
 * (librdkafka 2.0.2: its metadata cache and the last full reply, together
 * about 0.2 kB per partition) until destroyed, with no call to drop them.
 * When md_partitions, what that reply listed, is at least
 * SKPI_KAFKA_CLIENT_RENEW_PARTITIONS, serves the handle's queued callbacks,
 * destroys it and sets *rk to NULL so the caller makes a new one when next
 * needed, and returns 1; otherwise (or when *rk is NULL) returns 0 and
 * keeps the handle and its connections.  For sources between cycles. */
#define SKPI_KAFKA_CLIENT_RENEW_PARTITIONS 20000
int skpi_kafka_client_drop_large(rd_kafka_t **rk, size_t md_partitions);

#endif
