"""The publication ledger and the approval decisions it acts on.

One row per (clip, channel), unique. It is written before a remote call (status `uploading`,
attempts + 1) and after it (the remote id and URL), so a crash in between leaves a row that says
"ask the remote before uploading again". Each change of a row is one named transition below,
with typed arguments: there is no general "set these fields" door.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from catalog.models import (
    CLIP_DECISIONS,
    ClipDecision,
    PublicationRecord,
    PublicationStatus,
    UploadSession,
)
from catalog.store import Catalog
from catalog.tables import Clip, Footage, Publication, as_utc


def marker_for(footage_sha256: str, start_ms: int, end_ms: int, channel: str) -> str:
    """A stable token for one clip on one channel, recomputable even without the ledger."""
    text = f"{footage_sha256}:{start_ms}:{end_ms}:{channel}"
    return "vc" + hashlib.sha256(text.encode()).hexdigest()[:14]


def _record(row: Publication) -> PublicationRecord:
    return PublicationRecord(
        id=row.id,
        clip_id=row.clip_id,
        channel=row.channel,
        status=row.status,  # type: ignore[arg-type]  # the column holds PublicationStatus
        marker=row.marker,
        remote_id=row.remote_id,
        url=row.url,
        scheduled_at=as_utc(row.scheduled_at),
        published_at=as_utc(row.published_at),
        error=row.error,
        attempts=row.attempts,
        session=dict(row.session or {}),
    )


def publication(catalog: Catalog, clip_id: int, channel: str) -> PublicationRecord:
    """The ledger row for (clip, channel), created (status pending) if there is none."""
    with catalog.session() as s:
        row = s.scalar(
            select(Publication).where(
                Publication.clip_id == clip_id, Publication.channel == channel
            )
        )
        if row is None:
            clip = s.get_one(Clip, clip_id)
            footage = s.get_one(Footage, clip.footage_id)
            row = Publication(
                clip_id=clip_id,
                channel=channel,
                status="pending",
                marker=marker_for(footage.sha256, clip.start_ms, clip.end_ms, channel),
            )
            s.add(row)
            s.flush()
        return _record(row)


def _change(
    catalog: Catalog, publication_id: int, change: Callable[[Publication], None]
) -> PublicationRecord:
    with catalog.session() as s:
        row = s.get_one(Publication, publication_id)
        change(row)
        s.flush()
        return _record(row)


def mark_uploading(catalog: Catalog, publication_id: int) -> PublicationRecord:
    """Written before the remote call: one more attempt, which may reach the remote."""

    def change(row: Publication) -> None:
        row.status, row.attempts, row.error = "uploading", row.attempts + 1, ""

    return _change(catalog, publication_id, change)


def save_session(catalog: Catalog, publication_id: int, session: UploadSession) -> None:
    """The channel's resumable-upload state, saved before it sends bytes."""

    def change(row: Publication) -> None:
        row.session = dict(session)

    _change(catalog, publication_id, change)


def mark_done(
    catalog: Catalog,
    publication_id: int,
    *,
    status: PublicationStatus,
    remote_id: str,
    url: str | None,
    scheduled_at: datetime | None = None,
) -> PublicationRecord:
    """The remote has it (`published`, or `scheduled` for a time it keeps itself)."""
    if status not in ("published", "scheduled"):
        raise ValueError(f"a publication is done as published or scheduled, not {status!r}")

    def change(row: Publication) -> None:
        row.status, row.remote_id, row.url, row.error = status, remote_id, url, ""
        row.session, row.published_at, row.scheduled_at = {}, datetime.now(UTC), scheduled_at

    return _change(catalog, publication_id, change)


def mark_problem(
    catalog: Catalog,
    publication_id: int,
    status: PublicationStatus,
    error: str,
) -> PublicationRecord:
    """`failed` (the next run tries again), `blocked` (consent or a missing render) or
    `unconfirmed` (a person must look at the channel), with why."""
    if status not in ("failed", "blocked", "unconfirmed"):
        raise ValueError(f"{status!r} is not a problem status")

    def change(row: Publication) -> None:
        row.status, row.error = status, error

    return _change(catalog, publication_id, change)


def mark_resend(catalog: Catalog, publication_id: int) -> PublicationRecord:
    """A person looked: it is not on the channel; send it again from the start."""

    def change(row: Publication) -> None:
        row.status, row.attempts, row.error, row.session = "pending", 0, "", {}

    return _change(catalog, publication_id, change)


def mark_found(catalog: Catalog, publication_id: int, url: str | None) -> PublicationRecord:
    """A person looked: it is on the channel (at `url`, if they gave one)."""

    def change(row: Publication) -> None:
        row.status, row.url, row.remote_id = "published", url, url or row.remote_id
        row.error, row.published_at = "", datetime.now(UTC)

    return _change(catalog, publication_id, change)


def publications_of(catalog: Catalog, clip_id: int) -> list[PublicationRecord]:
    with catalog.session() as s:
        rows = s.scalars(
            select(Publication).where(Publication.clip_id == clip_id).order_by(Publication.id)
        )
        return [_record(row) for row in rows]


# decisions


def decide(
    catalog: Catalog,
    clip_ids: Sequence[int],
    decision: ClipDecision,
    publish_at: datetime | None = None,
) -> list[int]:
    """Approve or reject clips; return the ids that exist. Approval may carry a time, which
    must say its zone (see `in_zone`): a bare "10:00" is six hours apart in Bishkek and UTC."""
    if publish_at is not None and publish_at.tzinfo is None:
        raise ValueError("a publish time needs its time zone; see catalog.ledger.in_zone")
    now = datetime.now(UTC)
    done = []
    with catalog.session() as s:
        for clip_id in clip_ids:
            clip = s.get(Clip, clip_id)
            if clip is None:
                continue
            clip.status = decision
            clip.approved_at = now if decision == "approved" else None
            clip.publish_at = as_utc(publish_at) if decision == "approved" else None
            done.append(clip_id)
    return done


def in_zone(moment: datetime, zone: str) -> datetime:
    """`moment`, read in the campaign's time zone when it does not name one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def clip_ids(
    catalog: Catalog,
    footage_id: int | None = None,
    decisions: Sequence[ClipDecision] = ("candidate",),
) -> list[int]:
    with catalog.session() as s:
        query = select(Clip.id).where(Clip.status.in_(decisions)).order_by(Clip.id)
        if footage_id is not None:
            query = query.where(Clip.footage_id == footage_id)
        return list(s.scalars(query))


def all_clip_ids(catalog: Catalog) -> list[int]:
    return clip_ids(catalog, decisions=CLIP_DECISIONS)


def approved_clips(catalog: Catalog) -> list[tuple[int, datetime | None]]:
    """(clip id, publish_at) of every approved clip, oldest approval first."""
    with catalog.session() as s:
        rows = s.execute(
            select(Clip.id, Clip.publish_at)
            .where(Clip.status == "approved")
            .order_by(Clip.approved_at, Clip.id)
        )
        return [(row[0], as_utc(row[1])) for row in rows]
