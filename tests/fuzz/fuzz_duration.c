/* Durations of the configuration: what parses lies in [0, max]. */
#include <stdlib.h>

#include "fuzz.h"
#include "streamkpi/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = skpi_fuzz_cstr(data, size);
  if(!s)
    return 0;
  double d;
  if(skpi_parse_duration(s, &d) == 0 && !(d >= 0 && d <= SKPI_DURATION_MAX))
    skpi_fuzz_fail("duration out of range");
  free(s);
  return 0;
}
