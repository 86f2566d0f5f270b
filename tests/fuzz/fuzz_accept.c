/* The Accept header of a scrape. */
#include <stdlib.h>

#include "fuzz.h"
#include "streamkpi/expo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = skpi_fuzz_cstr(data, size);
  if(!s)
    return 0;
  enum skpi_format f = skpi_expo_negotiate(s);
  enum skpi_format again = skpi_expo_negotiate(s);
  if(f != again)
    skpi_fuzz_fail("negotiation is not deterministic");
  free(s);
  return 0;
}
