#!/usr/bin/env bash
# Install the Chinese font the case file's PDF embeds (Debian's fonts-wqy-microhei, a TrueType collection:
# GRIDSVC_CASE_FILE_FONT, gridsvc/cases/case_file_pdf.py). Without it GET /api/v1/cases/<no>/file.pdf
# answers 503 `case_file_font_missing`; the HTML case file still prints. The browser tests' Chromium
# draws the screen's Chinese with the same font (scripts/ensure-browser.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/apt.sh
source scripts/apt.sh
apt_install_missing fonts-wqy-microhei
