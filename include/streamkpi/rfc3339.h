/* rfc3339.h: the one parser of RFC 3339 timestamps.
 *
 * Grammar (RFC 3339 section 5.6, nothing looser):
 *   YYYY-MM-DD ("T" | "t" | " ") hh:mm:ss [ "." 1*9DIGIT ] ( "Z" | "z" | ("+" | "-") hh:mm )
 * Every field has exactly its digits: no sign, no space, no missing digit
 * inside a field, nothing after the offset.  Months 01-12, days within the
 * month (29 February only in leap years), hours 00-23, minutes 00-59, offset
 * hours 00-23 and minutes 00-59.  Fractions take at most 9 digits
 * (nanoseconds, as Go and Alertmanager write them).
 *
 * Leap seconds: second 60 is accepted only where one can occur, at 23:59:60
 * UTC (after the offset is applied); it is read as 23:59:59 plus the
 * fraction, because Unix time has no place for it.
 *
 * Times before 1970-01-01T00:00:00Z are refused: nothing streamkpi measures
 * predates the Unix epoch, and a negative time is always a mistake here.
 */
#ifndef STREAMKPI_RFC3339_H
#define STREAMKPI_RFC3339_H

/* Parses the date-time s into seconds since the Unix epoch (UTC).  Returns
 * 0 and sets *out, or -1 (and leaves *out alone) for NULL, anything outside
 * the grammar above, or an out-of-range field. */
int skpi_rfc3339_parse(const char *s, double *out);

/* Like skpi_rfc3339_parse, but also accepts a bare full-date "YYYY-MM-DD",
 * read as midnight UTC of that day (for dates declared by people, such as
 * survey answers). */
int skpi_rfc3339_parse_date(const char *s, double *out);

#endif
