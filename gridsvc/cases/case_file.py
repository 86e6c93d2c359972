"""The case file (案卷): one case's whole story as an office files it and an inspector reads it.

A township keeps a paper (or PDF) file of each case: what was reported, where and by whom; its
deadlines; every step with the person who took it and their department and team, where the case was
sent, how far from the case an officer stood on arriving; the photos with the check of where each
was taken; and whether the record is as it was written (its chain of seals, gridsvc.cases.record).
What goes in the file is decided here once, in Chinese and in China time, as plain text lines; the
HTML page (gridsvc.web.case_file_api) and the PDF (gridsvc.cases.case_file_pdf) lay the same text
out, so the two forms never say different things. No HTTP here: a command or a batch job can file
cases too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.cases.attachments import case_attachments, location_mismatch
from gridsvc.cases.evidence import location_check_zh, result_photos
from gridsvc.cases.flags import FLAG_NAMES_ZH
from gridsvc.cases.record import verify_case
from gridsvc.cases.sheet import case_names, pickup_clock, record_with_names, stage_clock
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.config import Settings
from gridsvc.kernel.models import DOMAIN_NAMES_ZH, ROLE_NAMES_ZH, STATUS_NAMES_ZH, Case, CaseEvent, User
from gridsvc.worktime.calendar import CHINA, WorkCalendar

SEAL_SHOWN = 16  # hex digits of a seal printed: enough to compare with `gridsvc cases verify-record`'s
# What the seals prove and what not (gridsvc.cases.record), printed under the check.
SEAL_LIMITS_ZH = "封印可发现对记录的改动、删除和重排；不能防范可改写整个数据库并重算全部封印者。"


@dataclass(frozen=True)
class FileEntry:
    """One step of the record as the file prints it."""

    seq: int
    at: str  # China time
    action_zh: str
    to_zh: str | None  # where the step sent the case: "城管中队（综合行政执法队）"
    actor_zh: str  # "执法队员（城管中队（综合行政执法队））", or 系统 for the service's own entries
    details_zh: str  # the note, an arrival's distance, the photos named
    seal: str  # the first SEAL_SHOWN hex digits of the entry's seal


@dataclass(frozen=True)
class FilePhoto:
    """A photo of the case with what its EXIF says about where and when it was taken."""

    id: int
    sha256: str  # of the original: the media store's name for its files
    caption_zh: str  # "照片 #3 · 处置照片 · 执法队员 上传于 2026-11-25 10:02 · 拍摄于 …"
    check_zh: str  # the EXIF-GPS check against the case's point
    mismatch: bool


@dataclass(frozen=True)
class Seal:
    """The record chain checked: intact or not, and a statement of it for the reader."""

    intact: bool
    statement_zh: str
    problems_zh: tuple[str, ...]
    limits_zh: str = SEAL_LIMITS_ZH


@dataclass(frozen=True)
class CaseFile:
    tracking_no: str
    title_zh: str
    facts: tuple[tuple[str, str], ...]  # 案件信息, as (label, value)
    deadlines: tuple[tuple[str, str], ...]  # 时限
    record: tuple[FileEntry, ...]
    photos: tuple[FilePhoto, ...]
    seal: Seal
    made_zh: str  # who made the file, and when


def china_time(moment: datetime | None) -> str:
    """A moment as the office reads it on paper: China time, to the minute."""
    return as_utc(moment).astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else "—"


def case_file(session: Session, calendar: WorkCalendar, settings: Settings, viewer: User, case: Case,
              now: datetime) -> CaseFile:
    """The file of `case` as `viewer` makes it at `now` (the caller decides whether they may see the case)."""
    names = case_names(session, case)
    record = record_with_names(session, case)
    evidence = result_photos(session, case)
    seals = dict(session.execute(sa.select(CaseEvent.seq, CaseEvent.hash).where(CaseEvent.case_id == case.id)).all())
    return CaseFile(
        tracking_no=case.tracking_no,
        title_zh=f"案卷 · {names['category']['name_zh'] if names['category'] else case.category_code}",
        facts=_facts(case, names, evidence.photo_required, len(evidence.result_photos)),
        deadlines=_deadlines(case, calendar, settings, now),
        record=tuple(_entry(e, seals[e["seq"]]) for e in record),
        photos=_photos(session, settings, case, set(evidence.result_photos)),
        seal=_seal(session, case),
        made_zh=f"{viewer.name}（{ROLE_NAMES_ZH.get(viewer.role, viewer.role)}）制卷于 {china_time(now)}（北京时间）",
    )


def _facts(case: Case, names: dict, photo_required: bool, result_photo_count: int) -> tuple[tuple[str, str], ...]:
    category, department, team, reporter = names["category"], names["department"], names["team"], names["reporter"]
    place = " ".join(n for n in (names["county"], names["township"], names["village"]) if n) or "未定位"
    facts = [
        ("案件编号", case.tracking_no),
        ("当前状态", STATUS_NAMES_ZH[case.status]),
        ("事项类别", f"{category['name_zh']}（{case.category_code}）· {DOMAIN_NAMES_ZH.get(category['domain'], '')}"
         if category else case.category_code),
        ("紧急程度", "紧急" if case.urgent else "一般"),
        ("问题描述", case.description),
        ("所在位置", place),
        ("所在网格", f"{names['grid'] or '—'}（{case.grid_code}）" if case.grid_code else "未定位到网格"),
        ("坐标", f"{case.lon:.6f}, {case.lat:.6f}（CGCS2000）"),
        ("上报人", f"{reporter['name']}（{ROLE_NAMES_ZH.get(reporter['role'], reporter['role'])}）" if reporter else "—"),
        ("上报时间", china_time(case.reported_at or case.received_at)),
        ("受理时间", china_time(case.received_at)),
        ("责任部门", (department["name_zh"] if department else "未指定") + (f" · {team['name_zh']}" if team else "")),
    ]
    if photo_required:
        facts.append(("处置照片", f"本类事项须附处置照片；现有 {result_photo_count} 张" if result_photo_count
                      else "本类事项须附处置照片；处置反馈尚无派遣后上传的照片"))
    if case.flags:
        facts.append(("标记", "、".join(FLAG_NAMES_ZH.get(f, f) for f in case.flags)))
    if case.rework_count or case.supervision_count:
        facts.append(("返工 / 督办", f"返工 {case.rework_count} 次，督办 {case.supervision_count} 次"))
    return tuple(facts)


def _deadlines(case: Case, calendar: WorkCalendar, settings: Settings,
               now: datetime) -> tuple[tuple[str, str], ...]:
    """The deadlines, with the current stage's clock as the case sheet states it: a case still 待签收 is
    on its pickup clock (签收时限, in minutes), not on the handling deadline (gridsvc.cases.sheet)."""
    lines = [("办理期限", china_time(case.handling_due_at))]
    pickup = pickup_clock(case, settings, now)
    if pickup is not None:
        minutes = abs(pickup["minutes_left"])
        left = f"已超时 {minutes} 分钟" if pickup["overdue"] else f"还剩 {minutes} 分钟"
        lines.append((pickup["stage_zh"], f"{china_time(datetime.fromisoformat(pickup['due_at']))}（{left}）"))
    clock = None if pickup is not None else stage_clock(case, calendar, now)
    if clock is not None:
        hours = abs(clock["working_hours_left"])
        left = f"已超期 {hours:.1f} 个工作小时" if clock["overdue"] else f"还剩 {hours:.1f} 个工作小时"
        lines.append((clock["stage_zh"], f"{china_time(case.stage_due_at)}（{left}）"))
    if case.extension_until is not None:
        lines.append(("延期申请至", f"{china_time(case.extension_until)}（待审批）"))
    if case.escalated:
        lines.append(("上报县级", "是"))
    lines.append(("结案时间", china_time(case.closed_at) if case.closed_at else "未结案"))
    return tuple(lines)


def _entry(entry: dict, seal: str) -> FileEntry:
    details = [text for text in (entry["note"], entry["place_zh"]) if text]
    if entry["attachments"]:
        details.append("照片 " + "、".join(f"#{i}" for i in entry["attachments"]))
    return FileEntry(entry["seq"], china_time(datetime.fromisoformat(entry["at"])), entry["action_zh"],
                     entry["to_zh"], entry["actor_zh"] or "系统", "；".join(details), seal[:SEAL_SHOWN])


def _photos(session: Session, settings: Settings, case: Case, results: set[int]) -> tuple[FilePhoto, ...]:
    attachments = case_attachments(session, case)
    uploaders = dict(session.execute(sa.select(User.id, User.name).where(
        User.id.in_({a.uploaded_by for a in attachments}))).all())
    photos = []
    for a in attachments:
        caption = [f"照片 #{a.id}"] + (["处置照片"] if a.id in results else []) + [
            f"{uploaders.get(a.uploaded_by, '—')} 上传于 {china_time(a.uploaded_at)}"]
        if a.exif_taken_at:
            caption.append(f"拍摄于 {china_time(a.exif_taken_at)}")
        mismatch = location_mismatch(a.distance_m, settings)
        photos.append(FilePhoto(a.id, a.sha256, " · ".join(caption), location_check_zh(a.distance_m, mismatch),
                                bool(mismatch)))
    return tuple(photos)


def _seal(session: Session, case: Case) -> Seal:
    problems = verify_case(session, case)
    if not problems:
        return Seal(True, f"全流程记录校验通过：共 {case.record_seq} 条记录，每条的封印（SHA-256）覆盖其内容与上一条的"
                          f"封印，首条封存上报内容；末条封印 {(case.record_hash or '')[:SEAL_SHOWN]}…，与案件相符。", ())
    return Seal(False, f"【警告】全流程记录校验未通过：发现 {len(problems)} 处问题，记录可能已被改动。",
                tuple(f"第 {p.seq} 条：{p.reason}" for p in problems))
