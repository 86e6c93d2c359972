"""The web adapter: every blueprint and its schemas, the one mapping from error kinds to HTTP statuses
(`errors`), the request guard, rate limits, the live Socket.IO channel, the OpenAPI documents, and
the static pages of the command screen (`screen/`) and the public page (`public_page/`).

Views are thin: parse and validate, call the domain, shape the answer. They own the unit of work
(docs/architecture.md: one request, one transaction).

May import: every domain package.
"""
