/* cli.c: the `assess` subcommand (see cli.h). */
#include "streamkpi/cli.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkpi/app.h"
#include "streamkpi/assess.h"
#include "streamkpi/buf.h"
#include "streamkpi/config.h"
#include "streamkpi/log.h"

#define EXIT_BELOW 1
#define EXIT_USAGE 2
/* Caps on what a remote exporter may send and how long it may take. */
#define REMOTE_MAX_BYTES ((size_t)16 << 20)
#define REMOTE_TIMEOUT_S 30L
#define URL_MAX 2048

typedef struct opts {
  const char *from, *format, *config_file, *brokers, *log_level;
  int fail_below; /* -1: no gate */
} opts;

static void usage(FILE *f) {
  fprintf(f, "usage: streamkpi_exporter assess [flags]\n"
             "  --from=URL                 ask a running exporter (e.g. http://host:10308)\n"
             "  --config.file=FILE         or sample the configured clusters once\n"
             "  --kafka.brokers=HOST:PORT  or sample this cluster once\n"
             "  --format=FORMAT            text (default), markdown or json\n"
             "  --fail-below=LEVEL         exit 1 when the overall level is below LEVEL (0-5)\n"
             "                             or unknown\n"
             "  --log.level=LEVEL          debug, info, warn or error (default warn)\n");
}

static int parse(int argc, char **argv, opts *o) {
  enum { F_FROM = 256, F_FORMAT, F_FAIL, F_CONFIG, F_BROKERS, F_LEVEL, F_HELP };
  static const struct option lo[] = {
      {"from", required_argument, NULL, F_FROM},
      {"format", required_argument, NULL, F_FORMAT},
      {"fail-below", required_argument, NULL, F_FAIL},
      {"config.file", required_argument, NULL, F_CONFIG},
      {"kafka.brokers", required_argument, NULL, F_BROKERS},
      {"log.level", required_argument, NULL, F_LEVEL},
      {"help", no_argument, NULL, F_HELP},
      {NULL, 0, NULL, 0},
  };
  optind = 1;
  opterr = 0;
  for(;;) {
    int c = getopt_long(argc, argv, "h", lo, NULL);
    if(c == -1)
      break;
    char *end;
    switch(c) {
    case F_FROM: o->from = optarg; break;
    case F_FORMAT: o->format = optarg; break;
    case F_CONFIG: o->config_file = optarg; break;
    case F_BROKERS: o->brokers = optarg; break;
    case F_LEVEL: o->log_level = optarg; break;
    case F_FAIL:
      o->fail_below = (int)strtol(optarg, &end, 10);
      if(end == optarg || *end || o->fail_below < 0 || o->fail_below > SKPI_ASSESS_MAX_LEVEL) {
        fprintf(stderr, "streamkpi_exporter assess: --fail-below takes a level from 0 to 5\n");
        return -1;
      }
      break;
    case 'h':
    case F_HELP: usage(stdout); return 1;
    default:
      fprintf(stderr, "streamkpi_exporter assess: unknown or incomplete flag \"%s\"\n",
              argv[optind - 1]);
      usage(stderr);
      return -1;
    }
  }
  if(optind < argc) {
    fprintf(stderr, "streamkpi_exporter assess: unexpected argument \"%s\"\n", argv[optind]);
    return -1;
  }
  if(strcmp(o->format, "text") != 0 && strcmp(o->format, "markdown") != 0 &&
     strcmp(o->format, "json") != 0) {
    fprintf(stderr, "streamkpi_exporter assess: --format must be text, markdown or json\n");
    return -1;
  }
  int sources = !!o->from + !!o->config_file + !!o->brokers;
  if(sources != 1) {
    fprintf(stderr, "streamkpi_exporter assess: give exactly one of --from, --config.file and "
                    "--kafka.brokers\n");
    return -1;
  }
  return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *user) {
  return skpi_buf_add(user, p, size * n) == SKPI_OK ? size * n : 0;
}

/* GETs base/api/v1/assessment?format=fmt into out.  0, or -1 with a line on
 * stderr. */
static int fetch(const char *base, const char *fmt, skpi_buf *out) {
  char url[URL_MAX];
  size_t blen = strlen(base);
  while(blen && base[blen - 1] == '/')
    blen--;
  int w = snprintf(url, sizeof(url), "%.*s/api/v1/assessment?format=%s", (int)blen, base, fmt);
  if(w < 0 || (size_t)w >= sizeof(url)) {
    fprintf(stderr, "streamkpi_exporter assess: --from URL is too long\n");
    return -1;
  }
  CURL *h = curl_easy_init();
  if(!h)
    return -1;
  long status = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, REMOTE_TIMEOUT_S);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  if(rc != CURLE_OK || status != 200) {
    fprintf(stderr, "streamkpi_exporter assess: GET %s: %s\n", url,
            rc != CURLE_OK ? curl_easy_strerror(rc) : "the exporter did not answer 200");
    return -1;
  }
  return 0;
}

/* The overall level in an assessment JSON document, SKPI_ASSESS_UNKNOWN
 * when null, or -2 when the document is not one. */
static int level_of(const char *text) {
  json_t *doc = json_loads(text, 0, NULL);
  json_t *lv = json_object_get(doc, "level");
  int level = json_is_integer(lv) ? (int)json_integer_value(lv)
              : json_is_null(lv)   ? SKPI_ASSESS_UNKNOWN
                                   : -2;
  json_decref(doc);
  return level;
}

static int remote(const opts *o, int *level) {
  skpi_buf body;
  skpi_buf_init(&body, REMOTE_MAX_BYTES);
  int rc = fetch(o->from, o->format, &body);
  if(rc == 0)
    fputs(body.data ? body.data : "", stdout);
  if(rc == 0 && o->fail_below >= 0) {
    if(strcmp(o->format, "json") != 0) {
      skpi_buf_reset(&body);
      rc = fetch(o->from, "json", &body);
    }
    if(rc == 0 && (*level = level_of(body.data ? body.data : "")) == -2) {
      fprintf(stderr, "streamkpi_exporter assess: %s did not send an assessment\n", o->from);
      rc = -1;
    }
  }
  skpi_buf_free(&body);
  return rc;
}

static int local(const opts *o, int *level) {
  char err[1024] = "";
  skpi_config *cfg = NULL;
  skpi_err rc = o->config_file ? skpi_config_load(o->config_file, &cfg, err, sizeof(err))
                               : skpi_config_from_brokers(o->brokers, &cfg, err, sizeof(err));
  if(rc != SKPI_OK) {
    fprintf(stderr, "%s\n", err[0] ? err : skpi_strerror(rc));
    return -1;
  }
  skpi_app_opts ao = {.check_only = 1};
  skpi_app *app = skpi_app_new(cfg, &ao, err, sizeof(err));
  int ret = -1;
  if(!app) {
    fprintf(stderr, "streamkpi_exporter assess: %s\n", err);
    goto out;
  }
  if(skpi_app_sample_once(app, err, sizeof(err)) != SKPI_OK)
    fprintf(stderr, "streamkpi_exporter assess: %s (assessed without it)\n", err);
  skpi_buf b;
  skpi_buf_init(&b, REMOTE_MAX_BYTES);
  if(skpi_app_assessment(app, o->format, &b, level) == SKPI_OK) {
    fputs(b.data ? b.data : "", stdout);
    ret = 0;
  } else {
    fprintf(stderr, "streamkpi_exporter assess: cannot render the assessment\n");
  }
  skpi_buf_free(&b);
out:
  skpi_app_free(app);
  skpi_config_free(cfg);
  return ret;
}

int skpi_cli_assess(int argc, char **argv) {
  opts o = {NULL, "text", NULL, NULL, "warn", -1};
  int prc = parse(argc, argv, &o);
  if(prc)
    return prc > 0 ? 0 : EXIT_USAGE;
  if(skpi_log_setup(o.log_level, "logfmt") != 0) {
    fprintf(stderr, "streamkpi_exporter assess: --log.level must be debug|info|warn|error\n");
    return EXIT_USAGE;
  }
  int level = SKPI_ASSESS_UNKNOWN;
  if((o.from ? remote(&o, &level) : local(&o, &level)) != 0)
    return EXIT_USAGE;
  fflush(stdout);
  if(o.fail_below < 0)
    return 0;
  if(level == SKPI_ASSESS_UNKNOWN || level < o.fail_below) {
    if(level == SKPI_ASSESS_UNKNOWN)
      fprintf(stderr, "streamkpi_exporter assess: overall level unknown, below %d\n",
              o.fail_below);
    else
      fprintf(stderr, "streamkpi_exporter assess: overall level %d is below %d\n", level,
              o.fail_below);
    return EXIT_BELOW;
  }
  return 0;
}
