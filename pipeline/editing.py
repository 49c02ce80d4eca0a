"""What staff change by hand in the studio (or its API), done the way the files in the inbox
would do it, so that a run treats both alike:

- a corrected transcript becomes the footage's correction file (`correction.LANG.srt` in its
  library folder, as `voices correct` files it); the next run aligns it to the audio and
  redoes the subtitles, captions and renders that follow;
- a description from the form is checked as a sidecar file is and dropped in the inbox as one;
- a clip chosen by quoted words is checked against the transcript in use now, added to the
  footage's clips file (`clips.yaml` in its library folder, as `NAME.clips.yaml` is filed) and
  recorded at once; the next run renders it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from catalog import audit
from catalog.models import ClipRecord, TranscriptRecord
from media.clipfile import ChosenClip, read_clip_file, resolve
from media.errors import MediaError
from media.sidecar import SidecarError, read_sidecar, sidecar_path
from pipeline.clips import select_clips, spoken_transcript, track_transcript
from pipeline.context import Context
from pipeline.footage import apply_late_sidecar, file_correction
from pipeline.plan import clip_rules, clips_file, correction_file, spoken_key
from subtitles.errors import SubtitleError
from subtitles.formats import format_timestamp
from subtitles.models import Transcript as Transcript  # re-exported: the studio shows it


class EditError(Exception):
    """An edit cannot be made as asked; the message says why and what to do."""


class SegmentText(BaseModel):
    """One stretch of a corrected transcript: its time and what is said in it."""

    model_config = ConfigDict(extra="forbid")

    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    text: str


def transcript_in_use(ctx: Context, footage_id: int) -> tuple[TranscriptRecord, Transcript] | None:
    """The footage's own words as used now (a person's correction once aligned), with its
    record (which says whether it is the machine's or a correction); None before there is one."""
    footage = ctx.catalog.footage(footage_id)
    key = spoken_key(ctx.settings, footage)
    record = ctx.catalog.transcript(footage_id, key)
    text = track_transcript(ctx, footage, key)
    if record is None or text is None:
        return None
    return record, text


def correct_segments(
    ctx: Context, footage_id: int, segments: Sequence[SegmentText], by: str
) -> Path:
    """Keep the corrected text of a footage as its correction file; return where it is."""
    kept = [s for s in segments if s.text.strip()]
    if not kept:
        raise EditError("the corrected transcript has no text; send at least one segment")
    for number, segment in enumerate(kept, start=1):
        if segment.end_ms <= segment.start_ms:
            raise EditError(
                f"segment {number} ends ({segment.end_ms} ms) before it starts "
                f"({segment.start_ms} ms)"
            )
    kept.sort(key=lambda s: s.start_ms)
    blocks = [
        f"{n}\n{format_timestamp(s.start_ms, ',')} --> {format_timestamp(s.end_ms, ',')}\n"
        f"{' '.join(s.text.split())}\n"
        for n, s in enumerate(kept, start=1)
    ]
    with tempfile.TemporaryDirectory(prefix="voices-correction-") as folder:
        source = Path(folder) / "studio.srt"
        source.write_text("\n".join(blocks), encoding="utf-8")
        try:
            return file_correction(ctx, footage_id, source, by)
        except SubtitleError as exc:
            raise EditError(str(exc)) from exc


def add_clip(
    ctx: Context, footage_id: int, quote_from: str, quote_to: str, title: str, by: str
) -> ClipRecord:
    """A clip from the words `quote_from` to the words `quote_to` (found in the transcript in
    use, edges snapped to the words and the pauses around them), kept in the footage's clips
    file and recorded now; raises `EditError` naming the words it could not find."""
    footage = ctx.catalog.footage(footage_id)
    transcript = spoken_transcript(ctx, footage)
    path = clips_file(footage)
    if transcript is None or path is None:
        waiting = (
            "its correction is still being aligned"
            if correction_file(footage)
            else "it has no transcript yet"
        )
        raise EditError(f"footage {footage_id}: {waiting}; make the clip once it is processed")
    wanted = ChosenClip.model_validate({"from": quote_from, "to": quote_to, "title": title})
    padding = clip_rules(ctx.settings).padding_ms
    try:
        span = resolve(wanted, transcript.words, transcript.duration_ms, padding)
    except (MediaError, ValueError) as exc:
        raise EditError(str(exc)) from exc
    listed = read_clip_file(path).clips if path.is_file() else []
    entries = [_entry(clip) for clip in listed] + [_entry(wanted)]
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(
        yaml.safe_dump({"clips": entries}, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    partial.replace(path)
    problems = select_clips(ctx, footage_id)
    if problems:
        raise EditError("; ".join(problems))
    made = next(
        (
            c
            for c in ctx.catalog.clips_of(footage_id)
            if (c.start_ms, c.end_ms) == (span.start_ms, span.end_ms)
        ),
        None,
    )
    if made is None:  # sync_clips keeps every chosen span: this is a bug if it happens
        raise EditError(f"the clip {span.start_ms}-{span.end_ms} ms was not recorded")
    audit.record(
        ctx.catalog,
        by,
        "clip_add",
        f'clip {made.id} chosen: from "{quote_from}" to "{quote_to}"',
        footage_id=footage_id,
        clip_id=made.id,
    )
    return made


def _entry(clip: ChosenClip) -> dict[str, object]:
    return clip.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)


def describe(ctx: Context, footage_id: int, fields: dict[str, Any], by: str) -> Path:
    """A new description (sidecar) of a footage from the studio's form, checked exactly as a
    sidecar file is (the same messages), and dropped where a person would drop it: beside a
    held file in the inbox (the next run takes both), or, for footage already in the library,
    applied at once as a run applies a sidecar dropped later (consent changes included: a lower
    consent takes clips down now). Returns the file written."""
    footage = ctx.catalog.footage(footage_id)
    text = yaml.safe_dump(_clean(fields), allow_unicode=True, sort_keys=False)
    with tempfile.TemporaryDirectory(prefix="voices-sidecar-") as folder:
        trial = Path(folder) / f"{Path(footage.source_name).stem}.yaml"
        trial.write_text(text, encoding="utf-8")
        try:
            read_sidecar(trial)
        except SidecarError as exc:  # the sidecar's own message, line and field
            raise EditError(str(exc)) from exc
    if footage.status == "held":
        target = sidecar_path(footage.path) or footage.path.with_suffix(".yaml")
    elif footage.library_path is not None:
        target = ctx.dirs.inbox / f"{footage.sha256}.yaml"
    else:
        raise EditError(
            f"footage {footage_id} is {footage.status}: there is nothing to describe; "
            "drop the file in the inbox again with its description"
        )
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    audit.record(
        ctx.catalog, by, "describe", f"description filed as {target.name}", footage_id=footage_id
    )
    if footage.status != "held":  # applied now, as a run would apply it
        result = apply_late_sidecar(ctx, footage, target, by)
        if result.kind == "rejected":
            raise EditError(result.reason or "the description was refused")
    return target


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as a sidecar's: empty ones left out, so defaults apply."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value in ("", None, [], (), False):
            continue
        out[key] = value
    return out
