/* Scraped Prometheus text: every sample handed out respects the limits,
 * with the defaults and with tight ones. */
#include <string.h>

#include "fuzz.h"
#include "streamkpi/promtext.h"

static skpi_err check_sample(const skpi_promtext_sample *s, void *ud) {
  const skpi_promtext_limits *lim = ud;
  if(strlen(s->name) > lim->max_name)
    skpi_fuzz_fail("metric name longer than max_name");
  if(s->nlabels > lim->max_labels)
    skpi_fuzz_fail("more labels than max_labels");
  for(size_t i = 0; i < s->nlabels; i++) {
    if(strlen(s->label_names[i]) > lim->max_name)
      skpi_fuzz_fail("label name too long");
    if(strlen(s->label_values[i]) > lim->max_value)
      skpi_fuzz_fail("label value too long");
  }
  return SKPI_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  skpi_promtext_limits wide = {65536, 1000000, 64, 256, 4096};
  skpi_promtext_limits tight = {128, 16, 3, 12, 16};
  char err[256];
  skpi_promtext_parse((const char *)data, size, &wide, NULL, check_sample, &wide, err, sizeof(err));
  skpi_promtext_parse((const char *)data, size, &tight, "a", check_sample, &tight, err,
                      sizeof(err));
  return 0;
}
