#!/usr/bin/env bash
# The benchmark, in one command (as root, on Debian 12): installs the references (nginx,
# HAProxy, stunnel), builds dockgate and the load generator in release mode, and runs
# bench/run.py, which prints the table and writes the raw samples to bench/results.json.
# Options are passed on: --reps N, --seconds S, --bytes B, --idle 1000,10000, --only NAMES,
# --measures ka32,ka1,hs,down,up.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v haproxy >/dev/null || need+=(haproxy)
command -v stunnel >/dev/null || need+=(stunnel4)
command -v python3 >/dev/null || need+=(python3)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The Debian packages start their own services; the benchmark runs its own instances.
echo "==> building dockgate and the load generator (release)" >&2
cargo build --release --quiet --bin dockgate --example loadgen --example upstream --example handshake_floor
ulimit -n "$(ulimit -Hn)"
exec python3 bench/run.py "$@"
