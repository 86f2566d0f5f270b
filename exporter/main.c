/* main.c: flags, signals, and one app (app.h) built from the config.
 *
 * Signals are blocked in every thread and taken synchronously here with
 * sigwait: TERM and INT stop the app (which persists its state) and exit 0;
 * HUP (and POST /-/reload with --web.enable-lifecycle, which raises HUP)
 * reloads the configuration.  --config.check builds the whole app without
 * starting it, so it runs every check a start runs short of binding the
 * port and reaching Kafka.
 */
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "streamkpi/app.h"
#include "streamkpi/cli.h"
#include "streamkpi/clock.h"
#include "streamkpi/config.h"
#include "streamkpi/log.h"
#include "streamkpi/web.h"

#define EXIT_USAGE 2

typedef struct flags {
  const char *config_file;
  const char *brokers;
  const char *listen_address;
  const char *telemetry_path;
  const char *web_config_file;
  const char *log_level;
  const char *log_format;
  int check_only;
  int enable_lifecycle;
  const char *shard;
} flags;

static void usage(FILE *f) {
  fprintf(f, "usage: streamkpi_exporter [flags]\n"
             "       streamkpi_exporter assess --help   the maturity assessment, once\n"
             "  --config.file=FILE           YAML configuration (clusters, KPIs)\n"
             "  --kafka.brokers=HOST:PORT,…  quick start: one cluster named \"default\"\n"
             "  --web.listen-address=ADDR    [host]:port to listen on (default :10308)\n"
             "  --web.telemetry-path=PATH    metrics path (default /metrics)\n"
             "  --web.config.file=FILE       TLS and basic auth (exporter-toolkit format)\n"
             "  --web.enable-lifecycle       reload the configuration on POST /-/reload\n"
             "  --log.level=LEVEL            debug, info, warn or error (default info)\n"
             "  --log.format=FORMAT          logfmt or json (default logfmt)\n"
             "  --config.check               validate the configuration and exit\n"
             "  --shard=I/N                  sample share I of N of each cluster (docs/scale.md)\n"
             "  --version                    print version and revision\n"
             "  --help                       this text\n");
}

/* Returns 0 to run, 1 to exit 0 (version/help), -1 on a usage error. */
static int parse_flags(int argc, char **argv, flags *fl) {
  enum {
    F_CONFIG = 256,
    F_BROKERS,
    F_LISTEN,
    F_PATH,
    F_LEVEL,
    F_FORMAT,
    F_CHECK,
    F_VERSION,
    F_HELP,
    F_WEBCFG,
    F_LIFECYCLE,
    F_SHARD
  };
  static const struct option opts[] = {
      {"config.file", required_argument, NULL, F_CONFIG},
      {"kafka.brokers", required_argument, NULL, F_BROKERS},
      {"kafka.server", required_argument, NULL, F_BROKERS},
      {"web.listen-address", required_argument, NULL, F_LISTEN},
      {"web.telemetry-path", required_argument, NULL, F_PATH},
      {"web.config.file", required_argument, NULL, F_WEBCFG},
      {"web.enable-lifecycle", no_argument, NULL, F_LIFECYCLE},
      {"log.level", required_argument, NULL, F_LEVEL},
      {"log.format", required_argument, NULL, F_FORMAT},
      {"config.check", no_argument, NULL, F_CHECK},
      {"shard", required_argument, NULL, F_SHARD},
      {"version", no_argument, NULL, F_VERSION},
      {"help", no_argument, NULL, F_HELP},
      {NULL, 0, NULL, 0},
  };
  opterr = 0;
  for(;;) {
    int c = getopt_long(argc, argv, "h", opts, NULL);
    if(c == -1)
      break;
    switch(c) {
    case F_CONFIG: fl->config_file = optarg; break;
    case F_BROKERS: fl->brokers = optarg; break;
    case F_LISTEN: fl->listen_address = optarg; break;
    case F_PATH: fl->telemetry_path = optarg; break;
    case F_WEBCFG: fl->web_config_file = optarg; break;
    case F_LEVEL: fl->log_level = optarg; break;
    case F_FORMAT: fl->log_format = optarg; break;
    case F_CHECK: fl->check_only = 1; break;
    case F_LIFECYCLE: fl->enable_lifecycle = 1; break;
    case F_SHARD: fl->shard = optarg; break;
    case F_VERSION:
      printf("streamkpi_exporter version %s (revision %s; libmicrohttpd %s, librdkafka %s)\n",
             SKPI_VERSION, SKPI_REVISION, skpi_web_library_version(), rd_kafka_version_str());
      return 1;
    case 'h':
    case F_HELP: usage(stdout); return 1;
    default:
      fprintf(stderr, "streamkpi_exporter: unknown or incomplete flag \"%s\"\n", argv[optind - 1]);
      usage(stderr);
      return -1;
    }
  }
  if(optind < argc) {
    fprintf(stderr, "streamkpi_exporter: unexpected argument \"%s\"\n", argv[optind]);
    return -1;
  }
  return 0;
}

/* --shard wins over global.shard. */
static skpi_err load_config(const flags *fl, skpi_config **cfg, char *err, size_t errlen) {
  char why[160];
  skpi_err rc = fl->config_file ? skpi_config_load(fl->config_file, cfg, err, errlen)
                                : skpi_config_from_brokers(fl->brokers, cfg, err, errlen);
  if(rc != SKPI_OK || !fl->shard)
    return rc;
  if((rc = skpi_config_set_shard(*cfg, fl->shard, why, sizeof(why))) != SKPI_OK) {
    snprintf(err, errlen, "--shard: %s", why);
    skpi_config_free(*cfg);
    *cfg = NULL;
  }
  return rc;
}

/* Builds an app from a fresh read of the configuration and swaps it for
 * *app; on any failure before the swap the old app keeps running and
 * records the failure.  The old app persists its state when it stops and
 * the new one reads it back, so nothing is lost between them.  On the same
 * address the new server takes over the old one's listening socket, so no
 * connection is refused; on another it binds after the old one closed. */
static void reload(const flags *fl, const skpi_app_opts *ao, skpi_app **app, skpi_config **cfg) {
  char err[1024] = "";
  skpi_config *ncfg = NULL;
  skpi_app *next = NULL;
  skpi_err rc = load_config(fl, &ncfg, err, sizeof(err));
  if(rc == SKPI_OK && !(next = skpi_app_new(ncfg, ao, err, sizeof(err))))
    rc = SKPI_EINVAL;
  if(rc != SKPI_OK) {
    skpi_log(SKPI_ERROR, "reload refused; the running configuration stays", "error",
             err[0] ? err : skpi_strerror(rc));
    skpi_config_free(ncfg);
    skpi_app_set_reload_status(*app, 0, 0);
    return;
  }
  skpi_app_stop(*app); /* the old server keeps answering meanwhile */
  if(skpi_app_reload_state(next) != SKPI_OK)
    skpi_log(SKPI_ERROR, "reload: cannot read the state the old configuration wrote");
  skpi_app *old = *app;
  skpi_config *old_cfg = *cfg;
  *app = next;
  *cfg = ncfg;
  int handed = skpi_app_take_listener(next, old) == 0;
  double t0 = skpi_mono();
  if(!handed) {
    skpi_app_free(old); /* another address, or no socket to hand: the port is free first */
    old = NULL;
  }
  rc = skpi_app_start(next, err, sizeof(err));
  char gap[32];
  snprintf(gap, sizeof(gap), "%.1f", (skpi_mono() - t0) * 1000.0);
  skpi_app_free(old);
  skpi_config_free(old_cfg);
  if(rc != SKPI_OK) {
    /* The new app is as good as its config check; only the port or Kafka
     * can fail here, and the old app is gone: stop like a failed start. */
    skpi_log(SKPI_ERROR, "reload: cannot start the new configuration", "error", err);
    kill(getpid(), SIGTERM);
    return;
  }
  skpi_app_set_reload_status(next, 1, skpi_now());
  skpi_log(SKPI_INFO, "configuration reloaded", "listener", handed ? "handed over" : "rebound",
           "switch_ms", gap);
}

int main(int argc, char **argv) {
  /* glibc gives each thread its own malloc arena; with a sampler, a composer
   * and web threads that cost ~46 MB of RSS at 100k partitions (measured:
   * 293 -> 247 MB).  Two arenas are plenty; MALLOC_ARENA_MAX still wins. */
  if(!getenv("MALLOC_ARENA_MAX"))
    mallopt(M_ARENA_MAX, 2);
  /* glibc raises its mmap threshold to the size of each large block freed
   * (up to 32 MB), after which every exposition body and metric set of a
   * cycle comes from the arenas and stays resident once freed.  A fixed
   * threshold keeps them in mmaps that go back to the kernel when freed
   * (measured at 10k partitions under scrape load: 115 -> 94 MB). */
  if(!getenv("MALLOC_MMAP_THRESHOLD_"))
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  if(argc > 1 && strcmp(argv[1], "assess") == 0)
    return skpi_cli_assess(argc - 1, argv + 1);
  /* A reload request before the signal loop waits: HUP's default action
   * would end the process, and every thread started later inherits this. */
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, NULL);
  flags fl;
  memset(&fl, 0, sizeof(fl));
  int prc = parse_flags(argc, argv, &fl);
  if(prc)
    return prc > 0 ? 0 : EXIT_USAGE;

  if(skpi_log_setup(fl.log_level, fl.log_format) != 0) {
    fprintf(stderr, "streamkpi_exporter: --log.level must be debug|info|warn|error and "
                    "--log.format logfmt|json\n");
    return EXIT_USAGE;
  }
  if(!fl.config_file && !fl.brokers) {
    fprintf(stderr, "streamkpi_exporter: no cluster to watch: give --config.file=FILE or "
                    "--kafka.brokers=HOST:PORT\n");
    return EXIT_USAGE;
  }
  if(fl.config_file && fl.brokers) {
    fprintf(stderr, "streamkpi_exporter: --config.file and --kafka.brokers exclude each other\n");
    return EXIT_USAGE;
  }

  char err[1024] = "";
  skpi_config *cfg = NULL;
  skpi_err rc = load_config(&fl, &cfg, err, sizeof(err));
  if(rc) {
    fprintf(stderr, "%s\n", err[0] ? err : skpi_strerror(rc));
    return EXIT_USAGE;
  }
  /* Flags win over the file; the file's log settings apply when no flag. */
  if(skpi_log_setup(fl.log_level ? fl.log_level : cfg->log_level,
                    fl.log_format ? fl.log_format : cfg->log_format) != 0) {
    fprintf(stderr, "streamkpi_exporter: invalid log level or format\n");
    skpi_config_free(cfg);
    return EXIT_USAGE;
  }
  skpi_app_opts ao = {fl.listen_address, fl.telemetry_path, fl.check_only, fl.web_config_file,
                      fl.enable_lifecycle};
  /* Every thread started from here on (the app starts its first ones while
   * it is built) inherits the blocked set, so that only the loop below takes
   * these signals and a stop always persists the state. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGHUP);
  if(!fl.check_only) {
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
  }
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);
  skpi_app *app = skpi_app_new(cfg, &ao, err, sizeof(err));
  if(!app) {
    fprintf(stderr, "streamkpi_exporter: %s\n", err);
    skpi_config_free(cfg);
    return EXIT_USAGE;
  }
  if(fl.check_only && skpi_app_check(app, err, sizeof(err)) != SKPI_OK) {
    fprintf(stderr, "streamkpi_exporter: %s\n", err);
    skpi_app_free(app);
    skpi_config_free(cfg);
    return EXIT_USAGE;
  }
  if(fl.check_only) {
    printf("configuration ok: %zu cluster(s)\n", cfg->nclusters);
    skpi_app_free(app);
    skpi_config_free(cfg);
    return 0;
  }

  int status = 1;
  if(skpi_app_start(app, err, sizeof(err)) != SKPI_OK) {
    skpi_log(SKPI_ERROR, "cannot start", "error", err);
    goto out;
  }
  skpi_log(SKPI_INFO, "streamkpi exporter started", "version", SKPI_VERSION, "listen",
           fl.listen_address ? fl.listen_address : cfg->listen_address, "telemetry_path",
           fl.telemetry_path ? fl.telemetry_path : cfg->telemetry_path);

  for(;;) {
    int sig = 0;
    if(sigwait(&sigs, &sig) != 0)
      continue;
    if(sig == SIGHUP) {
      reload(&fl, &ao, &app, &cfg);
      continue;
    }
    skpi_log(SKPI_INFO, "stopping", "signal", sig == SIGTERM ? "TERM" : "INT");
    break;
  }
  status = 0;

out:
  skpi_app_stop(app);
  skpi_app_free(app);
  skpi_config_free(cfg);
  return status;
}
