/* web.c: the HTTP face, on libmicrohttpd.
 *
 * Handlers run on MHD's threads and only read ready data: /metrics hands out
 * the newest snapshot's bytes (the response holds a snapshot reference until
 * MHD has sent it), /ready and / read the registry's slot status.  Request
 * bodies are accumulated into a capped buffer; a Content-Length above the
 * route's cap is refused with 413 before any byte is read.
 */
#include "streamkpi/web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "streamkpi/clock.h"
#include "streamkpi/log.h"

#define MAX_ROUTES 32
#define RESP_CAP ((size_t)64 << 20)
#define QUERY_CAP 4096

typedef struct route {
  char method[8];
  char path[128];
  size_t max_body;
  skpi_web_handler fn;
  void *user;
} route;

struct skpi_web {
  skpi_web_opts opts;
  char listen[256];
  char telemetry[128];
  skpi_registry *reg;
  struct MHD_Daemon *mhd;
  route routes[MAX_ROUTES];
  size_t nroutes;
  skpi_web_summary summary; /* adds the landing page's summary, or NULL */
  void *summary_user;
  struct sockaddr_storage addr;
  int dual_stack;
  uint16_t port;
};

/* Per-request state kept across MHD's calls for one request. */
typedef struct req_ctx {
  const route *rt;
  skpi_buf body;
  int too_big;
} req_ctx;

static enum MHD_Result send_simple(struct MHD_Connection *c, unsigned status, const char *ctype,
                                   const char *text) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
  if(!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static void release_snapshot(void *cls) { skpi_snapshot_release(cls); }

/* Returns 1 when an Accept-Encoding header allows gzip (q > 0). */
static int accepts_gzip(const char *ae) {
  if(!ae)
    return 0;
  const char *p = ae;
  while(*p) {
    while(*p == ' ' || *p == ',')
      p++;
    const char *tok = p;
    while(*p && *p != ',' && *p != ';' && *p != ' ')
      p++;
    size_t tlen = (size_t)(p - tok);
    int is_gzip = (tlen == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
                  (tlen == 6 && strncasecmp(tok, "x-gzip", 6) == 0);
    double q = 1.0;
    while(*p && *p != ',') {
      if(*p == ';') {
        p++;
        while(*p == ' ')
          p++;
        if((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
          char *end;
          q = strtod(p + 2, &end);
          p = end;
          continue;
        }
      }
      p++;
    }
    if(is_gzip && q > 0)
      return 1;
  }
  return 0;
}

static enum MHD_Result serve_metrics(skpi_web *w, struct MHD_Connection *c, int head) {
  const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  const char *ae =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
  enum skpi_format fmt = skpi_expo_negotiate(accept);
  int gz = accepts_gzip(ae);
  skpi_snapshot *s = skpi_registry_acquire(w->reg);
  const char *data;
  size_t len;
  skpi_err rc = skpi_snapshot_body(s, fmt, gz, &data, &len);
  if(rc) {
    skpi_snapshot_release(s);
    skpi_log(SKPI_ERROR, "cannot serve metrics", "error", skpi_strerror(rc));
    return send_simple(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
                       "error rendering metrics\n");
  }
  struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
      head ? 0 : len, (void *)(uintptr_t)data, release_snapshot, s);
  if(!r) {
    skpi_snapshot_release(s);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          fmt == SKPI_FMT_OPENMETRICS ? SKPI_CT_OPENMETRICS : SKPI_CT_TEXT);
  MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
  if(gz)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return ret;
}

static void html_escape(skpi_buf *b, const char *s) {
  for(; *s; s++) {
    switch(*s) {
    case '<': skpi_buf_addstr(b, "&lt;"); break;
    case '>': skpi_buf_addstr(b, "&gt;"); break;
    case '&': skpi_buf_addstr(b, "&amp;"); break;
    case '"': skpi_buf_addstr(b, "&quot;"); break;
    case '\'': skpi_buf_addstr(b, "&#39;"); break;
    default: skpi_buf_addc(b, *s);
    }
  }
}

static enum MHD_Result serve_landing(skpi_web *w, struct MHD_Connection *c) {
  enum { MAXS = 512 };
  skpi_source_status *st = calloc(MAXS, sizeof(*st));
  if(!st)
    return MHD_NO;
  size_t n = skpi_registry_status(w->reg, st, MAXS);
  if(n > MAXS)
    n = MAXS;
  double now = skpi_now();
  skpi_buf b;
  skpi_buf_init(&b, RESP_CAP);
  skpi_buf_addstr(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<title>streamkpi exporter</title><style>"
                      "body{font-family:sans-serif;margin:2em;color:#222}"
                      "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
                      "padding:4px 10px;text-align:left}.up{color:#060}.down{color:#b00}"
                      "</style></head><body>\n<h1>streamkpi exporter</h1>\n");
  skpi_buf_printf(&b, "<p>Version %s (revision %s).</p>\n", SKPI_VERSION, SKPI_REVISION);
  if(w->summary)
    w->summary(&b, w->summary_user);
  skpi_buf_addstr(&b, "<h2>Endpoints</h2>\n<ul>\n");
  skpi_buf_addstr(&b, "<li><a href=\"");
  html_escape(&b, w->telemetry);
  skpi_buf_addstr(&b, "\">");
  html_escape(&b, w->telemetry);
  skpi_buf_addstr(&b, "</a>: metrics (Prometheus text; OpenMetrics on request)</li>\n"
                      "<li><a href=\"/healthz\">/healthz</a>: process alive</li>\n"
                      "<li><a href=\"/ready\">/ready</a>: every cluster freshly sampled</li>\n");
  for(size_t i = 0; i < w->nroutes; i++) {
    const route *rt = &w->routes[i];
    skpi_buf_addstr(&b, "<li>");
    html_escape(&b, rt->method);
    skpi_buf_addc(&b, ' ');
    if(strcmp(rt->method, "GET") == 0) {
      skpi_buf_addstr(&b, "<a href=\"");
      html_escape(&b, rt->path);
      skpi_buf_addstr(&b, "\">");
      html_escape(&b, rt->path);
      skpi_buf_addstr(&b, "</a>");
    } else {
      html_escape(&b, rt->path);
    }
    skpi_buf_addstr(&b, "</li>\n");
  }
  skpi_buf_addstr(&b, "</ul>\n<h2>Sources</h2>\n<table id=\"sources\"><tr><th>cluster</th>"
                      "<th>source</th><th>state</th><th>last success</th><th>last cycle</th>"
                      "<th>errors</th><th>last error</th></tr>\n");
  for(size_t i = 0; i < n; i++) {
    const skpi_source_status *s = &st[i];
    const char *state = s->last_attempt == 0 ? "starting"
                        : s->up              ? "up"
                        : s->has_data        ? "down (stale data)"
                                             : "down";
    skpi_buf_addstr(&b, "<tr><td class=\"cluster\">");
    html_escape(&b, s->cluster);
    skpi_buf_addstr(&b, "</td><td>");
    html_escape(&b, s->source);
    skpi_buf_printf(&b, "</td><td class=\"state %s\">%s</td>", s->up ? "up" : "down", state);
    if(s->last_success > 0)
      skpi_buf_printf(&b, "<td>%.0f s ago</td>", now - s->last_success);
    else
      skpi_buf_addstr(&b, "<td>never</td>");
    skpi_buf_printf(&b, "<td>%.3f s</td><td>%lu</td><td>", s->duration_s, s->errors);
    html_escape(&b, s->last_error);
    skpi_buf_addstr(&b, "</td></tr>\n");
  }
  skpi_buf_addstr(&b, "</table>\n</body></html>\n");
  free(st);
  if(!b.data)
    return send_simple(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n");
  enum MHD_Result ret = send_simple(c, MHD_HTTP_OK, "text/html; charset=utf-8", b.data);
  skpi_buf_free(&b);
  return ret;
}

void skpi_web_set_summary(skpi_web *w, skpi_web_summary fn, void *user) {
  w->summary = fn;
  w->summary_user = user;
}

/* The methods allowed on path, for 405's Allow header; "" when unknown. */
static void allowed_methods(skpi_web *w, const char *path, char *out, size_t len) {
  out[0] = '\0';
  if(strcmp(path, w->telemetry) == 0 || strcmp(path, "/healthz") == 0 ||
     strcmp(path, "/ready") == 0 || strcmp(path, "/") == 0)
    snprintf(out, len, "GET, HEAD");
  for(size_t i = 0; i < w->nroutes; i++) {
    if(strcmp(w->routes[i].path, path) != 0)
      continue;
    size_t l = strlen(out);
    snprintf(out + l, len - l, "%s%s", l ? ", " : "", w->routes[i].method);
  }
}

static const route *find_route(skpi_web *w, const char *method, const char *path) {
  for(size_t i = 0; i < w->nroutes; i++)
    if(strcmp(w->routes[i].path, path) == 0 && strcmp(w->routes[i].method, method) == 0)
      return &w->routes[i];
  return NULL;
}

/* Rebuilds the query string ("k=v&k=v", values decoded) from MHD's
 * parsed arguments; pairs that do not fit are left out. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
  skpi_buf *q = cls;
  if(q->len && skpi_buf_addc(q, '&') != SKPI_OK)
    return MHD_NO;
  if(skpi_buf_addstr(q, key) != SKPI_OK ||
     (value && (skpi_buf_addc(q, '=') != SKPI_OK || skpi_buf_addstr(q, value) != SKPI_OK)))
    return MHD_NO;
  return MHD_YES;
}

static enum MHD_Result run_route(skpi_web *w, struct MHD_Connection *c, const char *method,
                                 const char *url, req_ctx *ctx) {
  skpi_buf query;
  skpi_buf_init(&query, QUERY_CAP);
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &query);
  skpi_web_req req;
  memset(&req, 0, sizeof(req));
  req.method = method;
  req.path = url;
  req.authorization =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  req.body = ctx->body.data;
  req.body_len = ctx->body.len;
  req.query = query.data;
  skpi_web_resp resp;
  resp.status = 200;
  resp.content_type = "application/json";
  skpi_buf_init(&resp.body, RESP_CAP);
  ctx->rt->fn(&req, &resp, ctx->rt->user);
  const char *text = resp.body.data ? resp.body.data : "";
  enum MHD_Result ret = send_simple(c, (unsigned)resp.status,
                                    resp.content_type ? resp.content_type : "application/json",
                                    text);
  skpi_buf_free(&resp.body);
  skpi_buf_free(&query);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls) {
  skpi_web *w = cls;
  req_ctx *ctx = *con_cls;
  int get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;

  if(!ctx) {
    /* First call for this request: headers only. */
    ctx = calloc(1, sizeof(*ctx));
    if(!ctx)
      return MHD_NO;
    *con_cls = ctx;
    ctx->rt = find_route(w, method, url);
    if(ctx->rt) {
      skpi_buf_init(&ctx->body, ctx->rt->max_body);
      const char *cl =
          MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if(cl) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if(errno || end == cl || v > ctx->rt->max_body)
          return send_simple(c, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain; charset=utf-8",
                             "request body too large\n");
      }
    }
    return MHD_YES;
  }

  if(*upload_size) {
    /* Bodies of requests without a route are read and dropped: MHD wants
     * the upload consumed before the answer. */
    if(ctx->rt && !ctx->too_big &&
       skpi_buf_add(&ctx->body, upload_data, *upload_size) != SKPI_OK)
      ctx->too_big = 1;
    *upload_size = 0;
    return MHD_YES;
  }

  if(ctx->rt) {
    if(ctx->too_big)
      return send_simple(c, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain; charset=utf-8",
                         "request body too large\n");
    return run_route(w, c, method, url, ctx);
  }

  int builtin = strcmp(url, w->telemetry) == 0 || strcmp(url, "/healthz") == 0 ||
                strcmp(url, "/ready") == 0 || strcmp(url, "/") == 0;
  if(builtin && (get || head)) {
    if(strcmp(url, w->telemetry) == 0)
      return serve_metrics(w, c, head);
    if(strcmp(url, "/healthz") == 0)
      return send_simple(c, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n");
    if(strcmp(url, "/ready") == 0) {
      int ok = skpi_registry_ready(w->reg, w->opts.ready_max_age_s);
      return send_simple(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                         "text/plain; charset=utf-8", ok ? "ready\n" : "not ready\n");
    }
    return serve_landing(w, c);
  }

  char allow[128];
  allowed_methods(w, url, allow, sizeof(allow));
  if(!allow[0])
    return send_simple(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n");
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen("method not allowed\n"), (void *)"method not allowed\n", MHD_RESPMEM_PERSISTENT);
  if(!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
  MHD_destroy_response(r);
  return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  req_ctx *ctx = *con_cls;
  if(!ctx)
    return;
  skpi_buf_free(&ctx->body);
  free(ctx);
  *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t l = strlen(msg);
  while(l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
    msg[--l] = '\0';
  skpi_log(SKPI_WARN, "http server", "detail", msg);
}

/* Parses "[host]:port", "host:port" or ":port" into w->addr / w->port. */
static int parse_listen(skpi_web *w, const char *spec, char *errbuf, size_t errlen) {
  const char *colon = strrchr(spec, ':');
  if(!colon) {
    snprintf(errbuf, errlen, "--web.listen-address: expected [host]:port, got \"%s\"", spec);
    return -1;
  }
  char *end;
  errno = 0;
  long port = strtol(colon + 1, &end, 10);
  if(errno || end == colon + 1 || *end || port < 0 || port > 65535) {
    snprintf(errbuf, errlen, "--web.listen-address: bad port in \"%s\"", spec);
    return -1;
  }
  w->port = (uint16_t)port;
  char host[256];
  size_t hl = (size_t)(colon - spec);
  if(hl >= sizeof(host)) {
    snprintf(errbuf, errlen, "--web.listen-address: host too long");
    return -1;
  }
  memcpy(host, spec, hl);
  host[hl] = '\0';
  if(hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = '\0';
  }
  if(host[0] == '\0') {
    w->dual_stack = 1;
    return 0;
  }
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  int grc = getaddrinfo(host, NULL, &hints, &res);
  if(grc != 0 || !res) {
    snprintf(errbuf, errlen, "--web.listen-address: cannot resolve \"%s\": %s", host,
             gai_strerror(grc));
    return -1;
  }
  memcpy(&w->addr, res->ai_addr, res->ai_addrlen);
  if(w->addr.ss_family == AF_INET)
    ((struct sockaddr_in *)&w->addr)->sin_port = htons(w->port);
  else
    ((struct sockaddr_in6 *)&w->addr)->sin6_port = htons(w->port);
  freeaddrinfo(res);
  return 0;
}

skpi_web *skpi_web_new(const skpi_web_opts *opts, skpi_registry *reg, char *errbuf,
                       size_t errlen) {
  skpi_web *w = calloc(1, sizeof(*w));
  if(!w) {
    snprintf(errbuf, errlen, "out of memory");
    return NULL;
  }
  w->opts = *opts;
  w->reg = reg;
  snprintf(w->listen, sizeof(w->listen), "%s", opts->listen_address ? opts->listen_address
                                                                      : ":10308");
  snprintf(w->telemetry, sizeof(w->telemetry), "%s",
           opts->telemetry_path ? opts->telemetry_path : "/metrics");
  if(w->telemetry[0] != '/' || strcmp(w->telemetry, "/") == 0) {
    snprintf(errbuf, errlen, "--web.telemetry-path: must start with / and not be /");
    free(w);
    return NULL;
  }
  if(parse_listen(w, w->listen, errbuf, errlen) != 0) {
    free(w);
    return NULL;
  }
  if(!w->opts.connection_timeout_s)
    w->opts.connection_timeout_s = 30;
  if(!w->opts.connection_limit)
    w->opts.connection_limit = 256;
  if(!w->opts.per_ip_limit)
    w->opts.per_ip_limit = 64;
  if(!w->opts.threads)
    w->opts.threads = 2;
  if(w->opts.ready_max_age_s <= 0)
    w->opts.ready_max_age_s = 60;
  return w;
}

skpi_err skpi_web_route(skpi_web *w, const char *method, const char *path, size_t max_body,
                        skpi_web_handler fn, void *user) {
  if(w->nroutes >= MAX_ROUTES || strlen(method) >= sizeof(w->routes[0].method) ||
     strlen(path) >= sizeof(w->routes[0].path))
    return SKPI_EINVAL;
  route *rt = &w->routes[w->nroutes++];
  snprintf(rt->method, sizeof(rt->method), "%s", method);
  snprintf(rt->path, sizeof(rt->path), "%s", path);
  rt->max_body = max_body;
  rt->fn = fn;
  rt->user = user;
  return SKPI_OK;
}

skpi_err skpi_web_start(skpi_web *w, char *errbuf, size_t errlen) {
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  if(w->dual_stack)
    flags |= MHD_USE_DUAL_STACK;
  else if(w->addr.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  struct MHD_OptionItem ops[10];
  int i = 0;
  /* The logger goes first so that MHD routes everything after it through. */
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                     (intptr_t)w->opts.connection_timeout_s, NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                     (intptr_t)w->opts.connection_limit, NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                     (intptr_t)w->opts.per_ip_limit, NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)w->opts.threads,
                                     NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, w};
  if(!w->dual_stack)
    ops[i++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &w->addr};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  w->mhd = MHD_start_daemon(flags, w->port, NULL, NULL, on_request, w, MHD_OPTION_ARRAY, ops,
                            MHD_OPTION_END);
  if(!w->mhd) {
    snprintf(errbuf, errlen, "cannot listen on %s (address in use or not permitted)", w->listen);
    return SKPI_EIO;
  }
  return SKPI_OK;
}

unsigned skpi_web_port(const skpi_web *w) {
  if(!w->mhd)
    return 0;
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_BIND_PORT);
  return di ? di->port : 0;
}

void skpi_web_free(skpi_web *w) {
  if(!w)
    return;
  if(w->mhd)
    MHD_stop_daemon(w->mhd);
  free(w);
}
