"""gridsvc: the township grid-management service (镇村一张网).

The packages, from the top of the dependency rule to its bottom (docs/architecture.md; `make lint`
checks it with import-linter, contracts in setup.cfg):

    gridsvc.wsgi, gridsvc.cli   entry points: gunicorn's app, the `gridsvc` command
    gridsvc.app                 the Flask factory
    mobile_api                  the phones' API (an adapter over gridsvc.web's parts)
    gridsvc.web                 every blueprint, its schemas, the error mapping, the live channel, the pages
    gridsvc.standards           OGC API Features and Open311: the standards' domain parts
    gridsvc.oversight           figures: numbers, indicators, hotspots, the public figures, the screen's map
    gridsvc.patrols             patrol tracks and the coverage of a day
    gridsvc.cases               a case's life: intake, workflow, record, access, deadlines, photos, ratings
    gridsvc.catalogue | gridsvc.accounts | gridsvc.worktime
    gridsvc.network             administrative units, grid versions, the locate index
    gridsvc.events              the outbox, rooms, relay and wake-up: how an event travels
    gridsvc.kernel              settings, database, tables, migrations, the error family, idempotency
    gridsvc.geo                 geometry and datums: no Flask, no database

This file imports nothing, so that `import gridsvc.geo.crs` loads no web framework.
"""
