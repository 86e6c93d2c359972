"""The command screen's base map, from settings: where its tiles come from and which datum they are
drawn in.

The datum is the point of this module. AMap (高德) and Tencent tiles are drawn in GCJ-02, so a grid
boundary stored in CGCS2000 lands hundreds of metres off the streets unless it is shifted to GCJ-02
first; 天地图 tiles are CGCS2000 and nothing may be shifted. The screen asks the service for every
layer in `datum` (gridsvc.oversight.screen_map) and never converts a coordinate itself. With no tile source
(an office network without the internet) the grids are drawn alone, in CGCS2000.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from gridsvc.kernel.config import Settings
from gridsvc.geo.crs import InputCRS, UnknownCRSError, parse_crs

NO_BASEMAP_DATUM = "cgcs2000"


class BasemapError(ValueError):
    """A base-map setting that cannot work; raised when the app starts, not when a screen opens."""


@dataclass(frozen=True)
class Basemap:
    url: str  # the tile URL template, key filled in
    datum: InputCRS
    subdomains: str
    attribution: str
    max_zoom: int

    @property
    def tile_source(self) -> str:
        """The tiles' origin as a Content-Security-Policy source: `https://*.is.autonavi.com` for a
        template whose first host label holds `{s}`; the bare scheme when a placeholder sits deeper."""
        parts = urlsplit(self.url)
        labels = parts.hostname.split(".")
        if "{" in labels[0]:
            labels[0] = "*"
        if any("{" in label for label in labels):
            return f"{parts.scheme}:"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{'.'.join(labels)}{port}"

    def as_json(self) -> dict:
        return {"url": self.url, "datum": self.datum.name, "subdomains": self.subdomains,
                "attribution": self.attribution, "max_zoom": self.max_zoom}


def basemap_of(settings: Settings) -> Basemap | None:
    """The configured base map, or None for none; BasemapError names the setting that is wrong."""
    if not settings.basemap_url:
        return None
    template = settings.basemap_url
    missing = [part for part in ("{z}", "{x}", "{y}") if part not in template]
    if missing:
        raise BasemapError(f"GRIDSVC_BASEMAP_URL lacks {', '.join(missing)}: {template}")
    if "{s}" in template and not settings.basemap_subdomains:
        raise BasemapError("GRIDSVC_BASEMAP_URL uses {s}: set GRIDSVC_BASEMAP_SUBDOMAINS, e.g. 1234")
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise BasemapError(f"GRIDSVC_BASEMAP_URL must be an http(s) URL with a host and no user: {template}")
    if "{key}" in template and not settings.basemap_key:
        raise BasemapError("GRIDSVC_BASEMAP_URL uses {key}: set GRIDSVC_BASEMAP_KEY")
    return Basemap(template.replace("{key}", settings.basemap_key), _datum(settings.basemap_datum),
                   settings.basemap_subdomains, settings.basemap_attribution, int(settings.basemap_max_zoom))


def drawing_datum(basemap: Basemap | None) -> InputCRS:
    """The datum the screen's overlays are drawn in: the base map's, or CGCS2000 without one."""
    return basemap.datum if basemap else parse_crs(NO_BASEMAP_DATUM)


def _datum(name: str) -> InputCRS:
    try:
        datum = parse_crs(name)
    except UnknownCRSError as exc:
        raise BasemapError(f"GRIDSVC_BASEMAP_DATUM: {exc}") from exc
    if datum.name != "gcj02" and datum.epsg not in (4490, 4326):
        raise BasemapError(f"GRIDSVC_BASEMAP_DATUM must be gcj02, cgcs2000 or wgs84 (web-mercator tiles), not {name}")
    return datum
