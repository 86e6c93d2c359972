"""Geometry and datums: CGCS2000 storage, GCJ-02/BD-09 offsets, Gauss–Krüger metres, validation, files, tracks.

Pure functions and small classes over shapely and pyproj: no Flask, no SQLAlchemy, no other gridsvc
package (a test and an import-linter contract check it), so a GIS script can use them alone.
"""
