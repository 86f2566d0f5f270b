/* regex.c: bounds on untrusted POSIX extended regexes before regcomp.
 *
 * One pass over the pattern with a stack of open groups.  Each group
 * remembers whether a quantifier occurred inside it; when the group closes
 * and is followed by a quantifier that repeats it more than once, the
 * pattern is refused.  Bracket expressions and escapes are skipped so that
 * `[+*]` or `\+` do not count as quantifiers.
 */
#include "streamkpi/regex.h"

#include <stdio.h>
#include <string.h>

static skpi_err refuse(char *errbuf, size_t errlen, const char *msg) {
  if(errbuf && errlen)
    snprintf(errbuf, errlen, "%s", msg);
  return SKPI_EINVAL;
}

/* Skips a bracket expression starting at s[i] == '['; returns the index
 * after its closing ']', or len when it is unterminated (regcomp reports
 * that). */
static size_t skip_bracket(const char *s, size_t i, size_t len) {
  i++;
  if(i < len && s[i] == '^')
    i++;
  if(i < len && s[i] == ']')
    i++; /* a leading ']' is a literal */
  while(i < len && s[i] != ']') {
    if(s[i] == '[' && i + 1 < len && (s[i + 1] == ':' || s[i + 1] == '.' || s[i + 1] == '=')) {
      char end = s[i + 1];
      const char *close = NULL;
      for(size_t j = i + 2; j + 1 < len; j++)
        if(s[j] == end && s[j + 1] == ']') {
          close = s + j;
          break;
        }
      if(!close)
        return len;
      i = (size_t)(close - s) + 2;
      continue;
    }
    i++;
  }
  return i < len ? i + 1 : len;
}

/* Reads a decimal count at s[*i] (at most 9 digits); -1 when absent. */
static long count(const char *s, size_t *i, size_t len) {
  long v = -1;
  int nd = 0;
  while(*i < len && s[*i] >= '0' && s[*i] <= '9') {
    if(++nd > 9)
      return -2;
    v = (v < 0 ? 0 : v * 10) + (s[*i] - '0');
    (*i)++;
  }
  return v;
}

/* Parses a quantifier at s[*i] ('*', '+', '?' or a brace bound).  Sets
 * *more_than_once when it may repeat its operand more than once.  Returns
 * 1 for a quantifier, 0 for none, -1 (with errbuf) for a refused bound. */
static int quantifier(const char *s, size_t *i, size_t len, int *more_than_once, char *errbuf,
                      size_t errlen) {
  char c = s[*i];
  if(c == '*' || c == '+') {
    (*i)++;
    *more_than_once = 1;
    return 1;
  }
  if(c == '?') {
    (*i)++;
    *more_than_once = 0;
    return 1;
  }
  if(c != '{')
    return 0;
  size_t j = *i + 1;
  long lo = count(s, &j, len), hi;
  int comma = 0;
  if(lo == -2)
    goto too_big;
  if(j < len && s[j] == ',') {
    comma = 1;
    j++;
    if((hi = count(s, &j, len)) == -2)
      goto too_big;
  } else {
    hi = lo;
  }
  if((lo == -1 && !comma) || j >= len || s[j] != '}')
    return 0; /* not a bound; regcomp judges it */
  if(lo > SKPI_REGEX_MAX_REPEAT || hi > SKPI_REGEX_MAX_REPEAT)
    goto too_big;
  *i = j + 1;
  /* {n,} is unbounded; glibc reads {,m} as {0,m}. */
  *more_than_once = (comma && hi == -1) || hi > 1;
  return 1;
too_big:
  if(errbuf && errlen)
    snprintf(errbuf, errlen, "repetition count above %d", SKPI_REGEX_MAX_REPEAT);
  return -1;
}

skpi_err skpi_regex_check(const char *pattern, char *errbuf, size_t errlen) {
  /* inner[d]: a quantifier occurred inside open group d. */
  int inner[SKPI_REGEX_MAX_GROUPS + 1];
  int depth = 0, groups = 0, stacked = 0;
  /* The atom just finished: 1 when it was a group holding a quantifier. */
  int last_group_quantified = 0;
  size_t len, i = 0;
  if(!pattern)
    return refuse(errbuf, errlen, "no pattern");
  len = strnlen(pattern, SKPI_REGEX_MAX_LEN + 1);
  if(len > SKPI_REGEX_MAX_LEN) {
    if(errbuf && errlen)
      snprintf(errbuf, errlen, "longer than %d bytes", SKPI_REGEX_MAX_LEN);
    return SKPI_EINVAL;
  }
  inner[0] = 0;
  while(i < len) {
    int many = 0;
    int q = quantifier(pattern, &i, len, &many, errbuf, errlen);
    if(q < 0)
      return SKPI_EINVAL;
    if(q > 0) {
      if(++stacked > SKPI_REGEX_MAX_STACKED) {
        if(errbuf && errlen)
          snprintf(errbuf, errlen, "more than %d quantifiers in a row", SKPI_REGEX_MAX_STACKED);
        return SKPI_EINVAL;
      }
      if(stacked > 1 && many)
        last_group_quantified = 1; /* `a+*` repeats a repetition */
      if(many && last_group_quantified)
        return refuse(errbuf, errlen,
                      "nested repetition (a repeated group or quantifier that "
                      "contains a quantifier)");
      inner[depth] = 1;
      continue;
    }
    stacked = 0;
    last_group_quantified = 0;
    char c = pattern[i];
    if(c == '\\') {
      i += i + 1 < len ? 2 : 1;
    } else if(c == '[') {
      i = skip_bracket(pattern, i, len);
    } else if(c == '(') {
      if(++groups > SKPI_REGEX_MAX_GROUPS) {
        if(errbuf && errlen)
          snprintf(errbuf, errlen, "more than %d groups", SKPI_REGEX_MAX_GROUPS);
        return SKPI_EINVAL;
      }
      inner[++depth] = 0;
      i++;
    } else if(c == ')' && depth > 0) {
      int had = inner[depth--];
      if(had)
        inner[depth] = 1;
      last_group_quantified = had;
      i++;
    } else {
      i++;
    }
  }
  return SKPI_OK;
}

skpi_err skpi_regex_compile(regex_t *re, const char *pattern, int cflags, char *errbuf,
                            size_t errlen) {
  skpi_err rc = skpi_regex_check(pattern, errbuf, errlen);
  if(rc != SKPI_OK)
    return rc;
  int r = regcomp(re, pattern, cflags | REG_EXTENDED);
  if(r == REG_ESPACE)
    return SKPI_ENOMEM;
  if(r != 0) {
    if(errbuf && errlen)
      regerror(r, re, errbuf, errlen);
    /* POSIX leaves *re undefined after a failure: nothing to free. */
    return SKPI_EINVAL;
  }
  return SKPI_OK;
}
