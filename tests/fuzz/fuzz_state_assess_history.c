/* Assessment history section of the state file: load, save, load again. */
#include "fuzz.h"
#include "streamkpi/assess_history.h"

static void *make(void) {
  return skpi_assess_history_new();
}

static int load(void *engine, const json_t *doc) {
  skpi_assess_history *e = engine;
  return skpi_assess_history_load(e, doc, NULL, 0) == SKPI_OK ? 0 : -1;
}

static json_t *save(const void *engine) {
  const skpi_assess_history *e = engine;
  return skpi_assess_history_save(e);
}

static void release(void *engine) {
  skpi_assess_history *e = engine;
  skpi_assess_history_free(e);
}

static const skpi_fuzz_section SECTION = {make, load, save, release};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return skpi_fuzz_section_run(&SECTION, data, size);
}
