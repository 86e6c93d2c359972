"""Evidence of a case: which photos show that it was dealt with (处置照片, for 核查), and how far a photo
or an officer on arrival lay from the case's point, in words.

A category may require a photo with 处置反馈 (`feedback_photo_required`), and the feedback then names
photos of the case. But any photo of the case can be named, the reporter's own among them, and a
picture of the problem is no evidence that it was solved. A photo of the result is one the last
处置反馈 names that was uploaded after the case was last sent to a department (派遣, 上报县级, or
重新办理 after a bad rating): the record's order says so, whatever the clocks of the phones. 核查 of such a category needs one
(gridsvc.cases.workflow refuses 核查通过 without it), and the verifier sees which there are before
deciding (the case sheet, the 案卷).

The distances are put in words here once, so that the screen's photo viewer and record and the 案卷
say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.kernel.models import Case, CaseEvent, Category

# The steps that give a case to a department to handle (anew): the photos of the result come after them.
SENDING = ("dispatch", "escalate", "reopen")


@dataclass(frozen=True)
class ResultPhotos:
    """What 核查 needs to know: whether the category asks for a photo, and the photos of the result."""

    photo_required: bool
    result_photos: tuple[int, ...]  # attachment ids

    @property
    def photo_missing(self) -> bool:
        return self.photo_required and not self.result_photos

    def as_json(self) -> dict:
        return {"photo_required": self.photo_required, "result_photos": list(self.result_photos),
                "photo_missing": self.photo_missing}


def result_photos(session: Session, case: Case) -> ResultPhotos:
    """The photos the last 处置反馈 names that were uploaded after the case was last sent to a department,
    and whether the category (the version the case was reported under) requires one."""
    required = session.scalar(sa.select(Category.feedback_photo_required).where(
        Category.code == case.category_code, Category.version == case.category_version))
    entries = session.execute(sa.select(CaseEvent.seq, CaseEvent.action, CaseEvent.data)
                              .where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))
    sent, uploaded, named = 0, {}, []
    for seq, action, data in entries:
        if action in SENDING:
            sent = seq
        elif action == "attach":
            uploaded[data["attachment"]] = seq
        elif action == "feedback":
            named = data.get("attachments", [])
    return ResultPhotos(bool(required), tuple(i for i in named if uploaded.get(i, 0) > sent))


def distance_zh(metres: float) -> str:
    """"35 米", "1.2 公里"."""
    return f"{metres / 1000:.1f} 公里" if metres >= 1000 else f"{metres:.0f} 米"


def location_check_zh(distance_m: float | None, mismatch: bool | None) -> str:
    """A photo's EXIF-GPS position checked against the case's point (gridsvc.cases.attachments measures)."""
    if distance_m is None:
        return "照片无 GPS 位置信息，无法核对拍摄地点"
    return f"拍摄位置距案件位置 {distance_zh(distance_m)}，{'与上报位置不符' if mismatch else '与上报位置相符'}"


def place_zh(action: str, distance_m: float | None, far: bool | None) -> str | None:
    """Where a step was taken, against the case's point: an arrival (到达现场) or a photo (上传照片)."""
    if distance_m is None:
        return None
    if action == "attach":
        return location_check_zh(distance_m, far)
    return f"到场位置距案件位置 {distance_zh(distance_m)}{'，超出范围' if far else ''}"
