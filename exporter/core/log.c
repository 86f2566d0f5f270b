/* log.c: logfmt or JSON lines on stderr, one write(2) per record. */
#include "streamkpi/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "streamkpi/buf.h"
#include "streamkpi/clock.h"

/* Set once at start-up, read by every thread that logs. */
static atomic_int g_level = SKPI_INFO;
static atomic_int g_json = 0;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int skpi_log_setup(const char *level, const char *format) {
  int lvl = g_level, json = g_json;
  if(level) {
    lvl = -1;
    for(int i = 0; i < 4; i++)
      if(strcmp(level, level_names[i]) == 0)
        lvl = i;
    if(lvl < 0)
      return -1;
  }
  if(format) {
    if(strcmp(format, "logfmt") == 0)
      json = 0;
    else if(strcmp(format, "json") == 0)
      json = 1;
    else
      return -1;
  }
  g_level = lvl;
  g_json = json;
  return 0;
}

int skpi_log_enabled(enum skpi_log_level lvl) { return (int)lvl >= g_level; }

/* logfmt quotes a value holding a space, '=', '"' or a control byte. */
static void add_logfmt_value(skpi_buf *b, const char *v) {
  int quote = (*v == '\0');
  for(const char *p = v; *p; p++)
    if(*p == ' ' || *p == '=' || *p == '"' || (unsigned char)*p < 0x20)
      quote = 1;
  if(!quote) {
    skpi_buf_addstr(b, v);
    return;
  }
  skpi_buf_addc(b, '"');
  for(const char *p = v; *p; p++) {
    if(*p == '"' || *p == '\\') {
      skpi_buf_addc(b, '\\');
      skpi_buf_addc(b, *p);
    } else if(*p == '\n') {
      skpi_buf_addstr(b, "\\n");
    } else if((unsigned char)*p < 0x20) {
      skpi_buf_printf(b, "\\x%02x", (unsigned char)*p);
    } else {
      skpi_buf_addc(b, *p);
    }
  }
  skpi_buf_addc(b, '"');
}

static void add_json_string(skpi_buf *b, const char *v) {
  skpi_buf_addc(b, '"');
  for(const char *p = v; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if(c == '"' || c == '\\') {
      skpi_buf_addc(b, '\\');
      skpi_buf_addc(b, (char)c);
    } else if(c == '\n') {
      skpi_buf_addstr(b, "\\n");
    } else if(c < 0x20) {
      skpi_buf_printf(b, "\\u%04x", c);
    } else {
      skpi_buf_addc(b, (char)c);
    }
  }
  skpi_buf_addc(b, '"');
}

static void add_pair(skpi_buf *b, const char *k, const char *v, int first) {
  if(g_json) {
    if(!first)
      skpi_buf_addc(b, ',');
    add_json_string(b, k);
    skpi_buf_addc(b, ':');
    add_json_string(b, v);
  } else {
    if(!first)
      skpi_buf_addc(b, ' ');
    skpi_buf_addstr(b, k);
    skpi_buf_addc(b, '=');
    add_logfmt_value(b, v);
  }
}

void skpi_log_(enum skpi_log_level lvl, const char *msg, ...) {
  if(!skpi_log_enabled(lvl))
    return;
  double now = skpi_now();
  time_t secs = (time_t)now;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char ts[96];
  snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (int)((now - (double)secs) * 1000));
  skpi_buf b;
  skpi_buf_init(&b, 64 * 1024);
  if(g_json)
    skpi_buf_addc(&b, '{');
  add_pair(&b, "ts", ts, 1);
  add_pair(&b, "level", level_names[lvl], 0);
  add_pair(&b, "msg", msg ? msg : "", 0);
  va_list ap;
  va_start(ap, msg);
  for(;;) {
    const char *k = va_arg(ap, const char *);
    if(!k)
      break;
    const char *v = va_arg(ap, const char *);
    add_pair(&b, k, v ? v : "", 0);
  }
  va_end(ap);
  if(g_json)
    skpi_buf_addc(&b, '}');
  skpi_buf_addc(&b, '\n');
  if(b.data) {
    ssize_t off = 0;
    while((size_t)off < b.len) {
      ssize_t n = write(2, b.data + off, b.len - (size_t)off);
      if(n <= 0)
        break;
      off += n;
    }
  }
  skpi_buf_free(&b);
}
