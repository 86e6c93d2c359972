"""The names of rooms (who may receive an event); gridsvc.cases.audience says who is in which.

- `area:<code>` for the county (6 digits), township (9) and village (12) an event lies in; a
  commander or supervisor joins the one of their unit, so a county sees its townships;
- `grid:<code>` for a grid worker's grids;
- `dept:<code>` and `team:<code>` for the department (and team) that has a case;
- `user:<id>` for one person: the reporter, a reporter whose case was merged into it, a user
  whose sign-ins were revoked;
- `admin` (every event goes there: administrators see everything) and `public` (everyone signed
  in: changes of the grid network and the catalogue).
"""

from __future__ import annotations

ADMIN_ROOM = "admin"
PUBLIC_ROOM = "public"
_AREA_LEVELS = (6, 9, 12)  # county, township, village: the lengths of a jurisdiction's area prefix


def area_rooms(code: str) -> list[str]:
    return [f"area:{code[:n]}" for n in _AREA_LEVELS if len(code) >= n]


def area_room(prefix: str) -> str:
    return f"area:{prefix}"


def grid_room(code: str) -> str:
    return f"grid:{code}"


def department_room(code: str) -> str:
    return f"dept:{code}"


def team_room(code: str) -> str:
    return f"team:{code}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"
