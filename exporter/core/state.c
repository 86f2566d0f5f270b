/* state.c: durable state sections in one atomically written JSON file. */
#include "streamkpi/state.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "streamkpi/buf.h"
#include "streamkpi/log.h"

#define FORMAT "streamkpi-state"
#define VERSION 1
/* A state file is a few MB per cluster; anything far beyond is not ours. */
#define MAX_FILE (256u * 1024u * 1024u)
/* Attempts at a free "<path>.corrupt-<time>[-n]" name. */
#define MAX_ASIDE_TRIES 100

struct skpi_state {
  pthread_mutex_t mu;
  char *path;
  char *dir;
  json_t *sections; /* object: section name -> document */
  unsigned long corrupt;
  unsigned long rejected;
  unsigned long write_errors;
};

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if(!slash)
    return strdup(".");
  if(slash == path)
    return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

/* Checks the envelope; returns the sections object (borrowed) or NULL with
 * why set. */
static json_t *check_envelope(json_t *doc, const char **why) {
  if(!json_is_object(doc)) {
    *why = "not a JSON object";
    return NULL;
  }
  const char *fmt = json_string_value(json_object_get(doc, "format"));
  if(!fmt || strcmp(fmt, FORMAT) != 0) {
    *why = "format is not " FORMAT;
    return NULL;
  }
  json_t *v = json_object_get(doc, "version");
  if(!json_is_integer(v) || json_integer_value(v) != VERSION) {
    *why = "unsupported version";
    return NULL;
  }
  json_t *sec = json_object_get(doc, "sections");
  if(!json_is_object(sec)) {
    *why = "sections missing or not an object";
    return NULL;
  }
  return sec;
}

/* Renames the file to a name that does not exist yet, never replacing
 * anything (link + unlink fails when the target exists). */
static skpi_err move_aside(skpi_state *s, const char *why) {
  char aside[4096];
  long now = (long)time(NULL);
  for(int i = 0; i < MAX_ASIDE_TRIES; i++) {
    int n = i == 0 ? snprintf(aside, sizeof(aside), "%s.corrupt-%ld", s->path, now)
                   : snprintf(aside, sizeof(aside), "%s.corrupt-%ld-%d", s->path, now, i);
    if(n < 0 || (size_t)n >= sizeof(aside))
      return SKPI_EIO;
    if(link(s->path, aside) == 0) {
      if(unlink(s->path) != 0) {
        unlink(aside);
        return SKPI_EIO;
      }
      s->corrupt++;
      skpi_log(SKPI_ERROR, "state file corrupt or foreign, moved aside; starting fresh", "path",
               s->path, "moved_to", aside, "reason", why);
      return SKPI_OK;
    }
    if(errno != EEXIST)
      return SKPI_EIO;
  }
  return SKPI_EIO;
}

skpi_err skpi_state_open(const char *path, skpi_state **out) {
  skpi_err rc = SKPI_OK;
  skpi_buf b;
  skpi_buf_init(&b, MAX_FILE);
  json_t *doc = NULL;
  *out = NULL;
  skpi_state *s = calloc(1, sizeof(*s));
  if(!s)
    return SKPI_ENOMEM;
  pthread_mutex_init(&s->mu, NULL);
  s->path = strdup(path);
  s->dir = s->path ? dir_of(path) : NULL;
  s->sections = json_object();
  if(!s->path || !s->dir || !s->sections) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  struct stat st;
  if(stat(s->dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(s->dir, W_OK | X_OK) != 0) {
    skpi_log(SKPI_ERROR, "state directory unusable", "dir", s->dir, "error", strerror(errno));
    rc = SKPI_EIO;
    goto out;
  }
  rc = skpi_buf_read_file(&b, path);
  if(rc == SKPI_ENOENT) {
    rc = SKPI_OK;
    goto out;
  }
  const char *why = NULL;
  if(rc == SKPI_EINVAL) {
    skpi_log(SKPI_ERROR, "state path is not a regular file; refusing it", "path", path);
    rc = SKPI_EIO;
    goto out;
  } else if(rc == SKPI_ETOOBIG) {
    why = "file too large";
  } else if(rc != SKPI_OK) {
    skpi_log(SKPI_ERROR, "state file unreadable", "path", path, "error", strerror(errno));
    goto out;
  } else {
    json_error_t jerr;
    doc = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
    if(!doc)
      why = "not valid JSON";
  }
  json_t *sec = why ? NULL : check_envelope(doc, &why);
  if(sec) {
    json_decref(s->sections);
    s->sections = json_incref(sec);
    goto out;
  }
  rc = move_aside(s, why);
  if(rc != SKPI_OK)
    skpi_log(SKPI_ERROR, "state file corrupt and cannot be moved aside", "path", path, "reason",
             why, "error", strerror(errno));
out:
  skpi_buf_free(&b);
  json_decref(doc);
  if(rc != SKPI_OK) {
    skpi_state_close(s);
    return rc;
  }
  *out = s;
  return SKPI_OK;
}

json_t *skpi_state_get(skpi_state *s, const char *section) {
  pthread_mutex_lock(&s->mu);
  /* A deep copy: the caller may keep or change it while others put. */
  json_t *v = json_deep_copy(json_object_get(s->sections, section));
  pthread_mutex_unlock(&s->mu);
  return v;
}

void skpi_state_put(skpi_state *s, const char *section, json_t *doc) {
  if(!doc)
    return;
  pthread_mutex_lock(&s->mu);
  json_object_set_new(s->sections, section, doc);
  pthread_mutex_unlock(&s->mu);
}

static skpi_err write_all(int fd, const char *p, size_t n) {
  while(n > 0) {
    ssize_t w = write(fd, p, n);
    if(w < 0 && errno == EINTR)
      continue;
    if(w <= 0)
      return SKPI_EIO;
    p += w;
    n -= (size_t)w;
  }
  return SKPI_OK;
}

static skpi_err fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(fd < 0)
    return SKPI_EIO;
  int r = fsync(fd);
  close(fd);
  return r == 0 ? SKPI_OK : SKPI_EIO;
}

/* Creates path as a new file only: a name left by a crashed writer is
 * removed first (unlink removes a symlink itself, never its target). */
static int create_new(const char *path) {
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(path, flags, 0600);
  if(fd < 0 && errno == EEXIST && unlink(path) == 0)
    fd = open(path, flags, 0600);
  return fd;
}

skpi_err skpi_state_flush(skpi_state *s) {
  skpi_err rc = SKPI_OK;
  char *text = NULL;
  int fd = -1;
  char tmp[4096];
  json_t *doc = NULL;
  pthread_mutex_lock(&s->mu);
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", s->path, (long)getpid());
  if(n < 0 || (size_t)n >= sizeof(tmp)) {
    rc = SKPI_EIO;
    goto out;
  }
  doc = json_pack("{s:s, s:i, s:I, s:O}", "format", FORMAT, "version", VERSION, "written",
                  (json_int_t)time(NULL), "sections", s->sections);
  if(!doc || !(text = json_dumps(doc, JSON_COMPACT))) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  fd = create_new(tmp);
  if(fd < 0) {
    rc = SKPI_EIO;
    goto out;
  }
  if((rc = write_all(fd, text, strlen(text))) != SKPI_OK)
    goto out;
  if(fsync(fd) != 0) {
    rc = SKPI_EIO;
    goto out;
  }
  if(close(fd) != 0) {
    fd = -1;
    rc = SKPI_EIO;
    goto out;
  }
  fd = -1;
  if(rename(tmp, s->path) != 0) {
    rc = SKPI_EIO;
    goto out;
  }
  rc = fsync_dir(s->dir);
out:
  if(rc != SKPI_OK) {
    int e = errno;
    if(fd >= 0)
      close(fd);
    unlink(tmp);
    s->write_errors++;
    skpi_log(SKPI_ERROR, "state flush failed", "path", s->path, "error",
             rc == SKPI_EIO ? strerror(e) : skpi_strerror(rc));
  }
  pthread_mutex_unlock(&s->mu);
  free(text);
  json_decref(doc);
  return rc;
}

skpi_err skpi_state_set_aside(skpi_state *s, const char *section, const char *reason, char *out,
                              size_t outlen) {
  skpi_err rc = SKPI_OK;
  char *text = NULL;
  json_t *rec = NULL;
  char name[256], file[4096];
  int fd = -1;
  snprintf(name, sizeof(name), "%s", section);
  for(char *p = name; *p; p++)
    if(!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '-' || *p == '_' || *p == '.'))
      *p = '_';
  pthread_mutex_lock(&s->mu);
  json_t *doc = json_object_get(s->sections, section);
  if(!doc) {
    rc = SKPI_ENOENT;
    goto out;
  }
  long now = (long)time(NULL);
  rec = json_pack("{s:s, s:s, s:I, s:O}", "section", section, "reason", reason ? reason : "",
                  "set_aside_at", (json_int_t)now, "document", doc);
  if(!rec || !(text = json_dumps(rec, JSON_COMPACT))) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  for(int i = 0; i < MAX_ASIDE_TRIES && fd < 0; i++) {
    int n = i == 0
                ? snprintf(file, sizeof(file), "%s.rejected-%s-%ld.json", s->path, name, now)
                : snprintf(file, sizeof(file), "%s.rejected-%s-%ld-%d.json", s->path, name, now, i);
    if(n < 0 || (size_t)n >= sizeof(file))
      break;
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if(fd < 0 && errno != EEXIST)
      break;
  }
  if(fd < 0) {
    rc = SKPI_EIO;
    goto out;
  }
  rc = write_all(fd, text, strlen(text));
  if(rc == SKPI_OK && fsync(fd) != 0)
    rc = SKPI_EIO;
  if(close(fd) != 0 && rc == SKPI_OK)
    rc = SKPI_EIO;
  if(rc != SKPI_OK) {
    unlink(file);
    goto out;
  }
  json_object_del(s->sections, section);
  s->rejected++;
  if(out)
    snprintf(out, outlen, "%s", file);
out:
  pthread_mutex_unlock(&s->mu);
  if(rc == SKPI_OK)
    skpi_log(SKPI_ERROR, "state section refused, kept aside; starting it fresh", "section", section,
             "reason", reason ? reason : "", "kept_in", file);
  else if(rc != SKPI_ENOENT)
    skpi_log(SKPI_ERROR, "state section refused and cannot be kept aside", "section", section,
             "reason", reason ? reason : "", "error", skpi_strerror(rc));
  free(text);
  json_decref(rec);
  return rc;
}

/* The counters change under the mutex; the casts only drop const to lock. */
unsigned long skpi_state_corrupt_count(const skpi_state *s) {
  pthread_mutex_lock((pthread_mutex_t *)&s->mu);
  unsigned long v = s->corrupt;
  pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
  return v;
}

unsigned long skpi_state_rejected_count(const skpi_state *s) {
  pthread_mutex_lock((pthread_mutex_t *)&s->mu);
  unsigned long v = s->rejected;
  pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
  return v;
}

unsigned long skpi_state_write_errors(const skpi_state *s) {
  pthread_mutex_lock((pthread_mutex_t *)&s->mu);
  unsigned long v = s->write_errors;
  pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
  return v;
}

void skpi_state_close(skpi_state *s) {
  if(!s)
    return;
  json_decref(s->sections);
  pthread_mutex_destroy(&s->mu);
  free(s->path);
  free(s->dir);
  free(s);
}

int skpi_state_number(const json_t *j, double min, double max, double *out) {
  if(!json_is_number(j))
    return 0;
  double d = json_number_value(j);
  if(!isfinite(d) || d < min || d > max)
    return 0;
  *out = d;
  return 1;
}
