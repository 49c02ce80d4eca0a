"""Reading and writing the catalog. Every call is one short transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

import catalog.partners  # noqa: F401  (registers the partner tables for create_all)
from catalog.report import footage_report
from catalog.schema import upgrade
from catalog.tables import Clip, Footage, SubtitleTrack, Transcript, as_utc

log = logging.getLogger(__name__)

WORKABLE = ("ingested", "processed", "failed")


class FootageRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    sha256: str
    source_name: str
    status: str
    library_path: str | None
    language: str | None
    duration_ms: int | None
    consent: str
    sidecar: dict[str, Any]
    media_info: dict[str, Any]

    @property
    def people(self) -> list[dict[str, Any]]:
        """The people listed in the sidecar, with their consent (and whether they are minors)."""
        return list(self.sidecar.get("people") or [])


class TranscriptRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    footage_id: int
    task: str
    language: str
    path: str


class ClipDraft(BaseModel):
    """A clip as selection proposes it, before it is in the catalog."""

    model_config = ConfigDict(frozen=True)

    start_ms: int
    end_ms: int
    text: str
    title: str = ""
    description: str = ""
    origin: str = "auto"
    score: float = 0.0


class ClipRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    footage_id: int
    start_ms: int
    end_ms: int
    text: str
    title: str
    description: str
    origin: str
    rank: int
    score: float
    status: str
    error: str
    renders: dict[str, Any]
    subtitles: dict[str, Any]
    thumbnail: str | None
    package: str | None
    approved_at: datetime | None = None
    publish_at: datetime | None = None

    @field_validator("approved_at", "publish_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)


class Catalog:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # footage

    def is_known(self, sha256: str) -> bool:
        return self.library_footage_id(sha256) is not None

    def library_footage_id(self, sha256: str) -> int | None:
        with self.session() as s:
            query = select(Footage.id).where(
                Footage.sha256 == sha256, Footage.library_path.is_not(None)
            )
            return s.scalar(query)

    def record_footage(
        self, sha256: str, source_name: str, status: str, path: str, **fields: Any
    ) -> int:
        """Record a filed inbox entry. A held entry with the same bytes is updated, not repeated."""
        with self.session() as s:
            row = s.scalar(
                select(Footage).where(Footage.sha256 == sha256, Footage.status == "held")
            )
            if row is None:
                row = Footage(sha256=sha256, source_name=source_name, status=status, path=path)
                s.add(row)
            row.source_name, row.status, row.path = source_name, status, path
            row.error = fields.pop("error", "")
            for name, value in fields.items():
                setattr(row, name, value)
            s.flush()
            return row.id

    def held_fingerprints(self) -> set[str]:
        with self.session() as s:
            query = select(Footage.fingerprint).where(Footage.status == "held")
            return set(s.scalars(query))

    def set_status(self, footage_id: int, status: str, error: str = "", **fields: Any) -> None:
        with self.session() as s:
            row = s.get_one(Footage, footage_id)
            row.status, row.error = status, error
            for name, value in fields.items():
                setattr(row, name, value)

    def set_language(self, footage_id: int, language: str) -> None:
        with self.session() as s:
            s.get_one(Footage, footage_id).language = language

    def footage(self, footage_id: int) -> FootageRecord:
        with self.session() as s:
            return _footage_record(s.get_one(Footage, footage_id))

    def footage_by_stem(self, stem: str) -> FootageRecord | None:
        """The newest footage in the library whose original file name has this stem."""
        with self.session() as s:
            rows = s.scalars(
                select(Footage).where(Footage.library_path.is_not(None)).order_by(Footage.id.desc())
            )
            for row in rows:
                if Path(row.source_name).stem == stem or row.source_name == stem:
                    return _footage_record(row)
            return None

    def workable_footage(self) -> list[FootageRecord]:
        with self.session() as s:
            rows = s.scalars(
                select(Footage).where(Footage.status.in_(WORKABLE)).order_by(Footage.id)
            )
            return [_footage_record(row) for row in rows]

    # transcripts and subtitles

    def transcript_for(self, footage_id: int, settings_key: str) -> TranscriptRecord | None:
        with self.session() as s:
            row = s.scalar(
                select(Transcript).where(
                    Transcript.footage_id == footage_id, Transcript.settings_key == settings_key
                )
            )
            return _transcript_record(row) if row else None

    def add_transcript(
        self,
        footage_id: int,
        settings_key: str,
        *,
        task: str,
        language: str,
        engine: str,
        model: str,
        path: str,
        seconds: float,
    ) -> TranscriptRecord:
        with self.session() as s:
            row = s.scalar(
                select(Transcript).where(
                    Transcript.footage_id == footage_id, Transcript.settings_key == settings_key
                )
            )
            if row is None:
                row = Transcript(footage_id=footage_id, settings_key=settings_key)
                s.add(row)
            row.task, row.language, row.engine, row.model = task, language, engine, model
            row.path, row.seconds = path, seconds
            s.flush()
            return _transcript_record(row)

    def has_subtitles(self, transcript_id: int, rules_key: str) -> bool:
        with self.session() as s:
            query = select(SubtitleTrack.id).where(
                SubtitleTrack.transcript_id == transcript_id, SubtitleTrack.rules_key == rules_key
            )
            return s.scalar(query) is not None

    def add_subtitles(
        self,
        transcript: TranscriptRecord,
        rules_key: str,
        *,
        srt_path: str,
        vtt_path: str,
        cues: int,
        rule_violations: int,
    ) -> None:
        with self.session() as s:
            row = s.scalar(
                select(SubtitleTrack).where(
                    SubtitleTrack.transcript_id == transcript.id,
                    SubtitleTrack.rules_key == rules_key,
                )
            )
            if row is None:
                row = SubtitleTrack(
                    transcript_id=transcript.id,
                    rules_key=rules_key,
                    footage_id=transcript.footage_id,
                )
                s.add(row)
            row.language, row.srt_path, row.vtt_path = transcript.language, srt_path, vtt_path
            row.cues, row.rule_violations = cues, rule_violations

    # clips

    def sync_clips(self, footage_id: int, spans: Sequence[ClipDraft], clips_key: str) -> None:
        """Make the footage's clips these spans, in this order. Decisions are kept: a clip a
        person approved or rejected stays even when the selection no longer proposes it."""
        with self.session() as s:
            footage = s.get_one(Footage, footage_id)
            existing = {(c.start_ms, c.end_ms): c for c in footage.clips}
            wanted = {(d.start_ms, d.end_ms) for d in spans}
            for key, old in existing.items():
                if key not in wanted and old.status == "candidate":
                    s.delete(old)
            for rank, draft in enumerate(spans, start=1):
                clip: Clip | None = existing.get((draft.start_ms, draft.end_ms))
                if clip is None:
                    clip = Clip(
                        footage_id=footage_id,
                        start_ms=draft.start_ms,
                        end_ms=draft.end_ms,
                        title=draft.title,
                        description=draft.description,
                    )
                    s.add(clip)
                elif draft.origin == "chosen" and draft.title:
                    clip.title = draft.title
                clip.text, clip.origin, clip.rank, clip.score = (
                    draft.text,
                    draft.origin,
                    rank,
                    draft.score,
                )
            footage.clips_key = clips_key

    def clips_key(self, footage_id: int) -> str:
        with self.session() as s:
            return s.get_one(Footage, footage_id).clips_key

    def clips_of(self, footage_id: int) -> list[ClipRecord]:
        with self.session() as s:
            query = select(Clip).where(Clip.footage_id == footage_id).order_by(Clip.rank)
            return [ClipRecord.model_validate(c, from_attributes=True) for c in s.scalars(query)]

    def clip(self, clip_id: int) -> ClipRecord:
        with self.session() as s:
            return ClipRecord.model_validate(s.get_one(Clip, clip_id), from_attributes=True)

    def update_clip(self, clip_id: int, **fields: Any) -> ClipRecord:
        with self.session() as s:
            clip = s.get_one(Clip, clip_id)
            for name, value in fields.items():
                setattr(clip, name, value)
            s.flush()
            return ClipRecord.model_validate(clip, from_attributes=True)

    # reports

    def report(self) -> dict[str, Any]:
        """The catalog for machines: the shape `voices status --json` prints."""
        with self.session() as s:
            rows = s.scalars(select(Footage).order_by(Footage.id))
            return {"footage": [footage_report(row) for row in rows]}


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _footage_record(row: Footage) -> FootageRecord:
    return FootageRecord(
        id=row.id,
        sha256=row.sha256,
        source_name=row.source_name,
        status=row.status,
        library_path=row.library_path,
        language=row.language,
        duration_ms=row.duration_ms,
        consent=row.consent,
        sidecar=dict(row.sidecar or {}),
        media_info=dict(row.media_info or {}),
    )


def _transcript_record(row: Transcript) -> TranscriptRecord:
    return TranscriptRecord(
        id=row.id, footage_id=row.footage_id, task=row.task, language=row.language, path=row.path
    )
