#!/bin/sh
# Build the moby decode helper offline, in GOPATH mode, against Debian's
# golang-github-docker-docker-dev (moby 20.10 source under /usr/share/gocode).
# Usage: tests/moby_decode/build.sh OUT_BINARY
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUT_BINARY" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
gocode=${MOBY_GOCODE:-/usr/share/gocode}

if ! command -v go >/dev/null 2>&1; then
    echo "$0: 'go' not found on PATH (install Debian's golang-go)" >&2
    exit 1
fi
if [ ! -f "$gocode/src/github.com/docker/docker/runconfig/config.go" ]; then
    echo "$0: moby source not found under $gocode/src/github.com/docker/docker" \
         "(install Debian's golang-github-docker-docker-dev)" >&2
    exit 1
fi

# Make OUT_BINARY absolute before changing directory.
case $out in /*) ;; *) out=$(pwd)/$out ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/src/dockgate/mobydecode"
cp "$here/main.go" "$tmp/src/dockgate/mobydecode/"

# A usable build cache even when $HOME is unset or read-only.
if [ -z "${GOCACHE:-}" ]; then
    if [ -n "${HOME:-}" ] && mkdir -p "$HOME/.cache/go-build" 2>/dev/null && [ -w "$HOME/.cache/go-build" ]; then
        GOCACHE=$HOME/.cache/go-build
    else
        GOCACHE=$tmp/gocache
    fi
fi

cd "$tmp/src/dockgate/mobydecode"
env GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH="$tmp:$gocode" GOCACHE="$GOCACHE" \
    CGO_ENABLED=0 go build -o "$out" . || {
    echo "$0: go build failed" >&2
    exit 1
}
echo "built $out" >&2
