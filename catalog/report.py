"""The catalog as `voices status --json` prints it. Keys only grow; none is ever renamed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.tables import Clip, Footage, Publication, as_utc


def footage_report(row: Footage) -> dict[str, Any]:
    transcripts = [t for t in row.transcripts if t.task == "transcribe"]
    subtitles: dict[str, dict[str, str]] = {}
    for track in row.subtitle_tracks:  # ordered by id: the newest of each language wins
        subtitles[track.language] = {"srt": track.srt_path, "vtt": track.vtt_path}
    return {
        "id": row.id,
        "source_name": row.source_name,
        "status": row.status,
        "error": row.error or None,
        "language": row.language,
        "duration": row.duration_ms / 1000 if row.duration_ms is not None else None,
        "consent": row.consent,
        "sha256": row.sha256,
        "path": row.library_path or row.path,
        "transcript": transcripts[-1].path if transcripts else None,
        "subtitles": subtitles,
        "clips": [_clip_report(clip) for clip in row.clips],
    }


def _clip_report(clip: Clip) -> dict[str, Any]:
    return {
        "id": clip.id,
        "start": clip.start_ms / 1000,
        "end": clip.end_ms / 1000,
        "text": clip.text,
        "title": clip.title,
        "description": clip.description,
        "origin": clip.origin,
        "rank": clip.rank,
        "status": "failed" if clip.error else clip.status,
        "decision": clip.status,
        "error": clip.error or None,
        "renders": {name: render["path"] for name, render in sorted(clip.renders.items())},
        "approved_at": _iso(clip.approved_at),
        "publish_at": _iso(clip.publish_at),
        "publications": [_publication_report(p) for p in clip.publications],
        "thumbnail": clip.thumbnail,
        "subtitles": clip.subtitles,
        "package": clip.package,
    }


def _publication_report(publication: Publication) -> dict[str, Any]:
    return {
        "channel": publication.channel,
        "status": publication.status,
        "remote_id": publication.remote_id,
        "url": publication.url,
        "scheduled_at": _iso(publication.scheduled_at),
        "published_at": _iso(publication.published_at),
        "error": publication.error or None,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat()
