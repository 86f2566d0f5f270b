/* The Accept-Encoding header of a request. */
#include <stdlib.h>

#include "fuzz.h"
#include "streamkpi/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = skpi_fuzz_cstr(data, size);
  if(!s)
    return 0;
  int g = skpi_web_accepts_gzip(s);
  if(g != 0 && g != 1)
    skpi_fuzz_fail("accepts_gzip returned neither 0 nor 1");
  free(s);
  return 0;
}
