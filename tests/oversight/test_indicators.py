"""The indicators (gridsvc.oversight.indicators, GET /api/v1/indicators), checked against known histories.

Two histories, made the ordinary way (intake, workflow steps, the deadline sweep, ratings, patrols),
each at a chosen China time; every expected figure is worked out by hand in the comments, on office
hours 08:30–12:00 and 13:30–17:30 (7.5 h a day) and the 2026 calendar:
- tests/oversight/test_numbers.py's history (27 April – 11 May): 劳动节 1–5 May, Saturday 9 May a working day;
- June 2026 (below): 端午节 Friday 19 – Sunday 21 June, 21 working days in the month.
"""

import csv
import io
import uuid
from datetime import timedelta

import pytest
import shapely
import sqlalchemy as sa
from openpyxl import load_workbook

from gridsvc.cases import ratings
from gridsvc.accounts.users import create_user
from gridsvc.cases.attachments import MediaStore, attach
from gridsvc.geo import metric
from gridsvc.geo.crs import parse_crs
from gridsvc.oversight.indicator_export import as_csv, as_xlsx
from gridsvc.oversight.indicators import COLUMNS, Period, indicator_table, ranked, score
from gridsvc.kernel.models import Case, CaseEvent, GridCell, PatrolDay
from gridsvc.network.store import bump_revision
from gridsvc.patrols.recording import PointInput, add_points, start
from gridsvc.cases.workflow import Context
from tests.support import (CJHB, CLEANING, COUNTY, DISPUTE, FROM, PASSWORD, PILED, QIJIA, TO, V1, V2, ZHZF, ZZZX,
                           assert_documented, at)

ZFW = "220112000000-ZFW"  # 区综治中心: the county's answer for governance matters
JUNE = Period(at("2026-06-01T00:00"), at("2026-07-01T00:00"))
NUMBERS = Period(FROM, TO)


def table(town, who: str, period: Period, level: str, area: str | None = None) -> dict:
    rt = town.rt
    with rt.sessions() as session:
        answer = indicator_table(session, town.user(session, who), rt.calendar.get(), rt.index.get(), rt.settings,
                                 period, level, area)
        session.commit()  # as the view does: the patrol days counted are kept
        return answer


def row(answer: dict, code: str) -> dict:
    return next(r for r in answer["rows"] if r["code"] == code)


def figures(answer_row: dict, *keys: str) -> tuple:
    return tuple(answer_row[k] for k in keys)


CASE_KEYS = ("reported", "filing_decisions", "filed_on_time", "on_time_filing_rate", "dispatches", "dispatches_kept",
             "dispatch_accuracy_rate", "handled", "handled_on_time", "on_time_handling_rate", "accepted",
             "accepted_closed", "closure_rate", "closed", "closed_on_time", "closed_overdue", "on_time_closure_rate",
             "overdue", "verifications", "reworks", "rework_rate", "reopened", "average_handling_hours",
             "p90_handling_hours", "ratings", "mean_stars")


# -- the history of tests/oversight/test_numbers.py -------------------------------------------------


def test_the_township_ranking_of_the_numbers_history(town, history):
    """齐家镇's cases J A B C D E F H I and 鹿乡镇's L, for the supervisor of the county, per township.

    Filing decisions in the period: B C D E H on time (立案, 不予立案, 合并 within 30 minutes); F went
    overdue unfiled on 11 May: a late filing, counted when it went overdue. Dispatches: B E H, none sent
    back. Handling: A and H fed back on time; J and B went overdue on 7 May, E on 11 May: 2 of 5.
    Accepted among the received: B E H, of them B H closed. Closed: A B H, B after going overdue.
    Working hours receipt → closing (the 劳动节 holiday counts nothing):
      A: Fri 24 Apr 09:00 → Tue 28 Apr 09:45 = 7 + 7.5 + 1.25 = 15.75
      B: Thu 30 Apr 16:00 → Fri 8 May 10:00 = 1.5 + (1–5 May: 0) + 7.5 (Wed) + 7.5 (Thu) + 1.5 = 18
      H: Mon 11 May 09:00 → 10:45 = 1.75
    mean 11.83, p90 the 3rd of 3 (nearest rank ⌈0.9·3⌉ = 3) = 18.
    Score: (0.8333·10 + 1·10 + 0.4·15 + 0.6667·10 + 0.6667·20 + (1 − 0)·10) / 75 · 100 = 54.334 / 75 = 72.45.
    """
    answer = table(town, "supervisor", NUMBERS, "township")
    assert answer["working_days"] == 9  # 27–30 Apr, 6–8 May, Saturday 9 May, 11 May
    qijia = row(answer, QIJIA)
    assert figures(qijia, *CASE_KEYS) == (
        7, 6, 5, 0.8333, 3, 3, 1.0, 5, 2, 0.4, 3, 2, 0.6667, 3, 2, 1, 0.6667,
        4, 3, 0, 0.0, 0, 11.83, 18.0, 0, None)
    assert qijia["score"] == 72.45 and qijia["rank"] == 1
    # 鹿乡镇: L received 6 May, overdue unfiled on 7 May: one late filing, score 0 on the one rate it has.
    luxiang = row(answer, "220112102000")
    assert figures(luxiang, "reported", "filing_decisions", "filed_on_time", "overdue", "score", "rank") == (
        1, 1, 0, 1, 0.0, 2)
    # every township of the county is a row; those without a rate are unranked, last
    assert [r["code"] for r in answer["rows"]] == [QIJIA, "220112102000", "220112001000", "220112101000"]
    assert [r["rank"] for r in answer["rows"]] == [1, 2, None, None]
    assert figures(answer["total"], "reported", "filing_decisions", "filed_on_time", "overdue", "closed") == (
        8, 7, 5, 5, 3)
    # no patrols in this history: nothing patrolled on any of the 9 working days
    assert figures(qijia, "patrol_km", "patrol_grid_days", "patrol_coverage") == (None, 0, 0.0)


def test_villages_departments_and_grid_workers_of_the_numbers_history(town, history):
    # 齐家村 (J A B E D I): filing B E D on time; dispatches B E; handling A on time, J B E late; accepted
    # B E, B closed; closed A (15.75 h), B (18 h, late): mean 16.875 → 16.88, p90 18.
    # Score (1·10 + 1·10 + 0.25·15 + 0.5·10 + 0.5·20 + 1·10) / 75 = 48.75 / 75 = 65.
    villages = table(town, "commander", NUMBERS, "village")
    qijia_village = (4, 3, 3, 1.0, 2, 2, 1.0, 4, 1, 0.25, 2, 1, 0.5, 2, 1, 1, 0.5, 3, 2, 0, 0.0, 0, 16.88, 18.0, 0,
                     None)
    assert figures(row(villages, V1), *CASE_KEYS) == qijia_village
    # 东升村 (C F H): filing C H on time, F late; H dispatched, handled, closed on time in 1.75 h; F overdue.
    # Score (0.6667·10 + 10 + 15 + 10 + 20 + 10) / 75 = 71.667 / 75 = 95.56: the first.
    dongsheng = row(villages, V2)
    assert figures(dongsheng, *CASE_KEYS) == (3, 3, 2, 0.6667, 1, 1, 1.0, 1, 1, 1.0, 1, 1, 1.0, 1, 1, 0, 1.0,
                                              1, 1, 0, 0.0, 0, 1.75, 1.75, 0, None)
    assert (dongsheng["score"], dongsheng["rank"], row(villages, V1)["score"], row(villages, V1)["rank"]) == (
        95.56, 1, 65.0, 2)
    # only 齐家镇's villages for its commander: 鹿乡村 is not theirs
    assert all(r["code"].startswith("220112100") for r in villages["rows"])

    # The department that had each case: 综合行政执法队 got B E H (and D, merged), handled A H on time and
    # J B E late, closed A B H. 综治中心 got C and F routed, and was never dispatched anything.
    # Score (1·10 + 0.4·15 + 0.6667·10 + 0.6667·20 + 1·10) / 65 = 46.001 / 65 = 70.77.
    departments = table(town, "commander", NUMBERS, "department")
    zhzf = row(departments, ZHZF)
    assert figures(zhzf, *CASE_KEYS) == (4, 0, 0, None, 3, 3, 1.0, 5, 2, 0.4, 3, 2, 0.6667, 3, 2, 1, 0.6667,
                                         3, 3, 0, 0.0, 0, 11.83, 18.0, 0, None)
    assert (zhzf["score"], zhzf["rank"]) == (70.77, 1)
    assert figures(row(departments, ZZZX), "reported", "dispatches", "handled", "score", "rank") == (
        2, 0, 0, None, None)
    assert figures(row(departments, CJHB), "reported", "score") == (1, None)  # I, received today
    assert row(departments, ZHZF)["patrol_coverage"] is None  # departments do not patrol

    # Grid workers answer for the cases they reported: worker1's are 齐家村's, worker2's 东升村's.
    workers = table(town, "commander", NUMBERS, "grid_worker")
    assert figures(row(workers, str(town.ids["worker1"])), *CASE_KEYS) == qijia_village
    # they are scored on their own work, their patrols: none in this history
    assert figures(row(workers, str(town.ids["worker2"])), "patrol_coverage", "score") == (0.0, 0.0)
    assert {r["name"] for r in workers["rows"]} == {"worker1", "worker2"}  # worker3 walks in 鹿乡镇


def test_a_commander_sees_nothing_of_another_township(town, history):
    answer = table(town, "other_commander", NUMBERS, "township")
    assert [r["code"] for r in answer["rows"]] == ["220112102000"]
    assert answer["total"]["reported"] == 1
    # naming 齐家镇 as the area gives no row and zeros: the other commander sees none of its cases
    other = table(town, "other_commander", NUMBERS, "village", area=QIJIA)
    assert other["rows"] == [] and other["total"]["reported"] == 0


# -- June: send-back, rework, a bad rating, escalation, self-handling, patrols ----------------------


@pytest.fixture
def june(town, rt, tmp_path, prepared):
    """Four cases of 齐家镇 in June 2026 and the patrols of its two grid workers. Made once per test process
    and backend (`prepared`), copied for each test."""

    def build():
        t, c = town, {}
        with rt.sessions.begin() as session:
            handler_zz = create_user(session, "13800000016", "handler_zz", "department_handler", PASSWORD,
                                     department_code=ZZZX).id
        t.ids["handler_zz"] = handler_zz
        # P (齐家村, 乱堆乱放): dispatched to 综治中心 by mistake, sent back, dispatched again to 执法队, sent
        # back to work once at verification (返工), closed; the reporter rates it 2 stars: reopened (重新办理),
        # handled and closed again the same afternoon.
        c["P"] = t.report("worker1", V1, PILED, at("2026-06-08T09:00"))
        t.step("commander", c["P"], "file", at("2026-06-08T09:05"))
        t.step("commander", c["P"], "dispatch", at("2026-06-08T09:10"), department=ZZZX)
        t.step("handler_zz", c["P"], "send_back", at("2026-06-08T09:30"), note="不属于本部门职责")
        t.step("commander", c["P"], "dispatch", at("2026-06-08T09:40"), department=ZHZF)
        t.step("handler", c["P"], "accept", at("2026-06-08T09:45"))
        t.step("handler", c["P"], "feedback", at("2026-06-08T10:00"), note="已清理")
        t.step("commander", c["P"], "rework", at("2026-06-08T10:30"), note="未清理干净")
        t.step("handler", c["P"], "feedback", at("2026-06-08T11:00"), note="已彻底清理")
        t.step("commander", c["P"], "verify", at("2026-06-08T11:10"))
        t.step("commander", c["P"], "close", at("2026-06-08T11:20"))
        rate(t, "worker1", c["P"], 2, at("2026-06-08T14:00"))
        t.step("handler", c["P"], "feedback", at("2026-06-08T15:00"), note="重新清理")
        t.step("commander", c["P"], "verify", at("2026-06-08T15:10"))
        t.step("commander", c["P"], "close", at("2026-06-08T15:20"))
        # Q (齐家村): received the afternoon before 端午节, closed the Monday after; rated 5 stars.
        # Handling due: Thu 18 Jun 16:00 + 15 h = 1.5 h Thu + (19–21 Jun off) 7.5 h Mon + 6 h → Tue 23 Jun 16:00.
        c["Q"] = t.report("worker1", V1, PILED, at("2026-06-18T16:00"))
        t.path(c["Q"], at("2026-06-18T16:05"), at("2026-06-18T16:10"), at("2026-06-18T16:20"), at("2026-06-22T09:00"),
               at("2026-06-22T09:30"), at("2026-06-22T10:00"))
        rate(t, "worker1", c["Q"], 5, at("2026-06-22T11:00"))
        # S (东升村, 邻里纠纷): escalated at once to the county (上报县级), which never answers: its 5 working
        # days from Mon 1 Jun 09:10 end Mon 8 Jun 09:10; the sweep on Tuesday marks it overdue.
        c["S"] = t.report("worker2", V2, DISPUTE, at("2026-06-01T09:00"))
        t.step("commander", c["S"], "escalate", at("2026-06-01T09:10"), note="需区级协调")
        assert t.sweep(at("2026-06-09T09:00")).overdue == 1
        # R (东升村, 保洁): fixed on the spot by the grid worker, with a photo, 20 minutes after the report.
        c["R"] = t.report("worker2", V2, CLEANING, at("2026-06-10T09:00"))
        photo = add_photo(t, rt, MediaStore(tmp_path), "worker2", c["R"], at("2026-06-10T09:15"))
        t.step("worker2", c["R"], "self_handle", at("2026-06-10T09:20"), note="已当场清理", attachments=(photo,))
        # Patrols: worker1 walks in their grid on Mon 8 and Tue 9 June and on the holiday Fri 19 June, and
        # sends one lone fix on Wed 10 June; worker2 walks in theirs on Mon 8 June.
        walk(t, rt, "worker1", V1, at("2026-06-08T13:40"))
        walk(t, rt, "worker1", V1, at("2026-06-09T08:40"))
        walk(t, rt, "worker1", V1, at("2026-06-19T10:00"))
        walk(t, rt, "worker1", V1, at("2026-06-10T10:00"), fixes=1)
        walk(t, rt, "worker2", V2, at("2026-06-08T14:00"))
        with rt.sessions() as session:
            escalated = session.scalar(sa.select(CaseEvent).join(Case).where(
                Case.tracking_no == c["S"], CaseEvent.action == "escalate"))
            assert escalated.data["department"] == ZFW
        return {"cases": c, "handler_zz": handler_zz}

    made = prepared(build)
    town.ids["handler_zz"] = made["handler_zz"]
    return made["cases"]


def rate(town, who: str, number: str, stars: int, moment) -> None:
    rt = town.rt
    with rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
        ratings.rate(session, Context(town.index, rt.calendar.get(), rt.settings, moment), town.user(session, who),
                     case, stars, None)
        session.commit()


def add_photo(town, rt, store: MediaStore, who: str, number: str, moment) -> int:
    from PIL import Image
    data = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(data, "JPEG")
    with rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
        attachment, _ = attach(session, store, rt.settings, case, town.user(session, who),
                               data.getvalue(), moment)
        session.commit()
        return attachment.id


STEP_M, STEP_S = 8.0, 10.0  # a walk: 10 fixes, 8 m apart eastwards, 10 s apart (9 steps: 72 m)


def walk(town, rt, who: str, village: str, moment, fixes: int = 10) -> None:
    grid, point = town.grids[village]
    shape = town.index.geometry(next(i for i, c in enumerate(town.index.cells) if c.code == grid))
    dlon = metric.degree_window(point.y, STEP_M)[0]
    lonlats = [(point.x + i * dlon, point.y) for i in range(fixes)]
    assert all(shape.contains(shapely.Point(p)) for p in lonlats)  # the walk stays inside the grid
    with rt.sessions() as session:
        user = town.user(session, who)
        patrol, _ = start(session, user, str(uuid.uuid4()), moment, now=moment)
        session.commit()
        points = [PointInput(i, lon, lat, parse_crs("cgcs2000"), 5.0, moment + timedelta(seconds=i * STEP_S))
                  for i, (lon, lat) in enumerate(lonlats)]
        results = add_points(session, patrol, points, rt.settings, now=moment + timedelta(minutes=5))
        session.commit()
        assert {r.result for r in results} == {"added"}


def test_june_per_township(town, june):
    """齐家镇 in June: P Q S R.

    Filing: P Q filed, S escalated, R self-handled, all within the limit: 4 of 4.
    Dispatches: P to 综治中心 (sent back), P to 执法队, Q: 2 of 3 kept.
    Handling: P fed back three times on time (the rework and the reopening each start a round), Q on
    time; S went overdue at the county: 4 of 5.
    Accepted P Q S R, closed P Q R: 0.75. Closed on time: P (its last closing, 15:20), Q, R: 3 of 3.
    Verifications: P 返工, P 通过 twice, Q: 4, 1 rework. Reopened: P. Ratings 2 and 5: 3.5 stars.
    Working hours receipt → (last) closing:
      P: Mon 8 Jun 09:00 → 15:20 = 3 + 1 h 50 = 4.8333
      Q: Thu 18 Jun 16:00 → Mon 22 Jun 10:00 = 1.5 + (19–21 June off) + 1.5 = 3
      R: Wed 10 Jun 09:00 → 09:20 = 0.3333
    mean 2.72; p90 the 3rd of 3 = 4.83.
    Score (1·10 + 0.6667·10 + 0.8·15 + 0.75·10 + 1·20 + 0.75·10 + (3.5 − 1)/4·25) = 79.292 → 79.29.
    """
    answer = table(town, "commander", JUNE, "township")
    assert answer["working_days"] == 21
    qijia = row(answer, QIJIA)
    assert figures(qijia, *CASE_KEYS) == (4, 4, 4, 1.0, 3, 2, 0.6667, 5, 4, 0.8, 4, 3, 0.75, 3, 3, 0, 1.0,
                                          1, 4, 1, 0.25, 1, 2.72, 4.83, 2, 3.5)
    assert qijia["score"] == 79.29
    # Patrols: grid working days patrolled, over the township's base grids: worker1's grid on 8 and 9
    # June (not on the holiday, not by a lone fix), worker2's on 8 June.
    grids = [c.code for c in town.index.cells if c.kind == "base" and c.code.startswith("220112100")]
    assert figures(qijia, "patrol_grid_days", "patrol_coverage") == (3, round(3 / (len(grids) * 21), 4))


def test_june_per_department_and_grid_worker(town, june):
    departments = table(town, "commander", JUNE, "department")
    # 执法队: P (its part from 09:40) and Q. Dispatches 2 of 2, handling 4 of 4, closed 2 on time in
    # 4.8333 and 3 h (mean 3.92, p90 ⌈1.8⌉ = 2nd = 4.83), one rework in 4 verifications, P reopened,
    # both ratings. Score (10 + 15 + 10 + 20 + 0.75·10 + 0.625·25) / 90 = 78.125 / 90 = 86.81.
    zhzf = row(departments, ZHZF)
    assert figures(zhzf, *CASE_KEYS) == (2, 0, 0, None, 2, 2, 1.0, 4, 4, 1.0, 2, 2, 1.0, 2, 2, 0, 1.0,
                                         0, 4, 1, 0.25, 1, 3.92, 4.83, 2, 3.5)
    assert (zhzf["score"], zhzf["rank"]) == (86.81, 1)
    # 综治中心 sent its one dispatch back: 0 of 1. The county's 综治中心 let S go overdue: handling 0 of 1,
    # closure 0 of 1. Both score 0 and share the 2nd place (by code).
    assert figures(row(departments, ZZZX), "dispatches", "dispatches_kept", "score", "rank") == (1, 0, 0.0, 2)
    assert figures(row(departments, ZFW), "reported", "handled", "handled_on_time", "accepted", "overdue", "score",
                   "rank") == (1, 1, 0, 1, 1, 0.0, 2)
    # R was fixed by the grid worker: no department answers for it, though 村镇建设办 was routed
    assert figures(row(departments, CJHB), "reported", "closed") == (0, 0)
    assert departments["total"]["closed"] == 3

    workers = table(town, "commander", JUNE, "grid_worker")
    # worker1 reported P and Q: as 执法队's figures plus the filings (2 of 2) and the wrong dispatch.
    # Patrols: 3 walks of 72 m (the holiday's counts for distance) = 0.216 km; their grid patrolled on
    # 2 of 21 working days: 0.0952, and that is their score (9.52).
    one = row(workers, str(town.ids["worker1"]))
    assert figures(one, *CASE_KEYS) == (2, 2, 2, 1.0, 3, 2, 0.6667, 4, 4, 1.0, 2, 2, 1.0, 2, 2, 0, 1.0,
                                        0, 4, 1, 0.25, 1, 3.92, 4.83, 2, 3.5)
    assert figures(one, "patrol_km", "patrol_grid_days", "patrol_coverage", "score", "rank") == (
        0.22, 2, 0.0952, 9.52, 1)
    # worker2 reported S and R: handling 0 of 1, closure 1 of 2, R closed on time in 0.33 h; walked
    # 72 m in their grid on 1 of 21 working days: 0.0476.
    two = row(workers, str(town.ids["worker2"]))
    assert figures(two, "reported", "handled", "handled_on_time", "accepted", "accepted_closed", "closed",
                   "average_handling_hours", "overdue", "rework_rate", "patrol_km", "patrol_grid_days",
                   "patrol_coverage", "score", "rank") == (
        2, 1, 0, 2, 1, 1, 0.33, 1, None, 0.07, 1, 0.0476, 4.76, 2)


def test_a_department_sees_its_own_row_and_no_patrols(town, june):
    # 综治中心 no longer has P, but it sent P back: its one dispatch, not kept, is its own figure
    mine = table(town, "handler_zz", JUNE, "department")
    assert [(r["code"], r["dispatches"], r["dispatches_kept"]) for r in mine["rows"]] == [(ZZZX, 1, 0)]
    # 执法队's handler sees 执法队's row only, not 综治中心's
    assert [r["code"] for r in table(town, "handler", JUNE, "department")["rows"]] == [ZHZF]
    # nobody's patrols for a department's people, at any level
    township = table(town, "handler", JUNE, "township")
    assert [(r["code"], r["patrol_grid_days"]) for r in township["rows"]] == [(QIJIA, None)]
    assert table(town, "handler", JUNE, "grid_worker")["rows"] == []


def test_a_grid_worker_sees_their_own_row_and_their_own_patrols(town, june):
    workers = table(town, "worker1", JUNE, "grid_worker")
    assert [(r["name"], r["patrol_grid_days"]) for r in workers["rows"]] == [("worker1", 2)]
    grids = table(town, "worker1", JUNE, "grid")
    assert [(r["code"], r["patrol_grid_days"]) for r in grids["rows"]] == [(town.grids[V1][0], 2)]
    # the village's coverage would show where the others walked: not shown to a grid worker
    villages = table(town, "worker1", JUNE, "village")
    assert [(r["code"], r["reported"], r["patrol_coverage"]) for r in villages["rows"]] == [(V1, 2, None)]


def test_a_grid_row_is_its_cases_and_its_patrols(town, june):
    grid = town.grids[V1][0]
    answer = table(town, "commander", JUNE, "grid", area=V1)
    assert {r["code"][:12] for r in answer["rows"]} == {V1}
    mine = row(answer, grid)
    assert figures(mine, "reported", "closed", "reopened", "patrol_grid_days", "patrol_coverage") == (
        2, 2, 1, 2, 0.0952)


def test_figures_are_those_of_the_record_at_the_end_of_the_period(town, june):
    """Up to Mon 8 Jun 14:00 (excluded), P was closed at 11:20, on time: 09:00 → 11:20 = 2 h 20 min =
    2.33 working hours; the rating at 14:00 and the reopening came later and are not read."""
    answer = table(town, "commander", Period(JUNE.start, at("2026-06-08T14:00")), "township")
    qijia = row(answer, QIJIA)
    assert figures(qijia, "closed", "average_handling_hours", "reopened", "ratings", "overdue") == (1, 2.33, 0, 0, 0)
    # S is not overdue yet on Monday: the sweep marked it on Tuesday
    assert figures(qijia, "handled", "handled_on_time") == (2, 2)


def test_score_and_rank_rules():
    rates = dict.fromkeys(("on_time_filing_rate", "dispatch_accuracy_rate", "on_time_handling_rate", "closure_rate",
                           "on_time_closure_rate", "rework_rate", "mean_stars"))
    assert score(rates) is None
    assert score({**rates, "rework_rate": 0.5}) == 50.0  # 1 − 0.5
    assert score({**rates, "mean_stars": 5.0, "closure_rate": 0.0}) == round(100 * 25 / 35, 2)
    rows = [{"code": "b", "score": 80.0}, {"code": "a", "score": 80.0}, {"code": "c", "score": None},
            {"code": "d", "score": 90.0}]
    assert [(r["code"], r["rank"]) for r in ranked(rows)] == [("d", 1), ("a", 2), ("b", 2), ("c", None)]


# -- the API and its files --------------------------------------------------------------------------


def test_the_api_answers_json_csv_and_excel_with_the_same_figures(town, june, client):
    headers = sign_in(client, town.phones["commander"])
    query = {"level": "department", "from": JUNE.start.isoformat(), "to": JUNE.end.isoformat()}
    answer = client.get("/api/v1/indicators", query_string=query, headers=headers)
    assert_documented(client.get("/api/openapi.json").get_json(), "get", "/api/v1/indicators", answer, 200)
    data = answer.get_json()
    assert row(data, ZHZF)["score"] == 86.81

    as_csv = client.get("/api/v1/indicators", query_string={**query, "format": "csv"}, headers=headers)
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert 'filename="indicators-department-20260601-20260701.csv"' in as_csv.headers["Content-Disposition"]
    assert as_csv.data.startswith("\ufeff".encode())  # Excel reads UTF-8 only with the byte order mark
    lines = list(csv.reader(io.StringIO(as_csv.data.decode("utf-8-sig"))))
    assert lines[0][:2] == ["编码 code", "名称 name"] and "按时立案率 on-time filing rate" in lines[0]
    assert len(lines) == len(data["rows"]) + 2 and lines[-1][1] == "合计"
    zhzf = dict(zip([c.key for c in COLUMNS], next(line for line in lines if line[0] == ZHZF)))
    assert (zhzf["name"], zhzf["dispatch_accuracy_rate"], zhzf["p90_handling_hours"], zhzf["score"]) == (
        row(data, ZHZF)["name"], "1.0", "4.83", "86.81")

    as_xlsx = client.get("/api/v1/indicators", query_string={**query, "format": "xlsx"}, headers=headers)
    assert as_xlsx.status_code == 200
    assert as_xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(as_xlsx.data))
    sheet = book["部门指标"]
    cells = [[c.value for c in line] for line in sheet.iter_rows()]
    assert cells[0] == lines[0]
    by_code = {line[0]: dict(zip([c.key for c in COLUMNS], line)) for line in cells[1:]}
    assert {k: by_code[ZHZF][k] for k in CASE_KEYS} == {k: row(data, ZHZF)[k] for k in CASE_KEYS}
    rate_column = [c.key for c in COLUMNS].index("dispatch_accuracy_rate") + 1
    assert sheet.cell(row=2, column=rate_column).number_format == "0.00%"
    assert book["说明"]["B3"].value == "部门 department"


def test_the_county_ranking_through_the_api(town, history, client):
    headers = sign_in(client, town.phones["supervisor"])
    answer = client.get("/api/v1/indicators", headers=headers, query_string={
        "level": "township", "area": COUNTY, "from": FROM.isoformat(), "to": TO.isoformat()})
    assert [(r["name"], r["rank"]) for r in answer.get_json()["rows"]][:2] == [("齐家镇", 1), ("鹿乡镇", 2)]


@pytest.mark.parametrize("query, field", [
    ({"level": "county"}, "level"),
    ({"format": "pdf"}, "format"),
    ({"area": "2201"}, "area"),
    ({"area": "999999999999"}, "area"),
    ({"from": "2026-06-02T00:00:00+08:00", "to": "2026-06-01T00:00:00+08:00"}, "to"),
    ({"from": "2025-01-01T00:00:00+08:00", "to": "2026-06-01T00:00:00+08:00"}, "to"),
    ({"from": "yesterday"}, "from"),
])
def test_bad_queries_are_422_naming_the_field(town, client, query, field):
    answer = client.get("/api/v1/indicators", query_string=query, headers=sign_in(client, town.phones["commander"]))
    assert answer.status_code == 422
    assert field in answer.get_json()["error"]["fields"]


def test_indicators_need_a_sign_in(client, sample_app):
    assert client.get("/api/v1/indicators").status_code == 401


def sign_in(client, phone: str) -> dict:
    answer = client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    assert answer.status_code == 200, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


ADDITIVE = ("reported", "filing_decisions", "filed_on_time", "dispatches", "dispatches_kept", "handled",
            "handled_on_time", "verifications", "reworks", "reopened", "ratings", "overdue", "closed",
            "patrol_grid_days")


def test_two_halves_of_june_add_up_to_june(town, june):
    """Each item is counted once, in the period holding its entry: the halves add up (no case went
    overdue in both halves, and none was closed in both)."""
    middle = at("2026-06-15T00:00")
    whole, first, second = (row(table(town, "commander", period, "township"), QIJIA) for period in (
        JUNE, Period(JUNE.start, middle), Period(middle, JUNE.end)))
    assert {k: first[k] + second[k] for k in ADDITIVE} == {k: whole[k] for k in ADDITIVE}


def test_a_case_merged_after_filing_is_not_left_open_in_the_closure_rate(town):
    # July: M1 filed; M2 filed, then found to repeat M1 and merged into it: only M1 is accepted.
    m1 = town.report("worker1", V1, PILED, at("2026-07-01T09:00"))
    town.step("commander", m1, "file", at("2026-07-01T09:05"))
    m2 = town.report("worker1", V1, PILED, at("2026-07-01T09:10"))
    town.step("commander", m2, "file", at("2026-07-01T09:15"))
    town.step("commander", m2, "merge", at("2026-07-01T09:20"), into=m1)
    qijia = row(table(town, "commander", Period(at("2026-07-01T00:00"), at("2026-08-01T00:00")), "township"), QIJIA)
    assert figures(qijia, "reported", "filing_decisions", "filed_on_time", "accepted", "accepted_closed",
                   "closure_rate") == (2, 2, 2, 1, 0, 0.0)


def test_a_retired_grid_keeps_its_row_by_its_last_name(town, june, rt):
    grid = town.grids[V1][0]
    with rt.sessions.begin() as session:
        cell = session.scalar(sa.select(GridCell).where(GridCell.code == grid, GridCell.valid_to.is_(None)))
        cell.valid_to = at("2026-07-01T00:00")
        bump_revision(session)
    town.index = rt.index.get()
    assert town.index.position_of(grid) is None  # no longer in the network
    retired = row(table(town, "commander", JUNE, "grid"), grid)
    assert (retired["name"], retired["reported"], retired["closed"]) == (cell.name, 2, 2)


def test_a_late_batch_of_fixes_is_counted_although_its_day_was_counted_before(town, june, rt):
    def worker1() -> dict:
        return row(table(town, "commander", JUNE, "grid_worker"), str(town.ids["worker1"]))
    assert worker1()["patrol_grid_days"] == 2  # 8 and 9 June; 10 June's lone fix counted nothing

    def kept() -> PatrolDay:
        with rt.sessions() as session:
            return session.scalar(sa.select(PatrolDay).where(PatrolDay.user_id == town.ids["worker1"],
                                                             PatrolDay.day == at("2026-06-10T00:00").date()))
    before = kept()
    assert (before.grid_codes, before.length_m) == ([], 0.0)  # the day's count is kept
    walk(town, rt, "worker1", V1, at("2026-06-10T15:00"))  # the phone sends that day's walk only now
    cleared = kept()
    assert (cleared.length_m, cleared.generation) == (None, before.generation + 1)  # the batch cleared it
    assert figures(worker1(), "patrol_grid_days", "patrol_km") == (3, 0.29)


def test_a_count_made_while_a_batch_arrived_is_not_kept(town, june, rt, monkeypatch):
    """A reader counts 11 June from fixes read before a batch for that day commits: its answer may miss
    the batch, but it must not keep that count, or the batch would never be counted."""
    from gridsvc.patrols import days as patrol_days
    count = patrol_days._count

    def count_then_a_batch_arrives(session, index, settings, user_id, days):
        counted = count(session, index, settings, user_id, days)
        if user_id == town.ids["worker1"] and at("2026-06-11T00:00").date() in days:
            walk(town, rt, "worker1", V1, at("2026-06-11T10:00"))  # committed between the read and the write
        return counted
    monkeypatch.setattr(patrol_days, "_count", count_then_a_batch_arrives)
    first = row(table(town, "commander", JUNE, "grid_worker"), str(town.ids["worker1"]))
    assert first["patrol_grid_days"] == 2  # counted before the batch
    monkeypatch.setattr(patrol_days, "_count", count)
    again = row(table(town, "commander", JUNE, "grid_worker"), str(town.ids["worker1"]))
    assert again["patrol_grid_days"] == 3  # 11 June was not kept stale: counted again, with the batch


@pytest.mark.parametrize("name", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=cmd|' /C calc'!A0", "\r=1+1"])
def test_names_that_start_like_a_formula_are_text_in_csv_and_excel(name):
    """OWASP's CSV-injection list; a TAB or CR before `=` passed the CSV before (issue 14)."""
    row = {c.key: 0 for c in COLUMNS} | {"name": name}
    table = {"level": "township", "from": "2026-06-01T00:00:00+08:00", "to": "2026-07-01T00:00:00+08:00",
             "area": None, "working_days": 21, "rows": [row], "total": {c.key: 0 for c in COLUMNS} | {"name": "合计"}}
    name_column = [c.key for c in COLUMNS].index("name")
    lines = list(csv.reader(io.StringIO(as_csv(table).decode("utf-8-sig"), newline="")))
    assert lines[1][name_column] == "'" + name
    sheet = load_workbook(io.BytesIO(as_xlsx(table))).active
    cell = sheet.cell(row=2, column=name_column + 1)
    assert cell.data_type == "s" and cell.value.startswith("'")  # (XML reads a CR back as LF)
