/* test_http_source.c: HTTP targets against real local servers.
 *
 * A libmicrohttpd daemon on 127.0.0.1 (ephemeral port, one thread per
 * connection so a hanging handler blocks only its own client) serves every
 * kind of target: good metrics, garbage, a hang, a 50 MB stream, a lying
 * Content-Length, a 500, a redirect loop, basic auth, a Schema Registry
 * /subjects list and a Kafka Connect /connectors?expand=status body.  All
 * targets are scraped in the same run: the good ones must carry the right
 * values while the bad ones only count their own errors.  No assertion looks
 * at a duration.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "streamkpi/buf.h"
#include "streamkpi/clock.h"
#include "streamkpi/expo.h"
#include "streamkpi/http_source.h"
#include "streamkpi/registry.h"

#define BIG_TOTAL (50u << 20)

static atomic_int g_stop;           /* releases the hanging handler */
static atomic_ullong g_big_served;  /* bytes the 50 MB handler produced */
static atomic_int g_success, g_verr, g_err; /* counters the good target exposes */
static const char *_Atomic g_dyn_body;      /* what /dyn/... answers */

/* Recorded shape of Kafka Connect's GET /connectors?expand=status (3.x),
 * trimmed to two connectors; fields we do not read are kept on purpose. */
static const char connect_body[] =
    "{\"orders-sink\":{\"status\":{\"name\":\"orders-sink\","
    "\"connector\":{\"state\":\"RUNNING\",\"worker_id\":\"10.0.0.1:8083\"},"
    "\"tasks\":[{\"id\":0,\"state\":\"RUNNING\",\"worker_id\":\"10.0.0.1:8083\"},"
    "{\"id\":1,\"state\":\"FAILED\",\"worker_id\":\"10.0.0.2:8083\","
    "\"trace\":\"org.apache.kafka.connect.errors.ConnectException: boom\\n\\tat x\"}],"
    "\"type\":\"sink\"}},"
    "\"payments-source\":{\"status\":{\"name\":\"payments-source\","
    "\"connector\":{\"state\":\"PAUSED\",\"worker_id\":\"10.0.0.2:8083\"},"
    "\"tasks\":[{\"id\":0,\"state\":\"PAUSED\",\"worker_id\":\"10.0.0.2:8083\"}],"
    "\"type\":\"source\"}}}";

static const char subjects_body[] =
    "[\"orders-value\",\"orders-key\",\"payments-value\",\"audit\"]";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *body,
                             const char *ctype) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if(!r)
    return MHD_NO;
  if(ctype)
    MHD_add_response_header(r, "Content-Type", ctype);
  enum MHD_Result ret = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ret;
}

static ssize_t big_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  if(pos >= BIG_TOTAL)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = max;
  if(n > BIG_TOTAL - pos)
    n = (size_t)(BIG_TOTAL - pos);
  /* Valid text ("x 1\n" repeated), so only the size can make it fail. */
  for(size_t i = 0; i < n; i++)
    buf[i] = "x 1\n"[(pos + i) % 4];
  atomic_fetch_add(&g_big_served, n);
  return (ssize_t)n;
}

static ssize_t liar_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  if(pos >= 4)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  memcpy(buf, "x 1\n", 4);
  return 4;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls) {
  if(strcmp(url, "/good") == 0 || strcmp(url, "/auth") == 0) {
    if(strcmp(url, "/auth") == 0) {
      const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
      /* base64("app:s3cret") */
      if(!a || strcmp(a, "Basic YXBwOnMzY3JldA==") != 0)
        return reply(c, 401, "no\n", "text/plain");
    }
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    if(!accept || !strstr(accept, "version=0.0.4"))
      return reply(c, 406, "want 0.0.4\n", "text/plain");
    char body[1024];
    int s = atomic_load(&g_success);
    snprintf(body, sizeof(body),
             "# HELP events_processed_total Events by outcome.\n"
             "# TYPE events_processed_total counter\n"
             "events_processed_total{pod=\"a\",status=\"success\"} %d\n"
             "events_processed_total{pod=\"b\",status=\"success\"} %d\n"
             "events_processed_total{pod=\"a\",status=\"validation_error\"} %d\n"
             "events_processed_total{pod=\"a\",status=\"error\"} %d\n"
             "# TYPE request_seconds histogram\n"
             "request_seconds_bucket{le=\"+Inf\"} 3\n"
             "request_seconds_sum 1.5e0\n"
             "request_seconds_count 3\n",
             s - s / 3, s / 3, atomic_load(&g_verr), atomic_load(&g_err));
    return reply(c, 200, body, "text/plain; version=0.0.4");
  }
  if(strcmp(url, "/garbage") == 0)
    return reply(c, 200, "<html>this is {not prometheus\n", "text/html");
  if(strcmp(url, "/hang") == 0) {
    /* Bounded: the test releases us; 600 x 50 ms at most otherwise. */
    for(int i = 0; i < 600 && !atomic_load(&g_stop); i++)
      usleep(50000);
    return reply(c, 200, "late 1\n", "text/plain");
  }
  if(strcmp(url, "/big") == 0) {
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536,
                                                               big_reader, NULL, NULL);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if(strcmp(url, "/liar") == 0) {
    struct MHD_Response *r =
        MHD_create_response_from_callback(BIG_TOTAL, 4096, liar_reader, NULL, NULL);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if(strcmp(url, "/fail") == 0)
    return reply(c, 500, "internal error\n", "text/plain");
  if(strcmp(url, "/loop") == 0) {
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Location", "/loop");
    enum MHD_Result ret = MHD_queue_response(c, 302, r);
    MHD_destroy_response(r);
    return ret;
  }
  if(strcmp(url, "/sr/subjects") == 0)
    return reply(c, 200, subjects_body, "application/json");
  if(strcmp(url, "/srbad/subjects") == 0)
    return reply(c, 200, "[\"a\", 1]", "application/json");
  if(strcmp(url, "/dyn/subjects") == 0 || strcmp(url, "/dyn/connectors") == 0)
    return reply(c, 200, atomic_load(&g_dyn_body), "application/json");
  if(strcmp(url, "/badconnect/connectors") == 0)
    return reply(c, 200, "{\"x\":{\"name\":\"x\"}}", "application/json"); /* no status */
  if(strcmp(url, "/connect/connectors") == 0) {
    const char *exp = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "expand");
    if(!exp || strcmp(exp, "status") != 0)
      return reply(c, 400, "{}", "application/json");
    return reply(c, 200, connect_body, "application/json");
  }
  return reply(c, 404, "not found\n", "text/plain");
}

typedef struct fixture {
  struct MHD_Daemon *d;
  unsigned port;
  unsigned dead_port; /* nothing listens there */
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  atomic_store(&g_stop, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  f->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                              MHD_USE_ERROR_LOG,
                          0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                          MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
  assert_non_null(f->d);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
  assert_non_null(info);
  f->port = info->port;
  /* A port that was free a moment ago: connecting there is refused. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  socklen_t sl = sizeof(sa);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  f->dead_port = ntohs(sa.sin_port);
  close(fd);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  atomic_store(&g_stop, 1);
  MHD_stop_daemon(f->d);
  free(f);
  return 0;
}

/* Builds target i of the test set; urls live in a caller array. */
static void target(skpi_target_cfg *c, char *urlbuf, size_t urllen, const fixture *f,
                   const char *name, const char *path, enum skpi_target_kind kind) {
  skpi_http_source_cfg_defaults(c);
  snprintf(urlbuf, urllen, "http://127.0.0.1:%u%s", f->port, path);
  c->name = name;
  c->url = urlbuf;
  c->kind = kind;
  c->timeout_s = 5;
  c->interval_s = 0.2;
  c->max_bytes = 1u << 20;
}

static void render(skpi_http_source *s, const char *name, skpi_buf *out) {
  skpi_mset *m = skpi_http_source_target_set(s, name);
  assert_non_null(m);
  const skpi_mset *sets[1] = {m};
  skpi_buf_reset(out);
  assert_int_equal(skpi_expo_render(sets, 1, SKPI_FMT_TEXT, out), SKPI_OK);
  skpi_mset_unref(m);
}

static void assert_has(const skpi_buf *b, const char *line) {
  if(!b->data || !strstr(b->data, line))
    fail_msg("missing '%s' in:\n%s", line, b->data ? b->data : "");
}

static void assert_lacks(const skpi_buf *b, const char *what) {
  if(b->data && strstr(b->data, what))
    fail_msg("unexpected '%s' in:\n%s", what, b->data);
}

static unsigned long errs(skpi_http_source *s, const char *name, int reason) {
  skpi_target_status st;
  assert_int_equal(skpi_http_source_status(s, name, &st), SKPI_OK);
  return st.errors[reason];
}

enum { R_TIMEOUT = 0, R_TOO_BIG, R_HTTP, R_PARSE, R_CONNECT };

static void all_targets_one_run(void **state) {
  fixture *f = *state;
  static char urls[14][128];
  skpi_target_cfg t[14];
  size_t n = 0;
  target(&t[n], urls[n], 128, f, "good", "/good", SKPI_TARGET_METRICS), n++;
  target(&t[n], urls[n], 128, f, "garbage", "/garbage", SKPI_TARGET_METRICS), n++;
  target(&t[n], urls[n], 128, f, "hang", "/hang", SKPI_TARGET_METRICS), n++;
  t[n - 1].timeout_s = 0.5;
  target(&t[n], urls[n], 128, f, "big", "/big", SKPI_TARGET_METRICS), n++;
  target(&t[n], urls[n], 128, f, "liar", "/liar", SKPI_TARGET_METRICS), n++;
  target(&t[n], urls[n], 128, f, "fail", "/fail", SKPI_TARGET_METRICS), n++;
  target(&t[n], urls[n], 128, f, "loop", "/loop", SKPI_TARGET_METRICS), n++;
  target(&t[n], urls[n], 128, f, "auth", "/auth", SKPI_TARGET_METRICS), n++;
  t[n - 1].username = "app";
  t[n - 1].password = "s3cret";
  target(&t[n], urls[n], 128, f, "noauth", "/auth", SKPI_TARGET_METRICS), n++;
  target(&t[n], urls[n], 128, f, "sr", "/sr/", SKPI_TARGET_SCHEMA_REGISTRY), n++;
  target(&t[n], urls[n], 128, f, "srbad", "/srbad", SKPI_TARGET_SCHEMA_REGISTRY), n++;
  target(&t[n], urls[n], 128, f, "connect", "/connect", SKPI_TARGET_CONNECT), n++;
  target(&t[n], urls[n], 128, f, "connectbad", "/badconnect", SKPI_TARGET_CONNECT), n++;
  target(&t[n], urls[n], 128, f, "down", "/good", SKPI_TARGET_METRICS), n++;
  snprintf(urls[n - 1], 128, "http://127.0.0.1:%u/good", f->dead_port);

  skpi_registry *reg = skpi_registry_new();
  assert_non_null(reg);
  skpi_http_source *s = NULL;
  char err[256];
  assert_int_equal(skpi_http_source_new(reg, t, n, &s, err, sizeof(err)), SKPI_OK);

  atomic_store(&g_success, 90);
  atomic_store(&g_verr, 5);
  atomic_store(&g_err, 5);
  atomic_store(&g_big_served, 0);
  assert_int_equal(skpi_http_source_run_once(s), SKPI_OK);

  skpi_target_status st;
  assert_int_equal(skpi_http_source_status(s, "good", &st), SKPI_OK);
  assert_int_equal(st.up, 1);
  assert_int_equal(st.http_status, 200);
  assert_true(st.response_bytes > 100);
  assert_int_equal(errs(s, "garbage", R_PARSE), 1);
  assert_int_equal(errs(s, "hang", R_TIMEOUT), 1);
  assert_int_equal(errs(s, "big", R_TOO_BIG), 1);
  assert_int_equal(errs(s, "liar", R_TOO_BIG), 1);
  assert_int_equal(errs(s, "fail", R_HTTP), 1);
  assert_int_equal(errs(s, "loop", R_HTTP), 1);
  assert_int_equal(errs(s, "noauth", R_HTTP), 1);
  assert_int_equal(errs(s, "srbad", R_PARSE), 1);
  assert_int_equal(errs(s, "connectbad", R_PARSE), 1);
  assert_int_equal(errs(s, "down", R_CONNECT), 1);
  /* The size cap held: we kept at most the cap, and the stream was cut off
   * long before its 50 MB (socket buffers hold a few MB at most). */
  assert_int_equal(skpi_http_source_status(s, "big", &st), SKPI_OK);
  assert_int_equal(st.up, 0);
  assert_true(st.response_bytes <= (1u << 20) + (1u << 17));
  assert_true(atomic_load(&g_big_served) < BIG_TOTAL);
  assert_int_equal(skpi_http_source_status(s, "fail", &st), SKPI_OK);
  assert_int_equal(st.http_status, 500);
  assert_string_equal(st.last_error, "HTTP status 500");
  /* A failure is counted once, under one reason only. */
  assert_int_equal(skpi_http_source_status(s, "garbage", &st), SKPI_OK);
  unsigned long sum = 0;
  for(int r = 0; r < SKPI_TARGET_NREASONS; r++)
    sum += st.errors[r];
  assert_int_equal(sum, 1);
  assert_true(strncmp(st.last_error, "line 1: ", 8) == 0);

  skpi_buf out;
  skpi_buf_init(&out, 1 << 20);
  render(s, "good", &out);
  assert_has(&out, "streamkpi_target_up{target=\"good\"} 1\n");
  assert_has(&out, "streamkpi_app_events_total{target=\"good\",status=\"success\"} 90\n");
  assert_has(&out, "streamkpi_app_events_total{target=\"good\",status=\"validation_error\"} 5\n");
  assert_has(&out, "streamkpi_app_events_total{target=\"good\",status=\"error\"} 5\n");
  assert_has(&out, "streamkpi_target_errors_total{target=\"good\",reason=\"timeout\"} 0\n");
  /* One scrape is no interval: no ratio yet. */
  assert_lacks(&out, "streamkpi_data_quality_ratio");

  render(s, "auth", &out);
  assert_has(&out, "streamkpi_target_up{target=\"auth\"} 1\n");
  render(s, "hang", &out);
  assert_has(&out, "streamkpi_target_up{target=\"hang\"} 0\n");
  assert_has(&out, "streamkpi_target_errors_total{target=\"hang\",reason=\"timeout\"} 1\n");
  assert_lacks(&out, "streamkpi_app_events_total");

  render(s, "sr", &out);
  assert_has(&out, "streamkpi_schema_registry_subjects{target=\"sr\"} 4\n");
  const char *topics[] = {"orders", "payments", "audit", "clicks"};
  size_t covered = 99;
  assert_int_equal(skpi_http_source_schema_coverage(s, topics, 4, &covered), SKPI_OK);
  assert_int_equal(covered, 2); /* audit has a subject, but not audit-value */

  render(s, "connect", &out);
  assert_has(&out, "streamkpi_connect_connectors{target=\"connect\",state=\"RUNNING\"} 1\n");
  assert_has(&out, "streamkpi_connect_connectors{target=\"connect\",state=\"PAUSED\"} 1\n");
  assert_has(&out, "streamkpi_connect_connectors{target=\"connect\",state=\"FAILED\"} 0\n");
  assert_has(&out, "streamkpi_connect_tasks{target=\"connect\",state=\"RUNNING\"} 1\n");
  assert_has(&out, "streamkpi_connect_tasks{target=\"connect\",state=\"FAILED\"} 1\n");
  assert_has(&out, "streamkpi_connect_tasks{target=\"connect\",state=\"PAUSED\"} 1\n");
  assert_has(&out, "streamkpi_connect_connector_running{target=\"connect\","
                   "connector=\"orders-sink\"} 1\n");
  assert_has(&out, "streamkpi_connect_connector_running{target=\"connect\","
                   "connector=\"payments-source\"} 0\n");
  assert_has(&out, "streamkpi_connect_connector_tasks{target=\"connect\","
                   "connector=\"orders-sink\"} 2\n");
  assert_has(&out, "streamkpi_connect_connector_tasks_running{target=\"connect\","
                   "connector=\"orders-sink\"} 1\n");
  assert_has(&out, "streamkpi_connect_connector_tasks_running{target=\"connect\","
                   "connector=\"payments-source\"} 0\n");
  size_t ntasks = 0, nrunning = 0;
  assert_int_equal(skpi_http_source_connect_tasks(s, &ntasks, &nrunning), SKPI_OK);
  assert_int_equal(ntasks, 3);
  assert_int_equal(nrunning, 1);

  /* Second scrape: +90 success, +5 each error kind -> ratio 0.9. */
  atomic_store(&g_success, 180);
  atomic_store(&g_verr, 10);
  atomic_store(&g_err, 10);
  assert_int_equal(skpi_http_source_run_once(s), SKPI_OK);
  render(s, "good", &out);
  assert_has(&out, "streamkpi_data_quality_ratio{target=\"good\"} 0.9\n");
  assert_has(&out, "streamkpi_app_events_total{target=\"good\",status=\"success\"} 180\n");
  assert_int_equal(errs(s, "garbage", R_PARSE), 2);
  assert_int_equal(errs(s, "hang", R_TIMEOUT), 2);

  /* The app restarted: counters fell, so the new values are all new. */
  atomic_store(&g_success, 8);
  atomic_store(&g_verr, 1);
  atomic_store(&g_err, 1);
  assert_int_equal(skpi_http_source_run_once(s), SKPI_OK);
  render(s, "good", &out);
  assert_has(&out, "streamkpi_data_quality_ratio{target=\"good\"} 0.8\n");
  assert_has(&out, "streamkpi_app_events_total{target=\"good\",status=\"success\"} 188\n");
  assert_has(&out, "streamkpi_app_events_total{target=\"good\",status=\"error\"} 11\n");
  double good = 0, total = 0;
  assert_int_equal(skpi_http_source_quality(s, "good", &good, &total), SKPI_OK);
  assert_true(good == 188.0);
  assert_true(total == 210.0);
  /* All metrics targets: good and auth (same server counters, auth scraped
   * the same three times). */
  assert_int_equal(skpi_http_source_quality(s, NULL, &good, &total), SKPI_OK);
  assert_true(good == 376.0);
  assert_true(total == 420.0);
  assert_int_equal(skpi_http_source_quality(s, "garbage", &good, &total), SKPI_ENOENT);
  assert_int_equal(skpi_http_source_quality(s, "nope", &good, &total), SKPI_ENOENT);

  /* No new events: the ratio series disappears, counters stay. */
  assert_int_equal(skpi_http_source_run_once(s), SKPI_OK);
  render(s, "good", &out);
  assert_lacks(&out, "streamkpi_data_quality_ratio");
  assert_has(&out, "streamkpi_app_events_total{target=\"good\",status=\"success\"} 188\n");

  /* Every target has its own registry slot. */
  skpi_source_status ss[32];
  size_t ns = skpi_registry_status(reg, ss, 32);
  size_t found = 0;
  for(size_t i = 0; i < ns && i < 32; i++)
    if(strncmp(ss[i].source, "target:", 7) == 0 && ss[i].cluster[0] == '\0')
      found++;
  assert_int_equal(found, n);

  skpi_buf_free(&out);
  skpi_http_source_free(s);
  skpi_registry_free(reg);
}

static void thread_scrapes_on_interval(void **state) {
  fixture *f = *state;
  char url[128];
  skpi_target_cfg t[2];
  target(&t[0], url, sizeof(url), f, "good", "/good", SKPI_TARGET_METRICS);
  char url2[128];
  target(&t[1], url2, sizeof(url2), f, "hang", "/hang", SKPI_TARGET_METRICS);
  t[1].timeout_s = 0.3;
  skpi_http_source *s = NULL;
  assert_int_equal(skpi_http_source_new(NULL, t, 2, &s, NULL, 0), SKPI_OK);
  assert_int_equal(skpi_http_source_start(s), SKPI_OK);
  assert_int_equal(skpi_http_source_start(s), SKPI_EINVAL);
  assert_int_equal(skpi_http_source_run_once(s), SKPI_EINVAL);
  /* Wait (bounded) for repeated scrapes of both; no timing is asserted. */
  skpi_target_status a, b;
  for(int i = 0; i < 300; i++) {
    assert_int_equal(skpi_http_source_status(s, "good", &a), SKPI_OK);
    assert_int_equal(skpi_http_source_status(s, "hang", &b), SKPI_OK);
    if(a.scrapes >= 3 && b.scrapes >= 2)
      break;
    skpi_sleep(0.1, NULL);
  }
  skpi_http_source_stop(s);
  assert_true(a.scrapes >= 3);
  assert_true(b.scrapes >= 2);
  assert_int_equal(a.up, 1);
  assert_int_equal(b.up, 0);
  assert_int_equal(b.errors[R_TIMEOUT], b.scrapes);
  skpi_http_source_free(s);
}

/* Scrapes body once as kind and returns whether the target ended up up;
 * *parse_errors gets the parse error count so far. */
static int scrape_body(skpi_http_source *s, const char *name, const char *body,
                       unsigned long *parse_errors) {
  atomic_store(&g_dyn_body, body);
  assert_int_equal(skpi_http_source_run_once(s), SKPI_OK);
  skpi_target_status st;
  assert_int_equal(skpi_http_source_status(s, name, &st), SKPI_OK);
  *parse_errors = st.errors[R_PARSE];
  return st.up;
}

static void json_garbage_is_parse_error(void **state) {
  fixture *f = *state;
  char url[2][128];
  skpi_target_cfg t[2];
  target(&t[0], url[0], 128, f, "sr", "/dyn", SKPI_TARGET_SCHEMA_REGISTRY);
  target(&t[1], url[1], 128, f, "connect", "/dyn", SKPI_TARGET_CONNECT);
  static char deep[4001];
  memset(deep, '[', 4000);
  static const char *const sr_bad[] = {"{}", "[1]", "[\"a\"] x", "null", "[", "",
                                       "[\"a\",[\"b\"]]", "\"orders-value\""};
  static const char *const connect_bad[] = {"[]", "{\"a\":1}", "{\"a\":{\"status\":5}}",
                                            "nope", "{\"a\":{\"status\":{}}", "7"};
  skpi_http_source *s = NULL;
  unsigned long perr = 0, before = 0;
  assert_int_equal(skpi_http_source_new(NULL, &t[0], 1, &s, NULL, 0), SKPI_OK);
  for(size_t i = 0; i < sizeof(sr_bad) / sizeof(sr_bad[0]) + 1; i++) {
    const char *b = i < sizeof(sr_bad) / sizeof(sr_bad[0]) ? sr_bad[i] : deep;
    if(scrape_body(s, "sr", b, &perr))
      fail_msg("schema registry body %zu accepted", i);
    assert_int_equal(perr, before + 1);
    before = perr;
  }
  /* Still usable afterwards; an empty list is valid. */
  assert_int_equal(scrape_body(s, "sr", "[]", &perr), 1);
  size_t covered = 9;
  const char *topics[] = {"orders"};
  assert_int_equal(skpi_http_source_schema_coverage(s, topics, 1, &covered), SKPI_OK);
  assert_int_equal(covered, 0);
  skpi_http_source_free(s);

  assert_int_equal(skpi_http_source_new(NULL, &t[1], 1, &s, NULL, 0), SKPI_OK);
  before = 0;
  for(size_t i = 0; i < sizeof(connect_bad) / sizeof(connect_bad[0]); i++) {
    if(scrape_body(s, "connect", connect_bad[i], &perr))
      fail_msg("connect body %zu accepted", i);
    assert_int_equal(perr, before + 1);
    before = perr;
  }
  /* Unknown states and a missing task list are tolerated, not errors. */
  assert_int_equal(scrape_body(s, "connect",
                               "{\"a\":{\"status\":{\"connector\":{\"state\":\"WEIRD\"}}}}",
                               &perr),
                   1);
  skpi_buf out;
  skpi_buf_init(&out, 1 << 20);
  render(s, "connect", &out);
  assert_has(&out, "streamkpi_connect_connectors{target=\"connect\",state=\"UNKNOWN\"} 1\n");
  assert_has(&out, "streamkpi_connect_connector_running{target=\"connect\",connector=\"a\"} 0\n");
  skpi_buf_free(&out);
  skpi_http_source_free(s);
}

static void bad_configs_rejected(void **state) {
  skpi_target_cfg t[2];
  skpi_http_source *s = (skpi_http_source *)0x1;
  char err[256];
  skpi_http_source_cfg_defaults(&t[0]);
  t[0].name = "a";
  t[0].url = "ftp://127.0.0.1/x";
  assert_int_equal(skpi_http_source_new(NULL, t, 1, &s, err, sizeof(err)), SKPI_EINVAL);
  assert_null(s);
  assert_string_equal(err, "target 'a': url must start with http:// or https://");
  t[0].url = "http://127.0.0.1:1/x";
  t[0].interval_s = 0;
  assert_int_equal(skpi_http_source_new(NULL, t, 1, &s, err, sizeof(err)), SKPI_EINVAL);
  t[0].interval_s = 1;
  t[0].quality_family = "bad-name";
  assert_int_equal(skpi_http_source_new(NULL, t, 1, &s, err, sizeof(err)), SKPI_EINVAL);
  t[0].quality_family = "events_processed_total";
  t[1] = t[0];
  assert_int_equal(skpi_http_source_new(NULL, t, 2, &s, err, sizeof(err)), SKPI_EINVAL);
  assert_string_equal(err, "target 'a': duplicate target name");
  t[1].name = "";
  assert_int_equal(skpi_http_source_new(NULL, t, 2, &s, err, sizeof(err)), SKPI_EINVAL);
  t[1].name = "b";
  t[1].max_bytes = 0;
  assert_int_equal(skpi_http_source_new(NULL, t, 2, &s, err, sizeof(err)), SKPI_EINVAL);
  t[1].max_bytes = 10;
  assert_int_equal(skpi_http_source_new(NULL, t, 2, &s, err, sizeof(err)), SKPI_OK);
  size_t covered = 5;
  assert_int_equal(skpi_http_source_schema_coverage(s, NULL, 0, &covered), SKPI_ENOENT);
  assert_int_equal(covered, 0);
  assert_null(skpi_http_source_target_set(s, "nope"));
  skpi_http_source_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(all_targets_one_run, setup, teardown),
      cmocka_unit_test_setup_teardown(thread_scrapes_on_interval, setup, teardown),
      cmocka_unit_test_setup_teardown(json_garbage_is_parse_error, setup, teardown),
      cmocka_unit_test(bad_configs_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
