"""The public page of 政务公开 (docs/public.md), served by the service itself at /public/: no sign-in.

A citizen looks a case up by its tracking number, reads a township's anonymised figures and the
published responsibility list (责任清单). The page (gridsvc/web/public_page/: index.html, public.css,
js/ as plain ES modules, no build step, no npm package) calls only /api/v1/public/…, so it can show
nothing the public API does not publish.

Every file goes out with a strict Content-Security-Policy: scripts, styles, images and requests
from this service only, no inline script or style, no frames around it. The page names no outside
address (no CDN, no web fonts): it works on a township's network without internet access.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

public_web = Blueprint("public_web", __name__)
PAGE_DIR = Path(__file__).resolve().parent / "public_page"
CONTENT_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "connect-src 'self'; font-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; "
                  "form-action 'self'; frame-ancestors 'none'")


@public_web.get("/public/")
def page():
    return send_from_directory(PAGE_DIR, "index.html", max_age=0)


@public_web.get("/public/<path:filename>")
def page_file(filename: str):
    # send_from_directory joins safely: `..`, absolute paths and folders answer 404.
    return send_from_directory(PAGE_DIR, filename, max_age=0)


@public_web.after_request
def strict_headers(response):
    """On every answer of this blueprint, the page's files and its 404s alike."""
    response.headers["Content-Security-Policy"] = CONTENT_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # a case's number may stand in the address
    return response
