"""What several test modules share: constants, plain helpers and sample data. Fixtures live in the
conftest.py files (tests/conftest.py for all, a folder's own for that folder); no test module imports
another. Import as `from tests.support import ...` (pyproject.toml puts the repository on sys.path).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
import shapely
import socketio
import sqlalchemy as sa
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from PIL import Image, ImageCms
from PIL.TiffImagePlugin import IFDRational
from shapely import Point

from fixtures.sample import CATALOGUE_FILE
from gridsvc.accounts import users as accounts
from gridsvc.cases import record as case_record
from gridsvc.catalogue.store import current_category, load_catalogue, read_json
from gridsvc.geo import metric
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.kernel.config import Settings
from gridsvc.kernel.db import make_engine
from gridsvc.kernel.models import Attachment, Case, Department, Team, User

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DATA = TESTS / "data"

# The production password hashing, before tests/conftest.py makes it quick for the session.
PRODUCTION_PASSWORD_HASH_METHOD = accounts.PASSWORD_HASH_METHOD

# -- the sample county and its people -------------------------------------------------------------

PASSWORD = "correct horse battery"
COUNTY, QIJIA, LUXIANG = "220112000000", "220112100000", "220112102000"  # 双阳区, 齐家镇, 鹿乡镇
# The phones of the `field` and `town` fixtures (tests/conftest.py).
WORKER, COMMANDER, OFFICER, STRANGER = "13800000003", "13800000001", "13800000006", "13800000009"
LUXIANG_COMMANDER, ADMIN = "13800000011", "13800000012"


# -- databases --------------------------------------------------------------------------------------

POSTGRES_ADMIN_URL = os.environ.get(
    "GRIDSVC_TEST_POSTGRES_URL", "postgresql://gridsvc_test:gridsvc_test@127.0.0.1:5432/postgres"
)
BACKENDS = ["spatialite", "postgis"]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def postgis_unavailable(reason: str):
    """Skip on a developer machine; fail in CI, where a missing PostGIS must never pass silently."""
    if in_ci():
        pytest.fail(f"PostGIS is required in CI: {reason}")
    pytest.skip(f"PostGIS not available: {reason}")


def create_postgis_database() -> str:
    """A new database with the postgis extension: its URL."""
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"gridsvc_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        postgis_unavailable(str(exc).splitlines()[0])
    finally:
        admin.dispose()
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except sa.exc.SQLAlchemyError as exc:
        drop_postgis_database(name)
        postgis_unavailable(f"CREATE EXTENSION postgis failed: {str(exc).splitlines()[0]}")
    finally:
        engine.dispose()
    return url


def drop_postgis_database(name: str) -> None:
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def wipe(engine) -> None:
    """Delete every row the service writes, leaving an empty network at revision 0."""
    with engine.begin() as conn:
        for table in (
            "case_ratings", "event_acks", "events", "patrol_days", "patrol_points", "patrols",
            "attachments", "case_events", "cases", "login_attempts", "auth_tokens", "users", "responsibility_rules",
            "teams", "departments", "categories", "category_majors", "calendar_days",
        ):
            conn.execute(sa.text(f"DELETE FROM {table}"))
        conn.execute(sa.text("DELETE FROM grid_cells"))
        conn.execute(sa.text("UPDATE admin_units SET parent_code = NULL"))
        conn.execute(sa.text("DELETE FROM admin_units"))
        conn.execute(sa.text("UPDATE network_revision SET revision = 0, changed_at = NULL"))


# -- concurrency ------------------------------------------------------------------------------------

T = TypeVar("T")


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Start every call in its own thread at the same moment; their results, in order.

    The first exception any call raised is raised here, after all threads ended.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(position: int, call: Callable[[], T]) -> None:
        barrier.wait()
        try:
            results[position] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# -- photos: real images built in memory with Pillow, with the EXIF a phone writes (GPS, time, orientation)

MAKER = "SecretPhone-X9"  # a string that must never appear in a copy leaving the service
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Make="' + MAKER.encode()
       + b'"/></rdf:RDF></x:xmpmeta>')


def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Unsigned degrees as EXIF writes them: degrees, minutes, seconds as rationals."""
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = Fraction(round((value - degrees - minutes / 60) * 3600 * 10000), 10000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds.numerator, seconds.denominator)


def gps_ifd(lon: float, lat: float) -> dict:
    return {0: b"\x02\x02\x00\x00", 1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W",
            4: dms(lon)}


def exif(gps: dict | None = None, orientation: int | None = None, taken: str | None = "2026:11:25 10:00:00",
         offset: str | None = None) -> Image.Exif:
    data = Image.Exif()
    data[0x010F] = MAKER  # Make
    data[0x0110] = MAKER  # Model
    if orientation:
        data[0x0112] = orientation
    details = data.get_ifd(0x8769)
    if taken:
        details[0x9003] = taken
    if offset:
        details[0x9011] = offset
    if gps:
        data.get_ifd(0x8825).update(gps)
    return data


def two_tone(size=(40, 20), mode="RGB") -> Image.Image:
    """Left half red, right half blue: shows which way a picture was turned."""
    image = Image.new(mode, size, (0, 0, 255) if mode == "RGB" else (0, 0, 255, 255))
    image.paste((255, 0, 0) if mode == "RGB" else (255, 0, 0, 255), (0, 0, size[0] // 2, size[1]))
    return image


def encode(image: Image.Image, fmt: str = "JPEG", metadata: Image.Exif | None = None, **options) -> bytes:
    buffer = io.BytesIO()
    if metadata is not None:
        options["exif"] = metadata
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def phone_jpeg(lon: float | None = None, lat: float | None = None, orientation: int | None = None,
               size=(40, 20), **exif_options) -> bytes:
    """A JPEG as a phone writes it: EXIF (maker, time, GPS, orientation), XMP, an ICC profile, a comment."""
    gps = gps_ifd(lon, lat) if lon is not None else None
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(two_tone(size), "JPEG", exif(gps, orientation, **exif_options), xmp=XMP, icc_profile=srgb,
                  comment=MAKER.encode(), quality=95)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's shape)."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    struct.pack_into(">II", data, 16, width, height)  # IHDR data starts at byte 16
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def cut(data: bytes) -> bytes:
    """The first three quarters of a file: an upload broken off in the middle of the picture data."""
    return data[:len(data) * 3 // 4]


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- locating ---------------------------------------------------------------------------------------


_SHARED_EDGE_POINTS: dict[tuple, list] = {}


def shared_edge_points(index, offset_m: float, limit: int = 40):
    """Points `offset_m` metres inside cell A from the middle of edges A shares with B.

    Worked out once per network (0.15 s for the sample county, which most tests load): the answer depends
    on the cells' codes, kinds and geometries alone, and those are the key."""
    network = hashlib.sha256()
    for position, cell in enumerate(index.cells):
        network.update(f"{cell.code}|{cell.kind}|".encode())
        network.update(shapely.to_wkb(index.geometry(position)))
    key = (network.hexdigest(), offset_m, limit)
    if key not in _SHARED_EDGE_POINTS:
        _SHARED_EDGE_POINTS[key] = _shared_edge_points(index, offset_m, limit)
    return list(_SHARED_EDGE_POINTS[key])


def _shared_edge_points(index, offset_m: float, limit: int):
    base = [i for i, c in enumerate(index.cells) if c.kind == "base"]
    tree = shapely.STRtree([index.geometry(i) for i in base])
    found = []
    for a_pos, a in enumerate(base):
        geom_a = index.geometry(a)
        for b_pos in tree.query(geom_a, predicate="touches"):
            b = base[b_pos]
            if b <= a:
                continue
            edge = shapely.line_merge(geom_a.boundary.intersection(index.geometry(b).boundary))
            if edge.geom_type != "LineString" or metric.to_zone(edge, geom_a.centroid.x).length < 20 * offset_m:
                continue
            middle = edge.interpolate(0.5, normalized=True)
            probe = _step_into(middle, geom_a, offset_m)
            found.append((index.cells[a].code, index.cells[b].code, probe))
            if len(found) >= limit:
                return found
    return found


def _step_into(point: Point, cell, metres: float) -> Point:
    """Move `metres` from a boundary point towards the inside of `cell`, in the GK zone."""
    zone_cell = metric.to_zone(cell, point.x)
    zone_point = metric.to_zone(point, point.x)
    for angle in np.linspace(0, 2 * np.pi, 72, endpoint=False):
        candidate = Point(zone_point.x + metres * np.cos(angle), zone_point.y + metres * np.sin(angle))
        if zone_cell.contains(candidate.buffer(metres * 0.5)):
            return metric.from_zone(candidate, point.x)
    raise AssertionError("no inward direction found")


def moved(point: Point, east_m: float, north_m: float = 0.0) -> Point:
    """A CGCS2000 point moved this many metres east and north, in its Gauss–Krüger zone (gridsvc.geo.metric)."""
    in_zone = metric.to_zone(point, point.x)
    return metric.from_zone(Point(in_zone.x + east_m, in_zone.y + north_m), point.x)


def base_grid_and_point(index):
    """A base grid of 齐家镇 in the sample county, and a point inside it."""
    position = next(i for i, c in enumerate(index.cells) if c.code.startswith("220112100") and c.kind == "base")
    return index.cells[position], index.geometry(position).representative_point()


# -- the HTTP APIs and their OpenAPI documents ------------------------------------------------------

# A JSON body's numbers and booleans must be JSON numbers and booleans: each change, and the error it gets.
JSON_TYPE_ERRORS = [
    ({"lon": "125.56"}, "须为数字 / Not a valid number."), ({"lat": "43.5"}, "须为数字 / Not a valid number."),
    ({"accuracy": "5"}, "须为数字 / Not a valid number."), ({"lon": True}, "须为数字 / Not a valid number."),
    ({"urgent": "yes"}, "须为布尔值 / Not a valid boolean."), ({"urgent": 1}, "须为布尔值 / Not a valid boolean."),
    ({"urgent": "true"}, "须为布尔值 / Not a valid boolean."),
]

NULL_ONLY = {"type": "object", "nullable": True, "not": {"type": "object"}}


def resolve(spec, node, strict=False):
    """`node` with every $ref replaced by its component; `strict` also forbids undocumented fields."""
    if isinstance(node, list):
        return [resolve(spec, v, strict) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return resolve(spec, spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]], strict)
    out = {k: resolve(spec, v, strict) for k, v in node.items()}
    if strict and out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    if strict and "anyOf" in out:  # apispec's nullable nested schema: [the schema, any object or null]
        out["anyOf"] = [NULL_ONLY if s == {"type": "object", "nullable": True} else s for s in out["anyOf"]]
    return out


def assert_documented(spec, method: str, path: str, response, status: int) -> None:
    """The response has `status`, the document lists that status for the operation, and the body fits."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    documented = spec["paths"][path][method]["responses"]
    assert str(status) in documented, f"{method.upper()} {path} answered {status}, not documented"
    content = documented[str(status)].get("content")
    if content is None:
        assert response.get_data() == b""
        return
    assert response.mimetype in content, f"{method.upper()} {path}: {response.mimetype} not in {list(content)}"
    if response.mimetype == "application/json":
        schema = resolve(spec, content["application/json"]["schema"], strict=True)
        OAS30Validator(schema, format_checker=oas30_format_checker).validate(response.get_json())


# -- the phones (the `field` and `town` fixtures) -------------------------------------------------


def report_body(field, **changes):
    """A phone's report of 乱堆乱放 at `field`'s probe point, next to its grid's shared edge."""
    x, y = from_cgcs2000(field["probe"].x, field["probe"].y, parse_crs("gcj02"))
    return {"client_uuid": str(uuid.uuid4()), "category": "02004", "description": "村口堆放秸秆",
            "lon": x, "lat": y, "crs": "gcj02", "accuracy": 4, "reported_at": "2026-11-25T09:12:00+08:00",
            **changes}


def token(town, who) -> str:
    return town["headers"](who)["Authorization"].split(" ", 1)[1]


def town_report(town, who=WORKER) -> dict:
    """A report by `who` from a phone: in the worker's grid, or for the stranger (鹿乡镇) in theirs."""
    body = report_body(town)
    if who == STRANGER:
        body.update(lon=town["other_point"].x, lat=town["other_point"].y, crs="cgcs2000")
    answer = town["phone"].post("/mobile/v1/reports", json=body, headers=town["headers"](who))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def town_step(town, who, number, name, **body):
    answer = town["phone"].post(f"/api/v1/cases/{number}/steps/{name}", json=body, headers=town["headers"](who))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def dispatched(town):
    """A case reported, filed and dispatched: its tracking number."""
    number = town_report(town)["tracking_no"]
    town_step(town, COMMANDER, number, "file")
    town_step(town, COMMANDER, number, "dispatch")
    return number


# -- live events in one process (the relay pumped by hand) --------------------------------------


def connect(app, town, who, **auth):
    return app.extensions["gridsvc"].live.socketio.test_client(app, auth={"token": token(town, who), **auth})


def pump(rt) -> int:
    return rt.live.relay.pump()


def events_of(client) -> list[dict]:
    return [m["args"][0] for m in client.get_received() if m["name"] == "event"]


def received(client) -> list[tuple[str, dict]]:
    return [(m["name"], m["args"][0]) for m in client.get_received()]


class Recording:
    """The relay's transport, noting what it sends (a dropped test client cannot be read any more)."""

    def __init__(self, transport):
        self.transport, self.sent = transport, []

    def send(self, to, name, data):
        self.sent.append((to, name, data))
        self.transport.send(to, name, data)

    def __getattr__(self, name):
        return getattr(self.transport, name)


# -- the workflow through the command centre's API (the `office` fixture) --------------------------

LOCAL_CATEGORY = "02004"  # 乱堆乱放: the township acts
RESERVED_CATEGORY = "06002"  # 食品安全问题: reserved to the county's 市场监管局
# The people of the `office` fixture, by the names the tests give them.
OFFICE_PHONES = {"worker": "13800000003", "worker2": "13800000004", "commander": "13800000001",
                 "other_commander": "13800000002", "supervisor": "13800000005", "handler": "13800000006",
                 "other_handler": "13800000007", "county_handler": "13800000008"}


def report(office, who="worker", category=LOCAL_CATEGORY, offset_m=0.0):
    point = office["point"]
    x, y = from_cgcs2000(point.x + offset_m / 90000.0, point.y, parse_crs("gcj02"))
    body = {"client_uuid": str(uuid.uuid4()), "category": category, "description": "村道旁堆放建筑垃圾",
            "lon": x, "lat": y, "crs": "gcj02", "accuracy": 5}
    response = office["client"].post("/api/v1/reports", json=body, headers=office["headers"](who))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def step(office, who, case, name, expect=200, **body):
    response = office["client"].post(f"/api/v1/cases/{case['tracking_no']}/steps/{name}", json=body,
                                     headers=office["headers"](who))
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def actions(office, case, who="commander"):
    record = office["client"].get(f"/api/v1/cases/{case['tracking_no']}/record", headers=office["headers"](who))
    return [entry["action"] for entry in record.get_json()["record"]]


def assert_record_intact(rt):
    with rt.sessions() as session:
        assert case_record.verify(session) == []


def closed_case(office):
    case = report(office)
    step(office, "commander", case, "file")
    step(office, "commander", case, "dispatch")
    step(office, "handler", case, "accept")
    step(office, "handler", case, "feedback", note="已清理完毕")
    step(office, "worker", case, "verify")
    return step(office, "commander", case, "close", note="已清理，现场恢复整洁")


def upload_photo(office, who: str, number: str, jpeg: bytes) -> int:
    """A photo uploaded to the case through the API by `who`: its attachment id."""
    answer = office["client"].post(f"/api/v1/cases/{number}/attachments", content_type="multipart/form-data",
                                   data={"photo": (io.BytesIO(jpeg), "IMG_0001.jpg", "image/jpeg")},
                                   headers=office["headers"](who))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def whole_case(office, rt) -> dict:
    """A case through every stage, through the API: reported with the worker's photo taken on the spot, filed,
    dispatched to a team of the township's department, accepted and reached 60 m from the case by that team's
    handler, a photo of the result taken 2 km away (so flagged), handled, verified and closed. Its number,
    the team's and the department's names, and the two photos' ids."""
    with rt.sessions.begin() as session:
        team = session.scalars(sa.select(Team).where(Team.department_code == office["local"])
                               .order_by(Team.code)).first()
        session.scalar(sa.select(User).where(User.phone == OFFICE_PHONES["handler"])).team_code = team.code
        department = session.get(Department, office["local"]).name_zh
        named = {"team_code": team.code, "team": team.name_zh, "department": department}
    case = report(office)
    number, point = case["tracking_no"], office["point"]
    on_the_spot = upload_photo(office, "worker", number, phone_jpeg(point.x, point.y))
    step(office, "commander", case, "file")
    step(office, "commander", case, "dispatch", department=office["local"], team=team.code)
    step(office, "handler", case, "accept")
    there, far = moved(point, 60), moved(point, 2000)
    step(office, "handler", case, "arrive", lon=there.x, lat=there.y, crs="cgcs2000")
    result = upload_photo(office, "handler", number, phone_jpeg(far.x, far.y, size=(60, 30)))  # other pixels
    step(office, "handler", case, "feedback", note="已清理完毕", attachments=[result])
    step(office, "worker", case, "verify")
    step(office, "commander", case, "close", note="现场已恢复整洁")
    return {"number": number, **named, "on_the_spot": on_the_spot, "result": result}


def photo_required_for(rt, code: str) -> None:
    """Load the sample catalogue with `code` asking for a photo with its feedback: a new version of it."""
    data = read_json(CATALOGUE_FILE)
    next(c for c in data["categories"] if c["code"] == code)["feedback_photo_required"] = True
    with rt.sessions.begin() as session:
        assert load_catalogue(session, data).changed == 1
    with rt.sessions() as session:
        assert current_category(session, code).feedback_photo_required


def fed_back_with_the_reporters_photo(office, rt) -> tuple[dict, int]:
    """A case of a category that asks for a photo with its feedback, handled with a feedback that names only the
    reporter's own photo (which shows the problem, not that it was solved): the case, and that photo's id."""
    photo_required_for(rt, LOCAL_CATEGORY)
    case = report(office)
    point = office["point"]
    reporters = upload_photo(office, "worker", case["tracking_no"], phone_jpeg(point.x, point.y))
    step(office, "commander", case, "file")
    step(office, "commander", case, "dispatch")
    step(office, "handler", case, "accept")
    step(office, "handler", case, "feedback", note="已清理", attachments=[reporters])
    return case, reporters


def rate(office, who, case, expect, prefix="/api/v1", **body):
    response = office["client"].post(f"{prefix}/cases/{case['tracking_no']}/rating", json=body,
                                     headers=office["headers"](who))
    assert response.status_code == expect, response.get_json()
    return response


# -- the numbers' history (tests/oversight: the `town` and `history` fixtures there) ----------------

V1, V2 = "220112100201", "220112100202"  # 齐家村, 东升村 (齐家镇)
L1 = "220112102201"  # 鹿乡村 (鹿乡镇)
ZHZF, ZZZX, CJHB = f"{QIJIA}-ZHZF", f"{QIJIA}-ZZZX", f"{QIJIA}-CJHB"
PILED, DISPUTE, CLEANING = "02004", "01001", "02001"  # 乱堆乱放 (执法, 2 days), 邻里纠纷 (综治, 5 days), 保洁 (服务)


def at(text: str) -> datetime:
    """A China time, e.g. at("2026-05-11T15:10")."""
    return datetime.fromisoformat(text + "+08:00")


def utc(text: str) -> str:
    """A China time as the API writes it (UTC)."""
    return at(text).astimezone(timezone.utc).isoformat()


FROM, TO, NOW = at("2026-04-27T00:00"), at("2026-05-12T00:00"), at("2026-05-11T15:10")


# -- OGC API – Features --------------------------------------------------------------------------------

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CGCS2000 = "http://www.opengis.net/def/crs/EPSG/0/4490"
SAMPLE_GRIDS = 203


def local(href: str) -> str:
    """An absolute link as a path the test client can follow."""
    parts = urlsplit(href)
    assert parts.scheme == "http" and parts.netloc == "localhost", href
    return parts.path + (f"?{parts.query}" if parts.query else "")


def links_by_rel(document: dict) -> dict[str, dict]:
    return {link["rel"]: link for link in document["links"]}


def assert_exception(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"code", "description"} and body["description"]
    if code:
        assert body["code"] == code
    return body


def gdal_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if in_ci():
            pytest.fail(f"{name} (Debian package gdal-bin) is required in CI")
        pytest.skip(f"{name} not installed (apt-get install gdal-bin)")
    return path


# -- Open311 (the `channel` fixture) ---------------------------------------------------------------

KEY = "citizen-app-key-0123456789abcdef"
APP_PHONE, APP_NAME = "13900000311", "市民随手拍(渠道账号)"
BASE = "/open311/v2"


def open311_settings(database_url) -> Settings:
    """Settings with the citizen app's key, for a module's `settings` fixture."""
    return Settings(database_url=database_url, index_refresh_seconds=0.0, open311_api_keys=f"{KEY}={APP_PHONE}")


def xml_of(answer) -> ET.Element:
    assert answer.mimetype == "text/xml", answer.data[:200]
    return ET.fromstring(answer.data)


# -- the browser tests ---------------------------------------------------------------------------------


def serve(database_url: str, tmp_path: Path, **settings: str):
    """The service under gunicorn (one gevent worker) as the screen's browser tests use it."""
    from bench.serving import gunicorn

    env = {"GRIDSVC_DATABASE_URL": database_url, "GRIDSVC_EVENTS_POLL_SECONDS": "1",
           "GRIDSVC_RATE_LIMIT": "1000 per minute",  # one phone sends the 205 reports of the catch-up test
           **{f"GRIDSVC_{name.upper()}": value for name, value in settings.items()}}
    # No graceful timeout: the stop comes after the test, and a gevent worker waits it out whether or not
    # a page is still connected to the live channel (1 s a test; 30 s by default).
    serving = ["--worker-class", "gevent", "--workers", "1", "--graceful-timeout", "0"]
    return gunicorn("gridsvc.wsgi:app", env, serving, tmp_path / "server.log")


def wait_until(page, condition: str, timeout: float = 30.0) -> None:
    """Poll a JavaScript condition from here. (Playwright's wait_for_function evaluates its text with
    eval in the page, which the screen's Content-Security-Policy forbids, as it should.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"Boolean({condition})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {condition}")
        time.sleep(0.05)


# -- servers in their own processes (tests/live) ---------------------------------------------------

REDIS_URL = os.environ.get("GRIDSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def service_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {"GRIDSVC_DATABASE_URL": database_url, "GRIDSVC_EVENTS_REDIS_URL": redis_url,
            "GRIDSVC_EVENTS_POLL_SECONDS": "30"}  # long: what arrives quickly came through Redis


def handle_in_arrival_order(client) -> None:
    """Make `client` run its handlers one at a time, in the order the messages arrived.

    python-engineio's client starts a new thread for every message it receives, so under load two
    events that arrived in order can be noted the other way round: a screen then seemed to hear
    …72, 74, 73… from a server that sent them in order (seen once in three suite runs). The
    command screen's Socket.IO client in the browser handles messages one by one; so does this one,
    in the thread that reads the connection (the handlers here only take notes)."""
    trigger = client.eio._trigger_event

    def in_order(event, *args, **kwargs):
        return trigger(event, *args, **{**kwargs, "run_async": False})

    client.eio._trigger_event = in_order


class Screen:
    """A Socket.IO client as the command screen is one: connects with its token, notes what it hears."""

    def __init__(self, base: str, access_token: str, since: int | None = None):
        self.messages: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        handle_in_arrival_order(self.client)
        for name in ("event", "live", "resync", "signed_out"):
            self.client.on(name, functools.partial(self._note, name))
        auth = {"token": access_token, **({"since": since} if since is not None else {})}
        self.client.connect(base, auth=auth, transports=["websocket"], wait_timeout=10)

    def _note(self, name: str, data: dict) -> None:
        with self._lock:
            self.messages.append((name, data))

    def events(self) -> list[dict]:
        with self._lock:
            return [data for name, data in self.messages if name == "event"]

    def heard(self, name: str) -> bool:
        with self._lock:
            return any(n == name for n, _ in self.messages)

    def cases(self, kind: str = "case.created") -> list[str]:
        return [e["data"]["case"]["tracking_no"] for e in self.events() if e["kind"] == kind]

    def close(self) -> None:
        self.client.disconnect()


def eventually(check, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


# -- pages in a browser: the command screen, the field app ------------------------------------------

WALL = {"width": 1920, "height": 1080}
PHONES = {"360x740": {"width": 360, "height": 740}, "390x844": {"width": 390, "height": 844}}


def geolocation(point, accuracy: float = 6.0) -> dict:
    """A GPS fix at a CGCS2000 point, as a phone's browser gives it (WGS84: the same to well under a metre)."""
    return {"longitude": point.x, "latitude": point.y, "accuracy": accuracy}


def sign_in_screen(page, base: str, phone: str, password: str = PASSWORD, goto: bool = True) -> None:
    if goto:
        page.goto(f"{base}/screen/")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", password)
    page.click("#sign-in button[type=submit]")
    wait_until(page, "window.gridsvcScreen?.map?.gridCount() > 0")
    page.wait_for_selector("#live-status[data-state=live]", timeout=20_000)


def report_over_http(base: str, town, who: str = WORKER, **changes) -> str:
    answer = requests.post(f"{base}/mobile/v1/reports", json=report_body(town, **changes), timeout=30,
                           headers=town["headers"](who))
    assert answer.status_code == 201, answer.text
    return answer.json()["tracking_no"]


def case_marker(number: str, status: str = "") -> str:
    """The case's marker on the map (optionally: drawn in this status)."""
    return f'.case-marker{"." + "status-" + status if status else ""} [data-tracking-no="{number}"]'


def open_sheet_from_marker(page, number: str) -> None:
    """Open a case's sheet from the map as a commander does: its marker's pop-up, then 查看案件."""
    page.click(case_marker(number))
    page.click(f'.case-popup [data-tracking-no="{number}"] [data-open-sheet]')
    page.wait_for_selector(f"#case-sheet h2:has-text('{number}')")


def jpeg_photo(colour: tuple[int, int, int], size=(640, 480)) -> dict:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=80)
    name = "photo-{}-{}-{}.jpg".format(*colour)
    return {"name": name, "mimeType": "image/jpeg", "buffer": out.getvalue()}


def sign_in_phone(page, base: str, phone_number: str = WORKER) -> None:
    page.goto(f"{base}/m/")
    page.fill("input[name=phone]", phone_number)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in button[type=submit]")
    wait_until(page, "window.gridsvcField?.ready === true")


def app_installed(page) -> None:
    """The service worker is active: the app shell is in its cache, and the next page load, with or without
    a network, goes through it. (This page itself may stay uncontrolled: a worker that activates while the
    page's own request is in flight does not take it over, and the app needs no control of it.)"""
    deadline = time.monotonic() + 30
    active = "navigator.serviceWorker.ready.then((registration) => registration.active.state)"
    while page.evaluate(active) != "activated":
        assert time.monotonic() < deadline, "the service worker did not activate"
        time.sleep(0.05)


def file_report(page, description: str, photos: list[dict]) -> str:
    """Fill and submit the report form (the location is the phone's fix): the report's client UUID."""
    page.click(".tabs button[data-view=report]")
    page.fill("#category-search", "乱堆")
    page.click("#category-results button[data-code='02004']")
    page.fill("#description", description)
    wait_until(page, "document.getElementById('grid-here').textContent !== ''")
    for picture in photos:
        page.set_input_files("#gallery", files=[picture])
    client_uuid = page.evaluate("gridsvcField.form.clientUuid")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector(f"#outbox li[data-client-uuid='{client_uuid}']")
    return client_uuid


def photos_reported_by(rt, phone_number: str) -> dict[str, set[str]]:
    """The SHA-256 of the photos filed with each of the worker's cases, by the case's client UUID."""
    with rt.sessions() as session:
        rows = session.execute(
            sa.select(Case.client_uuid, Attachment.sha256).join(User, User.id == Case.reporter_id)
            .join(Attachment, Attachment.case_id == Case.id).where(User.phone == phone_number)).all()
    found: dict[str, set[str]] = {}
    for client_uuid, sha256 in rows:
        found.setdefault(client_uuid, set()).add(sha256)
    return found


def wait_until_sent(page, client_uuid: str) -> None:
    """Until the field app's outbox shows the report accepted, with its photos sent (or refused)."""
    row = f"document.querySelector(\"#outbox li[data-client-uuid='{client_uuid}']\")"
    wait_until(page, f"{row}?.dataset.state === 'accepted' && !{row}.textContent.includes('照片待发送')")


def cases_reported_by(rt, phone_number: str) -> dict[str, tuple[str, int]]:
    """The worker's cases in the database: client UUID -> (tracking number, photos)."""
    with rt.sessions() as session:
        rows = session.execute(
            sa.select(Case.client_uuid, Case.tracking_no, sa.func.count(Attachment.id))
            .join(User, User.id == Case.reporter_id).outerjoin(Attachment, Attachment.case_id == Case.id)
            .where(User.phone == phone_number).group_by(Case.id)).all()
    return {uuid: (number, photos) for uuid, number, photos in rows}


# What a thumb can hit: every visible control, or the label that holds it (a checkbox, a file input).
TOO_SMALL = """(() => {
    const small = [];
    const controls = 'button, a[href], input, select, textarea, label.button, .leaflet-bar a';
    for (const control of document.querySelectorAll(controls)) {
        const target = control.matches('input[type=checkbox]') ? control.closest('label') : control;
        const box = target.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;  // not shown
        if (box.width < 44 || box.height < 44) {
            small.push(`${target.tagName}#${target.id}.${target.className} ${box.width}x${box.height}`);
        }
    }
    return small;
})()"""
SIDEWAYS = "document.documentElement.scrollWidth > window.innerWidth || document.body.scrollWidth > window.innerWidth"
# Latin words in what the user reads (codes, numbers and units such as 02004 or ±6 米 are not words, nor
# are tracking numbers: 20261208-YZ5SHY2Q).
ENGLISH = r"""(() => {
    const words = document.body.innerText.replace(/\d{8}-[A-Z2-7]{8}/g, '').match(/[A-Za-z]{2,}/g) || [];
    const said = [...document.querySelectorAll('[placeholder], [title], [aria-label]')]
        .map((e) => [e.placeholder, e.title, e.getAttribute('aria-label')].filter(Boolean).join(' ')).join(' ');
    return words.concat(said.match(/[A-Za-z]{2,}/g) || []);
})()"""


def check_phone_screen(page, where: str) -> None:
    assert not page.evaluate(SIDEWAYS), f"{where}: the page scrolls sideways"
    assert page.evaluate(TOO_SMALL) == [], f"{where}: controls smaller than 44×44 CSS px"
    assert page.evaluate(ENGLISH) == [], f"{where}: English on the screen"
