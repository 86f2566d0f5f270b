/* products.h: data products: per-product SLOs, cross-domain reuse,
 * declared value and ownership hygiene (level 5 of the maturity model).
 *
 * The catalog (contracts.h) is read when the family is created: products of
 * catalog.products and of the ODCS contracts in catalog.contracts_dir.  Each
 * objective a product declares becomes an SLO over events streamkpi already
 * sees, with the catalog's objective (slo_objective) and rolling window
 * (slo_window), event-weighted as the `slo` family counts them:
 *   freshness     one event per sample of a cluster holding its topics:
 *                 good when the newest message on them is at most N old.
 *                 The age comes from the watermark history: the time the
 *                 high watermark last moved.  Until a move is seen or N has
 *                 passed since the topics were first seen, the age is
 *                 unknown and no event is counted.
 *   time_lag      one event per sample: good when every group consuming its
 *                 topics is at most N behind (time lag family).
 *   availability  one event per probe of a cluster holding its topics: good
 *                 when healthy; the objective is the declared availability.
 *   dlq_ratio     one event per sample with traffic on its topics: good when
 *                 DLQ / (DLQ + source) messages in the interval is at most N
 *                 (DLQ family).
 *   retention     one event per topic-config audit: good when every topic
 *                 of it that was audited keeps data at least N.
 * A product meets its SLOs when each SLO with events has attainment at least
 * its objective; products without any event are left out of the
 * achievement ratio.
 *
 * Consumers: groups (not Dead) with a commit on a product's topics.  A
 * group's domain is the first catalog.group_domains regex it matches, else
 * the domain a product declares for it (consumers), else the domain of the
 * products owned by the team that catalog.team_regex takes from its name
 * (when those all share one domain); otherwise it is unmapped and counted
 * apart.
 *
 * Metric families (labels product, slo, consumer_domain, cross_domain):
 *   streamkpi_data_product_info, streamkpi_data_product_slo_objective_ratio,
 *   streamkpi_data_product_slo_attainment_ratio,
 *   streamkpi_data_product_slo_error_budget_remaining_ratio,
 *   streamkpi_data_product_slo_events_total, streamkpi_data_product_slo_met,
 *   streamkpi_data_product_slo_achievement_ratio,
 *   streamkpi_data_product_freshness_age_seconds,
 *   streamkpi_data_product_consumers, streamkpi_data_product_unmapped_consumers,
 *   streamkpi_data_product_reuse_ratio, streamkpi_data_product_value,
 *   streamkpi_data_product_value_declared_timestamp_seconds,
 *   streamkpi_data_product_missing_topics, streamkpi_data_product_shared_topics,
 *   streamkpi_data_product_unowned_active_topics,
 *   streamkpi_data_product_catalog_errors.
 * Persisted: the SLO buckets of every product.
 */
#ifndef STREAMKPI_PRODUCTS_H
#define STREAMKPI_PRODUCTS_H

#include <jansson.h>

/* A topic whose high watermark moved within this many seconds is active. */
#define SKPI_PRODUCTS_ACTIVE_S 3600.0

/* For the KPI instance inst of this family: a new JSON document of every
 * product with owner, domain, topics, SLO status, consumers by domain and
 * declared value, plus the hygiene lists and the catalog errors (caller
 * decrefs); NULL on OOM.  The README's "Data products" section lists its
 * fields. */
json_t *skpi_products_kpi_json(const void *inst, double now);

/* The KPI family (kpi.h): see the table in exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_products;

#endif
