/* The YAML configuration, loaded from a file as the exporter does. */
#include "fuzz.h"
#include "streamkpi/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  skpi_fuzz_quiet();
  const char *path = skpi_fuzz_file("config.yml", data, size);
  skpi_config *c = NULL;
  char err[512];
  skpi_err rc = skpi_config_load(path, &c, err, sizeof(err));
  if(rc == SKPI_OK && !c)
    skpi_fuzz_fail("config accepted but no config returned");
  if(rc != SKPI_OK && c)
    skpi_fuzz_fail("config refused but a config returned");
  skpi_config_free(c);
  return 0;
}
