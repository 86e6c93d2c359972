"""The command screen (综治指挥中心大屏) served by the service itself: the page and its scripts from
gridsvc/web/screen/, the third-party browser libraries (Leaflet, Supercluster, ECharts, the Socket.IO
client) from `node_modules` (gridsvc.web.vendor).

Township office networks often have no internet access, so nothing is loaded from a CDN: every
file the page asks for comes from this service. Only the base map's tiles, when one is configured
(gridsvc.web.basemap), come from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, redirect, send_from_directory

from gridsvc.kernel.runtime import runtime
from gridsvc.web import vendor
from gridsvc.web.basemap import Basemap, basemap_of

screen_web = Blueprint("screen_web", __name__)
PAGE_DIR = Path(__file__).resolve().parent / "screen"


@screen_web.get("/")
def home():
    return redirect("/screen/")


@screen_web.get("/screen/")
def page():
    return page_with_policy(PAGE_DIR)


def page_with_policy(folder: Path):
    """A page (its index.html, never cached by HTTP) with the policy of the configured base map."""
    response = send_from_directory(folder, "index.html", max_age=0)
    response.headers["Content-Security-Policy"] = current_policy()
    return response


def current_policy() -> str:
    return content_policy(basemap_of(runtime().settings))


def content_policy(basemap: Basemap | None) -> str:
    """What the page may load and where it may connect: this service only, and the base map's tiles.
    The page keeps its tokens in sessionStorage; this is defence in depth against injected script."""
    tiles = f" {basemap.tile_source}" if basemap else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' blob: data:{tiles}; connect-src 'self'; font-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'self'")


@screen_web.get("/screen/<path:filename>")
def page_file(filename: str):
    # send_from_directory joins safely: `..`, absolute paths and folders answer 404.
    return send_from_directory(PAGE_DIR, filename, max_age=0)


@screen_web.get("/screen/vendor/<package>/<path:filename>")
def vendor_file(package: str, filename: str):
    return vendor.vendor_file(package, filename)
