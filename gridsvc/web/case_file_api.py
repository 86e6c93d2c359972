"""The case file (案卷) API: one case's file as a page to print and as a PDF to keep.

    GET /api/v1/cases/<tracking_no>/file      -> HTML with print CSS, its photos inside the page
    GET /api/v1/cases/<tracking_no>/file.pdf  -> the same file as a PDF, its Chinese font embedded

Thin: gridsvc.cases.case_file decides what the file says, gridsvc.cases.case_file_pdf lays it out as a
PDF, templates/case_file.html as a page. A case the caller may not see is 404, as for the case itself.
The page carries its photos (the thumbnails, without EXIF) as data: addresses, so that it is one
self-contained document: the screen fetches it with the token and prints it, and it can be saved as it
is. Neither form may be cached anywhere: a case file names people and places.
"""

from __future__ import annotations

import base64

from flask import Blueprint, current_app, render_template

from gridsvc.cases.attachments import THUMBNAIL
from gridsvc.cases.case_file import CaseFile, case_file
from gridsvc.cases.case_file_pdf import case_file_pdf
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.runtime import runtime
from gridsvc.web.attachments_api import media_store
from gridsvc.web.auth_api import signed_in_user
from gridsvc.web.cases_api import visible_case

case_file_api = Blueprint("case_file_api", __name__, url_prefix="/api/v1", template_folder="templates")
# The page shows only what it carries: no script, no request anywhere.
PAGE_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@case_file_api.get("/cases/<tracking_no>/file")
def file_page(tracking_no: str):
    file = _file_of(tracking_no)
    pictures = {}
    for photo in file.photos:
        picture = _thumbnail(photo.sha256)
        if picture is not None:
            pictures[photo.id] = "data:image/jpeg;base64," + base64.b64encode(picture).decode("ascii")
    response = current_app.response_class(render_template("case_file.html", file=file, pictures=pictures),
                                          mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return _private(response)


@case_file_api.get("/cases/<tracking_no>/file.pdf")
def file_pdf(tracking_no: str):
    file = _file_of(tracking_no)
    pdf = case_file_pdf(file, runtime().settings.case_file_font, _thumbnail)
    response = current_app.response_class(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="case-file-{file.tracking_no}.pdf"'
    return _private(response)


def _file_of(tracking_no: str) -> CaseFile:
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        case = visible_case(session, tracking_no, user)
        return case_file(session, rt.calendar.get(), rt.settings, user, case, utcnow())


def _thumbnail(sha256: str) -> bytes | None:
    """A photo's thumbnail (no EXIF), or None when its file is gone: the file says so rather than failing."""
    path = media_store().path(THUMBNAIL, sha256)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        current_app.logger.error("media file missing: %s", path)
        return None


def _private(response):
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
