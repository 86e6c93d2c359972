"""The deployment entry point: gunicorn imports `gridsvc.wsgi:app`, configured by GRIDSVC_* variables alone."""

import importlib
import sys

from gridsvc.kernel import migrate
from gridsvc.kernel.db import make_engine


def test_wsgi_app_serves_the_database_named_in_the_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'deployed.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)  # as `gridsvc db upgrade` before starting gunicorn
    engine.dispose()
    monkeypatch.setenv("GRIDSVC_DATABASE_URL", url)
    sys.modules.pop("gridsvc.wsgi", None)
    try:
        app = importlib.import_module("gridsvc.wsgi").app
        rt = app.extensions["gridsvc"]
        assert rt.engine.url.database == str(tmp_path / "deployed.sqlite")
        response = app.test_client().get("/api/v1/health")
        assert response.status_code == 200
        assert response.get_json()["status"] == "ok" and response.get_json()["grid_cells"] == 0
        rt.dispose()
    finally:
        sys.modules.pop("gridsvc.wsgi", None)  # no later test may pick up an app on this folder
