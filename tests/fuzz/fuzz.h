/* fuzz.h: what the libFuzzer harnesses in tests/fuzz/ share.
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput for one parser.  The
 * same file is linked with libFuzzer by `make fuzz` (clang) and with
 * replay.c by the unit build (gcc), which runs every committed corpus and
 * crash input through it.  A harness returns 0 for any input the parser
 * refuses cleanly; it calls skpi_fuzz_fail (abort) when a property the
 * parser promises does not hold, so the fuzzer records the input.
 */
#ifndef STREAMKPI_FUZZ_H
#define STREAMKPI_FUZZ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints what broke to stderr and aborts. */
__attribute__((noreturn)) void skpi_fuzz_fail(const char *what);

/* Returns a NUL-terminated copy of data[0..size) (caller frees), or NULL
 * on OOM. */
char *skpi_fuzz_cstr(const uint8_t *data, size_t size);

/* Silences logging below ERROR once per process, so a run is not slowed by
 * the warnings bad input rightly causes. */
void skpi_fuzz_quiet(void);

/* Returns the path of a private directory of this process (created on first
 * use, removed at exit), or aborts when it cannot be made. */
const char *skpi_fuzz_dir(void);

/* Removes every entry of skpi_fuzz_dir() (files only). */
void skpi_fuzz_clean(void);

/* Writes data[0..size) to the file name inside skpi_fuzz_dir() and returns
 * its path (static storage, overwritten by the next call); aborts on I/O
 * errors. */
const char *skpi_fuzz_file(const char *name, const uint8_t *data, size_t size);

/* One state section: how to make an empty engine, load a document into it,
 * save it back and free it.  The engine is passed as void *. */
typedef struct skpi_fuzz_section {
  void *(*make)(void);
  int (*load)(void *engine, const json_t *doc); /* 0 when accepted */
  json_t *(*save)(const void *engine);
  void (*release)(void *engine);
} skpi_fuzz_section;

/* Parses data as JSON and loads it into a fresh engine.  When the loader
 * accepts it, what the engine saves must load again into another fresh
 * engine (validation on load equals what save writes), and save twice
 * must give equal documents. */
int skpi_fuzz_section_run(const skpi_fuzz_section *sec, const uint8_t *data, size_t size);

#endif
