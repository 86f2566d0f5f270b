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
 * state starts empty; it is never overwritten in place.  A path that is not
 * a regular file (a FIFO, a directory, a device) is refused, never opened
 * for a blocking read.  A section that parses but that its engine refuses
 * is set aside on its own (skpi_state_set_aside) with the engine's reason.
 * The temp file is created new (O_EXCL, never through a symlink), mode 0600.
 *
 * Thread-safe: sections may be put from any thread.
 */
#ifndef STREAMKPI_STATE_H
#define STREAMKPI_STATE_H

#include <jansson.h>

#include "streamkpi/err.h"

typedef struct skpi_state skpi_state;

/* Opens path (which need not exist yet).  Fails (SKPI_EIO, logged) when the
 * directory is unusable or path exists but is not a regular file; a corrupt
 * file is moved aside and *out is still returned. */
skpi_err skpi_state_open(const char *path, skpi_state **out);

/* Returns a new reference to the loaded section, or NULL.  Caller decrefs. */
json_t *skpi_state_get(skpi_state *s, const char *section);

/* Replaces a section; steals the reference to doc. */
void skpi_state_put(skpi_state *s, const char *section, json_t *doc);

/* Writes the file atomically (see above). */
skpi_err skpi_state_flush(skpi_state *s);

/* Writes section's current document, with reason, to a new file
 * "<path>.rejected-<section>-<unix time>.json" (mode 0600; characters of
 * section other than letters, digits, '-', '_' and '.' become '_') and
 * removes the section from the state, so the next flush does not carry it
 * and the bytes the engine refused survive for a human.  The file holds
 * {"section":..., "reason":..., "set_aside_at":<unix s>, "document":...}.
 * When out is not NULL it receives the file's path.  SKPI_ENOENT when the
 * section does not exist, SKPI_EIO when no file could be written (the
 * section is then kept).  Counted in skpi_state_rejected_count. */
skpi_err skpi_state_set_aside(skpi_state *s, const char *section, const char *reason, char *out,
                              size_t outlen);

/* Files moved aside since open (0 or 1), and flushes that failed. */
unsigned long skpi_state_corrupt_count(const skpi_state *s);
/* Sections set aside since open. */
unsigned long skpi_state_rejected_count(const skpi_state *s);
unsigned long skpi_state_write_errors(const skpi_state *s);

/* For the engines' loaders: returns 1 and sets *out when j is a finite JSON
 * number within [min, max], else 0 (garbage in a section is refused). */
int skpi_state_number(const json_t *j, double min, double max, double *out);

void skpi_state_close(skpi_state *s);

#endif
