/* state.h: durable state for what cannot be rebuilt from Kafka (incidents,
 * coverage, first-seen times, SLO buckets, offset histories, DLQ counters).
 *
 * One JSON file holds named sections, one per engine:
 *   {"format":"streamkpi-state","version":1,"written":<unix s>,
 *    "sections":{"incidents":{...},"slo":{...}}}
 * Engines turn their state into a json_t (save) and back (load); this module
 * only stores sections and writes the file atomically: temp file in the same
 * directory, fsync, rename, fsync the directory.
 *
 * A file that does not parse, or whose format/version is not ours, is renamed
 * to "<path>.corrupt-<unix time>" with an ERROR log line, counted, and the
 * state starts empty; it is never overwritten in place.
 *
 * Thread-safe: sections may be put from any thread.
 */
#ifndef STREAMKPI_STATE_H
#define STREAMKPI_STATE_H

#include <jansson.h>

#include "streamkpi/err.h"

typedef struct skpi_state skpi_state;

/* Opens path (which need not exist yet).  Fails only when the directory is
 * unusable; a corrupt file is moved aside and *out is still returned. */
skpi_err skpi_state_open(const char *path, skpi_state **out);

/* Returns a new reference to the loaded section, or NULL.  Caller decrefs. */
json_t *skpi_state_get(skpi_state *s, const char *section);

/* Replaces a section; steals the reference to doc. */
void skpi_state_put(skpi_state *s, const char *section, json_t *doc);

/* Writes the file atomically (see above). */
skpi_err skpi_state_flush(skpi_state *s);

/* Files moved aside since open (0 or 1), and flushes that failed. */
unsigned long skpi_state_corrupt_count(const skpi_state *s);
unsigned long skpi_state_write_errors(const skpi_state *s);

/* For the engines' loaders: returns 1 and sets *out when j is a finite JSON
 * number within [min, max], else 0 (garbage in a section is refused). */
int skpi_state_number(const json_t *j, double min, double max, double *out);

void skpi_state_close(skpi_state *s);

#endif
