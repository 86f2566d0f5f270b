/* Incidents and MTTR section of the state file: load, save, load again. */
#include "fuzz.h"
#include "streamkpi/incidents.h"

static void *make(void) {
  return skpi_inc_new(2, 2, 10000);
}

static int load(void *engine, const json_t *doc) {
  skpi_incidents *e = engine;
  return skpi_inc_load(e, doc, NULL, 0) == SKPI_OK ? 0 : -1;
}

static json_t *save(const void *engine) {
  const skpi_incidents *e = engine;
  return skpi_inc_save(e);
}

static void release(void *engine) {
  skpi_incidents *e = engine;
  skpi_inc_free(e);
}

static const skpi_fuzz_section SECTION = {make, load, save, release};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return skpi_fuzz_section_run(&SECTION, data, size);
}
