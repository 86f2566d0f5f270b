/* config_test.h: helpers shared by the config tests: YAML text written to
 * a temp file and loaded, the error line split from the file name. */
#ifndef STREAMKPI_CONFIG_TEST_H
#define STREAMKPI_CONFIG_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "streamkpi/config.h"

/* Writes text (len bytes) to a temp file; returns its malloc'd path. */
static inline char *ct_write_temp(const char *text, size_t len) {
  char *path = strdup("/tmp/skpi_test_config_XXXXXX");
  assert_non_null(path);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t off = 0;
  while(off < len) {
    ssize_t n = write(fd, text + off, len - off);
    assert_true(n > 0);
    off += (size_t)n;
  }
  close(fd);
  return path;
}

/* Loads YAML text; on failure copies the message after "<tmpfile>:" into
 * tail.  Returns the load's rc.  The config goes to *out when out is not
 * NULL (the caller frees it), else it is freed. */
static inline skpi_err ct_load(const char *text, char *tail, size_t taillen, skpi_config **out) {
  char err[1024];
  skpi_config *c = NULL;
  char *path = ct_write_temp(text, strlen(text));
  skpi_err rc = skpi_config_load(path, &c, err, sizeof(err));
  tail[0] = '\0';
  if(rc != SKPI_OK) {
    size_t n = strlen(path);
    assert_memory_equal(err, path, n);
    assert_int_equal(err[n], ':');
    snprintf(tail, taillen, "%s", err + n + 1);
  }
  if(out)
    *out = c;
  else
    skpi_config_free(c);
  unlink(path);
  free(path);
  return rc;
}

#endif
