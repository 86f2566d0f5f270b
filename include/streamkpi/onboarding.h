/* onboarding.h: time to onboard a data stream and to deploy a streaming
 * application, from successive Kafka samples of one cluster.
 *
 * Streams: a topic first seen by the engine starts an onboarding with two
 * steps, first_message (seen -> some high watermark > 0) and first_consumer
 * (first message -> some group has committed offsets on it; 0 when a
 * group committed before the first message).  A topic whose watermark is
 * already > 0 when first seen gets first_message = 0: it was created and
 * written between two samples, and the sample interval bounds the error.
 *
 * Applications: a consumer group first seen starts a deployment with steps
 * first_commit (seen -> it has committed offsets) and caught_up (first
 * commit -> its summed offset lag is at most caught_up_lag messages).
 *
 * Baseline: the first sample a fresh engine sees (with metadata, resp. with
 * a group listing) marks every topic (resp. group) present as baseline: no
 * onboarding.  Internal topics (`__*`) are ignored.  A topic or group absent
 * for forget_after_s is forgotten, and one that then appears again starts a
 * new onboarding; so does a topic re-created under the same name (fewer
 * partitions, or a lower watermark sum when all watermarks are known).  A
 * sample without topics is taken as failed metadata and ignored for topics;
 * one with groups_ok == 0 is ignored for groups.  First-seen times, step
 * times and the histograms persist (save/load).
 *
 * Not thread-safe: the caller serialises calls.  Time is always passed in.
 */
#ifndef STREAMKPI_ONBOARDING_H
#define STREAMKPI_ONBOARDING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

typedef struct skpi_onboarding_cfg {
  int64_t caught_up_lag; /* messages; default 100 */
  double forget_after_s; /* default 600 */
  size_t max_entries;    /* topics and groups tracked, each; default 100000 */
} skpi_onboarding_cfg;

/* One topic's or group's onboarding, as the engine sees it.  Times are unix
 * seconds, -1 while the step is not reached. */
typedef struct skpi_onboarding_entry {
  int baseline;      /* present at the first sample: no onboarding */
  double first_seen;
  double step1;      /* first message (topics) / first commit (groups) */
  double step2;      /* first consumer (topics) / caught up (groups) */
} skpi_onboarding_entry;

typedef struct skpi_onboarding skpi_onboarding;

void skpi_onboarding_cfg_default(skpi_onboarding_cfg *cfg);

/* Creates an empty engine for cluster (copied); cfg may be NULL.
 * SKPI_EINVAL for out-of-range settings, SKPI_ENOMEM. */
skpi_err skpi_onboarding_new(const char *cluster, const skpi_onboarding_cfg *cfg,
                             skpi_onboarding **out);

void skpi_onboarding_free(skpi_onboarding *o);

/* Advances the onboardings with sample s taken at now. */
skpi_err skpi_onboarding_observe(skpi_onboarding *o, const skpi_ksample *s, double now);

/* Looks a topic (is_group 0) or group (is_group 1) up.  Returns 1 and fills
 * *e, or 0 when it is not tracked. */
int skpi_onboarding_get(const skpi_onboarding *o, int is_group, const char *name,
                        skpi_onboarding_entry *e);

/* Adds streamkpi_stream_onboarding_duration_seconds{cluster,step} and
 * streamkpi_app_deploy_duration_seconds{cluster,step} (histograms),
 * streamkpi_streams_onboarding_pending{cluster},
 * streamkpi_stream_onboarding_oldest_pending_age_seconds{cluster},
 * streamkpi_apps_deploy_pending{cluster},
 * streamkpi_app_deploy_oldest_pending_age_seconds{cluster} (0 when none
 * pending) and streamkpi_stream_first_seen_timestamp_seconds{cluster,topic}
 * for the pending topics. */
skpi_err skpi_onboarding_render(const skpi_onboarding *o, double now, skpi_mset *m);

/* Returns a new JSON document with entries and histograms (caller decrefs),
 * or NULL on OOM. */
json_t *skpi_onboarding_save(const skpi_onboarding *o);

/* Replaces the state with doc's.  Garbage: SKPI_EINVAL and the engine is
 * left empty (the next sample is a baseline again). */
skpi_err skpi_onboarding_load(skpi_onboarding *o, const json_t *doc);


/* Median time to onboard a stream (first seen -> first consumer) over the
 * tracked topics that onboarded while watched (baseline excluded).  Returns
 * 1 and sets *out, or 0 when there is none. */
int skpi_onboarding_median(const skpi_onboarding *o, double *out);

/* The KPI family (kpi.h): see the table in exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_onboarding;

#endif
