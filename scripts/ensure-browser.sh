#!/usr/bin/env bash
# Install what the command screen's browser tests need: Debian's Chromium (driven by Playwright
# through /usr/bin/chromium; Playwright's own browser download is never used) and a font with
# Chinese glyphs, so that the screens and their screenshots show zh-CN text, not boxes.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/apt.sh
source scripts/apt.sh
apt_install_missing chromium fonts-wqy-microhei
