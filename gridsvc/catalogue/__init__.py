"""The catalogue of case categories, the departments, and the responsibility list (责任清单) that routes a case.

`responsibility` is routing as data (no database); `store` loads, versions and reads them.

May import: gridsvc.network and below.
"""
