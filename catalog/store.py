"""Reading and writing the catalog. Every call is one short transaction.

Typed records go in and come out (`catalog.models`); rows never leave this module. Paths are
stored relative to the workspace and handed out absolute, resolved against the workspace this
catalog was opened for, so a workspace moved with `mv`, restored from a backup or mounted at
another path on a worker keeps working.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from catalog import audit
from catalog.models import (
    WORKABLE,
    ClipDecision,
    ClipDraft,
    ClipOutputs,
    ClipRecord,
    FootageRecord,
    FootageStatus,
    Localization,
    MediaInfo,
    NewFootage,
    RenderOutput,
    Sidecar,
    SubtitleFiles,
    SubtitleTrackRecord,
    TranscriptRecord,
    TranscriptTask,
)
from catalog.schema import upgrade
from catalog.tables import Clip, Footage, SubtitleTrack, Transcript, as_utc

log = logging.getLogger(__name__)

Row = TypeVar("Row", Footage, Clip)


class NotInCatalog(LookupError):
    """No footage or clip with that id; the message says which (`voices status` lists them)."""


def _get(session: Session, table: type[Row], row_id: int) -> Row:
    row = session.get(table, row_id)
    if row is None:
        raise NotInCatalog(f"no {table.__name__.lower()} {row_id}; see voices status")
    return row


class Catalog:
    def __init__(self, url: str, workspace: Path) -> None:
        self.workspace = workspace.absolute()
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        upgrade(self.engine, self.workspace)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def address(self) -> str:
        """Which database this is, as a URL without its password (safe to print)."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction over the tables, for the catalog's own modules (ledger, partners)."""
        with self._sessions.begin() as session:
            yield session

    # paths

    def stored_path(self, path: Path) -> str:
        """How a path is kept: relative to the workspace when it lies inside it."""
        absolute = path if path.is_absolute() else self.workspace / path
        try:
            return absolute.relative_to(self.workspace).as_posix()
        except ValueError:
            return str(absolute)

    def real_path(self, stored: str) -> Path:
        """The absolute path of a stored one, in the workspace as it is mounted now."""
        if PurePosixPath(stored).is_absolute():
            return Path(stored)
        return self.workspace / stored

    def _optional_path(self, stored: str | None) -> Path | None:
        return None if stored is None else self.real_path(stored)

    # footage

    def is_known(self, sha256: str) -> bool:
        return self.library_footage_id(sha256) is not None

    def library_footage_id(self, sha256: str) -> int | None:
        with self.session() as s:
            query = select(Footage.id).where(
                Footage.sha256 == sha256, Footage.library_path.is_not(None)
            )
            return s.scalar(query)

    def record_footage(self, new: NewFootage) -> int:
        """Record a filed inbox entry. A held entry with the same bytes is updated, not repeated."""
        with self.session() as s:
            row = s.scalar(
                select(Footage).where(Footage.sha256 == new.sha256, Footage.status == "held")
            )
            if row is None:
                row = Footage(sha256=new.sha256)
                s.add(row)
            row.source_name, row.status = new.source_name, new.status
            row.path, row.error = self.stored_path(new.path), new.error
            row.fingerprint = new.fingerprint
            if new.library_path is not None:
                row.library_path = self.stored_path(new.library_path)
            if new.media_info is not None:
                row.media_info = new.media_info.model_dump(mode="json")
                row.duration_ms = new.media_info.duration_ms
            if new.sidecar is not None:
                row.sidecar = new.sidecar.model_dump(mode="json")
                row.consent = new.sidecar.consent
                row.language = new.sidecar.language
            s.flush()
            return row.id

    def library_hashes(self) -> set[str]:
        """The SHA-256 of every footage in the library."""
        with self.session() as s:
            query = select(Footage.sha256).where(Footage.library_path.is_not(None))
            return set(s.scalars(query))

    def held_fingerprints(self) -> set[str]:
        with self.session() as s:
            query = select(Footage.fingerprint).where(Footage.status == "held")
            return set(s.scalars(query))

    def mark_footage(
        self, footage_id: int, status: FootageStatus, error: str = "", by: str = ""
    ) -> None:
        """The outcome of processing: `processed` (with a note, if any) or `failed` and why;
        `by`: the worker that processed it."""
        with self.session() as s:
            row = _get(s, Footage, footage_id)
            row.status, row.error = status, error
            if by:
                row.processed_by = by

    def set_sidecar(self, footage_id: int, sidecar: Sidecar) -> FootageRecord:
        """What staff now say of the footage (consent, people, redactions...)."""
        with self.session() as s:
            row = _get(s, Footage, footage_id)
            row.sidecar = sidecar.model_dump(mode="json")
            row.consent = sidecar.consent
            if sidecar.language:
                row.language = sidecar.language
            s.flush()
            return self._footage_record(row)

    def start_attempt(self, footage_id: int) -> int:
        """Count a processing run starting on the footage; return how many have not finished."""
        with self.session() as s:
            row = _get(s, Footage, footage_id)
            row.attempts += 1
            return row.attempts

    def finish_attempt(self, footage_id: int) -> None:
        """The run got to the end of the footage (done or failed with a reason)."""
        with self.session() as s:
            _get(s, Footage, footage_id).attempts = 0

    def set_language(self, footage_id: int, language: str) -> None:
        with self.session() as s:
            _get(s, Footage, footage_id).language = language

    def footage(self, footage_id: int) -> FootageRecord:
        with self.session() as s:
            return self._footage_record(_get(s, Footage, footage_id))

    def footage_by_sha256(self, prefix: str) -> FootageRecord | None:
        """The footage in the library whose SHA-256 starts with `prefix` (at least 12 hex
        digits), if exactly one does."""
        prefix = prefix.lower()
        if len(prefix) < 12 or any(c not in "0123456789abcdef" for c in prefix):
            return None
        with self.session() as s:
            rows = s.scalars(
                select(Footage)
                .where(Footage.sha256.startswith(prefix), Footage.library_path.is_not(None))
                .limit(2)
            ).all()
            return self._footage_record(rows[0]) if len(rows) == 1 else None

    def footage_by_stem(self, stem: str, *, unique: bool = False) -> FootageRecord | None:
        """The newest footage in the library whose original file name has this stem (with
        `unique`: only if no other footage has it too)."""
        with self.session() as s:
            rows = s.scalars(
                select(Footage).where(Footage.library_path.is_not(None)).order_by(Footage.id.desc())
            )
            found = [r for r in rows if Path(r.source_name).stem == stem or r.source_name == stem]
            if not found or (unique and len(found) > 1):
                return None
            return self._footage_record(found[0])

    def workable_footage(self) -> list[FootageRecord]:
        with self.session() as s:
            rows = s.scalars(
                select(Footage).where(Footage.status.in_(WORKABLE)).order_by(Footage.id)
            )
            return [self._footage_record(row) for row in rows]

    def all_footage(self) -> list[FootageRecord]:
        with self.session() as s:
            rows = s.scalars(select(Footage).order_by(Footage.id))
            return [self._footage_record(row) for row in rows]

    # transcripts and subtitles

    def transcript(self, footage_id: int, key: str) -> TranscriptRecord | None:
        """The transcript made under the options with this key, if there is one."""
        with self.session() as s:
            row = s.scalar(
                select(Transcript).where(
                    Transcript.footage_id == footage_id, Transcript.settings_key == key
                )
            )
            return self._transcript_record(row) if row else None

    def transcripts_of(self, footage_id: int) -> list[TranscriptRecord]:
        with self.session() as s:
            rows = s.scalars(
                select(Transcript)
                .where(Transcript.footage_id == footage_id)
                .order_by(Transcript.id)
            )
            return [self._transcript_record(row) for row in rows]

    def add_transcript(
        self,
        footage_id: int,
        key: str,
        *,
        task: TranscriptTask,
        language: str,
        engine: str,
        model: str,
        path: Path,
        seconds: float,
    ) -> TranscriptRecord:
        with self.session() as s:
            row = s.scalar(
                select(Transcript).where(
                    Transcript.footage_id == footage_id, Transcript.settings_key == key
                )
            )
            if row is None:
                row = Transcript(footage_id=footage_id, settings_key=key)
                s.add(row)
            row.task, row.language, row.engine, row.model = task, language, engine, model
            row.path, row.seconds = self.stored_path(path), seconds
            # Made again: a person's approval was of the text that was there before.
            row.reviewed_by, row.reviewed_at = "", None
            s.flush()
            return self._transcript_record(row)

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
        files: SubtitleFiles,
        *,
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
            row.language = transcript.language
            row.srt_path, row.vtt_path = self.stored_path(files.srt), self.stored_path(files.vtt)
            row.cues, row.rule_violations = cues, rule_violations

    def subtitle_tracks_of(self, footage_id: int) -> list[SubtitleTrackRecord]:
        """Every track of the footage, oldest first (the newest of a language is last)."""
        with self.session() as s:
            rows = s.scalars(
                select(SubtitleTrack)
                .where(SubtitleTrack.footage_id == footage_id)
                .order_by(SubtitleTrack.id)
            )
            return [
                SubtitleTrackRecord(
                    id=row.id,
                    footage_id=row.footage_id,
                    transcript_id=row.transcript_id,
                    rules_key=row.rules_key,
                    language=row.language,
                    files=SubtitleFiles(
                        srt=self.real_path(row.srt_path), vtt=self.real_path(row.vtt_path)
                    ),
                    cues=row.cues,
                    rule_violations=row.rule_violations,
                )
                for row in rows
            ]

    # clips

    def sync_clips(self, footage_id: int, drafts: Sequence[ClipDraft], clips_key: str) -> None:
        """Make the footage's clips these drafts, in this order. Decisions are kept: a clip a
        person approved or rejected stays even when the selection no longer proposes it."""
        with self.session() as s:
            footage = _get(s, Footage, footage_id)
            existing = {(c.start_ms, c.end_ms): c for c in footage.clips}
            wanted = {(d.start_ms, d.end_ms) for d in drafts}
            for key, old in existing.items():
                if key not in wanted and old.status == "candidate":
                    s.delete(old)
            for rank, draft in enumerate(drafts, start=1):
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

    def clips_of(self, footage_id: int) -> list[ClipRecord]:
        with self.session() as s:
            query = select(Clip).where(Clip.footage_id == footage_id).order_by(Clip.rank)
            return [self._clip_record(c) for c in s.scalars(query)]

    def clip(self, clip_id: int) -> ClipRecord:
        with self.session() as s:
            return self._clip_record(_get(s, Clip, clip_id))

    def clips_with_footage(
        self, decision: ClipDecision = "approved"
    ) -> list[tuple[ClipRecord, FootageRecord]]:
        """Every clip with this decision, beside its footage."""
        with self.session() as s:
            rows = s.execute(select(Clip, Footage).join(Footage).where(Clip.status == decision))
            return [(self._clip_record(c), self._footage_record(f)) for c, f in rows.tuples()]

    def edit_clip(
        self,
        clip_id: int,
        by: str,
        *,
        title: str | None = None,
        description: str | None = None,
    ) -> ClipRecord:
        """A person's change of the title or description draft (None: left as it is)."""
        with self.session() as s:
            clip = _get(s, Clip, clip_id)
            changed = []
            if title is not None:
                clip.title = title
                changed.append("title")
            if description is not None:
                clip.description = description
                changed.append("description")
            detail = f"clip {clip_id}: {' and '.join(changed)} edited"
            audit.add(s, by, "edit", detail, footage_id=clip.footage_id, clip_id=clip_id)
            s.flush()
            return self._clip_record(clip)

    def record_outputs(self, clip_id: int, outputs: ClipOutputs) -> ClipRecord:
        """Everything rendering made of the clip; clears an earlier failure."""
        with self.session() as s:
            clip = _get(s, Clip, clip_id)
            clip.renders = self._stored_renders(outputs.renders)
            clip.subtitles = {
                language: {"srt": self.stored_path(f.srt), "vtt": self.stored_path(f.vtt)}
                for language, f in outputs.subtitles.items()
            }
            clip.thumbnail = self.stored_path(outputs.thumbnail) if outputs.thumbnail else None
            clip.preview = self.stored_path(outputs.preview) if outputs.preview else None
            clip.error = ""
            s.flush()
            return self._clip_record(clip)

    def record_render_failure(
        self, clip_id: int, renders: dict[str, RenderOutput], error: str
    ) -> ClipRecord:
        """A clip that failed to render: the renders that did succeed, and why the rest did not."""
        with self.session() as s:
            clip = _get(s, Clip, clip_id)
            clip.renders = self._stored_renders(renders)
            clip.error = error
            s.flush()
            return self._clip_record(clip)

    def clear_package(self, clip_id: int) -> None:
        """The clip's partner package was removed (consent no longer allows partners)."""
        with self.session() as s:
            _get(s, Clip, clip_id).package = None

    def set_package(self, clip_id: int, package: Path) -> ClipRecord:
        with self.session() as s:
            clip = _get(s, Clip, clip_id)
            clip.package = self.stored_path(package)
            s.flush()
            return self._clip_record(clip)

    # rows to records

    def _stored_renders(self, renders: dict[str, RenderOutput]) -> dict[str, Any]:
        return {
            name: render.model_dump(mode="json") | {"path": self.stored_path(render.path)}
            for name, render in renders.items()
        }

    def _footage_record(self, row: Footage) -> FootageRecord:
        return FootageRecord(
            id=row.id,
            sha256=row.sha256,
            source_name=row.source_name,
            status=row.status,  # type: ignore[arg-type]  # the column holds FootageStatus
            error=row.error or "",
            path=self.real_path(row.path),
            library_path=self._optional_path(row.library_path),
            language=row.language,
            duration_ms=row.duration_ms,
            sidecar=_sidecar(row),
            media_info=MediaInfo.model_validate(row.media_info) if row.media_info else None,
            clips_key=row.clips_key,
            attempts=row.attempts,
            processed_by=row.processed_by,
            created_at=as_utc(row.created_at),
        )

    def _transcript_record(self, row: Transcript) -> TranscriptRecord:
        return TranscriptRecord(
            id=row.id,
            footage_id=row.footage_id,
            key=row.settings_key,
            task=row.task,  # type: ignore[arg-type]  # the column holds TranscriptTask
            language=row.language,
            engine=row.engine,
            model=row.model,
            path=self.real_path(row.path),
            reviewed_by=row.reviewed_by,
            reviewed_at=as_utc(row.reviewed_at),
        )

    def _clip_record(self, row: Clip) -> ClipRecord:
        return ClipRecord(
            id=row.id,
            footage_id=row.footage_id,
            start_ms=row.start_ms,
            end_ms=row.end_ms,
            text=row.text,
            title=row.title,
            description=row.description,
            origin=row.origin,  # type: ignore[arg-type]  # the column holds ClipOrigin
            rank=row.rank,
            score=row.score,
            decision=row.status,  # type: ignore[arg-type]  # the column holds ClipDecision
            error=row.error,
            renders=self._renders(row),
            subtitles={
                language: SubtitleFiles(
                    srt=self.real_path(files["srt"]), vtt=self.real_path(files["vtt"])
                )
                for language, files in (row.subtitles or {}).items()
            },
            thumbnail=self._optional_path(row.thumbnail),
            preview=self._optional_path(row.preview),
            package=self._optional_path(row.package),
            approved_at=as_utc(row.approved_at),
            approved_by=row.approved_by,
            signoff_by=row.signoff_by,
            signoff_at=as_utc(row.signoff_at),
            publish_at=as_utc(row.publish_at),
            localizations={
                language: Localization.model_validate(text)
                for language, text in (row.localizations or {}).items()
            },
        )

    def _renders(self, row: Clip) -> dict[str, RenderOutput]:
        """The clip's renders; one recorded by an older version without its size is left out,
        so it is made again."""
        renders = {}
        for name, stored in (row.renders or {}).items():
            try:
                render = RenderOutput.model_validate(stored)
            except ValidationError:
                log.info("clip %d: the %s render predates sizes in the catalog", row.id, name)
                continue
            renders[name] = render.model_copy(update={"path": self.real_path(stored["path"])})
        return renders


def _sidecar(row: Footage) -> Sidecar:
    try:
        return Sidecar.model_validate(row.sidecar or {})
    except ValidationError as exc:  # written by hand into the database: keep nothing out
        log.warning("footage %d: its stored sidecar is not valid (%s); using none", row.id, exc)
        return Sidecar()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
