#!/usr/bin/env bash
# Prints the path of the kstatus verdict printer tests/gitops_health.rs runs, building
# it from tools/kstatus first when it is not there yet.
#
# kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status) is the library Flux and other
# GitOps tools use to judge whether an object is Current, InProgress or Failed. The test
# checks the operator's conditions against the real library, at the version pinned in
# tools/kstatus/go.mod, compiled from the Go module proxy like scripts/helm.sh does for
# helm.
#
# The binary lives in $ORGLINK_KSTATUS_DIR, by default
# ${XDG_CACHE_HOME:-~/.cache}/orglink/kstatus/<version>. A stamp of the sources is
# kept beside it, so any change to tools/kstatus rebuilds and nothing else does.
#
# Usage: scripts/kstatus.sh [--check]
#   --check   print the path if built, else exit 1 without building.
# Progress goes to stderr; stdout carries only the path.
set -euo pipefail

CLI_UTILS_VERSION=v0.37.2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$ROOT/tools/kstatus"

say() { printf 'kstatus: %s\n' "$*" >&2; }

grep -Eq "^\s*(require )?sigs.k8s.io/cli-utils $CLI_UTILS_VERSION( |$)" "$SRC/go.mod" \
  || { say "tools/kstatus/go.mod does not require sigs.k8s.io/cli-utils $CLI_UTILS_VERSION: bump both together"; exit 1; }

DEST="${ORGLINK_KSTATUS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orglink/kstatus/$CLI_UTILS_VERSION}"
STAMP_WANT="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" "$0" | sha256sum | cut -d' ' -f1)"

if [ -x "$DEST/kstatus" ] && [ "$(cat "$DEST/.stamp" 2>/dev/null)" = "$STAMP_WANT" ]; then
  echo "$DEST/kstatus"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  say "not built yet in $DEST (run: make tools)"
  exit 1
fi

command -v go >/dev/null || { say "Go is needed to build the kstatus printer (https://go.dev/dl)"; exit 1; }

mkdir -p "$(dirname "$DEST")"
WORK="$(mktemp -d "$(dirname "$DEST")/.build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"
start=$SECONDS
say "building the kstatus printer on sigs.k8s.io/cli-utils $CLI_UTILS_VERSION (first time only)"
(cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$WORK/kstatus" .)

mkdir -p "$DEST"
mv -f "$WORK/kstatus" "$DEST/kstatus"
echo "$STAMP_WANT" > "$DEST/.stamp"
say "done in $((SECONDS - start)) s: $DEST/kstatus"
echo "$DEST/kstatus"
