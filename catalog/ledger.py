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

from sqlalchemy import exists, select, update

from catalog import audit
from catalog.models import (
    CLIP_DECISIONS,
    MAYBE_OUT,
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
        taken_down_at=as_utc(row.taken_down_at),
        taken_down_by=row.taken_down_by,
        takedown_answer=row.takedown_answer,
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


def mark_uploading(catalog: Catalog, read: PublicationRecord) -> PublicationRecord | None:
    """Written before the remote call: one more attempt, which may reach the remote.

    A compare-and-set, so that two publishers (on two machines, with no lock in common) never
    both post: the row changes only while it is still as `read` found it (same status, same
    attempts) and its clip is still approved. None: it was not, because another publisher took
    it first or a person decided again; this one must not call the channel.

    It cannot tell a live upload from one a crash cut short (both are `uploading`): a publisher
    that reads the row after another took it settles it as after a crash. One publishing run at
    a time (flows.publish) keeps that from happening.
    """
    approved = exists().where(Clip.id == Publication.clip_id, Clip.status == "approved")
    take = (
        update(Publication)
        .where(
            Publication.id == read.id,
            Publication.status == read.status,
            Publication.attempts == read.attempts,
            approved,
        )
        .values(status="uploading", attempts=read.attempts + 1, error="")
    )
    with catalog.session() as s:
        # A plain UPDATE and its row count, the same on SQLite and PostgreSQL (a second writer
        # waits for the first, then finds the row changed and matches nothing).
        if s.connection().execute(take).rowcount != 1:
            return None
        return _record(s.get_one(Publication, read.id))


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


def mark_resend(catalog: Catalog, publication_id: int, by: str) -> PublicationRecord:
    """A person looked: it is not on the channel; send it again. The row keeps its attempts,
    so a channel that can be asked (YouTube) is asked first whether an upload got through."""

    def change(row: Publication) -> None:
        row.status, row.error = "pending", ""
        row.attempts = max(row.attempts, 1)  # never "first try": ask before uploading

    return _audited(catalog, publication_id, change, by, "sent again after a person looked")


def mark_found(
    catalog: Catalog, publication_id: int, url: str | None, by: str
) -> PublicationRecord:
    """A person looked: it is on the channel (at `url`, if they gave one)."""

    def change(row: Publication) -> None:
        row.status, row.url, row.remote_id = "published", url, url or row.remote_id
        row.error, row.published_at = "", datetime.now(UTC)

    return _audited(catalog, publication_id, change, by, "found on the channel by a person")


def _audited(
    catalog: Catalog,
    publication_id: int,
    change: Callable[[Publication], None],
    by: str,
    what: str,
) -> PublicationRecord:
    with catalog.session() as s:
        row = s.get_one(Publication, publication_id)
        change(row)
        clip = s.get_one(Clip, row.clip_id)
        detail = f"clip {row.clip_id} on {row.channel}: {what}"
        audit.add(s, by, "resolve", detail, footage_id=clip.footage_id, clip_id=row.clip_id)
        s.flush()
        return _record(row)


def publications_of(catalog: Catalog, clip_id: int) -> list[PublicationRecord]:
    with catalog.session() as s:
        rows = s.scalars(
            select(Publication).where(Publication.clip_id == clip_id).order_by(Publication.id)
        )
        return [_record(row) for row in rows]


# decisions


class DecisionError(Exception):
    """A decision that cannot be taken as asked; the message says why and what to do."""


def up_on(catalog: Catalog, channel: str) -> list[PublicationRecord]:
    """Publications that are up on a channel now (published, or scheduled there)."""
    with catalog.session() as s:
        rows = s.scalars(
            select(Publication)
            .where(
                Publication.channel == channel,
                Publication.status.in_(("published", "scheduled")),
            )
            .order_by(Publication.id)
        )
        return [_record(row) for row in rows]


def decide(
    catalog: Catalog,
    clip_ids: Sequence[int],
    decision: ClipDecision,
    by: str,
    publish_at: datetime | None = None,
) -> list[int]:
    """Approve or reject clips as `by`; return the ids that exist. Approval may carry a time,
    which must say its zone (see `in_zone`): a bare "10:00" is six hours apart in Bishkek and
    UTC. A sign-off stays only while the clip stays approved."""
    if publish_at is not None and publish_at.tzinfo is None:
        raise ValueError("a publish time needs its time zone; see catalog.ledger.in_zone")
    now = datetime.now(UTC)
    done = []
    with catalog.session() as s:
        for clip_id in clip_ids:
            clip = s.get(Clip, clip_id)
            if clip is None:
                continue
            if clip.status != "approved" or decision != "approved":
                clip.signoff_by, clip.signoff_at = "", None
            clip.status = decision
            approved = decision == "approved"
            clip.approved_at = now if approved else None
            clip.approved_by = by if approved else ""
            clip.publish_at = as_utc(publish_at) if approved else None
            when = f" from {as_utc(publish_at).isoformat()}" if approved and publish_at else ""
            audit.add(
                s,
                by,
                "approve" if approved else "reject",
                f"clip {clip_id} {decision}{when}",
                footage_id=clip.footage_id,
                clip_id=clip_id,
            )
            done.append(clip_id)
    return done


def sign_off(catalog: Catalog, clip_id: int, by: str) -> None:
    """The second, named approval a clip showing a minor needs before a public channel: by
    someone other than the person who approved it."""
    by = by.strip()
    if not by:
        raise DecisionError("say who signs off: --by NAME")
    with catalog.session() as s:
        clip = s.get(Clip, clip_id)
        if clip is None:
            raise DecisionError(f"no clip {clip_id}; see voices status")
        if clip.status != "approved":
            raise DecisionError(f"clip {clip_id} is {clip.status}: approve it first")
        if by == clip.approved_by:
            raise DecisionError(
                f"clip {clip_id} was approved by {by}; the sign-off must come from someone else"
            )
        clip.signoff_by, clip.signoff_at = by, datetime.now(UTC)
        audit.add(
            s,
            by,
            "signoff",
            f"clip {clip_id} signed off (approved by {clip.approved_by or 'unknown'})",
            footage_id=clip.footage_id,
            clip_id=clip_id,
        )


# takedowns


def maybe_out(catalog: Catalog, footage_id: int | None = None) -> list[PublicationRecord]:
    """Publications that may be on their channel now (a takedown must reach these)."""
    with catalog.session() as s:
        query = select(Publication).where(Publication.status.in_(MAYBE_OUT))
        if footage_id is not None:
            query = query.join(Clip).where(Clip.footage_id == footage_id)
        return [_record(row) for row in s.scalars(query.order_by(Publication.id))]


def want_takedown(catalog: Catalog, publication_id: int, by: str, reason: str) -> PublicationRecord:
    """Consent no longer allows the clip there: it must come down (and is never posted again
    by a run)."""

    def change(row: Publication) -> None:
        row.status, row.taken_down_by, row.error = "takedown_pending", by, reason

    return _change(catalog, publication_id, change)


def mark_taken_down(catalog: Catalog, publication_id: int, answer: str) -> PublicationRecord:
    """The remote confirmed it: deleted, made private, or already gone."""
    with catalog.session() as s:
        row = s.get_one(Publication, publication_id)
        row.status, row.taken_down_at, row.takedown_answer = "taken_down", datetime.now(UTC), answer
        row.error = ""
        clip = s.get_one(Clip, row.clip_id)
        audit.add(
            s,
            row.taken_down_by or "voices",
            "takedown",
            f"clip {row.clip_id} taken down from {row.channel}: {answer}",
            footage_id=clip.footage_id,
            clip_id=row.clip_id,
        )
        s.flush()
        return _record(row)


def mark_takedown_failed(
    catalog: Catalog, publication_id: int, error: str, *, by_hand: bool = False
) -> PublicationRecord:
    """The takedown did not happen: it stays due, with why, and is tried again; or, when the
    remote will never do it (`by_hand`), it waits for a person (`voices resolve --taken-down`)."""

    def change(row: Publication) -> None:
        row.error, row.attempts = error, row.attempts + 1
        if by_hand:
            row.status = "takedown_manual"

    return _change(catalog, publication_id, change)


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


def last_published(catalog: Catalog) -> datetime | None:
    """When anything was last published, on any channel (None: never)."""
    from sqlalchemy import func

    with catalog.session() as s:
        return as_utc(s.scalar(select(func.max(Publication.published_at))))


def approved_clips(catalog: Catalog) -> list[tuple[int, datetime | None]]:
    """(clip id, publish_at) of every approved clip, oldest approval first."""
    with catalog.session() as s:
        rows = s.execute(
            select(Clip.id, Clip.publish_at)
            .where(Clip.status == "approved")
            .order_by(Clip.approved_at, Clip.id)
        )
        return [(row[0], as_utc(row[1])) for row in rows]
