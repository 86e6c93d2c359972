"""The grid network: administrative units, versioned grid cells, and locating a point in them.

`store` reads and writes the stored network, `files` imports and exports GIS files, `index` keeps
the in-memory locate index fresh, `points` checks and converts a point given in any datum.

May import: gridsvc.events, gridsvc.kernel, gridsvc.geo.
"""
