"""Attachments API v1: photos of a case, inside one's jurisdiction.

    POST /api/v1/cases/<tracking_no>/attachments                 multipart `photo` -> 201 new, 200 the same retry
    GET  /api/v1/cases/<tracking_no>/attachments                 -> the case's attachments
    GET  /api/v1/cases/<tracking_no>/attachments/<id>            -> the shared copy (no EXIF)
    GET  /api/v1/cases/<tracking_no>/attachments/<id>/thumbnail  -> its thumbnail (JPEG)

Thin: the rules are in gridsvc.cases.attachments and gridsvc.cases.photos. A case outside
the caller's jurisdiction is 404, as in gridsvc.web.cases_api. Only the stripped
copy and the thumbnail are ever sent; the original stays in the media folder.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, send_file, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from gridsvc.kernel.runtime import runtime
from gridsvc.cases.attachments import (STRIPPED, THUMBNAIL, MediaStore, attach, case_attachments, exif_json,
                                       location_mismatch)
from gridsvc.cases.evidence import location_check_zh
from gridsvc.web.auth_api import signed_in_user
from gridsvc.web.cases_api import visible_case
from gridsvc.kernel.config import Settings
from gridsvc.kernel.db import MAX_INTEGER
from gridsvc.web.errors import ApiError, invalid_parameter
from gridsvc.kernel.models import Attachment
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.cases.photos import PhotoError

attachments_api = Blueprint("attachments_api", __name__, url_prefix="/api/v1")
FIELD = PhotoError.field  # "photo": the multipart field, the input a PhotoError names
# Room for the multipart envelope (boundaries, part headers) and a few small fields around the photo.
_ENVELOPE_BYTES = 2**20


def max_request_bytes(settings: Settings) -> int:
    """Flask's MAX_CONTENT_LENGTH: a body that cannot hold an acceptable photo is refused (413) before
    it is read, instead of being spooled to disk first."""
    return int(settings.max_photo_bytes) + _ENVELOPE_BYTES


def media_store() -> MediaStore:
    settings = runtime().settings
    return MediaStore(Path(settings.media_dir) if settings.media_dir else Path(current_app.instance_path) / "media")


def attachment_json(tracking_no: str, attachment: Attachment) -> dict:
    mismatch = location_mismatch(attachment.distance_m, runtime().settings)
    return {
        "id": attachment.id,
        "sha256": attachment.sha256,
        "content_type": attachment.content_type,
        "width": attachment.width,
        "height": attachment.height,
        "size_bytes": attachment.size_bytes,
        "exif": exif_json(attachment),
        "distance_m": attachment.distance_m,
        "location_mismatch": mismatch,
        "location_check_zh": location_check_zh(attachment.distance_m, mismatch),
        "uploaded_by": attachment.uploaded_by,
        "uploaded_at": as_utc(attachment.uploaded_at).isoformat(),
        "urls": {
            "photo": url_for("attachments_api.photo", tracking_no=tracking_no, attachment_id=attachment.id),
            "thumbnail": url_for("attachments_api.photo_thumbnail", tracking_no=tracking_no,
                                 attachment_id=attachment.id),
        },
    }


@attachments_api.post("/cases/<tracking_no>/attachments")
def upload(tracking_no: str):
    with runtime().sessions() as session:
        uploader = signed_in_user(session)
        return store_upload(session, visible_case(session, tracking_no, uploader), uploader)


def store_upload(session, case, uploader):
    """Attach the request's `photo` to the case: 201 new, 200 the same bytes again (a retry)."""
    rt = runtime()
    data = _uploaded_photo(rt.settings)
    try:
        attachment, created = attach(session, media_store(), rt.settings, case, uploader, data, utcnow())
    except OSError as exc:
        current_app.logger.exception("cannot write to the media folder")
        raise ApiError(503, "media_unavailable", "照片存储不可用 / the photo store is unavailable") from exc
    session.commit()
    return jsonify(attachment_json(case.tracking_no, attachment)), 201 if created else 200


@attachments_api.get("/cases/<tracking_no>/attachments")
def attachment_list(tracking_no: str):
    with runtime().sessions() as session:
        case = visible_case(session, tracking_no)
        return jsonify({"tracking_no": tracking_no, "attachments": [
            attachment_json(tracking_no, a) for a in case_attachments(session, case)
        ]})


@attachments_api.get("/cases/<tracking_no>/attachments/<int:attachment_id>")
def photo(tracking_no: str, attachment_id: int):
    return _send(tracking_no, attachment_id, STRIPPED)


@attachments_api.get("/cases/<tracking_no>/attachments/<int:attachment_id>/thumbnail")
def photo_thumbnail(tracking_no: str, attachment_id: int):
    return _send(tracking_no, attachment_id, THUMBNAIL)


def _send(tracking_no: str, attachment_id: int, kind: str):
    with runtime().sessions() as session:
        case = visible_case(session, tracking_no)
        attachment = session.get(Attachment, attachment_id) if attachment_id <= MAX_INTEGER else None
        if attachment is None or attachment.case_id != case.id:
            raise ApiError(404, "attachment_not_found",
                           f"附件 {attachment_id} 不存在 / no attachment {attachment_id} on case {tracking_no}")
        path = media_store().path(kind, attachment.sha256)
        if not path.is_file():
            current_app.logger.error("media file missing: %s", path)
            raise ApiError(503, "media_unavailable", "照片文件缺失 / the photo's file is missing from the store")
        mimetype = attachment.content_type if kind == STRIPPED else "image/jpeg"
        response = send_file(path, mimetype=mimetype, etag=attachment.sha256 + kind[0], max_age=0,
                             conditional=True)
        response.headers["Cache-Control"] = "private, no-cache"  # evidence of a case: no shared caches
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _uploaded_photo(settings: Settings) -> bytes:
    try:
        upload = request.files.get(FIELD)
    except RequestEntityTooLarge:
        raise _too_large(_limit_text(settings)) from None
    if upload is None:
        raise invalid_parameter(FIELD, "缺少照片：请以 multipart/form-data 的 photo 字段上传 / "
                                       "send the photo as the multipart/form-data field `photo`")
    try:
        return upload.read()
    except RequestEntityTooLarge:
        raise _too_large(_limit_text(settings)) from None


def _limit_text(settings: Settings) -> str:
    size = f"{settings.max_photo_bytes / 2**20:g} MB"
    return f"文件超过 {size} / the file is larger than {size}"


def _too_large(reason: str) -> PhotoError:
    """A body over Flask's limit is refused as a photo over the byte limit is: the same answer."""
    return PhotoError(reason, file_too_large=True)
