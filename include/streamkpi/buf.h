/* buf.h: a growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * Every reader of untrusted input and the renderer build into an skpi_buf.
 * Appending past the cap fails with SKPI_ETOOBIG and frees the contents, so a
 * caller has exactly one failure path.  The data is always NUL-terminated
 * (the NUL is not counted in len).  A zeroed struct is not valid: call
 * skpi_buf_init first.
 */
#ifndef STREAMKPI_BUF_H
#define STREAMKPI_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "streamkpi/err.h"

typedef struct skpi_buf {
  char *data;   /* NULL until the first append */
  size_t len;   /* bytes used, excluding the trailing NUL */
  size_t alloc; /* bytes allocated */
  size_t max;   /* cap on len; appends beyond it fail */
} skpi_buf;

/* Prepares b to hold at most max bytes.  Allocates nothing. */
void skpi_buf_init(skpi_buf *b, size_t max);

/* Appends n bytes.  On failure (cap or allocation) the buffer is freed and
 * reset to empty; it stays usable. */
skpi_err skpi_buf_add(skpi_buf *b, const void *p, size_t n);
skpi_err skpi_buf_addstr(skpi_buf *b, const char *s);
skpi_err skpi_buf_addc(skpi_buf *b, char c);
skpi_err skpi_buf_printf(skpi_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
skpi_err skpi_buf_vprintf(skpi_buf *b, const char *fmt, va_list ap);

/* Empties the buffer but keeps its allocation. */
void skpi_buf_reset(skpi_buf *b);

/* Frees the contents; b may be re-used after skpi_buf_init. */
void skpi_buf_free(skpi_buf *b);

/* Hands the malloc'd data to the caller (who frees it) and empties b.  A
 * large unused tail is given back first, so the result is about len bytes.
 * Returns an empty malloc'd string when nothing was appended; NULL on OOM. */
char *skpi_buf_steal(skpi_buf *b, size_t *len);

/* Appends the whole regular file at path (up to the cap).  Returns
 * SKPI_ENOENT when it does not exist, SKPI_EINVAL when it is not a regular
 * file (a FIFO, a directory, a device: opened without blocking and never
 * read), SKPI_ETOOBIG past the cap, SKPI_EIO on other errors (errno set),
 * SKPI_ENOMEM. */
skpi_err skpi_buf_read_file(skpi_buf *b, const char *path);

#endif
