"""A case's whole life: intake, the workflow, the sealed record, who may see it, finding it,
its deadlines, photos and the evidence they give, ratings, its events and their audience, the one view of
a case, and its file (案卷) as a page's text and as a PDF.

May import: gridsvc.catalogue, gridsvc.accounts, gridsvc.worktime and below.
"""
