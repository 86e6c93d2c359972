"""Photo attachments of a case through the API: stored once, compared with the point, stripped (both backends)."""

import functools
import io
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa

from gridsvc.cases import record as case_record
from gridsvc.app import create_app
from gridsvc.accounts.users import create_user
from gridsvc.cases.attachments import ORIGINAL, STRIPPED, THUMBNAIL, MediaStore
from gridsvc.catalogue.store import current_categories
from gridsvc.geo import metric
from gridsvc.kernel.models import Attachment, Case, CaseEvent
from tests.support import MAKER, at_once, cut, encode, opened, phone_jpeg, two_tone

PASSWORD = "correct horse battery"
WORKER, OWN_COMMANDER, OTHER_COMMANDER = "13800000003", "13800000001", "13800000002"


@pytest.fixture
def desk(sample_app, rt, tmp_path):
    """A case reported by a grid worker of 齐家镇; commanders of 齐家镇 and 鹿乡镇; signed-in clients."""
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.code.startswith("220112100") and c.kind == "base")
    grid = index.cells[position]
    with rt.sessions.begin() as session:
        create_user(session, WORKER, "网格员小王", "grid_worker", PASSWORD, grid_codes=[grid.code])
        create_user(session, OWN_COMMANDER, "齐家指挥长", "township_commander", PASSWORD, admin_code="220112100000")
        create_user(session, OTHER_COMMANDER, "鹿乡指挥长", "township_commander", PASSWORD, admin_code="220112102000")
        category = next(c for c in current_categories(session) if c.township_may_act)
    client = sample_app.test_client()
    tokens = {}

    def headers(phone):
        if phone not in tokens:
            body = client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD}).get_json()
            tokens[phone] = {"Authorization": f"Bearer {body['access_token']}"}
        return tokens[phone]

    centre = index.geometry(position).representative_point()
    reported = client.post("/api/v1/reports", headers=headers(WORKER), json={
        "client_uuid": str(uuid.uuid4()), "category": category.code, "description": "路边堆放垃圾",
        "lon": centre.x, "lat": centre.y, "crs": "wgs84", "accuracy": 5,
    })
    assert reported.status_code == 201, reported.get_json()
    case = reported.get_json()
    return {"client": client, "headers": headers, "case": case, "url": f"/api/v1/cases/{case['tracking_no']}",
            "point": shapely.Point(case["point"]["lon"], case["point"]["lat"])}


def upload(desk, data, phone=WORKER, field="photo", client=None):
    return (client or desk["client"]).post(
        f"{desk['url']}/attachments", headers=desk["headers"](phone),
        data={field: (io.BytesIO(data), "IMG_0001.jpg", "image/jpeg")}, content_type="multipart/form-data",
    )


def north_of(point, metres):
    """A point `metres` due north (a degree of latitude is about 111 km)."""
    return point.x, point.y + metres / 111_000


def counts(rt):
    with rt.sessions() as session:
        attachments = session.scalar(sa.select(sa.func.count()).select_from(Attachment))
        attaches = session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(CaseEvent.action == "attach"))
        return attachments, attaches


def record(desk):
    return desk["client"].get(f"{desk['url']}/record", headers=desk["headers"](WORKER)).get_json()["record"]


def test_upload_stores_the_photo_once_and_records_it(desk, rt, app):
    data = phone_jpeg(*north_of(desk["point"], 20), orientation=6)
    first = upload(desk, data)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["content_type"], body["width"], body["height"]) == ("image/jpeg", 20, 40)  # shown upright
    assert body["size_bytes"] == len(data)
    assert body["exif"]["taken_at"] == "2026-11-25T02:00:00+00:00" and 15 < body["distance_m"] < 25
    again = upload(desk, data)  # the phone never saw the answer and sends it again
    assert again.status_code == 200 and again.get_json() == body
    assert counts(rt) == (1, 1)
    listed = desk["client"].get(f"{desk['url']}/attachments", headers=desk["headers"](OWN_COMMANDER)).get_json()
    assert listed["attachments"] == [body]
    entry = record(desk)[-1]
    assert entry["action"] == "attach" and (entry["from_status"], entry["to_status"]) == (None, None)
    assert entry["data"]["attachment"] == body["id"] and entry["data"]["sha256"] == body["sha256"]
    assert entry["data"]["location_mismatch"] is False
    store = MediaStore(Path(app.instance_path) / "media")  # the default place
    assert store.path(ORIGINAL, body["sha256"]).read_bytes() == data  # the evidence, as uploaded
    assert store.path(STRIPPED, body["sha256"]).is_file() and store.path(THUMBNAIL, body["sha256"]).is_file()
    with rt.sessions() as session:
        assert case_record.verify(session) == []


def test_downloaded_copies_carry_no_exif(desk):
    data = phone_jpeg(*north_of(desk["point"], 20), orientation=6)
    body = upload(desk, data).get_json()
    headers = desk["headers"](OWN_COMMANDER)
    for url, size in ((body["urls"]["photo"], (20, 40)), (body["urls"]["thumbnail"], (20, 40))):
        response = desk["client"].get(url, headers=headers)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        picture = opened(response.data)
        assert picture.size == size and len(picture.getexif()) == 0 and not picture.getexif().get_ifd(0x8825)
        assert "icc_profile" not in picture.info and MAKER.encode() not in response.data
        assert response.data != data


def test_a_photo_taken_a_kilometre_away_flags_the_case(desk, rt):
    lon, lat = north_of(desk["point"], 1000)
    body = upload(desk, phone_jpeg(lon, lat)).get_json()
    expected = metric.distance_m(desk["point"], shapely.Point(lon, lat))
    assert body["distance_m"] == pytest.approx(expected, abs=0.1) and 950 < body["distance_m"] < 1050
    assert body["exif"]["lon"] == pytest.approx(lon, abs=1e-6) and body["exif"]["lat"] == pytest.approx(lat, abs=1e-6)
    case = desk["client"].get(desk["url"], headers=desk["headers"](WORKER)).get_json()
    assert case["flags"].count("photo_location_mismatch") == 1
    entry = record(desk)[-1]
    assert entry["data"]["location_mismatch"] is True and entry["data"]["distance_m"] == body["distance_m"]
    upload(desk, phone_jpeg(*north_of(desk["point"], 2000), taken="2026:11:25 10:05:00"))  # a second far photo
    case = desk["client"].get(desk["url"], headers=desk["headers"](WORKER)).get_json()
    assert case["flags"].count("photo_location_mismatch") == 1
    with rt.sessions() as session:
        assert case_record.verify(session) == []


def test_photos_near_the_point_or_without_gps_do_not_flag(desk, rt):
    near = upload(desk, phone_jpeg(*north_of(desk["point"], 100))).get_json()
    assert 90 < near["distance_m"] < 110
    bare = upload(desk, encode(two_tone())).get_json()
    assert bare["exif"] is None and bare["distance_m"] is None
    case = desk["client"].get(desk["url"], headers=desk["headers"](WORKER)).get_json()
    assert "photo_location_mismatch" not in case["flags"]
    assert counts(rt) == (2, 2)


def test_twenty_concurrent_uploads_of_one_photo_make_one_attachment(desk, rt, sample_app):
    data = phone_jpeg(*north_of(desk["point"], 1000))
    headers = desk["headers"](WORKER)

    def send():
        response = sample_app.test_client().post(f"{desk['url']}/attachments", headers=headers,
                                                 data={"photo": (io.BytesIO(data), "a.jpg")},
                                                 content_type="multipart/form-data")
        return response.status_code, response.get_json().get("id")

    answers = at_once([send] * 20)
    assert sorted(status for status, _ in answers) == [200] * 19 + [201], answers
    assert len({attachment_id for _, attachment_id in answers}) == 1
    assert counts(rt) == (1, 1)
    case = desk["client"].get(desk["url"], headers=headers).get_json()
    assert case["flags"].count("photo_location_mismatch") == 1
    with rt.sessions() as session:
        assert case_record.verify(session) == []


def test_different_photos_at_once_each_get_their_own_record_entry(desk, rt, sample_app):
    """Appending to the record is serialised per case: no two entries with the same number."""
    photos = [phone_jpeg(*north_of(desk["point"], 10 * i)) for i in range(1, 9)]
    headers = desk["headers"](WORKER)

    def send(data):
        return sample_app.test_client().post(f"{desk['url']}/attachments", headers=headers,
                                             data={"photo": (io.BytesIO(data), "a.jpg")},
                                             content_type="multipart/form-data").status_code

    statuses = at_once([functools.partial(send, data) for data in photos])
    assert statuses == [201] * len(photos)
    assert counts(rt) == (len(photos), len(photos))
    assert [e["seq"] for e in record(desk)] == list(range(1, len(photos) + 2))
    with rt.sessions() as session:
        assert case_record.verify(session) == []


def test_a_lost_race_past_the_lock_finds_the_winners_attachment(desk, rt, monkeypatch):
    """The unique (case, sha256) constraint is the backstop: should both look-ups miss a row that is
    there, the insert fails and the upload answers with the existing attachment."""
    from gridsvc.cases import attachments

    data = phone_jpeg()
    first = upload(desk, data).get_json()
    real_find, misses = attachments.find, []

    def blind_find(session, case_id, sha256):
        if len(misses) < 2:  # the quick look-up and the one under the lock see nothing
            misses.append(sha256)
            return None
        return real_find(session, case_id, sha256)

    monkeypatch.setattr(attachments, "find", blind_find)
    again = upload(desk, data)
    assert len(misses) == 2 and again.status_code == 200 and again.get_json() == first
    assert counts(rt) == (1, 1)
    with rt.sessions() as session:
        assert case_record.verify(session) == []


def test_a_commander_of_another_township_gets_404(desk, rt):
    body = upload(desk, phone_jpeg()).get_json()
    other = desk["headers"](OTHER_COMMANDER)
    for path in (f"{desk['url']}/attachments", body["urls"]["photo"], body["urls"]["thumbnail"]):
        response = desk["client"].get(path, headers=other)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "case_not_found"
    assert upload(desk, encode(two_tone((50, 50))), phone=OTHER_COMMANDER).status_code == 404
    assert desk["client"].get(body["urls"]["photo"], headers=desk["headers"](OWN_COMMANDER)).status_code == 200
    assert desk["client"].get(body["urls"]["photo"]).status_code == 401
    assert counts(rt) == (1, 1)


def test_an_attachment_of_another_case_is_not_found_here(desk):
    body = upload(desk, phone_jpeg()).get_json()
    headers = desk["headers"](WORKER)
    assert desk["client"].get(f"{desk['url']}/attachments/{body['id'] + 1}", headers=headers).status_code == 404
    other = desk["client"].post("/api/v1/reports", headers=headers, json={
        "client_uuid": str(uuid.uuid4()), "category": desk["case"]["category"], "description": "另一件事",
        "lon": desk["point"].x, "lat": desk["point"].y, "crs": "wgs84"}).get_json()
    response = desk["client"].get(f"/api/v1/cases/{other['tracking_no']}/attachments/{body['id']}", headers=headers)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "attachment_not_found"


@pytest.mark.parametrize("data,field,reason", [
    (b"just some text, not a photo", "photo", "not a JPEG, PNG or WebP"),
    (cut(phone_jpeg(size=(400, 300))), "photo", "truncated"),
    (encode(two_tone(), "GIF"), "photo", "GIF"),
    (b"", "photo", "empty"),
    (phone_jpeg(), "picture", "multipart/form-data field `photo`"),  # the wrong field name
])
def test_bad_uploads_are_422_with_the_field_and_write_nothing(desk, rt, data, field, reason):
    response = upload(desk, data, field=field)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameters" and reason in error["fields"]["photo"][0]
    assert counts(rt) == (0, 0) and len(record(desk)) == 1


def test_a_json_body_instead_of_a_photo_is_422(desk, rt):
    response = desk["client"].post(f"{desk['url']}/attachments", headers=desk["headers"](WORKER), json={"photo": 1})
    assert response.status_code == 422 and "photo" in response.get_json()["error"]["fields"]
    assert counts(rt) == (0, 0)


def test_too_large_is_413_in_the_error_shape(desk, rt, settings, app, tmp_path):
    """A small limit: a photo over it is refused by the check; a body far over it before it is read."""
    small = create_app(replace(settings, max_photo_bytes=20_000.0, max_photo_pixels=1e6,
                               media_dir=str(tmp_path / "elsewhere")))
    small.instance_path = app.instance_path
    client = small.test_client()
    try:
        over_check = upload(desk, encode(two_tone((200, 100)), "PNG", compress_level=0), client=client)  # 60 kB
        over_body = upload(desk, b"\xff\xd8" + b"\x00" * (2 * 2**20), client=client)
        for response in (over_check, over_body):
            assert response.status_code == 413
            error = response.get_json()["error"]
            assert error["code"] == "photo_too_large" and "larger than" in error["fields"]["photo"][0]
        over_pixels = upload(desk, encode(two_tone((1200, 1000)), "PNG"), client=client)  # a few kB
        assert over_pixels.status_code == 422 and "megapixels" in over_pixels.get_json()["error"]["fields"]["photo"][0]
        other_endpoint = client.post("/api/v1/reports", headers=desk["headers"](WORKER),
                                     data=b"{" + b" " * (2 * 2**20) + b"}", content_type="application/json")
        assert other_endpoint.status_code == 413 and other_endpoint.get_json()["error"]["code"]
        assert counts(rt) == (0, 0)
        fits = upload(desk, phone_jpeg(), client=client)
        assert fits.status_code == 201
        assert (tmp_path / "elsewhere" / STRIPPED / fits.get_json()["sha256"][:2]).is_dir()  # GRIDSVC_MEDIA_DIR
    finally:
        small.extensions["gridsvc"].dispose()


def test_a_failed_file_write_leaves_no_row_and_no_record_entry(desk, rt, monkeypatch):
    real_put = MediaStore.put

    def failing_put(store, kind, sha256, data):
        if kind == THUMBNAIL:
            raise OSError("disk full")
        return real_put(store, kind, sha256, data)

    monkeypatch.setattr(MediaStore, "put", failing_put)
    response = upload(desk, phone_jpeg())
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "media_unavailable"
    assert counts(rt) == (0, 0)
    monkeypatch.undo()
    assert upload(desk, phone_jpeg()).status_code == 201  # the leftover files are reused, not in the way


def test_a_failure_after_the_insert_rolls_the_row_back(desk, rt, monkeypatch):
    from gridsvc.cases import attachments

    def broken_append(*args, **kwargs):
        raise RuntimeError("the record cannot be written")

    monkeypatch.setattr(attachments.case_record, "append", broken_append)
    response = upload(desk, phone_jpeg())
    assert response.status_code == 500 and response.get_json()["error"]["code"]
    monkeypatch.undo()
    assert counts(rt) == (0, 0)
    with rt.sessions() as session:
        assert session.scalar(sa.select(Case.flags)) == [] and case_record.verify(session) == []


def test_uploads_need_a_signed_in_user(desk, rt):
    response = desk["client"].post(f"{desk['url']}/attachments", data={"photo": (io.BytesIO(phone_jpeg()), "a.jpg")},
                                   content_type="multipart/form-data")
    assert response.status_code == 401 and counts(rt) == (0, 0)
