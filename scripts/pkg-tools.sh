# Sourced: where the packaging tests find helm, kubeconform and the Go
# modules their schemas come from (scripts/deps.sh installs them).
HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
K8S_VERSION=v1.36.3
PROM_OPERATOR_VERSION=v0.85.0
PKG_TOOLS=${SKPI_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamkpi/go-tools}
GOMODCACHE=$(go env GOMODCACHE)
HELM=$PKG_TOOLS/helm-$HELM_VERSION/helm
KUBECONFORM=$PKG_TOOLS/kubeconform-$KUBECONFORM_VERSION/kubeconform
K8S_SWAGGER=$GOMODCACHE/k8s.io/kubernetes@$K8S_VERSION/api/openapi-spec/swagger.json
PROM_OPERATOR_CRDS=$GOMODCACHE/github.com/prometheus-operator/prometheus-operator@$PROM_OPERATOR_VERSION/jsonnet/prometheus-operator
