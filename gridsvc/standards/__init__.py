"""The domain parts of published standards: OGC API – Features collections and Open311 GeoReport v2.

Their HTTP adapters (and the error shapes the standards prescribe) are in gridsvc.web.

May import: gridsvc.oversight and below.
"""
