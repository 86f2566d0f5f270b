/* An ODCS v3 data contract: parsed, or refused with one FILE:LINE line. */
#include <string.h>

#include "fuzz.h"
#include "streamkpi/contracts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  skpi_fuzz_quiet();
  skpi_product p;
  char err[1024] = "";
  skpi_err rc = skpi_contract_parse("fuzz.yaml", (const char *)data, size, &p, err, sizeof(err));
  if(rc == SKPI_OK) {
    if(!p.name || !p.owner || !p.domain || !p.origin || !p.contract_id || p.ntopics == 0)
      skpi_fuzz_fail("contract accepted without its required fields");
    if(err[0])
      skpi_fuzz_fail("contract accepted with an error message");
  } else {
    if(strncmp(err, "fuzz.yaml:", 10) != 0)
      skpi_fuzz_fail("contract refused without FILE:LINE");
    if(p.name || p.ntopics)
      skpi_fuzz_fail("contract refused but a product left behind");
  }
  skpi_product_clear(&p);
  return 0;
}
