"""Moments in UTC: how every context reads the clock and writes a moment.

SQLite hands back what was written as UTC without an offset, PostGIS with one; the work calendar
computes in China time (+08:00). Every moment the service keeps or compares goes through `as_utc`,
and every moment it writes out is ISO 8601 in UTC (`iso_or_none`), so both backends and every
answer agree.
"""

from __future__ import annotations

from datetime import datetime, timezone


def as_utc(moment: datetime) -> datetime:
    """A moment in UTC; a naive one is taken to be UTC (how SQLite hands back what was written as UTC)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso_or_none(moment: datetime | None) -> str | None:
    """A moment as ISO 8601 in UTC, as the API and events write it; None stays None."""
    return as_utc(moment).isoformat() if moment else None
