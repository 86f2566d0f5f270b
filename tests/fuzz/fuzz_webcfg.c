/* The web configuration file (exporter-toolkit format). */
#include "fuzz.h"
#include "streamkpi/webcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  skpi_fuzz_quiet();
  const char *path = skpi_fuzz_file("web.yml", data, size);
  skpi_webcfg *c = NULL;
  char err[512];
  skpi_err rc = skpi_webcfg_load(path, &c, err, sizeof(err));
  if(rc == SKPI_OK && !c)
    skpi_fuzz_fail("web config accepted but none returned");
  if(rc != SKPI_OK && c)
    skpi_fuzz_fail("web config refused but one returned");
  skpi_webcfg_free(c);
  return 0;
}
