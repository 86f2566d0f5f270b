/* Configured regexes: the guard, then the compile it protects, so a pattern
 * the guard lets through but that regcomp cannot afford shows as a timeout
 * or an out-of-memory. */
#include <regex.h>
#include <stdlib.h>

#include "fuzz.h"
#include "streamkpi/regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = skpi_fuzz_cstr(data, size);
  if(!s)
    return 0;
  char err[256];
  skpi_err checked = skpi_regex_check(s, err, sizeof(err));
  regex_t re;
  skpi_err rc = skpi_regex_compile(&re, s, REG_NOSUB, err, sizeof(err));
  if(rc == SKPI_OK) {
    if(checked != SKPI_OK)
      skpi_fuzz_fail("compiled a pattern the guard refuses");
    regfree(&re);
  }
  free(s);
  return 0;
}
