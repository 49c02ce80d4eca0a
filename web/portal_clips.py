"""Which clips a partner may see: approved, consent allows partners, in the partner's languages.

One predicate (`_visible`) decides for the list and for every file request alike, so a clip
missing from the page cannot be fetched by its id either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from catalog.consent import blocked_reason
from catalog.store import Catalog
from catalog.tables import Clip, Footage, as_utc

PROFILES = ("vertical", "square", "landscape", "tv")
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ClipView:
    """An approved clip as the portal shows it; the paths stay on the server."""

    id: int
    title: str
    quote: str
    duration_ms: int
    spoken: str | None
    subtitles: tuple[str, ...]
    renders: tuple[str, ...]
    footage_id: int
    footage_title: str
    approved_at: datetime | None
    render_paths: Mapping[str, str]
    subtitle_paths: Mapping[str, Mapping[str, str]]
    thumbnail: str | None
    package: str | None

    @property
    def languages(self) -> tuple[str, ...]:
        spoken = (self.spoken,) if self.spoken else ()
        return tuple(dict.fromkeys(spoken + self.subtitles))


@dataclass(frozen=True)
class Filters:
    language: str | None = None
    footage_id: int | None = None


def visible_clips(catalog: Catalog, partner_languages: Sequence[str]) -> list[ClipView]:
    """The clips the partner may see, newest approval first."""
    with catalog.session() as s:
        rows = s.execute(
            select(Clip, Footage).join(Footage).where(Clip.status == "approved")
        ).tuples()
        views = [_view(clip, footage) for clip, footage in rows if _visible(clip, footage)]
    views = [v for v in views if _in_languages(v, partner_languages)]
    return sorted(views, key=lambda v: (as_utc(v.approved_at) or _OLDEST, v.id), reverse=True)


def narrow(views: Sequence[ClipView], filters: Filters) -> list[ClipView]:
    """The views that match the filters the partner chose on the page."""
    return [
        v
        for v in views
        if (not filters.language or filters.language in v.languages)
        and (filters.footage_id is None or v.footage_id == filters.footage_id)
    ]


def visible_clip(
    catalog: Catalog, clip_id: int, partner_languages: Sequence[str]
) -> ClipView | None:
    """The clip if the partner may see it; None both when it is hidden and when it is absent."""
    with catalog.session() as s:
        clip = s.get(Clip, clip_id)
        if clip is None or not _visible(clip, clip.footage):
            return None
        view = _view(clip, clip.footage)
    return view if _in_languages(view, partner_languages) else None


def _visible(clip: Clip, footage: Footage) -> bool:
    if clip.status != "approved" or not clip.renders:
        return False
    publish_at = as_utc(clip.publish_at)
    if publish_at is not None and publish_at > datetime.now(UTC):
        return False  # embargoed: partners get it when the public may
    people = (footage.sidecar or {}).get("people") or []
    return blocked_reason(footage.consent, people, "partners") is None


def _in_languages(view: ClipView, partner_languages: Sequence[str]) -> bool:
    return not partner_languages or any(code in partner_languages for code in view.languages)


def _view(clip: Clip, footage: Footage) -> ClipView:
    renders: dict[str, Any] = clip.renders or {}
    subtitles: dict[str, Any] = clip.subtitles or {}
    ordered = [p for p in PROFILES if p in renders] + sorted(set(renders) - set(PROFILES))
    sidecar = footage.sidecar or {}
    return ClipView(
        id=clip.id,
        title=clip.title,
        quote=clip.text,
        duration_ms=clip.end_ms - clip.start_ms,
        spoken=footage.language,
        subtitles=tuple(sorted(subtitles)),
        renders=tuple(ordered),
        footage_id=footage.id,
        footage_title=str(sidecar.get("title") or Path(footage.source_name).stem),
        approved_at=clip.approved_at,
        render_paths={name: str(r.get("path", "")) for name, r in renders.items()},
        subtitle_paths={lang: dict(paths) for lang, paths in subtitles.items()},
        thumbnail=clip.thumbnail,
        package=clip.package,
    )
