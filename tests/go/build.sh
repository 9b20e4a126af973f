#!/bin/sh
# Build one of the Go test programs under tests/go offline, in GOPATH mode, against Debian's
# golang-github-docker-docker-dev (moby 20.10 source under /usr/share/gocode).
# Usage: tests/go/build.sh PROGRAM OUT_BINARY   (PROGRAM: moby_decode, sdk_client)
set -eu

if [ $# -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
    echo "usage: $0 PROGRAM OUT_BINARY" >&2
    exit 2
fi
program=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
gocode=${MOBY_GOCODE:-/usr/share/gocode}

if [ ! -f "$here/$program/main.go" ]; then
    echo "$0: no program $here/$program/main.go" >&2
    exit 2
fi
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
mkdir -p "$tmp/src/dockgate/$program"
cp "$here/$program/main.go" "$tmp/src/dockgate/$program/"

# A usable build cache even when $HOME is unset or read-only.
if [ -z "${GOCACHE:-}" ]; then
    if [ -n "${HOME:-}" ] && mkdir -p "$HOME/.cache/go-build" 2>/dev/null && [ -w "$HOME/.cache/go-build" ]; then
        GOCACHE=$HOME/.cache/go-build
    else
        GOCACHE=$tmp/gocache
    fi
fi

cd "$tmp/src/dockgate/$program"
env GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH="$tmp:$gocode" GOCACHE="$GOCACHE" \
    CGO_ENABLED=0 go build -o "$out" . || {
    echo "$0: go build failed" >&2
    exit 1
}
echo "built $out" >&2
