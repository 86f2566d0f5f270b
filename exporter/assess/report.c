/* report.c: metrics, JSON, text and markdown of an assessment (see
 * assess_report.h; the HTML report is html.c). */
#include "streamkpi/assess_report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RFC3339 "%Y-%m-%dT%H:%M:%SZ"

static void level_label(const skpi_criterion *c, char *out, size_t len) {
  snprintf(out, len, c->model == SKPI_ASSESS_STAGES ? "stage_%d" : "%d", c->level);
}

/* ---- metrics ---- */

enum { F_LEVEL, F_STAGE, F_DIM, F_STATUS, F_EVIDENCE, F_THRESHOLD, F_COUNT };

static const struct family {
  const char *name, *help;
} families[F_COUNT] = {
    {"streamkpi_maturity_level",
     "Overall maturity level (1-5, 0 below level 1); absent when no dimension has evidence."},
    {"streamkpi_maturity_stage", "Adoption stage (0-5); absent when unknown."},
    {"streamkpi_maturity_dimension_level",
     "Maturity level of one dimension; absent when it has no evidence."},
    {"streamkpi_maturity_criterion_status",
     "1 for the current status of a criterion (met, unmet, unknown), 0 for the others."},
    {"streamkpi_maturity_criterion_evidence",
     "Value a criterion was judged on, in the unit of its fact; absent when unknown."},
    {"streamkpi_maturity_criterion_threshold",
     "Threshold a criterion's evidence is compared with."},
};

skpi_err skpi_assess_metrics(const skpi_assessment *a, skpi_mset *m) {
  skpi_err rc = SKPI_OK;
  int f[F_COUNT];
  for(int i = 0; i < F_COUNT; i++)
    if((f[i] = skpi_mset_family(m, families[i].name, SKPI_MT_GAUGE, families[i].help)) < 0)
      return SKPI_EINVAL;
  if(!a)
    return SKPI_EINVAL;
  int f_level = f[F_LEVEL], f_stage = f[F_STAGE], f_dim = f[F_DIM], f_st = f[F_STATUS],
      f_ev = f[F_EVIDENCE], f_thr = f[F_THRESHOLD];
  if(a->level >= 0 && (rc = skpi_mset_add(m, f_level, a->level)) != SKPI_OK)
    return rc;
  if(a->stage >= 0 && (rc = skpi_mset_add(m, f_stage, a->stage)) != SKPI_OK)
    return rc;
  for(int d = 0; d < SKPI_DIM_COUNT; d++)
    if(a->dims[d].level >= 0 &&
       (rc = skpi_mset_add(m, f_dim, a->dims[d].level, "dimension",
                           skpi_assess_dim_name((enum skpi_assess_dim)d))) != SKPI_OK)
      return rc;
  static const enum skpi_assess_status all[] = {SKPI_ST_MET, SKPI_ST_UNMET, SKPI_ST_UNKNOWN};
  for(size_t i = 0; i < a->nresults; i++) {
    const skpi_assess_result *r = &a->results[i];
    char lvl[16];
    if(!r->enabled)
      continue;
    level_label(r->c, lvl, sizeof(lvl));
    for(size_t s = 0; s < 3; s++)
      if((rc = skpi_mset_add(m, f_st, r->status == all[s] ? 1 : 0, "criterion", r->c->id, "level",
                             lvl, "dimension", skpi_assess_dim_name(r->c->dim), "status",
                             skpi_assess_status_name(all[s]))) != SKPI_OK)
        return rc;
    if(!isnan(r->value) && r->status != SKPI_ST_UNKNOWN &&
       (rc = skpi_mset_add(m, f_ev, r->value, "criterion", r->c->id)) != SKPI_OK)
      return rc;
    if((rc = skpi_mset_add(m, f_thr, r->threshold, "criterion", r->c->id)) != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

/* ---- JSON ---- */

static json_t *level_or_null(int v) {
  return v < 0 ? json_null() : json_integer(v);
}
static json_t *num_or_null(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}
static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

static json_t *time_or_null(double t) {
  char s[40];
  if(!(t > 0))
    return json_null();
  skpi_assess_format_time(t, RFC3339, s, sizeof(s));
  return json_string(s);
}

static const char *basis(const skpi_assess_dim_result *d) {
  if(!d->declared && !d->observed)
    return "none";
  return !d->declared ? "observed" : !d->observed ? "declared" : "mixed";
}

static json_t *gap_list(const skpi_assessment *a, const skpi_assess_gap *g, size_t n) {
  json_t *arr = json_array();
  for(size_t i = 0; arr && i < n; i++) {
    const skpi_assess_result *r = &a->results[g[i].crit];
    if(json_array_append_new(
           arr, json_pack("{s:s,s:i,s:s,s:o,s:o,s:s,s:f,s:s,s:s}", "id", r->c->id, "level",
                          r->c->level, "status", skpi_assess_status_name(r->status), "distance",
                          num_or_null(g[i].distance), "value", num_or_null(r->value), "comparison",
                          skpi_assess_cmp_name(r->c->cmp), "threshold", r->threshold, "title",
                          r->c->title, "step", r->c->step))) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

static json_t *criterion_json(const skpi_assess_result *r) {
  char vt[SKPI_ASSESS_VALUE_TEXT];
  skpi_assess_format_value(r->status == SKPI_ST_UNKNOWN ? NAN : r->value, r->c->unit, vt,
                           sizeof(vt));
  json_t *per = json_array();
  for(size_t k = 0; per && k < r->nper; k++)
    if(json_array_append_new(per,
                             json_pack("{s:s,s:b,s:o,s:s}", "name", r->per[k].cluster, "production",
                                       r->per[k].production, "value", num_or_null(r->per[k].value),
                                       "status", skpi_assess_status_name(r->per[k].status)))) {
      json_decref(per);
      return NULL;
    }
  int known = r->status != SKPI_ST_UNKNOWN || r->stale;
  return json_pack(
      "{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:f,s:f,s:s,s:b,s:s,s:o,s:s,s:o,s:o,s:o,s:b,s:o,s:s,"
      "s:s,s:o}",
      "id", r->c->id, "model", r->c->model == SKPI_ASSESS_STAGES ? "stages" : "levels", "level",
      r->c->level, "dimension", skpi_assess_dim_name(r->c->dim), "title", r->c->title, "fact",
      r->c->fact, "scope", skpi_assess_scope_name(r->c->scope), "comparison",
      skpi_assess_cmp_name(r->c->cmp), "threshold", r->threshold, "default_threshold",
      r->c->threshold, "unit", r->c->unit, "enabled", r->enabled, "status",
      skpi_assess_status_name(r->status), "value",
      num_or_null(r->status == SKPI_ST_UNKNOWN ? NAN : r->value), "value_text", vt, "cluster",
      str_or_null(r->cluster), "provenance",
      known ? json_string(r->prov == SKPI_PROV_DECLARED ? "declared" : "observed") : json_null(),
      "as_of", time_or_null(r->as_of), "stale", r->stale, "reason", str_or_null(r->reason), "step",
      r->c->step, "how", r->c->how, "clusters", per ? per : json_null());
}

json_t *skpi_assess_json(const skpi_assessment *a) {
  if(!a)
    return NULL;
  json_t *doc = json_object(), *dims = json_array(), *crit = json_array(), *gaps = json_object(),
         *pit = json_array(), *cl = json_array();
  int bad = !doc || !dims || !crit || !gaps || !pit || !cl;
  for(int d = 0; !bad && d < SKPI_DIM_COUNT; d++) {
    const skpi_assess_dim_result *dr = &a->dims[d];
    const char *name = skpi_assess_dim_name((enum skpi_assess_dim)d);
    bad |= json_array_append_new(
        dims, json_pack("{s:s,s:o,s:s,s:s,s:I,s:I,s:I}", "name", name, "level",
                        level_or_null(dr->level), "level_name", skpi_assess_level_name(dr->level),
                        "basis", basis(dr), "met", (json_int_t)dr->met, "unmet",
                        (json_int_t)dr->unmet, "unknown", (json_int_t)dr->unknown));
    bad |= json_object_set_new(gaps, name, gap_list(a, a->gaps[d], a->ngaps[d]));
  }
  bad |= bad || json_object_set_new(gaps, "stage", gap_list(a, a->stage_gaps, a->nstage_gaps));
  for(size_t i = 0; !bad && i < a->nresults; i++)
    bad |= json_array_append_new(crit, criterion_json(&a->results[i]));
  static const char *const pf_state[] = {"unchecked", "clear", "detected"};
  for(size_t i = 0; !bad && i < a->npitfalls; i++) {
    const skpi_assess_pitfall *p = &a->pitfalls[i];
    bad |=
        json_array_append_new(pit, json_pack("{s:s,s:s,s:s,s:o,s:s}", "id", p->id, "title",
                                             p->title, "state", pf_state[p->state + 1], "evidence",
                                             str_or_null(p->evidence), "advice", p->advice));
  }
  for(size_t i = 0; !bad && i < a->nclusters; i++)
    bad |= json_array_append_new(
        cl, json_pack("{s:s,s:b}", "name", a->clusters[i], "production", a->production[i]));
  if(!bad) {
    bad |= json_object_set_new(doc, "schema_version", json_integer(1));
    bad |= json_object_set_new(doc, "time", time_or_null(a->time));
    bad |= json_object_set_new(doc, "time_unix", json_real(a->time));
    bad |= json_object_set_new(doc, "level", level_or_null(a->level));
    bad |= json_object_set_new(doc, "level_name", json_string(skpi_assess_level_name(a->level)));
    bad |= json_object_set_new(doc, "stage", level_or_null(a->stage));
    bad |= json_object_set_new(doc, "stage_name", json_string(skpi_assess_stage_name(a->stage)));
    bad |= json_object_set_new(doc, "survey_max_age_seconds", json_real(a->survey_max_age_s));
    bad |= json_object_set(doc, "clusters", cl);
    bad |= json_object_set(doc, "dimensions", dims);
    bad |= json_object_set(doc, "criteria", crit);
    bad |= json_object_set(doc, "gaps", gaps);
    bad |= json_object_set(doc, "pitfalls", pit);
  }
  json_decref(dims);
  json_decref(crit);
  json_decref(gaps);
  json_decref(pit);
  json_decref(cl);
  if(bad) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

/* ---- text and markdown ---- */

static void level_text(int level, char *out, size_t len) {
  if(level < 0)
    snprintf(out, len, "unknown");
  else
    snprintf(out, len, "%d (%s)", level, skpi_assess_level_name(level));
}

static skpi_err summary(const skpi_assessment *a, int md, skpi_buf *o) {
  skpi_err rc;
  char t[40], lv[64], v[SKPI_ASSESS_VALUE_TEXT], thr[SKPI_ASSESS_VALUE_TEXT];
  const char *h2 = md ? "\n## " : "\n", *item = md ? "- " : "  - ";
  skpi_assess_format_time(a->time, RFC3339, t, sizeof(t));
  level_text(a->level, lv, sizeof(lv));
  if((rc = skpi_buf_printf(o, "%sStreaming maturity assessment, %s\n\n", md ? "# " : "", t)))
    return rc;
  if((rc = skpi_buf_printf(o, "%sOverall level: %s%s\n", md ? "- **" : "", lv, md ? "**" : "")))
    return rc;
  if(a->stage < 0)
    rc = skpi_buf_printf(o, "%sAdoption stage: unknown%s\n", md ? "- **" : "", md ? "**" : "");
  else
    rc = skpi_buf_printf(o, "%sAdoption stage: %d (%s)%s\n", md ? "- **" : "", a->stage,
                         skpi_assess_stage_name(a->stage), md ? "**" : "");
  if(rc || (rc = skpi_buf_printf(o, "%sLevel per dimension\n", h2)))
    return rc;
  if(md && (rc = skpi_buf_addstr(o, "\n| dimension | level | based on |\n|---|---|---|\n")))
    return rc;
  for(int d = 0; d < SKPI_DIM_COUNT; d++) {
    const skpi_assess_dim_result *dr = &a->dims[d];
    level_text(dr->level, lv, sizeof(lv));
    const char *name = skpi_assess_dim_name((enum skpi_assess_dim)d);
    rc = md ? skpi_buf_printf(o, "| %s | %s | %s |\n", name, lv, basis(dr))
            : skpi_buf_printf(o, "  %-15s %-22s %s\n", name, lv, basis(dr));
    if(rc)
      return rc;
  }
  if((rc = skpi_buf_printf(o, "%sNext steps\n", h2)))
    return rc;
  for(int d = 0; d < SKPI_DIM_COUNT; d++) {
    if(!a->ngaps[d])
      continue;
    const skpi_assess_result *r0 = &a->results[a->gaps[d][0].crit];
    if((rc = skpi_buf_printf(o, "%s%s, to level %d:%s\n", md ? "\n**" : "",
                             skpi_assess_dim_name((enum skpi_assess_dim)d), r0->c->level,
                             md ? "**" : "")))
      return rc;
    if(md && (rc = skpi_buf_addstr(o, "\n")))
      return rc;
    for(size_t g = 0; g < a->ngaps[d]; g++) {
      const skpi_assess_result *r = &a->results[a->gaps[d][g].crit];
      skpi_assess_format_value(r->status == SKPI_ST_UNKNOWN ? NAN : r->value, r->c->unit, v,
                               sizeof(v));
      skpi_assess_format_value(r->threshold, r->c->unit, thr, sizeof(thr));
      if((rc = skpi_buf_printf(o, "%s%s [%s]: now %s, target %s %s. %s\n", item, r->c->title,
                               skpi_assess_status_name(r->status), v,
                               skpi_assess_cmp_name(r->c->cmp), thr, r->c->step)))
        return rc;
    }
  }
  if((rc = skpi_buf_printf(o, "%sPitfalls seen\n%s", h2, md ? "\n" : "")))
    return rc;
  size_t seen = 0;
  for(size_t i = 0; i < a->npitfalls; i++) {
    const skpi_assess_pitfall *p = &a->pitfalls[i];
    if(p->state != SKPI_PF_DETECTED)
      continue;
    seen++;
    if((rc = skpi_buf_printf(o, "%s%s: %s. %s\n", item, p->title, p->evidence, p->advice)))
      return rc;
  }
  if(!seen && (rc = skpi_buf_printf(o, "%snone among those the facts allow checking\n", item)))
    return rc;
  if((rc = skpi_buf_printf(o, "%sDeclared answers\n%s", h2, md ? "\n" : "")))
    return rc;
  seen = 0;
  for(size_t i = 0; i < a->nresults; i++) {
    const skpi_assess_result *r = &a->results[i];
    if(!skpi_assess_is_answer(a, i))
      continue;
    seen++;
    skpi_assess_format_time(r->as_of, "%Y-%m-%d", t, sizeof(t));
    skpi_assess_format_value(r->stale ? NAN : r->value, r->c->unit, v, sizeof(v));
    if((rc = skpi_buf_printf(o, "%s%s: %s, given %s%s\n", item, r->c->fact, v, t,
                             r->stale ? " (stale: counts as unknown)" : "")))
      return rc;
  }
  if(!seen && (rc = skpi_buf_printf(o, "%snone\n", item)))
    return rc;
  if((rc = skpi_buf_printf(o, "%sNot assessed\n%s", h2, md ? "\n" : "")))
    return rc;
  seen = 0;
  for(size_t i = 0; i < a->nresults; i++) {
    const skpi_assess_result *r = &a->results[i];
    if(!r->enabled || r->status != SKPI_ST_UNKNOWN)
      continue;
    seen++;
    if((rc = skpi_buf_printf(o, "%s%s (%s): %s\n", item, r->c->title, r->c->id,
                             r->reason ? r->reason : "unknown")))
      return rc;
  }
  if(!seen && (rc = skpi_buf_printf(o, "%snothing: every criterion has evidence\n", item)))
    return rc;
  return SKPI_OK;
}

skpi_err skpi_assess_text(const skpi_assessment *a, skpi_buf *out) {
  return a && out ? summary(a, 0, out) : SKPI_EINVAL;
}

skpi_err skpi_assess_markdown(const skpi_assessment *a, skpi_buf *out) {
  return a && out ? summary(a, 1, out) : SKPI_EINVAL;
}
