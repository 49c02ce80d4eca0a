"""The processing flow: ingest the inbox, then transcribe, translate and subtitle new footage.

Tasks are thin: each calls one function of `pipeline.footage`. One footage failing never stops the
others; it is marked failed with its reason and retried on the next run.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from catalog.store import ClipRecord, FootageRecord, TranscriptRecord
from config import load_settings
from flows.locks import Busy, exclusive, skipped
from pipeline import clips as clip_steps
from pipeline import footage as steps
from pipeline import plan as work
from pipeline.footage import Context, IngestResult, SubtitleResult
from subtitles.errors import TransientTranscriptionError
from subtitles.models import Task


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
    return steps.ingest_inbox(ctx)


@task(
    name="transcribe",
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=10,
    retry_condition_fn=_transient,
)
def transcribe_task(ctx: Context, footage_id: int, whisper_task: Task) -> TranscriptRecord:
    return steps.transcribe_footage(ctx, footage_id, whisper_task)


@task(name="subtitles", cache_policy=NO_CACHE)
def subtitle_task(ctx: Context, transcript: TranscriptRecord) -> SubtitleResult:
    return steps.make_subtitles(ctx, transcript)


@task(name="select clips", cache_policy=NO_CACHE)
def select_clips_task(ctx: Context, footage_id: int) -> list[str]:
    return clip_steps.select_clips(ctx, footage_id)


@task(name="render clip", cache_policy=NO_CACHE)
def render_task(ctx: Context, clip_id: int) -> ClipRecord:
    return clip_steps.render_outputs(ctx, clip_id)


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
    return summary


def _process_all(ctx: Context) -> RunSummary:
    try:
        ingested = ingest_task(ctx)
        results = tuple(_process_one(ctx, f) for f in work.footage_to_process(ctx))
    finally:
        ctx.catalog.close()
    return RunSummary(ingested=tuple(ingested), footage=results)


def _process_one(ctx: Context, footage: FootageRecord) -> FootageResult:
    logger = get_run_logger()
    try:
        made = [subtitle_task(ctx, transcribe_task(ctx, footage.id, "transcribe"))]
        footage = ctx.catalog.footage(footage.id)
        if steps.wants_translation(ctx.settings, footage):
            made.append(subtitle_task(ctx, transcribe_task(ctx, footage.id, "translate")))
        problems = select_clips_task(ctx, footage.id)
        clips = tuple(render_task(ctx, c.id) for c in clip_steps.clips_to_render(ctx, footage))
    except Exception as exc:  # one footage's failure must not stop the others
        logger.error("%s failed: %s", footage.source_name, exc)
        ctx.catalog.set_status(footage.id, "failed", error=str(exc))
        return FootageResult(
            footage_id=footage.id, source_name=footage.source_name, status="failed", error=str(exc)
        )
    note = "; ".join(problems)
    ctx.catalog.set_status(footage.id, "processed", error=note)
    return FootageResult(
        footage_id=footage.id,
        source_name=footage.source_name,
        status="processed",
        language=footage.language,
        error=note,
        subtitles=tuple(made),
        clips=tuple(ClipResult(clip_id=c.id, title=c.title, error=c.error) for c in clips),
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
