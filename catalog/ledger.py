"""The publication ledger and the approval decisions it acts on.

One row per (clip, channel), unique. It is written before a remote call (status `uploading`,
attempts + 1) and after it (the remote id and URL), so a crash in between leaves a row that says
"ask the remote before uploading again".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from catalog.store import Catalog
from catalog.tables import Clip, Footage, Publication, as_utc

DONE = ("published", "scheduled")
CLIP_STATUSES = ("candidate", "approved", "rejected")


class PublicationRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    clip_id: int
    channel: str
    status: str
    marker: str
    remote_id: str | None
    url: str | None
    scheduled_at: datetime | None
    published_at: datetime | None
    error: str
    attempts: int
    session: dict[str, Any]

    @property
    def done(self) -> bool:
        return self.status in DONE


def marker_for(footage_sha256: str, start_ms: int, end_ms: int, channel: str) -> str:
    """A stable token for one clip on one channel, recomputable even without the ledger."""
    text = f"{footage_sha256}:{start_ms}:{end_ms}:{channel}"
    return "vc" + hashlib.sha256(text.encode()).hexdigest()[:14]


def _record(row: Publication) -> PublicationRecord:
    record = PublicationRecord.model_validate(row, from_attributes=True)
    return record.model_copy(
        update={"scheduled_at": as_utc(row.scheduled_at), "published_at": as_utc(row.published_at)}
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


def update_publication(catalog: Catalog, publication_id: int, **fields: Any) -> PublicationRecord:
    with catalog.session() as s:
        row = s.get_one(Publication, publication_id)
        for name, value in fields.items():
            setattr(row, name, value)
        s.flush()
        return _record(row)


def publications_of(catalog: Catalog, clip_id: int) -> list[PublicationRecord]:
    with catalog.session() as s:
        rows = s.scalars(
            select(Publication).where(Publication.clip_id == clip_id).order_by(Publication.id)
        )
        return [_record(row) for row in rows]


# decisions


def decide(
    catalog: Catalog, clip_ids: Sequence[int], status: str, publish_at: datetime | None = None
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
            clip.status = status
            clip.approved_at = now if status == "approved" else None
            clip.publish_at = as_utc(publish_at) if status == "approved" else None
            done.append(clip_id)
    return done


def in_zone(moment: datetime, zone: str) -> datetime:
    """`moment`, read in the campaign's time zone when it does not name one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def clip_ids(
    catalog: Catalog, footage_id: int | None = None, statuses: Sequence[str] = ("candidate",)
) -> list[int]:
    with catalog.session() as s:
        query = select(Clip.id).where(Clip.status.in_(statuses)).order_by(Clip.id)
        if footage_id is not None:
            query = query.where(Clip.footage_id == footage_id)
        return list(s.scalars(query))


def approved_clips(catalog: Catalog) -> list[tuple[int, datetime | None]]:
    """(clip id, publish_at) of every approved clip, oldest approval first."""
    with catalog.session() as s:
        rows = s.execute(
            select(Clip.id, Clip.publish_at)
            .where(Clip.status == "approved")
            .order_by(Clip.approved_at, Clip.id)
        )
        return [(row[0], as_utc(row[1])) for row in rows]
