/* http_source.h: application targets scraped over HTTP with libcurl.
 *
 * One thread serves every configured target with a curl multi handle; each
 * target has its own interval, timeout and size cap, so a target that hangs,
 * returns garbage or streams 50 MB costs only its own error counter.  Kinds:
 *
 *   metrics          GET <url> (Prometheus text).  The family quality_family
 *                    (default events_processed_total) is summed by the label
 *                    quality_label (default status); values in `good`
 *                    (default ["success"]) are good, all are total.
 *   schema_registry  GET <url>/subjects (JSON array of strings).
 *   connect          GET <url>/connectors?expand=status (Kafka Connect).
 *
 * Each target owns a registry slot (cluster "", source "target:<name>") and
 * publishes a set after every scrape, failed or not, so its self-metrics stay
 * current; the target's health is streamkpi_target_up, not the slot's error.
 * The last good kind data (events, subjects, connectors) is kept, stale,
 * until stale_ttl_s after the last success, then dropped.
 *
 * Families (label target everywhere):
 *   streamkpi_target_up, streamkpi_target_scrape_duration_seconds,
 *   streamkpi_target_response_bytes,
 *   streamkpi_target_errors_total{reason=timeout|too_big|http_status|parse|connect}
 *   streamkpi_app_events_total{status}      counter-reset-safe sum per status
 *   streamkpi_data_quality_ratio            good/total over the last interval
 *                                           (absent when no events)
 *   streamkpi_schema_registry_subjects
 *   streamkpi_connect_connectors{state}, streamkpi_connect_tasks{state}
 *                                  (RUNNING FAILED PAUSED UNASSIGNED
 *                                   RESTARTING STOPPED UNKNOWN)
 *   streamkpi_connect_connector_running{connector},
 *   streamkpi_connect_connector_tasks{connector},
 *   streamkpi_connect_connector_tasks_running{connector}
 */
#ifndef STREAMKPI_HTTP_SOURCE_H
#define STREAMKPI_HTTP_SOURCE_H

#include <stddef.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/registry.h"

enum skpi_target_kind {
  SKPI_TARGET_METRICS = 0,
  SKPI_TARGET_SCHEMA_REGISTRY,
  SKPI_TARGET_CONNECT
};

/* One target as configured.  The source copies everything it needs, so the
 * caller keeps ownership of these strings.  Fill with
 * skpi_http_source_cfg_defaults first, then set name and url at least. */
typedef struct skpi_target_cfg {
  const char *name; /* unique; used as the target label */
  const char *url;  /* http:// or https:// base (metrics: the full URL) */
  enum skpi_target_kind kind;
  /* interval_s, timeout_s and max_bytes default to the configuration's
   * defaults (SKPI_CONFIG_TARGET_* in config.h), the one place they live. */
  double interval_s;
  double timeout_s;          /* whole transfer */
  double connect_timeout_s;  /* default 5 (capped at timeout_s) */
  double stale_ttl_s;        /* default 300 */
  size_t max_bytes;          /* response body cap */
  const char *username;      /* basic auth when not NULL */
  const char *password;
  const char *ca_file;       /* PEM bundle; NULL = system default */
  int insecure;              /* skip TLS verification */
  const char *quality_family; /* default "events_processed_total" */
  const char *quality_label;  /* default "status" */
  const char *const *good;    /* default {"success"} */
  size_t ngood;
} skpi_target_cfg;

typedef struct skpi_http_source skpi_http_source;

/* Number of values of reason in streamkpi_target_errors_total. */
#define SKPI_TARGET_NREASONS 5
/* Reason names, indexable by the errors[] of skpi_target_status. */
extern const char *const skpi_http_source_reasons[SKPI_TARGET_NREASONS];

/* A target's state, copied out for tests, the landing page and KPIs. */
typedef struct skpi_target_status {
  int up;                 /* last scrape succeeded */
  int scraped;            /* at least one scrape finished */
  double duration_s;      /* last scrape */
  size_t response_bytes;  /* body bytes of the last scrape (up to the cap) */
  unsigned long errors[SKPI_TARGET_NREASONS];
  unsigned long scrapes;
  long http_status;       /* last HTTP status, 0 when none */
  char last_error[256];
} skpi_target_status;

/* Sets every field of c to its default (name and url NULL). */
void skpi_http_source_cfg_defaults(skpi_target_cfg *c);

/* Creates a source for n targets and adds one registry slot per target.
 * reg may be NULL (nothing is published; accessors still work).  Validates
 * each config (name and url set and unique name, http/https URL, positive
 * interval and timeout, max_bytes > 0): on error returns SKPI_EINVAL and
 * writes one line naming the target into errbuf.  Starts no thread.  The
 * caller frees *out with skpi_http_source_free. */
skpi_err skpi_http_source_new(skpi_registry *reg, const skpi_target_cfg *targets, size_t n,
                              skpi_http_source **out, char *errbuf, size_t errlen);

/* Starts the scraping thread.  SKPI_EINVAL when already running. */
skpi_err skpi_http_source_start(skpi_http_source *s);

/* Stops and joins the thread (returns within about one poll interval plus
 * curl's own teardown).  Safe when not started. */
void skpi_http_source_stop(skpi_http_source *s);

/* Stops if needed and frees.  NULL is ignored. */
void skpi_http_source_free(skpi_http_source *s);

/* Scrapes every target once, in parallel, and returns when all finished
 * (each is bounded by its timeout).  For tests and one-shot runs; must not
 * be called while the thread runs (SKPI_EINVAL). */
skpi_err skpi_http_source_run_once(skpi_http_source *s);

/* Copies the status of the target named name.  SKPI_ENOENT when unknown. */
skpi_err skpi_http_source_status(skpi_http_source *s, const char *name, skpi_target_status *out);

/* Cumulative (counter-reset-safe) good and total events of one metrics
 * target, or of all metrics targets when name is NULL, for the app_ratio SLI.
 * SKPI_ENOENT when the target is unknown or no metrics target has data. */
skpi_err skpi_http_source_quality(skpi_http_source *s, const char *name, double *good,
                                  double *total);

/* Counts how many of topics[0..n) have a "<topic>-value" subject in any
 * schema_registry target's last good subject list (stale data within its TTL
 * counts).  SKPI_ENOENT when no schema_registry target has data; the share is
 * covered / n, computed by the caller. */
skpi_err skpi_http_source_schema_coverage(skpi_http_source *s, const char *const *topics,
                                          size_t n, size_t *covered);

/* Connectors in the last good answers of every connect target (stale data
 * within its TTL counts) and how many of them are RUNNING.  SKPI_ENOENT when
 * no connect target has data. */
skpi_err skpi_http_source_connect(skpi_http_source *s, size_t *connectors, size_t *running);

/* Tasks of those connectors (as their status lists them: the task
 * configurations each connector created) and how many are RUNNING.
 * SKPI_ENOENT when no connect target has data. */
skpi_err skpi_http_source_connect_tasks(skpi_http_source *s, size_t *tasks, size_t *running);

/* Builds the set the target named name would publish now (a new set with one
 * reference, the caller unrefs).  NULL when unknown or out of memory. */
skpi_mset *skpi_http_source_target_set(skpi_http_source *s, const char *name);

#endif
