#!/usr/bin/env bash
# Prints the path of the cargo-machete binary `make lint` and CI run to find unused
# dependencies, installing it first when it is not there yet.
#
# cargo-machete is installed from crates.io with `cargo install --locked` at the version
# pinned below, into $ORGLINK_MACHETE_DIR, by default
# ${XDG_CACHE_HOME:-~/.cache}/orglink/cargo-machete/<version>. A cargo-machete already on
# PATH is not used: lint runs the pinned version.
#
# Usage: scripts/machete.sh [--check]
#   --check   print the path if installed, else exit 1 without installing.
# Progress goes to stderr; stdout carries only the path.
set -euo pipefail

MACHETE_VERSION=0.9.2

say() { printf 'cargo-machete: %s\n' "$*" >&2; }

ROOT_DIR="${ORGLINK_MACHETE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orglink/cargo-machete/$MACHETE_VERSION}"
BIN="$ROOT_DIR/bin/cargo-machete"

if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  say "not installed yet in $ROOT_DIR (run: scripts/machete.sh)"
  exit 1
fi

command -v cargo >/dev/null || { say "cargo is needed to install cargo-machete"; exit 1; }
start=$SECONDS
say "installing cargo-machete $MACHETE_VERSION (first time only; about a minute on 2 cores)"
# Its own target dir, so the project's CARGO_TARGET_DIR is left alone.
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
CARGO_TARGET_DIR="$WORK" cargo install --locked --quiet "cargo-machete@$MACHETE_VERSION" --root "$ROOT_DIR" >&2
say "installed in $((SECONDS - start)) s"
echo "$BIN"
