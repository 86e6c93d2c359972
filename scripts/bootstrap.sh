#!/usr/bin/env bash
# Set up everything gridsvc needs to run on a fresh Debian machine:
# Debian packages (Python with venv, SpatiaLite, Node.js with npm), the virtual environment,
# the locked Python dependencies and the command screen's locked npm packages.
# Safe to run again: it only does what is missing.
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

# The command screen's browser libraries (package-lock.json), served from node_modules by the
# service itself (gridsvc/web/screen_web.py): nothing is loaded from a CDN at run time.
command -v npm >/dev/null 2>&1 || apt_install_missing nodejs npm
NPM_STAMP=node_modules/.installed-lock
if [ ! -f "$NPM_STAMP" ] || ! cmp -s package-lock.json "$NPM_STAMP"; then
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json "$NPM_STAMP"
fi
