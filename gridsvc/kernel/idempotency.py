"""Idempotency keys: the client UUID a phone gives every report and patrol, spelled one way.

A phone that loses its connection sends the same report (or patrol start) again with the same UUID,
and the unique index on that UUID makes the retry return what the first attempt made (as ODK Central
does). That only works if `{ABC…}`, `ABC…` and `abc…` are one key, so every context reads the key
through here and stores the canonical spelling.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

T = TypeVar("T")


def canonical_uuid_or_none(value: object) -> str | None:
    """The canonical spelling (lower case, hyphenated), or None for anything that is not a UUID."""
    try:
        return str(uuid.UUID(value))  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError):
        return None


def written_once(write: Callable[[], tuple[T, bool]], winner: Callable[[], T | None]) -> tuple[T, bool]:
    """What `write` returns, or, when a concurrent request's row stopped it at a unique key, that row
    (found by `winner`) and False.

    `write` inserts inside a SAVEPOINT (gridsvc.kernel's transaction rule), so losing the race costs
    only the savepoint and the caller's transaction goes on. An IntegrityError that no winner
    explains is not a race and is raised again."""
    try:
        return write()
    except sa.exc.IntegrityError:
        existing = winner()
        if existing is None:
            raise
        return existing, False
