"""Photo attachments of a case: checked, stored by content, compared with the reported point.

A photo is filed once per case: the SHA-256 of the uploaded bytes is the
idempotency key (unique with the case), so a phone that retries an upload it
never saw answered gets the same attachment back, and of concurrent retries
one inserts and the others find its row.

Files live in a media folder, named by the original's SHA-256:
`original/` keeps the bytes as uploaded (evidence, never served),
`stripped/` the copy that may leave the service (no EXIF, orientation
applied, see gridsvc.cases.photos), `thumbnail/` a small JPEG. Files are written
(atomically, temp file + os.replace) before the row is inserted, so there is
never a row without its files. A transaction that fails after the files were
written leaves them behind without a row: harmless, since a file's name is
its content's hash (the same upload later reuses them) and nothing serves a
file except through its row. A sweep for such orphans is not built.

The photo's EXIF GPS is compared with the case's point: a photo taken far
from where the report says (a known trick of fabricated reports, e.g. a
photo from last year or from another village) flags the case for the
commander. A photo without GPS is not flagged: many apps strip it.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyproj
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.cases import record as case_record, photos
from gridsvc.cases.flags import PHOTO_LOCATION_MISMATCH
from gridsvc.kernel.config import Settings
from gridsvc.kernel.idempotency import written_once
from gridsvc.geo import metric
from gridsvc.kernel.models import Attachment, Case, User
from gridsvc.kernel.clock import as_utc

ORIGINAL, STRIPPED, THUMBNAIL = "original", "stripped", "thumbnail"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GEOD = pyproj.Geod(ellps="GRS80")


@dataclass(frozen=True)
class MediaStore:
    """The media folder: one file per (kind, SHA-256 of the original), written once, atomically."""

    root: Path

    def path(self, kind: str, sha256: str) -> Path:
        if kind not in (ORIGINAL, STRIPPED, THUMBNAIL) or not _SHA256.match(sha256):
            raise ValueError(f"no media file {kind}/{sha256}")
        return self.root / kind / sha256[:2] / sha256

    def put(self, kind: str, sha256: str, data: bytes) -> Path:
        """Write the file unless it is there already. A reader never sees a partial file: the bytes go
        to a temporary file in the same folder, flushed to disk, then renamed over the final name."""
        target = self.path(kind, sha256)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target


def add_photo(
    session: Session, store: MediaStore, settings: Settings, case: Case, uploader: User, data: bytes, at: datetime,
) -> tuple[Attachment, bool]:
    """The attachment for these bytes on this case, and whether it was added now (False: a retry).

    Works in the caller's transaction, the rows inside a SAVEPOINT (flushes; the caller commits);
    raises photos.PhotoError for bytes that are not an acceptable photo, before anything is written.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    existing = find(session, case.id, sha256)
    if existing is not None:
        return existing, False
    photo = photos.prepare(data, int(settings.max_photo_bytes), int(settings.max_photo_pixels))
    store.put(ORIGINAL, sha256, data)
    store.put(STRIPPED, sha256, photo.stripped)
    store.put(THUMBNAIL, sha256, photo.thumbnail)
    with session.begin_nested():  # the writes: a concurrent upload that slipped past the lock stops here
        lock_case(session, case)
        existing = find(session, case.id, sha256)  # a concurrent upload may have filed it meanwhile
        if existing is not None:
            return existing, False
        info = photo.info
        distance = _distance_m(case, info.gps) if info.gps else None
        mismatch = bool(location_mismatch(distance, settings))
        attachment = Attachment(
            case_id=case.id, sha256=sha256, content_type=info.content_type, width=info.width, height=info.height,
            size_bytes=info.size_bytes, exif_lon=info.gps.lon if info.gps else None,
            exif_lat=info.gps.lat if info.gps else None,
            exif_taken_at=as_utc(info.taken_at) if info.taken_at else None, distance_m=distance,
            uploaded_by=uploader.id, uploaded_at=as_utc(at),
        )
        session.add(attachment)
        session.flush()
        if mismatch and PHOTO_LOCATION_MISMATCH not in case.flags:
            case.flags = [*case.flags, PHOTO_LOCATION_MISMATCH]  # a new list: the JSON column sees the change
        case_record.append(session, case, at, "attach", actor_id=uploader.id, data={
            "attachment": attachment.id, "sha256": sha256, "content_type": info.content_type,
            "size_bytes": info.size_bytes, "exif": exif_json(attachment), "distance_m": distance,
            "location_mismatch": mismatch,
        })
    return attachment, True


def attach(
    session: Session, store: MediaStore, settings: Settings, case: Case, uploader: User, data: bytes, at: datetime,
) -> tuple[Attachment, bool]:
    """add_photo, settling a race: flushes; the caller commits. The loser of a race the lock did not
    prevent (a unique violation) has only add_photo's savepoint rolled back and finds the winner's
    attachment, as gridsvc.cases.intake does for reports."""
    case_id, sha256 = case.id, hashlib.sha256(data).hexdigest()
    return written_once(lambda: add_photo(session, store, settings, case, uploader, data, at),
                        lambda: find(session, case_id, sha256))


def lock_case(session: Session, case: Case) -> None:
    """Hold the case's row until the transaction ends, then reload it.

    Appending to the record reads the case's last seal and writes the next: two
    writers at once would both write entry n+1. A no-op UPDATE locks the row on
    PostgreSQL and takes SQLite's write lock, on both backends alike (SELECT …
    FOR UPDATE does nothing on SQLite); the reload then sees what a writer who
    held the lock before us committed.
    """
    session.flush()
    session.execute(
        sa.update(Case).where(Case.id == case.id).values(record_seq=Case.record_seq)
        .execution_options(synchronize_session=False)
    )
    session.refresh(case)


def find(session: Session, case_id: int, sha256: str) -> Attachment | None:
    return session.scalar(sa.select(Attachment).where(Attachment.case_id == case_id, Attachment.sha256 == sha256))


def case_attachments(session: Session, case: Case) -> list[Attachment]:
    return list(session.scalars(sa.select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)))


def location_mismatch(distance_m: float | None, settings: Settings) -> bool | None:
    """Whether a photo's EXIF position lies too far from the case's point; None: the photo has no GPS."""
    return None if distance_m is None else distance_m > settings.photo_mismatch_m


def exif_json(attachment: Attachment) -> dict | None:
    """What the photo's EXIF said about place and time, or None when it said neither."""
    if attachment.exif_lon is None and attachment.exif_taken_at is None:
        return None
    return {
        "lon": attachment.exif_lon, "lat": attachment.exif_lat,
        "taken_at": as_utc(attachment.exif_taken_at).isoformat() if attachment.exif_taken_at else None,
    }


def _distance_m(case: Case, gps: photos.GpsPoint) -> float:
    """Metres from the case's point to the photo's. EXIF GPS is WGS84 and the case's point CGCS2000
    (EPSG:4490); the two datums differ by centimetres, far below a phone's GPS error, so the photo's
    point is used as it is. The Gauss-Krüger zone of the case serves for anything near it; a point
    so far away that the projection fails gets the geodesic distance instead."""
    here, there = shapely.Point(case.lon, case.lat), shapely.Point(gps.lon, gps.lat)
    distance = metric.distance_m(here, there)
    if not math.isfinite(distance):
        distance = _GEOD.inv(case.lon, case.lat, gps.lon, gps.lat)[2]
    return round(distance, 1)
