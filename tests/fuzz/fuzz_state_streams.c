/* Stream catalogue section of the state file: load, save, load again. */
#include "fuzz.h"
#include "streamkpi/streams.h"

static void *make(void) {
  skpi_streams_cfg cfg;
  skpi_streams_cfg_default(&cfg);
  skpi_streams *e = NULL;
  skpi_streams_new("c1", &cfg, &e, NULL, 0);
  return e;
}

static int load(void *engine, const json_t *doc) {
  skpi_streams *e = engine;
  return skpi_streams_load(e, doc) == SKPI_OK ? 0 : -1;
}

static json_t *save(const void *engine) {
  const skpi_streams *e = engine;
  return skpi_streams_save(e);
}

static void release(void *engine) {
  skpi_streams *e = engine;
  skpi_streams_free(e);
}

static const skpi_fuzz_section SECTION = {make, load, save, release};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return skpi_fuzz_section_run(&SECTION, data, size);
}
