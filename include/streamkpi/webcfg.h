/* webcfg.h: the web configuration file (--web.config.file), in the format
 * of the Prometheus exporter-toolkit:
 *
 *   tls_server_config:
 *     cert_file: server.crt            # PEM; relative paths are relative
 *     key_file: server.key             #   to the web config file
 *     client_auth_type: RequireAndVerifyClientCert
 *     client_ca_file: ca.crt
 *     min_version: TLS12               # TLS10..TLS13, default TLS12
 *     max_version: TLS13
 *   http_server_config:
 *     headers:
 *       Strict-Transport-Security: max-age=31536000
 *   basic_auth_users:
 *     alice: $2y$10$...                # bcrypt hash
 *
 * The files named are read when the config is loaded, so the server keeps
 * PEM in memory and a bad path is an error at load time.  Every error is one
 * line "FILE:LINE: KEY: what is wrong".  Supported client_auth_type values:
 * NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert.
 */
#ifndef STREAMKPI_WEBCFG_H
#define STREAMKPI_WEBCFG_H

#include <stddef.h>

#include "streamkpi/err.h"

/* Caps on what the file and the PEM files it names may hold. */
#define SKPI_WEBCFG_MAX_BYTES (64 * 1024)
#define SKPI_WEBCFG_MAX_PEM (1024 * 1024)
#define SKPI_WEBCFG_MAX_USERS 256
#define SKPI_WEBCFG_MAX_HEADERS 16

enum skpi_client_auth {
  SKPI_CLIENT_NONE = 0,        /* NoClientCert */
  SKPI_CLIENT_VERIFY_IF_GIVEN, /* a certificate sent must verify */
  SKPI_CLIENT_REQUIRE_VERIFY   /* a verified certificate is required */
};

typedef struct skpi_webcfg_user {
  char *name;
  char *hash; /* crypt(3) string, bcrypt: $2a$/$2b$/$2y$ */
} skpi_webcfg_user;

typedef struct skpi_webcfg_header {
  char *name;
  char *value;
} skpi_webcfg_header;

typedef struct skpi_webcfg {
  char *path;
  /* TLS: cert_pem and key_pem both set, or neither (plain HTTP). */
  char *cert_pem;
  char *key_pem;
  char *client_ca_pem; /* NULL unless client certificates are checked */
  enum skpi_client_auth client_auth;
  int min_tls; /* 10, 11, 12 or 13 */
  int max_tls; /* 0: no maximum */
  skpi_webcfg_user *users;
  size_t nusers;
  skpi_webcfg_header *headers;
  size_t nheaders;
  struct skpi_webcfg_cache *cache; /* verified pairs; private */
} skpi_webcfg;

/* Loads and validates path (at most SKPI_WEBCFG_MAX_BYTES; anchors and
 * several documents refused).  On success *out is the caller's, freed with
 * skpi_webcfg_free.  On error *out is NULL, the return is SKPI_EINVAL (bad
 * content or a named file unusable), SKPI_EIO (path unreadable) or
 * SKPI_ENOMEM, and errbuf holds one line "FILE:LINE: KEY: message". */
skpi_err skpi_webcfg_load(const char *path, skpi_webcfg **out, char *errbuf, size_t errlen);

enum skpi_auth { SKPI_AUTH_BUSY = -1, SKPI_AUTH_REFUSED = 0, SKPI_AUTH_OK = 1 };

/* Checks the Authorization header value auth against the users: OK when
 * it carries the Basic credentials of a user whose password matches the
 * hash (always OK when no users are configured), REFUSED otherwise (also
 * for NULL or malformed auth).  A bcrypt check costs what its cost factor
 * says, so a pair that verified is remembered (a SHA-256 digest per user)
 * and checked cheaply after; and only one bcrypt check runs at a time: a
 * second one is not queued but answered BUSY, so wrong passwords cannot
 * take every server thread.  Thread-safe. */
enum skpi_auth skpi_webcfg_auth_ok(skpi_webcfg *c, const char *auth);

/* Frees c and all it owns.  NULL is fine. */
void skpi_webcfg_free(skpi_webcfg *c);

#endif
