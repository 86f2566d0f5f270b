/* log.c: logfmt or JSON lines on stderr, one write(2) per record, with
 * repeated lines rate-limited so that a flood of bad requests cannot fill
 * the disk or hide everything else. */
#include "streamkpi/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
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

/* Messages tracked at once; two that share a slot count together, which
 * only makes the limit stricter for both. */
#define LIMIT_SLOTS 256
#define DEFAULT_BURST 10
#define DEFAULT_WINDOW_S 10.0

typedef struct limit_slot {
  uint64_t key;
  double start; /* monotonic start of the current window */
  unsigned written;
  unsigned long suppressed; /* in windows not yet reported */
} limit_slot;

static pthread_mutex_t g_limit_mu = PTHREAD_MUTEX_INITIALIZER;
static limit_slot g_slots[LIMIT_SLOTS];
static unsigned g_burst = DEFAULT_BURST;
static double g_window = DEFAULT_WINDOW_S;
static unsigned long g_suppressed_total;

void skpi_log_limit(unsigned burst, double window_s) {
  pthread_mutex_lock(&g_limit_mu);
  g_burst = burst;
  g_window = window_s;
  for(size_t i = 0; i < LIMIT_SLOTS; i++) {
    g_slots[i].start = 0;
    g_slots[i].written = 0;
  }
  pthread_mutex_unlock(&g_limit_mu);
}

unsigned long skpi_log_suppressed(void) {
  pthread_mutex_lock(&g_limit_mu);
  unsigned long v = g_suppressed_total;
  pthread_mutex_unlock(&g_limit_mu);
  return v;
}

static uint64_t fnv(uint64_t h, const char *s) {
  for(; s && *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;
}

/* Returns 1 when the record may be written; then *reported is the number
 * suppressed since the last written one of the same message. */
static int limit_pass(uint64_t key, unsigned long *reported) {
  int pass = 1;
  *reported = 0;
  pthread_mutex_lock(&g_limit_mu);
  if(g_burst) {
    limit_slot *s = &g_slots[key % LIMIT_SLOTS];
    double now = skpi_mono();
    if(s->key != key || s->start == 0 || now - s->start >= g_window) {
      if(s->key != key)
        s->suppressed = 0;
      s->key = key;
      s->start = now;
      s->written = 0;
    }
    if(s->written < g_burst) {
      s->written++;
      *reported = s->suppressed;
      s->suppressed = 0;
    } else {
      s->suppressed++;
      g_suppressed_total++;
      pass = 0;
    }
  }
  pthread_mutex_unlock(&g_limit_mu);
  return pass;
}

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

int skpi_log_enabled(enum skpi_log_level lvl) {
  return (int)lvl >= g_level;
}

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
  va_list ap;
  uint64_t key = fnv(14695981039346656037ull + (uint64_t)lvl, msg);
  va_start(ap, msg);
  for(;;) {
    const char *k = va_arg(ap, const char *);
    if(!k)
      break;
    key = fnv(key, k);
    (void)va_arg(ap, const char *);
  }
  va_end(ap);
  unsigned long suppressed;
  if(!limit_pass(key, &suppressed))
    return;
  double now = skpi_now();
  time_t secs = (time_t)now;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char ts[96];
  snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((now - (double)secs) * 1000));
  skpi_buf b;
  skpi_buf_init(&b, 64 * 1024);
  if(g_json)
    skpi_buf_addc(&b, '{');
  add_pair(&b, "ts", ts, 1);
  add_pair(&b, "level", level_names[lvl], 0);
  add_pair(&b, "msg", msg ? msg : "", 0);
  va_start(ap, msg);
  for(;;) {
    const char *k = va_arg(ap, const char *);
    if(!k)
      break;
    const char *v = va_arg(ap, const char *);
    add_pair(&b, k, v ? v : "", 0);
  }
  va_end(ap);
  if(suppressed) {
    char n[32];
    snprintf(n, sizeof(n), "%lu", suppressed);
    add_pair(&b, "suppressed", n, 0);
  }
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
