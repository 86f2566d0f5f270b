/* test_config_doc.c: docs/config.md is exactly what skpi_config_doc renders
 * from the schema table.  Run from the repository root.
 *
 * `test_config_doc --write FILE` writes the rendered page to FILE instead
 * of testing (used by `make config-doc`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/buf.h"
#include "streamkpi/config.h"

#define DOC "docs/config.md"
#define DOC_MAX (1024 * 1024)

static void render(skpi_buf *b) {
  skpi_buf_init(b, DOC_MAX);
  assert_int_equal(skpi_config_doc(b), SKPI_OK);
  assert_non_null(b->data);
}

static void doc_matches_schema(void **state) {
  skpi_buf want;
  render(&want);
  FILE *f = fopen(DOC, "r");
  if(!f)
    fail_msg("cannot open %s (run from the repository root)", DOC);
  char *got = calloc(1, DOC_MAX + 1);
  assert_non_null(got);
  size_t n = fread(got, 1, DOC_MAX, f);
  fclose(f);
  if(n != want.len || memcmp(got, want.data, n) != 0) {
    /* Name the first line that differs, so the fix is obvious. */
    size_t i = 0, line = 1;
    while(i < n && i < want.len && got[i] == want.data[i])
      line += got[i++] == '\n';
    free(got);
    skpi_buf_free(&want);
    fail_msg("%s differs from the schema table from line %zu on; run `make config-doc`", DOC, line);
  }
  free(got);
  skpi_buf_free(&want);
}

/* Every key of every section is in the page, with its default. */
static void doc_names_keys_and_defaults(void **state) {
  skpi_buf b;
  render(&b);
  static const char *const rows[] = {
      "| sample_interval | duration > 0 | 15s |",
      "| max_inflight | int 1..1000 | `10` |",
      "| patterns | list of strings, at most 32 |",
      "| quality.good | list of strings, not empty, at most 64 | `success` |",
      "| interval | duration > 0 | 15s |",
      "| timeout | duration > 0 | 5s |",
      "| max_bytes | int 1..1073741824 | `10485760` |",
      "| open_after | int 1..1000 | `3` |",
      "| survey_max_age | duration > 0 | 180d |",
      "| date | date or time | required |",
      "| role | string |",
      "## clusters (list)",
      "### catalog.products (list)",
      "### maturity.survey (list)",
      "| probe | section like `probe` | from `probe` |",
  };
  for(size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
    if(!strstr(b.data, rows[i]))
      fail_msg("rendered page lacks \"%s\"", rows[i]);
  skpi_buf_free(&b);
}

int main(int argc, char **argv) {
  if(argc == 3 && strcmp(argv[1], "--write") == 0) {
    skpi_buf b;
    skpi_buf_init(&b, DOC_MAX);
    FILE *f = fopen(argv[2], "w");
    if(skpi_config_doc(&b) != SKPI_OK || !f || fwrite(b.data, 1, b.len, f) != b.len) {
      fprintf(stderr, "cannot write %s\n", argv[2]);
      return 1;
    }
    skpi_buf_free(&b);
    return fclose(f) == 0 ? 0 : 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(doc_matches_schema),
      cmocka_unit_test(doc_names_keys_and_defaults),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
