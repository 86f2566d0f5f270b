/* amwebhook.h: Alertmanager webhook (payload version 4) for
 * POST /api/v1/alertmanager.
 *
 * The body is parsed and validated as a whole before anything is applied:
 * version must be "4", status and each alert's status "firing" or
 * "resolved", labels and annotations objects of strings, startsAt/endsAt
 * RFC 3339 (fractional seconds, "Z" or an offset; "0001-01-01T00:00:00Z"
 * means unset), fingerprint a non-empty string, and every alert acceptable
 * to skpi_inc_alert_check (incidents.h).  Any deviation is SKPI_EINVAL with
 * a message and nothing changes; the alerts are applied all or none.
 */
#ifndef STREAMKPI_AMWEBHOOK_H
#define STREAMKPI_AMWEBHOOK_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/buf.h"
#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/incidents.h"

/* Largest body the parser takes: the cap of incidents.max_body, so any
 * configured size is really accepted.  And most alerts in one payload. */
#define SKPI_AM_MAX_BODY ((size_t)SKPI_CONFIG_MAX_BODY)
#define SKPI_AM_MAX_ALERTS 5000u

/* A parsed payload.  The alerts' strings point into root. */
typedef struct skpi_am_payload {
  json_t *root;
  skpi_inc_alert *alerts;
  size_t nalerts;
} skpi_am_payload;

/* Parses body[0..len) into *out (zeroed first).  SKPI_ETOOBIG when len
 * exceeds SKPI_AM_MAX_BODY or there are too many alerts, SKPI_EINVAL on
 * anything malformed, SKPI_ENOMEM; errbuf (may be NULL) gets a message.  On
 * success free *out with skpi_am_payload_free. */
skpi_err skpi_am_parse(const char *body, size_t len, skpi_am_payload *out, char *errbuf,
                       size_t errlen);
void skpi_am_payload_free(skpi_am_payload *p);

/* Applies every alert of p to inc, all or none (skpi_inc_alerts_apply);
 * the caller locks inc.  errbuf (may be NULL) gets the reason of a refusal. */
skpi_err skpi_am_apply(const skpi_am_payload *p, skpi_incidents *inc, double now, char *errbuf,
                       size_t errlen);

/* skpi_rfc3339_parse (rfc3339.h), plus Alertmanager's zero time
 * "0001-01-01T00:00:00Z", which sets *out to 0.  Returns 0, or -1 on
 * anything the strict parser refuses. */
int skpi_am_parse_time(const char *s, double *out);

/* Returns 1 when token is NULL or empty (no guard configured) or
 * authorization is exactly "Bearer <token>"; compares in constant time for
 * a given token length. */
int skpi_am_bearer_ok(const char *authorization, const char *token);

/* The whole route: checks the token (401), size (413) and body (400), then
 * applies it: 503 when the incident list is full of open incidents, 500
 * when memory ran out (both retried by Alertmanager; nothing applied).
 * Writes a JSON body into resp and returns the HTTP status. */
int skpi_am_handle(skpi_incidents *inc, const char *token, const char *authorization,
                   const char *body, size_t len, double now, skpi_buf *resp);

#endif
