/* platform.h: what the Kafka samples and the HTTP targets say about the
 * platform itself, as facts and a few gauges.
 *
 * Two KPI families:
 *   "platform" (per cluster): reachability, brokers and topics from the
 *     newest sample, and the Schema Registry coverage of the topics holding
 *     data (streamkpi_schema_coverage_ratio{cluster}, once a schema_registry
 *     target has answered);
 *   "estate" (one instance): the number of configured clusters and the
 *     Kafka Connect connectors running (from the connect targets).
 */
#ifndef STREAMKPI_PLATFORM_H
#define STREAMKPI_PLATFORM_H

struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_platform;
extern const struct skpi_kpi_ops skpi_kpi_estate;

#endif
