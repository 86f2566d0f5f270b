/* assess.c: evaluates the criteria over facts, scores both models, lists
 * the gaps to the next level and the pitfalls (see assess.h). */
#include "streamkpi/assess.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define SURVEY_PREFIX "survey."

static const char *const survey_items[] = {
    "training",          "community_of_practice",    "on_call",
    "value_per_product", "stakeholder_satisfaction", NULL};

const char *const *skpi_assess_survey_items(void) {
  return survey_items;
}

const char *skpi_assess_dim_name(enum skpi_assess_dim d) {
  static const char *const names[] = {"technology", "governance", "skills", "operations",
                                      "business_value"};
  return (unsigned)d < SKPI_DIM_COUNT ? names[d] : "unknown";
}

const char *skpi_assess_status_name(enum skpi_assess_status s) {
  switch(s) {
  case SKPI_ST_MET: return "met";
  case SKPI_ST_UNMET: return "unmet";
  default: return "unknown";
  }
}

const char *skpi_assess_cmp_name(enum skpi_assess_cmp c) {
  static const char *const names[] = {">=", ">", "<=", "<", "=="};
  return (unsigned)c <= SKPI_CMP_EQ ? names[c] : "?";
}

const char *skpi_assess_scope_name(enum skpi_assess_scope s) {
  static const char *const names[] = {"cluster", "any_cluster", "organisation"};
  return (unsigned)s <= SKPI_SCOPE_ORG ? names[s] : "?";
}

const char *skpi_assess_level_name(int level) {
  static const char *const names[] = {"below level 1", "ad hoc",    "departmental",
                                      "enterprise",    "optimised", "data products"};
  return level >= 0 && level <= SKPI_ASSESS_MAX_LEVEL ? names[level] : "unknown";
}

const char *skpi_assess_stage_name(int stage) {
  static const char *const names[] = {"pre-streaming",    "awareness and pilot",
                                      "early production", "mission-critical",
                                      "global",           "central nervous system"};
  return stage >= 0 && stage <= SKPI_ASSESS_MAX_STAGE ? names[stage] : "unknown";
}

void skpi_assess_format_time(double t, const char *fmt, char *out, size_t len) {
  time_t tt = (time_t)t;
  struct tm tm;
  if(!out || !len)
    return;
  if(!isfinite(t) || t <= 0 || !gmtime_r(&tt, &tm) || !strftime(out, len, fmt, &tm))
    snprintf(out, len, "unknown");
}

void skpi_assess_format_value(double v, const char *unit, char *out, size_t len) {
  if(!out || !len)
    return;
  const char *u = unit ? unit : "";
  if(isnan(v))
    snprintf(out, len, "unknown");
  else if(strcmp(u, "ratio") == 0)
    snprintf(out, len, "%.4g%%", v * 100);
  else if(strcmp(u, "bool") == 0)
    snprintf(out, len, "%s", v >= 1 ? "yes" : "no");
  else if(strcmp(u, "score") == 0)
    snprintf(out, len, "%g/5", v);
  else if(strcmp(u, "seconds") == 0) {
    double a = fabs(v);
    if(a < 1)
      snprintf(out, len, "%.3g ms", v * 1000);
    else if(a < 120)
      snprintf(out, len, "%.3g s", v);
    else if(a < 7200)
      snprintf(out, len, "%.3g min", v / 60);
    else if(a < 172800)
      snprintf(out, len, "%.3g h", v / 3600);
    else
      snprintf(out, len, "%.3g d", v / 86400);
  } else
    snprintf(out, len, "%.6g", v);
}

/* ---- validation ---- */

static int known_item(const char *item) {
  for(size_t i = 0; item && survey_items[i]; i++)
    if(strcmp(item, survey_items[i]) == 0)
      return 1;
  return 0;
}

static skpi_err cfg_fail(skpi_assess_cfg_error *err, int line, const char *key, const char *fmt,
                         const char *what) {
  if(err) {
    err->line = line;
    err->key = key;
    snprintf(err->msg, sizeof(err->msg), fmt, what ? what : "(null)");
  }
  return SKPI_EINVAL;
}

static int threshold_in_range(const skpi_criterion *c, double v) {
  if(!isfinite(v))
    return 0;
  if(strcmp(c->unit, "ratio") == 0 || strcmp(c->unit, "bool") == 0)
    return v >= 0 && v <= 1;
  if(strcmp(c->unit, "score") == 0)
    return v >= 1 && v <= 5;
  return v >= 0;
}

skpi_err skpi_assess_validate(const skpi_assess_cfg *cfg, skpi_assess_cfg_error *err) {
  if(!cfg)
    return cfg_fail(err, 0, "maturity", "%s", "no configuration");
  for(size_t i = 0; i < cfg->nthresholds; i++) {
    const skpi_assess_threshold *t = &cfg->thresholds[i];
    const skpi_criterion *c = skpi_assess_criterion(t->id);
    if(!c)
      return cfg_fail(err, t->line, "maturity.thresholds", "unknown criterion \"%s\"", t->id);
    if(!threshold_in_range(c, t->value))
      return cfg_fail(err, t->line, "maturity.thresholds",
                      "threshold of \"%s\" is out of range for its unit", t->id);
  }
  for(size_t i = 0; i < cfg->ntoggles; i++) {
    const skpi_assess_toggle *t = &cfg->toggles[i];
    if(!skpi_assess_criterion(t->id))
      return cfg_fail(err, t->line, "maturity.criteria", "unknown criterion \"%s\"", t->id);
  }
  for(size_t i = 0; i < cfg->nsurvey; i++) {
    const skpi_assess_answer *s = &cfg->survey[i];
    if(!known_item(s->item))
      return cfg_fail(err, s->line, "maturity.survey", "unknown survey item \"%s\"", s->item);
    if(!(s->score >= 1 && s->score <= 5))
      return cfg_fail(err, s->line, "maturity.survey", "score of \"%s\" must be 1 to 5", s->item);
    if(!(isfinite(s->date) && s->date > 0))
      return cfg_fail(err, s->line, "maturity.survey", "answer \"%s\" needs a date", s->item);
  }
  if(!(cfg->survey_max_age_s >= 0) || isinf(cfg->survey_max_age_s))
    return cfg_fail(err, 0, "maturity.survey_max_age", "%s", "must be a positive duration");
  return SKPI_OK;
}

/* ---- evaluation ---- */

typedef struct evidence {
  double value; /* NaN unknown */
  enum skpi_prov prov;
  double as_of;
  int stale;
  char *reason; /* owned; unknown only */
} evidence;

static char *dupf(const char *fmt, const char *a, const char *b, const char *c) {
  char tmp[SKPI_ASSESS_MAX_REASON];
  snprintf(tmp, sizeof(tmp), fmt, a ? a : "", b ? b : "", c ? c : "");
  return strdup(tmp);
}

/* Looks up fact name for cluster (NULL: organisation); survey items come
 * from the configuration first.  Returns 0, or -1 on OOM. */
static int lookup(const skpi_assess_cfg *cfg, double max_age, const skpi_facts *facts,
                  const skpi_criterion *c, const char *cluster, double now, evidence *ev) {
  memset(ev, 0, sizeof(*ev));
  ev->value = NAN;
  const char *name = c->fact;
  if(strncmp(name, SURVEY_PREFIX, strlen(SURVEY_PREFIX)) == 0) {
    const skpi_assess_answer *ans = NULL;
    for(size_t i = 0; i < cfg->nsurvey; i++)
      if(cfg->survey[i].item && strcmp(cfg->survey[i].item, name + strlen(SURVEY_PREFIX)) == 0)
        ans = &cfg->survey[i]; /* the last answer wins */
    skpi_fact tmp;
    const skpi_fact *f = NULL;
    if(ans) {
      tmp = (skpi_fact){name, NULL, ans->score, "score", SKPI_PROV_DECLARED, ans->date, NULL};
      f = &tmp;
    } else
      f = skpi_facts_get(facts, name, NULL);
    if(f && !isnan(f->value)) {
      ev->prov = f->prov;
      ev->as_of = f->as_of;
      if(now - f->as_of > max_age) {
        char day[32], age[32];
        skpi_assess_format_time(f->as_of, "%Y-%m-%d", day, sizeof(day));
        snprintf(age, sizeof(age), "%.0f", max_age / 86400);
        ev->stale = 1;
        ev->reason = dupf("The answer given on %s is older than %s days and counts as unknown "
                          "until renewed. %s",
                          day, age, c->how);
        return ev->reason ? 0 : -1;
      }
      ev->value = f->value;
      return 0;
    }
  }
  const skpi_fact *f = skpi_facts_get(facts, name, cluster);
  if(f && !isnan(f->value)) {
    ev->value = f->value;
    ev->prov = f->prov;
    ev->as_of = f->as_of;
    return 0;
  }
  if(f) {
    ev->prov = f->prov;
    const char *why = f->reason && *f->reason ? f->reason : "The value could not be measured";
    size_t n = strlen(why);
    ev->reason = dupf("%s%s%s", why, why[n - 1] == '.' ? " " : ". ", c->how);
  } else
    ev->reason =
        dupf("Nothing publishes \"%s\"%s. %s", name, cluster ? " for this cluster" : "", c->how);
  return ev->reason ? 0 : -1;
}

static int compare(double v, enum skpi_assess_cmp cmp, double thr) {
  switch(cmp) {
  case SKPI_CMP_GE: return v >= thr;
  case SKPI_CMP_GT: return v > thr;
  case SKPI_CMP_LE: return v <= thr;
  case SKPI_CMP_LT: return v < thr;
  case SKPI_CMP_EQ: return v == thr;
  }
  return 0;
}

/* How far v is from satisfying the comparison, relative to the threshold:
 * <= 0 when satisfied (except strict comparisons at the threshold), larger
 * is worse. */
static double distance(double v, enum skpi_assess_cmp cmp, double thr) {
  double scale = thr != 0 ? fabs(thr) : 1;
  switch(cmp) {
  case SKPI_CMP_GE:
  case SKPI_CMP_GT: return (thr - v) / scale;
  case SKPI_CMP_LE:
  case SKPI_CMP_LT: return (v - thr) / scale;
  case SKPI_CMP_EQ: return fabs(v - thr) / scale;
  }
  return 0;
}

static double effective_threshold(const skpi_assess_cfg *cfg, const skpi_criterion *c) {
  double thr = c->threshold;
  for(size_t i = 0; i < cfg->nthresholds; i++)
    if(cfg->thresholds[i].id && strcmp(cfg->thresholds[i].id, c->id) == 0)
      thr = cfg->thresholds[i].value;
  return thr;
}

static int is_enabled(const skpi_assess_cfg *cfg, const skpi_criterion *c) {
  int on = 1;
  for(size_t i = 0; i < cfg->ntoggles; i++)
    if(cfg->toggles[i].id && strcmp(cfg->toggles[i].id, c->id) == 0)
      on = cfg->toggles[i].enabled != 0;
  return on;
}

static void take_evidence(skpi_assess_result *r, evidence *ev) {
  r->value = ev->value;
  r->prov = ev->prov;
  r->as_of = ev->as_of;
  r->stale = ev->stale;
  free(r->reason);
  r->reason = ev->reason;
  ev->reason = NULL;
}

static int eval_org(const skpi_assess_cfg *cfg, double max_age, const skpi_facts *facts, double now,
                    skpi_assess_result *r) {
  evidence ev;
  if(lookup(cfg, max_age, facts, r->c, NULL, now, &ev))
    return -1;
  take_evidence(r, &ev);
  r->status = isnan(r->value)                              ? SKPI_ST_UNKNOWN
              : compare(r->value, r->c->cmp, r->threshold) ? SKPI_ST_MET
                                                           : SKPI_ST_UNMET;
  return 0;
}

/* Cluster scopes: every cluster is looked at and kept for display; only
 * production clusters decide. */
static int eval_clusters(const skpi_assess_cfg *cfg, double max_age, const skpi_facts *facts,
                         double now, const skpi_assessment *a, skpi_assess_result *r) {
  const skpi_criterion *c = r->c;
  int all = c->scope == SKPI_SCOPE_CLUSTER;
  r->per = calloc(a->nclusters ? a->nclusters : 1, sizeof(*r->per));
  if(!r->per)
    return -1;
  ssize_t pick_unmet = -1, pick_met = -1, first_unknown = -1;
  double d_unmet = 0, d_met = 0;
  evidence evs[2] = {{.value = NAN}, {.value = NAN}}; /* [0] picked, [1] first unknown */
  for(size_t i = 0; i < a->nclusters; i++) {
    evidence ev;
    if(lookup(cfg, max_age, facts, c, a->clusters[i], now, &ev))
      goto oom;
    skpi_assess_cev *p = &r->per[r->nper++];
    p->cluster = a->clusters[i];
    p->production = a->production[i];
    p->value = ev.value;
    p->status = isnan(ev.value)                           ? SKPI_ST_UNKNOWN
                : compare(ev.value, c->cmp, r->threshold) ? SKPI_ST_MET
                                                          : SKPI_ST_UNMET;
    if(!p->production) {
      free(ev.reason);
      continue;
    }
    double d = isnan(ev.value) ? 0 : distance(ev.value, c->cmp, r->threshold);
    if(p->status == SKPI_ST_UNKNOWN && first_unknown < 0) {
      first_unknown = (ssize_t)i;
      evs[1] = ev;
      continue;
    }
    /* CLUSTER keeps the worst of each kind, ANY the best. */
    int better_unmet =
        p->status == SKPI_ST_UNMET && (pick_unmet < 0 || (all ? d > d_unmet : d < d_unmet));
    int better_met = p->status == SKPI_ST_MET && (pick_met < 0 || (all ? d > d_met : d < d_met));
    if(better_unmet) {
      pick_unmet = (ssize_t)i;
      d_unmet = d;
    }
    if(better_met) {
      pick_met = (ssize_t)i;
      d_met = d;
    }
    free(ev.reason);
  }
  ssize_t pick = -1;
  if(all)
    pick = pick_unmet >= 0 ? pick_unmet : first_unknown >= 0 ? -1 : pick_met;
  else
    pick = pick_met >= 0 ? pick_met : first_unknown >= 0 ? -1 : pick_unmet;
  if(pick >= 0) {
    if(lookup(cfg, max_age, facts, c, a->clusters[pick], now, &evs[0]))
      goto oom;
    take_evidence(r, &evs[0]);
    r->cluster = a->clusters[pick];
    r->status = r->per[pick].status;
    free(evs[1].reason);
    return 0;
  }
  r->status = SKPI_ST_UNKNOWN;
  if(first_unknown >= 0) {
    char *why = NULL;
    r->cluster = a->clusters[first_unknown];
    if(evs[1].reason) {
      why = dupf("Cluster %s: %s%s", a->clusters[first_unknown], evs[1].reason, NULL);
      free(evs[1].reason);
      if(!why)
        return -1;
      evs[1].reason = why;
    }
    take_evidence(r, &evs[1]);
    r->value = NAN;
    return 0;
  }
  free(r->reason);
  r->reason = dupf("No cluster is configured. %s%s%s", c->how, NULL, NULL);
  return r->reason ? 0 : -1;
oom:
  free(evs[1].reason);
  return -1;
}

/* ---- scoring ---- */

static int level_of(const skpi_assessment *a, enum skpi_assess_model model, int dim, int maxlvl,
                    size_t *known) {
  int level = 0, stop = 0;
  *known = 0;
  for(size_t i = 0; i < a->nresults; i++) {
    const skpi_assess_result *r = &a->results[i];
    if(r->enabled && r->c->model == model && (dim < 0 || (int)r->c->dim == dim) &&
       r->status != SKPI_ST_UNKNOWN)
      (*known)++;
  }
  if(!*known)
    return SKPI_ASSESS_UNKNOWN;
  for(int l = 1; l <= maxlvl && !stop; l++) {
    for(size_t i = 0; i < a->nresults; i++) {
      const skpi_assess_result *r = &a->results[i];
      if(r->enabled && r->c->model == model && (dim < 0 || (int)r->c->dim == dim) &&
         r->c->level == l && r->status != SKPI_ST_MET)
        stop = 1;
    }
    if(!stop)
      level = l;
  }
  return level;
}

static int gap_cmp(const void *pa, const void *pb) {
  const skpi_assess_gap *x = pa, *y = pb;
  int xn = isnan(x->distance), yn = isnan(y->distance);
  if(xn != yn)
    return xn - yn;
  if(!xn && x->distance != y->distance)
    return x->distance < y->distance ? -1 : 1;
  return x->crit < y->crit ? -1 : x->crit > y->crit;
}

/* The not-met criteria of the first level above `from` that has any. */
static int collect_gaps(skpi_assessment *a, enum skpi_assess_model model, int dim, int from,
                        int maxlvl, skpi_assess_gap **out, size_t *nout) {
  *out = NULL;
  *nout = 0;
  for(int l = (from < 0 ? 0 : from) + 1; l <= maxlvl; l++) {
    for(size_t i = 0; i < a->nresults; i++) {
      const skpi_assess_result *r = &a->results[i];
      if(!r->enabled || r->c->model != model || (dim >= 0 && (int)r->c->dim != dim) ||
         r->c->level != l || r->status == SKPI_ST_MET)
        continue;
      if(!*out) {
        *out = calloc(a->nresults, sizeof(**out));
        if(!*out)
          return -1;
      }
      double d = r->status == SKPI_ST_UNKNOWN ? NAN : distance(r->value, r->c->cmp, r->threshold);
      (*out)[(*nout)++] = (skpi_assess_gap){i, isnan(d) ? d : (d < 0 ? 0 : d)};
    }
    if(*nout) {
      qsort(*out, *nout, sizeof(**out), gap_cmp);
      return 0;
    }
  }
  return 0;
}

/* ---- pitfalls ---- */

/* The lowest (or highest) value of fact over production clusters.  Returns
 * the number of production clusters where it is known. */
static size_t prod_extreme(const skpi_assessment *a, const skpi_facts *facts, const char *name,
                           int highest, double *v, const char **cluster) {
  size_t n = 0;
  *v = NAN;
  *cluster = NULL;
  for(size_t i = 0; i < a->nclusters; i++) {
    if(!a->production[i])
      continue;
    const skpi_fact *f = skpi_facts_get(facts, name, a->clusters[i]);
    if(!f || isnan(f->value))
      continue;
    if(!n++ || (highest ? f->value > *v : f->value < *v)) {
      *v = f->value;
      *cluster = a->clusters[i];
    }
  }
  return n;
}

static double org_value(const skpi_facts *facts, const char *name) {
  const skpi_fact *f = skpi_facts_get(facts, name, NULL);
  return f ? f->value : NAN;
}

typedef struct pf_def {
  const char *id, *title, *advice;
} pf_def;

static const pf_def pf_defs[] = {
    {"no_schema_management", "No schema management",
     "Register schemas and enforce data contracts before more teams depend on the data."},
    {"no_disaster_recovery", "No disaster recovery",
     "Replicate topics three times within a cluster and mirror critical topics to a second "
     "cluster."},
    {"siloed_clusters", "Siloed clusters",
     "Connect the clusters (replication, shared standards) or consolidate them."},
    {"inconsistent_naming", "Inconsistent naming",
     "Publish one naming convention and check new topics against it."},
    {"slow_self_service", "Slow self-service",
     "Shorten the path from request to running stream: templates, automation, fewer approvals."},
    {"insufficient_alerting", "Insufficient alerting",
     "Define objectives for the platform and route its alerts through Alertmanager."},
    {"unclear_product_boundaries", "Unclear product boundaries",
     "Give every active topic exactly one owning data product."},
};
#define NPF (sizeof(pf_defs) / sizeof(pf_defs[0]))

static int pf_set(skpi_assess_pitfall *p, enum skpi_pitfall_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pf_set(skpi_assess_pitfall *p, enum skpi_pitfall_state st, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  p->state = st;
  free(p->evidence);
  p->evidence = strdup(tmp);
  return p->evidence ? 0 : -1;
}

static int ratio_pitfall(skpi_assessment *a, const skpi_facts *facts, skpi_assess_pitfall *p,
                         const char *fact, double below, const char *what) {
  double v;
  const char *cl;
  char s[64];
  if(!prod_extreme(a, facts, fact, 0, &v, &cl))
    return pf_set(p, SKPI_PF_UNCHECKED, "%s is not known on any production cluster", what);
  skpi_assess_format_value(v, "ratio", s, sizeof(s));
  return pf_set(p, v < below ? SKPI_PF_DETECTED : SKPI_PF_CLEAR, "%s is %s on cluster %s", what, s,
                cl);
}

static int detect_pitfalls(skpi_assessment *a, const skpi_facts *facts) {
  a->pitfalls = calloc(NPF, sizeof(*a->pitfalls));
  if(!a->pitfalls)
    return -1;
  a->npitfalls = NPF;
  for(size_t i = 0; i < NPF; i++) {
    a->pitfalls[i].id = pf_defs[i].id;
    a->pitfalls[i].title = pf_defs[i].title;
    a->pitfalls[i].advice = pf_defs[i].advice;
  }
  skpi_assess_pitfall *p = a->pitfalls;
  double clusters = org_value(facts, SKPI_FACT_CLUSTERS);
  double flows = org_value(facts, SKPI_FACT_REPLICATION_FLOWS);
  double v;
  const char *cl;
  char s[64];
  int rc = 0;

  rc |= ratio_pitfall(a, facts, &p[0], SKPI_FACT_SCHEMA_COVERAGE, SKPI_ASSESS_PITFALL_SCHEMA_BELOW,
                      "Schema coverage");

  if(prod_extreme(a, facts, SKPI_FACT_DURABLE_TOPICS, 0, &v, &cl) &&
     v < SKPI_ASSESS_PITFALL_DURABLE_BELOW) {
    skpi_assess_format_value(v, "ratio", s, sizeof(s));
    rc |= pf_set(&p[1], SKPI_PF_DETECTED, "Only %s of topics are durable on cluster %s", s, cl);
  } else if(clusters == 1)
    rc |= pf_set(&p[1], SKPI_PF_DETECTED, "A single cluster: nothing to fail over to");
  else if(clusters > 1 && flows == 0)
    rc |=
        pf_set(&p[1], SKPI_PF_DETECTED, "%.0f clusters but no replication between them", clusters);
  else if(clusters > 1 && flows > 0 && !isnan(v))
    rc |= pf_set(&p[1], SKPI_PF_CLEAR, "Durable topics and %.0f replication flows", flows);
  else
    rc |= pf_set(&p[1], SKPI_PF_UNCHECKED, "Needs durable topics, clusters and replication flows");

  if(isnan(clusters) || (clusters > 1 && isnan(flows)))
    rc |= pf_set(&p[2], SKPI_PF_UNCHECKED, "Needs the number of clusters and replication flows");
  else if(clusters > 1 && flows == 0)
    rc |= pf_set(&p[2], SKPI_PF_DETECTED, "%.0f clusters and no flow between them", clusters);
  else
    rc |= pf_set(&p[2], SKPI_PF_CLEAR, "%.0f cluster(s), %.0f replication flow(s)", clusters,
                 isnan(flows) ? 0.0 : flows);

  rc |= ratio_pitfall(a, facts, &p[3], SKPI_FACT_NAMING_RATIO, SKPI_ASSESS_PITFALL_NAMING_BELOW,
                      "Naming conformance");

  const skpi_assess_result *ss = skpi_assess_find(a, "l3_ops_self_service");
  double limit = ss ? ss->threshold : 86400;
  if(!prod_extreme(a, facts, SKPI_FACT_ONBOARDING_MEDIAN, 1, &v, &cl))
    rc |=
        pf_set(&p[4], SKPI_PF_UNCHECKED, "Onboarding time is not known on any production cluster");
  else {
    char lim[64];
    skpi_assess_format_value(v, "seconds", s, sizeof(s));
    skpi_assess_format_value(limit, "seconds", lim, sizeof(lim));
    rc |= pf_set(&p[4], v > limit ? SKPI_PF_DETECTED : SKPI_PF_CLEAR,
                 "Median onboarding takes %s on cluster %s (target %s)", s, cl, lim);
  }

  double slos = org_value(facts, SKPI_FACT_SLOS_DEFINED);
  double inc = org_value(facts, SKPI_FACT_INCIDENTS_TRACKED);
  if(slos == 0 || inc == 0)
    rc |= pf_set(&p[5], SKPI_PF_DETECTED, "%s%s%s", slos == 0 ? "No objectives are defined" : "",
                 slos == 0 && inc == 0 ? "; " : "", inc == 0 ? "no incidents are tracked" : "");
  else if(isnan(slos) || isnan(inc))
    rc |= pf_set(&p[5], SKPI_PF_UNCHECKED, "Needs the objectives and the incident tracking");
  else
    rc |= pf_set(&p[5], SKPI_PF_CLEAR, "%.0f objective(s) and incident tracking", slos);

  double products = org_value(facts, SKPI_FACT_PRODUCTS);
  double unowned = org_value(facts, SKPI_FACT_UNOWNED_TOPICS);
  double shared = org_value(facts, SKPI_FACT_MULTI_PRODUCT_TOPICS);
  if(!(products > 0) || (isnan(unowned) && isnan(shared)))
    rc |= pf_set(&p[6], SKPI_PF_UNCHECKED, "Needs data products in the catalog");
  else if(unowned > 0 || shared > 0)
    rc |= pf_set(&p[6], SKPI_PF_DETECTED,
                 "%.0f active topic(s) in no product, %.0f topic(s) in several products",
                 isnan(unowned) ? 0.0 : unowned, isnan(shared) ? 0.0 : shared);
  else
    rc |= pf_set(&p[6], SKPI_PF_CLEAR, "Every active topic belongs to one product");
  return rc ? -1 : 0;
}

/* ---- run ---- */

static int add_cluster(skpi_assessment *a, const char *name, int production) {
  for(size_t i = 0; i < a->nclusters; i++)
    if(strcmp(a->clusters[i], name) == 0)
      return 0;
  if(a->nclusters >= SKPI_ASSESS_MAX_CLUSTERS)
    return 0;
  char *d = strdup(name);
  if(!d)
    return -1;
  a->clusters[a->nclusters] = d;
  a->production[a->nclusters++] = production;
  return 0;
}

static int collect_clusters(skpi_assessment *a, const skpi_assess_cfg *cfg,
                            const skpi_facts *facts) {
  size_t cap = cfg->nclusters ? cfg->nclusters : skpi_facts_count(facts);
  if(cap > SKPI_ASSESS_MAX_CLUSTERS)
    cap = SKPI_ASSESS_MAX_CLUSTERS;
  a->clusters = calloc(cap ? cap : 1, sizeof(*a->clusters));
  a->production = calloc(cap ? cap : 1, sizeof(*a->production));
  if(!a->clusters || !a->production)
    return -1;
  int any_prod = 0;
  for(size_t i = 0; i < cfg->nclusters; i++)
    any_prod |= cfg->clusters[i].production != 0;
  for(size_t i = 0; i < cfg->nclusters && a->nclusters < cap; i++)
    if(cfg->clusters[i].name &&
       add_cluster(a, cfg->clusters[i].name, !any_prod || cfg->clusters[i].production))
      return -1;
  if(cfg->nclusters)
    return 0;
  /* No cluster list: every cluster the facts name counts as production. */
  for(size_t i = 0; i < skpi_facts_count(facts) && a->nclusters < cap; i++) {
    const skpi_fact *f = skpi_facts_at(facts, i);
    if(f->cluster && add_cluster(a, f->cluster, 1))
      return -1;
  }
  return 0;
}

skpi_err skpi_assess_run(const skpi_assess_cfg *cfg, const skpi_facts *facts, double now,
                         skpi_assessment **out) {
  if(!cfg || !out)
    return SKPI_EINVAL;
  *out = NULL;
  size_t n;
  const skpi_criterion *rows = skpi_assess_criteria(&n);
  double max_age = cfg->survey_max_age_s > 0 ? cfg->survey_max_age_s : SKPI_ASSESS_SURVEY_MAX_AGE_S;
  skpi_assessment *a = calloc(1, sizeof(*a));
  if(!a)
    return SKPI_ENOMEM;
  a->time = now;
  a->survey_max_age_s = max_age;
  a->results = calloc(n, sizeof(*a->results));
  if(!a->results || collect_clusters(a, cfg, facts))
    goto oom;
  for(size_t i = 0; i < n; i++) {
    skpi_assess_result *r = &a->results[a->nresults++];
    r->c = &rows[i];
    r->enabled = is_enabled(cfg, r->c);
    r->threshold = effective_threshold(cfg, r->c);
    r->value = NAN;
    int bad = r->c->scope == SKPI_SCOPE_ORG ? eval_org(cfg, max_age, facts, now, r)
                                            : eval_clusters(cfg, max_age, facts, now, a, r);
    if(bad)
      goto oom;
  }
  size_t known;
  int overall = SKPI_ASSESS_UNKNOWN;
  for(int d = 0; d < SKPI_DIM_COUNT; d++) {
    skpi_assess_dim_result *dr = &a->dims[d];
    dr->level = level_of(a, SKPI_ASSESS_LEVELS, d, SKPI_ASSESS_MAX_LEVEL, &known);
    for(size_t i = 0; i < a->nresults; i++) {
      const skpi_assess_result *r = &a->results[i];
      if(!r->enabled || r->c->model != SKPI_ASSESS_LEVELS || (int)r->c->dim != d)
        continue;
      if(r->status == SKPI_ST_MET)
        dr->met++;
      else if(r->status == SKPI_ST_UNMET)
        dr->unmet++;
      else
        dr->unknown++;
      if(r->status != SKPI_ST_UNKNOWN)
        r->prov == SKPI_PROV_DECLARED ? dr->declared++ : dr->observed++;
    }
    if(dr->level != SKPI_ASSESS_UNKNOWN && (overall < 0 || dr->level < overall))
      overall = dr->level;
    if(collect_gaps(a, SKPI_ASSESS_LEVELS, d, dr->level, SKPI_ASSESS_MAX_LEVEL, &a->gaps[d],
                    &a->ngaps[d]))
      goto oom;
  }
  a->level = overall;
  a->stage = level_of(a, SKPI_ASSESS_STAGES, -1, SKPI_ASSESS_MAX_STAGE, &a->stage_known);
  if(collect_gaps(a, SKPI_ASSESS_STAGES, -1, a->stage, SKPI_ASSESS_MAX_STAGE, &a->stage_gaps,
                  &a->nstage_gaps) ||
     detect_pitfalls(a, facts))
    goto oom;
  *out = a;
  return SKPI_OK;
oom:
  skpi_assess_free(a);
  return SKPI_ENOMEM;
}

void skpi_assess_free(skpi_assessment *a) {
  if(!a)
    return;
  for(size_t i = 0; i < a->nresults; i++) {
    free(a->results[i].reason);
    free(a->results[i].per);
  }
  free(a->results);
  for(int d = 0; d < SKPI_DIM_COUNT; d++)
    free(a->gaps[d]);
  free(a->stage_gaps);
  for(size_t i = 0; i < a->npitfalls; i++)
    free(a->pitfalls[i].evidence);
  free(a->pitfalls);
  for(size_t i = 0; i < a->nclusters; i++)
    free(a->clusters[i]);
  free(a->clusters);
  free(a->production);
  free(a);
}

const skpi_assess_result *skpi_assess_find(const skpi_assessment *a, const char *id) {
  for(size_t i = 0; a && id && i < a->nresults; i++)
    if(strcmp(a->results[i].c->id, id) == 0)
      return &a->results[i];
  return NULL;
}

int skpi_assess_is_answer(const skpi_assessment *a, size_t i) {
  if(!a || i >= a->nresults)
    return 0;
  const skpi_assess_result *r = &a->results[i];
  if(r->prov != SKPI_PROV_DECLARED || !(r->as_of > 0))
    return 0;
  for(size_t k = 0; k < i; k++)
    if(strcmp(a->results[k].c->fact, r->c->fact) == 0 && a->results[k].prov == SKPI_PROV_DECLARED &&
       a->results[k].as_of > 0)
      return 0;
  return 1;
}
