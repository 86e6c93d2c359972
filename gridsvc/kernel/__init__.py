"""The kernel: what every context stands on.

Settings (`config`), engines and the dialect seam (`db`), the tables (`models`), migrations
(`migrate`, `migrations/`), the error family (`errors`), idempotency keys (`idempotency`), the
reloading caches (`reloading`), shared-store checks (`shared_stores`) and the process's `runtime`.

May import: gridsvc.geo only.
"""
