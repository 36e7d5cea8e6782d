#!/usr/bin/env bash
# Prints the path of the helm binary the chart tests use, building it from its Go
# module first when it is not there yet.
#
# helm's release downloads (get.helm.sh) are not reachable from every machine this
# project runs on, but the Go module proxy is, and it serves helm.sh/helm/v3. So,
# like scripts/kube-assets.sh does for the Kubernetes binaries, helm is compiled
# from the module pinned in tools/helm/go.mod (its `tool` directive names
# helm.sh/helm/v3/cmd/helm; the require line pins the version).
#
# The binary lives in $ORGLINK_HELM_DIR, by default
# ${XDG_CACHE_HOME:-~/.cache}/orglink/helm/<version>. A stamp of the Go module
# files is kept beside it, so a version bump rebuilds and nothing else does.
# A helm already on PATH is not used: the tests run the pinned version.
#
# Usage: scripts/helm.sh [--check]
#   --check   print the path if built, else exit 1 without building.
# Progress goes to stderr; stdout carries only the path.
set -euo pipefail

HELM_VERSION=v3.22.0
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MOD="$ROOT/tools/helm"

say() { printf 'helm: %s\n' "$*" >&2; }

grep -Eq "^\s*helm.sh/helm/v3 $HELM_VERSION( |$)" "$MOD/go.mod" \
  || { say "tools/helm/go.mod does not require helm.sh/helm/v3 $HELM_VERSION: bump both together"; exit 1; }

DEST="${ORGLINK_HELM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orglink/helm/$HELM_VERSION}"
STAMP_WANT="$(cat "$MOD/go.mod" "$MOD/go.sum" "$0" | sha256sum | cut -d' ' -f1)"

if [ -x "$DEST/helm" ] && [ "$(cat "$DEST/.stamp" 2>/dev/null)" = "$STAMP_WANT" ]; then
  echo "$DEST/helm"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  say "not built yet in $DEST (run: make tools)"
  exit 1
fi

command -v go >/dev/null || { say "Go is needed to build helm (https://go.dev/dl)"; exit 1; }

mkdir -p "$(dirname "$DEST")"
WORK="$(mktemp -d "$(dirname "$DEST")/.build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Version stamping the way helm's own Makefile does, so `helm version` reports the
# release and the chart's kubeVersion checks see the Kubernetes version helm's
# client-go libraries speak.
K8S_MINOR="$(cd "$MOD" && go list -f '{{.Version}}' -m k8s.io/client-go | cut -d. -f2)"
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
LDFLAGS+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  LDFLAGS+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$K8S_MINOR"
done

export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"
start=$SECONDS
say "building helm $HELM_VERSION from helm.sh/helm/v3 (first time only; a few minutes on 2 cores)"
(cd "$MOD" && go build -trimpath -ldflags "$LDFLAGS" -o "$WORK/helm" helm.sh/helm/v3/cmd/helm)

mkdir -p "$DEST"
mv -f "$WORK/helm" "$DEST/helm"
echo "$STAMP_WANT" > "$DEST/.stamp"
say "done in $((SECONDS - start)) s: $DEST/helm"
echo "$DEST/helm"
