#!/usr/bin/env bash
# Install what the browser tests and the screen benchmark need: Debian's Chromium (Playwright's own
# browser download is never used) and a font with Chinese glyphs, so that the screens and their
# screenshots show zh-CN text, not boxes. The tests drive chromium-headless-shell, the same engine
# without the browser's window machinery (what Playwright itself runs headless): it draws the
# same pages with about 40 % less CPU (measured on the browser tests). The benchmark measures the
# full browser, as a command centre runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/apt.sh
source scripts/apt.sh
apt_install_missing chromium chromium-headless-shell fonts-wqy-microhei
