"""Who is in which room: a connected user by their jurisdiction, an event by who may see it.

The rooms mirror the case visibility rule (gridsvc.cases.access.can_see), so a screen hears of
exactly the cases it may open, live or in a catch-up. Room names: gridsvc.events.rooms.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.accounts.users import Jurisdiction, jurisdiction_of
from gridsvc.cases.access import case_area
from gridsvc.events.rooms import (ADMIN_ROOM, PUBLIC_ROOM, area_room, area_rooms, department_room, grid_room,
                                  team_room, user_room)
from gridsvc.kernel.models import Case, User


def rooms_of_user(user: User, jurisdiction: Jurisdiction) -> frozenset[str]:
    rooms = {PUBLIC_ROOM, user_room(user.id)}
    if jurisdiction.everywhere:
        rooms.add(ADMIN_ROOM)
    if jurisdiction.area_prefix is not None:
        rooms.add(area_room(jurisdiction.area_prefix))
    rooms.update(grid_room(code) for code in jurisdiction.grid_codes)
    if jurisdiction.department_code is not None:
        rooms.add(department_room(jurisdiction.department_code))
        if user.team_code:
            rooms.add(team_room(user.team_code))
    return frozenset(rooms)


def rooms_for(session: Session, user: User) -> frozenset[str]:
    return rooms_of_user(user, jurisdiction_of(session, user))


def case_rooms(session: Session, case: Case) -> list[str]:
    """Everyone who may open the case, as rooms."""
    rooms = area_rooms(case_area(case))
    if case.grid_code:
        rooms.append(grid_room(case.grid_code))
    if case.department_code:
        rooms.append(department_room(case.department_code))
    if case.team_code:
        rooms.append(team_room(case.team_code))
    rooms.append(user_room(case.reporter_id))
    if case.record_seq > 1:  # a new case has absorbed nothing: spare intake the query
        absorbed = sa.select(Case.reporter_id).where(Case.merged_into_id == case.id).distinct()
        rooms.extend(user_room(reporter) for reporter in session.scalars(absorbed))
    return rooms


def patrol_rooms(grid_codes) -> list[str]:
    """A grid worker's patrol: seen by the grids' villages, townships and counties."""
    rooms = []
    for code in grid_codes:
        rooms.extend([*area_rooms(code), grid_room(code)])
    return list(dict.fromkeys(rooms))
