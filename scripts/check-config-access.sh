#!/usr/bin/env bash
# Style gate: the configuration is read through the typed structs of
# include/streamkpi/config.h only.  Fails, naming file and line, when code
# outside exporter/config/ reaches for a string-keyed look-up or the
# schema's private header.
set -u
cd "$(dirname "$0")/.."
pattern='skpi_config_section|skpi_config_cluster_section|skpi_config_line|skpi_cfg_(string|int|number|duration|bool)[[:space:]]*\(|config_int\.h'
hits=$(grep -rnE "$pattern" exporter include tests --include='*.c' --include='*.h' |
  grep -v '^exporter/config/' || true)
if [ -n "$hits" ]; then
  echo "$hits"
  echo "check-config-access: read the config through the typed structs of config.h" >&2
  exit 1
fi
