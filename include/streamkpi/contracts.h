/* contracts.h: the data-product catalog, from the config and from ODCS v3
 * data contracts.
 *
 * A catalog is a neutral value: products with their owner, domain, topics,
 * objectives and declared value, each with where it was declared
 * ("FILE:LINE").  The config's catalog.products come first, then every
 * `*.yaml` / `*.yml` file of catalog.contracts_dir in name order.  A file
 * that cannot be used (too big, not YAML, an alias or anchor, an unknown
 * apiVersion, a missing field) and a product declared twice are errors of
 * the catalog, one line each naming the file and line; the other products
 * still load.
 *
 * From an Open Data Contract Standard v3 file the subset read is: apiVersion
 * (v3.x), kind (DataContract), id, dataProduct (else name), domain,
 * team.name (the owner), the physicalName of schema objects whose
 * physicalType is topic (or of every object when a server has type kafka),
 * and slaProperties latency / freshness / frequency (freshness objective),
 * retention, availability (a percentage), plus customProperties timeLag,
 * dlqRatio and valueTarget.  Everything else is ignored.
 *
 * Not thread-safe; no global state.
 */
#ifndef STREAMKPI_CONTRACTS_H
#define STREAMKPI_CONTRACTS_H

#include <stddef.h>

#include "streamkpi/config.h"
#include "streamkpi/err.h"

#define SKPI_CONTRACT_MAX_BYTES (10 * 1024 * 1024) /* larger files are refused unread */
#define SKPI_CONTRACT_MAX_FILES 1024
#define SKPI_CONTRACT_MAX_DEPTH 32

typedef struct skpi_product_consumer {
  char *group;
  char *domain;
} skpi_product_consumer;

typedef struct skpi_product {
  char *name;
  char *owner;
  char *domain;
  char *description; /* NULL when none */
  char *origin;      /* "FILE:LINE" where it was declared */
  char *contract_id; /* NULL for a config product */
  char **topics;
  size_t ntopics;
  /* Objectives, NaN when not declared (see config.h, skpi_config_product). */
  double freshness_s, time_lag_s, availability, dlq_ratio, retention_s;
  skpi_product_consumer *consumers;
  size_t nconsumers;
  double value_amount; /* valid when value_date > 0 */
  char *value_currency, *value_period;
  double value_date;
  char *value_target; /* metrics target counting the value delivered; NULL none */
} skpi_product;

typedef struct skpi_catalog {
  skpi_product *v;
  size_t n;
  char **errors; /* one line each: "FILE:LINE: what is wrong" */
  size_t nerrors;
} skpi_catalog;

/* Parses one contract held in text[0..len) that came from file (for
 * messages).  On SKPI_OK *out holds a product the caller frees with
 * skpi_product_clear.  On SKPI_EINVAL one line "FILE:LINE: what" in err
 * and *out is left empty; SKPI_ENOMEM.  Bounded: refuses more than
 * SKPI_CONTRACT_MAX_BYTES, nesting deeper than SKPI_CONTRACT_MAX_DEPTH,
 * and every YAML alias or anchor. */
skpi_err skpi_contract_parse(const char *file, const char *text, size_t len, skpi_product *out,
                             char *err, size_t errlen);

/* Frees what a product owns and zeroes it. */
void skpi_product_clear(skpi_product *p);

/* Builds the catalog of cfg (products of the config, then the contracts of
 * catalog.contracts_dir).  Errors of single products or files are kept in
 * (*out)->errors; the call fails only on SKPI_ENOMEM.  Free with
 * skpi_catalog_free. */
skpi_err skpi_catalog_load(const skpi_config *cfg, skpi_catalog **out);

/* Frees a catalog and everything it owns; NULL is fine. */
void skpi_catalog_free(skpi_catalog *c);

#endif
