/* engine.h: the KPI engine, the glue between sources and KPI state.
 *
 * It owns the KPI state machines of issues 3 and 4 (availability,
 * incidents, time lag, DLQ, onboarding, active streams, SLOs), feeds them
 * from the sources' observers (canary probe results, Kafka samples, HTTP
 * target quality), publishes their metrics in the registry slot
 * ("", "kpi"), answers the incident API routes, and persists their state
 * through state.h: periodically, and on skpi_engine_stop.
 *
 * Health rule (per probe interval of a cluster): healthy when the probe
 * succeeded, no partition is offline and at least probe.min_brokers
 * brokers are up.  The interval observed is [end of the previous probe, end
 * of this one] when the previous probe ended within 2 x interval + timeout,
 * else only the probe's own span: a gap (exporter stopped, probe thread
 * stuck) is unobserved, neither up nor down.
 *
 * Thread-safe: one mutex guards all engine state; observers run on source
 * threads and only lock, update, render and publish.
 */
#ifndef STREAMKPI_ENGINE_H
#define STREAMKPI_ENGINE_H

#include <stddef.h>

#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/kafka_source.h"
#include "streamkpi/registry.h"
#include "streamkpi/web.h"

typedef struct skpi_engine skpi_engine;

/* Builds the engine from a validated config: opens (and loads) the state
 * file, creates the per-cluster engines and SLOs, the HTTP targets' source,
 * and adds the registry slot.  Nothing runs yet.  Returns NULL with one line
 * in errbuf on failure (an unusable state directory, a bad regex, a token
 * file that cannot be read). */
skpi_engine *skpi_engine_new(const skpi_config *cfg, skpi_registry *reg, char *errbuf,
                             size_t errlen);

/* Adds GET /api/v1/incidents and POST /api/v1/alertmanager to w. */
skpi_err skpi_engine_routes(skpi_engine *e, skpi_web *w);

/* Subscribes the engine to a cluster's Kafka source (index into
 * cfg->clusters). */
void skpi_engine_attach(skpi_engine *e, size_t cluster, skpi_kafka_source *src);

/* Starts the probes, the HTTP targets and the engine's own thread
 * (persisting, app-SLO deltas, periodic re-render). */
skpi_err skpi_engine_start(skpi_engine *e);

/* Stops the probes and HTTP targets, then writes the state a last time.
 * Call before stopping the Kafka sources (which may still call in: that is
 * safe) and before skpi_registry_free. */
void skpi_engine_stop(skpi_engine *e);

/* Frees everything (after stop, and after the Kafka sources stopped). */
void skpi_engine_free(skpi_engine *e);

#endif
