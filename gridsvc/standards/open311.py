"""The citizen channel: Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2/) over our cases.

Plain functions; gridsvc.web.open311_api is the thin web layer. See docs/open311.md.

- Services are the current catalogue's categories (service_code = category code).
- A citizen app posts with an `api_key` issued to it: GRIDSVC_OPEN311_API_KEYS maps each key to
  the phone number of an existing account, the app's channel account, which becomes the reporter
  of every case the app submits (intake as for any other report: located, routed, flagged).
- Idempotency: the spec has no client UUID. A request carrying `attribute[client_uuid]` (or
  `client_uuid`) gets a case UUID derived from (api_key, that value), so a retry finds its case;
  without one every POST is a new case.
- Public reads show only cases that came through the citizen channel, by list or by number, and
  follow the public disclosure rules (gridsvc.oversight.public_figures, docs/public.md): never who reported (name,
  phone, id), never the description (citizens write phone numbers into it), the point rounded to
  `PUBLIC_DECIMALS` (about 100 m: a street, not a house), and for enforcement (执法) cases no point
  at all and the township as the address.
"""

from __future__ import annotations

import hmac
import math
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.cases.intake import Intake, Report, ReportConflict, ReportError, submit
from gridsvc.kernel.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, DomainError
from gridsvc.kernel.models import (
    DOMAIN_NAMES_ZH, FINAL_STATUSES, STATUS_NAMES_ZH, AdminUnit, Case, CaseEvent, Category, CategoryMajor,
    Department, User,
)
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.cases.ratings import Rated, RatingError, rate
from gridsvc.cases.workflow import Context
from gridsvc.worktime.calendar import CHINA

WGS84 = parse_crs("wgs84")
PUBLIC_DECIMALS = 3  # of a degree: about 100 m
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=CHINA), datetime(2100, 1, 1, tzinfo=CHINA)
# Characters XML 1.0 cannot carry (C0 controls but tab, newline, return; U+FFFE, U+FFFF; lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
MAX_DESCRIPTION = 4000  # the spec's limit
MAX_REQUESTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
CLIENT_UUID_NAMESPACE = uuid.UUID("6f1d3c52-0b7e-4f3a-9a51-311c17a2e0b1")  # ours: Open311 request UUIDs
FORMATS = ("json", "xml")


class Open311Error(DomainError):
    """A refusal in the spec's terms: a kind and a description. The spec's error format is a list of
    {code, description} whose code is the HTTP status, so the web layer (gridsvc.web.open311_api)
    writes it from the kind; our own `code` only repeats the kind."""

    def __init__(self, kind: str, description: str):
        super().__init__(description, kind=kind, code=kind)


# -- api keys -------------------------------------------------------------------------------


def parse_api_keys(raw: str) -> dict[str, str]:
    """GRIDSVC_OPEN311_API_KEYS: `key=phone` pairs separated by commas or white space."""
    keys: dict[str, str] = {}
    for pair in raw.replace(",", " ").split():
        key, sep, phone = pair.partition("=")
        if not sep or len(key) < 16 or not phone.strip():
            raise ValueError("GRIDSVC_OPEN311_API_KEYS: each entry is key=phone, keys of 16 characters or more")
        if key in keys:
            raise ValueError("GRIDSVC_OPEN311_API_KEYS: a key appears twice")
        keys[key] = phone.strip()
    return keys


def channel_account(session: Session, raw_keys: str, api_key: str | None) -> User:
    """The active account an api_key belongs to, or a `forbidden` Open311Error (as the spec has it)."""
    phone = None
    for key, owner in parse_api_keys(raw_keys).items():
        if hmac.compare_digest(key.encode(), (api_key or "").encode()):  # every key compared: no timing hint
            phone = owner
    user = session.scalar(sa.select(User).where(User.phone == phone)) if phone else None
    if user is None or not user.active:
        raise Open311Error(FORBIDDEN, "api_key 无效 / invalid api_key: ask the service's operator for one")
    return user


def channel_phones(raw_keys: str) -> set[str]:
    return set(parse_api_keys(raw_keys).values())


# -- services -------------------------------------------------------------------------------


def services(session: Session) -> list[dict]:
    majors = dict(session.execute(sa.select(CategoryMajor.code, CategoryMajor.name_zh)).all())
    current = session.scalars(sa.select(Category).where(Category.valid_to.is_(None)).order_by(Category.code))
    return [
        {
            "service_code": c.code,
            "service_name": c.name_zh,
            "description": c.name_en or c.description_zh or "",
            "metadata": False,
            "type": "realtime",
            "keywords": ",".join([DOMAIN_NAMES_ZH[c.domain], c.domain]),
            "group": majors.get(c.major_code, c.major_code),
        }
        for c in current
    ]


def service_definition(session: Session, code: str) -> dict:
    exists = session.scalar(sa.select(Category.id).where(Category.code == code, Category.valid_to.is_(None)))
    if exists is None:
        raise Open311Error(NOT_FOUND, f"没有该服务 / no service {code}")
    return {"service_code": code, "attributes": []}


# -- creating a request -----------------------------------------------------------------------


def request_uuid(account: User, client_value: str | None) -> str:
    """The case UUID of a request: derived from (the app's account, the client's value), so that a
    retry finds its case also after the app's key was replaced; without a value, a fresh one."""
    if not client_value:
        return str(uuid.uuid4())
    return str(uuid.uuid5(CLIENT_UUID_NAMESPACE, f"account {account.id}\n{client_value}"))


def _text(form, name: str, limit: int, required: bool = False) -> str | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            raise Open311Error(INVALID, f"缺少 {name} / {name} is required")
        return None
    if len(value) > limit or _NOT_XML.search(value):
        raise Open311Error(INVALID, f"{name} 无效 / {name}: at most {limit} characters, no control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Open311Error(INVALID, f"{name} 无效 / {name} must be valid Unicode text") from None
    return value


def _coordinate(form, name: str) -> float:
    raw = _text(form, name, 40)
    if raw is None:
        raise Open311Error(INVALID, f"缺少 {name} / lat and long (WGS84) are required: no address lookup here")
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(INVALID, f"{name} 无效 / {name} must be a number") from None
    if not math.isfinite(value):
        raise Open311Error(INVALID, f"{name} 无效 / {name} must be a finite number")
    return value


@dataclass(frozen=True)
class Created:
    case: Case
    created: bool


def create_request(session: Session, intake: Intake, api_key: str | None, form) -> Created:
    """POST requests: the case a citizen app's request becomes (through intake), or Open311Error.
    Flushes; the caller commits."""
    reporter = channel_account(session, intake.settings.open311_api_keys, api_key)
    code = _text(form, "service_code", 40, required=True)
    if session.scalar(sa.select(Category.id).where(Category.code == code, Category.valid_to.is_(None))) is None:
        raise Open311Error(NOT_FOUND, f"没有该服务 / no service {code}")
    lat, lon = _coordinate(form, "lat"), _coordinate(form, "long")
    description = _text(form, "description", MAX_DESCRIPTION, required=True)
    client_value = _text(form, "attribute[client_uuid]", 100) or _text(form, "client_uuid", 100)
    report = Report(request_uuid(reporter, client_value), code, description, lon, lat, WGS84)
    try:
        case, created = submit(session, intake, reporter, report)
    except ReportError as exc:
        name = {"lon": "long", "lat": "lat", "category": "service_code"}.get(exc.field, exc.field)
        raise Open311Error(INVALID, f"{name} 无效 / {name}: {exc.message}") from exc
    except ReportConflict as exc:
        raise Open311Error(CONFLICT, f"该 client_uuid 已用于另一份上报 / {exc.message_en}") from exc
    return Created(case, created)


MAX_COMMENT = 500


def rate_request(session: Session, ctx: Context, api_key: str | None, tracking_no: str, form) -> Rated:
    """满意度 from the citizen channel: the app that sent a request relays its citizen's rating of the
    closed case (1–5 stars, a comment), once, as the case's reporter (gridsvc.cases.ratings: a bad rating
    reopens it). Only the app that sent the request may rate it; for any other the request is unknown.
    Flushes; the caller commits."""
    reporter = channel_account(session, ctx.settings.open311_api_keys, api_key)
    case = session.scalar(sa.select(Case).where(Case.tracking_no == tracking_no, Case.reporter_id == reporter.id))
    if case is None:
        raise Open311Error(NOT_FOUND, f"没有该请求 / no service request {tracking_no} of this app")
    raw = _text(form, "stars", 1, required=True)
    if raw not in ("1", "2", "3", "4", "5"):
        raise Open311Error(INVALID, "stars 须为 1–5 / stars: a whole number from 1 to 5")
    try:
        return rate(session, ctx, reporter, case, int(raw), _text(form, "comment", MAX_COMMENT))
    except RatingError as exc:
        raise Open311Error(exc.kind, f"{exc.code}: {exc.message}") from exc


def rating_json(tracking_no: str, rated: Rated) -> list[dict]:
    return [{"service_request_id": tracking_no, "stars": rated.rating.stars,
             "outcome": rated.rating.outcome, "rated_datetime": w3c(rated.rating.rated_at)}]


def service_notice(case: Case) -> str:
    due = as_utc(case.handling_due_at).astimezone(CHINA)
    return f"已受理，编号 {case.tracking_no}，处置时限 {due:%Y-%m-%d %H:%M} / received; to be handled by then"


# -- reading requests ---------------------------------------------------------------------------


def w3c(moment: datetime | None) -> str | None:
    """A public moment in China time, to the minute: the exact second of a report, together with its
    place, says more about who made it than the public needs (the public page gives only the day)."""
    return as_utc(moment).astimezone(CHINA).replace(second=0, microsecond=0).isoformat() if moment else None


def parse_moment(name: str, raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise Open311Error(INVALID, f"{name} 无效 / {name} must be a W3C date-time, e.g. 2026-01-01T00:00:00Z") from None
    moment = moment.replace(tzinfo=CHINA) if moment.tzinfo is None else moment
    if not EARLIEST <= moment < LATEST:
        raise Open311Error(INVALID, f"{name} 无效 / {name} must lie between 2000 and 2100")
    return moment


def _codes(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def find_requests(session: Session, raw_keys: str, args) -> list[Case]:
    """GET requests: by service_request_id (overriding the rest), else the citizen channel's cases
    of the window (default: the last 90 days), newest first, at most MAX_REQUESTS."""
    ids = _codes(args.get("service_request_id"))
    if ids:
        if len(ids) > MAX_REQUESTS:
            raise Open311Error(INVALID, f"service_request_id: at most {MAX_REQUESTS}")
        query = _channel_cases(raw_keys).where(Case.tracking_no.in_(ids))
        return list(session.scalars(query.order_by(Case.received_at.desc(), Case.id.desc())))
    statuses = _codes(args.get("status"))
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(INVALID, "status 无效 / status is open, closed or both")
    end = parse_moment("end_date", args.get("end_date"))
    start = parse_moment("start_date", args.get("start_date"))
    if start is None:
        start = (end or utcnow()) - DEFAULT_WINDOW
    query = _channel_cases(raw_keys).where(Case.received_at >= start)
    if end is not None:
        query = query.where(Case.received_at <= end)
    codes = _codes(args.get("service_code"))
    if codes:
        query = query.where(Case.category_code.in_(codes))
    if statuses == ["open"]:
        query = query.where(Case.status.not_in(FINAL_STATUSES))
    elif statuses == ["closed"]:
        query = query.where(Case.status.in_(FINAL_STATUSES))
    return list(session.scalars(query.order_by(Case.received_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)))


def _channel_cases(raw_keys: str) -> sa.Select:
    """Cases reported through the citizen channel: the only ones Open311 shows."""
    return sa.select(Case).join(User, Case.reporter_id == User.id).where(
        User.phone.in_(sorted(channel_phones(raw_keys)) or [""]))


def one_request(session: Session, raw_keys: str, tracking_no: str) -> Case:
    case = session.scalar(_channel_cases(raw_keys).where(Case.tracking_no == tracking_no))
    if case is None:
        raise Open311Error(NOT_FOUND, f"没有该请求 / no service request {tracking_no}")
    return case


def requests_json(session: Session, cases: list[Case]) -> list[dict]:
    """The public view of cases: nothing about who reported them."""
    ids = [c.id for c in cases]
    updated = dict(session.execute(
        sa.select(CaseEvent.case_id, sa.func.max(CaseEvent.at)).where(CaseEvent.case_id.in_(ids))
        .group_by(CaseEvent.case_id)
    ).all()) if ids else {}
    codes = {c.category_code for c in cases}
    names = dict(session.execute(
        sa.select(Category.code, Category.name_zh).where(Category.code.in_(codes), Category.valid_to.is_(None))
    ).all()) if codes else {}
    domains = {(code, version): domain for code, version, domain in session.execute(
        sa.select(Category.code, Category.version, Category.domain).where(Category.code.in_(codes)))} if codes else {}
    departments = dict(session.execute(sa.select(Department.code, Department.name_zh)).all()) if cases else {}
    units = {c for case in cases for c in (case.county_code, case.township_code, case.village_code) if c}
    places = dict(session.execute(
        sa.select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(units))).all()) if units else {}
    answer = []
    for case in cases:
        enforcement = domains.get((case.category_code, case.category_version)) == "enforcement"
        lon, lat = from_cgcs2000(case.lon, case.lat, WGS84)
        address = "".join(places[c] for c in (case.county_code, case.township_code,
                                              None if enforcement else case.village_code) if c in places)
        answer.append({
            "service_request_id": case.tracking_no,
            "status": "closed" if case.status in FINAL_STATUSES else "open",
            "status_notes": STATUS_NAMES_ZH[case.status],
            "service_name": names.get(case.category_code, case.category_code),
            "service_code": case.category_code,
            "description": None,  # the public rules: citizens write phone numbers into it
            "agency_responsible": departments.get(case.department_code) if case.department_code else None,
            "service_notice": None,
            "requested_datetime": w3c(case.received_at),
            "updated_datetime": w3c(updated.get(case.id) or case.received_at),
            "expected_datetime": w3c(case.handling_due_at),
            "address": address or None,
            "address_id": None,
            "zipcode": None,
            "lat": None if enforcement else round(float(lat), PUBLIC_DECIMALS),
            "long": None if enforcement else round(float(lon), PUBLIC_DECIMALS),
            "media_url": None,
        })
    return answer


# -- XML ---------------------------------------------------------------------------------------


def to_xml(root: str, item: str | None, data) -> bytes:
    """The spec's XML: <root><item>…</item>…</root> for lists, <root>…</root> for one object."""
    top = ET.Element(root)
    for entry in (data if item else [data]):
        _fill(ET.SubElement(top, item) if item else top, entry)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, entry: dict) -> None:
    for key, value in entry.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            for part in value:
                _fill(ET.SubElement(child, "attribute"), part)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = _NOT_XML.sub("\ufffd", str(value))  # also text echoed from a bad request


def errors_xml(errors: list[dict]) -> bytes:
    return to_xml("errors", "error", errors)
