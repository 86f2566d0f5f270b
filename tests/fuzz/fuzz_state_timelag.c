/* Time lag offset histories section of the state file: load, save, load again. */
#include "fuzz.h"
#include "streamkpi/timelag.h"

static void *make(void) {
  skpi_timelag *e = NULL;
  skpi_timelag_new("c1", NULL, &e);
  return e;
}

static int load(void *engine, const json_t *doc) {
  skpi_timelag *e = engine;
  return skpi_timelag_load(e, doc) == SKPI_OK ? 0 : -1;
}

static json_t *save(const void *engine) {
  const skpi_timelag *e = engine;
  return skpi_timelag_save(e);
}

static void release(void *engine) {
  skpi_timelag *e = engine;
  skpi_timelag_free(e);
}

static const skpi_fuzz_section SECTION = {make, load, save, release};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return skpi_fuzz_section_run(&SECTION, data, size);
}
