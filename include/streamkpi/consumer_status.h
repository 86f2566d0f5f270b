/* consumer_status.h: one status per consumer group, judged over a window of
 * Kafka samples, in the spirit of Burrow's evaluation rules but without
 * alarms on idle consumers.
 *
 * Every (group, topic, partition) with a committed offset keeps the points
 * (time, committed offset, high watermark, lag) of the samples within the
 * window, plus the newest one older than the window as its anchor.  A
 * partition is, first match wins:
 *   ERROR    its committed offset is below the oldest offset still held: the
 *            records in between were deleted before the group read them;
 *   REWIND   its committed offset went backwards within the window;
 *   OK       lag 0, whether or not traffic flows (an idle, caught-up
 *            consumer is never an alarm);
 *   STALLED  the committed offset did not change over the whole window while
 *            lag stayed above 0, and the group has members;
 *   STOPPED  the same with no members left in the group;
 *   WARNING  the committed offset moved, but the lag grew or held at every
 *            commit within the window (points where the committed offset
 *            changed, and the newest) and ended higher than it started;
 *   OK       otherwise.
 * Librdkafka only shows committed offsets, not commit requests, so "no
 * commits" means the committed offset did not change.  The window rules
 * need points spanning the whole window (at least SKPI_CSTATUS_MIN_POINTS):
 * until then a partition is OK.  A high watermark that goes backwards means
 * the topic was recreated: the partition's points start over.  The group's
 * status is its worst partition's (ERROR > STOPPED > STALLED > REWIND >
 * WARNING > OK) with that partition's reason.  A group whose offsets could
 * not be read keeps its last status; a group with no partition of known lag
 * has none (unknown: no series).
 *
 * Metric family: kafka_consumergroup_status{cluster,consumergroup,status},
 * one series per status, 1 for the current one and 0 for the others.
 * Nothing is persisted: the window refills from Kafka after a restart.
 *
 * Not thread-safe: the caller serialises calls.  Time is always passed in.
 */
#ifndef STREAMKPI_CONSUMER_STATUS_H
#define STREAMKPI_CONSUMER_STATUS_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/err.h"
#include "streamkpi/expo.h"
#include "streamkpi/sample.h"

/* Defaults of the config keys consumer_status.window and
 * consumer_status.min_points. */
#define SKPI_CSTATUS_WINDOW_S 600.0
#define SKPI_CSTATUS_MIN_POINTS 3
/* Points kept per partition.  Samples closer than window / (max - 4)
 * replace the newest point, so a judgement may come up to that much late,
 * never early. */
#define SKPI_CSTATUS_MAX_POINTS 64
/* Group-partitions tracked per cluster; those past the cap are not judged. */
#define SKPI_CSTATUS_MAX_TRACKED 200000

/* In order of severity, lowest first. */
enum skpi_cstatus_st {
  SKPI_CSTATUS_OK = 0,
  SKPI_CSTATUS_WARNING,
  SKPI_CSTATUS_REWIND,
  SKPI_CSTATUS_STALLED,
  SKPI_CSTATUS_STOPPED,
  SKPI_CSTATUS_ERROR,
  SKPI_CSTATUS_COUNT
};

typedef struct skpi_cstatus_cfg {
  double window_s;   /* > 0 */
  size_t min_points; /* >= 2 */
  size_t max_points; /* > min_points, >= 6, <= SKPI_CSTATUS_MAX_POINTS */
  size_t max_tracked;
} skpi_cstatus_cfg;

typedef struct skpi_cstatus skpi_cstatus;

void skpi_cstatus_cfg_default(skpi_cstatus_cfg *cfg);

/* Creates an evaluator for cluster (copied); cfg NULL takes the defaults.
 * SKPI_EINVAL for settings out of range, SKPI_ENOMEM. */
skpi_err skpi_cstatus_new(const char *cluster, const skpi_cstatus_cfg *cfg, skpi_cstatus **out);

void skpi_cstatus_free(skpi_cstatus *cs);

/* Adds the sample's committed offsets at now and judges every group.  A
 * sample without group listing (groups_ok 0) changes nothing.  SKPI_ENOMEM
 * leaves the previous judgement in place. */
skpi_err skpi_cstatus_observe(skpi_cstatus *cs, const skpi_ksample *s, double now);

/* The status of group: returns 1 and sets *st and *reason (borrowed until
 * the next observe), or 0 when the group is unknown or has no status. */
int skpi_cstatus_get(const skpi_cstatus *cs, const char *group, enum skpi_cstatus_st *st,
                     const char **reason);

/* "OK", "WARNING", "REWIND", "STALLED", "STOPPED", "ERROR". */
const char *skpi_cstatus_name(enum skpi_cstatus_st st);

/* Group-partitions left unjudged because of max_tracked in the last sample. */
size_t skpi_cstatus_untracked(const skpi_cstatus *cs);

/* Adds kafka_consumergroup_status (see above). */
skpi_err skpi_cstatus_render(const skpi_cstatus *cs, skpi_mset *m);

/* A new JSON object {"cluster", "groups": [{"group", "status", "reason",
 * "lag", "members"}]} (caller decrefs); status "unknown" and reason say why
 * for groups without one.  NULL on OOM. */
json_t *skpi_cstatus_json(const skpi_cstatus *cs);

/* The same for a KPI instance of the family below (as found by the app's
 * lookup), NULL for a NULL instance or on OOM. */
json_t *skpi_consumer_status_json(const void *inst);

/* The KPI family (kpi.h), per cluster: see exporter/kpi/table.c. */
struct skpi_kpi_ops;
extern const struct skpi_kpi_ops skpi_kpi_consumer_status;

#endif
