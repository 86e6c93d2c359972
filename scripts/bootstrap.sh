#!/usr/bin/env bash
# Set up everything gridsvc needs to run on a fresh Debian machine:
# Debian packages (Python with venv, SpatiaLite), the virtual environment and
# the locked Python dependencies. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/apt.sh
source scripts/apt.sh

# Debian's own Python: its sqlite3 module can load extensions (SpatiaLite);
# builds such as pyenv's often cannot.
apt_install_missing python3 python3-venv python3-dev libsqlite3-mod-spatialite

VENV=.venv
STAMP="$VENV/.installed-lock"
if [ ! -x "$VENV/bin/python" ]; then
    /usr/bin/python3 -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || ! cmp -s requirements.lock "$STAMP"; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --require-hashes -r requirements.lock
    "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .
    cp requirements.lock "$STAMP"
fi
