/* web.h: the HTTP face (libmicrohttpd).
 *
 * Built-in routes: GET <telemetry_path> (0.0.4 text, OpenMetrics when Accept
 * asks, gzip when Accept-Encoding allows), GET /healthz, GET /ready (200 when
 * every ready-source has a fresh success, else 503), GET / (landing page).
 * Other modules add routes with skpi_web_route before skpi_web_start; HEAD is
 * answered wherever GET is, with the same headers and no body.  Unknown paths
 * (and paths holding an encoded NUL) get 404, a known path with another
 * method 405 with Allow.  Handlers run on the server's threads: they must
 * only read ready data.
 *
 * With a web config file (webcfg.h) the server speaks TLS, checks client
 * certificates and Basic auth before any route runs, and adds the configured
 * headers to every answer.
 *
 * Hostile clients are bounded: a request head must arrive within
 * head_timeout_s of the connection opening (or of the previous answer plus
 * the idle timeout), an answer must be sent within response_timeout_s, and
 * answers still being sent pin at most pinned_snapshots distinct snapshots
 * and pinned_max bytes of metric bodies: past either, the readers of the
 * oldest pinned snapshot are disconnected (the newest is always served;
 * 503 with Retry-After only when 64 distinct snapshots are pinned).  A
 * request body must come with a Content-Length: chunked bodies get 411,
 * other transfer codings 501.
 */
#ifndef STREAMKPI_WEB_H
#define STREAMKPI_WEB_H

#include <stddef.h>

#include "streamkpi/buf.h"
#include "streamkpi/err.h"
#include "streamkpi/registry.h"

typedef struct skpi_web skpi_web;

typedef struct skpi_web_opts {
  const char *listen_address;    /* "[host]:port", ":port", "host:port" */
  const char *telemetry_path;    /* "/metrics" */
  double ready_max_age_s;        /* a success older than this is not ready */
  unsigned connection_timeout_s; /* default 30 when 0 */
  unsigned connection_limit;     /* default 256 when 0 */
  unsigned per_ip_limit;         /* default 64 when 0 */
  unsigned threads;              /* default 2 when 0 */
  unsigned head_timeout_s;       /* default 10 when 0 */
  unsigned response_timeout_s;   /* default 120 when 0 */
  size_t pinned_max;             /* default 256 MiB when 0 */
  unsigned pinned_snapshots;     /* default 2 when 0 (at most 64) */
  const char *web_config_file;   /* exporter-toolkit web config, or NULL */
} skpi_web_opts;

typedef struct skpi_web_req {
  const char *method;
  const char *path;
  const char *query;         /* "k=v&k=v" with values decoded, or NULL when none */
  const char *authorization; /* Authorization header or NULL */
  const char *body;          /* NULL when empty */
  size_t body_len;
} skpi_web_req;

typedef struct skpi_web_resp {
  int status;               /* default 200 */
  const char *content_type; /* static string; default application/json */
  skpi_buf body;            /* initialised by the server (cap 64 MiB) */
} skpi_web_resp;

typedef void (*skpi_web_handler)(const skpi_web_req *req, skpi_web_resp *resp, void *user);

/* Creates the server (not listening yet), loading opts->web_config_file
 * when set.  NULL with errbuf set on bad options or a bad web config file
 * ("FILE:LINE: KEY: message"). */
skpi_web *skpi_web_new(const skpi_web_opts *opts, skpi_registry *reg, char *errbuf, size_t errlen);

/* Adds a route.  A request body larger than max_body gets 413 before the
 * handler runs.  Call before skpi_web_start. */
skpi_err skpi_web_route(skpi_web *w, const char *method, const char *path, size_t max_body,
                        skpi_web_handler fn, void *user);

/* Looks at a request's Authorization header (NULL when absent) before its
 * body is read: returns 0 to read the body and run the route, or the HTTP
 * status to answer at once with *msg (a static JSON text) as the body.  Runs
 * on the server's threads. */
typedef int (*skpi_web_guard)(const char *authorization, void *user, const char **msg);

/* Sets the guard of the route method path added before (user is the
 * route's).  SKPI_ENOENT when there is no such route.  Call before
 * skpi_web_start. */
skpi_err skpi_web_route_guard(skpi_web *w, const char *method, const char *path,
                              skpi_web_guard guard);

/* Adds HTML (already escaped) to the landing page, under its title; runs on
 * the server's thread at every request of "/", so it only reads ready data. */
typedef void (*skpi_web_summary)(skpi_buf *html, void *user);

/* Sets the landing page's summary hook (NULL: none).  Call before
 * skpi_web_start. */
void skpi_web_set_summary(skpi_web *w, skpi_web_summary fn, void *user);

/* Starts listening.  Fails (errbuf set) when the address cannot be bound or
 * the TLS material is refused.  Logs a warning when the address reaches
 * beyond loopback and no Basic auth users are configured. */
skpi_err skpi_web_start(skpi_web *w, char *errbuf, size_t errlen);

/* What skpi_web_start needs, checked without keeping anything (for
 * --config.check): the address can be bound (the socket is closed at once)
 * and the TLS certificate, key and client CA load, the key matching the
 * certificate.  An address already in use is not an error, since the
 * running exporter may hold it: *in_use is set to 1 then (may be NULL).
 * Returns SKPI_EIO (bind refused) or SKPI_EINVAL (TLS material) with one
 * line in errbuf. */
skpi_err skpi_web_check(const skpi_web *w, int *in_use, char *errbuf, size_t errlen);

/* Hands the listening socket of the running server `from` to `to`, which
 * is not started yet and listens on it when skpi_web_start runs instead of
 * binding: connections that arrive in between wait in the socket's backlog,
 * so none is refused.  `from` accepts nothing more but finishes the
 * connections it has until it is freed.  Returns 0, or -1 (nothing changed)
 * when `from` is not running or `to` already has a socket. */
int skpi_web_handover(skpi_web *from, skpi_web *to);

/* Returns 1 when an Accept-Encoding header value allows gzip (a gzip or
 * x-gzip coding with q > 0), else 0; NULL gives 0.  Reads only up to the
 * terminating NUL, whatever the input. */
int skpi_web_accepts_gzip(const char *accept_encoding);

/* What the server refused or cut since start, for the exporter's own
 * metrics. */
typedef struct skpi_web_counters {
  unsigned long deadline_closed;  /* connections cut past a deadline */
  unsigned long slow_readers_cut; /* readers of an old snapshot cut to free it */
  unsigned long pinned_refused;   /* scrapes answered 503: the pin table was full */
  unsigned long auth_refused;     /* 401: missing or wrong Basic credentials */
  unsigned long auth_busy;        /* 503: another bcrypt check was running */
  unsigned long cert_refused;     /* 403: client certificate missing or untrusted */
  unsigned long framing_refused;  /* 411/501: body framing not supported */
} skpi_web_counters;

/* Copies the counters into *out.  Thread-safe. */
void skpi_web_counters_get(skpi_web *w, skpi_web_counters *out);

/* The port actually bound (useful after listening on port 0). */
unsigned skpi_web_port(const skpi_web *w);

/* Stops and frees. */
void skpi_web_free(skpi_web *w);

/* The version of the HTTP library linked in (static string), for
 * --version. */
const char *skpi_web_library_version(void);

#endif
