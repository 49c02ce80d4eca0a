"""Tables of the catalog (SQLAlchemy 2 typed ORM).

A change here needs a migration in catalog/migrations/versions (see catalog.schema);
tests/catalog/test_migrations.py fails until the migrated database and these classes agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, overload

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

PARTNER_NAME_CHARS = 64


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; every one voices stores is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class Footage(Base):
    """One file dropped in the inbox, whatever became of it."""

    __tablename__ = "footage"
    __table_args__ = (
        # The same bytes are accepted into the library once.
        Index(
            "uq_footage_library_sha",
            "sha256",
            unique=True,
            sqlite_where=text("library_path IS NOT NULL"),
            postgresql_where=text("library_path IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    source_name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(Text)
    library_path: Mapped[str | None] = mapped_column(Text, default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    duration_ms: Mapped[int | None] = mapped_column(default=None)
    consent: Mapped[str] = mapped_column(String(16), default="internal")
    # For held footage: what the file and its sidecar looked like, so an unchanged pair is not
    # checked again on every run.
    fingerprint: Mapped[str] = mapped_column(Text, default="")
    # What the clip selection was made from (transcript, rules, clips file); see pipeline.footage.
    clips_key: Mapped[str] = mapped_column(String(64), default="")
    media_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Processing runs that started on this footage and did not finish (a crash, the OOM
    # killer): after a few, it waits for a person instead of stopping every run.
    attempts: Mapped[int] = mapped_column(default=0)
    # The worker that last brought it up to date (`VOICES_WORKER`, or the machine's name).
    processed_by: Mapped[str] = mapped_column(Text, default="")
    sidecar: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    transcripts: Mapped[list[Transcript]] = relationship(
        back_populates="footage", cascade="all, delete-orphan", order_by="Transcript.id"
    )
    subtitle_tracks: Mapped[list[SubtitleTrack]] = relationship(
        back_populates="footage", cascade="all, delete-orphan", order_by="SubtitleTrack.id"
    )
    clips: Mapped[list[Clip]] = relationship(
        back_populates="footage", cascade="all, delete-orphan", order_by="Clip.rank"
    )


class Transcript(Base):
    """A transcript (or English translation) made under one set of settings."""

    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("footage_id", "settings_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id"), index=True)
    settings_key: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    engine: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(default=0.0)
    # A machine translation a person has read and approved for public channels (who, when).
    reviewed_by: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    footage: Mapped[Footage] = relationship(back_populates="transcripts")


class SubtitleTrack(Base):
    """Subtitle files (SRT and WebVTT) laid out from one transcript under one set of rules."""

    __tablename__ = "subtitle_tracks"
    __table_args__ = (UniqueConstraint("transcript_id", "rules_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id"), index=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id"), index=True)
    rules_key: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    srt_path: Mapped[str] = mapped_column(Text)
    vtt_path: Mapped[str] = mapped_column(Text)
    cues: Mapped[int] = mapped_column(default=0)
    rule_violations: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    footage: Mapped[Footage] = relationship(back_populates="subtitle_tracks")
    transcript: Mapped[Transcript] = relationship()


class Clip(Base):
    """A span of one footage to publish: proposed from the transcript or chosen by staff."""

    __tablename__ = "clips"
    __table_args__ = (UniqueConstraint("footage_id", "start_ms", "end_ms"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id"), index=True)
    start_ms: Mapped[int]
    end_ms: Mapped[int]
    text: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16), default="auto")
    rank: Mapped[int] = mapped_column(default=0)
    score: Mapped[float] = mapped_column(default=0.0)
    # candidate | approved | rejected: a person's decision; rendering problems go in `error`.
    status: Mapped[str] = mapped_column(String(16), default="candidate", index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    # {profile: {"path": ..., "key": ...}}, {language: {"srt": ..., "vtt": ...}}
    renders: Mapped[dict[str, Any]] = mapped_column(default=dict)
    subtitles: Mapped[dict[str, Any]] = mapped_column(default=dict)
    thumbnail: Mapped[str | None] = mapped_column(Text, default=None)
    # A small JPEG for channels that take one (Telegram: at most 320 px, under 200 kB).
    preview: Mapped[str | None] = mapped_column(Text, default=None)
    package: Mapped[str | None] = mapped_column(Text, default=None)
    # Title and description per language: {language: {"title": ..., "description": ...}}.
    localizations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # When a person approved it (and who), and from when it may be published (None: at once).
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by: Mapped[str] = mapped_column(Text, default="")
    # A second, named approval by someone else, needed before a clip showing a minor goes to a
    # public channel.
    signoff_by: Mapped[str] = mapped_column(Text, default="")
    signoff_at: Mapped[datetime | None] = mapped_column(default=None)
    publish_at: Mapped[datetime | None] = mapped_column(default=None)

    footage: Mapped[Footage] = relationship(back_populates="clips")
    publications: Mapped[list[Publication]] = relationship(
        back_populates="clip", cascade="all, delete-orphan", order_by="Publication.id"
    )


class Publication(Base):
    """One clip on one channel: the ledger. Written before and after every remote call."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("clip_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    # catalog.models.PublicationStatus
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    marker: Mapped[str] = mapped_column(String(64))
    remote_id: Mapped[str | None] = mapped_column(Text, default=None)
    url: Mapped[str | None] = mapped_column(Text, default=None)
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    # Resumable-upload state the channel saved before sending bytes.
    session: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A takedown (consent withdrawn or lowered): when it was done, who asked, what the remote said.
    taken_down_at: Mapped[datetime | None] = mapped_column(default=None)
    taken_down_by: Mapped[str] = mapped_column(Text, default="")
    takedown_answer: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    clip: Mapped[Clip] = relationship(back_populates="publications")


class Partner(Base):
    """An organisation that may download approved clips whose consent allows partners."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(PARTNER_NAME_CHARS), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Empty: every language. Otherwise only clips spoken or subtitled in one of these.
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Download(Base):
    """Bytes of one clip file a partner took (`how`: download or stream)."""

    __tablename__ = "downloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    # No foreign key: the log outlives any clean-up of clips.
    clip_id: Mapped[int] = mapped_column(index=True)
    file: Mapped[str] = mapped_column(Text)
    how: Mapped[str] = mapped_column(String(16), default="download")
    bytes: Mapped[int] = mapped_column(default=0)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what, when, to what: decisions, consent, takedowns, partners, edits."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32), index=True)
    # No foreign keys: the log outlives anything it names.
    footage_id: Mapped[int | None] = mapped_column(default=None, index=True)
    clip_id: Mapped[int | None] = mapped_column(default=None)
    detail: Mapped[str] = mapped_column(Text, default="")


STAFF_NAME_CHARS = 64


class StaffAccount(Base):
    """A person who works in the studio: a name, roles, a password hash (argon2id), and the
    brake on guessing it (`failed_logins`, `locked_until`)."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(STAFF_NAME_CHARS), unique=True)
    # catalog.models.Role: editor, approver, safeguarding, admin
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str] = mapped_column(Text)
    # The studio's language for this account ("": the browser's).
    language: Mapped[str] = mapped_column(String(16), default="")
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)


class StaffSession(Base):
    """A signed-in browser: the SHA-256 of its cookie, its CSRF token, when it ends."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class StaffToken(Base):
    """A staff account's API token (`Authorization: Bearer`), stored as its SHA-256."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Lease(Base):
    """Work one process holds for a while (`catalog.leases`): a footage being processed, the
    inbox being filed. Taken by compare-and-set; lapses when the holder stops renewing it."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime] = mapped_column()
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
