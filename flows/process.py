"""The processing flow: ingest the inbox, then transcribe, translate and subtitle new footage.

Tasks are thin: each calls one function of `pipeline/`. The run's work comes from one plan
(`pipeline.plan`), computed after the inbox is filed. One footage failing never stops the
others; it is marked failed with its reason and retried on the next run.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from catalog.models import ClipRecord, FootageRecord, TranscriptRecord
from config import load_settings
from flows.locks import Busy, exclusive, failed, skipped
from pipeline import clips, footage
from pipeline.context import Context
from pipeline.footage import IngestResult, SubtitleResult
from pipeline.notify import notify
from pipeline.plan import (
    MAX_ATTEMPTS,
    FootageWork,
    clips_to_render,
    correction_file,
    make_plan,
    tracks,
)
from subtitles.errors import TransientTranscriptionError
from subtitles.models import Task
from subtitles.translate import TranslationError


class ClipResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    clip_id: int
    title: str
    error: str = ""


class FootageResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    footage_id: int
    source_name: str
    status: str
    language: str | None = None
    error: str = ""
    subtitles: tuple[SubtitleResult, ...] = ()
    clips: tuple[ClipResult, ...] = ()


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    ingested: tuple[IngestResult, ...] = ()
    footage: tuple[FootageResult, ...] = ()
    note: str = ""
    # True when another run held the work and this one did nothing.
    skipped: bool = False


def _transient(_task: object, _run: object, state: object) -> bool:
    try:
        state.result()  # type: ignore[attr-defined]
    except TransientTranscriptionError:
        return True
    except Exception:  # anything else is permanent: a person must act
        return False
    return False


@task(name="ingest", cache_policy=NO_CACHE)
def ingest_task(ctx: Context) -> list[IngestResult]:
    return footage.ingest_inbox(ctx)


@task(
    name="transcribe",
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=10,
    retry_condition_fn=_transient,
)
def transcribe_task(ctx: Context, footage_id: int, whisper_task: Task) -> TranscriptRecord:
    return footage.transcribe_footage(ctx, footage_id, whisper_task)


@task(name="align correction", cache_policy=NO_CACHE)
def align_task(ctx: Context, footage_id: int) -> TranscriptRecord:
    return footage.align_correction(ctx, footage_id)


@task(name="translate", cache_policy=NO_CACHE)
def translate_task(ctx: Context, footage_id: int, target: str) -> TranscriptRecord:
    """No retries here: the translator retries what is transient itself; the next run does the
    rest (a track is recorded whole or not at all)."""
    return footage.translate_footage(ctx, footage_id, target)


@task(name="subtitles", cache_policy=NO_CACHE)
def subtitle_task(ctx: Context, transcript: TranscriptRecord) -> SubtitleResult:
    return footage.make_subtitles(ctx, transcript)


@task(name="select clips", cache_policy=NO_CACHE)
def select_clips_task(ctx: Context, footage_id: int) -> list[str]:
    return clips.select_clips(ctx, footage_id)


@task(name="render clip", cache_policy=NO_CACHE)
def render_task(ctx: Context, clip_id: int) -> ClipRecord:
    return clips.render_outputs(ctx, clip_id)


@flow(name="voices-process")
def process_flow(workspace: str, config_file: str | None = None) -> RunSummary:
    """Ingest everything new in the inbox and bring all footage up to date with the settings."""
    settings = load_settings(Path(workspace), Path(config_file) if config_file else None)
    try:
        with exclusive(settings.workspace, "process"):
            summary = _process_all(Context.open(settings))
    except Busy as exc:
        get_run_logger().warning(str(exc))
        return skipped(RunSummary(note=str(exc), skipped=True), str(exc))
    create_markdown_artifact(
        markdown=summary_markdown(summary),
        key="voices-process-summary",
        description="What this run ingested and processed",
    )
    problems = failures(summary)
    if not problems:
        return summary
    notify(settings, f"voices: {len(problems)} problem(s) in a processing run", problems)
    return failed(summary, problems)


def failures(summary: RunSummary) -> list[str]:
    """What failed in a run, each with its footage and what to do."""
    found = [f"{f.source_name}: {f.error}" for f in summary.footage if f.status == "failed"]
    found += [
        f"{f.source_name}, clip {c.clip_id}: {c.error}"
        for f in summary.footage
        for c in f.clips
        if c.error
    ]
    return found


def _process_all(ctx: Context) -> RunSummary:
    try:
        ingested = ingest_task(ctx)
        plan = make_plan(ctx)
        results = tuple(_process_one(ctx, work) for work in plan.footage)
    finally:
        ctx.close()
    return RunSummary(ingested=tuple(ingested), footage=results)


def _process_one(ctx: Context, work: FootageWork) -> FootageResult:
    logger = get_run_logger()
    record = work.footage
    if work.problem:
        return _failed(ctx, record, work.problem)
    attempts = ctx.catalog.start_attempt(record.id)
    if attempts >= MAX_ATTEMPTS:
        problem = (
            f"{attempts - 1} runs stopped on this footage before finishing (perhaps out of "
            f"memory: check its length); it waits: `voices retry {record.id}` tries again"
        )
        logger.error("%s: %s", record.source_name, problem)
        ctx.catalog.mark_footage(record.id, "failed", problem)
        return FootageResult(
            footage_id=record.id, source_name=record.source_name, status="failed", error=problem
        )
    try:
        return _work_on(ctx, work)
    finally:
        ctx.catalog.finish_attempt(record.id)


def _failed(ctx: Context, record: FootageRecord, problem: str) -> FootageResult:
    get_run_logger().error("%s failed: %s", record.source_name, problem)
    ctx.catalog.mark_footage(record.id, "failed", problem)
    return FootageResult(
        footage_id=record.id, source_name=record.source_name, status="failed", error=problem
    )


def _work_on(ctx: Context, work: FootageWork) -> FootageResult:
    record = work.footage
    due = set(work.transcripts) | set(work.subtitles)
    try:
        made = []
        if "transcribe" in due:
            spoken = transcribe_task(ctx, record.id, "transcribe")
            if correction_file(ctx.catalog.footage(record.id)) is not None:
                spoken = align_task(ctx, record.id)  # a person's words, put on the audio
            made.append(subtitle_task(ctx, spoken))
        record = ctx.catalog.footage(record.id)  # transcription may have found the language
        fresh = "transcribe" in work.transcripts
        problems: list[str] = []
        for track in tracks(ctx.settings, record)[1:]:
            if track.kind == "gist" and ("translate" in due or fresh):
                made.append(subtitle_task(ctx, transcribe_task(ctx, record.id, "translate")))
            elif track.kind == "translation" and (track.language in work.translations or fresh):
                try:
                    made.append(subtitle_task(ctx, translate_task(ctx, record.id, track.language)))
                except TranslationError as exc:  # the rest goes on; the next run tries again
                    problems.append(f"no {track.language} track yet: {exc}")
        problems += select_clips_task(ctx, record.id) if work.select or fresh else []
        rendered = tuple(render_task(ctx, c.id) for c in clips_to_render(ctx, record))
    except Exception as exc:  # one footage's failure must not stop the others
        return _failed(ctx, record, str(exc))
    note = "; ".join(problems)
    ctx.catalog.mark_footage(record.id, "processed", note)
    return FootageResult(
        footage_id=record.id,
        source_name=record.source_name,
        status="processed",
        language=record.language,
        error=note,
        subtitles=tuple(made),
        clips=tuple(ClipResult(clip_id=c.id, title=c.title, error=c.error) for c in rendered),
    )


def summary_markdown(summary: RunSummary) -> str:
    lines = ["# voices: processing run", ""]
    for item in summary.ingested:
        lines.append(f"- {item.kind}: `{item.source_name}` {item.reason}".rstrip())
    lines.append("")
    for result in summary.footage:
        tracks = ", ".join(f"{s.language} ({s.cues} cues)" for s in result.subtitles)
        detail = result.error or tracks
        lines.append(
            f"- footage {result.footage_id} `{result.source_name}`: {result.status} {detail}"
        )
        for clip in result.clips:
            lines.append(f"  - clip {clip.clip_id} {clip.title!r} {clip.error}".rstrip())
    if not summary.ingested and not summary.footage:
        lines.append("Nothing new.")
    return "\n".join(lines)
