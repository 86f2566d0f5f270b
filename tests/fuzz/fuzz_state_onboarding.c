/* Onboarding first-seen times section of the state file: load, save, load again. */
#include "fuzz.h"
#include "streamkpi/onboarding.h"

static void *make(void) {
  skpi_onboarding *e = NULL;
  skpi_onboarding_new("c1", NULL, &e);
  return e;
}

static int load(void *engine, const json_t *doc) {
  skpi_onboarding *e = engine;
  return skpi_onboarding_load(e, doc) == SKPI_OK ? 0 : -1;
}

static json_t *save(const void *engine) {
  const skpi_onboarding *e = engine;
  return skpi_onboarding_save(e);
}

static void release(void *engine) {
  skpi_onboarding *e = engine;
  skpi_onboarding_free(e);
}

static const skpi_fuzz_section SECTION = {make, load, save, release};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return skpi_fuzz_section_run(&SECTION, data, size);
}
