"""Fixtures of the OGC API tests (test_ogc_api, test_ogc_time_crs)."""

import pytest

from bench.serving import gunicorn
from tests.support import STRANGER, WORKER, report_body


@pytest.fixture
def cases(field, rt):
    """One case in the grid worker's 齐家镇 grid, one in 鹿乡镇 by its grid worker."""
    index = rt.index.get()
    other = index.geometry(index.position_of(field["other_grid"])).representative_point()
    numbers = {}
    for who, body in ((WORKER, report_body(field)),
                      (STRANGER, report_body(field, lon=other.x, lat=other.y, crs="cgcs2000"))):
        answer = field["phone"].post("/mobile/v1/reports", json=body, headers=field["headers"](who))
        assert answer.status_code == 201, answer.get_json()
        numbers[who] = answer.get_json()["tracking_no"]
    return numbers


@pytest.fixture
def served(sample_app, database_url, tmp_path):
    """The service under gunicorn (two sync workers) on the test's database: its base URL."""
    env = {"GRIDSVC_DATABASE_URL": database_url}
    with gunicorn("gridsvc.wsgi:app", env, ["--workers", "2"], tmp_path / "gunicorn.log") as base:
        yield base
