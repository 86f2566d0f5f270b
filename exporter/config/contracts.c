/* contracts.c: the data-product catalog from the config and ODCS v3 files. */
#include "streamkpi/contracts.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "streamkpi/buf.h"

/* ---- a small YAML tree with lines ---- */

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ };

typedef struct ynode {
  enum ykind kind;
  int line;
  char *s;             /* scalar text */
  char **keys;         /* map keys (n of them) */
  struct ynode **kids; /* map values or sequence items */
  size_t n, cap;
} ynode;

static void ynode_free(ynode *y) {
  if(!y)
    return;
  for(size_t i = 0; i < y->n; i++) {
    if(y->keys)
      free(y->keys[i]);
    ynode_free(y->kids[i]);
  }
  free(y->keys);
  free(y->kids);
  free(y->s);
  free(y);
}

static void fail(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fail(char *err, size_t errlen, const char *file, int line, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  snprintf(err, errlen, "%s:%d: %s", file, line, msg);
}

/* Appends child (and its key for a map) to parent; takes child. */
static skpi_err yadd(ynode *parent, char *key, ynode *child) {
  if(parent->n == parent->cap) {
    size_t nc = parent->cap ? parent->cap * 2 : 8;
    ynode **k = realloc(parent->kids, nc * sizeof(*k));
    if(!k)
      return SKPI_ENOMEM;
    parent->kids = k;
    if(parent->kind == Y_MAP) {
      char **ks = realloc(parent->keys, nc * sizeof(*ks));
      if(!ks)
        return SKPI_ENOMEM;
      parent->keys = ks;
    }
    parent->cap = nc;
  }
  if(parent->kind == Y_MAP)
    parent->keys[parent->n] = key;
  parent->kids[parent->n++] = child;
  return SKPI_OK;
}

typedef struct ystack {
  ynode *node[SKPI_CONTRACT_MAX_DEPTH + 1];
  char *key[SKPI_CONTRACT_MAX_DEPTH + 1]; /* pending map key */
  int depth;
} ystack;

/* Places a new node under the top of the stack (or as the root). */
static skpi_err place(ystack *st, ynode **root, ynode *nd) {
  if(st->depth == 0) {
    *root = nd;
    return SKPI_OK;
  }
  ynode *top = st->node[st->depth - 1];
  if(top->kind == Y_SEQ)
    return yadd(top, NULL, nd);
  char *k = st->key[st->depth - 1];
  st->key[st->depth - 1] = NULL;
  skpi_err rc = yadd(top, k, nd);
  if(rc != SKPI_OK)
    free(k);
  return rc;
}

static ynode *ynew(enum ykind kind, int line) {
  ynode *y = calloc(1, sizeof(*y));
  if(y) {
    y->kind = kind;
    y->line = line;
  }
  return y;
}

/* Parses text into a tree; one error line in err.  Aliases and anchors are
 * refused: an alias bomb never gets expanded. */
static skpi_err yparse(const char *file, const char *text, size_t len, ynode **out, char *err,
                       size_t errlen) {
  yaml_parser_t p;
  yaml_event_t ev;
  ystack st;
  ynode *root = NULL;
  skpi_err rc = SKPI_OK;
  int done = 0, docs = 0;
  memset(&st, 0, sizeof(st));
  *out = NULL;
  if(!yaml_parser_initialize(&p))
    return SKPI_ENOMEM;
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  /* Bounded: every event consumes input, and the input is capped. */
  while(!done && rc == SKPI_OK) {
    if(!yaml_parser_parse(&p, &ev)) {
      fail(err, errlen, file, (int)p.problem_mark.line + 1, "YAML syntax error: %s",
           p.problem ? p.problem : "unknown problem");
      rc = SKPI_EINVAL;
      break;
    }
    int line = (int)ev.start_mark.line + 1;
    ynode *top = st.depth ? st.node[st.depth - 1] : NULL;
    switch(ev.type) {
    case YAML_DOCUMENT_START_EVENT:
      if(++docs > 1) {
        fail(err, errlen, file, line, "only one YAML document is allowed");
        rc = SKPI_EINVAL;
      }
      break;
    case YAML_ALIAS_EVENT:
      fail(err, errlen, file, line, "YAML aliases are not allowed in a contract");
      rc = SKPI_EINVAL;
      break;
    case YAML_SCALAR_EVENT: {
      if(ev.data.scalar.anchor) {
        fail(err, errlen, file, line, "YAML anchors are not allowed in a contract");
        rc = SKPI_EINVAL;
        break;
      }
      const char *v = (const char *)ev.data.scalar.value;
      if(memchr(v, '\0', ev.data.scalar.length)) {
        fail(err, errlen, file, line, "NUL byte in a value");
        rc = SKPI_EINVAL;
        break;
      }
      if(top && top->kind == Y_MAP && !st.key[st.depth - 1]) {
        for(size_t i = 0; i < top->n; i++)
          if(!strcmp(top->keys[i], v)) {
            fail(err, errlen, file, line, "duplicate key %s", v);
            rc = SKPI_EINVAL;
            break;
          }
        if(rc == SKPI_OK && !(st.key[st.depth - 1] = strdup(v)))
          rc = SKPI_ENOMEM;
        break;
      }
      ynode *nd = ynew(Y_SCALAR, line);
      if(!nd || !(nd->s = strdup(v))) {
        ynode_free(nd);
        rc = SKPI_ENOMEM;
        break;
      }
      if((rc = place(&st, &root, nd)) != SKPI_OK)
        ynode_free(nd);
      break;
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
      int map = ev.type == YAML_MAPPING_START_EVENT;
      if(map ? ev.data.mapping_start.anchor != NULL : ev.data.sequence_start.anchor != NULL) {
        fail(err, errlen, file, line, "YAML anchors are not allowed in a contract");
        rc = SKPI_EINVAL;
        break;
      }
      if(top && top->kind == Y_MAP && !st.key[st.depth - 1]) {
        fail(err, errlen, file, line, "mapping keys must be plain values");
        rc = SKPI_EINVAL;
        break;
      }
      if(st.depth >= SKPI_CONTRACT_MAX_DEPTH) {
        fail(err, errlen, file, line, "nested deeper than %d levels", SKPI_CONTRACT_MAX_DEPTH);
        rc = SKPI_EINVAL;
        break;
      }
      ynode *nd = ynew(map ? Y_MAP : Y_SEQ, line);
      if(!nd) {
        rc = SKPI_ENOMEM;
        break;
      }
      if((rc = place(&st, &root, nd)) != SKPI_OK) {
        ynode_free(nd);
        break;
      }
      st.node[st.depth] = nd;
      st.key[st.depth] = NULL;
      st.depth++;
      break;
    }
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      if(st.depth > 0) {
        st.depth--;
        free(st.key[st.depth]);
        st.key[st.depth] = NULL;
      }
      break;
    case YAML_STREAM_END_EVENT: done = 1; break;
    default: break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&p);
  for(int i = 0; i < st.depth; i++)
    free(st.key[i]);
  if(rc != SKPI_OK) {
    ynode_free(root);
    return rc;
  }
  *out = root;
  return SKPI_OK;
}

static const ynode *yget(const ynode *map, const char *key) {
  if(!map || map->kind != Y_MAP)
    return NULL;
  for(size_t i = 0; i < map->n; i++)
    if(!strcmp(map->keys[i], key))
      return map->kids[i];
  return NULL;
}

/* The non-empty scalar text of map[key], or NULL. */
static const char *ystr(const ynode *map, const char *key) {
  const ynode *y = yget(map, key);
  return y && y->kind == Y_SCALAR && y->s[0] ? y->s : NULL;
}

/* ---- ODCS to product ---- */

/* Seconds in one unit as ODCS writes them (d, day, days, y, yr, years) and
 * the usual shorter ones; 0 when unknown. */
static double unit_seconds(const char *u) {
  static const struct {
    const char *name;
    double s;
  } units[] = {
      {"ms", 0.001},    {"s", 1},           {"sec", 1},          {"second", 1},     {"seconds", 1},
      {"m", 60},        {"min", 60},        {"minute", 60},      {"minutes", 60},   {"h", 3600},
      {"hr", 3600},     {"hour", 3600},     {"hours", 3600},     {"d", 86400},      {"day", 86400},
      {"days", 86400},  {"w", 604800},      {"week", 604800},    {"weeks", 604800}, {"y", 31536000},
      {"yr", 31536000}, {"year", 31536000}, {"years", 31536000},
  };
  for(size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if(!strcmp(u, units[i].name))
      return units[i].s;
  return 0;
}

static int number(const char *s, double *out) {
  char *end;
  if(!s || !*s)
    return 0;
  errno = 0;
  double x = strtod(s, &end);
  if(errno || end == s || !isfinite(x))
    return 0;
  while(*end == ' ')
    end++;
  if(*end == '%' && end[1] == '\0') {
    *out = x / 100;
    return 2;
  }
  if(*end)
    return 0;
  *out = x;
  return 1;
}

static int dup_into(char **dst, const char *s) {
  return s && !(*dst = strdup(s)) ? -1 : 0;
}

static skpi_err add_topic(skpi_product *p, const char *t) {
  for(size_t i = 0; i < p->ntopics; i++)
    if(!strcmp(p->topics[i], t))
      return SKPI_OK;
  char **v = realloc(p->topics, (p->ntopics + 1) * sizeof(*v));
  if(!v)
    return SKPI_ENOMEM;
  p->topics = v;
  if(!(v[p->ntopics] = strdup(t)))
    return SKPI_ENOMEM;
  p->ntopics++;
  return SKPI_OK;
}

static void product_init(skpi_product *p) {
  memset(p, 0, sizeof(*p));
  p->freshness_s = p->time_lag_s = p->availability = p->dlq_ratio = p->retention_s = NAN;
}

/* Reads slaProperties into p.  One error line on a value it cannot use. */
static skpi_err read_sla(const char *file, const ynode *sla, skpi_product *p, char *err,
                         size_t errlen) {
  double frequency = NAN;
  if(!sla)
    return SKPI_OK;
  if(sla->kind != Y_SEQ) {
    fail(err, errlen, file, sla->line, "slaProperties: a list is expected");
    return SKPI_EINVAL;
  }
  for(size_t i = 0; i < sla->n; i++) {
    const ynode *e = sla->kids[i];
    const char *prop = ystr(e, "property"), *val = ystr(e, "value"), *unit = ystr(e, "unit");
    int is_dur = prop && (!strcmp(prop, "latency") || !strcmp(prop, "freshness") ||
                          !strcmp(prop, "retention") || !strcmp(prop, "frequency"));
    int is_avail = prop && !strcmp(prop, "availability");
    double x;
    if(!prop) {
      fail(err, errlen, file, e->line, "slaProperties[%zu]: missing property", i);
      return SKPI_EINVAL;
    }
    if(!is_dur && !is_avail)
      continue; /* dates of availability, time of availability...: not measured here */
    int kind = number(val, &x);
    if(is_avail) {
      /* ODCS writes availability as a percentage: 99.9 or "99.9%". */
      double r = kind == 2 ? x : x / 100;
      if(!kind || !(r > 0 && r < 1)) {
        fail(err, errlen, file, e->line,
             "slaProperties[%zu]: availability %s is not a percentage between 0 and 100", i,
             val ? val : "(none)");
        return SKPI_EINVAL;
      }
      p->availability = r;
      continue;
    }
    double us = unit_seconds(unit ? unit : "d");
    if(kind != 1 || !(x > 0) || us == 0) {
      fail(err, errlen, file, e->line,
           "slaProperties[%zu]: %s needs a positive value and a unit "
           "(s, m, h, d, w, y), got %s %s",
           i, prop, val ? val : "(none)", unit ? unit : "");
      return SKPI_EINVAL;
    }
    if(!strcmp(prop, "retention"))
      p->retention_s = x * us;
    else if(!strcmp(prop, "frequency"))
      frequency = x * us;
    else
      p->freshness_s = x * us;
  }
  /* A product refreshed every N is fresh when its newest record is at most N old. */
  if(isnan(p->freshness_s))
    p->freshness_s = frequency;
  return SKPI_OK;
}

static skpi_err read_custom(const char *file, const ynode *cp, skpi_product *p, char *err,
                            size_t errlen) {
  if(!cp || cp->kind != Y_SEQ)
    return SKPI_OK;
  for(size_t i = 0; i < cp->n; i++) {
    const ynode *e = cp->kids[i];
    const char *prop = ystr(e, "property"), *val = ystr(e, "value");
    double x;
    if(!prop)
      continue;
    if(!strcmp(prop, "timeLag")) {
      if(!val || skpi_parse_duration(val, &x) != 0 || !(x > 0)) {
        fail(err, errlen, file, e->line, "customProperties[%zu]: timeLag needs a duration like 30s",
             i);
        return SKPI_EINVAL;
      }
      p->time_lag_s = x;
    } else if(!strcmp(prop, "valueTarget")) {
      if(!val) {
        fail(err, errlen, file, e->line, "customProperties[%zu]: valueTarget needs a target name",
             i);
        return SKPI_EINVAL;
      }
      free(p->value_target);
      if(!(p->value_target = strdup(val)))
        return SKPI_ENOMEM;
    } else if(!strcmp(prop, "dlqRatio")) {
      if(number(val, &x) != 1 || x < 0 || x > 1) {
        fail(err, errlen, file, e->line, "customProperties[%zu]: dlqRatio needs a ratio 0..1", i);
        return SKPI_EINVAL;
      }
      p->dlq_ratio = x;
    }
  }
  return SKPI_OK;
}

static skpi_err read_topics(const char *file, const ynode *root, skpi_product *p, char *err,
                            size_t errlen) {
  const ynode *schema = yget(root, "schema"), *servers = yget(root, "servers");
  int kafka = 0;
  skpi_err rc;
  for(size_t i = 0; servers && servers->kind == Y_SEQ && i < servers->n; i++) {
    const char *t = ystr(servers->kids[i], "type");
    kafka |= t && !strcmp(t, "kafka");
  }
  for(size_t i = 0; schema && schema->kind == Y_SEQ && i < schema->n; i++) {
    const char *pt = ystr(schema->kids[i], "physicalType");
    const char *pn = ystr(schema->kids[i], "physicalName");
    if(pn && ((pt && !strcmp(pt, "topic")) || kafka) && (rc = add_topic(p, pn)) != SKPI_OK)
      return rc;
  }
  if(p->ntopics == 0) {
    fail(err, errlen, file, schema ? schema->line : root->line,
         "no Kafka topic: no schema object has a physicalName with physicalType topic");
    return SKPI_EINVAL;
  }
  return SKPI_OK;
}

static skpi_err contract_to_product(const char *file, const ynode *root, skpi_product *p, char *err,
                                    size_t errlen) {
  const char *ver = ystr(root, "apiVersion"), *kind = ystr(root, "kind"), *id = ystr(root, "id");
  const char *name = ystr(root, "dataProduct"), *domain = ystr(root, "domain");
  const ynode *team = yget(root, "team"), *desc = yget(root, "description");
  const char *owner = ystr(team, "name");
  char origin[512];
  skpi_err rc;
  if(!name)
    name = ystr(root, "name");
  if(!ver) {
    fail(err, errlen, file, root->line, "missing required key apiVersion");
    return SKPI_EINVAL;
  }
  if(strncmp(ver, "v3.", 3) != 0) {
    fail(err, errlen, file, yget(root, "apiVersion")->line,
         "apiVersion %s is not supported: Open Data Contract Standard v3.x is read", ver);
    return SKPI_EINVAL;
  }
  if(kind && strcmp(kind, "DataContract") != 0) {
    fail(err, errlen, file, yget(root, "kind")->line, "kind %s: DataContract expected", kind);
    return SKPI_EINVAL;
  }
  const char *missing = !id       ? "id"
                        : !name   ? "dataProduct or name"
                        : !domain ? "domain"
                        : !owner  ? "team.name"
                                  : NULL;
  if(missing) {
    fail(err, errlen, file, !owner && team ? team->line : root->line, "missing required key %s",
         missing);
    return SKPI_EINVAL;
  }
  snprintf(origin, sizeof(origin), "%s:%d", file, root->line);
  if(dup_into(&p->name, name) || dup_into(&p->owner, owner) || dup_into(&p->domain, domain) ||
     dup_into(&p->contract_id, id) || dup_into(&p->origin, origin))
    return SKPI_ENOMEM;
  if(desc && dup_into(&p->description, desc->kind == Y_SCALAR ? desc->s : ystr(desc, "purpose")))
    return SKPI_ENOMEM;
  if((rc = read_topics(file, root, p, err, errlen)) != SKPI_OK ||
     (rc = read_sla(file, yget(root, "slaProperties"), p, err, errlen)) != SKPI_OK ||
     (rc = read_custom(file, yget(root, "customProperties"), p, err, errlen)) != SKPI_OK)
    return rc;
  return SKPI_OK;
}

skpi_err skpi_contract_parse(const char *file, const char *text, size_t len, skpi_product *out,
                             char *err, size_t errlen) {
  ynode *root = NULL;
  skpi_err rc;
  product_init(out);
  if(len > SKPI_CONTRACT_MAX_BYTES) {
    fail(err, errlen, file, 1, "larger than %d bytes, not read", SKPI_CONTRACT_MAX_BYTES);
    return SKPI_EINVAL;
  }
  if((rc = yparse(file, text, len, &root, err, errlen)) != SKPI_OK)
    goto out;
  if(!root || root->kind != Y_MAP) {
    fail(err, errlen, file, root ? root->line : 1, "a contract is a YAML mapping");
    rc = SKPI_EINVAL;
    goto out;
  }
  rc = contract_to_product(file, root, out, err, errlen);
out:
  if(rc == SKPI_ENOMEM)
    fail(err, errlen, file, 1, "%s", skpi_strerror(rc));
  if(rc != SKPI_OK)
    skpi_product_clear(out);
  ynode_free(root);
  return rc;
}

void skpi_product_clear(skpi_product *p) {
  if(!p)
    return;
  free(p->name);
  free(p->owner);
  free(p->domain);
  free(p->description);
  free(p->origin);
  free(p->contract_id);
  for(size_t i = 0; i < p->ntopics; i++)
    free(p->topics[i]);
  free(p->topics);
  for(size_t i = 0; i < p->nconsumers; i++) {
    free(p->consumers[i].group);
    free(p->consumers[i].domain);
  }
  free(p->consumers);
  free(p->value_currency);
  free(p->value_period);
  free(p->value_target);
  product_init(p);
}

/* ---- the catalog ---- */

void skpi_catalog_free(skpi_catalog *c) {
  if(!c)
    return;
  for(size_t i = 0; i < c->n; i++)
    skpi_product_clear(&c->v[i]);
  free(c->v);
  for(size_t i = 0; i < c->nerrors; i++)
    free(c->errors[i]);
  free(c->errors);
  free(c);
}

static skpi_err add_error(skpi_catalog *c, const char *line) {
  char **v = realloc(c->errors, (c->nerrors + 1) * sizeof(*v));
  if(!v)
    return SKPI_ENOMEM;
  c->errors = v;
  if(!(v[c->nerrors] = strdup(line)))
    return SKPI_ENOMEM;
  c->nerrors++;
  return SKPI_OK;
}

/* Takes p into the catalog, or reports it as declared twice (and frees it). */
static skpi_err add_product(skpi_catalog *c, skpi_product *p) {
  for(size_t i = 0; i < c->n; i++)
    if(!strcmp(c->v[i].name, p->name)) {
      char msg[1200];
      snprintf(msg, sizeof(msg),
               "%s: product \"%s\" is declared twice, first at %s; this one is "
               "ignored",
               p->origin, p->name, c->v[i].origin);
      skpi_product_clear(p);
      return add_error(c, msg);
    }
  skpi_product *v = realloc(c->v, (c->n + 1) * sizeof(*v));
  if(!v)
    return SKPI_ENOMEM;
  c->v = v;
  v[c->n++] = *p;
  product_init(p);
  return SKPI_OK;
}

static skpi_err from_config(const skpi_config *cfg, const skpi_config_product *cp,
                            skpi_product *p) {
  char origin[512];
  skpi_err rc;
  product_init(p);
  snprintf(origin, sizeof(origin), "%s:%d", cfg->path ? cfg->path : "config", cp->line);
  if(dup_into(&p->name, cp->name) || dup_into(&p->owner, cp->owner) ||
     dup_into(&p->domain, cp->domain) || dup_into(&p->origin, origin) ||
     dup_into(&p->description, cp->description) ||
     dup_into(&p->value_currency, cp->value_currency) ||
     dup_into(&p->value_period, cp->value_period) || dup_into(&p->value_target, cp->value_target))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < cp->topics.n; i++)
    if((rc = add_topic(p, cp->topics.v[i])) != SKPI_OK)
      return rc;
  if(cp->nconsumers && !(p->consumers = calloc(cp->nconsumers, sizeof(*p->consumers))))
    return SKPI_ENOMEM;
  p->nconsumers = cp->nconsumers; /* zeroed: clearing a half-copied list is safe */
  for(size_t i = 0; i < cp->nconsumers; i++)
    if(dup_into(&p->consumers[i].group, cp->consumers[i].group) ||
       dup_into(&p->consumers[i].domain, cp->consumers[i].domain))
      return SKPI_ENOMEM;
  p->freshness_s = cp->freshness_s;
  p->time_lag_s = cp->time_lag_s;
  p->availability = cp->availability;
  p->dlq_ratio = cp->dlq_ratio;
  p->retention_s = cp->retention_s;
  p->value_amount = cp->value_amount;
  p->value_date = cp->value_date;
  return SKPI_OK;
}

static int yaml_name(const char *n) {
  size_t l = strlen(n);
  return n[0] != '.' &&
         ((l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml")));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One contract file into the catalog; its problems become catalog errors. */
static skpi_err load_file(skpi_catalog *c, const char *path) {
  char err[5120];
  struct stat sb;
  skpi_buf b;
  skpi_product p;
  skpi_err rc;
  product_init(&p);
  if(stat(path, &sb) != 0) {
    snprintf(err, sizeof(err), "%s:1: cannot read: %s", path, strerror(errno));
    return add_error(c, err);
  }
  if(!S_ISREG(sb.st_mode))
    return SKPI_OK;
  if(sb.st_size > SKPI_CONTRACT_MAX_BYTES) {
    snprintf(err, sizeof(err), "%s:1: larger than %d bytes, not read", path,
             SKPI_CONTRACT_MAX_BYTES);
    return add_error(c, err);
  }
  skpi_buf_init(&b, SKPI_CONTRACT_MAX_BYTES);
  rc = skpi_buf_read_file(&b, path);
  if(rc == SKPI_OK)
    rc = skpi_contract_parse(path, b.data ? b.data : "", b.len, &p, err, sizeof(err));
  else if(rc != SKPI_ENOMEM)
    snprintf(err, sizeof(err), "%s:1: cannot read: %s", path, skpi_strerror(rc));
  skpi_buf_free(&b);
  if(rc == SKPI_ENOMEM)
    return rc;
  if(rc != SKPI_OK)
    return add_error(c, err);
  return add_product(c, &p);
}

static skpi_err load_dir(skpi_catalog *c, const char *dir) {
  char err[5120];
  char **names = NULL;
  size_t n = 0;
  skpi_err rc = SKPI_OK;
  DIR *d = opendir(dir);
  if(!d) {
    snprintf(err, sizeof(err), "%s:0: cannot open the contracts directory: %s", dir,
             strerror(errno));
    return add_error(c, err);
  }
  struct dirent *de;
  /* Bounded by the directory and by the cap. */
  while((de = readdir(d)) != NULL) {
    if(!yaml_name(de->d_name))
      continue;
    if(n == SKPI_CONTRACT_MAX_FILES) {
      snprintf(err, sizeof(err), "%s:0: more than %d contract files; the rest are not read", dir,
               SKPI_CONTRACT_MAX_FILES);
      rc = add_error(c, err);
      break;
    }
    char **v = realloc(names, (n + 1) * sizeof(*v));
    if(!v || !(v[n] = strdup(de->d_name))) {
      names = v ? v : names;
      rc = SKPI_ENOMEM;
      break;
    }
    names = v;
    n++;
  }
  closedir(d);
  if(names)
    qsort(names, n, sizeof(*names), cmp_str);
  for(size_t i = 0; rc == SKPI_OK && i < n; i++) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    rc = load_file(c, path);
  }
  for(size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return rc;
}

skpi_err skpi_catalog_load(const skpi_config *cfg, skpi_catalog **out) {
  skpi_catalog *c = calloc(1, sizeof(*c));
  skpi_err rc = SKPI_OK;
  *out = NULL;
  if(!c)
    return SKPI_ENOMEM;
  for(size_t i = 0; rc == SKPI_OK && i < cfg->catalog.nproducts; i++) {
    skpi_product p;
    if((rc = from_config(cfg, &cfg->catalog.products[i], &p)) == SKPI_OK)
      rc = add_product(c, &p);
    skpi_product_clear(&p);
  }
  if(rc == SKPI_OK && cfg->catalog.contracts_dir)
    rc = load_dir(c, cfg->catalog.contracts_dir);
  if(rc != SKPI_OK) {
    skpi_catalog_free(c);
    return rc;
  }
  *out = c;
  return SKPI_OK;
}
