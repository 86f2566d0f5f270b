/* kpi.h: the one interface every KPI family implements, and the table that
 * lists them.
 *
 * A KPI family is a state machine that observes events (events.h), renders
 * its metric families, publishes facts for the maturity assessment
 * (facts.h), and saves/loads the part of its state that cannot be rebuilt
 * from Kafka.  The assembly (app/) creates one instance per cluster for a
 * per-cluster family, or one for the estate, in the order of the table, and
 * calls every instance under one lock: no KPI needs its own.
 *
 * Adding a KPI is its module file (exporter/kpi/<name>.c with its header),
 * its unit test, and one row in skpi_kpi_table (exporter/kpi/table.c).  See
 * docs/internals/NEW-KPI.md.
 */
#ifndef STREAMKPI_KPI_H
#define STREAMKPI_KPI_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/events.h"
#include "streamkpi/expo.h"
#include "streamkpi/facts.h"

typedef struct skpi_kpi_ops skpi_kpi_ops;

/* What a KPI instance is created from.  lookup finds an instance created
 * before this one (earlier in the table) by family name and cluster (NULL
 * for an estate-wide family): a family may read another's state through
 * that family's own header, never the other way round. */
typedef struct skpi_kpi_ctx {
  const skpi_config *cfg;
  const skpi_cluster_cfg *cluster; /* NULL for an estate-wide family */
  size_t cluster_idx;
  void *(*lookup)(const struct skpi_kpi_ctx *ctx, const char *family, const char *cluster);
  void *lookup_user;
} skpi_kpi_ctx;

struct skpi_kpi_ops {
  const char *name; /* family name; its state section is "<name>" or "<name>/<cluster>" */
  int per_cluster;  /* 1: one instance per configured cluster */
  /* Creates an instance.  Returns SKPI_OK and sets *self, or an error with one
   * line in errbuf ("key: what is wrong").  A family that is switched off in
   * the config returns SKPI_OK with *self NULL: no instance. */
  skpi_err (*create)(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen);
  /* Feeds one event.  Never fails: a rejected event is logged and counted. */
  void (*observe)(void *self, const skpi_event *ev);
  /* Adds this instance's facts at now (may be NULL: no facts). */
  void (*facts)(const void *self, double now, skpi_facts *out);
  /* Adds this instance's metric families at now. */
  skpi_err (*render)(const void *self, double now, skpi_mset *m);
  /* A new JSON document of the persisted state (caller decrefs), NULL on
   * OOM; NULL function: nothing persisted. */
  json_t *(*save)(void *self, double now);
  /* Replaces the state with doc's.  On garbage: an error with the reason in
   * errbuf and the instance left fresh. */
  skpi_err (*load)(void *self, const json_t *doc, char *errbuf, size_t errlen);
  void (*free)(void *self);
};

/* The KPI table, in creation and observation order. */
extern const skpi_kpi_ops *const skpi_kpi_table[];
extern const size_t skpi_kpi_table_len;

#endif
