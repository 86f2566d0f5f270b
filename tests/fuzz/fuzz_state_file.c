/* The state file itself: opened and its sections read and put back.  No
 * flush: its fsyncs would cut the rate a hundredfold for no parsing. */
#include "fuzz.h"
#include "streamkpi/state.h"

static const char *const SECTIONS[] = {"incidents", "slo",    "availability",
                                       "timelag",   "dlq",    "onboarding",
                                       "streams",   "policy", "assess_history"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  skpi_fuzz_quiet();
  skpi_fuzz_clean();
  const char *path = skpi_fuzz_file("state.json", data, size);
  skpi_state *s = NULL;
  if(skpi_state_open(path, &s) != SKPI_OK)
    return 0;
  if(!s)
    skpi_fuzz_fail("state opened but no handle returned");
  for(size_t i = 0; i < sizeof(SECTIONS) / sizeof(SECTIONS[0]); i++) {
    json_t *sec = skpi_state_get(s, SECTIONS[i]);
    if(sec)
      skpi_state_put(s, SECTIONS[i], sec); /* put takes the reference */
  }
  skpi_state_close(s);
  return 0;
}
