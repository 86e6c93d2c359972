#!/usr/bin/env bash
# Make sure a Redis server answers on 127.0.0.1:6379 for the test suite (shared rate-limit
# counters now, live events later): install Debian's redis-server if missing and start it
# when nothing answers. It keeps nothing on disk. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/apt.sh
source scripts/apt.sh

apt_install_missing redis-server redis-tools

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
    for _ in $(seq 1 30); do
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
        sleep 0.5
    done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
