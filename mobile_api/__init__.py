"""The versioned API that phones call, under /mobile/v1 (issue 4)."""
