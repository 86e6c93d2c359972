"""Figures for those who oversee: the screen's numbers and map, indicators, hotspots, the public figures.

May import: gridsvc.patrols, gridsvc.cases and below.
"""
