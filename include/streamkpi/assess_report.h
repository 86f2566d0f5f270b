/* assess_report.h: every output of one assessment: metrics, the JSON
 * document of GET /api/v1/assessment, plain text and markdown summaries,
 * and the self-contained HTML report (docs/assessment.md).
 *
 * All read the same skpi_assessment (assess.h); the HTML report also reads
 * the history (assess_history.h) for its trend lines.  Each call appends to
 * what the caller passes and frees nothing of it.
 */
#ifndef STREAMKPI_ASSESS_REPORT_H
#define STREAMKPI_ASSESS_REPORT_H

#include <jansson.h>

#include "streamkpi/assess.h"
#include "streamkpi/assess_history.h"
#include "streamkpi/buf.h"
#include "streamkpi/err.h"
#include "streamkpi/expo.h"

/* Adds the streamkpi_maturity_* families to m: level, stage,
 * dimension_level{dimension}, criterion_status{criterion,level,dimension,
 * status} (one series per status, 1 for the current one),
 * criterion_evidence{criterion} and criterion_threshold{criterion}.
 * Unknown levels and evidence have no sample; disabled criteria none at
 * all.  Model-B rows carry level="stage_N".  Errors from skpi_mset_add. */
__attribute__((warn_unused_result)) skpi_err skpi_assess_metrics(const skpi_assessment *a,
                                                                 skpi_mset *m);

/* The assessment as JSON ("schema_version": 1, fields documented in
 * docs/assessment.md).  NULL on OOM; caller decrefs. */
json_t *skpi_assess_json(const skpi_assessment *a);

/* Plain text (terminal, CI logs) and markdown (slides, wikis) summaries:
 * levels, stage, gaps, pitfalls, declared answers and what is unknown.
 * SKPI_ETOOBIG when out's cap is hit (out is then emptied). */
__attribute__((warn_unused_result)) skpi_err skpi_assess_text(const skpi_assessment *a,
                                                              skpi_buf *out);
__attribute__((warn_unused_result)) skpi_err skpi_assess_markdown(const skpi_assessment *a,
                                                                  skpi_buf *out);

/* The HTML report: one page without external assets (inline CSS and SVG),
 * printable on A4.  h may be NULL (no trend lines).  Every string from the
 * facts or the configuration is HTML-escaped.  Stable hooks for tests:
 * #overall-level and #stage (data-level / data-stage), chart bars
 * g.bar[data-dimension][data-level], rows tr[data-criterion][data-status],
 * svg.trend[data-points], #gaps li[data-criterion], #pitfalls li,
 * #unknown li[data-criterion].  SKPI_ETOOBIG when out's cap is hit. */
__attribute__((warn_unused_result)) skpi_err
skpi_assess_html(const skpi_assessment *a, const skpi_assess_history *h, skpi_buf *out);

/* The same report with a "Data products" section (#products,
 * tr[data-product]) drawn from products, the document of
 * skpi_products_kpi_json (borrowed; NULL or without products: no section).
 * Declared values are shown with the date they were declared. */
__attribute__((warn_unused_result)) skpi_err skpi_assess_html_products(const skpi_assessment *a,
                                                                       const skpi_assess_history *h,
                                                                       const json_t *products,
                                                                       skpi_buf *out);

#endif
