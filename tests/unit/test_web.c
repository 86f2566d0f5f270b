/* test_web.c: the HTTP layer over real sockets (libcurl as the client). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <crypt.h>
#include <curl/curl.h>
#include <zlib.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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
  long clen; /* Content-Length header, -1 when absent */
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
  if(strncasecmp(line, "Content-Length: ", 16) == 0)
    r->clen = strtol(line + 16, NULL, 10);
  return len;
}

/* Performs one request; body may be NULL. */
static void request(fixture *f, const char *method, const char *path, const char *hdr,
                    const char *body, reply *r) {
  memset(r, 0, sizeof(*r));
  r->clen = -1;
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
  if(strcmp(method, "HEAD") == 0)
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
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

/* One request whose status must be want; the body is dropped. */
static void expect_status(fixture *f, const char *method, const char *path, const char *hdr,
                          const char *body, long want) {
  reply r;
  request(f, method, path, hdr, body, &r);
  skpi_buf_free(&r.body);
  if(r.status != want)
    fail_msg("%s %s: want %ld, got %ld", method, path, want, r.status);
}

static void json_handler(const skpi_web_req *req, skpi_web_resp *resp, void *user) {
  skpi_buf_addstr(&resp->body, "[{\"id\":1}]\n");
}

static int g_calls;

/* Lets only "Bearer s3cret" through; counts its calls in g_guarded. */
static int g_guarded;
static int bearer_guard(const char *authorization, void *user, const char **msg) {
  g_guarded++;
  if(authorization && strcmp(authorization, "Bearer s3cret") == 0)
    return 0;
  *msg = "{\"error\":\"guarded\"}\n";
  return 401;
}

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
  assert_int_equal(skpi_web_route(f->web, "GET", "/api/v1/list", 0, json_handler, NULL), SKPI_OK);
  assert_int_equal(skpi_web_route(f->web, "POST", "/api/v1/guarded", 16, echo_handler, &g_calls),
                   SKPI_OK);
  assert_int_equal(skpi_web_route_guard(f->web, "POST", "/api/v1/guarded", bearer_guard), SKPI_OK);
  assert_int_equal(skpi_web_route_guard(f->web, "POST", "/nowhere", bearer_guard), SKPI_ENOENT);
  g_guarded = 0;
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

/* A connected socket to 127.0.0.1:port; rcvbuf > 0 shrinks its receive
 * buffer first (before connect, so the window stays small). */
static int connect_local(unsigned port, int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  if(rcvbuf > 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

/* Sends raw bytes on a fresh connection and reads until the server closes
 * (or 10 s pass without a byte).  Returns what was read (malloc'd). */
static char *raw(unsigned port, const char *req, size_t len) {
  int fd = connect_local(port, 0);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
  skpi_buf b;
  skpi_buf_init(&b, 1 << 20);
  char chunk[4096];
  for(;;) {
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if(n <= 0)
      break;
    assert_int_equal(skpi_buf_add(&b, chunk, (size_t)n), SKPI_OK);
  }
  close(fd);
  char *out = skpi_buf_steal(&b, NULL);
  assert_non_null(out);
  return out;
}

/* The guard answers from the headers: a body over the route's cap and a
 * body never sent both get the guard's answer, and the handler never runs. */
static void guard_answers_before_the_body(void **state) {
  fixture *f = *state;
  reply r;
  request(f, "POST", "/api/v1/guarded", "Authorization: Bearer wrong", "0123456789abcdefXYZ", &r);
  assert_int_equal(r.status, 401);
  assert_string_equal(r.body.data, "{\"error\":\"guarded\"}\n");
  skpi_buf_free(&r.body);
  assert_int_equal(g_calls, 0);
  char req[256];
  snprintf(req, sizeof(req),
           "POST /api/v1/guarded HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
           "Connection: close\r\n\r\n");
  char *out = raw(f->port, req, strlen(req));
  assert_non_null(strstr(out, "HTTP/1.1 401"));
  free(out);
  assert_int_equal(g_calls, 0);
  request(f, "POST", "/api/v1/guarded", "Authorization: Bearer s3cret", "{}", &r);
  assert_int_equal(r.status, 200);
  skpi_buf_free(&r.body);
  assert_int_equal(g_calls, 1);
  assert_int_equal(g_guarded, 3);
}

static size_t count_of(const char *hay, const char *needle) {
  size_t n = 0;
  for(const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

static void accept_encoding_parameter_at_end(void **state) {
  /* Heap copies of the exact length, so a read past the NUL is caught. */
  const char *cases[] = {"gzip;", "gzip; ", "identity;", "gzip;q", "gzip;q=", ";", "x-gzip;q=0;"};
  int want[] = {1, 1, 0, 1, 0, 0, 0}; /* an empty q value is no consent */
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *h = strdup(cases[i]);
    assert_int_equal(skpi_web_accepts_gzip(h), want[i]);
    free(h);
  }
  assert_int_equal(skpi_web_accepts_gzip(NULL), 0);
}

static void telemetry_path_too_long_refused(void **state) {
  char path[200];
  path[0] = '/';
  memset(path + 1, 'm', 127);
  path[128] = '\0'; /* 128 characters */
  skpi_web_opts o;
  memset(&o, 0, sizeof(o));
  o.listen_address = "127.0.0.1:0";
  o.telemetry_path = path;
  char err[256] = "";
  skpi_registry *reg = skpi_registry_new();
  skpi_web *w = skpi_web_new(&o, reg, err, sizeof(err));
  assert_null(w);
  assert_non_null(strstr(err, "--web.telemetry-path"));
  path[127] = '\0'; /* 127 characters: fine */
  w = skpi_web_new(&o, reg, err, sizeof(err));
  assert_non_null(w);
  skpi_web_free(w);
  skpi_registry_free(reg);
}

static void encoded_nul_in_path_not_found(void **state) {
  fixture *f = *state;
  expect_status(f, "GET", "/metrics%00x", NULL, NULL, 404);
  expect_status(f, "GET", "/healthz%00", NULL, NULL, 404);
  expect_status(f, "GET", "/heal%74hz", NULL, NULL, 200); /* other escapes still decode */
}

static void head_answers_like_get(void **state) {
  fixture *f = *state;
  publish_value(f);
  reply g, h;
  request(f, "GET", "/metrics", NULL, NULL, &g);
  request(f, "HEAD", "/metrics", NULL, NULL, &h);
  assert_int_equal(h.status, 200);
  assert_true(g.body.len > 0);
  assert_int_equal(h.clen, (long)g.body.len);
  assert_int_equal(h.body.len, 0);
  skpi_buf_free(&g.body);
  skpi_buf_free(&h.body);
  request(f, "GET", "/api/v1/list", NULL, NULL, &g);
  request(f, "HEAD", "/api/v1/list", NULL, NULL, &h);
  assert_int_equal(g.status, 200);
  assert_int_equal(h.status, 200);
  assert_string_equal(h.ctype, g.ctype);
  assert_int_equal(h.clen, (long)g.body.len);
  assert_int_equal(h.body.len, 0);
  skpi_buf_free(&g.body);
  skpi_buf_free(&h.body);
  request(f, "POST", "/api/v1/list", NULL, "x", &h);
  assert_int_equal(h.status, 405);
  assert_string_equal(h.allow, "GET, HEAD");
  skpi_buf_free(&h.body);
}

/* A set of nfam families of nser series each: every family's block is over
 * the size the assembler glues, so each is a part of its own. */
static skpi_mset *many_families(int nfam, int nser) {
  skpi_mset *m = skpi_mset_new();
  char name[32], p[16];
  for(int i = 0; i < nfam; i++) {
    snprintf(name, sizeof(name), "test_f%d", i);
    int fam = skpi_mset_family(m, name, SKPI_MT_GAUGE, "A family of many.");
    for(int k = 0; k < nser; k++) {
      snprintf(p, sizeof(p), "%d", k);
      assert_int_equal(skpi_mset_add(m, fam, (double)(i * 100000 + k), "p", p), SKPI_OK);
    }
  }
  return m;
}

/* A body of more parts than libmicrohttpd can take as a vector is
 * streamed: same bytes, length and encodings as any other answer. */
static void many_part_body_is_streamed(void **state) {
  fixture *f = *state;
  skpi_registry_publish(f->reg, f->slot, many_families(300, 600), NULL, 0.1);
  skpi_mset *again = many_families(300, 600);
  const skpi_mset *sets[] = {again};
  skpi_buf want;
  skpi_buf_init(&want, 1 << 26);
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, &want), SKPI_OK);
  skpi_mset_unref(again);
  reply r;
  int found = 0;
  for(int i = 0; i < 500 && !found; i++) {
    request(f, "GET", "/metrics", NULL, NULL, &r);
    found = r.body.data && strstr(r.body.data, "test_f299{p=\"599\"}");
    if(!found) {
      skpi_buf_free(&r.body);
      skpi_sleep(0.02, NULL);
    }
  }
  assert_true(found);
  skpi_snapshot *s = skpi_registry_acquire(f->reg);
  const skpi_expo_part *parts;
  size_t nparts, total;
  assert_int_equal(skpi_snapshot_parts(s, SKPI_FMT_TEXT, 0, &parts, &nparts, &total), SKPI_OK);
  skpi_snapshot_release(s);
  assert_true(nparts > 512);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.clen, (long)r.body.len);
  assert_non_null(strstr(r.body.data, want.data));
  /* gzip (one buffer) inflates to the streamed text; HEAD says its length. */
  reply g, h;
  request(f, "GET", "/metrics", "Accept-Encoding: gzip", NULL, &g);
  assert_string_equal(g.cenc, "gzip");
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
  char *plain = malloc(r.body.len + 1);
  zs.next_in = (Bytef *)g.body.data;
  zs.avail_in = (uInt)g.body.len;
  zs.next_out = (Bytef *)plain;
  zs.avail_out = (uInt)r.body.len + 1;
  assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
  assert_int_equal(zs.total_out, r.body.len);
  assert_memory_equal(plain, r.body.data, r.body.len);
  inflateEnd(&zs);
  free(plain);
  request(f, "HEAD", "/metrics", NULL, NULL, &h);
  assert_int_equal(h.clen, (long)r.body.len);
  skpi_buf_free(&g.body);
  skpi_buf_free(&h.body);
  skpi_buf_free(&r.body);
  skpi_buf_free(&want);
}

/* Sends req and expects exactly one answer, with status line prefix want. */
static void expect_one_answer(unsigned port, const char *req, const char *want) {
  char *out = raw(port, req, strlen(req));
  if(strncmp(out, want, strlen(want)) != 0 || count_of(out, "HTTP/1.1 ") != 1)
    fail_msg("want one \"%s\" answer, got \"%.300s\"", want, out);
  free(out);
}

static void bad_framing_answered_once(void **state) {
  fixture *f = *state;
  /* libmicrohttpd answers a transfer coding it does not know, and a
   * Content-Length that is not a number, itself: once, before any handler
   * runs.  A chunk size past what a body may hold is the exporter's 411. */
  expect_one_answer(f->port,
                    "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\n"
                    "Transfer-Encoding: gzip\r\n\r\nxxxx",
                    "HTTP/1.1 400 ");
  expect_one_answer(f->port,
                    "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\n"
                    "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab",
                    "HTTP/1.1 411 ");
  expect_one_answer(f->port,
                    "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\n"
                    "Content-Length: 12abc\r\n\r\n",
                    "HTTP/1.1 400 ");
  expect_one_answer(f->port,
                    "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\n"
                    "Content-Length: 99999999999999999999999\r\n\r\n",
                    "HTTP/1.1 413 ");
  assert_int_equal(g_calls, 0);
  skpi_web_counters k;
  skpi_web_counters_get(f->web, &k);
  assert_int_equal(k.framing_refused, 1);
}

static void slow_head_cut_at_deadline(void **state) {
  skpi_registry *reg = skpi_registry_new();
  skpi_web_opts o;
  memset(&o, 0, sizeof(o));
  o.listen_address = "127.0.0.1:0";
  o.head_timeout_s = 1;
  char err[256];
  skpi_web *w = skpi_web_new(&o, reg, err, sizeof(err));
  assert_non_null(w);
  assert_int_equal(skpi_web_start(w, err, sizeof(err)), SKPI_OK);
  int fd = connect_local(skpi_web_port(w), 0);
  struct timeval tv = {0, 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  /* One header byte every 0.2 s keeps MHD's idle timer alive for ever; the
   * head deadline must end it anyway. 150 bytes is 30 s at this pace. */
  const char *head = "GET /metrics HTTP/1.1\r\nX-Slow: ";
  int closed = 0;
  for(int i = 0; i < 150 && !closed; i++) {
    char ch = i < (int)strlen(head) ? head[i] : 'a';
    if(send(fd, &ch, 1, MSG_NOSIGNAL) != 1) {
      closed = 1;
      break;
    }
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if(n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      closed = 1;
  }
  close(fd);
  assert_true(closed);
  skpi_web_counters k;
  skpi_web_counters_get(w, &k);
  assert_true(k.deadline_closed >= 1);
  skpi_web_free(w);
  skpi_registry_free(reg);
}

/* Publishes a body of about n_series * 27 bytes. */
static void publish_big(skpi_registry *reg, int slot, int n_series, double v) {
  skpi_mset *m = skpi_mset_new();
  int fam = skpi_mset_family(m, "big_gauge", SKPI_MT_GAUGE, "A big family.");
  char id[32];
  for(int i = 0; i < n_series; i++) {
    snprintf(id, sizeof(id), "%d", i);
    skpi_mset_add(m, fam, v, "id", id);
  }
  skpi_registry_publish(reg, slot, m, NULL, 0.1);
}

/* Opens a connection with a tiny receive window, asks for /metrics and
 * never reads: the answer stays pinned until the connection goes. */
static int slow_reader(unsigned port) {
  int fd = connect_local(port, 2048);
  static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
  return fd;
}

/* Reads fd until the server ends the connection; fails when it does not
 * within 10 s of silence or 64 MiB. */
static void read_until_closed(int fd) {
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[65536];
  for(size_t total = 0; total < ((size_t)64 << 20);) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if(n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
      return;
    if(n < 0)
      fail_msg("connection not ended: %s", strerror(errno));
    total += (size_t)n;
  }
  fail_msg("connection not ended after 64 MiB");
}

static void slow_readers_bounded(void **state) {
  skpi_registry *reg = skpi_registry_new();
  int slot = skpi_registry_add_source(reg, "c1", "kafka", 60, 1);
  skpi_web_opts o;
  memset(&o, 0, sizeof(o));
  o.listen_address = "127.0.0.1:0";
  o.pinned_snapshots = 1; /* a reader of an older snapshot is cut at once */
  char err[256];
  skpi_web *w = skpi_web_new(&o, reg, err, sizeof(err));
  assert_non_null(w);
  assert_int_equal(skpi_web_start(w, err, sizeof(err)), SKPI_OK);
  fixture f = {reg, w, skpi_web_port(w), slot};
  publish_big(reg, slot, 300000, 1);
  reply r;
  r.clen = 0;
  for(int i = 0; i < 500 && r.clen < (5 << 20); i++) {
    request(&f, "HEAD", "/metrics", NULL, NULL, &r);
    skpi_buf_free(&r.body);
    if(r.clen < (5 << 20))
      skpi_sleep(0.02, NULL);
  }
  assert_true(r.clen >= (5 << 20));
  int fds[8];
  for(int i = 0; i < 8; i++) /* the same snapshot: one pin shared by all */
    fds[i] = slow_reader(f.port);
  skpi_web_counters k;
  skpi_web_counters_get(w, &k);
  assert_int_equal(k.slow_readers_cut, 0);
  /* A scrape of a newer snapshot is served, and the readers of the old
   * one are cut to free it. */
  publish_big(reg, slot, 300001, 2);
  for(int i = 0; i < 500 && k.slow_readers_cut == 0; i++) {
    expect_status(&f, "HEAD", "/metrics", NULL, NULL, 200);
    skpi_web_counters_get(w, &k);
    if(k.slow_readers_cut == 0)
      skpi_sleep(0.02, NULL);
  }
  assert_int_equal(k.slow_readers_cut, 8);
  for(int i = 0; i < 8; i++) {
    read_until_closed(fds[i]);
    close(fds[i]);
  }
  expect_status(&f, "GET", "/metrics", NULL, NULL, 200);
  assert_int_equal(k.pinned_refused, 0);
  skpi_web_free(w);
  skpi_registry_free(reg);
}

static void basic_auth_on_every_route(void **state) {
  char dir[] = "/tmp/test_web_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof(path), "%s/web.yml", dir);
  char salt[64];
  assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
  struct crypt_data cd;
  memset(&cd, 0, sizeof(cd));
  const char *hash = crypt_r("pa55", salt, &cd);
  assert_non_null(hash);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fprintf(fp,
          "basic_auth_users:\n  alice: '%s'\nhttp_server_config:\n  headers:\n"
          "    X-Content-Type-Options: nosniff\n",
          hash);
  fclose(fp);
  skpi_registry *reg = skpi_registry_new();
  skpi_web_opts o;
  memset(&o, 0, sizeof(o));
  o.listen_address = "127.0.0.1:0";
  o.web_config_file = path;
  char err[256];
  skpi_web *w = skpi_web_new(&o, reg, err, sizeof(err));
  assert_non_null(w);
  int calls = 0;
  assert_int_equal(skpi_web_route(w, "POST", "/api/v1/echo", 64, echo_handler, &calls), SKPI_OK);
  assert_int_equal(skpi_web_start(w, err, sizeof(err)), SKPI_OK);
  fixture f = {reg, w, skpi_web_port(w), -1};
  const char *paths[] = {"/metrics", "/healthz", "/ready", "/", "/nope"};
  for(size_t i = 0; i < 5; i++) {
    expect_status(&f, "GET", paths[i], NULL, NULL, 401);
    expect_status(&f, "GET", paths[i], "Authorization: Basic YWxpY2U6d3Jvbmc=", NULL, 401);
  }
  expect_status(&f, "POST", "/api/v1/echo", NULL, "{}", 401);
  assert_int_equal(calls, 0);
  skpi_web_counters k;
  skpi_web_counters_get(w, &k);
  assert_int_equal(k.auth_refused, 11);
  /* alice:pa55, twice: the second check takes the remembered path. */
  for(int i = 0; i < 2; i++)
    expect_status(&f, "GET", "/healthz", "Authorization: Basic YWxpY2U6cGE1NQ==", NULL, 200);
  expect_status(&f, "GET", "/healthz", "Authorization: basic YWxpY2U6cGE1NQ==", NULL, 200);
  char *out = raw(f.port,
                  "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                  "Authorization: Basic YWxpY2U6cGE1NQ==\r\nConnection: close\r\n\r\n",
                  strlen("GET /healthz HTTP/1.1\r\nHost: x\r\n"
                         "Authorization: Basic YWxpY2U6cGE1NQ==\r\nConnection: close\r\n\r\n"));
  assert_non_null(strstr(out, "X-Content-Type-Options: nosniff\r\n"));
  free(out);
  skpi_web_free(w);
  skpi_registry_free(reg);
  unlink(path);
  rmdir(dir);
}

/* The check binds and lets go: a foreign address fails, a held port is
 * only reported, a free one passes and stays free. */
static void check_binds_and_releases(void **state) {
  skpi_registry *reg = skpi_registry_new();
  skpi_web_opts o;
  memset(&o, 0, sizeof(o));
  char err[256] = "";
  int in_use = -1;
  o.listen_address = "192.0.2.1:10308"; /* a documentation address, never local */
  skpi_web *w = skpi_web_new(&o, reg, err, sizeof(err));
  assert_non_null(w);
  assert_int_equal(skpi_web_check(w, &in_use, err, sizeof(err)), SKPI_EIO);
  assert_non_null(strstr(err, "cannot bind 192.0.2.1:10308"));
  skpi_web_free(w);

  int held = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  assert_int_equal(bind(held, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(held, 1), 0);
  assert_int_equal(getsockname(held, (struct sockaddr *)&sa, &len), 0);
  char addr[64];
  snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
  o.listen_address = addr;
  w = skpi_web_new(&o, reg, err, sizeof(err));
  assert_non_null(w);
  assert_int_equal(skpi_web_check(w, &in_use, err, sizeof(err)), SKPI_OK);
  assert_int_equal(in_use, 1);
  close(held);
  assert_int_equal(skpi_web_check(w, &in_use, err, sizeof(err)), SKPI_OK);
  assert_int_equal(in_use, 0);
  /* Released: the server binds the same port. */
  assert_int_equal(skpi_web_start(w, err, sizeof(err)), SKPI_OK);
  skpi_web_free(w);
  skpi_registry_free(reg);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ready_follows_sources, setup, teardown),
      cmocka_unit_test_setup_teardown(metrics_negotiation, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_paths_and_methods, setup, teardown),
      cmocka_unit_test_setup_teardown(routes_bodies_and_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(guard_answers_before_the_body, setup, teardown),
      cmocka_unit_test(accept_encoding_parameter_at_end),
      cmocka_unit_test(telemetry_path_too_long_refused),
      cmocka_unit_test_setup_teardown(encoded_nul_in_path_not_found, setup, teardown),
      cmocka_unit_test_setup_teardown(head_answers_like_get, setup, teardown),
      cmocka_unit_test_setup_teardown(many_part_body_is_streamed, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_framing_answered_once, setup, teardown),
      cmocka_unit_test(slow_head_cut_at_deadline),
      cmocka_unit_test(slow_readers_bounded),
      cmocka_unit_test(basic_auth_on_every_route),
      cmocka_unit_test(check_binds_and_releases),
  };
  int rc = cmocka_run_group_tests_name("web", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
