/* assess_history.h: the assessment, one entry per UTC day, for trends.
 *
 * Each day keeps the overall level, the stage, every dimension's level and,
 * per criterion, its status and evidence number; the last assessment of a
 * day replaces earlier ones.  At most SKPI_ASSESS_HISTORY_DAYS days are
 * kept, the oldest dropped first.  A change of the overall level, the stage
 * or a dimension's level between two consecutive entries is an event.
 *
 * The saved form is one compact JSON document for the state file (arrays
 * per field, not an object per point); loading validates every field and
 * refuses garbage as a whole.  Not thread-safe: the caller serialises.
 */
#ifndef STREAMKPI_ASSESS_HISTORY_H
#define STREAMKPI_ASSESS_HISTORY_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/assess.h"
#include "streamkpi/err.h"

#define SKPI_ASSESS_HISTORY_DAYS 800          /* kept: more than two years */
#define SKPI_ASSESS_HISTORY_MAX_CRITERIA 256  /* distinct criterion ids */
#define SKPI_ASSESS_HISTORY_MAX_ID 64         /* bytes of a criterion id */
#define SKPI_ASSESS_HISTORY_MAX_EVIDENCE 1e15 /* larger magnitudes are refused */
#define SKPI_ASSESS_HISTORY_MAX_DAY 1048576L  /* later day numbers (year 4840) are refused */

typedef struct skpi_assess_history skpi_assess_history;

/* One day's scores. */
typedef struct skpi_assess_day {
  long day;  /* days since 1970-01-01 (UTC) */
  int level; /* SKPI_ASSESS_UNKNOWN when unknown */
  int stage;
  int dims[SKPI_DIM_COUNT];
} skpi_assess_day;

/* A new empty history, or NULL on OOM.  Free with skpi_assess_history_free. */
skpi_assess_history *skpi_assess_history_new(void);
void skpi_assess_history_free(skpi_assess_history *h);

/* Records a (its time decides the day; a day already kept is replaced).
 * Disabled criteria are not recorded.  SKPI_EINVAL for a time before 1970
 * or not finite; SKPI_ETOOBIG when a new criterion id would pass the cap
 * (nothing recorded); SKPI_ENOMEM. */
__attribute__((warn_unused_result)) skpi_err skpi_assess_history_record(skpi_assess_history *h,
                                                                        const skpi_assessment *a);

/* Number of days kept, and day i (oldest first); 0 when i is out of range. */
size_t skpi_assess_history_len(const skpi_assess_history *h);
int skpi_assess_history_day(const skpi_assess_history *h, size_t i, skpi_assess_day *out);

/* Status and evidence (NaN when unknown) of criterion id on day i.  Returns
 * 0 when the day has no entry for it. */
int skpi_assess_history_criterion(const skpi_assess_history *h, size_t i, const char *id,
                                  enum skpi_assess_status *st, double *value);

/* The state-file form:
 *   {"version":1,"criteria":[id...],"day":[n...],"level":[n...],"stage":[n...],
 *    "dims":[[t,g,s,o,b]...],"status":["mnu-"...],"evidence":[[x|null...]...]}
 * One status character per criterion in "criteria" order (m met, n unmet,
 * u unknown, - not recorded).  NULL on OOM; caller decrefs. */
json_t *skpi_assess_history_save(const skpi_assess_history *h);

/* Replaces h's days with doc's.  On anything malformed (types, ranges,
 * lengths, days out of order, more days than the cap) returns SKPI_ESTATE
 * with the reason in errbuf (may be NULL) and leaves h empty. */
__attribute__((warn_unused_result)) skpi_err
skpi_assess_history_load(skpi_assess_history *h, const json_t *doc, char *errbuf, size_t errlen);

/* The document of GET /api/v1/assessment/history (docs/assessment.md):
 *   {"schema_version":1,"days":["YYYY-MM-DD"...],"level":[..],"stage":[..],
 *    "dimensions":{"technology":[..],..},
 *    "criteria":{"<id>":{"status":[..],"evidence":[..]}},
 *    "events":[{"date","changes":[{"what","from","to"}],
 *               "criteria":[{"id","from","to"}]}]}
 * Unknown levels and evidence are null.  NULL on OOM; caller decrefs. */
json_t *skpi_assess_history_json(const skpi_assess_history *h);

#endif
