"""Which clips a partner may see: approved, consent allows partners, in the partner's languages.

One predicate (`_visible`) decides for the list and for every file request alike, so a clip
missing from the page cannot be fetched by its id either.

A view carries no name of a person and not the footage's source file name (which may hold a
child's name): the footage's title is the one staff wrote in its sidecar, or none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from catalog import Catalog
from catalog.consent import blocked_reason, effective_consent
from catalog.models import ClipRecord, Consent, FootageRecord, RenderOutput

PROFILES = ("vertical", "square", "landscape", "tv")
# The low-bitrate rendition (about 480p, under 1 Mbit/s) made for the page's player: played,
# never offered as a download.
PREVIEW = "web"
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ClipView:
    """An approved clip as the portal shows it; the paths stay on the server. `renders` are
    the downloads, `player` the render the page plays."""

    id: int
    title: str
    quote: str
    duration_ms: int
    spoken: str | None
    subtitles: tuple[str, ...]
    # Languages whose subtitles are a machine translation (labelled so on the page).
    machine: tuple[str, ...]
    renders: tuple[str, ...]
    player: str
    footage_id: int
    footage_title: str  # the sidecar's title; empty when staff gave none
    consent: Consent
    has_minors: bool
    approved_at: datetime | None
    render_paths: Mapping[str, Path]
    subtitle_paths: Mapping[str, Mapping[str, Path]]
    thumbnail: Path | None
    preview: Path | None
    package: Path | None

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
    machine: dict[int, tuple[str, ...]] = {}
    views = []
    for clip, footage in catalog.clips_with_footage("approved"):
        if _visible(clip, footage):
            if footage.id not in machine:
                machine[footage.id] = machine_translated(catalog, footage.id)
            views.append(_view(clip, footage, machine[footage.id]))
    views = [v for v in views if _in_languages(v, partner_languages)]
    return sorted(views, key=lambda v: (v.approved_at or _OLDEST, v.id), reverse=True)


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
    try:
        clip = catalog.clip(clip_id)
    except LookupError:
        return None
    footage = catalog.footage(clip.footage_id)
    if not _visible(clip, footage):
        return None
    view = _view(clip, footage, machine_translated(catalog, footage.id))
    return view if _in_languages(view, partner_languages) else None


def machine_translated(catalog: Catalog, footage_id: int) -> tuple[str, ...]:
    """The languages in which the footage's current subtitles are a machine's translation."""
    source = {t.id: t.source for t in catalog.transcripts_of(footage_id)}
    latest = {t.language: t.transcript_id for t in catalog.subtitle_tracks_of(footage_id)}
    return tuple(sorted(lang for lang, tid in latest.items() if source.get(tid) == "translated"))


def _visible(clip: ClipRecord, footage: FootageRecord) -> bool:
    if clip.decision != "approved" or not clip.renders:
        return False
    if clip.publish_at is not None and clip.publish_at > datetime.now(UTC):
        return False  # embargoed: partners get it when the public may
    return blocked_reason(footage.sidecar, "partners") is None


def _in_languages(view: ClipView, partner_languages: Sequence[str]) -> bool:
    return not partner_languages or any(code in partner_languages for code in view.languages)


def _view(clip: ClipRecord, footage: FootageRecord, machine: tuple[str, ...]) -> ClipView:
    renders = clip.renders
    downloads = [name for name in renders if name != PREVIEW]
    ordered = [p for p in PROFILES if p in downloads] + sorted(set(downloads) - set(PROFILES))
    return ClipView(
        id=clip.id,
        title=clip.title,
        quote=clip.text,
        duration_ms=clip.duration_ms,
        spoken=footage.language,
        subtitles=tuple(sorted(clip.subtitles)),
        machine=tuple(lang for lang in machine if lang in clip.subtitles),
        renders=tuple(ordered),
        player=player_render(renders),
        footage_id=footage.id,
        footage_title=footage.sidecar.title.strip(),
        consent=effective_consent(footage.sidecar),
        has_minors=footage.has_minors,
        approved_at=clip.approved_at,
        render_paths={name: render.path for name, render in renders.items()},
        subtitle_paths={
            language: {"srt": files.srt, "vtt": files.vtt}
            for language, files in clip.subtitles.items()
        },
        thumbnail=clip.thumbnail,
        preview=clip.preview,
        package=clip.package,
    )


def player_render(renders: Mapping[str, RenderOutput]) -> str:
    """What the page plays: the `web` rendition when the clip has one, else its smallest."""
    if PREVIEW in renders:
        return PREVIEW
    return min(renders, key=lambda name: (renders[name].width * renders[name].height, name))
