/* common.c: helpers shared by the fuzz harnesses (see fuzz.h). */
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "streamkpi/log.h"

void skpi_fuzz_fail(const char *what) {
  fprintf(stderr, "fuzz: property broken: %s\n", what);
  abort();
}

char *skpi_fuzz_cstr(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if(!s)
    return NULL;
  if(size)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

void skpi_fuzz_quiet(void) {
  static int done;
  if(done)
    return;
  done = 1;
  skpi_log_setup("error", NULL);
}

static char g_dir[64];

static void remove_dir(void) {
  if(!g_dir[0])
    return;
  skpi_fuzz_clean();
  rmdir(g_dir);
}

const char *skpi_fuzz_dir(void) {
  if(g_dir[0])
    return g_dir;
  /* Memory-backed when the machine has it: the file-reading targets write
   * one file per input, and on a disk that costs more than the parse. */
  char tmpl[] = "/dev/shm/skpi-fuzz-XXXXXX";
  if(!mkdtemp(tmpl)) {
    strcpy(tmpl, "/tmp/skpi-fuzz-XXXXXX");
    if(!mkdtemp(tmpl))
      skpi_fuzz_fail("mkdtemp");
  }
  snprintf(g_dir, sizeof(g_dir), "%s", tmpl);
  atexit(remove_dir);
  return g_dir;
}

void skpi_fuzz_clean(void) {
  DIR *d = opendir(skpi_fuzz_dir());
  if(!d)
    return;
  int fd = dirfd(d);
  struct dirent *e;
  while((e = readdir(d)) != NULL) {
    if(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    unlinkat(fd, e->d_name, 0);
  }
  closedir(d);
}

const char *skpi_fuzz_file(const char *name, const uint8_t *data, size_t size) {
  static char path[128];
  int n = snprintf(path, sizeof(path), "%s/%s", skpi_fuzz_dir(), name);
  if(n < 0 || (size_t)n >= sizeof(path))
    skpi_fuzz_fail("temp path too long");
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if(fd < 0)
    skpi_fuzz_fail("cannot create temp file");
  size_t off = 0;
  while(off < size) {
    ssize_t w = write(fd, data + off, size - off);
    if(w <= 0)
      skpi_fuzz_fail("cannot write temp file");
    off += (size_t)w;
  }
  close(fd);
  return path;
}

int skpi_fuzz_section_run(const skpi_fuzz_section *sec, const uint8_t *data, size_t size) {
  skpi_fuzz_quiet();
  json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
  if(!doc)
    return 0;
  void *a = sec->make();
  void *b = NULL;
  json_t *saved = NULL, *again = NULL;
  if(!a)
    skpi_fuzz_fail("cannot make an empty engine");
  if(sec->load(a, doc) != 0)
    goto out;
  saved = sec->save(a);
  if(!saved)
    skpi_fuzz_fail("save failed after an accepted load");
  b = sec->make();
  if(!b)
    skpi_fuzz_fail("cannot make an empty engine");
  if(sec->load(b, saved) != 0)
    skpi_fuzz_fail("what save wrote does not load again");
  again = sec->save(b);
  if(!again || !json_equal(saved, again))
    skpi_fuzz_fail("save, load, save changed the document");
out:
  json_decref(again);
  json_decref(saved);
  if(b)
    sec->release(b);
  sec->release(a);
  json_decref(doc);
  return 0;
}
