/* replay.c: runs committed fuzz inputs through one harness without clang.
 *
 * Linked (gcc, ASan+UBSan) with one fuzz_<target>.c into
 * build/san/fuzz/<target>-replay.  With no arguments it replays every file
 * of tests/fuzz/corpus/<target>/ and tests/fuzz/crashes/<target>/; with
 * arguments, the files or directories named.  Output follows cmocka's
 * summary lines, so scripts/run-unit.sh counts one test per target: passed
 * when every input ran (a sanitizer report or a broken property aborts the
 * process), failed when the corpus is missing or empty.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef SKPI_FUZZ_TARGET
#define SKPI_FUZZ_TARGET "unknown"
#endif
#ifndef SKPI_FUZZ_DIR
#define SKPI_FUZZ_DIR "tests/fuzz"
#endif

/* libFuzzer's own default bound on an input; larger files are refused. */
#define REPLAY_MAX_INPUT (4u * 1024u * 1024u)

/* Replays one file; returns 1 when it ran, 0 when it could not be read. */
static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if(!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 0;
  }
  uint8_t *buf = malloc(REPLAY_MAX_INPUT);
  size_t n = buf ? fread(buf, 1, REPLAY_MAX_INPUT, f) : 0;
  int ok = buf && !ferror(f) && fgetc(f) == EOF;
  fclose(f);
  if(ok) {
    /* An exact-size copy, so ASan sees any read past the input. */
    uint8_t *in = malloc(n ? n : 1);
    if(in) {
      memcpy(in, buf, n);
      LLVMFuzzerTestOneInput(in, n);
      free(in);
    }
    ok = in != NULL;
  }
  if(!ok)
    fprintf(stderr, "replay: cannot replay %s\n", path);
  free(buf);
  return ok;
}

/* Replays path (a file, or every regular file of a directory); adds to
 * *ran and *bad.  A directory that does not exist adds nothing. */
static void replay_path(const char *path, size_t *ran, size_t *bad) {
  struct stat st;
  if(stat(path, &st) != 0)
    return;
  if(!S_ISDIR(st.st_mode)) {
    if(replay_file(path))
      (*ran)++;
    else
      (*bad)++;
    return;
  }
  DIR *d = opendir(path);
  if(!d) {
    (*bad)++;
    return;
  }
  struct dirent *e;
  char full[4096];
  while((e = readdir(d)) != NULL) {
    if(e->d_name[0] == '.')
      continue;
    int k = snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
    if(k < 0 || (size_t)k >= sizeof(full)) {
      (*bad)++;
      continue;
    }
    if(stat(full, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if(replay_file(full))
      (*ran)++;
    else
      (*bad)++;
  }
  closedir(d);
}

int main(int argc, char **argv) {
  size_t ran = 0, bad = 0;
  printf("[==========] fuzz replay %s\n", SKPI_FUZZ_TARGET);
  if(argc > 1) {
    for(int i = 1; i < argc; i++)
      replay_path(argv[i], &ran, &bad);
  } else {
    replay_path(SKPI_FUZZ_DIR "/corpus/" SKPI_FUZZ_TARGET, &ran, &bad);
    replay_path(SKPI_FUZZ_DIR "/crashes/" SKPI_FUZZ_TARGET, &ran, &bad);
  }
  printf("[ RUN      ] replay_%s (%zu inputs)\n", SKPI_FUZZ_TARGET, ran);
  if(ran == 0 || bad > 0) {
    printf("[  FAILED  ] replay_%s: %zu inputs ran, %zu unreadable\n", SKPI_FUZZ_TARGET, ran, bad);
    printf("[  FAILED  ] 1 test(s), listed below:\n");
    return 1;
  }
  printf("[       OK ] replay_%s\n", SKPI_FUZZ_TARGET);
  printf("[  PASSED  ] 1 test(s).\n");
  return 0;
}
