"""The npm packages the service's own pages load (the command screen, the field app), served from
`node_modules`, where the project's set-up installs them from package-lock.json.

Township office networks and phones in a village often have no internet access, so nothing is
loaded from a CDN. Each package is served from its built folder only, never its sources or its
package.json.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_from_directory

from gridsvc.web.errors import ApiError

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
# Package -> the folder of its built files (package.json pins each version).
BUILT_FOLDER = {
    "echarts": "dist",
    "gcoord": "dist",  # WGS84 -> GCJ-02 on the phone (its GPS gives WGS84, AMap's tiles are GCJ-02)
    "idb": "build",  # IndexedDB with promises: the field app's offline store
    "leaflet": "dist",
    "socket.io-client": "dist",
    "supercluster": "dist",
}
VENDOR_MAX_AGE_S = 24 * 3600  # they change only when package-lock.json does


def vendor_file(package: str, filename: str) -> Response:
    """One built file of a pinned package; 404 for another package, 503 when `make setup` has not run."""
    if package not in BUILT_FOLDER:
        raise ApiError(404, "not_found", f"没有这个前端库 / no such library: {package[:40]}")
    folder = NODE_MODULES / package / BUILT_FOLDER[package]
    if not folder.is_dir():
        raise not_installed()
    # send_from_directory joins safely: `..`, absolute paths and folders answer 404.
    return send_from_directory(folder, filename, max_age=VENDOR_MAX_AGE_S)


def not_installed() -> ApiError:
    """503: the set-up has not installed the npm packages (node_modules is missing or incomplete)."""
    return ApiError(503, "libraries_not_installed",
                    "前端依赖未安装，请运行 make setup / the pages' npm packages are missing: run make setup")
