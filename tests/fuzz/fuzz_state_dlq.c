/* DLQ counters section of the state file: load, save, load again. */
#include "fuzz.h"
#include "streamkpi/dlq.h"

static void *make(void) {
  skpi_dlq *e = NULL;
  skpi_dlq_new("c1", NULL, &e);
  return e;
}

static int load(void *engine, const json_t *doc) {
  skpi_dlq *e = engine;
  return skpi_dlq_load(e, doc) == SKPI_OK ? 0 : -1;
}

static json_t *save(const void *engine) {
  const skpi_dlq *e = engine;
  return skpi_dlq_save(e);
}

static void release(void *engine) {
  skpi_dlq *e = engine;
  skpi_dlq_free(e);
}

static const skpi_fuzz_section SECTION = {make, load, save, release};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return skpi_fuzz_section_run(&SECTION, data, size);
}
