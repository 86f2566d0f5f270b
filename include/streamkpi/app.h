/* app.h: the one assembly.  Config in; registry, web server, sources, KPI
 * families, state file and routes out.
 *
 * skpi_app_new builds everything from a validated config and starts nothing,
 * so it doubles as the deepest configuration check (regexes compiled, token
 * file read, listen address parsed, every KPI family created).  Because an
 * app owns all it runs, reload is: build a new app, stop and free the old
 * one, start the new one (the state file carries what must survive:
 * skpi_app_reload_state).
 *
 * Event flow: each source reports on its own thread; the app turns the report
 * into an skpi_event (events.h), applies the health rule to probe results
 * (health.h), and hands the event to every KPI instance of the table
 * (kpi.h) under one mutex, then renders every instance into the registry
 * slot (cluster "", source "kpi").  A thread of its own ticks once a second
 * (application-target quality, Connect status, rolling windows) and persists
 * the state every state.persist_interval.
 *
 * Stop order (skpi_app_stop): Kafka sources, probes and HTTP targets first,
 * then the app thread, then one last state write; the web server is freed
 * last, in skpi_app_free, since its routes read the KPIs.
 */
#ifndef STREAMKPI_APP_H
#define STREAMKPI_APP_H

#include <stddef.h>

#include "streamkpi/buf.h"
#include "streamkpi/config.h"
#include "streamkpi/err.h"
#include "streamkpi/events.h"
#include "streamkpi/facts.h"
#include "streamkpi/registry.h"

typedef struct skpi_app skpi_app;

/* Settings from flags that win over the config file (NULL: the config's). */
typedef struct skpi_app_opts {
  const char *listen_address;
  const char *telemetry_path;
  int check_only;              /* --config.check: build and load, never write the state */
  const char *web_config_file; /* --web.config.file (TLS, basic auth), or NULL */
  int enable_lifecycle;        /* --web.enable-lifecycle: serve POST /-/reload */
} skpi_app_opts;

/* Builds the app from a validated config, which must outlive it.  Opens and
 * loads the state file.  Returns NULL with one line in errbuf when something
 * in the config cannot be used (an unusable state directory or listen
 * address, a token file that cannot be read, a KPI family that refuses its
 * settings). */
skpi_app *skpi_app_new(const skpi_config *cfg, const skpi_app_opts *opts, char *errbuf,
                       size_t errlen);

/* For --config.check, on a built app that is not started: what the start
 * would need beyond the build, tried without keeping anything (the listen
 * address bound and released, the TLS certificate matching its key; the
 * state directory was checked by skpi_app_new).  An address in use now is
 * only warned about.
 * Returns the first problem with one line in errbuf. */
skpi_err skpi_app_check(skpi_app *a, char *errbuf, size_t errlen);

/* Starts listening, then every source and the app thread.  On failure
 * errbuf says what; call skpi_app_stop and skpi_app_free then. */
skpi_err skpi_app_start(skpi_app *a, char *errbuf, size_t errlen);

/* For one-shot runs of an app that is not started: samples every cluster
 * once and runs its probe once, feeding the KPIs as the threads would.
 * Returns the first cluster's failure (errbuf says which), after trying all. */
skpi_err skpi_app_sample_once(skpi_app *a, char *errbuf, size_t errlen);

/* Stops every thread (see the order above) and writes the state a last
 * time.  Safe on an app that never started, and twice. */
void skpi_app_stop(skpi_app *a);

/* Frees everything (after skpi_app_stop).  NULL is ignored. */
void skpi_app_free(skpi_app *a);

/* Hands ev to every KPI instance concerned and republishes, as the sources'
 * reports do.  For tests and one-shot runs that feed events of their own. */
void skpi_app_dispatch(skpi_app *a, const skpi_event *ev);

/* Every KPI instance's facts at now, in a new set the caller frees; NULL
 * on OOM. */
skpi_facts *skpi_app_facts(skpi_app *a, double now);

/* Renders the newest maturity assessment as "json", "text", "markdown" or
 * "html" (the report) into out, and sets *level (may be NULL) to its overall
 * level (SKPI_ASSESS_UNKNOWN when unknown).  Errors from the renderers. */
skpi_err skpi_app_assessment(skpi_app *a, const char *format, skpi_buf *out, int *level);

/* Re-reads the state file into every KPI and the history, and publishes:
 * for a reload, where the new app is built while the old one still runs and
 * must then take what the old one wrote when it stopped.  Errors of
 * skpi_state_open (the app keeps its state then). */
skpi_err skpi_app_reload_state(skpi_app *a);

/* For a reload to the same listen address: next (not started) takes old's
 * listening socket (skpi_web_handover), so no scrape is refused while the
 * apps change.  Returns 0, or -1 when the addresses differ or old does not
 * listen (next binds its own then). */
int skpi_app_take_listener(skpi_app *next, skpi_app *old);

/* Records the outcome of a configuration reload for
 * streamkpi_config_last_reload_successful and, when ok, its time `when`
 * (unix seconds) for streamkpi_config_last_reload_success_timestamp_seconds.
 * An app starts as successfully loaded at its creation. */
void skpi_app_set_reload_status(skpi_app *a, int ok, double when);

/* The registry the app publishes into (owned by the app). */
skpi_registry *skpi_app_registry(skpi_app *a);

/* The port the web server listens on (after start). */
unsigned skpi_app_port(const skpi_app *a);

#endif
