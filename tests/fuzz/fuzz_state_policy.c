/* Policy audit and self-service section of the state file: load, save, load again. */
#include "fuzz.h"
#include "streamkpi/policy.h"

static void *make(void) {
  skpi_policy_cfg cfg;
  skpi_policy_cfg_default(&cfg);
  skpi_policy *e = NULL;
  skpi_policy_new("c1", &cfg, NULL, &e, NULL, 0);
  return e;
}

static int load(void *engine, const json_t *doc) {
  skpi_policy *e = engine;
  return skpi_policy_load(e, doc, NULL, 0) == SKPI_OK ? 0 : -1;
}

static json_t *save(const void *engine) {
  const skpi_policy *e = engine;
  return skpi_policy_save(e);
}

static void release(void *engine) {
  skpi_policy *e = engine;
  skpi_policy_free(e);
}

static const skpi_fuzz_section SECTION = {make, load, save, release};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return skpi_fuzz_section_run(&SECTION, data, size);
}
