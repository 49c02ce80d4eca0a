"""Machine translations a person reads before they go to public channels.

A track whose words a machine translated (the provider's, or Whisper's English gist) is
unreviewed until a person approves that very transcript (`voices translation approve`). While
`translation.review_before_public` is on, an unreviewed one is never shown on a public channel:
a clip whose burned captions are one is blocked there (`pipeline.publishing`), and its soft
subtitle file is left out of what public channels receive. Partners get it as it is.
A person's own translation file, and the footage's own words, need no approval.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from catalog.languages import approve_translation
from catalog.models import FootageRecord, TrackSource, TranscriptRecord
from pipeline.context import Context
from pipeline.plan import TrackKind, tracks


class TranslationReviewError(Exception):
    """A translation cannot be approved as asked; the message says why and what to do."""


class TranslatedTrack(BaseModel):
    """A footage's track in another language than its own, and whether a person approved it."""

    model_config = ConfigDict(frozen=True)

    footage_id: int
    footage: str  # its file's name, for people
    language: str
    kind: TrackKind
    source: TrackSource | None  # None: not made yet
    transcript_id: int | None = None
    srt: Path | None  # the file to read before approving
    reviewed_by: str = ""
    reviewed_at: datetime | None = None

    @property
    def needs_review(self) -> bool:
        return self.source == "translated" and not self.reviewed_by


def translated_tracks(ctx: Context, footage: FootageRecord) -> list[TranslatedTrack]:
    """The footage's tracks in other languages, as the current settings want them."""
    found = []
    for track in tracks(ctx.settings, footage):
        if track.kind == "spoken":
            continue
        transcript = ctx.catalog.transcript(footage.id, track.key)
        found.append(
            TranslatedTrack(
                footage_id=footage.id,
                footage=footage.source_name,
                language=track.language,
                kind=track.kind,
                source=transcript.source if transcript else None,
                transcript_id=transcript.id if transcript else None,
                srt=_srt(ctx, transcript) if transcript else None,
                reviewed_by=transcript.reviewed_by if transcript else "",
                reviewed_at=transcript.reviewed_at if transcript else None,
            )
        )
    return found


def _srt(ctx: Context, transcript: TranscriptRecord) -> Path | None:
    made = [
        t.files.srt
        for t in ctx.catalog.subtitle_tracks_of(transcript.footage_id)
        if t.transcript_id == transcript.id
    ]
    return made[-1] if made else None  # the newest layout


def unreviewed_languages(ctx: Context, footage: FootageRecord) -> set[str]:
    """Languages of the footage's machine translations that may not go to a public channel
    yet (none when `translation.review_before_public` is off)."""
    if not ctx.settings.translation.review_before_public:
        return set()
    return {t.language for t in translated_tracks(ctx, footage) if t.needs_review}


def approve(ctx: Context, footage_id: int, language: str, by: str) -> TranslatedTrack:
    """A person approves the footage's current machine translation into `language`."""
    footage = ctx.catalog.footage(footage_id)
    every = translated_tracks(ctx, footage)
    chosen = [t for t in every if t.language == language]
    if not chosen:
        have = ", ".join(t.language for t in every) or "none"
        raise TranslationReviewError(
            f"footage {footage_id} ({footage.source_name}) has no track in {language!r} "
            f"(its translated tracks: {have}); see voices translation list"
        )
    [track] = chosen
    if track.source is None:
        raise TranslationReviewError(
            f"footage {footage_id}: its {language} track is not made yet; run voices run first"
        )
    if track.source != "translated":
        raise TranslationReviewError(
            f"footage {footage_id}: its {language} track is a person's translation "
            f"({track.source}); it needs no approval"
        )
    assert track.transcript_id is not None  # made: it has a source
    approve_translation(ctx.catalog, track.transcript_id, by)
    [approved] = [t for t in translated_tracks(ctx, footage) if t.language == language]
    return approved
