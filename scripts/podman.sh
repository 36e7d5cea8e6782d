#!/usr/bin/env bash
# Runs podman the way this project's machines need it, installing podman and runc
# from the distribution's packages first when they are missing.
#
# - runc, not crun: crun refuses the hybrid cgroup layout of these machines.
# - A containers.conf of our own (CONTAINERS_CONF, unless already set): the cgroupfs
#   cgroup manager (no systemd here) and no default ulimits (the container would be
#   refused raising them).
#
# Usage: scripts/podman.sh PODMAN-ARGS...   (e.g. scripts/podman.sh images)
set -euo pipefail

say() { printf 'podman: %s\n' "$*" >&2; }

if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing podman and runc (apt-get)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >&2
  else
    say "podman and runc are needed: install them (Debian/Ubuntu: sudo apt-get install podman runc)"
    exit 1
  fi
fi

if [ -z "${CONTAINERS_CONF:-}" ]; then
  CONF_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/orglink/podman"
  CONTAINERS_CONF="$CONF_DIR/containers.conf"
  WANT='[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"'
  if [ "$(cat "$CONTAINERS_CONF" 2>/dev/null)" != "$WANT" ]; then
    mkdir -p "$CONF_DIR"
    printf '%s\n' "$WANT" > "$CONTAINERS_CONF.tmp"
    mv -f "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
  fi
  export CONTAINERS_CONF
fi

exec podman --runtime runc "$@"
