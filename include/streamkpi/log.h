/* log.h: one logging call, logfmt or JSON lines on stderr.
 *
 *   skpi_log(SKPI_WARN, "state file corrupt", "path", path, "action", "moved aside");
 *
 * Arguments after the message are key/value string pairs (the macro adds the
 * terminating NULL).  A NULL value prints as an empty string.  Thread-safe:
 * each record is written with one write(2).
 *
 * Repeated lines are rate-limited: per message (level, text and key names,
 * not values), at most `burst` records are written per `window` seconds
 * (default 10 per 10 s); the rest are counted, and the first record written
 * after a window with suppressed ones carries suppressed="<n>".
 */
#ifndef STREAMKPI_LOG_H
#define STREAMKPI_LOG_H

enum skpi_log_level { SKPI_DEBUG = 0, SKPI_INFO, SKPI_WARN, SKPI_ERROR };

/* Sets level ("debug", "info", "warn", "error") and format ("logfmt",
 * "json").  Returns 0, or -1 naming nothing when either is invalid (the
 * previous setting stays).  Either may be NULL to keep the current one. */
int skpi_log_setup(const char *level, const char *format);

/* Returns 1 when records at lvl are written. */
int skpi_log_enabled(enum skpi_log_level lvl);

/* Sets the rate limit (burst 0: no limit) and forgets what was counted in
 * the current windows; the suppressed total is kept. */
void skpi_log_limit(unsigned burst, double window_s);

/* Records suppressed by the rate limit since the process started. */
unsigned long skpi_log_suppressed(void);

void skpi_log_(enum skpi_log_level lvl, const char *msg, ...);
#define skpi_log(lvl, ...) skpi_log_((lvl), __VA_ARGS__, (const char *)0)

#endif
