"""The dependency rule seen from a fresh interpreter: geometry loads no web framework and no ORM."""

import subprocess
import sys


def test_importing_the_geometry_package_loads_neither_flask_nor_sqlalchemy():
    modules = "crs, chinese_offsets, grid_records, locate, metric, tracks, validation, vector_io"
    probe = (f"from gridsvc.geo import {modules}; import sys; "
             "print(sorted(m for m in ('flask', 'sqlalchemy', 'geoalchemy2', 'gridsvc.kernel') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_importing_the_package_itself_loads_no_flask():
    probe = "import gridsvc.geo.crs, sys; assert 'flask' not in sys.modules, 'flask'"
    subprocess.run([sys.executable, "-c", probe], check=True)
