#!/usr/bin/env bash
# Prints the directory holding etcd, kube-apiserver, kube-controller-manager and
# kubectl for the sandbox,
# building them from their Go modules first when they are not there yet.
#
# Like controller-runtime's envtest, the sandbox runs the upstream binaries as
# child processes. setup-envtest downloads them from a site this project's
# machines cannot reach, so they are compiled from the Go module proxy instead:
#   - kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes
#     (tools/kube-assets/kubernetes)
#   - etcd from go.etcd.io/etcd/server/v3 (tools/kube-assets/etcd)
#
# KUBEBUILDER_ASSETS, when set, wins: that directory is used and nothing is built
# (the sandbox runs kube-controller-manager only when that directory holds one).
# Otherwise the binaries live in $ORGLINK_KUBE_ASSETS_DIR, by default
# ${XDG_CACHE_HOME:-~/.cache}/orglink/kube-assets/<version>. A stamp of the Go
# module files is kept beside them, so a version bump rebuilds and nothing else does.
#
# Usage: scripts/kube-assets.sh [--check]
#   --check   print the directory if complete, else exit 1 without building.
# Progress goes to stderr; stdout carries only the directory.
set -euo pipefail

KUBE_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODS="$ROOT/tools/kube-assets"
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl)

say() { printf 'kube-assets: %s\n' "$*" >&2; }

complete_in() {
  local dir=$1 bin
  for bin in "${BINARIES[@]}"; do [ -x "$dir/$bin" ] || return 1; done
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for bin in etcd kube-apiserver; do
    [ -x "$KUBEBUILDER_ASSETS/$bin" ] || { say "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $bin; unset it to build the binaries here"; exit 1; }
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

DEST="${ORGLINK_KUBE_ASSETS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orglink/kube-assets/$KUBE_VERSION}"
STAMP_WANT="$(cat "$MODS"/kubernetes/go.mod "$MODS"/kubernetes/go.sum "$MODS"/etcd/go.mod "$MODS"/etcd/go.sum "$MODS"/etcd/main.go "$0" | sha256sum | cut -d' ' -f1)"

if complete_in "$DEST" && [ "$(cat "$DEST/.stamp" 2>/dev/null)" = "$STAMP_WANT" ]; then
  echo "$DEST"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  say "not built yet in $DEST (run: make kube-assets)"
  exit 1
fi

command -v go >/dev/null || { say "Go is needed to build the Kubernetes test binaries (https://go.dev/dl), or set KUBEBUILDER_ASSETS to a directory holding etcd and kube-apiserver"; exit 1; }

mkdir -p "$(dirname "$DEST")"
WORK="$(mktemp -d "$(dirname "$DEST")/.build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Version stamping the way Kubernetes' own build does (hack/lib/version.sh), so
# `kubectl version` and the API server's /version report the real release.
BUILD_DATE=2026-01-01T00:00:00Z
LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDFLAGS+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=37"
  LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
done

export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"
start=$SECONDS
say "building kube-apiserver, kube-controller-manager and kubectl $KUBE_VERSION from k8s.io/kubernetes (first time only; several minutes on 2 cores)"
(cd "$MODS/kubernetes" && go build -trimpath -ldflags "$LDFLAGS" -o "$WORK/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl)
say "building etcd $ETCD_VERSION from go.etcd.io/etcd/server/v3"
(cd "$MODS/etcd" && go build -trimpath -ldflags "-s -w" -o "$WORK/etcd" .)

mkdir -p "$DEST"
for bin in "${BINARIES[@]}"; do mv -f "$WORK/$bin" "$DEST/$bin"; done
echo "$STAMP_WANT" > "$DEST/.stamp"
say "done in $((SECONDS - start)) s: $DEST"
echo "$DEST"
