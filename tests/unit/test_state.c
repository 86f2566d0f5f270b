/* test_state.c: durable state file: round trip, atomic write, corrupt files
 * moved aside with their bytes intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "streamkpi/state.h"

typedef struct fixture {
  char dir[64];
  char path[128];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/skpi-state-XXXXXX");
  if(!mkdtemp(f->dir))
    return -1;
  snprintf(f->path, sizeof(f->path), "%s/state.json", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  DIR *d = opendir(f->dir);
  struct dirent *e;
  char p[512];
  while(d && (e = readdir(d))) {
    if(e->d_name[0] == '.')
      continue;
    snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
    unlink(p);
  }
  if(d)
    closedir(d);
  rmdir(f->dir);
  free(f);
  return 0;
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(p, 1, n, fp), n);
  fclose(fp);
}

/* Returns the malloc'd contents of the one file in dir whose name contains
 * needle, or NULL when there is not exactly one. */
static char *read_only_match(const char *dir, const char *needle, size_t *len) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char found[512] = "";
  int count = 0;
  while((e = readdir(d))) {
    if(strstr(e->d_name, needle)) {
      count++;
      snprintf(found, sizeof(found), "%s/%s", dir, e->d_name);
    }
  }
  closedir(d);
  if(count != 1)
    return NULL;
  FILE *fp = fopen(found, "rb");
  char *buf = malloc(4 * 1024 * 1024);
  *len = fread(buf, 1, 4 * 1024 * 1024, fp);
  fclose(fp);
  return buf;
}

static void missing_file_starts_empty(void **state) {
  fixture *f = *state;
  skpi_state *s = NULL;
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  assert_null(skpi_state_get(s, "incidents"));
  assert_int_equal(skpi_state_corrupt_count(s), 0);
  skpi_state_close(s);
}

static void unusable_directory_fails(void **state) {
  skpi_state *s = (skpi_state *)1;
  assert_int_equal(skpi_state_open("/nonexistent-skpi-dir/state.json", &s), SKPI_EIO);
  assert_null(s);
}

static void flush_and_reload(void **state) {
  fixture *f = *state;
  skpi_state *s = NULL;
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  skpi_state_put(s, "incidents", json_pack("{s:i, s:f}", "opened", 7, "x", 0.1));
  skpi_state_put(s, "slo", json_pack("[i,i]", 1, 2));
  skpi_state_put(s, "slo", json_pack("[i]", 3)); /* replaces */
  assert_int_equal(skpi_state_flush(s), SKPI_OK);
  assert_int_equal(skpi_state_write_errors(s), 0);
  skpi_state_close(s);

  /* no temp file is left behind */
  size_t len;
  char *tmp = read_only_match(f->dir, ".tmp-", &len);
  assert_null(tmp);

  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  json_t *inc = skpi_state_get(s, "incidents");
  assert_non_null(inc);
  assert_int_equal(json_integer_value(json_object_get(inc, "opened")), 7);
  assert_true(json_real_value(json_object_get(inc, "x")) == 0.1); /* exact */
  json_t *slo = skpi_state_get(s, "slo");
  assert_int_equal(json_array_size(slo), 1);
  assert_int_equal(skpi_state_corrupt_count(s), 0);
  json_decref(inc);
  json_decref(slo);
  skpi_state_close(s);
}

/* Each corrupt variant: moved aside with its exact bytes, counted, fresh
 * start, and the next flush writes a new file without touching the old. */
static void check_moved_aside(fixture *f, const void *bytes, size_t n) {
  write_bytes(f->path, bytes, n);
  skpi_state *s = NULL;
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  assert_int_equal(skpi_state_corrupt_count(s), 1);
  assert_null(skpi_state_get(s, "incidents"));
  assert_int_equal(access(f->path, F_OK), -1);
  size_t len = 0;
  char *aside = read_only_match(f->dir, ".corrupt-", &len);
  assert_non_null(aside);
  assert_int_equal(len, n);
  assert_memory_equal(aside, bytes, n);
  free(aside);

  skpi_state_put(s, "incidents", json_pack("{s:i}", "opened", 1));
  assert_int_equal(skpi_state_flush(s), SKPI_OK);
  skpi_state_close(s);
  aside = read_only_match(f->dir, ".corrupt-", &len);
  assert_non_null(aside);
  assert_int_equal(len, n);
  assert_memory_equal(aside, bytes, n);
  free(aside);
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  assert_int_equal(skpi_state_corrupt_count(s), 0);
  json_t *inc = skpi_state_get(s, "incidents");
  assert_non_null(inc);
  json_decref(inc);
  skpi_state_close(s);
}

static void corrupt_garbage(void **state) {
  const unsigned char g[] = {0xff, 0x00, 'g', 'a', 'r', 'b', 0x01, '{', '['};
  check_moved_aside(*state, g, sizeof(g));
}

static void corrupt_truncated(void **state) {
  const char *t = "{\"format\":\"streamkpi-state\",\"version\":1,\"sections\":{\"incid";
  check_moved_aside(*state, t, strlen(t));
}

static void corrupt_wrong_version(void **state) {
  const char *t = "{\"format\":\"streamkpi-state\",\"version\":2,\"sections\":{}}";
  check_moved_aside(*state, t, strlen(t));
}

static void corrupt_foreign_json(void **state) {
  const char *t = "{\"groups\":[\"a\",\"b\"],\"version\":1}";
  check_moved_aside(*state, t, strlen(t));
}

static void corrupt_sections_not_object(void **state) {
  const char *t = "{\"format\":\"streamkpi-state\",\"version\":1,\"sections\":[]}";
  check_moved_aside(*state, t, strlen(t));
}

static void corrupt_empty_file(void **state) {
  check_moved_aside(*state, "", 0);
}

static void corrupt_twice_keeps_both(void **state) {
  fixture *f = *state;
  skpi_state *s = NULL;
  write_bytes(f->path, "one", 3);
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  skpi_state_close(s);
  write_bytes(f->path, "two", 3);
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  assert_int_equal(skpi_state_corrupt_count(s), 1);
  skpi_state_close(s);
  DIR *d = opendir(f->dir);
  struct dirent *e;
  int n = 0;
  while((e = readdir(d)))
    n += strstr(e->d_name, ".corrupt-") != NULL;
  closedir(d);
  assert_int_equal(n, 2);
}

static void flush_failure_counted(void **state) {
  fixture *f = *state;
  skpi_state *s = NULL;
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  /* the directory disappears under the exporter */
  assert_int_equal(rmdir(f->dir), 0);
  assert_int_equal(skpi_state_flush(s), SKPI_EIO);
  assert_int_equal(skpi_state_write_errors(s), 1);
  skpi_state_close(s);
  assert_int_equal(mkdir(f->dir, 0700), 0);
}

/* The loaders' number reader refuses garbage, non-finite and out-of-range. */
static void number_reader(void **state) {
  double d = -1;
  json_t *ok = json_real(2.5), *str = json_string("2.5"), *neg = json_integer(-3);
  json_t *big = json_real(1e300);
  assert_int_equal(skpi_state_number(ok, 0, 10, &d), 1);
  assert_true(d == 2.5);
  d = -1;
  assert_int_equal(skpi_state_number(str, 0, 10, &d), 0);
  assert_int_equal(skpi_state_number(NULL, 0, 10, &d), 0);
  assert_int_equal(skpi_state_number(neg, 0, 10, &d), 0);
  assert_int_equal(skpi_state_number(big, 0, 1e12, &d), 0);
  assert_true(d == -1); /* untouched on refusal */
  assert_int_equal(skpi_state_number(neg, -5, 0, &d), 1);
  assert_true(d == -3);
  json_decref(ok);
  json_decref(str);
  json_decref(neg);
  json_decref(big);
}

/* A FIFO at the state path would block a plain open until a writer comes;
 * the alarm turns such a hang into a failure. */
static void fifo_refused(void **state) {
  fixture *f = *state;
  assert_int_equal(mkfifo(f->path, 0600), 0);
  alarm(10);
  skpi_state *s = (skpi_state *)1;
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_EIO);
  alarm(0);
  assert_null(s);
  struct stat st;
  assert_int_equal(stat(f->path, &st), 0);
  assert_true(S_ISFIFO(st.st_mode)); /* left alone, not moved aside */
}

static void directory_at_path_refused(void **state) {
  fixture *f = *state;
  assert_int_equal(mkdir(f->path, 0700), 0);
  skpi_state *s = (skpi_state *)1;
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_EIO);
  assert_null(s);
  rmdir(f->path);
}

static void temp_file_new_private_and_never_through_symlink(void **state) {
  fixture *f = *state;
  char victim[256], tmp[256];
  snprintf(victim, sizeof(victim), "%s/victim", f->dir);
  write_bytes(victim, "keep", 4);
  snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", f->path, (long)getpid());
  assert_int_equal(symlink(victim, tmp), 0);
  skpi_state *s = NULL;
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  skpi_state_put(s, "incidents", json_pack("{s:i}", "opened", 1));
  assert_int_equal(skpi_state_flush(s), SKPI_OK);
  skpi_state_close(s);
  size_t len;
  char *v = read_only_match(f->dir, "victim", &len);
  assert_non_null(v);
  assert_int_equal(len, 4);
  assert_memory_equal(v, "keep", 4);
  free(v);
  struct stat st;
  assert_int_equal(lstat(f->path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);
}

static void section_set_aside_with_reason(void **state) {
  fixture *f = *state;
  skpi_state *s = NULL;
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  skpi_state_put(s, "incidents/c1", json_pack("{s:s}", "bad", "entry"));
  skpi_state_put(s, "slo", json_pack("[i]", 3));
  char where[512];
  assert_int_equal(
      skpi_state_set_aside(s, "incidents/c1", "entry 0: empty alertname", where, sizeof(where)),
      SKPI_OK);
  assert_non_null(strstr(where, "state.json.rejected-incidents_c1-"));
  assert_int_equal(skpi_state_rejected_count(s), 1);
  assert_null(skpi_state_get(s, "incidents/c1"));
  assert_int_equal(skpi_state_set_aside(s, "nope", "x", NULL, 0), SKPI_ENOENT);
  size_t len;
  char *text = read_only_match(f->dir, ".rejected-incidents_c1-", &len);
  assert_non_null(text);
  json_t *rec = json_loadb(text, len, 0, NULL);
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "reason")),
                      "entry 0: empty alertname");
  assert_string_equal(json_string_value(json_object_get(rec, "section")), "incidents/c1");
  assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "document"), "bad")),
                      "entry");
  json_decref(rec);
  free(text);
  struct stat st;
  assert_int_equal(stat(where, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  /* The next write does not carry the refused section; the others stay. */
  assert_int_equal(skpi_state_flush(s), SKPI_OK);
  skpi_state_close(s);
  assert_int_equal(skpi_state_open(f->path, &s), SKPI_OK);
  assert_null(skpi_state_get(s, "incidents/c1"));
  json_t *slo = skpi_state_get(s, "slo");
  assert_non_null(slo);
  json_decref(slo);
  skpi_state_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(missing_file_starts_empty, setup, teardown),
      cmocka_unit_test(unusable_directory_fails),
      cmocka_unit_test(number_reader),
      cmocka_unit_test_setup_teardown(flush_and_reload, setup, teardown),
      cmocka_unit_test_setup_teardown(corrupt_garbage, setup, teardown),
      cmocka_unit_test_setup_teardown(corrupt_truncated, setup, teardown),
      cmocka_unit_test_setup_teardown(corrupt_wrong_version, setup, teardown),
      cmocka_unit_test_setup_teardown(corrupt_foreign_json, setup, teardown),
      cmocka_unit_test_setup_teardown(corrupt_sections_not_object, setup, teardown),
      cmocka_unit_test_setup_teardown(corrupt_empty_file, setup, teardown),
      cmocka_unit_test_setup_teardown(corrupt_twice_keeps_both, setup, teardown),
      cmocka_unit_test_setup_teardown(flush_failure_counted, setup, teardown),
      cmocka_unit_test_setup_teardown(fifo_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(directory_at_path_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(temp_file_new_private_and_never_through_symlink, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(section_set_aside_with_reason, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
