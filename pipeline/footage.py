"""The pipeline's steps as plain functions: what each Prefect task calls.

Each step reads settings, calls into `media/` and `subtitles/`, and records what it did in the
catalog. Keys derived from settings decide what is already done, so a re-run does only what a
changed setting affects.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from catalog import Catalog
from catalog.store import FootageRecord, TranscriptRecord
from config import Settings
from media.audio import decode_audio
from media.clipfile import CLIPS_SUFFIX
from media.ingest import (
    IngestOutcome,
    WorkspaceDirs,
    file_clip_file,
    fingerprint,
    ingest_all,
    late_clip_files,
    pending_files,
)
from media.library import write_text_atomically
from pipeline.progress import report
from subtitles.engines import TranscribeOptions, transcribe
from subtitles.formats import write_srt, write_vtt
from subtitles.languages import decode_language
from subtitles.layout import check_rules, layout_cues
from subtitles.models import ReadingRules, Task, Transcript
from subtitles.weights import resolve_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    settings: Settings
    catalog: Catalog

    @property
    def dirs(self) -> WorkspaceDirs:
        return WorkspaceDirs.under(self.settings.workspace)

    @classmethod
    def open(cls, settings: Settings) -> Context:
        WorkspaceDirs.under(settings.workspace).inbox.mkdir(parents=True, exist_ok=True)
        return cls(settings=settings, catalog=Catalog(settings.catalog_url))


class IngestResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    footage_id: int
    kind: str
    source_name: str
    reason: str = ""


class SubtitleResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    language: str
    srt: str
    vtt: str
    cues: int
    violations: tuple[str, ...] = ()


# ingest


def new_files(ctx: Context, settle_seconds: float = 0.0) -> list[Path]:
    """Inbox files to ingest: all but those held for a sidecar fix that nobody has touched."""
    held = ctx.catalog.held_fingerprints()
    files = pending_files(ctx.dirs.inbox, settle_seconds)
    return [path for path in files if fingerprint(path) not in held]


def ingest_inbox(ctx: Context) -> list[IngestResult]:
    settings = ctx.settings.ingest
    files = new_files(ctx, settings.settle_seconds)
    outcomes = ingest_all(
        files, ctx.dirs, ctx.catalog.is_known, round(settings.min_duration_seconds * 1000)
    )
    results = [_record(ctx.catalog, outcome) for outcome in outcomes]
    for clip_file in clip_files_for_known_footage(ctx):
        footage, path = clip_file
        assert footage.library_path is not None
        file_clip_file(path, Path(footage.library_path).parent)
        log.info("%s: new clips file %s", footage.source_name, path.name)
    return results


def clip_files_for_known_footage(ctx: Context) -> list[tuple[FootageRecord, Path]]:
    """Clips files in the inbox whose footage is already in the library."""
    found = []
    for path in late_clip_files(ctx.dirs.inbox):
        footage = ctx.catalog.footage_by_stem(path.name.removesuffix(CLIPS_SUFFIX))
        if footage is not None:
            found.append((footage, path))
    return found


def _record(catalog: Catalog, outcome: IngestOutcome) -> IngestResult:
    fields: dict[str, object] = {"error": outcome.reason, "fingerprint": outcome.fingerprint}
    if outcome.info is not None:
        fields["media_info"] = outcome.info.model_dump()
        fields["duration_ms"] = outcome.info.duration_ms
    if outcome.kind == "accepted" and outcome.sidecar is not None:
        fields["library_path"] = str(outcome.path)
        fields["sidecar"] = outcome.sidecar.model_dump(mode="json")
        fields["consent"] = outcome.sidecar.consent
        fields["language"] = outcome.sidecar.language
    if outcome.kind == "duplicate":
        original = catalog.library_footage_id(outcome.sha256)
        fields["error"] = f"{outcome.reason} (footage {original})"
    status = "ingested" if outcome.kind == "accepted" else outcome.kind
    footage_id = catalog.record_footage(
        outcome.sha256, outcome.source_name, status, str(outcome.path), **fields
    )
    return IngestResult(
        footage_id=footage_id,
        kind=outcome.kind,
        source_name=outcome.source_name,
        reason=str(fields["error"]),
    )


# planning: what a footage still needs under the current settings


def transcribe_options(settings: Settings, footage: FootageRecord, task: Task) -> TranscribeOptions:
    """Options for `task` on `footage`, with the model as configured (not yet resolved)."""
    t = settings.transcription
    if task == "translate":
        spoken = footage.language
    else:
        spoken = footage.sidecar.get("language") or t.default_language or None
    label = t.model_for(spoken)
    return TranscribeOptions(
        engine=t.engine,
        model=label,
        model_label=label,
        device=t.device,
        compute_type=t.compute_type,
        beam_size=t.beam_size,
        vad=t.vad,
        task=task,
        language=decode_language(spoken, t.language_fallbacks),
        spoken_language=spoken,
    )


def options_key(options: TranscribeOptions) -> str:
    text = options.model_dump_json(exclude={"model"})
    return hashlib.sha256(text.encode()).hexdigest()


def reading_rules(settings: Settings, footage: FootageRecord) -> ReadingRules:
    return settings.subtitles.rules(footage.sidecar.get("subtitle_profile"))


def rules_key(rules: ReadingRules) -> str:
    return hashlib.sha256(rules.model_dump_json().encode()).hexdigest()


def wants_translation(settings: Settings, footage: FootageRecord) -> bool:
    return settings.transcription.translate_to_english and footage.language not in (None, "en")


def needs_work(ctx: Context, footage: FootageRecord) -> bool:
    if footage.status == "failed" or footage.language is None:
        return True
    tasks: list[Task] = ["transcribe"]
    if wants_translation(ctx.settings, footage):
        tasks.append("translate")
    key = rules_key(reading_rules(ctx.settings, footage))
    for task in tasks:
        found = ctx.catalog.transcript_for(
            footage.id, options_key(transcribe_options(ctx.settings, footage, task))
        )
        if found is None or not ctx.catalog.has_subtitles(found.id, key):
            return True
    return False


# transcription and subtitles


def transcribe_footage(ctx: Context, footage_id: int, task: Task) -> TranscriptRecord:
    """Transcribe (or translate) one footage, unless the same settings already did."""
    footage = ctx.catalog.footage(footage_id)
    options = transcribe_options(ctx.settings, footage, task)
    key = options_key(options)
    done = ctx.catalog.transcript_for(footage_id, key)
    if done is not None and Path(done.path).is_file():
        return done
    assert footage.library_path is not None
    model = resolve_model(options.model, options.engine, ctx.settings.model_cache)
    label = f"{task} {footage.source_name}"
    started = time.monotonic()
    audio = decode_audio(Path(footage.library_path))
    transcript = transcribe(
        audio, options.model_copy(update={"model": model}), lambda f: report(label, f)
    )
    seconds = time.monotonic() - started
    path = _transcript_path(ctx, footage, task, key)
    write_text_atomically(path, transcript.model_dump_json(indent=1))
    if task == "transcribe":
        ctx.catalog.set_language(footage_id, transcript.spoken_language)
    log.info("%s: %s in %.1f s (%s)", footage.source_name, task, seconds, transcript.language)
    return ctx.catalog.add_transcript(
        footage_id,
        key,
        task=task,
        language=transcript.language,
        engine=transcript.engine,
        model=transcript.model,
        path=str(path),
        seconds=round(seconds, 3),
    )


def make_subtitles(ctx: Context, transcript: TranscriptRecord) -> SubtitleResult:
    footage = ctx.catalog.footage(transcript.footage_id)
    rules = reading_rules(ctx.settings, footage)
    words = Transcript.model_validate_json(Path(transcript.path).read_text("utf-8")).words
    cues = layout_cues(words, rules)
    violations = tuple(check_rules(cues, rules))
    for problem in violations:
        log.warning("%s (%s): %s", footage.source_name, transcript.language, problem)
    key = rules_key(rules)
    folder = ctx.settings.workspace / "subtitles" / footage.sha256[:12]
    stem = f"{Path(footage.source_name).stem}.{transcript.language}.{key[:8]}"
    srt, vtt = folder / f"{stem}.srt", folder / f"{stem}.vtt"
    folder.mkdir(parents=True, exist_ok=True)
    write_srt(cues, srt)
    write_vtt(cues, vtt)
    ctx.catalog.add_subtitles(
        transcript,
        key,
        srt_path=str(srt),
        vtt_path=str(vtt),
        cues=len(cues),
        rule_violations=len(violations),
    )
    return SubtitleResult(
        language=transcript.language,
        srt=str(srt),
        vtt=str(vtt),
        cues=len(cues),
        violations=violations,
    )


def _transcript_path(ctx: Context, footage: FootageRecord, task: Task, key: str) -> Path:
    folder = ctx.settings.workspace / "transcripts" / footage.sha256[:12]
    return folder / f"{task}.{key[:12]}.json"
