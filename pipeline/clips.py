"""Clip steps as plain functions: choose clips from a transcript, then render each one.

Selection is redone only when its key changes (the transcript's options, the clip rules, the
staff's clips file); a render only when its key does (`pipeline.plan`). Paths derive from the
footage hash and the clip's span, so a retry overwrites instead of duplicating.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from catalog.models import (
    ClipDraft,
    ClipOutputs,
    ClipRecord,
    FootageRecord,
    RenderOutput,
    SubtitleFiles,
)
from media.clipfile import ClipFileError, QuoteNotFoundError, read_clip_file, resolve
from media.errors import MediaError
from media.render import (
    RenderProfile,
    RenderRequest,
    make_preview,
    make_thumbnail,
    render_clip,
)
from media.selection import ClipSpan, candidates
from pipeline.context import Context
from pipeline.footage import read_transcript
from pipeline.packages import (
    WEB_RENDITION,
    location_if_public,
    recorded_if_public,
    update_package,
)
from pipeline.plan import (
    blurs_faces,
    caption_track,
    clip_rules,
    clips_file,
    picture_title,
    reading_rules,
    render_key,
    selection_key,
    spoken_key,
    tracks,
    wanted_profiles,
)
from pipeline.progress import report
from subtitles.errors import SubtitleError
from subtitles.formats import write_srt, write_vtt
from subtitles.layout import layout_cues, retime_cues
from subtitles.models import Cue, Transcript, Word
from subtitles.redact import redact_text, redact_words, redaction_spans, spans_within

log = logging.getLogger(__name__)

TITLE_CHARS = 90
MIN_TITLE_CHARS = 25


def spoken_transcript(ctx: Context, footage: FootageRecord) -> Transcript | None:
    """The footage's own words as in use: a person's correction once there is one."""
    return track_transcript(ctx, footage, spoken_key(ctx.settings, footage))


def track_transcript(ctx: Context, footage: FootageRecord, key: str) -> Transcript | None:
    """The transcript recorded under `key` (a track's), read from its file, if it is there."""
    found = ctx.catalog.transcript(footage.id, key)
    if found is None or not found.path.is_file():
        return None
    return read_transcript(found)


# selection


def select_clips(ctx: Context, footage_id: int) -> list[str]:
    """Propose clips for one footage; return problems with the staff's clips file, if any."""
    footage = ctx.catalog.footage(footage_id)
    key = selection_key(ctx.settings, footage)
    if footage.clips_key == key:
        return []
    transcript = spoken_transcript(ctx, footage)
    if transcript is None:
        return []
    rules = clip_rules(ctx.settings)
    chosen, problems = chosen_clips(clips_file(footage), transcript, rules.padding_ms, footage)
    auto = candidates(transcript.words, transcript.duration_ms, rules, taken=chosen)
    drafts = [_draft(span, footage) for span in chosen + auto]
    ctx.catalog.sync_clips(footage_id, drafts, key)
    log.info("%s: %d clips (%d chosen)", footage.source_name, len(drafts), len(chosen))
    return problems


def chosen_clips(
    clip_file: Path | None, transcript: Transcript, padding_ms: int, footage: FootageRecord
) -> tuple[list[ClipSpan], list[str]]:
    if clip_file is None or not clip_file.is_file():
        return [], []
    fix = f"put a corrected {Path(footage.source_name).stem}.clips.yaml in the inbox"
    try:
        wanted = read_clip_file(clip_file)
    except ClipFileError as exc:
        return [], [f"{exc}; {fix}"]
    spans, problems = [], []
    for number, clip in enumerate(wanted.clips, start=1):
        try:
            spans.append(resolve(clip, transcript.words, transcript.duration_ms, padding_ms))
        except (QuoteNotFoundError, ValueError) as exc:
            problems.append(f"clips file, clip {number}: {exc}; {fix}")
    return spans, problems


def _draft(span: ClipSpan, footage: FootageRecord) -> ClipDraft:
    """A clip as proposed, its words redacted as the sidecar asks."""
    terms = footage.sidecar.redact
    return ClipDraft(
        start_ms=span.start_ms,
        end_ms=span.end_ms,
        text=redact_text(span.text, terms),
        title=redact_text(span.title or draft_title(span.text), terms),
        origin=span.origin,
        description=redact_text(draft_description(span.text, footage), terms),
        score=span.score,
    )


def draft_title(text: str) -> str:
    """The clip's opening words: whole sentences until there is enough to say something
    ("Yes." alone is no title), cut at a word to fit a title."""
    title = ""
    for sentence in re.split(r"(?<=[.!?…])\s+", text.strip()):
        title = f"{title} {sentence}".strip()
        if len(title) >= MIN_TITLE_CHARS:
            break
    title = title.rstrip(".")
    if len(title) <= TITLE_CHARS:
        return title
    return title[: TITLE_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def draft_description(text: str, footage: FootageRecord) -> str:
    """The quote, the sidecar's description and where it comes from: its title, and the place
    and date only when the sidecar says they may go out. Never the file's name or people's."""
    sidecar = footage.sidecar
    parts = [f"“{text}”"]
    if sidecar.description:
        parts.append(sidecar.description)
    place, recorded = location_if_public(sidecar), recorded_if_public(sidecar)
    origin = ", ".join(p for p in (sidecar.title, place, recorded) if p)
    if origin:
        parts.append(f"From: {origin}")
    return "\n\n".join(parts)


# rendering


def clip_folder(ctx: Context, footage: FootageRecord, clip: ClipRecord) -> Path:
    return ctx.settings.workspace / "clips" / footage.sha256[:12] / f"{clip.start_ms}-{clip.end_ms}"


def words_between(words: tuple[Word, ...], start_ms: int, end_ms: int) -> list[Word]:
    """Words whose middle lies inside the clip (translated words are only roughly timed)."""
    return [w for w in words if start_ms <= (w.start_ms + w.end_ms) // 2 <= end_ms]


def clip_cues(
    ctx: Context,
    footage: FootageRecord,
    clip: ClipRecord,
    words: list[Word],
    language: str | None,
    line_chars: int | None = None,
) -> tuple[Cue, ...]:
    """The clip's cues of `words` (text in `language`), under that language's reading rules.
    `line_chars` (a render profile's `caption_line_chars`, what fits its picture) replaces the
    line lengths, except where `subtitles.languages` sets a shorter one for the language."""
    rules = reading_rules(ctx.settings, footage, language)
    if line_chars is not None:
        own = ctx.settings.subtitles.languages.get(language or "", {})
        latin = min(line_chars, own.get("max_line_chars", line_chars))
        cyrillic = min(line_chars, own.get("max_line_chars_cyrillic", line_chars))
        rules = rules.model_copy(
            update={"max_line_chars": latin, "max_line_chars_cyrillic": cyrillic}
        )
    return retime_cues(layout_cues(words, rules), clip.start_ms, clip.end_ms)


def caption_words(
    ctx: Context, footage: FootageRecord, clip: ClipRecord, profile: str
) -> list[Word]:
    """The words burned into this profile's render, redacted (in the whole transcript first,
    so that a phrase across the clip's edge is caught)."""
    track = caption_track(ctx.settings, footage, profile)
    transcript = track_transcript(ctx, footage, track.key) if track else None
    if transcript is None:
        return []
    words = redact_words(transcript.words, footage.sidecar.redact)
    return words_between(words, clip.start_ms, clip.end_ms)


def muted_spans(
    ctx: Context, footage: FootageRecord, clip: ClipRecord
) -> tuple[tuple[int, int], ...]:
    """Where the clip's audio is silenced: every redacted word, timed from the clip's start by
    the spoken transcript (the timings of the audio itself)."""
    terms = footage.sidecar.redact
    if not terms:
        return ()
    spoken = spoken_transcript(ctx, footage)
    if spoken is None:
        raise MediaError(
            f"{footage.source_name}: its redacted words cannot be muted without its transcript"
        )
    return tuple(spans_within(redaction_spans(spoken.words, terms), clip.start_ms, clip.end_ms))


def render_outputs(ctx: Context, clip_id: int) -> ClipRecord:
    """Render every configured profile of one clip, its thumbnail, subtitles and package."""
    clip = ctx.catalog.clip(clip_id)
    footage = ctx.catalog.footage(clip.footage_id)
    folder = clip_folder(ctx, footage, clip)
    folder.mkdir(parents=True, exist_ok=True)
    renders: dict[str, RenderOutput] = {}  # only the profiles configured now
    try:
        mute = muted_spans(ctx, footage, clip)
        profiles = wanted_profiles(ctx.settings, clip)
        label = f"rendering clip {clip.id} of {footage.source_name}"
        for done, profile in enumerate(profiles):
            report(label, done / len(profiles))
            words = caption_words(ctx, footage, clip, profile.name)
            renders[profile.name] = _render_one(ctx, footage, clip, profile, words, mute)
        report(label, 1.0)
        thumbnail, preview = _stills(renders, folder, clip)
        outputs = ClipOutputs(
            renders=renders,
            subtitles=clip_subtitles(ctx, footage, clip, folder),
            thumbnail=thumbnail,
            preview=preview,
        )
        clip = ctx.catalog.record_outputs(clip_id, outputs)
        return update_package(ctx, footage, clip)
    except (MediaError, SubtitleError, OSError) as exc:  # this clip only; the others go on
        log.error("clip %d failed: %s", clip.id, exc)
        return ctx.catalog.record_render_failure(clip_id, {**clip.renders, **renders}, str(exc))


def _render_one(
    ctx: Context,
    footage: FootageRecord,
    clip: ClipRecord,
    profile: RenderProfile,
    words: list[Word],
    mute: tuple[tuple[int, int], ...],
) -> RenderOutput:
    key = render_key(ctx.settings, footage, clip, profile)
    done = clip.renders.get(profile.name)
    if done is not None and done.key == key and done.path.is_file():
        return done
    assert footage.library_path is not None
    request = RenderRequest(
        source=footage.library_path,
        start_ms=clip.start_ms,
        end_ms=clip.end_ms,
        has_video=footage.has_video,
        profile=profile,
        cues=clip_cues(
            ctx,
            footage,
            clip,
            words,
            _caption_language(ctx, footage, profile),
            profile.caption_line_chars,
        ),
        title=redact_text(picture_title(footage), footage.sidecar.redact),
        blur_faces=blurs_faces(footage),
        mute=mute,
        branding=ctx.settings.render.branding,
        encode=ctx.settings.render.encode,
        output=clip_folder(ctx, footage, clip) / f"{profile.name}.mp4",
    )
    result = render_clip(request)
    return RenderOutput(
        path=result.path,
        key=key,
        width=profile.width,
        height=profile.height,
        duration_ms=result.duration_ms,
    )


def _caption_language(ctx: Context, footage: FootageRecord, profile: RenderProfile) -> str | None:
    """The language of the captions burned into this profile's render."""
    track = caption_track(ctx.settings, footage, profile.name)
    return track.language if track else None


def _stills(
    renders: dict[str, RenderOutput], folder: Path, clip: ClipRecord
) -> tuple[Path | None, Path | None]:
    """The clip's thumbnail (for YouTube, the portal, packages) and its preview (a small JPEG
    for Telegram), from the first render, made again when that render is newer."""
    if not renders:
        return None, None
    # The first configured render (vertical by default), not the portal's light one.
    full = [render for name, render in renders.items() if name != WEB_RENDITION]
    source = (full or list(renders.values()))[0].path
    at_ms = clip.duration_ms // 3
    thumbnail, preview = folder / "thumbnail.jpg", folder / "preview.jpg"
    if _older(thumbnail, source):
        make_thumbnail(source, at_ms, thumbnail)
    if _older(preview, source):
        make_preview(source, at_ms, preview)
    return thumbnail, preview


def _older(still: Path, source: Path) -> bool:
    return not still.is_file() or still.stat().st_mtime < source.stat().st_mtime


def clip_subtitles(
    ctx: Context, footage: FootageRecord, clip: ClipRecord, folder: Path
) -> dict[str, SubtitleFiles]:
    """SRT and WebVTT for the clip in every language the footage has a track in, timed from 0."""
    result = {}
    for track in tracks(ctx.settings, footage):
        transcript = track_transcript(ctx, footage, track.key)
        if transcript is None:
            continue
        redacted = redact_words(transcript.words, footage.sidecar.redact)
        words = words_between(redacted, clip.start_ms, clip.end_ms)
        cues = clip_cues(ctx, footage, clip, words, transcript.language)
        files = SubtitleFiles(
            srt=folder / f"{transcript.language}.srt", vtt=folder / f"{transcript.language}.vtt"
        )
        write_srt(cues, files.srt)
        write_vtt(cues, files.vtt)
        result[transcript.language] = files
    return result
