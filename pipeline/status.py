"""What became of every footage, clip and publication: the shape `voices status --json` prints.

Built from the catalog's typed records. Keys only grow; none is ever renamed: scripts read it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from catalog import Catalog, audit
from catalog.ledger import publications_of
from catalog.models import ClipRecord, FootageRecord, PublicationRecord
from catalog.partners import downloads_by_clip
from config import Settings
from pipeline.plan import is_draft, tracks


class PublicationReport(BaseModel):
    channel: str
    status: str
    remote_id: str | None
    url: str | None
    scheduled_at: str | None
    published_at: str | None
    error: str | None
    taken_down_at: str | None = None
    taken_down_by: str | None = None
    takedown_answer: str | None = None


class AuditReport(BaseModel):
    at: str
    actor: str
    action: str
    clip: int | None
    detail: str


class DownloadReport(BaseModel):
    partner: str
    file: str
    at: str
    bytes: int
    how: str


class ClipReport(BaseModel):
    id: int
    start: float
    end: float
    text: str
    title: str
    description: str
    origin: str
    rank: int
    status: str  # the decision, or "failed" while rendering it fails
    decision: str
    error: str | None
    renders: dict[str, str]
    approved_at: str | None
    approved_by: str | None = None
    signoff_by: str | None = None
    signoff_at: str | None = None
    publish_at: str | None
    publications: list[PublicationReport]
    thumbnail: str | None
    subtitles: dict[str, dict[str, str]]
    package: str | None
    downloads: list[DownloadReport]
    # Title and description per language (YouTube's localizations).
    localizations: dict[str, dict[str, str]] = {}


class FootageReport(BaseModel):
    id: int
    source_name: str
    status: str
    error: str | None
    language: str | None
    duration: float | None
    consent: str
    sha256: str
    path: str
    transcript: str | None
    subtitles: dict[str, dict[str, str | bool | None]]
    clips: list[ClipReport]
    audit: list[AuditReport] = []
    # The worker that last brought it up to date (None: not processed yet).
    processed_by: str | None = None


class StatusReport(BaseModel):
    footage: list[FootageReport]
    # Which catalog this is read from (its URL, without a password).
    catalog: str | None = None


def status_report(catalog: Catalog, settings: Settings | None = None) -> StatusReport:
    """The report; with the settings, it also marks the tracks that are machine drafts in a
    language the model hears badly (`draft`), for a person to correct."""
    downloads = _downloads(catalog)
    return StatusReport(
        footage=[_footage(catalog, f, downloads, settings) for f in catalog.all_footage()],
        catalog=catalog.address,
    )


def footage_report(
    catalog: Catalog, footage_id: int, settings: Settings | None = None
) -> FootageReport:
    """One footage's entry of the report, read alone (the studio's page of it)."""
    return _footage(catalog, catalog.footage(footage_id), _downloads(catalog), settings)


def _downloads(catalog: Catalog) -> dict[int, list[DownloadReport]]:
    return {
        clip_id: [
            DownloadReport(
                partner=d.partner, file=d.file, at=d.at.isoformat(), bytes=d.bytes, how=d.how
            )
            for d in taken
        ]
        for clip_id, taken in downloads_by_clip(catalog).items()
    }


def _footage(
    catalog: Catalog,
    footage: FootageRecord,
    downloads: dict[int, list[DownloadReport]],
    settings: Settings | None,
) -> FootageReport:
    every = catalog.transcripts_of(footage.id)
    transcripts = [t for t in every if t.task == "transcribe"]
    source = {t.id: t.source for t in every}
    reviewed = {t.id: t.reviewed_by or None for t in every}
    drafts = _drafts(settings, footage) if settings else set()
    subtitles: dict[str, dict[str, str | bool | None]] = {}
    for track in catalog.subtitle_tracks_of(footage.id):  # oldest first: the newest wins
        subtitles[track.language] = {
            "srt": str(track.files.srt),
            "vtt": str(track.files.vtt),
            "source": source.get(track.transcript_id, "machine"),
            "draft": track.language in drafts,
            # Who approved a machine translation for public channels (None: nobody, or not
            # a machine translation).
            "reviewed_by": reviewed.get(track.transcript_id),
        }
    return FootageReport(
        id=footage.id,
        source_name=footage.source_name,
        status=footage.status,
        error=footage.error or None,
        language=footage.language,
        duration=footage.duration_ms / 1000 if footage.duration_ms is not None else None,
        consent=footage.consent,
        sha256=footage.sha256,
        path=str(footage.library_path or footage.path),
        processed_by=footage.processed_by or None,
        transcript=str(transcripts[-1].path) if transcripts else None,
        subtitles=subtitles,
        clips=[
            _clip(clip, publications_of(catalog, clip.id), downloads.get(clip.id, []))
            for clip in catalog.clips_of(footage.id)
        ],
        audit=[
            AuditReport(
                at=entry.at.isoformat(),
                actor=entry.actor,
                action=entry.action,
                clip=entry.clip_id,
                detail=entry.detail,
            )
            for entry in audit.entries(catalog, footage.id)
        ],
    )


def _drafts(settings: Settings, footage: FootageRecord) -> set[str]:
    """Languages of the footage's tracks that are machine drafts for a person to correct."""
    return {t.language for t in tracks(settings, footage) if is_draft(settings, footage, t)}


def _clip(
    clip: ClipRecord, publications: list[PublicationRecord], downloads: list[DownloadReport]
) -> ClipReport:
    return ClipReport(
        id=clip.id,
        start=clip.start_ms / 1000,
        end=clip.end_ms / 1000,
        text=clip.text,
        title=clip.title,
        description=clip.description,
        origin=clip.origin,
        rank=clip.rank,
        status="failed" if clip.error else clip.decision,
        decision=clip.decision,
        error=clip.error or None,
        renders={name: str(render.path) for name, render in sorted(clip.renders.items())},
        approved_at=_iso(clip.approved_at),
        approved_by=clip.approved_by or None,
        signoff_by=clip.signoff_by or None,
        signoff_at=_iso(clip.signoff_at),
        publish_at=_iso(clip.publish_at),
        publications=[
            PublicationReport(
                channel=p.channel,
                status=p.status,
                remote_id=p.remote_id,
                url=p.url,
                scheduled_at=_iso(p.scheduled_at),
                published_at=_iso(p.published_at),
                error=p.error or None,
                taken_down_at=_iso(p.taken_down_at),
                taken_down_by=p.taken_down_by or None,
                takedown_answer=p.takedown_answer or None,
            )
            for p in publications
        ],
        thumbnail=_path(clip.thumbnail),
        subtitles={
            language: {"srt": str(files.srt), "vtt": str(files.vtt)}
            for language, files in clip.subtitles.items()
        },
        package=_path(clip.package),
        downloads=downloads,
        localizations={
            language: text.model_dump() for language, text in sorted(clip.localizations.items())
        },
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _path(path: Path | None) -> str | None:
    return None if path is None else str(path)
