"""What the intake benchmarks share: the sample county in a fresh database, reports, a baseline app.

The in-process benchmark (bench.intake_bench) and the load benchmark against
gunicorn (bench.load_bench) must measure the same thing, so both take the
database, the report bodies and the bare endpoint from here: a difference
between their figures is then the serving, not the setup.
"""

from __future__ import annotations

# Import order: gridsvc.kernel.db must come first (see the comment there).
import gridsvc.kernel.db  # noqa: F401

import uuid

import numpy as np
from flask import Flask, jsonify, request

from fixtures.sample import load_sample
from gridsvc.app import create_app
from gridsvc.kernel import migrate
from gridsvc.accounts.users import create_user
from gridsvc.catalogue.store import current_categories
from gridsvc.kernel.config import Settings
from gridsvc.geo.crs import from_cgcs2000, parse_crs

PASSWORD = "benchmark password"


def sample_app(url: str) -> Flask:
    """An app on a fresh database at `url`, migrated and holding the sample county (双阳区)."""
    app = create_app(Settings(database_url=url))
    rt = app.extensions["gridsvc"]
    migrate.upgrade(rt.engine)
    with rt.sessions.begin() as session:
        load_sample(session, rt.settings)
    return app


def add_reporter(session, rt, phone: str) -> None:
    """A grid worker whose grids are all of the county's base grids, so that a report at a random
    place is not flagged as outside the reporter's grids (a real worker has one or a few)."""
    grids = [cell.code for cell in rt.index.get().cells if cell.kind == "base"]
    create_user(session, phone, "基准网格员", "grid_worker", PASSWORD, grid_codes=grids)


def bare_app() -> Flask:
    """The baseline: Flask parsing the same JSON body and answering it back, and nothing else.

    Also gunicorn's target as `bench.sample_service:bare_app()`, so that the load
    benchmark serves it exactly as it serves the service.
    """
    app = Flask("baseline")

    @app.post("/echo")
    def echo():
        return jsonify(request.get_json()), 201

    return app


def bodies(app, n: int) -> list[dict]:
    """Reports at random points inside the sample county's cells, in GCJ-02 as a phone sends them."""
    rt = app.extensions["gridsvc"]
    index = rt.index.get()
    rng = np.random.default_rng(0)
    cells = [i for i, c in enumerate(index.cells) if c.kind == "base"]
    with rt.sessions() as session:
        categories = [c.code for c in current_categories(session)]
    out = []
    for k in range(n):
        point = index.geometry(int(rng.choice(cells))).representative_point()
        x, y = from_cgcs2000(point.x + rng.normal(0, 1e-4), point.y + rng.normal(0, 1e-4), parse_crs("gcj02"))
        out.append({"client_uuid": str(uuid.uuid4()), "category": categories[k % len(categories)],
                    "description": "基准测试上报", "lon": x, "lat": y, "crs": "gcj02", "accuracy": 8})
    return out
