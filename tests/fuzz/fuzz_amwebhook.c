/* Alertmanager webhook bodies: what is parsed is applied to an incident
 * list, and that list's saved state must load again (input validation
 * equals load validation). */
#include "fuzz.h"
#include "streamkpi/amwebhook.h"
#include "streamkpi/incidents.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  skpi_fuzz_quiet();
  skpi_am_payload p;
  char err[256];
  if(skpi_am_parse((const char *)data, size, &p, err, sizeof(err)) != SKPI_OK)
    return 0;
  skpi_incidents *inc = skpi_inc_new(1, 1, 64);
  skpi_incidents *back = skpi_inc_new(1, 1, 64);
  if(!inc || !back)
    skpi_fuzz_fail("cannot make an incident list");
  if(skpi_am_apply(&p, inc, 1.7e9, err, sizeof(err)) == SKPI_OK) {
    json_t *saved = skpi_inc_save(inc);
    if(!saved)
      skpi_fuzz_fail("save failed");
    if(skpi_inc_load(back, saved, err, sizeof(err)) != SKPI_OK)
      skpi_fuzz_fail("incidents accepted from a webhook do not load again");
    json_decref(saved);
  }
  skpi_inc_free(back);
  skpi_inc_free(inc);
  skpi_am_payload_free(&p);
  return 0;
}
