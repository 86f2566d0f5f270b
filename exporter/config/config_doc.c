/* config_doc.c: docs/config.md, rendered from the schema table.
 *
 * The page is the fixed prose below plus one table per section, in the
 * order a reader needs them (clusters first); a list of entries nested in a
 * section gets its own table after it.  Sub-sections without their own
 * list are flattened into "sub.key" rows.  Everything is written into one
 * capped skpi_buf, so there is a single failure path.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "streamkpi/buf.h"
#include "streamkpi/config.h"
#include "streamkpi/regex.h"

#include "config_int.h"

/* clang-format off */
static const char intro[] =
  "# Configuration (`--config.file`)\n"
  "\n"
  "<!-- Rendered from the schema table in exporter/config/config.c by `make config-doc`;\n"
  "     edit the table, not this file (a unit test compares the two). -->\n"
  "\n"
  "The configuration is one YAML document of at most " SKPI__STR(SKPI_CONFIG_MAX_BYTES)
  " bytes, nested at most " SKPI__STR(SKPI_CONFIG_MAX_DEPTH) " levels deep.\n"
  "Anchors and aliases are refused. Any problem stops the load with a single line\n"
  "`FILE:LINE: key.path: what is wrong` and exit status 2, and `--config.check` runs\n"
  "exactly the checks a start runs:\n"
  "\n"
  "```\n"
  "conf.yml:7: clusters[0].bootstrap_serverz: unknown key\n"
  "conf.yml:3: global.sample_interval: expected a duration like 15s, got \"fast\"\n"
  "conf.yml:14: dlq.patterns[32]: too many entries: at most 32 allowed\n"
  "```\n"
  "\n"
  "A key nobody knows is an error at every level. A key with an empty value (`key:`, `~`,\n"
  "`null`) is treated as absent. Every scalar is read as text and then converted for its\n"
  "key, so `15` and `\"15\"` mean the same. Lists and maps have caps; a longer one is\n"
  "refused, never shortened. Integers fit in 32 bits.\n"
  "\n"
  "Value types:\n"
  "\n"
  "- **duration**: `500ms`, `15s`, `5m`, `1h`, `7d`, `2w`, several in descending order\n"
  "  (`1h30m`), or a bare number of seconds; 100 years at most.\n"
  "- **bool**: `true`, `false`, `yes`, `no`, in any case.\n"
  "- **int** and **number**: decimal (no hex, `inf` or `nan`).\n"
  "- **time**: RFC 3339, strictly: `2024-06-01T22:00:00Z`, `2024-06-01 22:00:00.5+02:00`;\n"
  "  a second 60 only at 23:59:60 UTC; nothing before 1970. A **date** may also be a bare\n"
  "  `2024-06-01` (midnight UTC).\n"
  "- **regex**: POSIX extended, unanchored. Patterns that could make the regex compiler\n"
  "  explode are refused: longer than " SKPI__STR(SKPI_REGEX_MAX_LEN) " bytes, a count above "
  SKPI__STR(SKPI_REGEX_MAX_REPEAT) " in `{n,m}`,\n"
  "  a repeated group that itself holds a quantifier (`(a+)*`; an optional `(...)?` is\n"
  "  fine), more than " SKPI__STR(SKPI_REGEX_MAX_STACKED) " quantifiers in a row, more than "
  SKPI__STR(SKPI_REGEX_MAX_GROUPS) " groups.\n"
  "\n"
  "Without a file, `--kafka.brokers h1:9092,h2:9092` gives one cluster named `default` and\n"
  "every default below.\n";

static const char outro[] =
  "\n"
  "## For developers\n"
  "\n"
  "`skpi_config_load` returns a `skpi_config` whose sections are typed structs\n"
  "(`cfg->state.path`, `cfg->clusters[i].probe`, `cfg->slos[i].sli`, ...), defaults filled\n"
  "in, strings owned by the config, every list with its count and every entry with the line\n"
  "it came from. A check made elsewhere reports with `skpi_config_error(cfg, line, key, msg,\n"
  "...)` so that its line reads like the loader's. A new key is one row in its table in\n"
  "`exporter/config/config.c` plus its struct member; then run `make config-doc`.\n";
/* clang-format on */

static const field *find(const section *s, const char *key) {
  for(size_t i = 0; i < s->nfields; i++)
    if(!strcmp(s->fields[i].key, key))
      return &s->fields[i];
  return NULL;
}

/* A duration default ("30", "5m") in the largest unit that divides it. */
static skpi_err duration(skpi_buf *out, const char *dflt) {
  static const struct {
    const char *u;
    double s;
  } units[] = {{"w", 604800}, {"d", 86400}, {"h", 3600}, {"m", 60}};
  double x;
  if(skpi_parse_duration(dflt, &x) != 0)
    return skpi_buf_addstr(out, dflt);
  for(size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if(x >= units[i].s && fmod(x, units[i].s) == 0)
      return skpi_buf_printf(out, "%.15g%s", x / units[i].s, units[i].u);
  return skpi_buf_printf(out, "%.15gs", x);
}

static skpi_err range(skpi_buf *out, const field *f) {
  int lo = (f->flags & (F_MIN | F_GT)) != 0, hi = (f->flags & (F_MAX | F_LT)) != 0;
  if((f->flags & F_MIN) && (f->flags & F_MAX))
    return skpi_buf_printf(out, " %.15g..%.15g", f->lo, f->hi);
  if(lo && hi)
    return skpi_buf_printf(out, ", %.15g %s x %s %.15g", f->lo,
                           (f->flags & F_GT) ? "<" : "<=", (f->flags & F_LT) ? "<" : "<=", f->hi);
  if(lo)
    return skpi_buf_printf(out, " %s %.15g", (f->flags & F_GT) ? ">" : ">=", f->lo);
  if(hi)
    return skpi_buf_printf(out, " %s %.15g", (f->flags & F_LT) ? "<" : "<=", f->hi);
  return SKPI_OK;
}

static const char *base_type(const field *f) {
  switch(f->type) {
  case FT_STRING: return (f->flags & F_NAME) ? "string of `A-Za-z0-9_.-`" : "string";
  case FT_INT: return "int";
  case FT_NUMBER: return "number";
  case FT_BOOL: return "bool";
  case FT_DURATION: return "duration";
  case FT_TIME: return "time";
  case FT_DATE: return "date or time";
  case FT_URL: return "URL";
  case FT_REGEX: return "regex";
  case FT_REGEX1: return "regex, one capture group";
  case FT_STRLIST: return "list of strings";
  case FT_REGEXLIST: return "list of regexes";
  case FT_STRMAP: return f->what ? f->what : "map";
  case FT_REGEXMAP: return "map regex -> string";
  case FT_SECTION: return "section";
  case FT_SECTMAP: return f->what ? f->what : "map of entries";
  default: return "list of entries";
  }
}

static skpi_err type(skpi_buf *out, const field *f) {
  skpi_err rc;
  if(f->type == FT_SECTION && f->inherit)
    return skpi_buf_printf(out, "section like `%s`", f->inherit);
  if(f->type == FT_ENUM) {
    rc = skpi_buf_addstr(out, "one of ");
    for(const char *c = f->choices; rc == SKPI_OK && *c; c++)
      rc = *c == '|' ? skpi_buf_addstr(out, " \\| ") : skpi_buf_addc(out, *c);
    return rc;
  }
  if((rc = skpi_buf_addstr(out, base_type(f))) != SKPI_OK || (rc = range(out, f)) != SKPI_OK)
    return rc;
  if(f->maxlen && (rc = skpi_buf_printf(out, ", at most %zu bytes", f->maxlen)) != SKPI_OK)
    return rc;
  if((f->flags & F_NONEMPTY) && f->type >= FT_STRLIST &&
     (rc = skpi_buf_addstr(out, ", not empty")) != SKPI_OK)
    return rc;
  if((f->flags & F_UNIQUE) && (rc = skpi_buf_addstr(out, ", unique")) != SKPI_OK)
    return rc;
  return f->cap ? skpi_buf_printf(out, ", at most %zu", f->cap) : SKPI_OK;
}

static skpi_err dflt(skpi_buf *out, const field *f) {
  json_error_t jerr;
  skpi_err rc = SKPI_OK;
  if(f->flags & F_REQ)
    return skpi_buf_addstr(out, "required");
  if(f->inherit)
    return skpi_buf_printf(out, "from `%s`", f->inherit);
  if(!f->dflt)
    return skpi_buf_addstr(out, f->type >= FT_STRLIST ? "empty" : "none");
  if(f->type == FT_DURATION)
    return duration(out, f->dflt);
  if(f->type == FT_STRLIST || f->type == FT_REGEXLIST) {
    /* List defaults are JSON text from the table. */
    json_t *l = json_loads(f->dflt, 0, &jerr), *it;
    size_t i;
    if(!l)
      return SKPI_ENOMEM;
    json_array_foreach(l, i, it) {
      if((rc = skpi_buf_printf(out, "%s`%s`", i ? ", " : "", json_string_value(it))) != SKPI_OK)
        break;
    }
    json_decref(l);
    return rc;
  }
  /* A | would end the table cell, even inside backquotes. */
  rc = skpi_buf_addc(out, '`');
  for(const char *c = f->dflt; rc == SKPI_OK && *c; c++)
    rc = *c == '|' ? skpi_buf_addstr(out, "\\|") : skpi_buf_addc(out, *c);
  return rc == SKPI_OK ? skpi_buf_addc(out, '`') : rc;
}

/* Rows of section s; sub-sections are flattened into "prefix.key". */
static skpi_err rows(skpi_buf *out, const section *s, const char *prefix) {
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; i < s->nfields && rc == SKPI_OK; i++) {
    const field *f = &s->fields[i];
    char key[160];
    snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", f->key);
    if(f->type == FT_SECTION && !f->inherit) {
      rc = rows(out, f->sub, key);
      continue;
    }
    if((rc = skpi_buf_printf(out, "| %s | ", key)) != SKPI_OK || (rc = type(out, f)) != SKPI_OK ||
       (rc = skpi_buf_addstr(out, " | ")) != SKPI_OK || (rc = dflt(out, f)) != SKPI_OK)
      break;
    rc = skpi_buf_printf(out, " | %s%s |\n", f->doc ? f->doc : "",
                         f->type == FT_SECTLIST || f->type == FT_SECTMAP ? " (below)" : "");
  }
  return rc;
}

static skpi_err table(skpi_buf *out, const section *s, const char *path, const field *self,
                      int top);

/* "Keys: `a`, `b`; each entry:" for a map of entries. */
static skpi_err map_keys(skpi_buf *out, const field *self) {
  skpi_err rc = skpi_buf_addstr(out, self->key_at ? "Keys:" : "Any key");
  const char *k;
  for(size_t i = 0; rc == SKPI_OK && self->key_at && (k = self->key_at(i)) != NULL; i++)
    rc = skpi_buf_printf(out, "%s `%s`", i ? "," : "", k);
  return rc == SKPI_OK ? skpi_buf_addstr(out, "; each entry:\n") : rc;
}

/* Lists of entries inside s (at any depth of flattened sub-sections). */
static skpi_err nested(skpi_buf *out, const section *s, const char *path, const char *prefix) {
  skpi_err rc = SKPI_OK;
  for(size_t i = 0; i < s->nfields && rc == SKPI_OK; i++) {
    const field *f = &s->fields[i];
    char key[160], sub[224];
    snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", f->key);
    snprintf(sub, sizeof(sub), "%s.%s", path, key);
    if(f->type == FT_SECTION && !f->inherit)
      rc = nested(out, f->sub, path, key);
    else if(f->type == FT_SECTLIST || f->type == FT_SECTMAP)
      rc = table(out, f->sub, sub, f, 0);
  }
  return rc;
}

static skpi_err table(skpi_buf *out, const section *s, const char *path, const field *self,
                      int top) {
  skpi_err rc;
  if((rc = skpi_buf_printf(out, "\n%s %s%s\n\n", top ? "##" : "###", path,
                           self->type == FT_SECTLIST  ? " (list)"
                           : self->type == FT_SECTMAP ? " (map)"
                                                      : "")) != SKPI_OK)
    return rc;
  if(s->doc && (rc = skpi_buf_printf(out, "%s\n", s->doc)) != SKPI_OK)
    return rc;
  if(self->type == FT_SECTLIST &&
     (rc = skpi_buf_printf(out, "A list of at most %zu entries%s; each entry:\n", self->cap,
                           (self->flags & F_REQ) ? ", required and not empty" : "")) != SKPI_OK)
    return rc;
  if(self->type == FT_SECTMAP && (rc = map_keys(out, self)) != SKPI_OK)
    return rc;
  if((rc = skpi_buf_addstr(out, "\n| key | type | default | meaning |\n|---|---|---|---|\n")) !=
         SKPI_OK ||
     (rc = rows(out, s, "")) != SKPI_OK)
    return rc;
  return nested(out, s, path, "");
}

skpi_err skpi_config_doc(skpi_buf *out) {
  static const char *const order[] = {
      "clusters", "global",     "state",   "probe", "incidents", "maintenance", "availability",
      "dlq",      "onboarding", "targets", "slos",  "catalog",   "maturity",    "policy"};
  const section *root = skpi__config_root();
  skpi_err rc = skpi_buf_addstr(out, intro);
  /* clusters first: it is the one section every file needs. */
  for(size_t i = 0; rc == SKPI_OK && i < sizeof(order) / sizeof(order[0]); i++) {
    const field *f = find(root, order[i]);
    if(f)
      rc = table(out, f->sub, f->key, f, 1);
  }
  return rc == SKPI_OK ? skpi_buf_addstr(out, outro) : rc;
}
