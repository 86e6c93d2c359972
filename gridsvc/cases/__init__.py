"""A case's whole life: intake, the workflow, the sealed record, who may see it, finding it,
its deadlines, photos, ratings, its events and their audience, and the one view of a case.

May import: gridsvc.catalogue, gridsvc.accounts, gridsvc.worktime and below.
"""
