"""Footage steps as plain functions: file the inbox, transcribe, lay out subtitles.

Each step reads settings, calls into `media/` and `subtitles/`, and records what it did in the
catalog with the key of what it was made from (`pipeline.plan`), so a re-run does only what a
changed setting affects.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from catalog import Catalog, audit
from catalog.models import (
    ALIGNED,
    IMPORTED,
    FootageRecord,
    FootageStatus,
    NewFootage,
    Sidecar,
    SubtitleFiles,
    TranscriptRecord,
)
from config import Settings
from media.audio import decode_audio
from media.errors import MediaError, display_name
from media.ingest import IngestOutcome, file_clip_file, ingest_all
from media.library import (
    atomic_output,
    free_name,
    replace_keeping_old,
    set_aside,
    write_text_atomically,
)
from media.probe import probe
from media.sidecar import SidecarError, read_sidecar
from pipeline.context import Context
from pipeline.plan import (
    CORRECTION_SUFFIXES,
    align_options,
    clip_files_for_known_footage,
    correction_file,
    key_for,
    late_sidecars,
    late_subtitle_files,
    new_files,
    orphans,
    reading_rules,
    spoken_key,
    subtitles_key,
    transcribe_options,
    translated_key,
    translation_file,
)
from pipeline.progress import report
from pipeline.safeguarding import apply_consent
from subtitles.align import align, is_spread
from subtitles.corrections import CorrectionFileError, read_corrections
from subtitles.engines import transcribe
from subtitles.formats import write_srt, write_vtt
from subtitles.layout import check_rules, layout_cues
from subtitles.models import Segment, Task, Transcript
from subtitles.redact import redact_words
from subtitles.translate import (
    TranslationError,
    import_translation,
    timed_words,
    translate_segments,
)
from subtitles.translate_google import (
    GoogleTranslator,
    google_translator,
    service_account_credentials,
)
from subtitles.weights import resolve_model

log = logging.getLogger(__name__)


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


def ingest_inbox(ctx: Context) -> list[IngestResult]:
    """File everything new in the inbox, recording each file as it is filed; then clips files
    and sidecars dropped later for known footage."""
    settings = ctx.settings.ingest
    results = [recover(ctx, sha, original) for sha, original in orphans(ctx)]
    ingest_all(
        new_files(ctx, settings.settle_seconds),
        ctx.dirs,
        ctx.catalog.is_known,
        round(settings.min_duration_seconds * 1000),
        round(settings.max_duration_hours * 3_600_000),
        on_filed=lambda outcome: results.append(_record(ctx.catalog, outcome)),
    )
    for footage, path in clip_files_for_known_footage(ctx):
        assert footage.library_path is not None
        try:
            file_clip_file(path, footage.library_path.parent)
        except (MediaError, OSError) as exc:
            log.error("%s: clips file %s not filed (%s)", footage.source_name, path.name, exc)
            continue
        log.info("%s: new clips file %s", footage.source_name, path.name)
    results += [apply_late_sidecar(ctx, footage, path) for footage, path in late_sidecars(ctx)]
    results += [
        file_subtitles(ctx, footage, language, path)
        for footage, language, path in late_subtitle_files(ctx)
    ]
    return results


def file_subtitles(ctx: Context, footage: FootageRecord, language: str, path: Path) -> IngestResult:
    """A person's subtitles for known footage go into its library folder: a translation in
    another language (its track follows, timed to the spoken cues), or, in its own language,
    a corrected transcript (kept for the aligner)."""
    assert footage.library_path is not None
    name = display_name(path.relative_to(ctx.dirs.inbox).as_posix())
    kind = "correction" if language == footage.language else "translation"
    target = footage.library_path.parent / f"{kind}.{language}{path.suffix.lower()}"
    replace_keeping_old(path, target)
    detail = f"{name}: a {kind} in {language} filed"
    audit.record(ctx.catalog, audit.who(), "sidecar", detail, footage_id=footage.id)
    log.info("footage %d (%s): %s", footage.id, footage.source_name, detail)
    return IngestResult(footage_id=footage.id, kind=kind, source_name=name, reason=detail)


def recover(ctx: Context, sha256: str, original: Path) -> IngestResult:
    """An original in the library with no catalog row (a run stopped between filing it and
    recording it, before each file was recorded as it was filed): recorded now, so nothing in
    the library is unaccounted for. Its sidecar is the one kept beside it, if it reads."""
    try:
        info = probe(original)
    except MediaError as exc:
        info = None
        log.error("library %s: %s", original, exc)
    sidecar = Sidecar()
    kept = original.parent / "sidecar.yaml"
    if kept.is_file():
        try:
            sidecar = read_sidecar(kept)
        except SidecarError as exc:
            log.error("library %s: its sidecar does not read (%s); consent internal", kept, exc)
    name = f"recovered {sha256[:12]}{original.suffix}"
    footage_id = ctx.catalog.record_footage(
        NewFootage(
            sha256=sha256,
            source_name=name,
            status="ingested" if info else "failed",
            path=original,
            error="" if info else "recovered from the library but it does not read",
            library_path=original,
            media_info=info,
            sidecar=sidecar,
        )
    )
    reason = "found in the library without a catalog entry; recorded (its name is lost)"
    log.warning("%s: %s", name, reason)
    return IngestResult(footage_id=footage_id, kind="recovered", source_name=name, reason=reason)


def apply_late_sidecar(
    ctx: Context, footage: FootageRecord, path: Path, by: str | None = None
) -> IngestResult:
    """A sidecar dropped later for known footage replaces its sidecar (the old one is kept in
    the library, dated), and what it changes is acted on at once (a lower consent takes clips
    down). A sidecar with a mistake goes to rejected/ with the reason; nothing is ignored."""
    name = display_name(path.relative_to(ctx.dirs.inbox).as_posix())
    try:
        sidecar = read_sidecar(path)
    except SidecarError as exc:
        reason = f"{exc}; footage {footage.id} keeps its sidecar. Fix it and drop it again"
        _reject(path, ctx.dirs.rejected, name, reason)
        return IngestResult(footage_id=footage.id, kind="rejected", source_name=name, reason=reason)
    assert footage.library_path is not None
    before = footage.sidecar
    ctx.catalog.set_sidecar(footage.id, sidecar)
    replace_keeping_old(path, footage.library_path.parent / "sidecar.yaml")
    changes = [
        f"{field} changed"
        for field in type(sidecar).model_fields
        if getattr(before, field) != getattr(sidecar, field)
    ]
    detail = f"sidecar {name} applied: {', '.join(changes) or 'nothing changed'}"
    who = by or audit.who()
    audit.record(ctx.catalog, who, "sidecar", detail, footage_id=footage.id)
    outcome = apply_consent(ctx, footage.id, who)
    said = "; ".join([detail, *outcome.taken_down, *outcome.problems])
    log.warning("footage %d (%s): %s", footage.id, footage.source_name, said)
    return IngestResult(footage_id=footage.id, kind="sidecar", source_name=name, reason=said)


def _record(catalog: Catalog, outcome: IngestOutcome) -> IngestResult:
    reason = outcome.reason
    if outcome.kind == "duplicate":
        reason = f"{reason} (footage {catalog.library_footage_id(outcome.sha256)})"
    accepted = outcome.kind == "accepted"
    status: FootageStatus = "ingested" if outcome.kind == "accepted" else outcome.kind
    footage_id = catalog.record_footage(
        NewFootage(
            sha256=outcome.sha256,
            source_name=outcome.source_name,
            status=status,
            path=Path(display_name(outcome.path)),
            error=reason,
            fingerprint=outcome.fingerprint,
            library_path=outcome.path if accepted else None,
            media_info=outcome.info,
            sidecar=outcome.sidecar if accepted else None,
        )
    )
    return IngestResult(
        footage_id=footage_id, kind=outcome.kind, source_name=outcome.source_name, reason=reason
    )


def _reject(path: Path, folder: Path, name: str, reason: str) -> None:
    """Move a file staff dropped to `folder`, with a `.reason.txt` saying why and what to do."""
    target = set_aside(path, free_name(folder, display_name(path.name)))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"file: {name}\nrejected: {stamp}\nreason: {reason}\n"
    write_text_atomically(target.with_name(target.name + ".reason.txt"), text)


# transcription and subtitles


def transcribe_footage(ctx: Context, footage_id: int, task: Task) -> TranscriptRecord:
    """Transcribe (or translate) one footage, unless the same options already did."""
    footage = ctx.catalog.footage(footage_id)
    options = transcribe_options(ctx.settings, footage, task)
    key = key_for(ctx.settings, footage, task)
    done = ctx.catalog.transcript(footage_id, key)
    if done is not None and done.path.is_file():
        return done
    assert footage.library_path is not None
    model = resolve_model(options.model, options.engine, ctx.settings.model_cache)
    label = f"{task} {footage.source_name}"
    started = time.monotonic()
    audio = decode_audio(footage.library_path)
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
        path=path,
        seconds=round(seconds, 3),
    )


def read_transcript(record: TranscriptRecord) -> Transcript:
    return Transcript.model_validate_json(record.path.read_text(encoding="utf-8"))


def make_subtitles(ctx: Context, transcript: TranscriptRecord) -> SubtitleResult:
    """The transcript's SRT and WebVTT, laid out under the reading rules of its language."""
    footage = ctx.catalog.footage(transcript.footage_id)
    rules = reading_rules(ctx.settings, footage, transcript.language)
    words = redact_words(read_transcript(transcript).words, footage.sidecar.redact)
    cues = layout_cues(words, rules)
    violations = tuple(check_rules(cues, rules))
    for problem in violations:
        log.warning("%s (%s): %s", footage.source_name, transcript.language, problem)
    key = subtitles_key(ctx.settings, footage, transcript.language)
    folder = ctx.settings.workspace / "subtitles" / footage.sha256[:12]
    stem = f"{Path(footage.source_name).stem}.{transcript.language}.{key[:8]}"
    files = SubtitleFiles(srt=folder / f"{stem}.srt", vtt=folder / f"{stem}.vtt")
    folder.mkdir(parents=True, exist_ok=True)
    write_srt(cues, files.srt)
    write_vtt(cues, files.vtt)
    ctx.catalog.add_subtitles(
        transcript, key, files, cues=len(cues), rule_violations=len(violations)
    )
    return SubtitleResult(
        language=transcript.language,
        srt=str(files.srt),
        vtt=str(files.vtt),
        cues=len(cues),
        violations=violations,
    )


def _transcript_path(ctx: Context, footage: FootageRecord, task: Task, key: str) -> Path:
    folder = ctx.settings.workspace / "transcripts" / footage.sha256[:12]
    return folder / f"{task}.{key[:12]}.json"


# translations


def translate_footage(ctx: Context, footage_id: int, target: str) -> TranscriptRecord:
    """The footage's track in `target`: a person's translation file when there is one (timed
    to the spoken track's cues), else the configured provider's translation of the spoken
    track's redacted cues. Either all of it or nothing: a failing provider raises and records no
    track, and the next run tries again."""
    footage = ctx.catalog.footage(footage_id)
    key = translated_key(ctx.settings, footage, target)
    done = ctx.catalog.transcript(footage_id, key)
    if done is not None and done.path.is_file():
        return done
    spoken = ctx.catalog.transcript(footage_id, spoken_key(ctx.settings, footage))
    if spoken is None or not spoken.path.is_file():
        raise TranslationError(f"{footage.source_name}: no transcript to translate yet")
    source = read_transcript(spoken)
    # The spoken track's cues, as its subtitles show them; what is made of them is laid out
    # under the target's rules when its subtitles are made.
    rules = reading_rules(ctx.settings, footage, footage.language)
    cues = layout_cues(redact_words(source.words, footage.sidecar.redact), rules)
    started = time.monotonic()
    made_by = translation_file(footage, target)
    if made_by is not None:
        imported = import_translation(made_by, cues, reading_rules(ctx.settings, footage, target))
        segments = tuple(
            Segment(
                start_ms=cue.start_ms,
                end_ms=cue.end_ms,
                text=cue.text,
                words=timed_words(cue.text, [cue]),
            )
            for cue in imported
        )
        engine, model = IMPORTED, made_by.name
    else:
        translator = _translator(ctx)
        try:
            segments = translate_segments(cues, translator, source.spoken_language, target)
        finally:
            translator.close()
        engine, model = translator.name, ctx.settings.translation.provider
    transcript = Transcript(
        language=target,
        spoken_language=source.spoken_language,
        decode_language=None,
        task="translate",
        engine=engine,
        model=model,
        duration_ms=source.duration_ms,
        segments=segments,
    )
    path = _transcript_path(ctx, footage, "translate", key)
    write_text_atomically(path, transcript.model_dump_json(indent=1))
    log.info("%s: %s track by %s", footage.source_name, target, engine)
    return ctx.catalog.add_transcript(
        footage_id,
        key,
        task="translate",
        language=target,
        engine=engine,
        model=model,
        path=path,
        seconds=round(time.monotonic() - started, 3),
    )


def _translator(ctx: Context) -> GoogleTranslator:
    return translator_for(ctx.settings)


def translator_for(settings: Settings) -> GoogleTranslator:
    """The configured translation provider's client (close it when done)."""
    t = settings.translation
    if t.provider != "google":
        raise TranslationError(f"translation.provider is {t.provider!r}: no machine translation")
    key = t.api_key.get_secret_value()
    credentials = None
    account = t.credentials_file or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "")
    if not key and account:
        credentials = service_account_credentials(Path(account).expanduser())
    return google_translator(key, api_endpoint=t.api_endpoint or None, credentials=credentials)


# corrections


def align_correction(ctx: Context, footage_id: int) -> TranscriptRecord:
    """A person's corrected text put back on the audio word by word with the same Whisper model
    (forced alignment), kept beside the machine transcript and used instead of it from now on.
    Words the aligner cannot place are spread over their cue, and said so."""
    footage = ctx.catalog.footage(footage_id)
    path = correction_file(footage)
    if path is None or footage.library_path is None:
        raise CorrectionFileError(Path("correction"), None, f"footage {footage_id} has none")
    key = spoken_key(ctx.settings, footage)
    done = ctx.catalog.transcript(footage_id, key)
    if done is not None and done.path.is_file():
        return done
    options = align_options(ctx.settings, footage)
    model = resolve_model(options.model, "faster-whisper", ctx.settings.model_cache)
    started = time.monotonic()
    transcript = align(
        decode_audio(footage.library_path),
        read_corrections(path),
        options.model_copy(update={"model": model}),
    )
    spread = sum(1 for word in transcript.words if is_spread(word))
    if spread:
        log.warning(
            "%s: %d corrected words could not be placed on the audio and were spread over "
            "their cue",
            footage.source_name,
            spread,
        )
    target = _transcript_path(ctx, footage, "transcribe", key).with_name(
        f"corrected.{key[:12]}.json"
    )
    write_text_atomically(target, transcript.model_dump_json(indent=1))
    return ctx.catalog.add_transcript(
        footage_id,
        key,
        task="transcribe",
        language=transcript.language,
        engine=ALIGNED,
        model=options.model_label,
        path=target,
        seconds=round(time.monotonic() - started, 3),
    )


def file_correction(ctx: Context, footage_id: int, source: Path, by: str) -> Path:
    """`voices correct`: a corrected text (SRT, WebVTT or plain text) for a footage, checked
    and kept in its library folder; the next run aligns it and redoes what follows from it."""
    footage = ctx.catalog.footage(footage_id)
    if footage.library_path is None or footage.language is None:
        raise CorrectionFileError(
            source, None, f"footage {footage_id} has no transcript yet; run voices run first"
        )
    suffix = source.suffix.lower()
    if suffix not in CORRECTION_SUFFIXES:
        raise CorrectionFileError(source, None, "give an .srt, a .vtt or a .txt file")
    read_corrections(source)  # a mistake is found now, with its line, not in a run
    target = footage.library_path.parent / f"correction.{footage.language}{suffix}"
    for old in footage.library_path.parent.glob(f"correction.{footage.language}.*"):
        if old != target:
            old.unlink()
    with atomic_output(target) as partial:
        shutil.copyfile(source, partial)
    audit.record(
        ctx.catalog,
        by,
        "sidecar",
        f"corrected transcript {source.name} filed",
        footage_id=footage_id,
    )
    return target
