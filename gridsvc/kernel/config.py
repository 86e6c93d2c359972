"""Configuration from environment variables, with an embedded default.

Every setting has a `GRIDSVC_` environment variable; with none set the
service runs on a SpatiaLite file in the Flask instance folder, so a newcomer
needs no database server.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Service settings; `from_env` reads them, tests pass them directly."""

    database_url: str | None = None  # None: SpatiaLite file under the instance folder
    # Locate: how close to a shared edge counts as "on the boundary" (metres).
    boundary_tolerance_m: float = 1.0
    # Locate: how far outside every cell a point may be and still get the nearest cell.
    nearest_max_distance_m: float = 200.0
    # Largest accuracy radius accepted from a phone (metres).
    max_accuracy_m: float = 5000.0
    # How often a process re-checks whether another process changed the network, the catalogue and
    # rules, or the declared calendar days (seconds).
    index_refresh_seconds: float = 2.0
    # Validation: overlaps, gaps and spill-outs smaller than this are ignored (square metres).
    area_tolerance_m2: float = 1.0
    # Intake: an open case of the same category this near (metres) and this recent (hours)
    # makes a new report a possible duplicate.
    duplicate_distance_m: float = 50.0
    duplicate_window_hours: float = 24.0
    # Reverse proxies in front of the service (X-Forwarded-For hops to trust): sign-in
    # throttling must see the caller's address, not the proxy's.
    trusted_proxies: float = 0.0
    # Phones' rate limit per sign-in (Flask-Limiter notation), and where the counters live:
    # memory:// per process, redis://host:6379 shared by every process.
    rate_limit: str = "120 per minute;3000 per hour"
    rate_limit_storage: str = "memory://"
    # Office hours of working days, in China time: deadlines are counted in them.
    office_hours: str = "08:30-12:00,13:30-17:30"
    # Case photos: where their files live (None: the `media` folder in the instance folder),
    # the largest accepted file (bytes) and picture (pixels), and how far (metres) the photo's
    # EXIF GPS may lie from the reported point before the case is flagged.
    media_dir: str | None = None
    max_photo_bytes: float = 15.0 * 2**20
    max_photo_pixels: float = 50e6
    photo_mismatch_m: float = 300.0
    # The case file (案卷) as PDF: the TrueType font (.ttf, or a .ttc collection's first face) with the
    # Chinese glyphs, embedded in every file (Debian's fonts-wqy-microhei, scripts/ensure-fonts.sh).
    case_file_font: str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
    # Arrival on site (到达现场, the `arrive` step): an officer who says they are on site farther than this
    # (metres, from the case's point) flags the case `arrived_far_from_case` for the commander.
    arrival_max_distance_m: float = 300.0
    # Workflow clocks, in working time: filing (立案), dispatch (派遣) and closing (结案) each within
    # this many minutes (urgent cases: the second), verification (核查) within this many hours.
    filing_limit_minutes: float = 30.0
    urgent_filing_limit_minutes: float = 10.0
    verify_limit_hours: float = 2.0
    # Deadline sweep: warn when this share of a stage's working time is used up; alert the county
    # when a case is still overdue this many working days after its deadline.
    warn_at_fraction: float = 0.8
    county_alert_after_days: float = 1.0
    # Patrols (gridsvc.patrols.recording): the width (metres) either side of a track that counts as covered;
    # fixes less accurate than this many metres are refused; a step between two fixes faster than
    # this (m/s) or after a longer silence (minutes) is not counted; moves shorter than this
    # (metres) are GPS jitter of someone standing still.
    patrol_buffer_m: float = 30.0
    patrol_max_accuracy_m: float = 100.0
    patrol_max_speed_mps: float = 30.0
    patrol_max_gap_minutes: float = 5.0
    patrol_min_step_m: float = 5.0
    # A grid worker is on patrol now (the command screen's 巡查 layer and 在岗, gridsvc.oversight.patrols_now)
    # while a patrol is open and its last fix is at most this many minutes old. Phones send a batch every
    # minute or so, and keep fixes while the village has no signal: ten minutes rides out a dead spot
    # without showing someone who went home with the patrol left open.
    patrol_live_minutes: float = 10.0
    # Live events (gridsvc.events): where server processes hear that events were committed elsewhere
    # (redis://host:6379; empty: nowhere, the embedded default), and how often each process's relay
    # reads the outbox anyway (seconds; this also brings events of CLI commands and cron jobs when
    # there is no Redis). 0 runs no relay loop: tests drive the relay by hand.
    events_redis_url: str = ""
    events_poll_seconds: float = 1.0
    # A reconnecting client is sent at most this many missed events; further behind, it is told to
    # reload what it shows (`resync`).
    events_catch_up_limit: float = 5000.0
    # How often each process re-checks the tokens of its open live connections (seconds), so that a
    # deactivated user or a token revoked without an event is dropped too.
    events_token_recheck_seconds: float = 60.0
    # Dispatch notices: an unacknowledged dispatch is re-sent every this many minutes, and shown to
    # the township's commander once this many minutes have passed.
    dispatch_resend_minutes: float = 10.0
    dispatch_alert_minutes: float = 30.0
    # The command screen's base map (gridsvc.web.basemap): a tile URL template with {z}/{x}/{y} (and {s}
    # for a subdomain, {key} for the key); empty: no base map, the grids alone (an offline network).
    # The datum its tiles are drawn in decides what the screen's overlays are converted to: gcj02 for
    # AMap (高德) and Tencent, cgcs2000 for 天地图. The key is configuration, never code.
    basemap_url: str = ""
    basemap_datum: str = "gcj02"
    basemap_key: str = ""
    basemap_subdomains: str = ""
    basemap_attribution: str = ""
    basemap_max_zoom: float = 18.0
    # The citizen channel (Open311 GeoReport v2, gridsvc.standards.open311): the api_keys issued to citizen apps,
    # as `key=phone` pairs separated by commas; each key reports as the account with that phone.
    open311_api_keys: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            name = f"GRIDSVC_{field.name.upper()}"
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            values[field.name] = _positive(name, raw) if isinstance(field.default, float) else raw
        return cls(**values)


def _positive(name: str, raw: str) -> float:
    """A setting in metres, seconds or m²: a finite number, not negative."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be zero or more, not {raw!r}")
    return value


def default_database_url(instance_path: str | Path) -> str:
    """The embedded default: a SpatiaLite file in the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'gridsvc.sqlite'}"
