/* config_int.h: what config.c (the loader and the schema table) shares with
 * config_doc.c (docs/config.md rendered from that table).  Private to
 * exporter/config/. */
#ifndef STREAMKPI_CONFIG_INT_H
#define STREAMKPI_CONFIG_INT_H

#include <jansson.h>
#include <stddef.h>

#include "streamkpi/err.h"

#define SKPI__STR_(x) #x
#define SKPI__STR(x) SKPI__STR_(x)

typedef enum ftype {
  FT_STRING,    /* any scalar, kept as text */
  FT_ENUM,      /* one of f->choices ("a|b|c") */
  FT_INT,       /* integer, JSON integer */
  FT_NUMBER,    /* decimal number, JSON real */
  FT_BOOL,      /* true/false/yes/no */
  FT_DURATION,  /* skpi_parse_duration, JSON real seconds */
  FT_TIME,      /* RFC 3339 date-time, JSON real seconds since the epoch */
  FT_DATE,      /* RFC 3339 date or date-time, as FT_TIME */
  FT_URL,       /* http:// or https:// string */
  FT_REGEX,     /* POSIX ERE */
  FT_REGEX1,    /* POSIX ERE with exactly one capture group */
  FT_STRLIST,   /* list of non-empty strings */
  FT_REGEXLIST, /* list of POSIX EREs */
  FT_STRMAP,    /* mapping key -> scalar, values kept as text */
  FT_REGEXMAP,  /* mapping POSIX ERE -> non-empty string */
  FT_SECTION,   /* nested mapping, f->sub */
  FT_SECTLIST,  /* list of mappings, f->sub */
  FT_SECTMAP,   /* mapping key -> mapping f->sub; keys checked by f->check_key */
} ftype;

#define F_REQ 0x01u      /* must be given */
#define F_NONEMPTY 0x02u /* strings not blank, lists not empty */
#define F_MIN 0x04u      /* value >= lo */
#define F_GT 0x08u       /* value > lo */
#define F_MAX 0x10u      /* value <= hi */
#define F_LT 0x20u       /* value < hi */
#define F_UNIQUE 0x40u   /* unique across the items of the enclosing list */
#define F_NAME 0x80u     /* [A-Za-z0-9_.-]+ */

struct vctx;
struct section;

typedef struct field {
  const char *key;
  ftype type;
  unsigned flags;
  const char *dflt; /* scalar text, or JSON text for lists; NULL: none */
  double lo, hi;
  const char *choices;       /* FT_ENUM */
  const struct section *sub; /* FT_SECTION, FT_SECTLIST */
  const char *inherit;       /* top-level "section.key" tried before dflt */
  size_t cap;                /* lists and maps: most entries allowed; 0 none */
  const char *doc;           /* one line for docs/config.md */
  const char *what;          /* type text for docs/config.md when the type's is too vague */
  size_t maxlen;             /* strings: most bytes allowed; 0 none */
  /* Extra check on the converted value; NULL for none. */
  skpi_err (*check)(struct vctx *v, const json_t *val, int line, const char *path);
  /* FT_SECTMAP: check of each key (path ends in it), before its entry. */
  skpi_err (*check_key)(struct vctx *v, const char *key, int line, const char *path);
  /* FT_SECTMAP: the i-th key allowed (NULL past the last), for
   * docs/config.md; NULL when any key is. */
  const char *(*key_at)(size_t i);
} field;

typedef struct section {
  const char *noun; /* "cluster", used in duplicate messages */
  const field *fields;
  size_t nfields;
  /* Runs after the fields of one mapping are converted; NULL for none. */
  skpi_err (*check)(struct vctx *v, const json_t *out, int line, const char *path);
  const char *doc; /* paragraph for docs/config.md; NULL for none */
} section;

/* The top-level section of the schema table (its rows are the sections). */
const section *skpi__config_root(void);

#endif
