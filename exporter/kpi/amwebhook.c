/* amwebhook.c: Alertmanager webhook v4 parsing, validation and apply. */
#include "streamkpi/amwebhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "streamkpi/rfc3339.h"

static void seterr(char *errbuf, size_t errlen, const char *msg, size_t idx) {
  if(!errbuf || !errlen)
    return;
  if(idx == (size_t)-1)
    snprintf(errbuf, errlen, "%s", msg);
  else
    snprintf(errbuf, errlen, "alerts[%zu]: %s", idx, msg);
}

int skpi_am_parse_time(const char *s, double *out) {
  /* Alertmanager writes Go's zero time for "no end yet". */
  if(s && strcmp(s, "0001-01-01T00:00:00Z") == 0) {
    *out = 0;
    return 0;
  }
  return skpi_rfc3339_parse(s, out);
}

static int string_object(const json_t *o) {
  const char *k;
  json_t *v;
  if(!json_is_object(o))
    return 0;
  json_object_foreach((json_t *)o, k, v) {
    if(!json_is_string(v))
      return 0;
  }
  return 1;
}

static int status_of(const json_t *v) {
  const char *s = json_string_value(v);
  if(!s)
    return -1;
  if(strcmp(s, "firing") == 0)
    return 1;
  if(strcmp(s, "resolved") == 0)
    return 0;
  return -1;
}

skpi_err skpi_am_parse(const char *body, size_t len, skpi_am_payload *out, char *errbuf,
                       size_t errlen) {
  skpi_err rc = SKPI_EINVAL;
  memset(out, 0, sizeof(*out));
  if(len > SKPI_AM_MAX_BODY) {
    seterr(errbuf, errlen, "body too large", (size_t)-1);
    return SKPI_ETOOBIG;
  }
  if(!body || len == 0) {
    seterr(errbuf, errlen, "empty body", (size_t)-1);
    return SKPI_EINVAL;
  }
  json_error_t jerr;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  if(!root) {
    seterr(errbuf, errlen, "body is not valid JSON", (size_t)-1);
    goto out;
  }
  if(!json_is_object(root)) {
    seterr(errbuf, errlen, "body is not a JSON object", (size_t)-1);
    goto out;
  }
  const char *ver = json_string_value(json_object_get(root, "version"));
  if(!ver || strcmp(ver, "4") != 0) {
    seterr(errbuf, errlen, "version must be the string \"4\"", (size_t)-1);
    goto out;
  }
  if(status_of(json_object_get(root, "status")) < 0) {
    seterr(errbuf, errlen, "status must be \"firing\" or \"resolved\"", (size_t)-1);
    goto out;
  }
  json_t *alerts = json_object_get(root, "alerts");
  if(!json_is_array(alerts)) {
    seterr(errbuf, errlen, "alerts must be an array", (size_t)-1);
    goto out;
  }
  size_t n = json_array_size(alerts);
  if(n > SKPI_AM_MAX_ALERTS) {
    seterr(errbuf, errlen, "too many alerts", (size_t)-1);
    rc = SKPI_ETOOBIG;
    goto out;
  }
  out->alerts = calloc(n ? n : 1, sizeof(*out->alerts));
  if(!out->alerts) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  for(size_t i = 0; i < n; i++) {
    json_t *a = json_array_get(alerts, i);
    skpi_inc_alert *x = &out->alerts[i];
    if(!json_is_object(a)) {
      seterr(errbuf, errlen, "not an object", i);
      goto out;
    }
    int st = status_of(json_object_get(a, "status"));
    if(st < 0) {
      seterr(errbuf, errlen, "status must be \"firing\" or \"resolved\"", i);
      goto out;
    }
    x->firing = st;
    json_t *labels = json_object_get(a, "labels");
    if(!string_object(labels) || !string_object(json_object_get(a, "annotations"))) {
      seterr(errbuf, errlen, "labels and annotations must be objects of strings", i);
      goto out;
    }
    x->alertname = json_string_value(json_object_get(labels, "alertname"));
    x->severity = json_string_value(json_object_get(labels, "severity"));
    x->cluster = json_string_value(json_object_get(labels, "cluster"));
    if(skpi_am_parse_time(json_string_value(json_object_get(a, "startsAt")), &x->starts_at) ||
       skpi_am_parse_time(json_string_value(json_object_get(a, "endsAt")), &x->ends_at)) {
      seterr(errbuf, errlen, "startsAt and endsAt must be RFC 3339 times", i);
      goto out;
    }
    x->fingerprint = json_string_value(json_object_get(a, "fingerprint"));
    if(!x->fingerprint || !*x->fingerprint || strlen(x->fingerprint) > SKPI_INC_MAX_STR) {
      seterr(errbuf, errlen, "fingerprint must be a non-empty string", i);
      goto out;
    }
  }
  out->root = root;
  out->nalerts = n;
  root = NULL;
  rc = SKPI_OK;
out:
  json_decref(root);
  if(rc != SKPI_OK) {
    free(out->alerts);
    memset(out, 0, sizeof(*out));
  }
  return rc;
}

void skpi_am_payload_free(skpi_am_payload *p) {
  if(!p)
    return;
  free(p->alerts);
  json_decref(p->root);
  memset(p, 0, sizeof(*p));
}

skpi_err skpi_am_apply(const skpi_am_payload *p, skpi_incidents *inc, double now, char *errbuf,
                       size_t errlen) {
  return skpi_inc_alerts_apply(inc, p->alerts, p->nalerts, now, errbuf, errlen);
}

int skpi_am_bearer_ok(const char *authorization, const char *token) {
  if(!token || !*token)
    return 1;
  if(!authorization)
    return 0;
  static const char prefix[] = "Bearer ";
  size_t tl = strlen(token), al = strlen(authorization);
  /* The scheme name is case-insensitive (RFC 7235); the token is not. */
  if(al != sizeof(prefix) - 1 + tl || strncasecmp(authorization, prefix, sizeof(prefix) - 1) != 0)
    return 0;
  /* Constant time over the token so its content does not leak by timing. */
  unsigned char diff = 0;
  const char *given = authorization + sizeof(prefix) - 1;
  for(size_t i = 0; i < tl; i++)
    diff |= (unsigned char)(given[i] ^ token[i]);
  return diff == 0;
}

int skpi_am_handle(skpi_incidents *inc, const char *token, const char *authorization,
                   const char *body, size_t len, double now, skpi_buf *resp) {
  char err[256] = "";
  int status;
  if(!skpi_am_bearer_ok(authorization, token)) {
    status = 401;
    snprintf(err, sizeof(err), "missing or wrong bearer token");
  } else {
    skpi_am_payload p;
    skpi_err rc = skpi_am_parse(body, len, &p, err, sizeof(err));
    if(rc == SKPI_OK) {
      rc = skpi_am_apply(&p, inc, now, err, sizeof(err));
      size_t n = p.nalerts;
      skpi_am_payload_free(&p);
      if(rc == SKPI_OK) {
        skpi_buf_printf(resp, "{\"status\":\"ok\",\"alerts\":%zu}\n", n);
        return 200;
      }
      /* A full list or no memory is a 5xx, which Alertmanager retries. */
      status = rc == SKPI_EINVAL ? 400 : rc == SKPI_ETOOBIG ? 503 : 500;
      if(!err[0])
        snprintf(err, sizeof(err), "%s", skpi_strerror(rc));
    } else {
      status = rc == SKPI_ETOOBIG ? 413 : rc == SKPI_ENOMEM ? 500 : 400;
    }
  }
  json_t *o = json_pack("{s:s, s:s}", "status", "error", "error", err);
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  if(text) {
    skpi_buf_addstr(resp, text);
    skpi_buf_addc(resp, '\n');
  }
  free(text);
  json_decref(o);
  return status;
}
