/* webcfg.c: the exporter-toolkit web config file, and Basic auth against it.
 *
 * The file is read with libyaml's document loader, which keeps the line of
 * every node, so each error names FILE:LINE: KEY.  PEM files are read here
 * so that the server gets them from memory and a bad path fails the load.
 */
#include "streamkpi/webcfg.h"

#include <crypt.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "streamkpi/buf.h"

/* Longest user name and password accepted in an Authorization header. */
#define MAX_CRED 1024
#define DIGEST_LEN 32

typedef struct skpi_webcfg_cache {
  pthread_mutex_t mu;
  pthread_mutex_t gate;                /* held during a bcrypt check */
  unsigned char (*digest)[DIGEST_LEN]; /* per user: last verified password */
  unsigned char *valid;
} cache_t;

/* What the exporter-toolkit allows under http_server_config.headers. */
static const char *const allowed_headers[] = {"Strict-Transport-Security", "X-Content-Type-Options",
                                              "X-Frame-Options", "X-XSS-Protection",
                                              "Content-Security-Policy"};

typedef struct loader {
  const char *path;
  yaml_document_t *doc;
  char *errbuf;
  size_t errlen;
} loader;

static int line_of(const yaml_node_t *n) {
  return n ? (int)n->start_mark.line + 1 : 0;
}

static skpi_err fail(loader *l, const yaml_node_t *n, const char *key, const char *msg) {
  snprintf(l->errbuf, l->errlen, "%s:%d: %s: %s", l->path, line_of(n), key, msg);
  return SKPI_EINVAL;
}

static const char *scalar(const yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Reads a whole regular file of at most max bytes into *out (malloc'd);
 * on failure *why says what went wrong. */
static skpi_err slurp(const char *path, size_t max, char **out, const char **why) {
  skpi_buf b;
  skpi_buf_init(&b, max);
  *out = NULL;
  skpi_err rc = skpi_buf_read_file(&b, path);
  switch(rc) {
  case SKPI_OK: break;
  case SKPI_EINVAL: *why = "not a regular file"; break;
  case SKPI_ETOOBIG: *why = "file too large"; break;
  case SKPI_ENOMEM: *why = "out of memory"; break;
  default: *why = strerror(errno); break;
  }
  if(rc == SKPI_OK && !(*out = skpi_buf_steal(&b, NULL))) {
    *why = "out of memory";
    rc = SKPI_ENOMEM;
  }
  skpi_buf_free(&b);
  return rc == SKPI_OK || rc == SKPI_ENOMEM ? rc : SKPI_EIO;
}

/* Reads the PEM file named by node n (relative to the config's directory). */
static skpi_err read_pem(loader *l, const yaml_node_t *n, const char *key, char **out) {
  const char *v = scalar(n);
  if(!v || !*v)
    return fail(l, n, key, "expected a file name");
  char full[4096];
  const char *slash = strrchr(l->path, '/');
  int len = v[0] == '/' || !slash
                ? snprintf(full, sizeof(full), "%s", v)
                : snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - l->path), l->path, v);
  if(len < 0 || (size_t)len >= sizeof(full))
    return fail(l, n, key, "file name too long");
  const char *why = "";
  skpi_err rc = slurp(full, SKPI_WEBCFG_MAX_PEM, out, &why);
  if(rc == SKPI_ENOMEM)
    return rc;
  if(rc != SKPI_OK) {
    char msg[512];
    snprintf(msg, sizeof(msg), "cannot read %.300s: %.150s", full, why);
    return fail(l, n, key, msg);
  }
  if(!strstr(*out, "-----BEGIN ")) {
    char msg[512];
    snprintf(msg, sizeof(msg), "%.300s holds no PEM block", full);
    return fail(l, n, key, msg);
  }
  return SKPI_OK;
}

static skpi_err parse_tls_version(loader *l, const yaml_node_t *n, const char *key, int *out) {
  static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
  const char *v = scalar(n);
  for(int i = 0; v && i < 4; i++)
    if(strcmp(v, names[i]) == 0) {
      *out = 10 + i;
      return SKPI_OK;
    }
  return fail(l, n, key, "expected TLS10, TLS11, TLS12 or TLS13");
}

/* at is the section's key, for errors about the section as a whole. */
static skpi_err parse_tls(loader *l, const yaml_node_t *at, yaml_node_t *map, skpi_webcfg *c) {
  skpi_err rc;
  const yaml_node_t *ca_node = NULL, *auth_node = NULL;
  if(map->type != YAML_MAPPING_NODE)
    return fail(l, at, "tls_server_config", "expected a mapping");
  for(yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
    const char *key = scalar(k);
    char full[128];
    snprintf(full, sizeof(full), "tls_server_config.%s", key ? key : "?");
    if(!key)
      return fail(l, k, "tls_server_config", "keys must be strings");
    if(strcmp(key, "cert_file") == 0) {
      if((rc = read_pem(l, v, full, &c->cert_pem)) != SKPI_OK)
        return rc;
    } else if(strcmp(key, "key_file") == 0) {
      if((rc = read_pem(l, v, full, &c->key_pem)) != SKPI_OK)
        return rc;
    } else if(strcmp(key, "client_ca_file") == 0) {
      ca_node = v;
      if((rc = read_pem(l, v, full, &c->client_ca_pem)) != SKPI_OK)
        return rc;
    } else if(strcmp(key, "client_auth_type") == 0) {
      const char *s = scalar(v);
      auth_node = v;
      if(s && strcmp(s, "NoClientCert") == 0)
        c->client_auth = SKPI_CLIENT_NONE;
      else if(s && strcmp(s, "VerifyClientCertIfGiven") == 0)
        c->client_auth = SKPI_CLIENT_VERIFY_IF_GIVEN;
      else if(s && strcmp(s, "RequireAndVerifyClientCert") == 0)
        c->client_auth = SKPI_CLIENT_REQUIRE_VERIFY;
      else if(s && (strcmp(s, "RequestClientCert") == 0 || strcmp(s, "RequireAnyClientCert") == 0))
        return fail(l, v, full,
                    "unverified client certificates are not supported; use "
                    "VerifyClientCertIfGiven or RequireAndVerifyClientCert");
      else
        return fail(l, v, full,
                    "expected NoClientCert, VerifyClientCertIfGiven or "
                    "RequireAndVerifyClientCert");
    } else if(strcmp(key, "min_version") == 0) {
      if((rc = parse_tls_version(l, v, full, &c->min_tls)) != SKPI_OK)
        return rc;
    } else if(strcmp(key, "max_version") == 0) {
      if((rc = parse_tls_version(l, v, full, &c->max_tls)) != SKPI_OK)
        return rc;
    } else if(strcmp(key, "cipher_suites") == 0 || strcmp(key, "curve_preferences") == 0 ||
              strcmp(key, "prefer_server_cipher_suites") == 0) {
      return fail(l, k, full, "not supported (GnuTLS chooses from its secure defaults)");
    } else {
      return fail(l, k, full, "unknown key");
    }
  }
  if(!c->cert_pem || !c->key_pem)
    return fail(l, at, "tls_server_config", "cert_file and key_file are both required");
  if(c->client_auth != SKPI_CLIENT_NONE && !c->client_ca_pem)
    return fail(l, auth_node, "tls_server_config.client_auth_type",
                "needs client_ca_file to verify client certificates");
  if(c->client_auth == SKPI_CLIENT_NONE && c->client_ca_pem)
    return fail(l, ca_node, "tls_server_config.client_ca_file", "set client_auth_type to use it");
  if(c->max_tls && c->max_tls < c->min_tls)
    return fail(l, at, "tls_server_config.max_version", "below min_version");
  return SKPI_OK;
}

static int header_value_ok(const char *v) {
  for(; *v; v++)
    if((unsigned char)*v < 0x20 || *v == 0x7f)
      return 0;
  return 1;
}

static skpi_err parse_http(loader *l, yaml_node_t *map, skpi_webcfg *c) {
  if(map->type != YAML_MAPPING_NODE)
    return fail(l, map, "http_server_config", "expected a mapping");
  for(yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
    const char *key = scalar(k);
    if(key && strcmp(key, "http2") == 0) {
      const char *s = scalar(v);
      if(!s || (strcmp(s, "true") != 0 && strcmp(s, "false") != 0))
        return fail(l, v, "http_server_config.http2", "expected true or false");
      continue; /* the server speaks HTTP/1.1 only; either value is accepted */
    }
    if(!key || strcmp(key, "headers") != 0)
      return fail(l, k, "http_server_config", "unknown key");
    if(v->type != YAML_MAPPING_NODE)
      return fail(l, v, "http_server_config.headers", "expected a mapping");
    for(yaml_node_pair_t *h = v->data.mapping.pairs.start; h < v->data.mapping.pairs.top; h++) {
      yaml_node_t *hk = yaml_document_get_node(l->doc, h->key);
      yaml_node_t *hv = yaml_document_get_node(l->doc, h->value);
      const char *name = scalar(hk), *val = scalar(hv);
      int known = 0;
      for(size_t i = 0; name && i < sizeof(allowed_headers) / sizeof(allowed_headers[0]); i++)
        if(strcasecmp(name, allowed_headers[i]) == 0)
          known = 1;
      if(!known)
        return fail(l, hk, "http_server_config.headers",
                    "only Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
                    "X-XSS-Protection and Content-Security-Policy may be set");
      if(!val || !header_value_ok(val))
        return fail(l, hv, name, "expected a header value without control characters");
      if(c->nheaders >= SKPI_WEBCFG_MAX_HEADERS)
        return fail(l, hk, "http_server_config.headers", "too many headers");
      skpi_webcfg_header *e = &c->headers[c->nheaders];
      if(!(e->name = strdup(name)) || !(e->value = strdup(val)))
        return SKPI_ENOMEM;
      c->nheaders++;
    }
  }
  return SKPI_OK;
}

static skpi_err parse_users(loader *l, yaml_node_t *map, skpi_webcfg *c) {
  if(map->type != YAML_MAPPING_NODE)
    return fail(l, map, "basic_auth_users", "expected a mapping of user: bcrypt hash");
  for(yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
    const char *name = scalar(k), *hash = scalar(v);
    if(!name || !*name || strchr(name, ':') || strlen(name) > MAX_CRED)
      return fail(l, k, "basic_auth_users", "a user name must be non-empty and without ':'");
    for(size_t i = 0; i < c->nusers; i++)
      if(strcmp(c->users[i].name, name) == 0)
        return fail(l, k, name, "user listed twice");
    if(!hash || strlen(hash) != 60 || hash[0] != '$' || hash[1] != '2' ||
       (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$')
      return fail(l, v, name, "expected a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)");
    if(c->nusers >= SKPI_WEBCFG_MAX_USERS)
      return fail(l, k, "basic_auth_users", "too many users");
    skpi_webcfg_user *u = &c->users[c->nusers];
    if(!(u->name = strdup(name)) || !(u->hash = strdup(hash)))
      return SKPI_ENOMEM;
    c->nusers++;
  }
  return SKPI_OK;
}

static skpi_err parse_root(loader *l, skpi_webcfg *c) {
  yaml_node_t *root = yaml_document_get_root_node(l->doc);
  if(!root) /* an empty file configures nothing: plain HTTP, no auth */
    return SKPI_OK;
  if(root->type != YAML_MAPPING_NODE)
    return fail(l, root, "(top)", "expected a mapping");
  int seen[3] = {0, 0, 0};
  for(yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
    const char *key = scalar(k);
    int idx = !key                                     ? -1
              : strcmp(key, "tls_server_config") == 0  ? 0
              : strcmp(key, "http_server_config") == 0 ? 1
              : strcmp(key, "basic_auth_users") == 0   ? 2
                                                       : -1;
    if(idx < 0)
      return fail(l, k, key ? key : "(top)", "unknown key");
    if(seen[idx]++)
      return fail(l, k, key, "given twice");
    /* "key:" with nothing after it is an empty section. */
    const char *sv = scalar(v);
    if(sv && !*sv)
      continue;
    skpi_err rc = idx == 0   ? parse_tls(l, k, v, c)
                  : idx == 1 ? parse_http(l, v, c)
                             : parse_users(l, v, c);
    if(rc != SKPI_OK)
      return rc;
  }
  return SKPI_OK;
}

/* Refuses aliases, which could multiply a small file into a large tree. */
static skpi_err check_events(loader *l, const char *text, size_t len) {
  yaml_parser_t p;
  yaml_event_t ev;
  skpi_err rc = SKPI_OK;
  int docs = 0;
  if(!yaml_parser_initialize(&p))
    return SKPI_ENOMEM;
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  for(;;) {
    if(!yaml_parser_parse(&p, &ev)) {
      snprintf(l->errbuf, l->errlen, "%s:%d: (yaml): %s", l->path, (int)p.problem_mark.line + 1,
               p.problem ? p.problem : "syntax error");
      rc = SKPI_EINVAL;
      break;
    }
    yaml_event_type_t t = ev.type;
    int line = (int)ev.start_mark.line + 1;
    yaml_event_delete(&ev);
    if(t == YAML_ALIAS_EVENT || (t == YAML_DOCUMENT_START_EVENT && ++docs > 1)) {
      snprintf(l->errbuf, l->errlen, "%s:%d: (yaml): %s", l->path, line,
               t == YAML_ALIAS_EVENT ? "aliases are not allowed" : "only one document is allowed");
      rc = SKPI_EINVAL;
      break;
    }
    if(t == YAML_STREAM_END_EVENT)
      break;
  }
  yaml_parser_delete(&p);
  return rc;
}

skpi_err skpi_webcfg_load(const char *path, skpi_webcfg **out, char *errbuf, size_t errlen) {
  skpi_err rc;
  char *text = NULL;
  yaml_parser_t parser;
  yaml_document_t doc;
  int have_parser = 0, have_doc = 0;
  loader l = {path, &doc, errbuf, errlen};
  *out = NULL;
  errbuf[0] = '\0';
  skpi_webcfg *c = calloc(1, sizeof(*c));
  if(!c || !(c->path = strdup(path)) ||
     !(c->users = calloc(SKPI_WEBCFG_MAX_USERS, sizeof(*c->users))) ||
     !(c->headers = calloc(SKPI_WEBCFG_MAX_HEADERS, sizeof(*c->headers))) ||
     !(c->cache = calloc(1, sizeof(*c->cache)))) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  pthread_mutex_init(&c->cache->mu, NULL);
  pthread_mutex_init(&c->cache->gate, NULL);
  if(!(c->cache->digest = calloc(SKPI_WEBCFG_MAX_USERS, DIGEST_LEN)) ||
     !(c->cache->valid = calloc(SKPI_WEBCFG_MAX_USERS, 1))) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  c->min_tls = 12;
  const char *why = "";
  rc = slurp(path, SKPI_WEBCFG_MAX_BYTES, &text, &why);
  if(rc != SKPI_OK) {
    snprintf(errbuf, errlen, "%s:0: (file): cannot read: %s", path, why);
    if(rc != SKPI_ENOMEM)
      rc = SKPI_EIO;
    goto out;
  }
  if((rc = check_events(&l, text, strlen(text))) != SKPI_OK)
    goto out;
  if(!yaml_parser_initialize(&parser)) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  have_parser = 1;
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
  if(!yaml_parser_load(&parser, &doc)) {
    snprintf(errbuf, errlen, "%s:%d: (yaml): %s", path, (int)parser.problem_mark.line + 1,
             parser.problem ? parser.problem : "syntax error");
    rc = SKPI_EINVAL;
    goto out;
  }
  have_doc = 1;
  rc = parse_root(&l, c);
out:
  if(have_doc)
    yaml_document_delete(&doc);
  if(have_parser)
    yaml_parser_delete(&parser);
  free(text);
  if(rc != SKPI_OK) {
    if(!errbuf[0])
      snprintf(errbuf, errlen, "%s:0: (file): %s", path, skpi_strerror(rc));
    skpi_webcfg_free(c);
    return rc;
  }
  *out = c;
  return SKPI_OK;
}

static int b64_value(unsigned char ch) {
  if(ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if(ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if(ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if(ch == '+')
    return 62;
  if(ch == '/')
    return 63;
  return -1;
}

/* Decodes standard base64 (padding optional) into out (cap outlen, NUL
 * terminated).  Returns the decoded length, or -1 on garbage or overflow. */
static long b64_decode(const char *in, char *out, size_t outlen) {
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  const char *p = in;
  for(; *p && *p != '='; p++) {
    int v = b64_value((unsigned char)*p);
    if(v < 0)
      return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if(bits >= 8) {
      bits -= 8;
      if(o + 1 >= outlen)
        return -1;
      out[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  while(*p == '=')
    p++;
  if(*p)
    return -1;
  out[o] = '\0';
  return (long)o;
}

/* Compares n bytes in time independent of where they differ. */
static int same_bytes(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  unsigned char d = 0;
  for(size_t i = 0; i < n; i++)
    d |= x[i] ^ y[i];
  return d == 0;
}

enum skpi_auth skpi_webcfg_auth_ok(skpi_webcfg *c, const char *auth) {
  if(!c || c->nusers == 0)
    return SKPI_AUTH_OK;
  if(!auth)
    return SKPI_AUTH_REFUSED;
  while(*auth == ' ')
    auth++;
  /* The scheme is case-insensitive (RFC 7235). */
  if(strncasecmp(auth, "Basic ", 6) != 0)
    return SKPI_AUTH_REFUSED;
  auth += 6;
  while(*auth == ' ')
    auth++;
  char cred[2 * MAX_CRED + 2];
  long n = b64_decode(auth, cred, sizeof(cred));
  if(n < 0 || memchr(cred, '\0', (size_t)n))
    return SKPI_AUTH_REFUSED;
  char *colon = strchr(cred, ':');
  if(!colon)
    return SKPI_AUTH_REFUSED;
  *colon = '\0';
  const char *user = cred, *pass = colon + 1;
  size_t ui = 0;
  while(ui < c->nusers && strcmp(c->users[ui].name, user) != 0)
    ui++;
  if(ui == c->nusers)
    return SKPI_AUTH_REFUSED;
  unsigned char digest[DIGEST_LEN];
  if(gnutls_hash_fast(GNUTLS_DIG_SHA256, pass, strlen(pass), digest) != 0)
    return SKPI_AUTH_REFUSED;
  pthread_mutex_lock(&c->cache->mu);
  int cached = c->cache->valid[ui] && same_bytes(c->cache->digest[ui], digest, DIGEST_LEN);
  pthread_mutex_unlock(&c->cache->mu);
  if(cached)
    return SKPI_AUTH_OK;
  struct crypt_data *cd = calloc(1, sizeof(*cd));
  if(!cd)
    return SKPI_AUTH_REFUSED;
  if(pthread_mutex_trylock(&c->cache->gate) != 0) {
    free(cd);
    return SKPI_AUTH_BUSY;
  }
  const char *h = crypt_r(pass, c->users[ui].hash, cd);
  size_t hl = strlen(c->users[ui].hash);
  int ok = h && h[0] != '*' && strlen(h) == hl && same_bytes(h, c->users[ui].hash, hl);
  pthread_mutex_unlock(&c->cache->gate);
  free(cd);
  if(ok) {
    pthread_mutex_lock(&c->cache->mu);
    memcpy(c->cache->digest[ui], digest, DIGEST_LEN);
    c->cache->valid[ui] = 1;
    pthread_mutex_unlock(&c->cache->mu);
  }
  return ok ? SKPI_AUTH_OK : SKPI_AUTH_REFUSED;
}

void skpi_webcfg_free(skpi_webcfg *c) {
  if(!c)
    return;
  for(size_t i = 0; c->users && i < c->nusers; i++) {
    free(c->users[i].name);
    free(c->users[i].hash);
  }
  for(size_t i = 0; c->headers && i < c->nheaders; i++) {
    free(c->headers[i].name);
    free(c->headers[i].value);
  }
  if(c->cache) {
    pthread_mutex_destroy(&c->cache->mu);
    pthread_mutex_destroy(&c->cache->gate);
    free(c->cache->digest);
    free(c->cache->valid);
    free(c->cache);
  }
  free(c->users);
  free(c->headers);
  free(c->path);
  free(c->cert_pem);
  free(c->key_pem);
  free(c->client_ca_pem);
  free(c);
}
