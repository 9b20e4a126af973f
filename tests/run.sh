#!/usr/bin/env bash
# dockgate's whole test suite, as CI runs it (as root, on Debian 12):
#  1. installs what the suite needs (docker.io, busybox-static, docker-registry, curl, openssl,
#     systemd tools, systemd-container and debootstrap for the service test in a booted Debian 12
#     container, make, dpkg-dev, docker-compose, golang-go and golang-github-docker-docker-dev
#     for the differential test against moby's decoder, prometheus for promtool and a real
#     Prometheus server in the metrics tests; cargo-deb from crates.io),
#  2. starts a private Docker Engine and a private registry on 127.0.0.1 under a temporary folder,
#  3. builds a tiny busybox image and pushes a several-MB image to the registry,
#  4. runs `cargo test` against them, and stops what it started, by PID, whatever happens.
# The engine-backed tests fail (they do not skip) when the engine cannot be started.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v busybox >/dev/null || need+=(busybox-static)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
command -v systemd-socket-activate >/dev/null || need+=(systemd)
command -v make >/dev/null || need+=(make)
command -v script >/dev/null || need+=(bsdutils)
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v prlimit >/dev/null || need+=(util-linux)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/docker/docker/runconfig ] || need+=(golang-github-docker-docker-dev)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  # promtool and the Prometheus server, for the metrics tests; the tests start their own server
  # on a free loopback port, so the package's service is kept from starting (policy-rc.d).
  log "installing prometheus (for the metrics tests)"
  export DEBIAN_FRONTEND=noninteractive
  made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
    # Interrupted here, the host must not keep refusing to start services.
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT INT TERM
  fi
  status=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } || status=$?
  if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT INT TERM; fi
  [ "$status" -eq 0 ] || exit "$status"
fi

if ! command -v cargo-deb >/dev/null; then
  log "installing cargo-deb (for the packaging test)"
  cargo install --locked --quiet cargo-deb
fi

W=$(mktemp -d /tmp/dockgate-test.XXXXXX)
ENGINE_PID=""
REGISTRY_PID=""
cleanup() {
  set +e
  if [ -n "$REGISTRY_PID" ]; then kill "$REGISTRY_PID" 2>/dev/null; wait "$REGISTRY_PID" 2>/dev/null; fi
  if [ -n "$ENGINE_PID" ]; then
    kill "$ENGINE_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$ENGINE_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$ENGINE_PID" 2>/dev/null
    wait "$ENGINE_PID" 2>/dev/null
  fi
  grep -q " $W" /proc/mounts && awk -v w="$W" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r umount -l
  rm -rf "$W"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

log "starting a private Docker Engine in $W/engine"
E=$W/engine
mkdir -p "$E"
dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
  --data-root="$E/root" --exec-root="$E/exec" --pidfile="$E/docker.pid" \
  -H "unix://$E/docker.sock" >"$E/dockerd.log" 2>&1 &
ENGINE_PID=$!
if ! wait_for 60 curl -sf --unix-socket "$E/docker.sock" http://engine/_ping; then
  log "the private Docker Engine did not start; its log:"
  tail -n 50 "$E/dockerd.log" >&2
  exit 1
fi
export DOCKER_HOST="unix://$E/docker.sock"

log "starting a private registry on 127.0.0.1"
R=$W/registry
mkdir -p "$R/data"
REGISTRY_PORT=$(free_port)
cat >"$R/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $R/data
http:
  addr: 127.0.0.1:$REGISTRY_PORT
YAML
docker-registry serve "$R/config.yml" >"$R/registry.log" 2>&1 &
REGISTRY_PID=$!
if ! wait_for 30 curl -sf "http://127.0.0.1:$REGISTRY_PORT/v2/"; then
  log "the private registry did not start; its log:"
  tail -n 50 "$R/registry.log" >&2
  exit 1
fi

log "building the test images from busybox-static"
rootfs() { # rootfs DIR: a busybox root with the applets the tests use
  mkdir -p "$1/bin" "$1/tmp" "$1/proc" "$1/sys" "$1/dev" "$1/etc"
  cp "$(command -v busybox)" "$1/bin/busybox"
  for a in sh cat echo ls sleep head tail dd wc true false printf mkdir seq yes sync; do ln -sf busybox "$1/bin/$a"; done
}
rootfs "$W/img"
tar -C "$W/img" -c . | docker import - dockgate-test/busybox:latest >/dev/null
rootfs "$W/big"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$W/big/payload.bin"
PULL_REF="127.0.0.1:$REGISTRY_PORT/dockgate-test/big:latest"
tar -C "$W/big" -c . | docker import - "$PULL_REF" >/dev/null
docker push "$PULL_REF" >/dev/null
docker rmi "$PULL_REF" >/dev/null

export DOCKGATE_TEST_DOCKER_SOCK="$E/docker.sock"
export DOCKGATE_TEST_IMAGE="dockgate-test/busybox:latest"
export DOCKGATE_TEST_REGISTRY="127.0.0.1:$REGISTRY_PORT"
export DOCKGATE_TEST_PULL_REPO="dockgate-test/big"
unset DOCKER_HOST

log "running cargo test"
cargo test --all-targets "$@"
