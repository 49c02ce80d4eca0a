"""Clip steps as plain functions: choose clips from a transcript, then render each one.

Selection is redone only when its inputs change (the transcript, the clip settings, the staff's
clips file); a render only when its request changes. Paths derive from the footage hash and the
clip's span, so a retry overwrites instead of duplicating.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path

from catalog.store import ClipDraft, ClipRecord, FootageRecord
from media.clipfile import ClipFileError, QuoteNotFoundError, read_clip_file, resolve
from media.errors import MediaError
from media.ingest import LIBRARY_CLIPS_FILE
from media.library import atomic_output, write_text_atomically
from media.render import RenderProfile, RenderRequest, fits, make_thumbnail, render_clip
from media.selection import ClipRules, ClipSpan, candidates
from pipeline.footage import (
    Context,
    options_key,
    reading_rules,
    transcribe_options,
    wants_translation,
)
from subtitles.errors import SubtitleError
from subtitles.formats import write_srt, write_vtt
from subtitles.layout import layout_cues, retime_cues
from subtitles.models import Cue, Task, Transcript, Word

log = logging.getLogger(__name__)

TITLE_CHARS = 90
MIN_TITLE_CHARS = 25


# selection


def clip_rules(ctx: Context) -> ClipRules:
    c = ctx.settings.clips
    return ClipRules(
        min_ms=round(c.min_seconds * 1000),
        max_ms=round(c.max_seconds * 1000),
        padding_ms=c.padding_ms,
        max_candidates=c.max_candidates,
        keywords=tuple(c.keywords),
    )


def transcript_of(ctx: Context, footage: FootageRecord, task: Task) -> Transcript | None:
    found = ctx.catalog.transcript_for(
        footage.id, options_key(transcribe_options(ctx.settings, footage, task))
    )
    if found is None or not Path(found.path).is_file():
        return None
    return Transcript.model_validate_json(Path(found.path).read_text(encoding="utf-8"))


def select_clips(ctx: Context, footage_id: int) -> list[str]:
    """Propose clips for one footage; return problems with the staff's clips file, if any."""
    footage = ctx.catalog.footage(footage_id)
    transcript = transcript_of(ctx, footage, "transcribe")
    if transcript is None or footage.library_path is None:
        return []
    rules = clip_rules(ctx)
    clip_file = Path(footage.library_path).parent / LIBRARY_CLIPS_FILE
    key = _selection_key(transcript, rules, clip_file)
    if ctx.catalog.clips_key(footage_id) == key:
        return []
    chosen, problems = chosen_clips(clip_file, transcript, rules.padding_ms, footage)
    auto = candidates(transcript.words, transcript.duration_ms, rules, taken=chosen)
    drafts = [_draft(span, footage) for span in chosen + auto]
    ctx.catalog.sync_clips(footage_id, drafts, key)
    log.info("%s: %d clips (%d chosen)", footage.source_name, len(drafts), len(chosen))
    return problems


def chosen_clips(
    clip_file: Path, transcript: Transcript, padding_ms: int, footage: FootageRecord
) -> tuple[list[ClipSpan], list[str]]:
    if not clip_file.is_file():
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


def _selection_key(transcript: Transcript, rules: ClipRules, clip_file: Path) -> str:
    digest = hashlib.sha256(transcript.model_dump_json().encode())
    digest.update(rules.model_dump_json().encode())
    if clip_file.is_file():
        digest.update(clip_file.read_bytes())
    return digest.hexdigest()


def _draft(span: ClipSpan, footage: FootageRecord) -> ClipDraft:
    return ClipDraft(
        start_ms=span.start_ms,
        end_ms=span.end_ms,
        text=span.text,
        title=span.title or draft_title(span.text),
        origin=span.origin,
        description=draft_description(span.text, footage),
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
    sidecar = footage.sidecar
    parts = [f"“{text}”"]
    if sidecar.get("description"):
        parts.append(str(sidecar["description"]))
    origin = ", ".join(
        str(p)
        for p in (sidecar.get("title"), sidecar.get("location"), sidecar.get("recorded"))
        if p
    )
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
    words: list[Word],
    clip: ClipRecord,
    rules_line_chars: int | None,
    ctx: Context,
    footage: FootageRecord,
) -> tuple[Cue, ...]:
    rules = reading_rules(ctx.settings, footage)
    if rules_line_chars is not None:
        rules = rules.model_copy(
            update={"max_line_chars": rules_line_chars, "max_line_chars_cyrillic": rules_line_chars}
        )
    return retime_cues(layout_cues(words, rules), clip.start_ms, clip.end_ms)


def caption_words(ctx: Context, footage: FootageRecord, clip: ClipRecord) -> list[Word]:
    choice = ctx.settings.clips.caption_language
    if choice == "none":
        return []
    task: Task = (
        "translate" if choice == "en" and wants_translation(ctx.settings, footage) else "transcribe"
    )
    transcript = transcript_of(ctx, footage, task)
    return words_between(transcript.words, clip.start_ms, clip.end_ms) if transcript else []


def render_outputs(ctx: Context, clip_id: int) -> ClipRecord:
    """Render every configured profile of one clip, its thumbnail, subtitles and package."""
    clip = ctx.catalog.clip(clip_id)
    footage = ctx.catalog.footage(clip.footage_id)
    folder = clip_folder(ctx, footage, clip)
    folder.mkdir(parents=True, exist_ok=True)
    renders: dict[str, dict[str, str]] = {}  # only the profiles configured now
    try:
        for profile in wanted_profiles(ctx, clip):
            renders[profile.name] = _render_one(
                ctx, footage, clip, profile, clip.renders.get(profile.name)
            )
        thumbnail = _thumbnail(renders, folder, clip)
        subtitles = clip_subtitles(ctx, footage, clip, folder)
        clip = ctx.catalog.update_clip(
            clip_id, renders=renders, thumbnail=thumbnail, subtitles=subtitles, error=""
        )
        package = write_package(ctx, footage, clip)
    except (MediaError, SubtitleError, OSError) as exc:  # this clip only; the others go on
        log.error("clip %d failed: %s", clip.id, exc)
        return ctx.catalog.update_clip(clip_id, renders={**clip.renders, **renders}, error=str(exc))
    return ctx.catalog.update_clip(clip_id, package=str(package))


def render_request(
    ctx: Context, footage: FootageRecord, clip: ClipRecord, profile: RenderProfile
) -> RenderRequest:
    assert footage.library_path is not None
    cues = clip_cues(
        caption_words(ctx, footage, clip), clip, profile.caption_line_chars, ctx, footage
    )
    return RenderRequest(
        source=Path(footage.library_path),
        start_ms=clip.start_ms,
        end_ms=clip.end_ms,
        has_video=bool(footage.media_info.get("video_codec")),
        profile=profile,
        cues=cues,
        branding=ctx.settings.render.branding,
        encode=ctx.settings.render.encode,
        output=clip_folder(ctx, footage, clip) / f"{profile.name}.mp4",
    )


def request_key(request: RenderRequest) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def wanted_profiles(ctx: Context, clip: ClipRecord) -> list[RenderProfile]:
    """The configured profiles this clip fits (a profile may cap the length)."""
    profiles = [ctx.settings.render.profile(name) for name in ctx.settings.clips.render]
    branding, duration_ms = ctx.settings.render.branding, clip.end_ms - clip.start_ms
    return [p for p in profiles if fits(p, branding, duration_ms)]


def _render_one(
    ctx: Context,
    footage: FootageRecord,
    clip: ClipRecord,
    profile: RenderProfile,
    done: dict[str, str] | None,
) -> dict[str, str]:
    request = render_request(ctx, footage, clip, profile)
    key = request_key(request)
    if done and done.get("key") == key and Path(done["path"]).is_file():
        return done
    result = render_clip(request)
    return {"path": str(result.path), "key": key}


def _thumbnail(renders: dict[str, dict[str, str]], folder: Path, clip: ClipRecord) -> str | None:
    if not renders:
        return None
    source = Path(next(iter(renders.values()))["path"])
    target = folder / "thumbnail.jpg"
    if not target.is_file() or target.stat().st_mtime < source.stat().st_mtime:
        make_thumbnail(source, (clip.end_ms - clip.start_ms) // 3, target)
    return str(target)


def clip_subtitles(
    ctx: Context, footage: FootageRecord, clip: ClipRecord, folder: Path
) -> dict[str, dict[str, str]]:
    """SRT and WebVTT for the clip in every language the footage has, timed from 0."""
    tasks: list[Task] = ["transcribe"]
    if wants_translation(ctx.settings, footage):
        tasks.append("translate")
    result = {}
    for task in tasks:
        transcript = transcript_of(ctx, footage, task)
        if transcript is None:
            continue
        cues = clip_cues(
            words_between(transcript.words, clip.start_ms, clip.end_ms), clip, None, ctx, footage
        )
        srt, vtt = folder / f"{transcript.language}.srt", folder / f"{transcript.language}.vtt"
        write_srt(cues, srt)
        write_vtt(cues, vtt)
        result[transcript.language] = {"srt": str(srt), "vtt": str(vtt)}
    return result


def write_package(ctx: Context, footage: FootageRecord, clip: ClipRecord) -> Path:
    """A folder a partner can take as it is: videos, subtitles, thumbnail, metadata.json."""
    package = ctx.settings.workspace / "packages" / f"clip-{clip.id}"
    package.mkdir(parents=True, exist_ok=True)
    renders = {
        name: _place(Path(render["path"]), package / f"{name}.mp4")
        for name, render in clip.renders.items()
    }
    subtitles = {
        language: {
            kind: _place(Path(path), package / f"{language}.{kind}") for kind, path in paths.items()
        }
        for language, paths in clip.subtitles.items()
    }
    files: dict[str, object] = {"renders": renders, "subtitles": subtitles}
    if clip.thumbnail:
        files["thumbnail"] = _place(Path(clip.thumbnail), package / "thumbnail.jpg")
    metadata = package_metadata(footage, clip) | files
    write_text_atomically(
        package / "metadata.json", json.dumps(metadata, ensure_ascii=False, indent=2)
    )
    return package


def package_metadata(footage: FootageRecord, clip: ClipRecord) -> dict[str, object]:
    """What a partner needs to use the clip honestly. No names of people: minors may be among
    them, and the partner needs to know consent, not identities."""
    people = footage.people
    return {
        "clip": clip.id,
        "title": clip.title,
        "description": clip.description,
        "quote": clip.text,
        "language": footage.language,
        "languages": sorted(clip.subtitles),
        "duration": (clip.end_ms - clip.start_ms) / 1000,
        "source": {
            "footage": footage.id,
            "name": footage.source_name,
            "sha256": footage.sha256,
            "start": clip.start_ms / 1000,
            "end": clip.end_ms / 1000,
            "recorded": footage.sidecar.get("recorded"),
            "location": footage.sidecar.get("location"),
        },
        "consent": footage.consent,
        "people_consent": [p.get("consent", "internal") for p in people],
        "includes_minors": any(p.get("minor") for p in people),
    }


def _place(source: Path, target: Path) -> str:
    """Put `source` at `target` without copying bytes where the disk allows (a hard link)."""
    if target.exists():
        if os.path.samefile(source, target):
            return target.name
        target.unlink()
    try:
        os.link(source, target)
    except OSError:  # another disk: a copy, complete or not there at all
        with atomic_output(target) as partial:
            shutil.copyfile(source, partial)
    return target.name


# what is left to do


def selection_is_current(ctx: Context, footage: FootageRecord) -> bool:
    transcript = transcript_of(ctx, footage, "transcribe")
    if transcript is None or footage.library_path is None:
        return True  # nothing to choose from yet; transcription comes first
    clip_file = Path(footage.library_path).parent / LIBRARY_CLIPS_FILE
    return ctx.catalog.clips_key(footage.id) == _selection_key(
        transcript, clip_rules(ctx), clip_file
    )


def clips_to_render(ctx: Context, footage: FootageRecord) -> list[ClipRecord]:
    """Clips (not rejected) whose renders are missing or made under other settings."""
    return [
        c
        for c in ctx.catalog.clips_of(footage.id)
        if c.status != "rejected" and not _renders_current(ctx, footage, c)
    ]


def _renders_current(ctx: Context, footage: FootageRecord, clip: ClipRecord) -> bool:
    if clip.error or clip.package is None:
        return False
    for profile in wanted_profiles(ctx, clip):
        done = clip.renders.get(profile.name)
        if done is None or not Path(done["path"]).is_file():
            return False
        if done.get("key") != request_key(render_request(ctx, footage, clip, profile)):
            return False
    return True
