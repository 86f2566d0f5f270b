/* err.h: the one error type every module returns.
 *
 * Functions that can fail return skpi_err; SKPI_OK is 0 so callers write
 * `if((rc = step()) != SKPI_OK) goto out;`.  Details for humans go to the log
 * or to a caller-provided message buffer, never into the code.
 */
#ifndef STREAMKPI_ERR_H
#define STREAMKPI_ERR_H

typedef enum skpi_err {
  SKPI_OK = 0,
  SKPI_ENOMEM,   /* allocation failed */
  SKPI_ETOOBIG,  /* a bounded buffer or input hit its cap */
  SKPI_EINVAL,   /* bad argument or bad input (parse error, garbage) */
  SKPI_EIO,      /* system call or file error */
  SKPI_ENOENT,   /* not found */
  SKPI_EKAFKA,   /* librdkafka reported an error */
  SKPI_EHTTP,    /* an HTTP exchange failed */
  SKPI_ETIMEOUT, /* a deadline passed */
  SKPI_ESTATE    /* persisted state is corrupt or foreign */
} skpi_err;

/* Returns a static, human-readable name for rc ("out of memory", ...). */
const char *skpi_strerror(skpi_err rc);

#endif
