/* web.c: the HTTP face, on libmicrohttpd.
 *
 * Handlers run on MHD's threads and only read ready data: /metrics hands out
 * the newest snapshot's bytes (the response holds a snapshot reference until
 * MHD has sent it), /ready and / read the registry's slot status.  Request
 * bodies are accumulated into a capped buffer; a Content-Length above the
 * route's cap is refused with 413 before any byte is read.
 */
/* web.c: the HTTP face, on libmicrohttpd.
 *
 * Handlers run on MHD's threads and only read ready data: /metrics hands out
 * the newest snapshot's bytes (the response holds a snapshot reference until
 * MHD has sent it), /ready and / read the registry's slot status.  Request
 * bodies are accumulated into a capped buffer; a Content-Length above the
 * route's cap is refused with 413 before any byte is read.
 *
 * MHD's own timeout is an idle timeout that every received byte restarts, so
 * a client sending one header byte now and then would hold its connection
 * for ever.  Each connection is therefore tracked with a deadline of its
 * own (head, then answer), and a reaper thread shuts down the socket of any
 * connection past it; MHD then sees the peer gone and frees it.
 */
#include "streamkpi/web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "streamkpi/clock.h"
#include "streamkpi/log.h"
#include "streamkpi/webcfg.h"

#define MAX_ROUTES 32
#define RESP_CAP ((size_t)64 << 20)
#define QUERY_CAP 4096
#define TELEMETRY_MAX 128
/* Distinct snapshots that answers being sent may pin at once (a table
 * bound; the working bound is opts.pinned_snapshots).  The default, 2,
 * lets the readers of one older snapshot finish beside those of the newest;
 * a replaced snapshot holds only its rendered bodies. */
#define MAX_PINS 64
#define DEFAULT_PINNED_SNAPSHOTS 2
/* Defaults: room for 1,000 slow clients and the scrapers beside them. */
#define DEFAULT_CONNECTION_LIMIT 4096
#define DEFAULT_PER_IP_LIMIT 128
#define DEFAULT_HEAD_TIMEOUT_S 10
#define DEFAULT_RESPONSE_TIMEOUT_S 120
#define DEFAULT_PINNED_MAX ((size_t)256 << 20)
/* File descriptors kept for everything but client connections. */
#define FD_RESERVE 256
/* Seconds a refused client is asked to wait before retrying. */
#define RETRY_AFTER "5"

typedef struct route {
  char method[8];
  char path[128];
  size_t max_body;
  skpi_web_handler fn;
  skpi_web_guard guard; /* NULL: none */
  void *user;
} route;

/* One client connection; linked while MHD has it open. */
typedef struct conn {
  struct conn *prev, *next;
  int fd;
  const skpi_snapshot *snap; /* pinned by the answer being sent, or NULL */
  double deadline;           /* monotonic; the reaper shuts the socket down past it */
} conn;

typedef struct pin {
  const skpi_snapshot *snap;
  size_t len; /* the body of the first answer that pinned it */
  unsigned refs;
  unsigned long seq; /* order of pinning: the lowest is the oldest */
  int cut;           /* its readers were cut; it goes when they are freed */
} pin;

struct skpi_web {
  skpi_web_opts opts;
  char listen[256];
  char telemetry[TELEMETRY_MAX];
  skpi_registry *reg;
  skpi_webcfg *cfg; /* NULL without a web config file */
  struct MHD_Daemon *mhd;
  int adopted_fd; /* a listening socket handed over by another server, or -1 */
  route routes[MAX_ROUTES];
  size_t nroutes;
  skpi_web_summary summary; /* adds the landing page's summary, or NULL */
  void *summary_user;
  struct sockaddr_storage addr;
  int dual_stack;
  uint16_t port;
  char *priorities;

  pthread_mutex_t mu; /* guards conns, pins, stop */
  pthread_cond_t cv;
  conn *conns;
  pin pins[MAX_PINS];
  unsigned long pin_seq;
  skpi_web_counters counters;
  int stop;
  int reaper_started;
  pthread_t reaper;
};

/* Per-request state kept across MHD's calls for one request. */
typedef struct req_ctx {
  const route *rt;
  skpi_buf body;
  int too_big;
} req_ctx;

/* What a /metrics answer holds until MHD has sent it, and where a streamed
 * answer is. */
typedef struct held {
  skpi_web *w;
  skpi_snapshot *snap;
  const skpi_expo_part *parts;
  size_t nparts;
  size_t idx;  /* next part to copy */
  size_t off;  /* bytes of it copied */
  uint64_t at; /* bytes of the body copied */
} held;

/* libmicrohttpd copies an answer's vector into the connection's memory
 * pool (32 KiB): a body of more parts than this is streamed instead,
 * copied in STREAM_CHUNK pieces. */
#define MAX_IOV_PARTS 512
#define STREAM_CHUNK (512 * 1024)

/* Queues r with the configured extra headers; takes no ownership. */
static enum MHD_Result queue(skpi_web *w, struct MHD_Connection *c, unsigned status,
                             struct MHD_Response *r) {
  for(size_t i = 0; w->cfg && i < w->cfg->nheaders; i++)
    MHD_add_response_header(r, w->cfg->headers[i].name, w->cfg->headers[i].value);
  return MHD_queue_response(c, status, r);
}

static enum MHD_Result send_text(skpi_web *w, struct MHD_Connection *c, unsigned status,
                                 const char *ctype, const char *text, const char *hname,
                                 const char *hvalue) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
  if(!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  if(hname)
    MHD_add_response_header(r, hname, hvalue);
  enum MHD_Result ret = queue(w, c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result send_simple(skpi_web *w, struct MHD_Connection *c, unsigned status,
                                   const char *ctype, const char *text) {
  return send_text(w, c, status, ctype, text, NULL, NULL);
}

/* Adds one to the counter at field (an unsigned long in w->counters). */
static void count(skpi_web *w, unsigned long *field) {
  pthread_mutex_lock(&w->mu);
  (*field)++;
  pthread_mutex_unlock(&w->mu);
}

void skpi_web_counters_get(skpi_web *w, skpi_web_counters *out) {
  pthread_mutex_lock(&w->mu);
  *out = w->counters;
  pthread_mutex_unlock(&w->mu);
}

/* ---- connection deadlines ---- */

static conn *conn_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

/* Sets c's deadline seconds from now; the answer it was sending, if any,
 * is done. */
static void set_deadline(skpi_web *w, struct MHD_Connection *c, double seconds) {
  conn *k = conn_of(c);
  if(!k)
    return;
  pthread_mutex_lock(&w->mu);
  k->deadline = skpi_mono() + seconds;
  k->snap = NULL;
  pthread_mutex_unlock(&w->mu);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  skpi_web *w = cls;
  if(toe == MHD_CONNECTION_NOTIFY_STARTED) {
    conn *k = calloc(1, sizeof(*k));
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if(!k || !ci) {
      free(k);
      return;
    }
    k->fd = ci->connect_fd;
    pthread_mutex_lock(&w->mu);
    k->deadline = skpi_mono() + w->opts.head_timeout_s;
    k->next = w->conns;
    if(w->conns)
      w->conns->prev = k;
    w->conns = k;
    pthread_mutex_unlock(&w->mu);
    *socket_context = k;
    return;
  }
  conn *k = *socket_context;
  if(!k)
    return;
  /* MHD closes the socket after this returns, so under the mutex the
   * reaper never touches a descriptor that may be reused. */
  pthread_mutex_lock(&w->mu);
  if(k->prev)
    k->prev->next = k->next;
  else
    w->conns = k->next;
  if(k->next)
    k->next->prev = k->prev;
  pthread_mutex_unlock(&w->mu);
  free(k);
  *socket_context = NULL;
}

static void *reaper_main(void *arg) {
  skpi_web *w = arg;
  pthread_mutex_lock(&w->mu);
  while(!w->stop) {
    double now = skpi_mono();
    unsigned long cut = 0;
    for(conn *k = w->conns; k; k = k->next)
      if(k->deadline < now) {
        shutdown(k->fd, SHUT_RDWR);
        k->deadline = now + w->opts.head_timeout_s; /* once per period at most */
        cut++;
      }
    w->counters.deadline_closed += cut;
    if(cut) {
      char n[32];
      snprintf(n, sizeof(n), "%lu", cut);
      skpi_log(SKPI_WARN, "closed connections past their deadline", "count", n);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* ---- pinned metric bodies ---- */

/* Cuts the readers of the oldest pinned snapshots until the ones not cut
 * fit opts.pinned_snapshots and opts.pinned_max (caller holds w->mu).  The
 * newest pin is never cut: scrapers of the current snapshot are served. */
static void cut_oldest(skpi_web *w) {
  for(int round = 0; round < MAX_PINS; round++) {
    unsigned n = 0;
    size_t bytes = 0;
    pin *oldest = NULL, *newest = NULL;
    for(size_t i = 0; i < MAX_PINS; i++) {
      pin *p = &w->pins[i];
      if(!p->refs || p->cut)
        continue;
      n++;
      bytes += p->len;
      if(!oldest || p->seq < oldest->seq)
        oldest = p;
      if(!newest || p->seq > newest->seq)
        newest = p;
    }
    if((n <= w->opts.pinned_snapshots && bytes <= w->opts.pinned_max) || oldest == newest)
      return;
    oldest->cut = 1;
    for(conn *k = w->conns; k; k = k->next)
      if(k->snap == oldest->snap) {
        shutdown(k->fd, SHUT_RDWR);
        w->counters.slow_readers_cut++;
      }
  }
}

/* Counts one more answer on connection c holding snap; 0 when the pin
 * table is full (MAX_PINS distinct snapshots). */
static int pin_add(skpi_web *w, struct MHD_Connection *c, const skpi_snapshot *snap, size_t len) {
  conn *k = conn_of(c);
  int ok = 0;
  pthread_mutex_lock(&w->mu);
  pin *freeslot = NULL;
  for(size_t i = 0; i < MAX_PINS; i++) {
    if(w->pins[i].refs && w->pins[i].snap == snap) {
      w->pins[i].refs++;
      ok = 1;
      goto out;
    }
    if(!w->pins[i].refs && !freeslot)
      freeslot = &w->pins[i];
  }
  if(freeslot) {
    *freeslot = (pin){snap, len, 1, ++w->pin_seq, 0};
    ok = 1;
  }
out:
  if(ok && k)
    k->snap = snap;
  if(ok)
    cut_oldest(w);
  pthread_mutex_unlock(&w->mu);
  return ok;
}

static void pin_drop(skpi_web *w, const skpi_snapshot *snap) {
  pthread_mutex_lock(&w->mu);
  for(size_t i = 0; i < MAX_PINS; i++)
    if(w->pins[i].refs && w->pins[i].snap == snap) {
      w->pins[i].refs--;
      break;
    }
  pthread_mutex_unlock(&w->mu);
}

/* Copies the body from pos on into buf (libmicrohttpd reads in order;
 * another pos is found again from the start). */
static ssize_t read_parts(void *cls, uint64_t pos, char *buf, size_t max) {
  held *h = cls;
  if(pos != h->at) {
    h->idx = 0;
    h->off = 0;
    h->at = 0;
    while(h->idx < h->nparts && h->at + h->parts[h->idx].len <= pos)
      h->at += h->parts[h->idx++].len;
    h->off = (size_t)(pos - h->at);
    h->at = pos;
  }
  size_t n = 0;
  while(n < max && h->idx < h->nparts) {
    const skpi_expo_part *p = &h->parts[h->idx];
    size_t k = p->len - h->off < max - n ? p->len - h->off : max - n;
    memcpy(buf + n, p->data + h->off, k);
    n += k;
    h->off += k;
    if(h->off == p->len) {
      h->idx++;
      h->off = 0;
    }
  }
  h->at += n;
  return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void release_held(void *cls) {
  held *h = cls;
  pin_drop(h->w, h->snap);
  skpi_snapshot_release(h->snap);
  free(h);
}

int skpi_web_accepts_gzip(const char *ae) {
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
        }
        /* The parameter may end the header: never step past the NUL. */
        continue;
      }
      p++;
    }
    if(is_gzip && q > 0)
      return 1;
  }
  return 0;
}

static enum MHD_Result serve_metrics(skpi_web *w, struct MHD_Connection *c) {
  const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
  enum skpi_format fmt = skpi_expo_negotiate(accept);
  int gz = skpi_web_accepts_gzip(ae);
  skpi_snapshot *s = skpi_registry_acquire(w->reg);
  const skpi_expo_part *parts = NULL;
  size_t nparts = 0, len = 0;
  skpi_err rc = skpi_snapshot_parts(s, fmt, gz, &parts, &nparts, &len);
  /* MHD copies the vector; the bytes stay the snapshot's. */
  struct MHD_IoVec *iov = NULL;
  if(rc == SKPI_OK && nparts && nparts <= MAX_IOV_PARTS &&
     !(iov = calloc(nparts, sizeof(*iov))))
    rc = SKPI_ENOMEM;
  for(size_t i = 0; rc == SKPI_OK && iov && i < nparts; i++)
    iov[i] = (struct MHD_IoVec){parts[i].data, parts[i].len};
  if(rc) {
    skpi_snapshot_release(s);
    skpi_log(SKPI_ERROR, "cannot serve metrics", "error", skpi_strerror(rc));
    return send_simple(w, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
                       "error rendering metrics\n");
  }
  held *h = malloc(sizeof(*h));
  if(!h) {
    free(iov);
    skpi_snapshot_release(s);
    return MHD_NO;
  }
  if(!pin_add(w, c, s, len)) {
    free(h);
    free(iov);
    skpi_snapshot_release(s);
    count(w, &w->counters.pinned_refused);
    skpi_log(SKPI_WARN, "metrics refused: answers still being sent pin too many snapshots");
    return send_text(w, c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                     "too many slow readers, retry later\n", MHD_HTTP_HEADER_RETRY_AFTER,
                     RETRY_AFTER);
  }
  *h = (held){w, s, parts, nparts, 0, 0, 0};
  /* For HEAD, MHD sends the headers of this same response (Content-Length
   * included) and leaves the body out. */
  struct MHD_Response *r =
      nparts > MAX_IOV_PARTS
          ? MHD_create_response_from_callback(len, STREAM_CHUNK, read_parts, h, release_held)
          : MHD_create_response_from_iovec(iov, (unsigned int)nparts, release_held, h);
  free(iov);
  if(!r) {
    release_held(h);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          fmt == SKPI_FMT_OPENMETRICS ? SKPI_CT_OPENMETRICS : SKPI_CT_TEXT);
  MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
  if(gz)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
  enum MHD_Result ret = queue(w, c, MHD_HTTP_OK, r);
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
    return send_simple(w, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n");
  enum MHD_Result ret = send_simple(w, c, MHD_HTTP_OK, "text/html; charset=utf-8", b.data);
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
    snprintf(out + l, len - l, "%s%s%s", l ? ", " : "", w->routes[i].method,
             strcmp(w->routes[i].method, "GET") == 0 ? ", HEAD" : "");
  }
}

/* HEAD is served by the GET route of the same path. */
static const route *find_route(skpi_web *w, const char *method, const char *path) {
  if(strcmp(method, "HEAD") == 0)
    method = "GET";
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
  enum MHD_Result ret =
      send_simple(w, c, (unsigned)resp.status,
                  resp.content_type ? resp.content_type : "application/json", text);
  skpi_buf_free(&resp.body);
  skpi_buf_free(&query);
  return ret;
}

/* Returns NULL when the client's certificate satisfies the configured
 * client_auth_type, else why not. */
static const char *client_cert_problem(skpi_web *w, struct MHD_Connection *c) {
  if(!w->cfg || w->cfg->client_auth == SKPI_CLIENT_NONE)
    return NULL;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if(!ci || !ci->tls_session)
    return "no TLS session\n";
  gnutls_session_t s = (gnutls_session_t)ci->tls_session;
  unsigned n = 0;
  const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
  if(!peers || n == 0)
    return w->cfg->client_auth == SKPI_CLIENT_REQUIRE_VERIFY ? "client certificate required\n"
                                                             : NULL;
  unsigned status = 0;
  if(gnutls_certificate_verify_peers2(s, &status) != GNUTLS_E_SUCCESS || status != 0)
    return "client certificate not trusted\n";
  return NULL;
}

/* Answers (1, *ret set) a request whose body comes other than by
 * Content-Length, or whose Content-Length is not a number; 0 when the
 * framing is fine. */
static int bad_framing(skpi_web *w, struct MHD_Connection *c, enum MHD_Result *ret) {
  const char *te =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
  if(te) {
    /* A chunk size is read by MHD, which waits for as many bytes as it
     * says; refusing chunked bodies keeps a huge size from holding the
     * connection. */
    int chunked = strcasecmp(te, "chunked") == 0;
    count(w, &w->counters.framing_refused);
    *ret = send_simple(w, c, chunked ? MHD_HTTP_LENGTH_REQUIRED : MHD_HTTP_NOT_IMPLEMENTED,
                       "text/plain; charset=utf-8",
                       chunked ? "a request body needs a Content-Length\n"
                               : "transfer coding not supported\n");
    return 1;
  }
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if(!cl)
    return 0;
  const char *p = cl;
  while(*p >= '0' && *p <= '9')
    p++;
  if(p == cl || *p) {
    *ret = send_simple(w, c, MHD_HTTP_BAD_REQUEST, "text/plain; charset=utf-8",
                       "bad Content-Length\n");
    return 1;
  }
  return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
  skpi_web *w = cls;
  req_ctx *ctx = *con_cls;
  int get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;

  if(!ctx) {
    /* First call for this request: headers only. */
    ctx = calloc(1, sizeof(*ctx));
    if(!ctx)
      return MHD_NO;
    *con_cls = ctx;
    set_deadline(w, c, w->opts.response_timeout_s);
    enum MHD_Result ret;
    const char *why = client_cert_problem(w, c);
    if(why) {
      count(w, &w->counters.cert_refused);
      return send_simple(w, c, MHD_HTTP_FORBIDDEN, "text/plain; charset=utf-8", why);
    }
    enum skpi_auth auth = skpi_webcfg_auth_ok(
        w->cfg, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
    if(auth != SKPI_AUTH_OK)
      count(w, auth == SKPI_AUTH_BUSY ? &w->counters.auth_busy : &w->counters.auth_refused);
    if(auth == SKPI_AUTH_BUSY)
      return send_text(w, c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                       "busy checking credentials, retry\n", MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if(auth != SKPI_AUTH_OK)
      return send_text(w, c, MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8", "unauthorized\n",
                       MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                       "Basic realm=\"streamkpi\", charset=\"UTF-8\"");
    if(bad_framing(w, c, &ret))
      return ret;
    ctx->rt = find_route(w, method, url);
    if(ctx->rt && ctx->rt->guard) {
      /* Refused before a byte of the body is read or buffered. */
      const char *msg = "";
      int status = ctx->rt->guard(
          MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
          ctx->rt->user, &msg);
      if(status)
        return send_simple(w, c, (unsigned)status, "application/json", msg);
    }
    if(ctx->rt) {
      skpi_buf_init(&ctx->body, ctx->rt->max_body);
      const char *cl =
          MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if(cl) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if(errno || v > ctx->rt->max_body)
          return send_simple(w, c, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain; charset=utf-8",
                             "request body too large\n");
      }
    }
    return MHD_YES;
  }

  if(*upload_size) {
    /* Bodies of requests without a route are read and dropped: MHD wants
     * the upload consumed before the answer. */
    if(ctx->rt && !ctx->too_big && skpi_buf_add(&ctx->body, upload_data, *upload_size) != SKPI_OK)
      ctx->too_big = 1;
    *upload_size = 0;
    return MHD_YES;
  }

  if(ctx->rt) {
    if(ctx->too_big)
      return send_simple(w, c, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain; charset=utf-8",
                         "request body too large\n");
    return run_route(w, c, method, url, ctx);
  }

  int builtin = strcmp(url, w->telemetry) == 0 || strcmp(url, "/healthz") == 0 ||
                strcmp(url, "/ready") == 0 || strcmp(url, "/") == 0;
  if(builtin && (get || head)) {
    if(strcmp(url, w->telemetry) == 0)
      return serve_metrics(w, c);
    if(strcmp(url, "/healthz") == 0)
      return send_simple(w, c, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n");
    if(strcmp(url, "/ready") == 0) {
      int ok = skpi_registry_ready(w->reg, w->opts.ready_max_age_s);
      return send_simple(w, c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                         "text/plain; charset=utf-8", ok ? "ready\n" : "not ready\n");
    }
    return serve_landing(w, c);
  }

  char allow[128];
  allowed_methods(w, url, allow, sizeof(allow));
  if(!allow[0])
    return send_simple(w, c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n");
  return send_text(w, c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                   "method not allowed\n", MHD_HTTP_HEADER_ALLOW, allow);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  skpi_web *w = cls;
  /* A kept-alive connection may stay idle for the idle timeout, then has
   * the head timeout for its next request. */
  set_deadline(w, c, w->opts.connection_timeout_s + w->opts.head_timeout_s);
  req_ctx *ctx = *con_cls;
  if(!ctx)
    return;
  skpi_buf_free(&ctx->body);
  free(ctx);
  *con_cls = NULL;
}

static int hexval(char ch) {
  if(ch >= '0' && ch <= '9')
    return ch - '0';
  if(ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if(ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Decodes %HH in place, except %00: an encoded NUL would cut the path short
 * ("/metrics%00x" read as "/metrics"), so it stays as it is and matches no
 * route. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s) {
  char *o = s;
  for(const char *p = s; *p; p++) {
    int hi, lo;
    if(p[0] == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 && (hi | lo)) {
      *o++ = (char)(hi * 16 + lo);
      p += 2;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
  return (size_t)(o - s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t l = strlen(msg);
  while(l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
    msg[--l] = '\0';
  /* A peer that hangs up before its request is complete (a TCP health
   * probe, a client cut at its deadline) is routine, not a warning. */
  int routine = strstr(msg, "detected connection closure") != NULL ||
                strstr(msg, "closed by remote side") != NULL;
  skpi_log(routine ? SKPI_DEBUG : SKPI_WARN, "http server", "detail", msg);
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

skpi_web *skpi_web_new(const skpi_web_opts *opts, skpi_registry *reg, char *errbuf, size_t errlen) {
  skpi_web *w = calloc(1, sizeof(*w));
  if(!w) {
    snprintf(errbuf, errlen, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  w->adopted_fd = -1;
  w->opts = *opts;
  w->reg = reg;
  snprintf(w->listen, sizeof(w->listen), "%s",
           opts->listen_address ? opts->listen_address : ":10308");
  const char *tp = opts->telemetry_path ? opts->telemetry_path : "/metrics";
  if(strlen(tp) >= sizeof(w->telemetry)) {
    snprintf(errbuf, errlen, "--web.telemetry-path: longer than %d characters", TELEMETRY_MAX - 1);
    goto fail;
  }
  snprintf(w->telemetry, sizeof(w->telemetry), "%s", tp);
  if(w->telemetry[0] != '/' || strcmp(w->telemetry, "/") == 0) {
    snprintf(errbuf, errlen, "--web.telemetry-path: must start with / and not be /");
    goto fail;
  }
  if(parse_listen(w, w->listen, errbuf, errlen) != 0)
    goto fail;
  if(opts->web_config_file &&
     skpi_webcfg_load(opts->web_config_file, &w->cfg, errbuf, errlen) != SKPI_OK)
    goto fail;
  if(!w->opts.connection_timeout_s)
    w->opts.connection_timeout_s = 30;
  if(!w->opts.connection_limit)
    w->opts.connection_limit = DEFAULT_CONNECTION_LIMIT;
  if(!w->opts.per_ip_limit)
    w->opts.per_ip_limit = DEFAULT_PER_IP_LIMIT;
  if(!w->opts.threads)
    w->opts.threads = 2;
  if(!w->opts.head_timeout_s)
    w->opts.head_timeout_s = DEFAULT_HEAD_TIMEOUT_S;
  if(!w->opts.response_timeout_s)
    w->opts.response_timeout_s = DEFAULT_RESPONSE_TIMEOUT_S;
  if(!w->opts.pinned_max)
    w->opts.pinned_max = DEFAULT_PINNED_MAX;
  if(!w->opts.pinned_snapshots || w->opts.pinned_snapshots > MAX_PINS)
    w->opts.pinned_snapshots = DEFAULT_PINNED_SNAPSHOTS;
  if(w->opts.ready_max_age_s <= 0)
    w->opts.ready_max_age_s = 60;
  return w;
fail:
  skpi_web_free(w);
  return NULL;
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
  rt->guard = NULL;
  rt->user = user;
  return SKPI_OK;
}

skpi_err skpi_web_route_guard(skpi_web *w, const char *method, const char *path,
                              skpi_web_guard guard) {
  for(size_t i = 0; i < w->nroutes; i++)
    if(strcmp(w->routes[i].method, method) == 0 && strcmp(w->routes[i].path, path) == 0) {
      w->routes[i].guard = guard;
      return SKPI_OK;
    }
  return SKPI_ENOENT;
}

/* Makes room for the connection limit in the descriptor limit, raising the
 * soft limit up to the hard one, or lowers the connection limit. */
static void fit_fd_limit(skpi_web *w) {
  struct rlimit rl;
  if(getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  rlim_t want = (rlim_t)w->opts.connection_limit + FD_RESERVE;
  if(rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if(rl.rlim_cur < want) {
    unsigned fit = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE) : FD_RESERVE;
    char have[32], now[32];
    snprintf(have, sizeof(have), "%lu", (unsigned long)rl.rlim_cur);
    snprintf(now, sizeof(now), "%u", fit);
    skpi_log(SKPI_WARN, "descriptor limit too low for the connection limit; lowered", "nofile",
             have, "connection_limit", now);
    w->opts.connection_limit = fit;
  }
}

static int is_loopback(const skpi_web *w) {
  if(w->dual_stack)
    return 0;
  if(w->addr.ss_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)&w->addr)->sin_addr.s_addr) >> 24) == 127;
  if(w->addr.ss_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&w->addr)->sin6_addr);
  return 0;
}

/* GnuTLS priorities for the configured version range. */
static skpi_err tls_priorities(skpi_web *w) {
  skpi_buf b;
  skpi_buf_init(&b, 256);
  skpi_buf_addstr(&b, "NORMAL:-VERS-ALL");
  int max = w->cfg->max_tls ? w->cfg->max_tls : 13;
  for(int v = max; v >= w->cfg->min_tls; v--)
    skpi_buf_printf(&b, ":+VERS-TLS1.%d", v - 10);
  w->priorities = skpi_buf_steal(&b, NULL);
  return w->priorities ? SKPI_OK : SKPI_ENOMEM;
}

skpi_err skpi_web_start(skpi_web *w, char *errbuf, size_t errlen) {
  /* ITC lets skpi_web_handover quiesce the server. */
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
  if(w->dual_stack)
    flags |= MHD_USE_DUAL_STACK;
  else if(w->addr.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  fit_fd_limit(w);
  struct MHD_OptionItem ops[20];
  int i = 0;
  /* The logger goes first so that MHD routes everything after it through. */
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                     (intptr_t)w->opts.connection_timeout_s, NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                     (intptr_t)w->opts.connection_limit, NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                     (intptr_t)w->opts.per_ip_limit, NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)w->opts.threads, NULL};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, w};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, w};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, w};
  if(w->cfg && w->cfg->cert_pem) {
    if(MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      snprintf(errbuf, errlen, "%s: TLS configured but libmicrohttpd has no TLS support",
               w->cfg->path);
      return SKPI_EINVAL;
    }
    if(tls_priorities(w) != SKPI_OK) {
      snprintf(errbuf, errlen, "out of memory");
      return SKPI_ENOMEM;
    }
    flags |= MHD_USE_TLS;
    ops[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, w->cfg->cert_pem};
    ops[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, w->cfg->key_pem};
    ops[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, w->priorities};
    if(w->cfg->client_ca_pem)
      ops[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, w->cfg->client_ca_pem};
  }
  if(w->adopted_fd >= 0)
    ops[i++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, w->adopted_fd, NULL};
  else if(!w->dual_stack)
    ops[i++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &w->addr};
  ops[i++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  w->mhd = MHD_start_daemon(flags, w->port, NULL, NULL, on_request, w, MHD_OPTION_ARRAY, ops,
                            MHD_OPTION_END);
  if(!w->mhd) {
    snprintf(errbuf, errlen,
             "cannot listen on %s (address in use or not permitted, or TLS key and "
             "certificate refused)",
             w->listen);
    return SKPI_EIO;
  }
  if(pthread_create(&w->reaper, NULL, reaper_main, w) != 0) {
    snprintf(errbuf, errlen, "cannot start the connection reaper thread");
    return SKPI_EIO;
  }
  w->reaper_started = 1;
  w->adopted_fd = -1; /* the daemon owns it now */
  if(!is_loopback(w) && (!w->cfg || w->cfg->nusers == 0))
    skpi_log(SKPI_WARN,
             "listening beyond loopback without authentication: anyone who reaches the port "
             "can read the metrics; set basic_auth_users in --web.config.file",
             "address", w->listen);
  return SKPI_OK;
}

/* Loads the TLS material as the server would and reports what GnuTLS
 * refuses, a certificate that does not match its key included. */
static skpi_err check_tls(const skpi_webcfg *cfg, char *errbuf, size_t errlen) {
  gnutls_certificate_credentials_t cred = NULL;
  skpi_err rc = SKPI_EINVAL;
  if(gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS) {
    snprintf(errbuf, errlen, "out of memory");
    return SKPI_ENOMEM;
  }
  gnutls_datum_t cert = {(unsigned char *)cfg->cert_pem, (unsigned)strlen(cfg->cert_pem)};
  gnutls_datum_t key = {(unsigned char *)cfg->key_pem, (unsigned)strlen(cfg->key_pem)};
  int grc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
  if(grc < 0) {
    snprintf(errbuf, errlen, "%s: tls_server_config: cert_file and key_file refused: %s", cfg->path,
             gnutls_strerror(grc));
    goto out;
  }
  if(cfg->client_ca_pem) {
    gnutls_datum_t ca = {(unsigned char *)cfg->client_ca_pem, (unsigned)strlen(cfg->client_ca_pem)};
    grc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
    if(grc <= 0) {
      snprintf(errbuf, errlen, "%s: tls_server_config.client_ca_file: no usable certificate%s%s",
               cfg->path, grc < 0 ? ": " : "", grc < 0 ? gnutls_strerror(grc) : "");
      goto out;
    }
  }
  rc = SKPI_OK;
out:
  gnutls_certificate_free_credentials(cred);
  return rc;
}

skpi_err skpi_web_check(const skpi_web *w, int *in_use, char *errbuf, size_t errlen) {
  if(in_use)
    *in_use = 0;
  if(w->cfg && w->cfg->cert_pem) {
    skpi_err rc = check_tls(w->cfg, errbuf, errlen);
    if(rc != SKPI_OK)
      return rc;
  }
  struct sockaddr_storage sa = w->addr;
  socklen_t salen = sizeof(struct sockaddr_in);
  if(w->dual_stack) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
    memset(&sa, 0, sizeof(sa));
    s6->sin6_family = AF_INET6;
    s6->sin6_addr = in6addr_any;
    s6->sin6_port = htons(w->port);
  }
  if(sa.ss_family == AF_INET6)
    salen = sizeof(struct sockaddr_in6);
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if(fd < 0) {
    snprintf(errbuf, errlen, "--web.listen-address: cannot open a socket for %s: %s", w->listen,
             strerror(errno));
    return SKPI_EIO;
  }
  /* As the server does: a port in TIME_WAIT is bindable. */
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  skpi_err rc = SKPI_OK;
  if(bind(fd, (struct sockaddr *)&sa, salen) != 0) {
    if(errno == EADDRINUSE && in_use) {
      *in_use = 1;
    } else {
      snprintf(errbuf, errlen, "--web.listen-address: cannot bind %s: %s", w->listen,
               strerror(errno));
      rc = SKPI_EIO;
    }
  }
  close(fd);
  return rc;
}

unsigned skpi_web_port(const skpi_web *w) {
  if(!w->mhd)
    return 0;
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_BIND_PORT);
  return di ? di->port : 0;
}

int skpi_web_handover(skpi_web *from, skpi_web *to) {
  if(!from->mhd || to->mhd || to->adopted_fd >= 0)
    return -1;
  MHD_socket fd = MHD_quiesce_daemon(from->mhd);
  if(fd == MHD_INVALID_SOCKET)
    return -1;
  to->adopted_fd = fd;
  return 0;
}

void skpi_web_free(skpi_web *w) {
  if(!w)
    return;
  if(w->reaper_started) {
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->reaper, NULL);
  }
  if(w->mhd)
    MHD_stop_daemon(w->mhd);
  if(w->adopted_fd >= 0)
    close(w->adopted_fd);
  skpi_webcfg_free(w->cfg);
  free(w->priorities);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

const char *skpi_web_library_version(void) { return MHD_get_version(); }
