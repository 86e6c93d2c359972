"""The citizen channel (Open311 GeoReport v2 at /open311/v2): JSON and XML, errors, routing, privacy,
and Open311 clients written by others (civicbot, georeport) against a real gunicorn server."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa

from gridsvc.accounts.users import create_user
from gridsvc.kernel.config import Settings
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import AdminUnit, Case, User
from gridsvc.cases.workflow import Context, StepInput, act
from tests.support import APP_NAME, APP_PHONE, BASE, KEY, WORKER, open311_settings, report_body, xml_of


@pytest.fixture
def settings(database_url) -> Settings:
    return open311_settings(database_url)


def post(channel, fmt="json", **changes):
    form = {"api_key": KEY, "service_code": "02004", "lat": f"{channel['point'].y:.8f}",
            "long": f"{channel['point'].x:.8f}", "description": "村口堆放秸秆", "first_name": "张",
            "last_name": "三", "phone": "13712345678", "email": "zhangsan@example.cn", **changes}
    return channel["client"].post(f"{BASE}/requests.{fmt}", data={k: v for k, v in form.items() if v is not None})


def post_service(channel) -> str:
    """A request for a public-service matter (02006 公共设施损坏, not enforcement): its number."""
    answer = post(channel, service_code="02006", description="路灯不亮")
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()[0]["service_request_id"]


def test_services_in_json_and_xml(channel):
    listed = channel["client"].get(f"{BASE}/services.json")
    assert listed.status_code == 200
    services = listed.get_json()
    assert len(services) == 50
    litter = next(s for s in services if s["service_code"] == "02004")
    assert litter["metadata"] is False and litter["type"] == "realtime"
    assert litter["service_name"] and litter["description"] and litter["group"] and litter["keywords"]
    root = xml_of(channel["client"].get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert codes == [s["service_code"] for s in services]
    first = root.find("service")
    assert first.findtext("metadata") == "false" and first.findtext("service_name") == services[0]["service_name"]


def test_service_definition_and_unknown_service(channel):
    client = channel["client"]
    assert client.get(f"{BASE}/services/02004.json").get_json() == {"service_code": "02004", "attributes": []}
    root = xml_of(client.get(f"{BASE}/services/02004.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "02004"
    assert root.find("attributes") is not None and list(root.find("attributes")) == []
    missing = client.get(f"{BASE}/services/99999.json")
    assert missing.status_code == 404
    assert [set(e) for e in missing.get_json()] == [{"code", "description"}]
    errors = xml_of(client.get(f"{BASE}/services/99999.xml"))
    assert errors.tag == "errors" and errors.find("error").findtext("code") == "404"
    assert client.get(f"{BASE}/services/02004.html").status_code == 404


def test_only_the_channels_requests_are_read_and_xml_stays_well_formed(channel, rt, town):
    """A grid worker's case is no Open311 request; text a citizen sends cannot break the XML."""
    worker = town["phone"].post("/mobile/v1/reports", json=report_body(town), headers=town["headers"](WORKER))
    number = worker.get_json()["tracking_no"]
    assert channel["client"].get(f"{BASE}/requests/{number}.json").status_code == 404
    assert channel["client"].get(f"{BASE}/requests.json?service_request_id={number}").get_json() == []
    assert post(channel, description="控制\x01字符").status_code == 400
    echoed = channel["client"].get(f"{BASE}/services/%01%3C%26.xml")
    assert echoed.status_code == 404 and xml_of(echoed).tag == "errors"
    for moment in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00"):
        assert channel["client"].get(f"{BASE}/requests.json?end_date={moment}").status_code == 400


def test_a_request_is_routed_and_reads_back_in_wgs84_without_personal_data(channel, rt):
    answer = post(channel)
    assert answer.status_code == 201, answer.get_json()
    [made] = answer.get_json()
    number = made["service_request_id"]
    assert set(made) == {"service_request_id", "service_notice", "account_id"} and number in made["service_notice"]
    with rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
        assert case.grid_code == channel["grid"] and case.input_crs.lower().startswith(("wgs84", "epsg:4326"))
        assert session.scalar(sa.select(User.phone).where(User.id == case.reporter_id)) == APP_PHONE
    [read] = channel["client"].get(f"{BASE}/requests/{number}.json").get_json()
    assert read["service_request_id"] == number and read["status"] == "open" and read["service_code"] == "02004"
    assert read["agency_responsible"] == channel["agency"]
    # 乱堆乱放 is an enforcement (执法) matter: no point and the township as the address, as on the
    # public case page (docs/public.md); and never the description.
    assert read["lat"] is None and read["long"] is None and read["description"] is None
    with rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
        township = session.get(AdminUnit, case.township_code).name
        village = session.get(AdminUnit, case.village_code).name
    assert read["address"].endswith(township) and village not in read["address"]
    [service] = channel["client"].get(f"{BASE}/requests/{post_service(channel)}.json").get_json()
    # Other matters: the point to about 100 m, a street, not a house.
    assert service["lat"] == pytest.approx(channel["point"].y, abs=5e-4) and service["lat"] == round(service["lat"], 3)
    assert service["long"] == pytest.approx(channel["point"].x, abs=5e-4)
    assert service["long"] == round(service["long"], 3) and service["description"] is None
    assert read["requested_datetime"].endswith("+08:00") and read["expected_datetime"] and read["address"]
    for key in ("requested_datetime", "updated_datetime", "expected_datetime"):  # to the minute (issue 14)
        moment = datetime.fromisoformat(read[key])
        assert moment.second == 0 and moment.microsecond == 0, read[key]
    root = xml_of(channel["client"].get(f"{BASE}/requests/{number}.xml"))
    request = root.find("request")
    assert root.tag == "service_requests" and request.findtext("service_request_id") == number
    assert request.findtext("lat") == "" and request.findtext("description") == ""  # empty elements
    listed = channel["client"].get(f"{BASE}/requests.json?service_code=02004")
    assert [r["service_request_id"] for r in listed.get_json()] == [number]
    xml_listed = xml_of(channel["client"].get(f"{BASE}/requests.xml?status=open&service_code=02004"))
    assert [r.findtext("service_request_id") for r in xml_listed.findall("request")] == [number]
    for public in (listed.data, channel["client"].get(f"{BASE}/requests/{number}.xml").data):
        text = public.decode()
        for secret in (APP_PHONE, APP_NAME, "13712345678", "zhangsan", "张", "三"):
            assert secret not in text.replace("村口堆放秸秆", "")


def test_xml_post_and_filters(channel):
    root = xml_of(post(channel, "xml"))
    number = root.find("request").findtext("service_request_id")
    client = channel["client"]
    assert client.get(f"{BASE}/requests.json?status=closed").get_json() == []
    assert client.get(f"{BASE}/requests.json?service_code=01001").get_json() == []
    assert client.get(f"{BASE}/requests.json?start_date=2000-01-01T00:00:00Z&end_date=2000-02-01T00:00:00Z"
                      ).get_json() == []
    by_id = client.get(f"{BASE}/requests.json?service_request_id={number},20000101-AAAAAAAA").get_json()
    assert [r["service_request_id"] for r in by_id] == [number]
    bad = client.get(f"{BASE}/requests.json?status=pending")
    assert bad.status_code == 400 and bad.get_json()[0]["code"] == 400
    assert client.get(f"{BASE}/requests.json?start_date=yesterday").status_code == 400


def test_errors_in_the_spec_format(channel):
    wrong_key = post(channel, api_key="not-a-key")
    assert wrong_key.status_code == 403 and wrong_key.get_json()[0]["code"] == 403
    no_key = xml_of(post(channel, "xml", api_key=None))
    assert no_key.tag == "errors" and no_key.find("error").findtext("code") == "403"
    unknown = post(channel, service_code="99999")
    assert unknown.status_code == 404 and unknown.get_json()[0]["code"] == 404
    no_lat = post(channel, lat=None)
    assert no_lat.status_code == 400
    assert [set(e) for e in no_lat.get_json()] == [{"code", "description"}]
    assert "lat" in no_lat.get_json()[0]["description"]
    no_lat_xml = xml_of(post(channel, "xml", lat=None))
    error = no_lat_xml.find("error")
    assert error.findtext("code") == "400" and "lat" in error.findtext("description")
    for changes in ({"lat": "north"}, {"lat": "nan"}, {"lat": "95"}, {"long": "inf"}, {"description": " "},
                    {"description": "a\x00b"}, {"description": "x" * 4001}, {"service_code": None}):
        answer = post(channel, **changes)
        assert answer.status_code in (400, 404), (changes, answer.status_code)
        assert answer.get_json()[0]["code"] == answer.status_code
    client = channel["client"]
    assert client.get(f"{BASE}/requests/20000101-AAAAAAAA.json").status_code == 404
    assert client.get(f"{BASE}/requests/nonsense.xml").status_code == 404
    token = client.get(f"{BASE}/tokens/12345.json")
    assert token.status_code == 404 and token.get_json()[0]["code"] == 404
    assert xml_of(client.get(f"{BASE}/tokens/12345.xml")).tag == "errors"
    not_allowed = client.delete(f"{BASE}/requests.json")
    assert not_allowed.status_code == 405 and not_allowed.get_json()[0]["code"] == 405
    assert xml_of(client.get(f"{BASE}/nothing-here.xml")).find("error").findtext("code") == "404"


def test_an_inactive_channel_account_is_refused(channel, rt):
    with rt.sessions.begin() as session:
        session.execute(sa.text("UPDATE users SET active = :no WHERE phone = :phone"),
                        {"no": False, "phone": APP_PHONE})
    assert post(channel).status_code == 403


def test_a_retry_with_the_same_client_uuid_finds_its_case(channel):
    first = post(channel, **{"attribute[client_uuid]": "abc-1"})
    again = post(channel, **{"attribute[client_uuid]": "abc-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()[0]["service_request_id"] == again.get_json()[0]["service_request_id"]
    assert post(channel, **{"attribute[client_uuid]": "abc-1", "description": "另一件事"}).status_code == 409
    assert post(channel).get_json()[0]["service_request_id"] != post(channel).get_json()[0]["service_request_id"]


def test_only_channel_cases_are_listed(channel, rt):
    """A phone's case (not through the channel) is not in the public list, but opens by its number."""
    from gridsvc.web.cases_api import current_intake
    from gridsvc.geo.crs import parse_crs
    from gridsvc.cases.intake import Report, submit

    with rt.sessions() as session:
        worker = create_user(session, "13800000003", "网格员小王", "grid_worker", uuid.uuid4().hex,
                             grid_codes=[channel["grid"]])
        session.commit()
        point = channel["point"]
        case, _ = submit(session, current_intake(rt), worker,
                         Report(str(uuid.uuid4()), "02004", "网格员上报", point.x, point.y, parse_crs("cgcs2000")))
        session.commit()
        number = case.tracking_no
    assert channel["client"].get(f"{BASE}/requests.json").get_json() == []
    [read] = channel["client"].get(f"{BASE}/requests/{number}.json").get_json()
    assert "网格员小王" not in str(read) and "13800000003" not in str(read)


def test_bad_api_key_setting_stops_the_start(database_url):
    from gridsvc.app import create_app

    with pytest.raises(ValueError, match="OPEN311"):
        create_app(Settings(database_url=database_url, open311_api_keys="short=13900000311"))


# -- Open311 clients by others, against the service as deployed ---------------------------------


@pytest.fixture
def served(channel, database_url, tmp_path):
    from bench.serving import gunicorn

    env = {"GRIDSVC_DATABASE_URL": database_url, "GRIDSVC_OPEN311_API_KEYS": f"{KEY}={APP_PHONE}"}
    with gunicorn("gridsvc.wsgi:app", env, ["--workers", "1", "--threads", "4"], tmp_path / "gunicorn.log") as base:
        yield base + BASE


def test_open311_clients_from_pypi_list_post_and_read_back(served, channel):
    """civicbot (PyPI) lists services, files a request (form-encoded POST) and reads it back, as a user
    of it would; georeport (PyPI, read-only) reads the same in JSON and in XML."""
    from civicbot.http import HttpTransport, RateLimiter
    from civicbot.open311 import CONFIRM_TOKEN, Open311Client
    from civicbot.registry import Endpoint
    from georeport import GeoReport

    endpoint = Endpoint(id="shuangyang", name="双阳区 镇村一张网", base_url=served, write=True)
    client = Open311Client(endpoint, transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0)))
    services = client.list_services()
    assert "02004" in {s["service_code"] for s in services}
    point = channel["point"]
    sent = client.create_request("02004", dry_run=False, confirm=CONFIRM_TOKEN, api_key=KEY, validate_remote=True,
                                 lat=point.y, lng=point.x, description="村口堆放秸秆", first_name="张",
                                 phone="13712345678")
    number = sent.response[0]["service_request_id"]
    read = client.get_request(number)
    assert read["service_code"] == "02004" and read["agency_responsible"] == channel["agency"]
    assert read["lat"] is None and read["long"] is None  # an enforcement matter: no point (docs/public.md)
    assert [r["service_request_id"] for r in client.list_requests(status="open")] == [number]

    for fmt in ("json", "xml"):
        reader = GeoReport(served, output_format=fmt)
        listed = reader.get_service_list()
        assert "02004" in {s["service_code"] for s in listed}
        assert reader.get_service_definition("02004")["service_code"] == "02004"
        again = reader.get_service_request(number)
        assert again["service_request_id"] == number
        assert not again.get("lat")  # an enforcement matter: no point
        assert "13712345678" not in str(again) and APP_PHONE not in str(again)


def close_case(rt, number: str) -> None:
    """Take a request's case through 立案 … 结案 as an administrator and its department's handler."""
    with rt.sessions.begin() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
        admin = create_user(session, "13900000901", "管理员", "administrator", uuid.uuid4().hex).id
        handler = create_user(session, "13900000902", "办理人", "department_handler", uuid.uuid4().hex,
                              department_code=case.department_code).id
    steps = [(admin, "file", {}), (admin, "dispatch", {}), (handler, "accept", {}),
             (handler, "feedback", {"note": "已修复"}), (admin, "verify", {}), (admin, "close", {})]
    for who, name, given in steps:
        with rt.sessions() as session:
            case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
            act(session, Context(rt.index.get(), rt.calendar.get(), rt.settings, utcnow()), session.get(User, who),
                case, name, StepInput(**given))
            session.commit()


def test_the_app_relays_its_citizens_rating_once_and_a_bad_one_reopens_the_case(channel, rt, town):
    number = post_service(channel)
    rating = f"{BASE}/requests/{number}/rating"

    def rate(fmt="json", **form):
        return channel["client"].post(f"{rating}.{fmt}", data={"api_key": KEY, **form})
    early = rate(stars="5")
    assert early.status_code == 409 and "not_closed" in early.get_json()[0]["description"]
    close_case(rt, number)
    for bad in ("0", "6", "five", ""):
        answer = rate(stars=bad)
        assert answer.status_code == 400 and answer.get_json()[0]["code"] == 400, bad
    assert rate(stars="2", api_key="not-a-key-of-any-app-000000").status_code in (400, 403)
    first = rate(stars="2", comment="灯还是不亮")
    assert first.status_code == 201, first.get_json()
    [rated] = first.get_json()
    assert (rated["service_request_id"], rated["stars"], rated["outcome"]) == (number, 2, "reopened")
    assert rate(stars="2", comment="灯还是不亮").status_code == 200  # a retry finds the stored rating
    assert rate(stars="4", comment="灯还是不亮").status_code == 409  # once: not changed afterwards
    with rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
        assert case.status == "handling"  # 1–2 stars within 10 working days: back to its department
    root = xml_of(rate("xml", stars="2", comment="灯还是不亮"))
    assert root.tag == "ratings" and root.find("rating").findtext("stars") == "2"
    # a case the app did not send (a grid worker's) is unknown to it
    other = channel["client"].post("/mobile/v1/reports", json=report_body(town), headers=town["headers"](WORKER))
    assert other.status_code == 201, other.get_json()
    stranger = channel["client"].post(f"{BASE}/requests/{other.get_json()['tracking_no']}/rating.json",
                                      data={"api_key": KEY, "stars": "5"})
    assert stranger.status_code == 404
