/* regex.h: the one way to compile a regex that came from outside.
 *
 * glibc's regcomp builds its automaton eagerly: nested or stacked
 * repetitions multiply states, so a 30-byte pattern can take gigabytes and
 * minutes before regcomp returns.  skpi_regex_compile looks at the pattern
 * first and refuses, with a message, anything that could blow up:
 *
 * - longer than SKPI_REGEX_MAX_LEN bytes;
 * - a repetition count ({n}, {n,}, {n,m}) above SKPI_REGEX_MAX_REPEAT;
 * - nested repetition: a group that contains a quantifier and is itself
 *   repeated more than once (`(a+)+`, `((a{2}){3})*`); an optional group
 *   (`(\.[a-z]+)?`, `{0,1}`) is fine, as it adds at most one copy;
 * - more than SKPI_REGEX_MAX_STACKED quantifiers in a row (`a+*`, `(a)++++`);
 * - more than SKPI_REGEX_MAX_GROUPS groups.
 *
 * Patterns are POSIX extended (REG_EXTENDED is always added).
 */
#ifndef STREAMKPI_REGEX_H
#define STREAMKPI_REGEX_H

#include <regex.h>
#include <stddef.h>

#include "streamkpi/err.h"

#define SKPI_REGEX_MAX_LEN 512
#define SKPI_REGEX_MAX_REPEAT 100
#define SKPI_REGEX_MAX_STACKED 2
#define SKPI_REGEX_MAX_GROUPS 32

/* Checks pattern against the bounds above, then compiles it into *re with
 * cflags | REG_EXTENDED.  On SKPI_OK the caller owns *re and frees it with
 * regfree.  On SKPI_EINVAL nothing is allocated and errbuf (when not NULL)
 * holds one line saying what is wrong (the bound, or regerror's text).
 * SKPI_ENOMEM when regcomp runs out of memory. */
skpi_err skpi_regex_compile(regex_t *re, const char *pattern, int cflags, char *errbuf,
                            size_t errlen);

/* The bound checks of skpi_regex_compile alone, without compiling.  Returns
 * SKPI_OK or SKPI_EINVAL with a message as above. */
skpi_err skpi_regex_check(const char *pattern, char *errbuf, size_t errlen);

#endif
