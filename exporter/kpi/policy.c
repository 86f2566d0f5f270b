/* policy.c: the policy audit of topic and broker configurations, the
 * self-service adoption it implies, and the retention risk of groups. */
#include "streamkpi/policy.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/log.h"

#define DEFAULT_NAMING_REGEX "^[a-z0-9]([._-][a-z0-9]|[a-z0-9])*$"
#define DEFAULT_TEAM_REGEX "^([A-Za-z0-9]+)[._-]"
#define DEFAULT_PLATFORM_TEAM "platform"
#define DEFAULT_WINDOW_S (30 * 86400.0)
#define DEFAULT_MAX_VIOLATION_SERIES 1000
#define DEFAULT_MAX_TOPICS 100000
#define MAX_TEAM 256
#define OBS_LEN 512
#define MAX_REGEX 4096

static const char *const default_cleanup[] = {"delete", "compact", "compact,delete"};
static const char *const result_names[3] = {"pass", "fail", "unknown"};

typedef struct prule {
  int enabled;
  double threshold;
  regex_t *exempt;
  size_t nexempt;
} prule;

typedef struct powner {
  char *topic, *team;
} powner;

/* Self-service bookkeeping of one topic. */
typedef struct sstopic {
  char *name;
  double first_seen;
  int baseline; /* present at the first audit */
  int first;    /* first decided verdict: -1 none yet, 0 failed, 1 passed */
  char *team;   /* owner at that audit, NULL unknown */
  int seen;     /* in the current audit (scratch) */
} sstopic;

struct skpi_policy {
  char *cluster;
  prule rules[SKPI_PR_COUNT];
  regex_t naming;
  int has_naming;
  regex_t team;
  int has_team;
  char *naming_text;
  powner *catalog; /* sorted by topic */
  size_t ncatalog;
  char **cleanup; /* normalised allowed policies */
  size_t ncleanup;
  char *platform_team;
  double window_s;
  size_t max_series;
  size_t max_topics;
  const skpi_timelag *tl;
  int have_registry;
  char **subjects; /* sorted */
  size_t nsubjects;

  skpi_topic_configs *last; /* the audited value */
  unsigned char *res;       /* last->ntopics * SKPI_PR_COUNT results */
  unsigned char *verdict;   /* per topic: result, SKPI_POL_SKIP for internal */
  unsigned char *bres;      /* last->nbrokers * SKPI_PR_COUNT */
  size_t counts[SKPI_PR_COUNT][3];
  size_t verdicts[3];
  size_t durable, durable_known;
  size_t violations;
  uint64_t audits;
  uint64_t dropped_total;
  double last_time;

  skpi_ksample *sample;

  sstopic *ss; /* sorted by name */
  size_t nss;
  int baseline_done;
};

/* ---- configuration ------------------------------------------------------ */

void skpi_policy_cfg_default(skpi_policy_cfg *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  for(size_t r = 0; r < SKPI_PR_COUNT; r++) {
    cfg->rules[r].enabled = 1;
    cfg->rules[r].threshold = skpi_policy_rules()[r].threshold;
  }
  cfg->naming_regex = DEFAULT_NAMING_REGEX;
  cfg->team_regex = DEFAULT_TEAM_REGEX;
  cfg->allowed_cleanup = default_cleanup;
  cfg->nallowed_cleanup = sizeof(default_cleanup) / sizeof(default_cleanup[0]);
  cfg->platform_team = DEFAULT_PLATFORM_TEAM;
  cfg->window_s = DEFAULT_WINDOW_S;
  cfg->max_violation_series = DEFAULT_MAX_VIOLATION_SERIES;
  cfg->max_topics = DEFAULT_MAX_TOPICS;
}

static int owner_cmp(const void *a, const void *b) {
  return strcmp(((const powner *)a)->topic, ((const powner *)b)->topic);
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_strv(char **v, size_t n) {
  for(size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Normalises a cleanup.policy value: tokens trimmed, sorted, joined by ",".
 * Returns 0, or -1 when a token is not "delete" or "compact" or the value
 * does not fit. */
static int norm_cleanup(const char *in, char *out, size_t len) {
  int del = 0, comp = 0, any = 0;
  const char *p = in;
  while(*p) {
    while(*p == ' ' || *p == '\t')
      p++;
    const char *e = p;
    while(*e && *e != ',')
      e++;
    const char *end = e;
    while(end > p && (end[-1] == ' ' || end[-1] == '\t'))
      end--;
    size_t n = (size_t)(end - p);
    if(n == 6 && !strncmp(p, "delete", 6))
      del = any = 1;
    else if(n == 7 && !strncmp(p, "compact", 7))
      comp = any = 1;
    else
      return -1;
    p = *e ? e + 1 : e;
  }
  if(!any)
    return -1;
  int w = snprintf(out, len, "%s%s%s", comp ? "compact" : "", comp && del ? "," : "",
                   del ? "delete" : "");
  return w < 0 || (size_t)w >= len ? -1 : 0;
}

static int compile(regex_t *re, const char *pattern, int flags, const char *what, char *errbuf,
                   size_t errlen) {
  if(strlen(pattern) > MAX_REGEX || regcomp(re, pattern, REG_EXTENDED | flags) != 0) {
    snprintf(errbuf, errlen, "%s: invalid regex \"%.200s\"", what, pattern);
    return -1;
  }
  return 0;
}

void skpi_policy_free(skpi_policy *p) {
  if(!p)
    return;
  for(size_t r = 0; r < SKPI_PR_COUNT; r++) {
    for(size_t i = 0; i < p->rules[r].nexempt; i++)
      regfree(&p->rules[r].exempt[i]);
    free(p->rules[r].exempt);
  }
  if(p->has_naming)
    regfree(&p->naming);
  if(p->has_team)
    regfree(&p->team);
  free(p->naming_text);
  for(size_t i = 0; i < p->ncatalog; i++) {
    free(p->catalog[i].topic);
    free(p->catalog[i].team);
  }
  free(p->catalog);
  free_strv(p->cleanup, p->ncleanup);
  free(p->platform_team);
  free_strv(p->subjects, p->nsubjects);
  skpi_topic_configs_unref(p->last);
  free(p->res);
  free(p->verdict);
  free(p->bres);
  skpi_ksample_unref(p->sample);
  for(size_t i = 0; i < p->nss; i++) {
    free(p->ss[i].name);
    free(p->ss[i].team);
  }
  free(p->ss);
  free(p->cluster);
  free(p);
}

skpi_err skpi_policy_new(const char *cluster, const skpi_policy_cfg *in, const skpi_timelag *tl,
                         skpi_policy **out, char *errbuf, size_t errlen) {
  char dummy[8];
  skpi_err rc = SKPI_OK;
  skpi_policy_cfg dflt;
  if(!errbuf) {
    errbuf = dummy;
    errlen = sizeof(dummy);
  }
  errbuf[0] = '\0';
  *out = NULL;
  if(!in) {
    skpi_policy_cfg_default(&dflt);
    in = &dflt;
  }
  skpi_policy *p = calloc(1, sizeof(*p));
  if(!p)
    return SKPI_ENOMEM;
  p->tl = tl;
  p->window_s = in->window_s;
  p->max_series = in->max_violation_series;
  p->max_topics = in->max_topics ? in->max_topics : DEFAULT_MAX_TOPICS;
  if(!(p->cluster = strdup(cluster ? cluster : "")) ||
     !(p->platform_team = strdup(in->platform_team ? in->platform_team : "")) ||
     !(p->naming_text = strdup(in->naming_regex ? in->naming_regex : ""))) {
    rc = SKPI_ENOMEM;
    goto out;
  }
  if(!(in->window_s > 0)) {
    snprintf(errbuf, errlen, "policy.window: must be positive");
    rc = SKPI_EINVAL;
    goto out;
  }
  for(size_t r = 0; r < SKPI_PR_COUNT; r++) {
    const skpi_policy_rule_cfg *rc_in = &in->rules[r];
    prule *pr = &p->rules[r];
    pr->enabled = rc_in->enabled;
    pr->threshold = rc_in->threshold;
    if(!isnan(skpi_policy_rules()[r].threshold) && !(rc_in->threshold >= 0 && isfinite(rc_in->threshold))) {
      snprintf(errbuf, errlen, "policy.rules.%s.threshold: must be a number >= 0",
               skpi_policy_rules()[r].id);
      rc = SKPI_EINVAL;
      goto out;
    }
    if(rc_in->nexempt) {
      if(!(pr->exempt = calloc(rc_in->nexempt, sizeof(*pr->exempt)))) {
        rc = SKPI_ENOMEM;
        goto out;
      }
      for(size_t i = 0; i < rc_in->nexempt; i++) {
        char what[128];
        snprintf(what, sizeof(what), "policy.rules.%s.exempt", skpi_policy_rules()[r].id);
        if(!rc_in->exempt[i] ||
           compile(&pr->exempt[i], rc_in->exempt[i], REG_NOSUB, what, errbuf, errlen)) {
          if(!rc_in->exempt[i])
            snprintf(errbuf, errlen, "%s: empty regex", what);
          rc = SKPI_EINVAL;
          goto out;
        }
        pr->nexempt++;
      }
    }
  }
  if(in->naming_regex && in->naming_regex[0]) {
    if(compile(&p->naming, in->naming_regex, REG_NOSUB, "policy.naming_regex", errbuf, errlen)) {
      rc = SKPI_EINVAL;
      goto out;
    }
    p->has_naming = 1;
  }
  if(in->team_regex && in->team_regex[0]) {
    if(compile(&p->team, in->team_regex, 0, "catalog.team_regex", errbuf, errlen)) {
      rc = SKPI_EINVAL;
      goto out;
    }
    p->has_team = 1;
    if(p->team.re_nsub < 1) {
      snprintf(errbuf, errlen, "catalog.team_regex: needs one capture group");
      rc = SKPI_EINVAL;
      goto out;
    }
  }
  if(in->ncatalog) {
    if(!(p->catalog = calloc(in->ncatalog, sizeof(*p->catalog)))) {
      rc = SKPI_ENOMEM;
      goto out;
    }
    for(size_t i = 0; i < in->ncatalog; i++) {
      if(!in->catalog[i].topic || !in->catalog[i].team || !in->catalog[i].topic[0]) {
        snprintf(errbuf, errlen, "catalog.products: empty topic or owner");
        rc = SKPI_EINVAL;
        goto out;
      }
      powner *o = &p->catalog[p->ncatalog++];
      if(!(o->topic = strdup(in->catalog[i].topic)) || !(o->team = strdup(in->catalog[i].team))) {
        rc = SKPI_ENOMEM;
        goto out;
      }
    }
    qsort(p->catalog, p->ncatalog, sizeof(*p->catalog), owner_cmp);
  }
  if(in->nallowed_cleanup) {
    if(!(p->cleanup = calloc(in->nallowed_cleanup, sizeof(*p->cleanup)))) {
      rc = SKPI_ENOMEM;
      goto out;
    }
    for(size_t i = 0; i < in->nallowed_cleanup; i++) {
      char norm[32];
      if(!in->allowed_cleanup[i] || norm_cleanup(in->allowed_cleanup[i], norm, sizeof(norm))) {
        snprintf(errbuf, errlen,
                 "policy.allowed_cleanup_policies: \"%.64s\" is not delete, compact or both",
                 in->allowed_cleanup[i] ? in->allowed_cleanup[i] : "");
        rc = SKPI_EINVAL;
        goto out;
      }
      if(!(p->cleanup[p->ncleanup] = strdup(norm))) {
        rc = SKPI_ENOMEM;
        goto out;
      }
      p->ncleanup++;
    }
  }
out:
  if(rc != SKPI_OK) {
    skpi_policy_free(p);
    return rc;
  }
  *out = p;
  return SKPI_OK;
}

/* The policy settings of cluster (its own keys over the top-level ones), or
 * the top-level ones for a cluster the config does not name. */
static const skpi_config_policy *policy_of(const skpi_config *c, const char *cluster) {
  for(size_t i = 0; cluster && i < c->nclusters; i++)
    if(strcmp(c->clusters[i].name, cluster) == 0)
      return &c->clusters[i].policy;
  return &c->policy;
}

skpi_err skpi_policy_from_config(const skpi_config *c, const char *cluster, const skpi_timelag *tl,
                                 skpi_policy **out, char *errbuf, size_t errlen) {
  skpi_err rc = SKPI_OK;
  skpi_policy_cfg cfg;
  skpi_policy_owner *owners = NULL;
  *out = NULL;
  skpi_policy_cfg_default(&cfg);
  if(c) {
    const skpi_config_policy *pol = policy_of(c, cluster);
    const skpi_config_catalog *cat = &c->catalog;
    if(!pol->enabled)
      return SKPI_OK;
    cfg.naming_regex = pol->naming_regex;
    cfg.platform_team = pol->platform_team;
    cfg.window_s = pol->window_s;
    cfg.max_violation_series = pol->max_violation_series;
    cfg.team_regex = cat->team_regex;
    cfg.allowed_cleanup = (const char *const *)pol->allowed_cleanup_policies.v;
    cfg.nallowed_cleanup = pol->allowed_cleanup_policies.n;
    /* The config checked every id against the rule table at load. */
    for(size_t i = 0; i < pol->nrules; i++) {
      const skpi_config_policy_rule *pr = &pol->rules[i];
      for(size_t r = 0; r < SKPI_PR_COUNT; r++) {
        if(strcmp(pr->id, skpi_policy_rules()[r].id) != 0)
          continue;
        cfg.rules[r].enabled = pr->enabled;
        if(!isnan(pr->threshold))
          cfg.rules[r].threshold = pr->threshold;
        cfg.rules[r].exempt = (const char *const *)pr->exempt.v;
        cfg.rules[r].nexempt = pr->exempt.n;
      }
    }
    /* Owners from the catalog's data products, as the streams KPI reads them. */
    size_t nown = 0;
    for(size_t k = 0; k < cat->nproducts; k++)
      nown += cat->products[k].topics.n;
    if(nown && !(owners = calloc(nown, sizeof(*owners))))
      return SKPI_ENOMEM;
    nown = 0;
    for(size_t k = 0; k < cat->nproducts; k++)
      for(size_t j = 0; j < cat->products[k].topics.n; j++) {
        owners[nown].topic = cat->products[k].topics.v[j];
        owners[nown].team = cat->products[k].owner;
        nown++;
      }
    cfg.catalog = owners;
    cfg.ncatalog = nown;
  }
  rc = skpi_policy_new(cluster, &cfg, tl, out, errbuf, errlen);
  free(owners);
  return rc;
}

skpi_err skpi_policy_set_subjects(skpi_policy *p, int have_registry, const char *const *subjects,
                                  size_t n) {
  char **v = NULL;
  if(have_registry && n) {
    if(!(v = calloc(n, sizeof(*v))))
      return SKPI_ENOMEM;
    for(size_t i = 0; i < n; i++)
      if(!(v[i] = strdup(subjects[i] ? subjects[i] : ""))) {
        free_strv(v, i);
        return SKPI_ENOMEM;
      }
    qsort(v, n, sizeof(*v), str_cmp);
  }
  free_strv(p->subjects, p->nsubjects);
  p->subjects = v;
  p->nsubjects = have_registry ? n : 0;
  p->have_registry = have_registry;
  return SKPI_OK;
}

/* ---- judging ------------------------------------------------------------ */

/* Parses a whole decimal integer; 0 on success. */
static int parse_ll(const char *s, long long *out) {
  if(!s || !*s)
    return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if(errno || *end || end == s)
    return -1;
  *out = v;
  return 0;
}

static int exempt(const prule *r, const char *topic) {
  for(size_t i = 0; i < r->nexempt; i++)
    if(regexec(&r->exempt[i], topic, 0, NULL, 0) == 0)
      return 1;
  return 0;
}

/* The topic's team from the catalog, else the team regex; 1 when found. */
static int team_of(const skpi_policy *p, const char *topic, char *team, size_t len) {
  powner key = {.topic = (char *)topic};
  const powner *o =
      p->ncatalog ? bsearch(&key, p->catalog, p->ncatalog, sizeof(*p->catalog), owner_cmp) : NULL;
  if(o) {
    snprintf(team, len, "%s", o->team);
    return 1;
  }
  regmatch_t m[2];
  if(!p->has_team || regexec(&p->team, topic, 2, m, 0) != 0 || m[1].rm_so < 0 ||
     m[1].rm_eo <= m[1].rm_so)
    return 0;
  size_t n = (size_t)(m[1].rm_eo - m[1].rm_so);
  if(n >= len)
    return 0;
  memcpy(team, topic + m[1].rm_so, n);
  team[n] = '\0';
  return 1;
}

static int has_subject(const skpi_policy *p, const char *topic) {
  char subj[512];
  int w = snprintf(subj, sizeof(subj), "%s-value", topic);
  if(w < 0 || (size_t)w >= sizeof(subj))
    return 0;
  const char *key = subj;
  return p->nsubjects && bsearch(&key, p->subjects, p->nsubjects, sizeof(char *), str_cmp);
}

/* Sets observed (if given) to the printf result. */
__attribute__((format(printf, 3, 4))) static void obs(char *o, size_t len, const char *fmt, ...) {
  if(!o || !len)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o, len, fmt, ap);
  va_end(ap);
}

/* The value of key k, or NULL with *why set. */
static const char *need(const skpi_tc_topic *t, enum skpi_tc_key k, const char **why) {
  if(!t->ok) {
    *why = "topic configuration could not be read";
    return NULL;
  }
  if(!t->v[k].value) {
    *why = "value not reported by the broker";
    return NULL;
  }
  return t->v[k].value;
}

enum skpi_policy_result skpi_policy_judge_topic(const skpi_policy *p, enum skpi_policy_rule r,
                                                const skpi_tc_topic *t, size_t brokers,
                                                char *observed, size_t olen, const char **why) {
  const char *dummy;
  if(!why)
    why = &dummy;
  *why = NULL;
  obs(observed, olen, "%s", "");
  if((unsigned)r >= SKPI_PR_COUNT || skpi_policy_rules()[r].scope != SKPI_PS_TOPIC || !p->rules[r].enabled ||
     t->internal || exempt(&p->rules[r], t->name))
    return SKPI_POL_SKIP;
  double thr = p->rules[r].threshold;
  const char *v;
  long long n;
  switch(r) {
  case SKPI_PR_REPLICATION: {
    if(t->rf <= 0) {
      *why = "replication factor unknown";
      return SKPI_POL_UNKNOWN;
    }
    /* Replicas beyond the brokers that exist protect nothing. */
    long long eff = t->rf;
    if(brokers > 0 && (size_t)eff > brokers)
      eff = (long long)brokers;
    obs(observed, olen, "%lld", eff);
    return (double)eff >= thr ? SKPI_POL_PASS : SKPI_POL_FAIL;
  }
  case SKPI_PR_MIN_ISR:
    if(!(v = need(t, SKPI_TC_MIN_ISR, why)))
      return SKPI_POL_UNKNOWN;
    obs(observed, olen, "%s", v);
    if(parse_ll(v, &n)) {
      *why = "min.insync.replicas is not a number";
      return SKPI_POL_UNKNOWN;
    }
    if(t->rf <= 0) {
      *why = "replication factor unknown";
      return SKPI_POL_UNKNOWN;
    }
    return (double)n >= thr && n <= t->rf - 1 ? SKPI_POL_PASS : SKPI_POL_FAIL;
  case SKPI_PR_UNCLEAN:
    if(!(v = need(t, SKPI_TC_UNCLEAN, why)))
      return SKPI_POL_UNKNOWN;
    obs(observed, olen, "%s", v);
    if(!strcmp(v, "false"))
      return SKPI_POL_PASS;
    if(!strcmp(v, "true"))
      return SKPI_POL_FAIL;
    *why = "unclean.leader.election.enable is neither true nor false";
    return SKPI_POL_UNKNOWN;
  case SKPI_PR_RETENTION: {
    const char *cp = t->ok ? t->v[SKPI_TC_CLEANUP_POLICY].value : NULL;
    char norm[32];
    /* Compacted topics keep the latest value per key for good: retention
     * does not apply to them. */
    if(cp && !norm_cleanup(cp, norm, sizeof(norm)) && !strstr(norm, "delete")) {
      obs(observed, olen, "cleanup.policy=%s", norm);
      return SKPI_POL_PASS;
    }
    if(!(v = need(t, SKPI_TC_RETENTION_MS, why)))
      return SKPI_POL_UNKNOWN;
    if(parse_ll(v, &n)) {
      obs(observed, olen, "%s", v);
      *why = "retention.ms is not a number";
      return SKPI_POL_UNKNOWN;
    }
    enum skpi_cfg_source src = t->v[SKPI_TC_RETENTION_MS].source;
    if(src == SKPI_CFGSRC_DEFAULT) {
      obs(observed, olen, "%lld (default)", n);
      return SKPI_POL_FAIL;
    }
    if(src == SKPI_CFGSRC_UNKNOWN) {
      obs(observed, olen, "%lld", n);
      *why = "the broker did not say where retention.ms comes from";
      return SKPI_POL_UNKNOWN;
    }
    obs(observed, olen, "%lld", n);
    /* -1 keeps data for ever: above any maximum. */
    return n >= 0 && (double)n <= thr ? SKPI_POL_PASS : SKPI_POL_FAIL;
  }
  case SKPI_PR_CLEANUP: {
    char norm[32];
    if(!(v = need(t, SKPI_TC_CLEANUP_POLICY, why)))
      return SKPI_POL_UNKNOWN;
    obs(observed, olen, "%s", v);
    if(norm_cleanup(v, norm, sizeof(norm))) {
      *why = "cleanup.policy is not delete, compact or both";
      return SKPI_POL_UNKNOWN;
    }
    for(size_t i = 0; i < p->ncleanup; i++)
      if(!strcmp(p->cleanup[i], norm))
        return SKPI_POL_PASS;
    return SKPI_POL_FAIL;
  }
  case SKPI_PR_PARTITIONS:
    if(t->partitions <= 0) {
      *why = "partition count unknown";
      return SKPI_POL_UNKNOWN;
    }
    obs(observed, olen, "%d", t->partitions);
    return (double)t->partitions <= thr ? SKPI_POL_PASS : SKPI_POL_FAIL;
  case SKPI_PR_MAX_MESSAGE:
    if(!(v = need(t, SKPI_TC_MAX_MESSAGE_BYTES, why)))
      return SKPI_POL_UNKNOWN;
    obs(observed, olen, "%s", v);
    if(parse_ll(v, &n)) {
      *why = "max.message.bytes is not a number";
      return SKPI_POL_UNKNOWN;
    }
    return (double)n <= thr ? SKPI_POL_PASS : SKPI_POL_FAIL;
  case SKPI_PR_NAMING:
    obs(observed, olen, "%s", t->name);
    if(!p->has_naming) {
      *why = "no naming regex configured";
      return SKPI_POL_UNKNOWN;
    }
    return regexec(&p->naming, t->name, 0, NULL, 0) == 0 ? SKPI_POL_PASS : SKPI_POL_FAIL;
  case SKPI_PR_OWNER: {
    char team[MAX_TEAM];
    if(team_of(p, t->name, team, sizeof(team))) {
      obs(observed, olen, "%s", team);
      return SKPI_POL_PASS;
    }
    obs(observed, olen, "%s", "none");
    return SKPI_POL_FAIL;
  }
  case SKPI_PR_SCHEMA:
    if(!p->have_registry) {
      *why = "no Schema Registry target configured";
      return SKPI_POL_UNKNOWN;
    }
    obs(observed, olen, "%s", has_subject(p, t->name) ? "registered" : "none");
    return has_subject(p, t->name) ? SKPI_POL_PASS : SKPI_POL_FAIL;
  default: return SKPI_POL_SKIP;
  }
}

enum skpi_policy_result skpi_policy_judge_broker(const skpi_policy *p, enum skpi_policy_rule r,
                                                 const skpi_tc_broker *b, char *observed,
                                                 size_t olen, const char **why) {
  const char *dummy;
  if(!why)
    why = &dummy;
  *why = NULL;
  obs(observed, olen, "%s", "");
  if((unsigned)r >= SKPI_PR_COUNT || skpi_policy_rules()[r].scope != SKPI_PS_BROKER || !p->rules[r].enabled)
    return SKPI_POL_SKIP;
  enum skpi_bc_key k = r == SKPI_PR_BROKER_AUTO_CREATE ? SKPI_BC_AUTO_CREATE : SKPI_BC_MIN_ISR;
  if(!b->ok) {
    *why = "broker configuration could not be read";
    return SKPI_POL_UNKNOWN;
  }
  const char *v = b->v[k].value;
  if(!v) {
    *why = "value not reported by the broker";
    return SKPI_POL_UNKNOWN;
  }
  obs(observed, olen, "%s", v);
  if(r == SKPI_PR_BROKER_AUTO_CREATE) {
    if(!strcmp(v, "false"))
      return SKPI_POL_PASS;
    if(!strcmp(v, "true"))
      return SKPI_POL_FAIL;
    *why = "auto.create.topics.enable is neither true nor false";
    return SKPI_POL_UNKNOWN;
  }
  long long n;
  if(parse_ll(v, &n)) {
    *why = "min.insync.replicas is not a number";
    return SKPI_POL_UNKNOWN;
  }
  return (double)n >= p->rules[r].threshold ? SKPI_POL_PASS : SKPI_POL_FAIL;
}

/* The threshold as the API shows it. */
static void threshold_text(const skpi_policy *p, enum skpi_policy_rule r, const skpi_tc_topic *t,
                           char *out, size_t len) {
  double thr = p->rules[r].threshold;
  switch(r) {
  case SKPI_PR_REPLICATION:
  case SKPI_PR_BROKER_MIN_ISR: snprintf(out, len, ">= %.0f", thr); break;
  case SKPI_PR_MIN_ISR:
    snprintf(out, len, ">= %.0f and <= %d", thr, t && t->rf > 0 ? t->rf - 1 : 0);
    break;
  case SKPI_PR_UNCLEAN:
  case SKPI_PR_BROKER_AUTO_CREATE: snprintf(out, len, "false"); break;
  case SKPI_PR_RETENTION: snprintf(out, len, "set on the topic, <= %.0f", thr); break;
  case SKPI_PR_CLEANUP: {
    size_t w = 0;
    out[0] = '\0';
    for(size_t i = 0; i < p->ncleanup && w < len; i++) {
      int n = snprintf(out + w, len - w, "%s%s", i ? " | " : "", p->cleanup[i]);
      if(n < 0)
        break;
      w += (size_t)n;
    }
    break;
  }
  case SKPI_PR_PARTITIONS:
  case SKPI_PR_MAX_MESSAGE: snprintf(out, len, "<= %.0f", thr); break;
  case SKPI_PR_NAMING: snprintf(out, len, "%s", p->naming_text); break;
  case SKPI_PR_OWNER: snprintf(out, len, "catalog or team regex"); break;
  case SKPI_PR_SCHEMA: snprintf(out, len, "subject %s-value", t ? t->name : "<topic>"); break;
  default: out[0] = '\0';
  }
}

/* ---- the audit ---------------------------------------------------------- */

static sstopic *ss_find(skpi_policy *p, const char *name) {
  size_t lo = 0, hi = p->nss;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(p->ss[mid].name, name);
    if(c == 0)
      return &p->ss[mid];
    if(c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static int ss_cmp(const void *a, const void *b) {
  return strcmp(((const sstopic *)a)->name, ((const sstopic *)b)->name);
}

/* Brings the self-service records up to this audit. */
static skpi_err self_service(skpi_policy *p, const skpi_topic_configs *c, double now) {
  int first_audit = !p->baseline_done;
  size_t add = 0;
  for(size_t i = 0; i < p->nss; i++)
    p->ss[i].seen = 0;
  for(size_t i = 0; i < c->ntopics; i++) {
    const skpi_tc_topic *t = &c->topics[i];
    if(t->internal)
      continue;
    sstopic *s = ss_find(p, t->name);
    if(s)
      s->seen = 1;
    else
      add++;
  }
  if(add) {
    size_t room = p->nss < p->max_topics ? p->max_topics - p->nss : 0;
    if(add > room)
      add = room;
    sstopic *grown = realloc(p->ss, (p->nss + add) * sizeof(*p->ss));
    if(!grown && p->nss + add)
      return SKPI_ENOMEM;
    p->ss = grown;
    size_t n = p->nss;
    for(size_t i = 0; i < c->ntopics && n < p->nss + add; i++) {
      const skpi_tc_topic *t = &c->topics[i];
      if(t->internal || ss_find(p, t->name))
        continue;
      sstopic *s = &p->ss[n];
      memset(s, 0, sizeof(*s));
      if(!(s->name = strdup(t->name)))
        return SKPI_ENOMEM;
      s->first_seen = now;
      s->baseline = first_audit;
      s->first = -1;
      s->seen = 1;
      n++;
    }
    p->nss = n;
    qsort(p->ss, p->nss, sizeof(*p->ss), ss_cmp);
  }
  p->baseline_done = 1;
  /* First decided verdicts of onboarded topics. */
  for(size_t i = 0; i < c->ntopics; i++) {
    const skpi_tc_topic *t = &c->topics[i];
    unsigned char v = p->verdict[i];
    if(t->internal || v == SKPI_POL_UNKNOWN || v == SKPI_POL_SKIP)
      continue;
    sstopic *s = ss_find(p, t->name);
    if(!s || s->baseline || s->first >= 0)
      continue;
    s->first = v == SKPI_POL_PASS;
    char team[MAX_TEAM];
    if(team_of(p, t->name, team, sizeof(team)) && !(s->team = strdup(team)))
      return SKPI_ENOMEM;
  }
  /* Topics gone from the cluster are forgotten once they no longer count. */
  size_t w = 0;
  for(size_t i = 0; i < p->nss; i++) {
    sstopic *s = &p->ss[i];
    if(!s->seen && (s->baseline || s->first_seen < now - p->window_s)) {
      free(s->name);
      free(s->team);
      continue;
    }
    p->ss[w++] = *s;
  }
  p->nss = w;
  return SKPI_OK;
}

/* The broker count replication is capped at: the brokers metadata listed
 * or named in replica lists, so a broker that is down for a moment does
 * not make every topic fail. */
static size_t cluster_size(const skpi_topic_configs *c) {
  return c->cluster_brokers > c->nbrokers ? c->cluster_brokers : c->nbrokers;
}

skpi_err skpi_policy_audit(skpi_policy *p, skpi_topic_configs *c, double now) {
  if(!p || !c)
    return SKPI_EINVAL;
  size_t nt = c->ntopics, nb = c->nbrokers;
  size_t size = cluster_size(c);
  unsigned char *res = malloc(nt * SKPI_PR_COUNT + 1);
  unsigned char *verdict = malloc(nt + 1);
  unsigned char *bres = malloc(nb * SKPI_PR_COUNT + 1);
  if(!res || !verdict || !bres) {
    free(res);
    free(verdict);
    free(bres);
    return SKPI_ENOMEM;
  }
  memset(p->counts, 0, sizeof(p->counts));
  memset(p->verdicts, 0, sizeof(p->verdicts));
  p->durable = p->durable_known = p->violations = 0;
  for(size_t i = 0; i < nt; i++) {
    const skpi_tc_topic *t = &c->topics[i];
    int fail = 0, unknown = 0;
    for(size_t r = 0; r < SKPI_PR_COUNT; r++) {
      enum skpi_policy_result x =
          skpi_policy_judge_topic(p, (enum skpi_policy_rule)r, t, size, NULL, 0, NULL);
      res[i * SKPI_PR_COUNT + r] = (unsigned char)x;
      if(x == SKPI_POL_SKIP)
        continue;
      p->counts[r][x]++;
      if(x == SKPI_POL_FAIL) {
        fail = 1;
        p->violations++;
      }
      /* A rule whose input is missing for the whole cluster decides no
       * topic. */
      if(x == SKPI_POL_UNKNOWN && !(r == SKPI_PR_SCHEMA && !p->have_registry))
        unknown = 1;
    }
    if(t->internal) {
      verdict[i] = SKPI_POL_SKIP;
      continue;
    }
    verdict[i] = fail ? SKPI_POL_FAIL : unknown ? SKPI_POL_UNKNOWN : SKPI_POL_PASS;
    p->verdicts[verdict[i]]++;
    long long isr;
    if(t->ok && t->rf > 0 && !parse_ll(t->v[SKPI_TC_MIN_ISR].value, &isr)) {
      p->durable_known++;
      p->durable += t->rf >= 3 && isr >= 2;
    }
  }
  for(size_t b = 0; b < nb; b++)
    for(size_t r = 0; r < SKPI_PR_COUNT; r++)
      bres[b * SKPI_PR_COUNT + r] = (unsigned char)skpi_policy_judge_broker(
          p, (enum skpi_policy_rule)r, &c->brokers[b], NULL, 0, NULL);
  free(p->res);
  free(p->verdict);
  free(p->bres);
  p->res = res;
  p->verdict = verdict;
  p->bres = bres;
  skpi_topic_configs_ref(c);
  skpi_topic_configs_unref(p->last);
  p->last = c;
  p->last_time = now;
  p->audits++;
  if(p->violations > p->max_series)
    p->dropped_total += p->violations - p->max_series;
  return self_service(p, c, now);
}

void skpi_policy_sample(skpi_policy *p, skpi_ksample *s) {
  if(!p || !s)
    return;
  skpi_ksample_ref(s);
  skpi_ksample_unref(p->sample);
  p->sample = s;
}

int skpi_policy_counts(const skpi_policy *p, enum skpi_policy_rule r, size_t out[3]) {
  if(!p->last || (unsigned)r >= SKPI_PR_COUNT)
    return 0;
  if(skpi_policy_rules()[r].scope == SKPI_PS_TOPIC) {
    memcpy(out, p->counts[r], 3 * sizeof(size_t));
    return 1;
  }
  out[0] = out[1] = out[2] = 0;
  for(size_t b = 0; b < p->last->nbrokers; b++) {
    unsigned char x = p->bres[b * SKPI_PR_COUNT + r];
    if(x < 3)
      out[x]++;
  }
  return 1;
}

int skpi_policy_verdicts(const skpi_policy *p, size_t out[3]) {
  if(!p->last)
    return 0;
  memcpy(out, p->verdicts, 3 * sizeof(size_t));
  return 1;
}

/* Share of onboarded topics in the window that were adopted self-service;
 * 1 with *ratio set, 0 when there were none. */
static int adoption(const skpi_policy *p, double now, double *ratio) {
  size_t num = 0, den = 0;
  for(size_t i = 0; i < p->nss; i++) {
    const sstopic *s = &p->ss[i];
    if(s->baseline || s->first < 0 || s->first_seen < now - p->window_s)
      continue;
    den++;
    num += s->first == 1 && s->team && strcmp(s->team, p->platform_team) != 0;
  }
  if(!den)
    return 0;
  *ratio = (double)num / (double)den;
  return 1;
}

static int pass_ratio(const skpi_policy *p, double *ratio) {
  size_t den = p->verdicts[SKPI_POL_PASS] + p->verdicts[SKPI_POL_FAIL];
  if(!p->last || !den)
    return 0;
  *ratio = (double)p->verdicts[SKPI_POL_PASS] / (double)den;
  return 1;
}

/* ---- retention risk ----------------------------------------------------- */

/* retention.ms of topic in seconds when known, positive and in force
 * (cleanup includes delete); else 0. */
static int retention_s(const skpi_policy *p, const char *topic, double *out) {
  const skpi_tc_topic *t = p->last ? skpi_topic_configs_topic(p->last, topic) : NULL;
  long long ms;
  char norm[32];
  if(!t || !t->ok || parse_ll(t->v[SKPI_TC_RETENTION_MS].value, &ms) || ms <= 0)
    return 0;
  const char *cp = t->v[SKPI_TC_CLEANUP_POLICY].value;
  if(!cp || norm_cleanup(cp, norm, sizeof(norm)) || !strstr(norm, "delete"))
    return 0;
  *out = (double)ms / 1000.0;
  return 1;
}

static skpi_err render_retention(const skpi_policy *p, double now, skpi_mset *m) {
  const skpi_ksample *s = p->sample;
  if(!s)
    return SKPI_OK;
  int fs = skpi_mset_family(m, "kafka_consumergroup_skipped_messages", SKPI_MT_GAUGE,
                            "Messages a consumer group will never read: its committed offset "
                            "is below the oldest offset still kept.");
  int fm = skpi_mset_family(m, "kafka_consumergroup_retention_margin_seconds", SKPI_MT_GAUGE,
                            "Seconds before the oldest message a consumer group has not read "
                            "is due for deletion (retention.ms minus its time lag).");
  if(fs < 0 || fm < 0)
    return SKPI_ENOMEM;
  for(size_t g = 0; g < s->ngroups; g++) {
    const skpi_kgroup *gr = &s->groups[g];
    size_t i = 0;
    while(i < gr->ncommits) {
      int32_t ti = gr->commits[i].topic;
      size_t j = i;
      while(j < gr->ncommits && gr->commits[j].topic == ti)
        j++;
      if(ti < 0 || (size_t)ti >= s->ntopics || s->topics[ti].internal) {
        i = j;
        continue;
      }
      const skpi_ktopic *t = &s->topics[ti];
      double skipped = 0, margin = INFINITY, ret = 0;
      int known = 0, have_ret = retention_s(p, t->name, &ret), have_margin = 0;
      for(size_t k = i; k < j; k++) {
        const skpi_kcommit *c = &gr->commits[k];
        const skpi_kpartition *part = skpi_ksample_partition(s, t->name, c->partition);
        if(part && part->low >= 0) {
          known = 1;
          if(c->offset < part->low)
            skipped += (double)(part->low - c->offset);
        }
        double lag;
        if(have_ret && p->tl &&
           skpi_timelag_estimate(p->tl, t->name, c->partition, c->offset, now, &lag)) {
          have_margin = 1;
          if(ret - lag < margin)
            margin = ret - lag;
        }
      }
      skpi_err rc;
      if(known && (rc = skpi_mset_add(m, fs, skipped, "cluster", p->cluster, "consumergroup",
                                      gr->id, "topic", t->name)) != SKPI_OK)
        return rc;
      if(have_margin && (rc = skpi_mset_add(m, fm, margin, "cluster", p->cluster, "consumergroup",
                                            gr->id, "topic", t->name)) != SKPI_OK)
        return rc;
      i = j;
    }
  }
  return SKPI_OK;
}

/* ---- output ------------------------------------------------------------- */

skpi_err skpi_policy_render(const skpi_policy *p, double now, skpi_mset *m) {
  skpi_err rc;
  const char *cl = p->cluster;
  int faud = skpi_mset_family(m, "streamkpi_policy_audits_total", SKPI_MT_COUNTER,
                              "Policy audits run over the topic and broker configurations.");
  int fdrop =
      skpi_mset_family(m, "streamkpi_policy_violation_series_dropped_total", SKPI_MT_COUNTER,
                       "Violation series left out because of the series cap, summed "
                       "over audits.");
  if(faud < 0 || fdrop < 0)
    return SKPI_ENOMEM;
  if((rc = skpi_mset_add(m, faud, (double)p->audits, "cluster", cl)) != SKPI_OK ||
     (rc = skpi_mset_add(m, fdrop, (double)p->dropped_total, "cluster", cl)) != SKPI_OK)
    return rc;
  double ratio;
  int fss = skpi_mset_family(m, "streamkpi_self_service_adoption_ratio", SKPI_MT_GAUGE,
                             "Share of the topics onboarded in the window that a team other "
                             "than the platform team created and that passed every policy at "
                             "their first audit.");
  if(fss < 0)
    return SKPI_ENOMEM;
  if(adoption(p, now, &ratio)) {
    char win[32];
    snprintf(win, sizeof(win), "%.0fd", p->window_s / 86400);
    if(fmod(p->window_s, 86400) != 0)
      snprintf(win, sizeof(win), "%.0fs", p->window_s);
    if((rc = skpi_mset_add(m, fss, ratio, "cluster", cl, "window", win)) != SKPI_OK)
      return rc;
  }
  if((rc = render_retention(p, now, m)) != SKPI_OK)
    return rc;
  if(!p->last)
    return SKPI_OK;
  int ft = skpi_mset_family(m, "streamkpi_policy_topics", SKPI_MT_GAUGE,
                            "Topics by policy rule and result of the last audit.");
  int fb = skpi_mset_family(m, "streamkpi_policy_brokers", SKPI_MT_GAUGE,
                            "Brokers by policy rule and result of the last audit.");
  int fr = skpi_mset_family(m, "streamkpi_policy_pass_ratio", SKPI_MT_GAUGE,
                            "Share of the decided topics that passed every enabled rule at "
                            "the last audit (compliance audit success rate).");
  int fv = skpi_mset_family(m, "streamkpi_topic_policy_violation", SKPI_MT_GAUGE,
                            "1 for each topic and rule that failed the last audit.");
  int fts = skpi_mset_family(m, "streamkpi_policy_last_audit_timestamp_seconds", SKPI_MT_GAUGE,
                             "Unix time of the last policy audit.");
  int fage = skpi_mset_family(m, "streamkpi_policy_audit_age_seconds", SKPI_MT_GAUGE,
                              "Seconds since the last policy audit.");
  if(ft < 0 || fb < 0 || fr < 0 || fv < 0 || fts < 0 || fage < 0)
    return SKPI_ENOMEM;
  for(size_t r = 0; r < SKPI_PR_COUNT; r++) {
    size_t n[3];
    if(!p->rules[r].enabled || !skpi_policy_counts(p, (enum skpi_policy_rule)r, n))
      continue;
    int fam = skpi_policy_rules()[r].scope == SKPI_PS_TOPIC ? ft : fb;
    for(size_t x = 0; x < 3; x++)
      if((rc = skpi_mset_add(m, fam, (double)n[x], "cluster", cl, "rule", skpi_policy_rules()[r].id,
                             "result", result_names[x])) != SKPI_OK)
        return rc;
  }
  if(pass_ratio(p, &ratio) && (rc = skpi_mset_add(m, fr, ratio, "cluster", cl)) != SKPI_OK)
    return rc;
  size_t emitted = 0;
  for(size_t i = 0; i < p->last->ntopics && emitted < p->max_series; i++)
    for(size_t r = 0; r < SKPI_PR_COUNT && emitted < p->max_series; r++) {
      if(p->res[i * SKPI_PR_COUNT + r] != SKPI_POL_FAIL)
        continue;
      /* A topic deleted since the audit loses its series with the next
       * Kafka sample that has metadata, not only at the next audit. */
      if(p->sample && p->sample->ntopics &&
         !skpi_ksample_topic(p->sample, p->last->topics[i].name))
        continue;
      if((rc = skpi_mset_add(m, fv, 1, "cluster", cl, "topic", p->last->topics[i].name, "rule",
                             skpi_policy_rules()[r].id)) != SKPI_OK)
        return rc;
      emitted++;
    }
  if((rc = skpi_mset_add(m, fts, p->last_time, "cluster", cl)) != SKPI_OK ||
     (rc = skpi_mset_add(m, fage, now > p->last_time ? now - p->last_time : 0, "cluster", cl)) !=
         SKPI_OK)
    return rc;
  return SKPI_OK;
}

void skpi_policy_facts(const skpi_policy *p, double now, skpi_facts *out) {
  double v;
  const char *cl = p->cluster;
  if(pass_ratio(p, &v))
    skpi_facts_observed(out, SKPI_FACT_POLICY_PASS, cl, v, "ratio", p->last_time);
  else
    skpi_facts_unknown(out, SKPI_FACT_POLICY_PASS, cl, "ratio",
                       p->last ? "no topic could be judged by every rule at the last audit"
                               : "no policy audit has completed yet");
  if(p->last && p->durable_known)
    skpi_facts_observed(out, SKPI_FACT_DURABLE_TOPICS, cl,
                        (double)p->durable / (double)p->durable_known, "ratio", p->last_time);
  else
    skpi_facts_unknown(out, SKPI_FACT_DURABLE_TOPICS, cl, "ratio",
                       p->last ? "no topic with a known replication factor and min ISR"
                               : "no policy audit has completed yet");
  if(adoption(p, now, &v))
    skpi_facts_observed(out, SKPI_FACT_SELF_SERVICE, cl, v, "ratio", p->last_time);
  else
    skpi_facts_unknown(out, SKPI_FACT_SELF_SERVICE, cl, "ratio",
                       "no topic was onboarded and audited within the window");
}

static json_t *num_or_null(int known, double v) {
  return known ? json_real(v) : json_null();
}

json_t *skpi_policy_json(const skpi_policy *p, double now) {
  json_t *doc = json_object();
  json_t *viol = json_array(), *unk = json_array(), *bviol = json_array();
  if(!doc || !viol || !unk || !bviol)
    goto fail;
  double ratio = 0;
  int has_ratio = pass_ratio(p, &ratio);
  json_object_set_new(doc, "cluster", json_string(p->cluster));
  json_object_set_new(doc, "audited_at", num_or_null(p->last != NULL, p->last_time));
  json_object_set_new(doc, "age_seconds", num_or_null(p->last != NULL, now - p->last_time));
  json_object_set_new(doc, "topics",
                      json_integer((json_int_t)(p->verdicts[0] + p->verdicts[1] + p->verdicts[2])));
  json_object_set_new(doc, "passing", json_integer((json_int_t)p->verdicts[SKPI_POL_PASS]));
  json_object_set_new(doc, "failing", json_integer((json_int_t)p->verdicts[SKPI_POL_FAIL]));
  json_object_set_new(doc, "unknown", json_integer((json_int_t)p->verdicts[SKPI_POL_UNKNOWN]));
  json_object_set_new(doc, "pass_ratio", num_or_null(has_ratio, ratio));
  for(size_t i = 0; p->last && i < p->last->ntopics; i++) {
    const skpi_tc_topic *t = &p->last->topics[i];
    for(size_t r = 0; r < SKPI_PR_COUNT; r++) {
      unsigned char x = p->res[i * SKPI_PR_COUNT + r];
      if(x != SKPI_POL_FAIL && x != SKPI_POL_UNKNOWN)
        continue;
      char o[OBS_LEN], th[OBS_LEN];
      const char *why = NULL;
      skpi_policy_judge_topic(p, (enum skpi_policy_rule)r, t, cluster_size(p->last), o, sizeof(o),
                              &why);
      json_t *e = json_object();
      if(!e)
        goto fail;
      json_object_set_new(e, "topic", json_string(t->name));
      json_object_set_new(e, "rule", json_string(skpi_policy_rules()[r].id));
      if(x == SKPI_POL_FAIL) {
        threshold_text(p, (enum skpi_policy_rule)r, t, th, sizeof(th));
        json_object_set_new(e, "observed", json_string(o));
        json_object_set_new(e, "threshold", json_string(th));
        json_array_append_new(viol, e);
      } else {
        json_object_set_new(e, "reason", json_string(why ? why : "unknown"));
        json_array_append_new(unk, e);
      }
    }
  }
  for(size_t b = 0; p->last && b < p->last->nbrokers; b++)
    for(size_t r = 0; r < SKPI_PR_COUNT; r++) {
      unsigned char x = p->bres[b * SKPI_PR_COUNT + r];
      if(x != SKPI_POL_FAIL && x != SKPI_POL_UNKNOWN)
        continue;
      char o[OBS_LEN], th[OBS_LEN];
      const char *why = NULL;
      skpi_policy_judge_broker(p, (enum skpi_policy_rule)r, &p->last->brokers[b], o, sizeof(o),
                               &why);
      threshold_text(p, (enum skpi_policy_rule)r, NULL, th, sizeof(th));
      json_t *e = json_object();
      if(!e)
        goto fail;
      json_object_set_new(e, "broker", json_integer(p->last->brokers[b].id));
      json_object_set_new(e, "rule", json_string(skpi_policy_rules()[r].id));
      if(x == SKPI_POL_FAIL) {
        json_object_set_new(e, "observed", json_string(o));
        json_object_set_new(e, "threshold", json_string(th));
      } else {
        json_object_set_new(e, "reason", json_string(why ? why : "unknown"));
      }
      json_array_append_new(bviol, e);
    }
  json_object_set_new(doc, "violations", viol);
  json_object_set_new(doc, "unknown_results", unk);
  json_object_set_new(doc, "broker_results", bviol);
  return doc;
fail:
  json_decref(doc);
  json_decref(viol);
  json_decref(unk);
  json_decref(bviol);
  return NULL;
}

/* ---- persistence -------------------------------------------------------- */

json_t *skpi_policy_save(const skpi_policy *p) {
  json_t *doc = json_object(), *arr = json_array();
  if(!doc || !arr) {
    json_decref(doc);
    json_decref(arr);
    return NULL;
  }
  json_object_set_new(doc, "version", json_integer(1));
  json_object_set_new(doc, "baseline_done", json_boolean(p->baseline_done));
  for(size_t i = 0; i < p->nss; i++) {
    const sstopic *s = &p->ss[i];
    json_t *e = json_pack("[s,f,b,i,s?]", s->name, s->first_seen, s->baseline, s->first, s->team);
    if(!e || json_array_append_new(arr, e)) {
      json_decref(doc);
      json_decref(arr);
      return NULL;
    }
  }
  json_object_set_new(doc, "topics", arr);
  return doc;
}

static void ss_clear(skpi_policy *p) {
  for(size_t i = 0; i < p->nss; i++) {
    free(p->ss[i].name);
    free(p->ss[i].team);
  }
  free(p->ss);
  p->ss = NULL;
  p->nss = 0;
  p->baseline_done = 0;
}

skpi_err skpi_policy_load(skpi_policy *p, const json_t *doc, char *errbuf, size_t errlen) {
  skpi_err rc = SKPI_OK;
  ss_clear(p);
  const json_t *arr = json_object_get(doc, "topics");
  if(!json_is_object(doc) || json_integer_value(json_object_get(doc, "version")) != 1 ||
     !json_is_boolean(json_object_get(doc, "baseline_done")) || !json_is_array(arr)) {
    snprintf(errbuf, errlen, "policy state: not a version 1 document");
    return SKPI_EINVAL;
  }
  size_t n = json_array_size(arr);
  if(n > p->max_topics) {
    snprintf(errbuf, errlen, "policy state: %zu topics, more than the %zu allowed", n,
             p->max_topics);
    return SKPI_EINVAL;
  }
  if(n && !(p->ss = calloc(n, sizeof(*p->ss))))
    return SKPI_ENOMEM;
  for(size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(arr, i);
    const char *name = json_string_value(json_array_get(e, 0));
    const json_t *fs = json_array_get(e, 1), *bl = json_array_get(e, 2), *fi = json_array_get(e, 3),
                 *tm = json_array_get(e, 4);
    json_int_t first = json_integer_value(fi);
    if(!json_is_array(e) || !name || !*name || !json_is_number(fs) ||
       !isfinite(json_number_value(fs)) || !json_is_boolean(bl) || !json_is_integer(fi) ||
       first < -1 || first > 1 || (tm && !json_is_null(tm) && !json_is_string(tm)) ||
       (i > 0 && strcmp(p->ss[i - 1].name, name) >= 0)) {
      snprintf(errbuf, errlen, "policy state: bad topic entry %zu", i);
      rc = SKPI_EINVAL;
      goto out;
    }
    sstopic *s = &p->ss[p->nss++];
    s->first_seen = json_number_value(fs);
    s->baseline = json_is_true(bl);
    s->first = (int)first;
    if(!(s->name = strdup(name)) ||
       (json_is_string(tm) && !(s->team = strdup(json_string_value(tm))))) {
      rc = SKPI_ENOMEM;
      goto out;
    }
  }
  p->baseline_done = json_is_true(json_object_get(doc, "baseline_done"));
out:
  if(rc != SKPI_OK)
    ss_clear(p);
  return rc;
}

/* ---- the KPI family ----------------------------------------------------- */

static skpi_err kpi_create(const skpi_kpi_ctx *ctx, void **self, char *errbuf, size_t errlen) {
  *self = NULL;
  if(!ctx->cluster) {
    snprintf(errbuf, errlen, "policy: a per-cluster family created without a cluster");
    return SKPI_EINVAL;
  }
  const skpi_timelag *tl =
      ctx->lookup ? skpi_timelag_kpi_engine(ctx->lookup(ctx, "timelag", ctx->cluster->name)) : NULL;
  skpi_policy *p = NULL;
  skpi_err rc = skpi_policy_from_config(ctx->cfg, ctx->cluster->name, tl, &p, errbuf, errlen);
  *self = p;
  return rc;
}

static void kpi_observe(void *self, const skpi_event *ev) {
  skpi_policy *p = self;
  if(ev->cluster && strcmp(ev->cluster, p->cluster) != 0)
    return;
  /* Values are immutable; a reference is all that keeping one takes. */
  if(ev->kind == SKPI_EV_TOPIC_CONFIGS && ev->u.configs) {
    skpi_err rc = skpi_policy_audit(p, (skpi_topic_configs *)ev->u.configs, ev->now);
    if(rc != SKPI_OK)
      skpi_log(SKPI_ERROR, "policy audit failed", "cluster", p->cluster, "error",
               skpi_strerror(rc));
  } else if(ev->kind == SKPI_EV_SAMPLE && ev->u.sample) {
    skpi_policy_sample(p, (skpi_ksample *)ev->u.sample);
  }
}

static void kpi_facts(const void *self, double now, skpi_facts *out) {
  skpi_policy_facts(self, now, out);
}

static skpi_err kpi_render(const void *self, double now, skpi_mset *m) {
  return skpi_policy_render(self, now, m);
}

static json_t *kpi_save(void *self, double now) {
  return skpi_policy_save(self);
}

static skpi_err kpi_load(void *self, const json_t *doc, char *errbuf, size_t errlen) {
  return skpi_policy_load(self, doc, errbuf, errlen);
}

static void kpi_free(void *self) {
  skpi_policy_free(self);
}

const skpi_kpi_ops skpi_kpi_policy = {
    .name = "policy",
    .per_cluster = 1,
    .create = kpi_create,
    .observe = kpi_observe,
    .facts = kpi_facts,
    .render = kpi_render,
    .save = kpi_save,
    .load = kpi_load,
    .free = kpi_free,
};
