/* err.c: names for skpi_err. */
#include "streamkpi/err.h"

const char *skpi_strerror(skpi_err rc) {
  switch(rc) {
  case SKPI_OK: return "ok";
  case SKPI_ENOMEM: return "out of memory";
  case SKPI_ETOOBIG: return "too big";
  case SKPI_EINVAL: return "invalid input";
  case SKPI_EIO: return "i/o error";
  case SKPI_ENOENT: return "not found";
  case SKPI_EKAFKA: return "kafka error";
  case SKPI_EHTTP: return "http error";
  case SKPI_ETIMEOUT: return "timed out";
  case SKPI_ESTATE: return "corrupt state";
  }
  return "unknown error";
}
