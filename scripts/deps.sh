#!/usr/bin/env bash
# Installs what streamkpi's build, tests, demo and bench need on a Debian
# bookworm machine, and only what is missing.  Idempotent; fast when all is
# there.  Kafka comes as the official jars from Maven Central (cached in
# ~/.m2), copied to build/kafka/libs.
set -euo pipefail
cd "$(dirname "$0")/.."

# libmicrohttpd is not among them: the Makefile builds 1.0.1 (scripts/build-mhd.sh).
APT_PKGS=(build-essential pkg-config librdkafka-dev libcurl4-openssl-dev
  libjansson-dev libcmocka-dev libyaml-dev zlib1g-dev kcat prometheus prometheus-alertmanager
  wrk curl maven openjdk-17-jre-headless chromium poppler-utils python3
  libcrypt-dev libgnutls28-dev openssl libnss3-tools)
# The packaging tests: the Debian package, its man page, its unit check.
APT_PKGS+=(debhelper dpkg-dev groff-base man-db systemd)
# `make fuzz` (scripts/deps.sh --fuzz) also needs clang and its libFuzzer
# runtime; `make test` replays the corpora with gcc and does not.
if [ "${1:-}" = "--fuzz" ]; then
  APT_PKGS+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# A JDK of 17 or newer from elsewhere on the machine is fine too.
if command -v java >/dev/null 2>&1; then
  tmp=(); for p in "${missing[@]}"; do [ "$p" = openjdk-17-jre-headless ] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if command -v mvn >/dev/null 2>&1; then
  tmp=(); for p in "${missing[@]+"${missing[@]}"}"; do [ "$p" = maven ] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for mod in pytest:pytest xdist:pytest-xdist; do
  if ! python3 -c "import ${mod%%:*}" 2>/dev/null; then
    echo "deps: installing ${mod#*:}"
    python3 -m pip install -q "${mod#*:}" 2>/dev/null ||
      python3 -m pip install -q --break-system-packages "${mod#*:}"
  fi
done

# Jars from Maven Central: the dependencies of tests/NAME/pom.xml copied to
# build/NAME/libs, again whenever the pom is newer than the last copy.
maven_jars() { # NAME WHAT
  local libs=build/$1/libs pom=tests/$1/pom.xml
  if [ ! -f "$libs/.complete" ] || [ "$pom" -nt "$libs/.complete" ]; then
    echo "deps: fetching $2 with mvn"
    rm -rf "$libs"; mkdir -p "$libs"
    mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$PWD/$libs" >/dev/null
    touch "$libs/.complete"
  fi
}

maven_jars kafka "Apache Kafka jars"
# A real Kafka Connect worker (runtime + FileStream connectors) for the
# targets scenario and MirrorMaker 2 for the replication scenario.
maven_jars connect "Apache Kafka Connect jars"
# Kafka 3.9 for the SASL_SSL/SCRAM scenario: librdkafka 2.0.2's SCRAM login
# is refused by brokers from 4.0 on.
maven_jars kafka39 "Apache Kafka 3.9 jars"
# The Kafka Streams library for the stateful-processing scenario's app.
maven_jars streams "the Kafka Streams jars"

# The Helm chart's checks: helm and kubeconform built from the Go module
# proxy, and the modules whose files become kubeconform's schemas offline
# (Kubernetes' OpenAPI document, the Prometheus Operator's CRDs).  Shared by
# every checkout through the cache directory; scripts/pkg-tools.sh names them.
. scripts/pkg-tools.sh
for t in "kubeconform $KUBECONFORM_VERSION github.com/yannh/kubeconform/cmd/kubeconform" \
         "helm $HELM_VERSION helm.sh/helm/v3/cmd/helm"; do
  set -- $t
  if [ ! -x "$PKG_TOOLS/$1-$2/$1" ]; then
    echo "deps: building $1 $2 from the Go module proxy"
    (cd / && GOFLAGS=-buildvcs=false GOBIN="$PKG_TOOLS/$1-$2" go install "$3@$2")
  fi
done
for m in "k8s.io/kubernetes@$K8S_VERSION" "github.com/prometheus-operator/prometheus-operator@$PROM_OPERATOR_VERSION"; do
  if [ ! -d "$GOMODCACHE/$m" ]; then
    echo "deps: downloading the Go module $m"
    (cd / && go mod download "$m")
  fi
done
