"""The WSGI entry point for deployment: `gunicorn 'gridsvc.wsgi:app'`.

A WSGI server imports a module and takes an application object from it; it cannot
pass arguments to a factory. So this module builds the app once per worker
process, with every setting read from the GRIDSVC_* environment variables
(`Settings.from_env`), e.g. GRIDSVC_DATABASE_URL=postgresql://… for PostGIS.
The database must be migrated beforehand (`gridsvc db upgrade`): workers never
migrate, so that several of them starting at once cannot race on the schema.
"""

from __future__ import annotations

from gridsvc.app import create_app

app = create_app()
