/* promtext.h: a small, bounded parser of the Prometheus text format 0.0.4.
 *
 * Used on bytes scraped from application targets, so everything is bounded:
 * line length, number of samples, label pairs per sample, name and label
 * value lengths.  Input is a buffer with a length (not NUL-terminated); a NUL
 * byte anywhere is an error.  The parser streams over lines and calls back
 * once per sample; it keeps no per-sample state, so memory stays flat
 * whatever the input size (one scratch line of max_line bytes).
 *
 * Accepted: "# HELP name text", "# TYPE name counter|gauge|histogram|summary|
 * untyped" (both validated), other "#" comments (ignored), empty lines,
 * blanks/tabs between tokens, leading and trailing blanks, CRLF line ends, a
 * missing final newline, an empty label set "{}", a trailing comma in the
 * label set, escapes \\ \" \n in label values, values as decimal or exponent
 * floats or +Inf/-Inf/Inf/NaN (case-insensitive), an optional integer
 * timestamp in milliseconds.
 * Rejected with SKPI_EINVAL: anything else (bad names, unknown escapes,
 * duplicate label names, hex floats, trailing tokens, NUL bytes, ...).
 * Limits exceeded give SKPI_ETOOBIG.  Either way errbuf gets
 * "line N: what is wrong".
 */
#ifndef STREAMKPI_PROMTEXT_H
#define STREAMKPI_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "streamkpi/err.h"

/* Bounds on the input.  A zero field takes the default shown. */
typedef struct skpi_promtext_limits {
  size_t max_line;    /* bytes per line, default 65536 */
  size_t max_samples; /* samples per input (all families), default 1000000 */
  size_t max_labels;  /* label pairs per sample, default 64 */
  size_t max_name;    /* metric or label name bytes, default 256 */
  size_t max_value;   /* label value bytes after unescaping, default 4096 */
} skpi_promtext_limits;

/* One sample as handed to the callback.  All strings are NUL-terminated and
 * valid only during the call. */
typedef struct skpi_promtext_sample {
  const char *name;
  const char *const *label_names;
  const char *const *label_values; /* unescaped */
  size_t nlabels;
  double value;
  int has_timestamp;
  int64_t timestamp_ms;
  size_t line; /* 1-based line number */
} skpi_promtext_sample;

/* Called per sample.  Returning anything but SKPI_OK stops the parse, and
 * skpi_promtext_parse returns that code. */
typedef skpi_err (*skpi_promtext_cb)(const skpi_promtext_sample *s, void *ud);

/* Parses len bytes at data.  limits may be NULL (defaults).  family, when not
 * NULL, restricts callbacks to samples of that family: the sample name equals
 * family, or family followed by "_total", "_bucket", "_sum", "_count" or
 * "_created"; other lines are still validated.  cb may be NULL (validation
 * only).  errbuf (may be NULL) receives a one-line message on failure.
 * Returns SKPI_OK, SKPI_EINVAL (garbage), SKPI_ETOOBIG (a limit), SKPI_ENOMEM,
 * or the callback's code. */
skpi_err skpi_promtext_parse(const char *data, size_t len, const skpi_promtext_limits *limits,
                             const char *family, skpi_promtext_cb cb, void *ud, char *errbuf,
                             size_t errlen);

#endif
