/* SLO buckets section of the state file: load, save, load again. */
#include "fuzz.h"
#include "streamkpi/slo.h"

static void *make(void) {
  skpi_slo_cfg cfg = {.name = "s", .objective = 0.99, .kind = SKPI_SLO_ROLLING, .window_s = 86400};
  skpi_slo *e = NULL;
  skpi_slo_new(&cfg, &e);
  return e;
}

static int load(void *engine, const json_t *doc) {
  skpi_slo *e = engine;
  return skpi_slo_load(e, doc) == SKPI_OK ? 0 : -1;
}

static json_t *save(const void *engine) {
  const skpi_slo *e = engine;
  return skpi_slo_save(e);
}

static void release(void *engine) {
  skpi_slo *e = engine;
  skpi_slo_free(e);
}

static const skpi_fuzz_section SECTION = {make, load, save, release};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return skpi_fuzz_section_run(&SECTION, data, size);
}
