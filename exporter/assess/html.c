/* html.c: the self-contained HTML report of an assessment (see
 * assess_report.h).  No external assets: inline CSS and SVG only, so the
 * page can be mailed, archived or printed as it is. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "streamkpi/assess_report.h"

#define TREND_W 100.0 /* trend line viewBox */
#define TREND_H 24.0
#define CHART_ROW 34 /* pixels per dimension bar */
#define CHART_LABEL 130
#define CHART_BAR 400

/* Output with a sticky error: after the first failure every call is a
 * no-op and the error is returned once at the end. */
typedef struct out {
  skpi_buf *b;
  skpi_err rc;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out *o, const char *fmt, ...) {
  if(o->rc)
    return;
  va_list ap;
  va_start(ap, fmt);
  o->rc = skpi_buf_vprintf(o->b, fmt, ap);
  va_end(ap);
}

/* Appends s escaped for HTML text and attribute values. */
static void esc(out *o, const char *s) {
  for(; s && *s && !o->rc; s++) {
    switch(*s) {
    case '&': o->rc = skpi_buf_addstr(o->b, "&amp;"); break;
    case '<': o->rc = skpi_buf_addstr(o->b, "&lt;"); break;
    case '>': o->rc = skpi_buf_addstr(o->b, "&gt;"); break;
    case '"': o->rc = skpi_buf_addstr(o->b, "&quot;"); break;
    case '\'': o->rc = skpi_buf_addstr(o->b, "&#39;"); break;
    default: o->rc = skpi_buf_addc(o->b, *s);
    }
  }
}

/* A dimension's name for readers ("business value"). */
static const char *dim_label(enum skpi_assess_dim d) {
  static const char *const labels[] = {"technology", "governance", "skills", "operations",
                                       "business value"};
  return (unsigned)d < SKPI_DIM_COUNT ? labels[d] : "unknown";
}

static const char css[] =
    ":root{--met:#1a7f37;--unmet:#c62828;--unknown:#8a8f98;--ink:#1f2328;--muted:#59636e;"
    "--line:#d8dee4;--accent:#0b5cad}"
    "*{box-sizing:border-box}"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);"
    "margin:0 auto;max-width:1100px;padding:24px}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid "
    "var(--line);padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}"
    ".muted{color:var(--muted)}.small{font-size:12px}"
    ".cards{display:flex;gap:2%;flex-wrap:wrap}.card{flex:1 1 30%;border:1px solid var(--line);"
    "border-radius:8px;padding:12px 16px;break-inside:avoid}"
    ".card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}"
    ".card .big{font-size:40px;font-weight:700;line-height:1.1}"
    "svg text{font-family:inherit}"
    "table{width:100%;border-collapse:collapse;table-layout:fixed;margin:4px 0 12px}"
    "th,td{text-align:left;vertical-align:top;padding:4px 6px;border-bottom:1px solid var(--line);"
    "overflow-wrap:break-word}th{font-size:12px;color:var(--muted);font-weight:600}"
    "tr,li,.card,figure{break-inside:avoid}"
    ".badge{display:inline-block;white-space:nowrap;padding:0 "
    "6px;border-radius:9px;color:#fff;font-size:12px}"
    ".badge.met{background:var(--met)}.badge.unmet{background:var(--unmet)}"
    ".badge.unknown{background:var(--unknown)}.badge.stale{background:#b26a00}"
    ".badge.declared{background:#55606e}"
    ".trend{width:100%;height:24px}"
    "ol,ul{padding-left:22px}li{margin:4px 0}.step{color:var(--muted)}"
    "col.c-st{width:11%}col.c-name{width:29%}col.c-dim{width:12%}col.c-now{width:11%}"
    "col.c-tgt{width:10%}col.c-prov{width:14%}col.c-trend{width:13%}"
    "table.declared th:first-child{width:40%}"
    "footer{margin-top:32px;color:var(--muted);font-size:12px}"
    "@page{size:A4;margin:14mm}"
    "@media print{body{max-width:none;padding:0;font-size:11px}h2{break-after:avoid}"
    "h3{break-after:avoid}.card .big{font-size:30px}.badge{font-size:10px}a{color:inherit}}";

static void header(out *o, const skpi_assessment *a) {
  char t[40];
  skpi_assess_format_time(a->time, "%Y-%m-%d %H:%M UTC", t, sizeof(t));
  put(o,
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>Streaming platform maturity</title><style>%s</style></head><body>\n",
      css);
  put(o,
      "<header><h1>Streaming platform maturity</h1><p class=\"muted\">Assessed %s from "
      "what the exporter measures and what the team declared%s",
      t, a->nclusters ? ", over " : "; no cluster is known yet");
  for(size_t i = 0; i < a->nclusters; i++) {
    put(o, "%s<span class=\"cluster\" data-cluster=\"", i ? ", " : "");
    esc(o, a->clusters[i]);
    put(o, "\">");
    esc(o, a->clusters[i]);
    put(o, "</span>%s", a->production[i] ? " (production)" : " (not production)");
  }
  put(o, ".</p></header>\n");
}

static void summary_cards(out *o, const skpi_assessment *a) {
  size_t met = 0, unmet = 0, unknown = 0;
  for(size_t i = 0; i < a->nresults; i++) {
    const skpi_assess_result *r = &a->results[i];
    if(!r->enabled)
      continue;
    met += r->status == SKPI_ST_MET;
    unmet += r->status == SKPI_ST_UNMET;
    unknown += r->status == SKPI_ST_UNKNOWN;
  }
  put(o, "<section id=\"summary\" class=\"cards\">");
  put(o, "<div class=\"card\"><div class=\"k\">Overall level</div><div id=\"overall-level\" "
         "class=\"big\" data-level=\"");
  if(a->level < 0)
    put(o, "unknown\">?</div><div>no dimension has evidence yet</div></div>");
  else
    put(o,
        "%d\">%d</div><div>%s: the lowest level among the dimensions with evidence</div>"
        "</div>",
        a->level, a->level, skpi_assess_level_name(a->level));
  put(o, "<div class=\"card\"><div class=\"k\">Adoption stage</div><div id=\"stage\" "
         "class=\"big\" data-stage=\"");
  if(a->stage < 0)
    put(o, "unknown\">?</div><div>no stage criterion has evidence yet</div></div>");
  else
    put(o, "%d\">%d</div><div>%s</div></div>", a->stage, a->stage,
        skpi_assess_stage_name(a->stage));
  put(o,
      "<div class=\"card\"><div class=\"k\">Criteria</div><div class=\"big\">%zu/%zu</div>"
      "<div>met; %zu unmet, %zu could not be assessed</div></div></section>\n",
      met, met + unmet + unknown, unmet, unknown);
}

static const char *basis_text(const skpi_assess_dim_result *d) {
  if(!d->declared && !d->observed)
    return "no evidence";
  return !d->declared ? "observed" : !d->observed ? "declared" : "observed and declared";
}

static void chart(out *o, const skpi_assessment *a) {
  int h = CHART_ROW * SKPI_DIM_COUNT + 24;
  double unit = CHART_BAR / 5.0;
  put(o,
      "<section id=\"dimensions\"><h2>Level per dimension</h2><figure style=\"margin:0\">"
      "<svg id=\"dimension-chart\" viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" "
      "aria-label=\"Maturity level per dimension\">",
      CHART_LABEL + CHART_BAR + 180, h);
  for(int l = 0; l <= 5; l++)
    put(o,
        "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d8dee4\"/>"
        "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#59636e\" "
        "text-anchor=\"middle\">%d</text>",
        CHART_LABEL + l * unit, CHART_LABEL + l * unit, h - 16, CHART_LABEL + l * unit, h - 3, l);
  for(int d = 0; d < SKPI_DIM_COUNT; d++) {
    const skpi_assess_dim_result *dr = &a->dims[d];
    const char *name = skpi_assess_dim_name((enum skpi_assess_dim)d);
    int y = d * CHART_ROW + 4;
    put(o, "<g class=\"bar\" data-dimension=\"%s\" data-level=\"", name);
    if(dr->level < 0)
      put(o,
          "unknown\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"22\" fill=\"none\" "
          "stroke=\"#8a8f98\" stroke-dasharray=\"4 3\"/>",
          CHART_LABEL, y, CHART_BAR);
    else
      put(o,
          "%d\"><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"22\" rx=\"3\" "
          "fill=\"%s\"/>",
          dr->level, CHART_LABEL, y, dr->level * unit, dr->declared ? "#6f8fbf" : "#0b5cad");
    put(o, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"end\">%s</text>",
        CHART_LABEL - 8, y + 16, dim_label((enum skpi_assess_dim)d));
    put(o, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#1f2328\">",
        CHART_LABEL + (dr->level > 0 ? dr->level * unit : 0) + 8, y + 16);
    if(dr->level < 0)
      put(o, "unknown: no evidence</text></g>");
    else
      put(o, "%d %s (%s)</text></g>", dr->level, skpi_assess_level_name(dr->level), basis_text(dr));
  }
  put(o, "</svg><figcaption class=\"small muted\">A dimension reaches a level when every "
         "criterion of that level and of the levels below it is met. Lighter bars rest partly "
         "on declared answers. Dashed: nothing could be measured or was declared.</figcaption>"
         "</figure></section>\n");
}

/* Day number and evidence of id on kept day i; 0 when not known then. */
static int point_at(const skpi_assess_history *h, size_t i, const char *id, long *day, double *v) {
  skpi_assess_day d;
  if(!skpi_assess_history_criterion(h, i, id, NULL, v) || isnan(*v) ||
     !skpi_assess_history_day(h, i, &d))
    return 0;
  *day = d.day;
  return 1;
}

/* A small line of the criterion's evidence over the kept days. */
static void trend(out *o, const skpi_assess_history *h, const char *id) {
  size_t n = skpi_assess_history_len(h), pts = 0;
  double lo = INFINITY, hi = -INFINITY, v;
  long d0 = 0, d1 = 0, day;
  for(size_t i = 0; i < n; i++) {
    if(!point_at(h, i, id, &day, &v))
      continue;
    if(!pts++)
      d0 = day;
    d1 = day;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  put(o,
      "<svg class=\"trend\" data-points=\"%zu\" viewBox=\"0 0 %.0f %.0f\" "
      "preserveAspectRatio=\"none\" aria-label=\"trend\">",
      pts, TREND_W, TREND_H);
  if(pts) {
    put(o, "<polyline fill=\"none\" stroke=\"#0b5cad\" stroke-width=\"1.5\" "
           "vector-effect=\"non-scaling-stroke\" points=\"");
    for(size_t i = 0; i < n; i++) {
      if(!point_at(h, i, id, &day, &v))
        continue;
      double x = d1 > d0 ? (double)(day - d0) / (double)(d1 - d0) * TREND_W : TREND_W;
      double y = hi > lo ? TREND_H - 2 - (v - lo) / (hi - lo) * (TREND_H - 4) : TREND_H / 2;
      if(pts == 1) /* one point: a level line across */
        put(o, "0,%.1f %.1f,%.1f", y, TREND_W, y);
      else
        put(o, "%s%.1f,%.1f", day == d0 ? "" : " ", x, y);
    }
    put(o, "\"/>");
  }
  put(o, "</svg>");
}

/* "yes" for a boolean target, else the comparison and the value. */
static void target_text(out *o, const skpi_assess_result *r) {
  char thr[SKPI_ASSESS_VALUE_TEXT];
  skpi_assess_format_value(r->threshold, r->c->unit, thr, sizeof(thr));
  if(strcmp(r->c->unit, "bool") == 0) {
    esc(o, thr);
    return;
  }
  static const char *const sym[] = {"&ge;", "&gt;", "&le;", "&lt;", "="};
  put(o, "%s ", (unsigned)r->c->cmp <= SKPI_CMP_EQ ? sym[r->c->cmp] : "?");
  esc(o, thr);
}

static void criterion_row(out *o, const skpi_assess_result *r, const skpi_assess_history *h) {
  char v[SKPI_ASSESS_VALUE_TEXT], day[32];
  skpi_assess_format_value(r->status == SKPI_ST_UNKNOWN ? NAN : r->value, r->c->unit, v, sizeof(v));
  const char *st = skpi_assess_status_name(r->status);
  put(o,
      "<tr data-criterion=\"%s\" data-status=\"%s\" data-dimension=\"%s\"><td>"
      "<span class=\"badge %s\">%s</span></td><td>",
      r->c->id, st, skpi_assess_dim_name(r->c->dim), st, st);
  esc(o, r->c->title);
  put(o, "<div class=\"small muted\">%s</div></td><td>%s</td><td>", r->c->id, dim_label(r->c->dim));
  esc(o, v);
  if(r->cluster && r->c->scope != SKPI_SCOPE_ORG && r->status != SKPI_ST_UNKNOWN) {
    put(o, "<div class=\"small muted\">on ");
    esc(o, r->cluster);
    put(o, "</div>");
  }
  put(o, "</td><td>");
  target_text(o, r);
  put(o, "</td><td>");
  if(r->status == SKPI_ST_UNKNOWN && !r->stale)
    put(o, "<span class=\"muted\">none</span>");
  else {
    skpi_assess_format_time(r->as_of, "%Y-%m-%d", day, sizeof(day));
    put(o, "%s<div class=\"small muted\">%s</div>",
        r->prov == SKPI_PROV_DECLARED ? "declared" : "observed", day);
    if(r->stale)
      put(o, "<span class=\"badge stale\">stale</span>");
  }
  put(o, "</td><td>");
  trend(o, h, r->c->id);
  put(o, "</td></tr>\n");
}

static void table_head(out *o, const char *cls, int level) {
  put(o,
      "<table class=\"%s\" data-level=\"%d\"><colgroup><col class=\"c-st\"><col "
      "class=\"c-name\"><col class=\"c-dim\"><col class=\"c-now\"><col class=\"c-tgt\">"
      "<col class=\"c-prov\"><col class=\"c-trend\"></colgroup><thead><tr><th>status</th>"
      "<th>criterion</th><th>dimension</th><th>now</th><th>target</th><th>evidence</th>"
      "<th>trend</th></tr></thead><tbody>\n",
      cls, level);
}

static void criteria_tables(out *o, const skpi_assessment *a, const skpi_assess_history *h) {
  put(o, "<section id=\"criteria\"><h2>Criteria by level</h2>");
  for(int model = 0; model < 2; model++) {
    int max = model ? SKPI_ASSESS_MAX_STAGE : SKPI_ASSESS_MAX_LEVEL;
    if(model)
      put(o, "<h2>Adoption stages</h2><p class=\"muted small\">The stage is the highest one "
             "whose criteria, and those of every stage before it, are met.</p>");
    for(int l = 1; l <= max; l++) {
      int any = 0;
      for(size_t i = 0; i < a->nresults; i++) {
        const skpi_assess_result *r = &a->results[i];
        if(!r->enabled || (int)r->c->model != model || r->c->level != l)
          continue;
        if(!any++) {
          if(model)
            put(o, "<h3>Stage %d: %s</h3>", l, skpi_assess_stage_name(l));
          else
            put(o, "<h3>Level %d: %s</h3>", l, skpi_assess_level_name(l));
          table_head(o, model ? "criteria stage" : "criteria", l);
        }
        criterion_row(o, r, h);
      }
      if(any)
        put(o, "</tbody></table>\n");
    }
  }
  put(o, "</section>\n");
}

static void gap_item(out *o, const skpi_assessment *a, const skpi_assess_gap *g) {
  const skpi_assess_result *r = &a->results[g->crit];
  char v[SKPI_ASSESS_VALUE_TEXT];
  skpi_assess_format_value(r->status == SKPI_ST_UNKNOWN ? NAN : r->value, r->c->unit, v, sizeof(v));
  put(o, "<li data-criterion=\"%s\" data-status=\"%s\"><span class=\"badge %s\">%s</span> <b>",
      r->c->id, skpi_assess_status_name(r->status), skpi_assess_status_name(r->status),
      skpi_assess_status_name(r->status));
  esc(o, r->c->title);
  put(o, "</b>: now ");
  esc(o, v);
  put(o, ", target ");
  target_text(o, r);
  put(o, ". <span class=\"step\">");
  esc(o, r->c->step);
  put(o, "</span></li>");
}

static void gaps(out *o, const skpi_assessment *a) {
  put(o, "<section id=\"gaps\"><h2>Next steps</h2><p class=\"muted small\">For each dimension, "
         "what keeps it from its next level, closest to its target first; criteria that could "
         "not be assessed come last.</p>");
  for(int d = 0; d < SKPI_DIM_COUNT; d++) {
    if(!a->ngaps[d])
      continue;
    int next = a->results[a->gaps[d][0].crit].c->level;
    put(o, "<h3 data-dimension=\"%s\">%s: to level %d (%s)</h3><ol>",
        skpi_assess_dim_name((enum skpi_assess_dim)d), dim_label((enum skpi_assess_dim)d), next,
        skpi_assess_level_name(next));
    for(size_t g = 0; g < a->ngaps[d]; g++)
      gap_item(o, a, &a->gaps[d][g]);
    put(o, "</ol>");
  }
  if(a->nstage_gaps) {
    int next = a->results[a->stage_gaps[0].crit].c->level;
    put(o, "<h3 data-stage=\"%d\">Adoption: to stage %d (%s)</h3><ol>", next, next,
        skpi_assess_stage_name(next));
    for(size_t g = 0; g < a->nstage_gaps; g++)
      gap_item(o, a, &a->stage_gaps[g]);
    put(o, "</ol>");
  }
  put(o, "</section>\n");
}

static void pitfalls(out *o, const skpi_assessment *a) {
  size_t seen = 0;
  put(o, "<section id=\"pitfalls\"><h2>Pitfalls</h2><ul>");
  for(size_t i = 0; i < a->npitfalls; i++) {
    const skpi_assess_pitfall *p = &a->pitfalls[i];
    if(p->state != SKPI_PF_DETECTED)
      continue;
    seen++;
    put(o, "<li data-pitfall=\"%s\"><b>", p->id);
    esc(o, p->title);
    put(o, "</b>: ");
    esc(o, p->evidence);
    put(o, ". <span class=\"step\">");
    esc(o, p->advice);
    put(o, "</span></li>");
  }
  put(o, "</ul>");
  if(!seen)
    put(o, "<p class=\"muted\">None of the pitfalls the facts can show was seen.</p>");
  put(o, "<p class=\"small muted\">Not checked for lack of facts: ");
  size_t unchecked = 0;
  for(size_t i = 0; i < a->npitfalls; i++) {
    const skpi_assess_pitfall *p = &a->pitfalls[i];
    if(p->state != SKPI_PF_UNCHECKED)
      continue;
    put(o, "%s", unchecked++ ? ", " : "");
    esc(o, p->title);
  }
  put(o, "%s.</p></section>\n", unchecked ? "" : "none");
}

static void provenance(out *o, const skpi_assessment *a) {
  char day[32], v[SKPI_ASSESS_VALUE_TEXT];
  put(o,
      "<section id=\"provenance\"><h2>Declared and observed</h2><p>Skills and business "
      "value cannot be seen on the wire: they rest on the survey answers below. An answer "
      "older than %.0f days is stale and counts as unknown until it is renewed.</p>",
      a->survey_max_age_s / 86400);
  put(o, "<table class=\"declared\"><thead><tr><th>answer</th><th>score</th><th>given</th>"
         "<th>state</th></tr></thead><tbody>");
  size_t seen = 0;
  for(size_t i = 0; i < a->nresults; i++) {
    const skpi_assess_result *r = &a->results[i];
    if(!skpi_assess_is_answer(a, i))
      continue;
    seen++;
    skpi_assess_format_time(r->as_of, "%Y-%m-%d", day, sizeof(day));
    skpi_assess_format_value(r->stale ? NAN : r->value, r->c->unit, v, sizeof(v));
    put(o, "<tr data-fact=\"");
    esc(o, r->c->fact);
    put(o, "\" data-stale=\"%d\"><td>", r->stale);
    esc(o, r->c->fact);
    put(o, "</td><td>");
    esc(o, v);
    put(o, "</td><td>%s</td><td>%s</td></tr>", day,
        r->stale ? "<span class=\"badge stale\">stale</span>" : "current");
  }
  if(!seen)
    put(o, "<tr><td colspan=\"4\" class=\"muted\">No answer declared.</td></tr>");
  put(o, "</tbody></table><ul>");
  for(int d = 0; d < SKPI_DIM_COUNT; d++)
    put(o, "<li data-dimension=\"%s\">%s: %s</li>", skpi_assess_dim_name((enum skpi_assess_dim)d),
        dim_label((enum skpi_assess_dim)d), basis_text(&a->dims[d]));
  put(o, "</ul></section>\n");
}

static void unknowns(out *o, const skpi_assessment *a) {
  size_t seen = 0;
  put(o, "<section id=\"unknown\"><h2>What could not be assessed</h2><p class=\"muted small\">"
         "An unknown criterion is never counted as met: it holds its level back until it can "
         "be measured.</p><ul>");
  for(size_t i = 0; i < a->nresults; i++) {
    const skpi_assess_result *r = &a->results[i];
    if(!r->enabled || r->status != SKPI_ST_UNKNOWN)
      continue;
    seen++;
    put(o, "<li data-criterion=\"%s\"><b>", r->c->id);
    esc(o, r->c->title);
    put(o, "</b>: ");
    esc(o, r->reason);
    put(o, "</li>");
  }
  put(o, "</ul>%s</section>\n", seen ? "" : "<p>Nothing: every criterion has evidence.</p>");
}

/* Where a day sits on the progress chart: from x 30 to 594, so that a dot
 * (radius 3) on the newest day stays inside the 600-wide view. */
static double day_x(const skpi_assess_day *first, const skpi_assess_day *last,
                    const skpi_assess_day *day) {
  if(last->day <= first->day)
    return 594;
  return 30 + (double)(day->day - first->day) / (double)(last->day - first->day) * 564;
}

static void level_history(out *o, const skpi_assess_history *h) {
  size_t n = skpi_assess_history_len(h), pts = 0;
  skpi_assess_day first, last, day;
  if(!n || !skpi_assess_history_day(h, 0, &first) || !skpi_assess_history_day(h, n - 1, &last))
    return;
  put(o, "<section id=\"progress\"><h2>Progress</h2><svg id=\"level-trend\" viewBox=\"0 0 600 "
         "90\" width=\"100%%\" role=\"img\" aria-label=\"Overall level over time\">");
  for(int l = 0; l <= 5; l++)
    put(o,
        "<line x1=\"30\" x2=\"600\" y1=\"%d\" y2=\"%d\" stroke=\"#eef1f4\"/><text x=\"0\" "
        "y=\"%d\" font-size=\"10\" fill=\"#59636e\">%d</text>",
        80 - l * 15, 80 - l * 15, 84 - l * 15, l);
  put(o, "<polyline fill=\"none\" stroke=\"#0b5cad\" stroke-width=\"2\" points=\"");
  for(size_t i = 0; i < n; i++) {
    if(!skpi_assess_history_day(h, i, &day) || day.level < 0)
      continue;
    double x = day_x(&first, &last, &day);
    put(o, "%s%.1f,%d", pts++ ? " " : "", x, 80 - day.level * 15);
  }
  put(o, "\" data-points=\"%zu\"/>", pts);
  /* A dot per day, so that a single day (a line of one point) shows. */
  for(size_t i = 0; i < n; i++) {
    if(!skpi_assess_history_day(h, i, &day) || day.level < 0)
      continue;
    double x = day_x(&first, &last, &day);
    put(o, "<circle class=\"level-day\" cx=\"%.1f\" cy=\"%d\" r=\"3\" fill=\"#0b5cad\"/>", x,
        80 - day.level * 15);
  }
  char a0[32], a1[32];
  skpi_assess_format_time(first.day * 86400.0, "%Y-%m-%d", a0, sizeof(a0));
  skpi_assess_format_time(last.day * 86400.0, "%Y-%m-%d", a1, sizeof(a1));
  put(o,
      "</svg><p class=\"small muted\">Overall level per day from %s to %s (%zu %s kept).</p>"
      "</section>\n",
      a0, a1, n, n == 1 ? "day" : "days");
}

/* One row per data product of the products document (products.h); nothing
 * without products.  Declared values carry the date they were declared. */
static void products_table(out *o, const json_t *doc) {
  const json_t *list = json_object_get(doc, "products");
  if(!json_array_size(list))
    return;
  put(o, "<section id=\"products\"><h2>Data products</h2><table class=\"products\"><thead><tr>"
         "<th>product</th><th>owner / domain</th><th>objectives</th><th>read by domain</th>"
         "<th>declared value</th></tr></thead><tbody>");
  for(size_t i = 0; i < json_array_size(list); i++) {
    const json_t *p = json_array_get(list, i), *slos = json_object_get(p, "slos");
    const json_t *met = json_object_get(p, "slo_met"), *v = json_object_get(p, "value");
    const json_t *by = json_object_get(p, "consumers_by_domain"), *n;
    const char *k;
    int first = 1;
    put(o, "<tr data-product=\"");
    esc(o, json_string_value(json_object_get(p, "name")));
    put(o, "\"><td>");
    esc(o, json_string_value(json_object_get(p, "name")));
    put(o, "</td><td>");
    esc(o, json_string_value(json_object_get(p, "owner")));
    put(o, " / ");
    esc(o, json_string_value(json_object_get(p, "domain")));
    put(o, "</td><td>%s",
        !json_object_size(slos) ? "none declared"
        : json_is_true(met)     ? "met"
        : json_is_false(met)    ? "missed"
                                : "no events yet");
    json_object_foreach((json_t *)slos, k, n) {
      const json_t *m = json_object_get(n, "met");
      put(o, "%s", first ? ": " : ", ");
      esc(o, k);
      put(o, " %s", json_is_true(m) ? "met" : json_is_false(m) ? "missed" : "unknown");
      first = 0;
    }
    put(o, "</td><td>");
    first = 1;
    json_object_foreach((json_t *)by, k, n) {
      put(o, "%s", first ? "" : ", ");
      esc(o, k);
      put(o, " %lld", (long long)json_integer_value(n));
      first = 0;
    }
    if(first)
      put(o, "none seen");
    put(o, "</td><td>");
    if(json_is_object(v)) {
      put(o, "%.0f ", json_number_value(json_object_get(v, "amount")));
      esc(o, json_string_value(json_object_get(v, "currency")));
      put(o, " / ");
      esc(o, json_string_value(json_object_get(v, "period")));
      put(o, " <span class=\"badge declared\">declared ");
      esc(o, json_string_value(json_object_get(v, "declared")));
      put(o, "</span>");
    } else {
      put(o, "<span class=\"muted\">not declared</span>");
    }
    put(o, "</td></tr>");
  }
  put(o, "</tbody></table></section>\n");
}

skpi_err skpi_assess_html(const skpi_assessment *a, const skpi_assess_history *h, skpi_buf *b) {
  return skpi_assess_html_products(a, h, NULL, b);
}

skpi_err skpi_assess_html_products(const skpi_assessment *a, const skpi_assess_history *h,
                                   const json_t *products, skpi_buf *b) {
  if(!a || !b)
    return SKPI_EINVAL;
  out o = {b, SKPI_OK};
  header(&o, a);
  summary_cards(&o, a);
  chart(&o, a);
  gaps(&o, a);
  pitfalls(&o, a);
  level_history(&o, h);
  criteria_tables(&o, a, h);
  products_table(&o, products);
  provenance(&o, a);
  unknowns(&o, a);
  put(&o, "<footer>Made by streamkpi from live telemetry and declared answers. Each criterion "
          "is met, unmet or unknown; unknown never counts as met.</footer></body></html>\n");
  return o.rc;
}
