/* RFC 3339 times (config, webhook, state): what parses is a finite time. */
#include <math.h>
#include <stdlib.h>

#include "fuzz.h"
#include "streamkpi/amwebhook.h"
#include "streamkpi/rfc3339.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = skpi_fuzz_cstr(data, size);
  if(!s)
    return 0;
  double t;
  if(skpi_rfc3339_parse(s, &t) == 0 && !isfinite(t))
    skpi_fuzz_fail("rfc3339: not finite");
  if(skpi_rfc3339_parse_date(s, &t) == 0 && !isfinite(t))
    skpi_fuzz_fail("date: not finite");
  if(skpi_am_parse_time(s, &t) == 0 && !isfinite(t))
    skpi_fuzz_fail("am time: not finite");
  free(s);
  return 0;
}
