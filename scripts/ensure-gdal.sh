#!/usr/bin/env bash
# Install GDAL's command-line tools (Debian's gdal-bin): the OGC API – Features tests read the grid
# network with `ogrinfo` and `ogr2ogr` as a GIS office would (tests/standards/test_ogc_api.py).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/apt.sh
source scripts/apt.sh
apt_install_missing gdal-bin
