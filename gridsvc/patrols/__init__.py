"""Patrols (巡查): a grid worker's track, and how much of each grid a day covered.

May import: gridsvc.cases and below.
"""
