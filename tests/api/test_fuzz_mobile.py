"""Fuzzing the phones' API from its own OpenAPI document: no request makes it answer 5xx.

schemathesis reads /mobile/v1/openapi.json from the app in-process (WSGI) and, for every
operation, generates requests that fit the document and requests that do not (wrong types,
missing fields, bodies that are not objects, odd Unicode, …). Phones send whatever a buggy
build or a flaky network makes of a request, and a 5xx tells them nothing they can act on,
so every answer must be below 500 (`not_a_server_error`), and every answer, a 422 above all,
must have the shape the document gives it (`response_schema_conformance`): a client reads an
error's `fields` as `{field: [reasons]}` and nothing else.

Random requests seldom get far: a made-up UUID or category is refused before the point is
ever located. So the calls are made as a signed-in grid worker of the sample county who has
a report and a patrol of their own, some examples use those real ids, and for the operations
with a JSON body some examples are a valid body with one value inside it made hostile (NaN,
±inf, 1e308, integers past 64 bits, NUL, lone surrogates, superscript digits, the wrong
type): those reach intake, locating, datum conversion, the workflow and patrols. Each
operation gets a fresh token, because the fuzzed logout ends the sign-in it is sent with.

CI-friendly: derandomized (the same examples on every run, no example database), at most
MAX_EXAMPLES calls per operation, no deadline, a request budget the fuzz cannot exhaust (a
429 would hide what comes after it). Failures of all operations are reported together, each
with the example and a curl line. Runs on both backends (about 10 s a document on each, after the
sample county is loaded). Run with 300 examples per operation, the 5xx check found nothing more on
either document or backend, nor did the schema check with 120 (phones) and 60 (web); `FOUND` below
keeps what they and hand-made probes did find, each as a plain test sent through schemathesis and
held to its document by the same checks.

`fuzz()` takes any document: the command centre's (/api/openapi.json) is fuzzed the same way, as the
same grid worker, without hostile bodies.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings, strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance
from schemathesis.generation import GenerationMode

from gridsvc.accounts.users import create_user, record_attempt, sign_in
from tests.support import base_grid_and_point

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, response_schema_conformance]
PASSWORD = "correct horse battery"
WORKER = "13800000003"

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.floats(), st.just(1e308),  # floats(): NaN and ±inf too (JSON as Python writes it)
    st.integers(), st.integers(min_value=2**63, max_value=2**80), st.integers(max_value=-(2**63)),
    st.text(max_size=20),
    st.sampled_from(["", " ", "\x00", "\ud800", "¹²", "٤٥٤٩", "9" * 5000, "NaN", "1e999", "EPSG:¹", "𠀀" * 3]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def mutated(valid) -> st.SearchStrategy:
    """`valid` (a JSON value) with one value somewhere inside it, or itself, replaced by a hostile one."""
    inside = []
    if isinstance(valid, dict) and valid:
        inside.append(st.sampled_from(sorted(valid)).flatmap(
            lambda key: mutated(valid[key]).map(lambda value: {**valid, key: value})))
    if isinstance(valid, list) and valid:
        inside.append(st.integers(0, len(valid) - 1).flatmap(
            lambda i: mutated(valid[i]).map(lambda value: [*valid[:i], value, *valid[i + 1:]])))
    return st.one_of(*inside, HOSTILE)


@pytest.fixture
def settings(settings):
    """conftest's settings with a request budget the fuzz cannot use up."""
    return dataclasses.replace(settings, rate_limit="1000000 per minute")


def fuzz(app, document_url: str, headers: Callable[[], dict], known: Callable[[str], dict] = lambda _: {},
         bodies: Callable[[str], st.SearchStrategy | None] = lambda _: None,
         max_examples: int = MAX_EXAMPLES) -> dict[str, str]:
    """Fuzz every operation of the app's document at `document_url`; {operation: report} of those that failed.

    `headers()` gives each operation's headers (a fresh sign-in); `known(path)` real values for the path's
    parameters, which some examples use instead of generated ones; `bodies(label)` valid JSON bodies for
    an operation ("POST /mobile/v1/reports"), which some examples send with one value made hostile."""
    schema = schemathesis.openapi.from_wsgi(document_url, app)
    failures = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        sent, real = headers(), known(operation.path)
        strategies = [operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real or None),
                      operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE)]
        strategies = [s.map(lambda case: (case, {})) for s in strategies]
        valid = bodies(operation.label)
        if valid is not None:  # sent as Python writes JSON (NaN, Infinity), as schemathesis would refuse to
            strategies.append(st.one_of(valid, valid.flatmap(mutated)).map(
                lambda body, op=operation, real=real: (
                    op.Case(path_parameters=real, body=body, media_type="application/json"),
                    {"data": json.dumps(body).encode()})))

        @hypothesis_settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                             phases=(Phase.explicit, Phase.generate, Phase.shrink),
                             suppress_health_check=list(HealthCheck))
        @given(example=st.one_of(strategies))
        def call(example):
            case, raw_body = example
            case.call_and_validate(headers=sent, checks=CHECKS, **raw_body)

        try:
            call()
        except Exception as exc:  # the shrunk failure; its notes have the example and a curl line
            failures[operation.label] = "\n".join([f"{type(exc).__name__}: {exc}", *getattr(exc, "__notes__", [])])
    return failures


@dataclasses.dataclass(frozen=True)
class Worker:
    """What `fuzz` needs to call as a signed-in grid worker, and the ids of their report and patrol."""

    headers: Callable[[], dict]
    known: Callable[[str], dict]
    bodies: Callable[[str], st.SearchStrategy | None]
    tracking_no: str
    patrol: str


@pytest.fixture
def worker(sample_app, rt) -> Worker:
    """A grid worker of the sample county with a report and a patrol of their own."""
    index = rt.index.get()
    cell, point = base_grid_and_point(index)
    with rt.sessions.begin() as session:
        create_user(session, WORKER, "网格员小王", "grid_worker", PASSWORD, grid_codes=[cell.code])

    def headers() -> dict:
        with rt.sessions() as session:  # not over HTTP: the fuzzed sign-ins may have throttled this address
            attempt = record_attempt(session, WORKER, None)
            session.commit()
            pair = sign_in(session, attempt, PASSWORD, "fuzz")
            session.commit()
        return {"Authorization": f"Bearer {pair.access_token}"}

    now = datetime.now(timezone.utc)
    report = {"client_uuid": str(uuid.uuid4()), "category": "02004", "description": "村口堆放秸秆",
              "lon": point.x, "lat": point.y, "crs": "cgcs2000", "accuracy": 5, "reported_at": now.isoformat()}
    patrol = {"client_uuid": str(uuid.uuid4()), "started_at": (now - timedelta(hours=1)).isoformat()}
    phone, sent = sample_app.test_client(), headers()
    case = phone.post("/mobile/v1/reports", json=report, headers=sent)
    started = phone.post("/mobile/v1/patrols", json=patrol, headers=sent)
    assert case.status_code == 201 and started.status_code == 201, (case.get_json(), started.get_json())

    def known(path: str) -> dict:
        values = {"tracking_no": case.get_json()["tracking_no"], "step": "self_handle",
                  "client_uuid": (report if "/reports/" in path else patrol)["client_uuid"]}
        return {name: values[name] for name in re.findall(r"{(\w+)}", path) if name in values}

    fresh = st.uuids().map(str)
    reports = fresh.map(lambda u: {**report, "client_uuid": u})
    fixes = st.integers(0, 10**6).map(lambda seq: {
        "seq": seq, "lon": point.x + seq * 1e-9, "lat": point.y, "crs": "cgcs2000", "accuracy": 8,
        "recorded_at": (now - timedelta(minutes=30)).isoformat()})
    valid_bodies = {
        "POST /mobile/v1/reports": reports,
        "POST /mobile/v1/reports/batch": st.lists(reports, min_size=1, max_size=3).map(lambda r: {"reports": r}),
        "POST /mobile/v1/patrols": fresh.map(lambda u: {**patrol, "client_uuid": u}),
        "POST /mobile/v1/patrols/{client_uuid}/points": st.lists(fixes, min_size=1, max_size=3).map(
            lambda p: {"points": p}),
        "POST /mobile/v1/patrols/{client_uuid}/stop": st.just({"ended_at": now.isoformat()}),
        "POST /mobile/v1/cases/{tracking_no}/steps/{step}": st.just({
            "note": "已清理", "attachments": [1], "lon": point.x, "lat": point.y, "crs": "cgcs2000",
            "until": (now + timedelta(days=2)).isoformat(), "expected_seq": 1}),
    }
    return Worker(headers, known, valid_bodies.get, case.get_json()["tracking_no"], patrol["client_uuid"])


def test_no_mobile_operation_answers_a_server_error(sample_app, worker):
    failures = fuzz(sample_app, "/mobile/v1/openapi.json", worker.headers, worker.known, worker.bodies)
    assert not failures, "\n\n".join(f"{label}\n{report}" for label, report in failures.items())


def test_no_web_operation_answers_a_server_error_or_off_its_document(sample_app, worker):
    """The command centre's document, as the same grid worker: the commanders' operations mostly answer 403
    or 404 to them, but most views read their query or body first, so their 422s meet the document too."""
    failures = fuzz(sample_app, "/api/openapi.json", worker.headers, worker.known)
    assert not failures, "\n\n".join(f"{label}\n{report}" for label, report in failures.items())


# -- what fuzzing found: each of these once answered 500 (or 503 on PostGIS), or not as documented ---------

FOUND = [  # method, path ({tracking_no}, {patrol}, {grid} filled in), JSON body, the status now
    ("post", "/mobile/v1/reports", {"crs": "EPSG:¹"}, 422),  # "¹".isdigit() but int("¹") fails
    ("post", "/mobile/v1/patrols/{patrol}/points", {"points": [{"crs": "9" * 5000}]}, 200),  # int() digit limit
    ("post", "/mobile/v1/cases/{tracking_no}/steps/self_handle", {"note": "x", "attachments": [2**63]}, 422),
    ("get", "/api/v1/cases/{tracking_no}/attachments/" + str(2**70), None, 404),  # the id sent to the database
    ("get", "/api/v1/cases/{tracking_no}/attachments/2147483648/thumbnail", None, 404),  # past INTEGER
    ("get", "/api/v1/grids?bbox=0,0,1e300,1e300&crs=gcj02", None, 422),  # GEOS cannot densify the box
    ("get", "/api/v1/cases?bbox=0,0,1e300,1e300&crs=bd09", None, 422),
    ("get", "/api/v1/cases?department=%00", None, 400),  # PostgreSQL text cannot hold NUL: gridsvc.web.request_guard
    ("get", "/api/v1/route?grid={grid}&category=%00", None, 400),
    # `fields` once nested a list item's reasons under its index ({"attachments": {"0": [...]}}): not {field: [reasons]}
    ("post", "/mobile/v1/cases/{tracking_no}/steps/self_handle", {"note": "x", "attachments": ["x", 1]}, 422),
    ("post", "/api/v1/cases/{tracking_no}/steps/self_handle", {"note": "x", "attachments": [[1]]}, 422),
    # a null item once sank the whole batch or upload (a 422) instead of being rejected alone
    ("post", "/mobile/v1/reports/batch", {"reports": [None, {"lon": "125.56"}]}, 200),
    ("post", "/mobile/v1/patrols/{patrol}/points", {"points": [None, {"seq": True}]}, 200),
]


def checked_call(app, method: str, url: str, body, headers: dict):
    """Send one request as the fuzz does, through schemathesis, and hold the answer to the document of its
    prefix with the fuzz's checks, and to a documented status: the schema check skips any other."""
    document = "/mobile/v1/openapi.json" if url.startswith("/mobile/") else "/api/openapi.json"
    parts = urlsplit(url)
    operation = schemathesis.openapi.from_wsgi(document, app).find_operation_by_path(method, parts.path)
    template = re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", operation.path)
    sent = {} if body is None else {"body": body, "media_type": "application/json"}
    case = operation.Case(path_parameters=re.fullmatch(template, parts.path).groupdict(),
                          query=dict(parse_qsl(parts.query)) or None, **sent)
    return case.call_and_validate(headers=headers, checks=[*CHECKS, status_code_conformance])


@pytest.mark.parametrize("method, path, body, status", FOUND, ids=[f"{m} {p[:60]}" for m, p, _, _ in FOUND])
def test_inputs_fuzzing_found_are_refused_not_crashed_on(sample_app, rt, worker, method, path, body, status):
    url = path.format(tracking_no=worker.tracking_no, patrol=worker.patrol, grid=rt.index.get().cells[0].code)
    answer = checked_call(sample_app, method, url, body, worker.headers())
    assert answer.status_code == status, answer.json()
    if status == 200:
        assert answer.json()["results"][0]["result"] == "rejected"
