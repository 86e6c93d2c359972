"""Command-centre API v1 for the catalogue, departments and the published responsibility list.

Thin like gridsvc.web.grids_api: the rules live in gridsvc.catalogue.responsibility and
gridsvc.catalogue.store. Names come in zh-CN and English; field names are English.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema

from gridsvc.kernel.runtime import runtime
from gridsvc.web.grids_api import MomentField, Text
from gridsvc.catalogue.store import area_chain, current_categories, current_category, grid_area_chains
from gridsvc.web.errors import ApiError, invalid_parameter
from gridsvc.kernel.models import CategoryMajor, Department
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.worktime.calendar import CHINA, WorkCalendar

catalogue_api = Blueprint("catalogue_api", __name__, url_prefix="/api/v1")


def category_json(c) -> dict:
    return {
        "code": c.code,
        "version": c.version,
        "major_code": c.major_code,
        "name_zh": c.name_zh,
        "name_en": c.name_en,
        "domain": c.domain,
        "limit": {"value": c.limit_value, "unit": c.limit_unit},
        "urgent_limit": {"value": c.urgent_limit_value, "unit": c.urgent_limit_unit} if c.urgent_limit_unit else None,
        "township_may_act": c.township_may_act,
        "reserved_power": c.reserved_power,
        "description_zh": c.description_zh,
        "duplicate_distance_m": c.duplicate_distance_m,
        "feedback_photo_required": c.feedback_photo_required,
        "valid_from": as_utc(c.valid_from).isoformat(),
    }


def _department(d) -> dict:
    return {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, "level": d.level, "admin_code": d.admin_code}


@catalogue_api.get("/categories")
def categories():
    """The current catalogue (公共服务事项目录清单) with its major classes."""
    with runtime().sessions() as session:
        majors = session.scalars(sa.select(CategoryMajor).order_by(CategoryMajor.code))
        return jsonify({
            "majors": [{"code": m.code, "name_zh": m.name_zh, "name_en": m.name_en} for m in majors],
            "categories": [category_json(c) for c in current_categories(session)],
        })


@catalogue_api.get("/departments")
def departments():
    with runtime().sessions() as session:
        rows = session.scalars(sa.select(Department).order_by(Department.level, Department.code))
        return jsonify({"departments": [
            {**_department(d), "teams": [{"code": t.code, "name_zh": t.name_zh, "name_en": t.name_en} for t in d.teams]}
            for d in rows
        ]})


@catalogue_api.get("/responsibility")
def published_list():
    """The responsibility list as published (四(四) 权力清单和责任清单): who answers for what, where."""
    index, rules = runtime().index.get(), runtime().rules.get()
    return jsonify({"rules": [
        {
            "area_code": r.area_code,
            "area_name": index.name_of(r.area_code),
            "subject_kind": r.subject_kind,
            "subject": r.subject,
            "subject_name_zh": rules.categories[r.subject].name_zh if r.subject_kind == "category" else None,
            "subject_name_en": rules.categories[r.subject].name_en if r.subject_kind == "category" else None,
            "department": _department(rules.departments[r.department_code]),
            "note_zh": r.note_zh,
        }
        for r in rules.rules
    ]})


@catalogue_api.get("/responsibility/coverage")
def coverage():
    """Every (grid, category) pair of the current network that no rule covers."""
    index, rules = runtime().index.get(), runtime().rules.get()
    gaps = rules.coverage_gaps(grid_area_chains(index))
    return jsonify({
        "complete": not gaps,
        "grids": len(index),
        "categories": len(rules.categories),
        "gaps": [{"grid_code": g.grid_code, "category_code": g.category_code} for g in gaps],
    })


class RouteQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    grid = Text(required=True)  # Text: a NUL would be a database error
    category = Text(required=True)
    at = MomentField(load_default=None, metadata={"description": "when the report came in (default: now)"})


@catalogue_api.get("/route")
def route():
    """Which department answers for `category` in `grid`, and when handling is due (what intake will do)."""
    query = RouteQuery().load(request.args)
    index, rules = runtime().index.get(), runtime().rules.get()
    with runtime().sessions() as session:
        category = current_category(session, query["category"])
    if category is None:
        raise invalid_parameter("category", f"{query['category']} is not in the current catalogue")
    try:
        areas = area_chain(index, query["grid"])
    except KeyError:
        raise invalid_parameter("grid", f"{query['grid']} is not a current grid") from None
    found = rules.route(areas, category.code)
    if found is None:
        raise ApiError(404, "no_responsible_department",
                       "责任清单未覆盖 / no rule of the responsibility list covers this grid and category")
    return jsonify({
        "grid": query["grid"],
        "category": category.code,
        "department": _department(found.department),
        "reserved_to_county": found.reserved_to_county,
        "reserved_power": category.reserved_power,
        "rule": {"area_code": found.rule.area_code, "subject_kind": found.rule.subject_kind,
                 "subject": found.rule.subject},
        "deadlines": _deadlines(runtime().calendar.get(), query["at"] or utcnow(), category),
    })


def _deadlines(calendar: WorkCalendar, received, category) -> dict:
    """When handling is due if the report came in at `received`, on the official calendar."""
    due = calendar.add(received, category.limit_value, category.limit_unit)
    urgent = (
        calendar.add(received, category.urgent_limit_value, category.urgent_limit_unit)
        if category.urgent_limit_unit else None
    )
    return {  # in China time, like the office hours they are counted in
        "received_at": received.astimezone(CHINA).isoformat(),
        "handling_due_at": due.isoformat(),
        "urgent_handling_due_at": urgent.isoformat() if urgent else None,
        "calendar_official": calendar.is_official(due.date()),
    }
