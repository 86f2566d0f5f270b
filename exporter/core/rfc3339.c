/* rfc3339.c: strict RFC 3339 parsing without libc's struct tm, so that no
 * normalisation ever hides a bad field (timegm turns 30 February into 2
 * March). */
#include "streamkpi/rfc3339.h"

#include <stddef.h>

#define FRAC_MAX_DIGITS 9
#define YEAR_MIN 1970

/* Reads exactly n ASCII digits at *p into *v and advances *p. */
static int digits(const char **p, int n, int *v) {
  int r = 0;
  for(int i = 0; i < n; i++) {
    char c = (*p)[i];
    if(c < '0' || c > '9')
      return -1;
    r = r * 10 + (c - '0');
  }
  *p += n;
  *v = r;
  return 0;
}

static int leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m) {
  static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* Days since 1970-01-01 of a valid proleptic Gregorian date (Howard
 * Hinnant's days_from_civil). */
static long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* Parses "YYYY-MM-DD" at *p into days since the epoch. */
static int full_date(const char **p, long *days) {
  int y, m, d;
  if(digits(p, 4, &y) || *(*p)++ != '-' || digits(p, 2, &m) || *(*p)++ != '-' || digits(p, 2, &d))
    return -1;
  if(y < YEAR_MIN || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
    return -1;
  *days = days_from_civil(y, m, d);
  return 0;
}

static int parse(const char *s, double *out, int date_only_ok) {
  const char *p = s;
  long days, off = 0;
  int h, mi, sec;
  double frac = 0, scale = 0.1;
  if(!s || full_date(&p, &days))
    return -1;
  if(*p == '\0' && date_only_ok) {
    *out = (double)days * 86400.0;
    return 0;
  }
  if(*p != 'T' && *p != 't' && *p != ' ')
    return -1;
  p++;
  if(digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
    return -1;
  if(h > 23 || mi > 59 || sec > 60)
    return -1;
  if(*p == '.') {
    int nd = 0;
    for(p++; *p >= '0' && *p <= '9'; p++, nd++) {
      if(nd >= FRAC_MAX_DIGITS)
        return -1;
      frac += (*p - '0') * scale;
      scale /= 10;
    }
    if(nd == 0)
      return -1;
  }
  if(*p == 'Z' || *p == 'z') {
    p++;
  } else if(*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1, oh, om;
    if(digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
      return -1;
    off = sign * (oh * 3600L + om * 60L);
  } else {
    return -1;
  }
  if(*p)
    return -1;
  long local = h * 3600L + mi * 60L;
  if(sec == 60) {
    /* Only the last minute of a UTC day can carry a leap second. */
    long utc_min = ((local - off) % 86400 + 86400) % 86400;
    if(utc_min != 86340)
      return -1;
    sec = 59;
  }
  double t = (double)days * 86400.0 + (double)(local + sec - off) + frac;
  if(t < 0)
    return -1;
  *out = t;
  return 0;
}

int skpi_rfc3339_parse(const char *s, double *out) {
  return parse(s, out, 0);
}

int skpi_rfc3339_parse_date(const char *s, double *out) {
  return parse(s, out, 1);
}
