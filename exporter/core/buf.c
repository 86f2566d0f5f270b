/* buf.c: growable byte buffer with a hard cap. */
#include "streamkpi/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void skpi_buf_init(skpi_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
  b->max = max;
}

void skpi_buf_free(skpi_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
}

void skpi_buf_reset(skpi_buf *b) {
  b->len = 0;
  if(b->data)
    b->data[0] = '\0';
}

/* Makes room for n more bytes plus the NUL, or frees and fails. */
static skpi_err grow(skpi_buf *b, size_t n) {
  if(n > b->max || b->len > b->max - n) {
    skpi_buf_free(b);
    return SKPI_ETOOBIG;
  }
  size_t need = b->len + n + 1;
  if(need <= b->alloc)
    return SKPI_OK;
  size_t a = b->alloc ? b->alloc : 64;
  while(a < need)
    a = a > ((size_t)-1) / 2 ? need : a * 2;
  if(a > b->max + 1)
    a = b->max + 1;
  char *p = realloc(b->data, a);
  if(!p) {
    skpi_buf_free(b);
    return SKPI_ENOMEM;
  }
  b->data = p;
  b->alloc = a;
  return SKPI_OK;
}

skpi_err skpi_buf_add(skpi_buf *b, const void *p, size_t n) {
  skpi_err rc = grow(b, n);
  if(rc)
    return rc;
  if(n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return SKPI_OK;
}

skpi_err skpi_buf_addstr(skpi_buf *b, const char *s) {
  return skpi_buf_add(b, s, strlen(s));
}

skpi_err skpi_buf_addc(skpi_buf *b, char c) {
  return skpi_buf_add(b, &c, 1);
}

skpi_err skpi_buf_vprintf(skpi_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char small[256];
  int n = vsnprintf(small, sizeof(small), fmt, ap2);
  va_end(ap2);
  if(n < 0) {
    skpi_buf_free(b);
    return SKPI_EINVAL;
  }
  if((size_t)n < sizeof(small))
    return skpi_buf_add(b, small, (size_t)n);
  skpi_err rc = grow(b, (size_t)n);
  if(rc)
    return rc;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return SKPI_OK;
}

skpi_err skpi_buf_printf(skpi_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  skpi_err rc = skpi_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

char *skpi_buf_steal(skpi_buf *b, size_t *len) {
  char *p = b->data;
  if(!p)
    p = calloc(1, 1);
  /* Growth doubles: give the slack back, or a big body would keep up to
   * twice its size for as long as it lives. */
  else if(b->alloc - b->len > 4096 && b->alloc - b->len > b->alloc / 8) {
    char *q = realloc(p, b->len + 1);
    if(q)
      p = q;
  }
  if(len)
    *len = p ? b->len : 0;
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
  return p;
}

skpi_err skpi_buf_read_file(skpi_buf *b, const char *path) {
  skpi_err rc = SKPI_OK;
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
   * writer. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if(fd < 0)
    return errno == ENOENT ? SKPI_ENOENT : SKPI_EIO;
  struct stat st;
  if(fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return SKPI_EINVAL;
  }
  char chunk[65536];
  for(;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if(n < 0 && errno == EINTR)
      continue;
    if(n < 0) {
      rc = SKPI_EIO;
      break;
    }
    if(n == 0)
      break;
    if((rc = skpi_buf_add(b, chunk, (size_t)n)) != SKPI_OK)
      break;
  }
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}
