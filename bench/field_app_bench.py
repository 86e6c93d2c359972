"""What a phone downloads to open the field app (/m/), before any map tile: its JS and CSS, raw and
compressed, file by file, next to the command screen's as a baseline measured in the same run.

    python -m bench.field_app_bench

The issue behind the app set the budget: the JS and CSS it loads stay under 300 KB compressed, on a
village's mobile network and a phone's storage. Sizes are gzip level 6, as nginx in front of the
service sends them (`gzip on`; the service itself sends files uncompressed). The list of files is the
service worker's precache list (gridsvc.web.field_web.shell_files), so what is counted is what the
app really loads. A benchmark, not a test: it prints and never fails.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from gridsvc.web import vendor
from gridsvc.web.field_web import shell_files
from gridsvc.web.screen_web import PAGE_DIR as SCREEN_DIR

BUDGET_BYTES = 300 * 1024


def compressed(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def screen_files() -> dict[str, Path]:
    """The command screen's JS and CSS: its own modules and the libraries its page loads."""
    page = (SCREEN_DIR / "index.html").read_text(encoding="utf-8")
    files = {f"/screen/js/{p.name}": p for p in sorted((SCREEN_DIR / "js").glob("*.js"))}
    files["/screen/screen.css"] = SCREEN_DIR / "screen.css"
    for package, filename in re.findall(r'vendor/([^/"]+)/([^"]+)"', page):
        files[f"/screen/vendor/{package}/{filename}"] = (
            vendor.NODE_MODULES / package / vendor.BUILT_FOLDER[package] / filename)
    return files


def table(title: str, files: dict[str, Path]) -> tuple[int, int]:
    print(f"\n{title}")
    print(f"{'file':58} {'raw':>10} {'gzip':>10}")
    raw_total = gzip_total = 0
    for url, path in sorted(files.items()):
        if path.suffix not in (".js", ".css"):
            continue
        data = path.read_bytes()
        raw_total += len(data)
        gzip_total += compressed(data)
        print(f"{url:58} {len(data):>10,} {compressed(data):>10,}")
    print(f"{'total JS and CSS':58} {raw_total:>10,} {gzip_total:>10,}")
    return raw_total, gzip_total


def main() -> None:
    _, field_gzip = table("field app (/m/): the service worker's precache list", shell_files())
    _, screen_gzip = table("baseline: the command screen (/screen/)", screen_files())
    print(f"\nfield app: {field_gzip / 1024:.1f} KB gzip, budget {BUDGET_BYTES / 1024:.0f} KB "
          f"({'within' if field_gzip <= BUDGET_BYTES else 'OVER'}); command screen: {screen_gzip / 1024:.1f} KB gzip")


if __name__ == "__main__":
    main()
