/* cli.h: the `assess` subcommand.
 *
 *   streamkpi_exporter assess [--from URL] [--format text|markdown|json]
 *                             [--fail-below LEVEL]
 *                             [--config.file FILE | --kafka.brokers HOST:PORT]
 *
 * With --from it asks a running exporter (GET URL/api/v1/assessment);
 * otherwise it builds the app from the configuration, samples every cluster
 * and runs every probe once, and assesses what it saw (the state file's
 * history and incidents are read, never written).  It prints the assessment
 * in the asked format (text by default).  With --fail-below LEVEL it exits 1
 * when the overall level is below LEVEL or unknown, for CI gates.
 */
#ifndef STREAMKPI_CLI_H
#define STREAMKPI_CLI_H

/* Runs the subcommand (argv[0] is "assess").  Returns the process exit
 * status: 0 done, 1 below the --fail-below level, 2 usage, configuration or
 * connection error. */
int skpi_cli_assess(int argc, char **argv);

#endif
