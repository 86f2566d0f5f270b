/* assess.h: the maturity assessment: criteria as data rows over facts,
 * scoring, gaps and pitfalls (docs/assessment.md, docs/internals/assess.md).
 *
 * A criterion names a fact (facts.h), a scope, a comparison and a default
 * threshold.  skpi_assess_run() evaluates every criterion against one facts
 * set and the configuration and returns an immutable skpi_assessment: each
 * criterion met, unmet or unknown with its evidence; the level of each
 * dimension (model A, levels 1-5), the overall level, the adoption stage
 * (model B, stages 0-5), the gaps to the next level and the pitfalls seen.
 * The renderers (assess_report.h) and the history (assess_history.h) read
 * that one object.
 *
 * Unknown is never met and never zero: an absent or NaN fact makes its
 * criterion unknown, with the reason and the configuration that would make
 * it known.  A dimension whose criteria are all unknown has no level (-1)
 * and is left out of the overall level.
 *
 * Pure: no I/O, no clock, no globals besides the constant criteria table.
 */
#ifndef STREAMKPI_ASSESS_H
#define STREAMKPI_ASSESS_H

#include <stddef.h>

#include "streamkpi/err.h"
#include "streamkpi/facts.h"

/* Defaults and caps of the assessment. */
#define SKPI_ASSESS_SURVEY_MAX_AGE_S (180 * 86400.0) /* survey answers older are stale */
#define SKPI_ASSESS_MAX_LEVEL 5
#define SKPI_ASSESS_MAX_STAGE 5
#define SKPI_ASSESS_MAX_CLUSTERS 1024 /* clusters looked at */
#define SKPI_ASSESS_UNKNOWN (-1)      /* a level or stage without evidence */
#define SKPI_ASSESS_MAX_REASON 2048   /* bytes of one unknown reason */
#define SKPI_ASSESS_VALUE_TEXT 64     /* buffer for skpi_assess_format_value */

/* Pitfall thresholds (the point where a symptom of the model is reported). */
#define SKPI_ASSESS_PITFALL_SCHEMA_BELOW 0.5  /* schema coverage ratio */
#define SKPI_ASSESS_PITFALL_DURABLE_BELOW 0.9 /* durable topics ratio */
#define SKPI_ASSESS_PITFALL_NAMING_BELOW 0.5  /* naming conformance ratio */

enum skpi_assess_model { SKPI_ASSESS_LEVELS = 0, SKPI_ASSESS_STAGES };

enum skpi_assess_dim {
  SKPI_DIM_TECHNOLOGY = 0,
  SKPI_DIM_GOVERNANCE,
  SKPI_DIM_SKILLS,
  SKPI_DIM_OPERATIONS,
  SKPI_DIM_BUSINESS_VALUE,
  SKPI_DIM_COUNT
};

/* CLUSTER: holds when it holds on every production cluster, the evidence
 * being the worst one.  ANY_CLUSTER: holds when it holds on at least one
 * production cluster, the evidence being the best one.  ORG: one value for
 * the organisation. */
enum skpi_assess_scope { SKPI_SCOPE_CLUSTER = 0, SKPI_SCOPE_ANY_CLUSTER, SKPI_SCOPE_ORG };

enum skpi_assess_cmp { SKPI_CMP_GE = 0, SKPI_CMP_GT, SKPI_CMP_LE, SKPI_CMP_LT, SKPI_CMP_EQ };

enum skpi_assess_status { SKPI_ST_UNKNOWN = 0, SKPI_ST_UNMET, SKPI_ST_MET };

/* One criterion: a row of data.  level is 1-5 for model A and the stage 1-5
 * for model B (whose dim only says where the evidence belongs). */
typedef struct skpi_criterion {
  const char *id; /* stable snake_case, e.g. "l2_tech_streams" */
  enum skpi_assess_model model;
  int level;
  enum skpi_assess_dim dim;
  const char *fact; /* a facts.h name or "survey.<item>" */
  enum skpi_assess_scope scope;
  enum skpi_assess_cmp cmp;
  double threshold; /* default, in unit */
  const char *unit; /* "count", "ratio", "seconds", "bool", "score" */
  const char *title;
  const char *step; /* the roadmap step that closes it */
  const char *how;  /* what to configure to make it known */
} skpi_criterion;

/* The compiled-in criteria, model A first then model B, each by level. */
const skpi_criterion *skpi_assess_criteria(size_t *n);
/* The criterion with that id, or NULL. */
const skpi_criterion *skpi_assess_criterion(const char *id);

/* ---- configuration (filled by the caller from the typed config) ---- */

typedef struct skpi_assess_threshold {
  const char *id;
  double value;
  int line; /* config line, for errors */
} skpi_assess_threshold;

typedef struct skpi_assess_toggle {
  const char *id;
  int enabled;
  int line;
} skpi_assess_toggle;

/* A declared survey answer: item (e.g. "training"), score 1-5, the unix
 * time it was given. */
typedef struct skpi_assess_answer {
  const char *item;
  double score;
  double date;
  int line;
} skpi_assess_answer;

typedef struct skpi_assess_cluster {
  const char *name;
  int production; /* 1: counts for cluster criteria (all count when none is) */
} skpi_assess_cluster;

/* Everything borrowed; only needed during validate and run. */
typedef struct skpi_assess_cfg {
  const skpi_assess_threshold *thresholds;
  size_t nthresholds;
  const skpi_assess_toggle *toggles;
  size_t ntoggles;
  const skpi_assess_answer *survey;
  size_t nsurvey;
  double survey_max_age_s; /* <= 0: SKPI_ASSESS_SURVEY_MAX_AGE_S */
  const skpi_assess_cluster *clusters;
  size_t nclusters; /* 0: the clusters the facts name */
} skpi_assess_cfg;

/* Where validation failed: the entry's config line, the key
 * ("maturity.thresholds", "maturity.criteria", "maturity.survey") and a
 * message; the caller prints "FILE:LINE: KEY: MSG". */
typedef struct skpi_assess_cfg_error {
  int line;
  const char *key;
  char msg[256];
} skpi_assess_cfg_error;

/* Checks cfg: unknown criterion ids, unknown survey items, thresholds out
 * of their unit's range, scores outside 1-5, dates not positive, negative
 * max age.  SKPI_OK, or SKPI_EINVAL with the first problem in *err (may be
 * NULL). */
__attribute__((warn_unused_result)) skpi_err skpi_assess_validate(const skpi_assess_cfg *cfg,
                                                                  skpi_assess_cfg_error *err);

/* The survey items the criteria ask for ("training", ...), NULL-terminated. */
const char *const *skpi_assess_survey_items(void);

/* ---- the assessment ---- */

/* One cluster's evidence for a cluster-scope criterion. */
typedef struct skpi_assess_cev {
  const char *cluster;
  int production;
  double value; /* NaN: unknown */
  enum skpi_assess_status status;
} skpi_assess_cev;

typedef struct skpi_assess_result {
  const skpi_criterion *c;
  int enabled;
  double threshold;               /* effective (override or default) */
  enum skpi_assess_status status; /* disabled criteria: as evaluated, not counted */
  double value;                   /* evidence; NaN when unknown */
  const char *cluster;            /* cluster that gave the evidence, or NULL */
  enum skpi_prov prov;
  double as_of;         /* 0 unknown */
  int stale;            /* a declared answer older than the max age (then unknown) */
  char *reason;         /* unknown: why and what to configure; else NULL */
  skpi_assess_cev *per; /* cluster scopes: every cluster looked at */
  size_t nper;
} skpi_assess_result;

typedef struct skpi_assess_dim_result {
  int level;                  /* 0-5, or SKPI_ASSESS_UNKNOWN */
  size_t met, unmet, unknown; /* enabled criteria */
  size_t declared;            /* known criteria resting on declared answers */
  size_t observed;            /* known criteria resting on observed facts */
} skpi_assess_dim_result;

/* A gap: a criterion of the next level not met, with its relative
 * distance to the threshold (0 at the threshold; NaN when unknown). */
typedef struct skpi_assess_gap {
  size_t crit; /* index into results */
  double distance;
} skpi_assess_gap;

enum skpi_pitfall_state { SKPI_PF_UNCHECKED = -1, SKPI_PF_CLEAR = 0, SKPI_PF_DETECTED = 1 };

typedef struct skpi_assess_pitfall {
  const char *id; /* "no_schema_management", ... */
  const char *title;
  const char *advice;
  enum skpi_pitfall_state state;
  char *evidence; /* detected: what was seen; unchecked: which facts are missing */
} skpi_assess_pitfall;

typedef struct skpi_assessment {
  double time;
  int level; /* overall: 0-5 or SKPI_ASSESS_UNKNOWN */
  int stage; /* 0-5 or SKPI_ASSESS_UNKNOWN */
  size_t stage_known;
  skpi_assess_dim_result dims[SKPI_DIM_COUNT];
  skpi_assess_result *results; /* one per criterion, table order */
  size_t nresults;
  skpi_assess_gap *gaps[SKPI_DIM_COUNT]; /* next level, closest first, unknown last */
  size_t ngaps[SKPI_DIM_COUNT];
  skpi_assess_gap *stage_gaps; /* next stage, same order */
  size_t nstage_gaps;
  skpi_assess_pitfall *pitfalls;
  size_t npitfalls;
  char **clusters; /* clusters looked at */
  int *production;
  size_t nclusters;
  double survey_max_age_s;
} skpi_assessment;

/* Evaluates every criterion on facts (borrowed; may be NULL: all unknown)
 * at time now.  cfg must have passed skpi_assess_validate (unknown ids are
 * ignored here).  On success *out is a new assessment the caller frees with
 * skpi_assess_free; it borrows nothing.  SKPI_EINVAL for a NULL cfg or out,
 * SKPI_ENOMEM. */
__attribute__((warn_unused_result)) skpi_err skpi_assess_run(const skpi_assess_cfg *cfg,
                                                             const skpi_facts *facts, double now,
                                                             skpi_assessment **out);
void skpi_assess_free(skpi_assessment *a);

/* The result for criterion id, or NULL. */
const skpi_assess_result *skpi_assess_find(const skpi_assessment *a, const char *id);

/* 1 when result i is the first that rests on a declared answer of its
 * fact (so each answer is listed once), else 0. */
int skpi_assess_is_answer(const skpi_assessment *a, size_t i);

/* Names used in every output: "technology", ...; "met", ...; ">=", ...;
 * "cluster", ... */
const char *skpi_assess_dim_name(enum skpi_assess_dim d);
const char *skpi_assess_status_name(enum skpi_assess_status s);
const char *skpi_assess_cmp_name(enum skpi_assess_cmp c);
const char *skpi_assess_scope_name(enum skpi_assess_scope s);

/* Short names of level 0-5 ("departmental", ...) and stage 0-5 ("early
 * production", ...); "unknown" otherwise. */
const char *skpi_assess_level_name(int level);
const char *skpi_assess_stage_name(int stage);

/* Writes unix time t with strftime format fmt (UTC) into out; "unknown"
 * when t is not a positive finite time. */
void skpi_assess_format_time(double t, const char *fmt, char *out, size_t len);

/* Writes value in unit for humans ("99.95%", "2.0 h", "3", "yes", "4/5";
 * "unknown" for NaN) into out (always terminated). */
void skpi_assess_format_value(double value, const char *unit, char *out, size_t len);

#endif
