"""The numbers' history (test_numbers, test_indicators): the sample county, the people of the history and
helpers that act at a given moment; and the ten cases of the history itself.

This folder's `town` is not tests/conftest.py's (the phones of the mobile API): here it is a `Town`.
"""

import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from gridsvc.accounts.users import create_user
from gridsvc.cases import intake
from gridsvc.cases.deadline_sweep import sweep
from gridsvc.cases.intake import Intake, Report, submit
from gridsvc.cases.workflow import Context, StepInput, act
from gridsvc.geo.crs import parse_crs
from gridsvc.kernel.models import Case, User
from gridsvc.oversight.numbers import screen_numbers
from tests.support import (CLEANING, COUNTY, DISPUTE, FROM, L1, LUXIANG, NOW, PASSWORD, PILED, QIJIA, TO, V1, V2, ZHZF,
                           at)


class Town:
    """The sample county with the people of the history, and helpers that act at a given moment."""

    def __init__(self, rt, monkeypatch):
        self.rt, self.monkeypatch = rt, monkeypatch
        self.index = rt.index.get()
        self.grids = {village: self._base_grid(village) for village in (V1, V2, L1)}
        people = {
            "worker1": ("13800000011", "grid_worker", {"grid_codes": [self.grids[V1][0]]}),
            "worker2": ("13800000012", "grid_worker", {"grid_codes": [self.grids[V2][0]]}),
            "worker3": ("13800000013", "grid_worker", {"grid_codes": [self.grids[L1][0]]}),
            "commander": ("13800000001", "township_commander", {"admin_code": QIJIA}),
            "other_commander": ("13800000002", "township_commander", {"admin_code": LUXIANG}),
            "supervisor": ("13800000005", "county_supervisor", {"admin_code": COUNTY}),
            "handler": ("13800000006", "department_handler", {"department_code": ZHZF}),
        }
        with rt.sessions.begin() as session:
            self.ids = {who: create_user(session, phone, who, role, PASSWORD, **where).id
                        for who, (phone, role, where) in people.items()}
        self.phones = {who: phone for who, (phone, _, _) in people.items()}

    def _base_grid(self, village: str):
        position = next(i for i, c in enumerate(self.index.cells) if c.village_code == village and c.kind == "base")
        return self.index.cells[position].code, self.index.geometry(position).representative_point()

    def user(self, session, who: str) -> User:
        return session.get(User, self.ids[who])

    def report(self, who: str, village: str, category: str, moment: datetime) -> str:
        """A report received at `moment` (intake stamps the server's clock)."""
        self.monkeypatch.setattr(intake, "utcnow", lambda: moment.astimezone(timezone.utc))
        grid, point = self.grids[village]
        with self.rt.sessions() as session:
            report = Report(str(uuid.uuid4()), category, "村道旁堆放杂物", point.x, point.y, parse_crs("cgcs2000"))
            rt = self.rt
            case, created = submit(session, Intake(self.index, rt.calendar.get(), rt.rules.get(), rt.settings),
                                   self.user(session, who), report)
            session.commit()
            assert created and case.grid_code == grid and case.village_code == village
            return case.tracking_no

    def step(self, who: str, number: str, name: str, moment: datetime, **given) -> None:
        rt = self.rt
        with rt.sessions() as session:
            case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
            act(session, Context(self.index, rt.calendar.get(), rt.settings, moment), self.user(session, who), case,
                name, StepInput(**given))
            session.commit()

    def path(self, number: str, *moments: datetime) -> None:
        """File, dispatch, accept, feedback, verify, close: as many of them as moments are given."""
        steps = [("commander", "file", {}), ("commander", "dispatch", {}), ("handler", "accept", {}),
                 ("handler", "feedback", {"note": "已清理"}), ("commander", "verify", {}), ("commander", "close", {})]
        for (who, name, given), moment in zip(steps, moments):
            self.step(who, number, name, moment, **given)

    def sweep(self, moment: datetime):
        return sweep(self.rt.sessions, self.rt.calendar.get(), self.rt.settings, moment)

    def numbers(self, who: str, period_from=FROM, period_to=TO, now=NOW, area=None) -> dict:
        with self.rt.sessions() as session:
            return screen_numbers(session, self.user(session, who), self.rt.calendar.get(), now, period_from,
                                  period_to, area)

    def due(self, number: str) -> tuple[datetime, datetime | None]:
        with self.rt.sessions() as session:
            case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
            return case.handling_due_at, case.stage_due_at


@pytest.fixture
def town(sample_app, rt, monkeypatch):
    return Town(rt, monkeypatch)


@pytest.fixture
def history(town, prepared):
    """Ten cases, nine in 齐家镇 (J, A, B, C, D, E, F, H, I) and one in 鹿乡镇 (L): their tracking numbers.
    Made once per test process and backend (`prepared`), copied for each test."""

    def build():
        t, c = town, {}
        # J (齐家村, 乱堆乱放): received before the period, still being handled, long overdue.
        # Handling due: Mon 20 Apr 09:00 + 15 working hours = 7 h Mon + 7.5 h Tue + 0.5 h → Wed 22 Apr 09:00.
        c["J"] = t.report("worker1", V1, PILED, at("2026-04-20T09:00"))
        t.path(c["J"], at("2026-04-20T09:10"), at("2026-04-20T09:20"), at("2026-04-20T09:30"))
        # A (齐家村): received before the period, closed on time in it, across a weekend.
        # Due: Fri 24 Apr 09:00 + 15 h = 7 h Fri + (weekend) 7.5 h Mon + 0.5 h → Tue 28 Apr 09:00; fed back 08:40.
        c["A"] = t.report("worker1", V1, PILED, at("2026-04-24T09:00"))
        t.path(c["A"], at("2026-04-24T09:10"), at("2026-04-24T09:20"), at("2026-04-24T09:30"), at("2026-04-28T08:40"),
               at("2026-04-28T09:30"), at("2026-04-28T09:45"))
        # B (齐家村): due Thu 30 Apr 16:00 + 15 h = 1.5 h Thu + (1–5 May) 7.5 h Wed 6 May + 6 h → Thu 7 May 16:00.
        c["B"] = t.report("worker1", V1, PILED, at("2026-04-30T16:00"))
        t.path(c["B"], at("2026-04-30T16:10"), at("2026-04-30T16:20"), at("2026-04-30T16:30"))
        # C (东升村, 邻里纠纷): rejected (不予立案).
        c["C"] = t.report("worker2", V2, DISPUTE, at("2026-05-06T09:00"))
        t.step("commander", c["C"], "reject", at("2026-05-06T09:10"), note="不属于受理范围")
        # E (齐家村): due Wed 6 May 09:55 + 15 h = 6 h 05 Wed + 7.5 h Thu + 1 h 25 → Fri 8 May 09:55; never finished.
        c["E"] = t.report("worker1", V1, PILED, at("2026-05-06T09:55"))
        t.step("commander", c["E"], "file", at("2026-05-06T10:00"))
        # D (齐家村): a duplicate of E, merged into it (合并).
        c["D"] = t.report("worker1", V1, PILED, at("2026-05-06T10:00"))
        t.step("commander", c["D"], "merge", at("2026-05-06T10:05"), into=c["E"])
        t.step("commander", c["E"], "dispatch", at("2026-05-06T10:10"))
        t.step("handler", c["E"], "accept", at("2026-05-06T10:20"))
        # L (鹿乡村): another township's case, never filed: due Wed 6 May 11:30.
        c["L"] = t.report("worker3", L1, DISPUTE, at("2026-05-06T11:00"))

        # The sweep on Thursday afternoon: B (due 16:00), J (due 22 Apr) and L are overdue; E is not yet.
        first = t.sweep(at("2026-05-07T16:30"))
        assert (first.overdue, first.county_alerted) == (3, 0)
        # B is then finished late: it stays "not on time" although its later stages kept their deadlines.
        t.step("handler", c["B"], "feedback", at("2026-05-08T09:00"), note="已清理")
        t.step("commander", c["B"], "verify", at("2026-05-08T09:30"))
        t.step("commander", c["B"], "close", at("2026-05-08T10:00"))
        # F (东升村): received on the adjusted working Saturday, never filed: due Sat 9 May 09:30.
        c["F"] = t.report("worker2", V2, DISPUTE, at("2026-05-09T09:00"))
        # H (东升村, 乱堆乱放): received and closed today, on time.
        c["H"] = t.report("worker2", V2, PILED, at("2026-05-11T09:00"))
        t.path(c["H"], at("2026-05-11T09:10"), at("2026-05-11T09:20"), at("2026-05-11T09:30"), at("2026-05-11T10:00"),
               at("2026-05-11T10:30"), at("2026-05-11T10:45"))
        # I (齐家村, 保洁 → 村镇建设办): received today, due to be filed by 15:20: not overdue.
        c["I"] = t.report("worker1", V1, CLEANING, at("2026-05-11T14:50"))
        # The sweep at 15:00: E and F become overdue; J and L have been overdue a working day: the county is told.
        second = t.sweep(at("2026-05-11T15:00"))
        assert (second.overdue, second.county_alerted) == (2, 2)
        return c

    return prepared(build)
