/* test_webcfg.c: the web config file (exporter-toolkit format) and Basic
 * auth against its users. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <crypt.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "streamkpi/webcfg.h"

static char g_dir[64];
static char g_hash[128];

static void write_file(const char *name, const char *text) {
  char p[256];
  snprintf(p, sizeof(p), "%s/%s", g_dir, name);
  FILE *fp = fopen(p, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static int setup(void **state) {
  snprintf(g_dir, sizeof(g_dir), "/tmp/test_webcfg_XXXXXX");
  if(!mkdtemp(g_dir))
    return -1;
  write_file("srv.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  write_file("srv.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  write_file("ca.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  write_file("notpem.txt", "hello\n");
  char salt[64];
  if(!crypt_gensalt_rn("$2y$", 4, NULL, 0, salt, sizeof(salt)))
    return -1;
  struct crypt_data cd;
  memset(&cd, 0, sizeof(cd));
  const char *h = crypt_r("pa55", salt, &cd);
  if(!h)
    return -1;
  snprintf(g_hash, sizeof(g_hash), "%s", h);
  return 0;
}

static int teardown(void **state) {
  const char *names[] = {"srv.crt", "srv.key", "ca.crt", "notpem.txt", "web.yml"};
  char p[256];
  for(size_t i = 0; i < 5; i++) {
    snprintf(p, sizeof(p), "%s/%s", g_dir, names[i]);
    unlink(p);
  }
  rmdir(g_dir);
  return 0;
}

/* Loads text as web.yml; returns the rc and leaves the message in err. */
static skpi_err load(const char *text, skpi_webcfg **out, char *err, size_t errlen) {
  write_file("web.yml", text);
  char p[256];
  snprintf(p, sizeof(p), "%s/web.yml", g_dir);
  return skpi_webcfg_load(p, out, err, errlen);
}

/* Expects text to be refused with "web.yml:LINE: KEY: ..." holding want. */
static void refused(const char *text, int line, const char *key, const char *want) {
  skpi_webcfg *c = (skpi_webcfg *)1;
  char err[512] = "";
  assert_int_equal(load(text, &c, err, sizeof(err)), SKPI_EINVAL);
  assert_null(c);
  char prefix[256];
  snprintf(prefix, sizeof(prefix), "%s/web.yml:%d: %s: ", g_dir, line, key);
  if(strncmp(err, prefix, strlen(prefix)) != 0)
    fail_msg("want prefix \"%s\", got \"%s\"", prefix, err);
  if(!strstr(err, want))
    fail_msg("want \"%s\" in \"%s\"", want, err);
}

static void full_file_loads(void **state) {
  char text[1024];
  snprintf(text, sizeof(text),
           "tls_server_config:\n"
           "  cert_file: srv.crt\n"
           "  key_file: srv.key\n"
           "  client_auth_type: RequireAndVerifyClientCert\n"
           "  client_ca_file: ca.crt\n"
           "  min_version: TLS13\n"
           "http_server_config:\n"
           "  http2: true\n"
           "  headers:\n"
           "    Strict-Transport-Security: max-age=31536000\n"
           "basic_auth_users:\n"
           "  alice: '%s'\n",
           g_hash);
  skpi_webcfg *c = NULL;
  char err[512] = "";
  assert_int_equal(load(text, &c, err, sizeof(err)), SKPI_OK);
  assert_non_null(c->cert_pem);
  assert_non_null(c->key_pem);
  assert_non_null(c->client_ca_pem);
  assert_int_equal(c->client_auth, SKPI_CLIENT_REQUIRE_VERIFY);
  assert_int_equal(c->min_tls, 13);
  assert_int_equal(c->nusers, 1);
  assert_string_equal(c->users[0].name, "alice");
  assert_int_equal(c->nheaders, 1);
  assert_string_equal(c->headers[0].value, "max-age=31536000");
  skpi_webcfg_free(c);
}

static void empty_file_configures_nothing(void **state) {
  skpi_webcfg *c = NULL;
  char err[512] = "";
  assert_int_equal(load("", &c, err, sizeof(err)), SKPI_OK);
  assert_null(c->cert_pem);
  assert_int_equal(c->nusers, 0);
  assert_int_equal(c->min_tls, 12);
  assert_true(skpi_webcfg_auth_ok(c, NULL)); /* no users: open */
  skpi_webcfg_free(c);
}

static void garbage_refused_with_line_and_key(void **state) {
  refused("tls_server_config:\n  cert_file: srv.crt\n  key_file: srv.key\n  min_version: TLS14\n",
          4, "tls_server_config.min_version", "TLS10, TLS11, TLS12 or TLS13");
  refused("basic_auth_users:\n  bob: x\n", 2, "bob", "bcrypt");
  refused("tls_config:\n  a: b\n", 1, "tls_config", "unknown key");
  refused("tls_server_config:\n  cert_file: srv.crt\n", 1, "tls_server_config",
          "cert_file and key_file");
  refused("tls_server_config:\n  cert_file: missing.crt\n  key_file: srv.key\n", 2,
          "tls_server_config.cert_file", "cannot read");
  refused("tls_server_config:\n  cert_file: notpem.txt\n  key_file: srv.key\n", 2,
          "tls_server_config.cert_file", "no PEM block");
  refused("tls_server_config:\n  cert_file: srv.crt\n  key_file: srv.key\n"
          "  client_auth_type: RequireAndVerifyClientCert\n",
          4, "tls_server_config.client_auth_type", "client_ca_file");
  refused("tls_server_config:\n  cert_file: srv.crt\n  key_file: srv.key\n"
          "  client_auth_type: RequireAnyClientCert\n  client_ca_file: ca.crt\n",
          4, "tls_server_config.client_auth_type", "not supported");
  refused("tls_server_config:\n  cert_file: srv.crt\n  key_file: srv.key\n  ciphers: x\n", 4,
          "tls_server_config.ciphers", "unknown key");
  refused("http_server_config:\n  headers:\n    Set-Cookie: a=b\n", 3, "http_server_config.headers",
          "only");
  refused("http_server_config:\n  headers:\n    X-Frame-Options: [deny]\n", 3, "X-Frame-Options",
          "header value");
  refused("http_server_config:\n  http2: maybe\n", 2, "http_server_config.http2", "true or false");
  refused("basic_auth_users: [alice]\n", 1, "basic_auth_users", "mapping");
  refused("- 1\n- 2\n", 1, "(top)", "mapping");
  refused("a: &x 1\nb: *x\n", 2, "(yaml)", "aliases");
  refused("tls_server_config: {\n", 2, "(yaml)", "");
  refused("basic_auth_users: {}\nbasic_auth_users: {}\n", 2, "basic_auth_users", "twice");
}

static void unusable_file_refused(void **state) {
  skpi_webcfg *c = (skpi_webcfg *)1;
  char err[512] = "";
  char p[256];
  snprintf(p, sizeof(p), "%s/nope.yml", g_dir);
  assert_int_equal(skpi_webcfg_load(p, &c, err, sizeof(err)), SKPI_EIO);
  assert_null(c);
  assert_non_null(strstr(err, "nope.yml:0: (file): cannot read"));
  /* A directory (or a FIFO) is refused, never read as a stream. */
  assert_int_equal(skpi_webcfg_load(g_dir, &c, err, sizeof(err)), SKPI_EIO);
  assert_non_null(strstr(err, "not a regular file"));
}

static void basic_auth_checks(void **state) {
  char text[256];
  snprintf(text, sizeof(text), "basic_auth_users:\n  alice: '%s'\n", g_hash);
  skpi_webcfg *c = NULL;
  char err[512] = "";
  assert_int_equal(load(text, &c, err, sizeof(err)), SKPI_OK);
  assert_true(skpi_webcfg_auth_ok(c, "Basic YWxpY2U6cGE1NQ=="));  /* alice:pa55 */
  assert_true(skpi_webcfg_auth_ok(c, "Basic YWxpY2U6cGE1NQ=="));  /* remembered */
  assert_true(skpi_webcfg_auth_ok(c, "BASIC YWxpY2U6cGE1NQ"));    /* no padding */
  assert_false(skpi_webcfg_auth_ok(c, "Basic YWxpY2U6cGE1Ng==")); /* alice:pa56 */
  assert_false(skpi_webcfg_auth_ok(c, "Basic Ym9iOnBhNTU="));     /* bob:pa55 */
  assert_false(skpi_webcfg_auth_ok(c, "Basic YWxpY2U="));         /* alice, no colon */
  assert_false(skpi_webcfg_auth_ok(c, "Basic !!!!"));
  assert_false(skpi_webcfg_auth_ok(c, "Bearer YWxpY2U6cGE1NQ=="));
  assert_false(skpi_webcfg_auth_ok(c, "Basic "));
  assert_false(skpi_webcfg_auth_ok(c, NULL));
  /* A NUL inside the credentials never matches a prefix. */
  assert_false(skpi_webcfg_auth_ok(c, "Basic YWxpY2U6cGE1NQBY"));
  skpi_webcfg_free(c);
}

typedef struct checker {
  skpi_webcfg *c;
  atomic_int started; /* set by the checker thread, polled by the test */
  enum skpi_auth got;
} checker;

static void *check_wrong(void *arg) {
  checker *k = arg;
  atomic_store(&k->started, 1);
  k->got = skpi_webcfg_auth_ok(k->c, "Basic YWxpY2U6cGE1Ng=="); /* alice:pa56 */
  return NULL;
}

/* While one bcrypt check runs, another uncached one is answered BUSY at
 * once, and a remembered pair still passes. */
static void one_bcrypt_at_a_time(void **state) {
  char salt[64], text[256];
  struct crypt_data cd;
  memset(&cd, 0, sizeof(cd));
  assert_non_null(crypt_gensalt_rn("$2b$", 12, NULL, 0, salt, sizeof(salt)));
  const char *slow = crypt_r("pa55", salt, &cd); /* cost 12: a long check */
  assert_non_null(slow);
  snprintf(text, sizeof(text), "basic_auth_users:\n  alice: '%s'\n", slow);
  skpi_webcfg *c = NULL;
  char err[512] = "";
  assert_int_equal(load(text, &c, err, sizeof(err)), SKPI_OK);
  assert_int_equal(skpi_webcfg_auth_ok(c, "Basic YWxpY2U6cGE1NQ=="), SKPI_AUTH_OK);
  int busy = 0;
  for(int round = 0; round < 20 && !busy; round++) {
    checker k = {c, 0, SKPI_AUTH_OK};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, check_wrong, &k), 0);
    while(!atomic_load(&k.started))
      sched_yield();
    enum skpi_auth r = skpi_webcfg_auth_ok(c, "Basic YWxpY2U6d3Jvbmc="); /* alice:wrong */
    busy = r == SKPI_AUTH_BUSY;
    assert_true(r == SKPI_AUTH_BUSY || r == SKPI_AUTH_REFUSED);
    assert_int_equal(skpi_webcfg_auth_ok(c, "Basic YWxpY2U6cGE1NQ=="), SKPI_AUTH_OK);
    pthread_join(t, NULL);
    assert_true(k.got == SKPI_AUTH_REFUSED || k.got == SKPI_AUTH_BUSY);
  }
  assert_true(busy);
  skpi_webcfg_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_file_loads),
      cmocka_unit_test(empty_file_configures_nothing),
      cmocka_unit_test(garbage_refused_with_line_and_key),
      cmocka_unit_test(unusable_file_refused),
      cmocka_unit_test(basic_auth_checks),
      cmocka_unit_test(one_bcrypt_at_a_time),
  };
  return cmocka_run_group_tests_name("webcfg", tests, setup, teardown);
}
