"""The field app (网格通) for grid workers' and officers' phones, served by the service itself at /m/.

An installable web app (docs/field-app.md): gridsvc/web/field/ holds the page, its style, its plain
ES modules, the web app manifest and the service worker; the npm libraries it loads come from
`node_modules` (gridsvc.web.vendor) under /m/vendor/, so that every file of the app is in the
service worker's scope and nothing is fetched from outside but the base map's tiles.

The service worker's precache list and version are written into it here, from the files as they
are on disk and the page's Content-Security-Policy: any change to either changes the worker's bytes,
so phones install the new version, whole, the next time they open the app with a network.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, redirect, send_from_directory

from gridsvc.web import vendor
from gridsvc.web.screen_web import current_policy, page_with_policy

field_web = Blueprint("field_web", __name__)
APP_DIR = Path(__file__).resolve().parent / "field"
# The app's libraries, as the page and its modules ask for them (under /m/vendor/).
VENDOR_FILES = ("leaflet/leaflet.js", "leaflet/leaflet.css", "idb/index.js", "gcoord/gcoord.esm-browser.prod.js",
                "socket.io-client/socket.io.min.js")
OWN_FILES = ("field.css", "manifest.webmanifest", "icons/icon-192.png", "icons/icon-512.png")


@field_web.get("/m")
def without_slash():
    return redirect("/m/")


@field_web.get("/m/")
def page():
    return page_with_policy(APP_DIR)


@field_web.get("/m/sw.js")
def service_worker():
    """The worker with the shell's list and version written in. Never cached by HTTP: the browser
    compares its bytes to learn whether the app changed."""
    shell = shell_files()
    if not all(path.is_file() for path in shell.values()):
        raise vendor.not_installed()
    # The page's policy is kept with the page in the worker's cache: a new base map's tile host must
    # reach the phones as a new version, as a changed file does.
    version = hashlib.sha256(current_policy().encode())
    for url, path in shell.items():
        version.update(url.encode() + b"\0" + path.read_bytes())
    text = ((APP_DIR / "sw.js").read_text(encoding="utf-8")
            .replace("__VERSION__", version.hexdigest()[:16])
            .replace("__SHELL__", json.dumps(sorted(shell))))
    response = Response(text, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def shell_files() -> dict[str, Path]:
    """Every file the app needs to open with no network: its URL under /m/ and where it is on disk."""
    files = {"/m/": APP_DIR / "index.html"}
    files.update({f"/m/{name}": APP_DIR / name for name in OWN_FILES})
    files.update({f"/m/js/{path.name}": path for path in sorted((APP_DIR / "js").glob("*.js"))})
    for name in VENDOR_FILES:
        package, filename = name.split("/", 1)
        files[f"/m/vendor/{name}"] = vendor.NODE_MODULES / package / vendor.BUILT_FOLDER[package] / filename
    return files


@field_web.get("/m/vendor/<package>/<path:filename>")
def vendor_file(package: str, filename: str):
    return vendor.vendor_file(package, filename)


@field_web.get("/m/<path:filename>")
def app_file(filename: str):
    # send_from_directory joins safely: `..`, absolute paths and folders answer 404.
    response = send_from_directory(APP_DIR, filename, max_age=0)
    if filename == "manifest.webmanifest":
        response.mimetype = "application/manifest+json"
    return response
