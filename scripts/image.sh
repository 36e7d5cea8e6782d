#!/usr/bin/env bash
# Builds the operator's container image without a registry: the release binary
# (without the sandbox: `--no-default-features`) on top of nothing (FROM scratch),
# stripped, plus exactly the files it needs at run time:
#   - the dynamic loader and the shared libraries `ldd` names (glibc, libgcc_s);
#   - the CA bundle, /etc/ssl/certs/ca-certificates.crt (Genesys Cloud over TLS);
#   - an empty, world-writable /tmp (the chart mounts an emptyDir there).
# No shell, no package manager; it runs as UID/GID 65532.
#
# Tag: ${IMAGE:-orglink-operator}:<version in Cargo.toml> (podman names it
# localhost/orglink-operator:<version>). Users with a registry can use the
# multi-stage Containerfile instead; see the README.
#
# Usage: scripts/image.sh          build (cargo and podman skip what is up to date)
#        scripts/image.sh --name   print the image name:tag only
# Progress goes to stderr; stdout carries only the image name:tag.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -1)"
NAME="${IMAGE:-orglink-operator}:$VERSION"
if [ "${1:-}" = "--name" ]; then
  echo "$NAME"
  exit 0
fi

say() { printf 'image: %s\n' "$*" >&2; }

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac

start=$SECONDS
say "building the shipped binary without the sandbox (cargo build --profile dist --no-default-features)"
(cd "$ROOT" && cargo build --profile dist --locked --no-default-features --bin orglink-operator >&2)
built=$SECONDS

CONTEXT="$TARGET_DIR/image"
rm -rf "$CONTEXT"
mkdir -p "$CONTEXT/rootfs/usr/local/bin" "$CONTEXT/rootfs/etc/ssl/certs" "$CONTEXT/rootfs/tmp"
chmod 1777 "$CONTEXT/rootfs/tmp"
BIN="$CONTEXT/rootfs/usr/local/bin/orglink-operator"
cp "$TARGET_DIR/dist/orglink-operator" "$BIN"
# Symbols are a quarter of the binary and nothing at run time reads them (panics
# still print their message and location).
strip "$BIN"

# Every library the binary loads, and the loader (ldd prints it as a plain path),
# copied under the path the binary asks for, symlinks resolved.
libs="$(ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')"
[ -n "$libs" ] || { say "ldd names no library: is $BIN a dynamic executable?"; exit 1; }
for lib in $libs; do
  mkdir -p "$CONTEXT/rootfs$(dirname "$lib")"
  cp -L "$lib" "$CONTEXT/rootfs$lib"
done
CA=/etc/ssl/certs/ca-certificates.crt
[ -r "$CA" ] || { say "$CA is missing: install the ca-certificates package"; exit 1; }
cp -L "$CA" "$CONTEXT/rootfs$CA"

REVISION="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || REVISION+="-dirty"
cp "$ROOT/scripts/image/scratch.Containerfile" "$CONTEXT/Containerfile"
previous="$("$ROOT/scripts/podman.sh" image inspect --format '{{.Id}}' "$NAME" 2>/dev/null || true)"
say "podman build -t $NAME ($(echo $libs | wc -w) libraries: $(echo $libs | tr '\n' ' '))"
"$ROOT/scripts/podman.sh" build --quiet --layers=false --format oci \
  --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" \
  -t "$NAME" "$CONTEXT" >/dev/null
# The image this tag named before, unless unchanged or still used by a container.
current="$("$ROOT/scripts/podman.sh" image inspect --format '{{.Id}}' "$NAME")"
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  "$ROOT/scripts/podman.sh" rmi "$previous" >/dev/null 2>&1 || true
fi
size="$("$ROOT/scripts/podman.sh" image inspect --format '{{.Size}}' "$NAME")"
say "done: $NAME, $((size / 1024 / 1024)) MiB ($size bytes); dist build $((built - start)) s, image $((SECONDS - built)) s"
echo "$NAME"
