/* test_web.c: the HTTP layer over real sockets (libcurl as the client). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "streamkpi/clock.h"
#include "streamkpi/registry.h"
#include "streamkpi/web.h"

typedef struct fixture {
  skpi_registry *reg;
  skpi_web *web;
  unsigned port;
  int slot;
} fixture;

typedef struct reply {
  long status;
  skpi_buf body;
  char ctype[256];
  char cenc[256];
  char allow[256];
} reply;

static size_t on_body(char *p, size_t sz, size_t n, void *u) {
  reply *r = u;
  return skpi_buf_add(&r->body, p, sz * n) == SKPI_OK ? sz * n : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *u) {
  reply *r = u;
  size_t len = sz * n;
  char line[240];
  snprintf(line, sizeof(line), "%.*s", (int)(len < 239 ? len : 239), p);
  line[strcspn(line, "\r\n")] = '\0';
  if(strncasecmp(line, "Content-Type: ", 14) == 0)
    snprintf(r->ctype, sizeof(r->ctype), "%s", line + 14);
  if(strncasecmp(line, "Content-Encoding: ", 18) == 0)
    snprintf(r->cenc, sizeof(r->cenc), "%s", line + 18);
  if(strncasecmp(line, "Allow: ", 7) == 0)
    snprintf(r->allow, sizeof(r->allow), "%s", line + 7);
  return len;
}

/* Performs one request; body may be NULL. */
static void request(fixture *f, const char *method, const char *path, const char *hdr,
                    const char *body, reply *r) {
  memset(r, 0, sizeof(*r));
  skpi_buf_init(&r->body, 1 << 24);
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  if(hdr)
    h = curl_slist_append(h, hdr);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if(body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

static void echo_handler(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  int *calls = user;
  (*calls)++;
  if(!req->authorization || strcmp(req->authorization, "Bearer s3cret") != 0) {
    resp->status = 401;
    skpi_buf_addstr(&resp->body, "{\"error\":\"unauthorized\"}");
    return;
  }
  skpi_buf_printf(&resp->body, "{\"len\":%zu}", req->body_len);
}

static int g_calls;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  f->reg = skpi_registry_new();
  f->slot = skpi_registry_add_source(f->reg, "c1", "kafka", 60, 1);
  skpi_web_opts o;
  memset(&o, 0, sizeof(o));
  o.listen_address = "127.0.0.1:0";
  o.telemetry_path = "/metrics";
  o.ready_max_age_s = 60;
  char err[256];
  f->web = skpi_web_new(&o, f->reg, err, sizeof(err));
  assert_non_null(f->web);
  g_calls = 0;
  assert_int_equal(skpi_web_route(f->web, "POST", "/api/v1/echo", 1024, echo_handler, &g_calls),
                   SKPI_OK);
  assert_int_equal(skpi_web_start(f->web, err, sizeof(err)), SKPI_OK);
  f->port = skpi_web_port(f->web);
  assert_true(f->port > 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  skpi_web_free(f->web);
  skpi_registry_free(f->reg);
  free(f);
  return 0;
}

static void publish_value(fixture *f) {
  skpi_mset *m = skpi_mset_new();
  int fam = skpi_mset_family(m, "test_total", SKPI_MT_COUNTER, "A test counter.");
  skpi_mset_add(m, fam, 3, "cluster", "c1");
  skpi_registry_publish(f->reg, f->slot, m, NULL, 0.1);
  reply r;
  for(int i = 0; i < 500; i++) {
    request(f, "GET", "/metrics", NULL, NULL, &r);
    int found = r.body.data && strstr(r.body.data, "test_total{cluster=\"c1\"} 3\n");
    skpi_buf_free(&r.body);
    if(found)
      return;
    skpi_sleep(0.02, NULL);
  }
  fail_msg("published value never appeared");
}

static void ready_follows_sources(void **state) {
  fixture *f = *state;
  reply r;
  request(f, "GET", "/ready", NULL, NULL, &r);
  assert_int_equal(r.status, 503);
  skpi_buf_free(&r.body);
  request(f, "GET", "/healthz", NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  skpi_buf_free(&r.body);
  publish_value(f);
  request(f, "GET", "/ready", NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  skpi_buf_free(&r.body);
}

static void metrics_negotiation(void **state) {
  fixture *f = *state;
  publish_value(f);
  reply r;
  request(f, "GET", "/metrics", NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
  assert_string_equal(r.cenc, "");
  skpi_buf_free(&r.body);
  request(f, "GET", "/metrics", "Accept: application/openmetrics-text; version=1.0.0", NULL, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.ctype, "application/openmetrics-text"));
  assert_true(r.body.len > 6);
  assert_string_equal(r.body.data + r.body.len - 6, "# EOF\n");
  assert_non_null(strstr(r.body.data, "# TYPE test counter\n"));
  skpi_buf_free(&r.body);
  request(f, "GET", "/metrics", "Accept-Encoding: gzip", NULL, &r);
  assert_string_equal(r.cenc, "gzip");
  assert_int_equal((unsigned char)r.body.data[0], 0x1f);
  assert_int_equal((unsigned char)r.body.data[1], 0x8b);
  skpi_buf_free(&r.body);
  request(f, "GET", "/metrics", "Accept-Encoding: gzip;q=0, identity", NULL, &r);
  assert_string_equal(r.cenc, "");
  skpi_buf_free(&r.body);
}

static void unknown_paths_and_methods(void **state) {
  fixture *f = *state;
  reply r;
  request(f, "GET", "/nope", NULL, NULL, &r);
  assert_int_equal(r.status, 404);
  skpi_buf_free(&r.body);
  request(f, "POST", "/metrics", NULL, "x=1", &r);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "GET, HEAD");
  skpi_buf_free(&r.body);
  request(f, "GET", "/api/v1/echo", NULL, NULL, &r);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "POST");
  skpi_buf_free(&r.body);
  request(f, "GET", "/", NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.ctype, "text/html"));
  assert_non_null(strstr(r.body.data, "<td class=\"cluster\">c1</td>"));
  skpi_buf_free(&r.body);
}

static void routes_bodies_and_limits(void **state) {
  fixture *f = *state;
  reply r;
  request(f, "POST", "/api/v1/echo", "Authorization: Bearer s3cret", "{\"a\":1}", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body.data, "{\"len\":7}");
  skpi_buf_free(&r.body);
  request(f, "POST", "/api/v1/echo", "Authorization: Bearer wrong", "{}", &r);
  assert_int_equal(r.status, 401);
  skpi_buf_free(&r.body);
  int before = g_calls;
  char *big = malloc(5000);
  memset(big, 'a', 4999);
  big[4999] = '\0';
  request(f, "POST", "/api/v1/echo", "Authorization: Bearer s3cret", big, &r);
  assert_int_equal(r.status, 413);
  assert_int_equal(g_calls, before); /* the handler never saw it */
  skpi_buf_free(&r.body);
  free(big);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ready_follows_sources, setup, teardown),
      cmocka_unit_test_setup_teardown(metrics_negotiation, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_paths_and_methods, setup, teardown),
      cmocka_unit_test_setup_teardown(routes_bodies_and_limits, setup, teardown),
  };
  int rc = cmocka_run_group_tests_name("web", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
