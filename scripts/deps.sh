#!/usr/bin/env bash
# Installs what streamkpi's build, tests, demo and bench need on a Debian
# bookworm machine, and only what is missing.  Idempotent; fast when all is
# there.  Kafka comes as the official jars from Maven Central (cached in
# ~/.m2), copied to build/kafka/libs.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(build-essential pkg-config librdkafka-dev libmicrohttpd-dev libcurl4-openssl-dev
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

KLIBS=build/kafka/libs
if [ ! -f "$KLIBS/.complete" ] || [ tests/kafka/pom.xml -nt "$KLIBS/.complete" ]; then
  echo "deps: fetching Apache Kafka jars with mvn"
  rm -rf "$KLIBS"; mkdir -p "$KLIBS"
  mvn -q -B -f tests/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$PWD/$KLIBS" >/dev/null
  touch "$KLIBS/.complete"
fi

# A real Kafka Connect worker (runtime + FileStream connectors) for the
# targets scenario and MirrorMaker 2 for the replication scenario, from Maven
# Central like the broker.
CLIBS=build/connect/libs
if [ ! -f "$CLIBS/.complete" ] || [ tests/connect/pom.xml -nt "$CLIBS/.complete" ]; then
  echo "deps: fetching Apache Kafka Connect jars with mvn"
  rm -rf "$CLIBS"; mkdir -p "$CLIBS"
  mvn -q -B -f tests/connect/pom.xml dependency:copy-dependencies -DoutputDirectory="$PWD/$CLIBS" >/dev/null
  touch "$CLIBS/.complete"
fi

# Kafka 3.9 for the SASL_SSL/SCRAM scenario: librdkafka 2.0.2's SCRAM login
# is refused by brokers from 4.0 on.
K39LIBS=build/kafka39/libs
if [ ! -f "$K39LIBS/.complete" ] || [ tests/kafka39/pom.xml -nt "$K39LIBS/.complete" ]; then
  echo "deps: fetching Apache Kafka 3.9 jars with mvn"
  rm -rf "$K39LIBS"; mkdir -p "$K39LIBS"
  mvn -q -B -f tests/kafka39/pom.xml dependency:copy-dependencies -DoutputDirectory="$PWD/$K39LIBS" >/dev/null
  touch "$K39LIBS/.complete"
fi

# The Kafka Streams library for the stateful-processing scenario's app.
SLIBS=build/streams/libs
if [ ! -f "$SLIBS/.complete" ] || [ tests/streams/pom.xml -nt "$SLIBS/.complete" ]; then
  echo "deps: fetching the Kafka Streams jars with mvn"
  rm -rf "$SLIBS"; mkdir -p "$SLIBS"
  mvn -q -B -f tests/streams/pom.xml dependency:copy-dependencies -DoutputDirectory="$PWD/$SLIBS" >/dev/null
  touch "$SLIBS/.complete"
fi

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
