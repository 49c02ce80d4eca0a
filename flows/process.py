"""The processing flow: ingest the inbox, then transcribe, translate and subtitle new footage.

Tasks are thin: each calls one function of `pipeline/`. The run's work comes from one plan
(`pipeline.plan`), computed after the inbox is filed. One footage failing never stops the
others; it is marked failed with its reason and retried on the next run.

Work is shared by leases in the catalog (`catalog.leases`), not by a lock on the workspace: the
inbox is filed by one run at a time, and each footage is worked on by the one run that leased
it. Two runs at once (a person's and a scheduled one, or many workers of a cluster) split the
footage between them; a worker that dies leaves its footage to others once its lease lapses.
In a cluster, `process_flow(dispatch=True)` turns each footage into a run of `footage_flow`
for any free worker.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from catalog import leases
from catalog.leases import INBOX, footage_lease
from catalog.models import ClipRecord, FootageRecord, TranscriptRecord
from config import Settings
from flows.common import run_settings
from flows.locks import failed, skipped
from pipeline import clips, footage
from pipeline.claims import Holding, worker_name
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
from pipeline.progress import listening
from subtitles.errors import TransientTranscriptionError
from subtitles.models import Task
from subtitles.translate import TranslationError

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

log = logging.getLogger(__name__)

# The deployments that process one footage, for a cluster's workers (`flows.deployments`):
# all of it, or only its transcription (on `cluster.transcribe_pool`).
FOOTAGE_DEPLOYMENT = "voices-footage/footage"
TRANSCRIBE_DEPLOYMENT = "voices-footage/transcribe"


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
    # Flow runs of the `footage` deployment this run created (a cluster), by id.
    dispatched: tuple[str, ...] = ()


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


class ProgressArtifacts:
    """Long steps' progress (`pipeline.progress`) as Prefect progress artifacts of the task run
    they happen in, one per step, updated every 5% (the run's Artifacts tab in the UI)."""

    STEP = 5.0

    def __init__(self) -> None:
        self.artifacts: dict[str, UUID] = {}
        self.shown: dict[str, float] = {}

    def __call__(self, label: str, fraction: float) -> None:
        from prefect.artifacts import create_progress_artifact, update_progress_artifact

        percent = round(min(max(fraction, 0.0), 1.0) * 100, 1)
        if label in self.shown and percent < 100 and percent - self.shown[label] < self.STEP:
            return
        try:
            if label not in self.artifacts:
                made = create_progress_artifact(percent, description=label)
                self.artifacts[label] = cast(UUID, made)
            else:
                update_progress_artifact(self.artifacts[label], percent, description=label)
        except Exception as exc:  # progress is for people to watch: never worth a failure
            log.warning("progress of %r not shown in Prefect: %s", label, exc)
        self.shown[label] = percent


@task(
    name="transcribe",
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=10,
    retry_condition_fn=_transient,
)
def transcribe_task(ctx: Context, footage_id: int, whisper_task: Task) -> TranscriptRecord:
    with listening(ProgressArtifacts()):
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
    with listening(ProgressArtifacts()):
        return clips.render_outputs(ctx, clip_id)


@flow(name="voices-process")
def process_flow(
    workspace: str, config_file: str | None = None, dispatch: bool = False, batch: str = ""
) -> RunSummary:
    """Ingest everything new in the inbox and bring all footage up to date with the settings.

    With `dispatch` (a cluster: `voices run` and the scheduled run), each footage that needs
    work becomes a run of the `footage` deployment, for whichever worker is free, tagged with
    `batch` when given; without it (one machine), this run does the work itself. Either way
    every footage is leased while worked on, so runs and workers never do the same one twice.
    """
    settings = run_settings(workspace, config_file)
    ctx = Context.open(settings)
    try:
        with Holding(ctx.catalog, settings.cluster.lease_seconds) as held:
            summary = _process_all(ctx, held, dispatch, batch)
    finally:
        ctx.close()
    if summary.skipped:
        get_run_logger().warning(summary.note)
        return skipped(summary, summary.note)
    return _finish(settings, summary)


@flow(name="voices-footage")
def footage_flow(
    workspace: str, footage_id: int, config_file: str | None = None, stage: str = "all"
) -> RunSummary:
    """Bring one footage up to date: the unit of work a cluster's workers share.

    `stage="transcribe"` (the `transcribe` deployment, on `cluster.transcribe_pool`: GPU
    workers) makes only what Whisper makes, then hands the rest (subtitles, translation, clips,
    renders) to the `footage` deployment, with this run's tags."""
    settings = run_settings(workspace, config_file)
    ctx = Context.open(settings)
    try:
        with Holding(ctx.catalog, settings.cluster.lease_seconds) as held:
            work = next((w for w in make_plan(ctx).footage if w.footage.id == footage_id), None)
            if work is None:
                summary = RunSummary(note=f"footage {footage_id} is up to date", skipped=True)
            else:
                summary = _claimed(ctx, held, [work], transcribe_only=stage == "transcribe")
    finally:
        ctx.close()
    if summary.skipped:
        get_run_logger().info(summary.note)
        return skipped(summary, summary.note)
    if stage == "transcribe" and not failures(summary):
        from prefect.runtime import flow_run

        name = summary.footage[0].source_name
        _start_footage_run(FOOTAGE_DEPLOYMENT, footage_id, name, list(flow_run.tags or []))
    return _finish(settings, summary)


def _finish(settings: Settings, summary: RunSummary) -> RunSummary:
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


def _process_all(ctx: Context, held: Holding, dispatch: bool, batch: str) -> RunSummary:
    notes = []
    if held.take(INBOX):
        try:
            ingested = ingest_task(ctx)
        finally:
            held.release(INBOX)
    else:  # another run files it now; what it files, it (or the next run) processes
        ingested = []
        notes.append("another run is filing the inbox")
    plan = make_plan(ctx)
    if dispatch:
        return _dispatch(ctx, plan.footage, batch, tuple(ingested), notes)
    summary = _claimed(ctx, held, list(plan.footage))
    notes += [summary.note] if summary.note else []
    # Did nothing because others held the work: the inbox, or every footage it would take.
    busy = not ingested and not summary.footage and bool(notes)
    return RunSummary(
        ingested=tuple(ingested), footage=summary.footage, note="; ".join(notes), skipped=busy
    )


def _claimed(
    ctx: Context, held: Holding, work: list[FootageWork], transcribe_only: bool = False
) -> RunSummary:
    """Process each footage this run can lease; leave the others to their holders."""
    results, taken = [], []
    for item in work:
        name = footage_lease(item.footage.id)
        if not held.take(name):
            taken.append(item.footage.source_name)
            continue
        try:
            results.append(_process_one(ctx, item, transcribe_only))
        finally:
            held.release(name)
    note = f"other runs are working on {', '.join(taken)}" if taken else ""
    return RunSummary(footage=tuple(results), note=note, skipped=bool(taken) and not results)


def _dispatch(
    ctx: Context,
    work: tuple[FootageWork, ...],
    batch: str,
    ingested: tuple[IngestResult, ...],
    notes: list[str],
) -> RunSummary:
    """A run of the `footage` deployment for each footage no worker holds now, or of the
    `transcribe` deployment first when it needs Whisper and a transcription pool is set."""
    busy = leases.live(ctx.catalog, "footage:")
    runs = []
    for item in work:
        if footage_lease(item.footage.id) in busy:
            notes.append(f"{item.footage.source_name} is being processed")
            continue
        whisper = ctx.settings.cluster.transcribe_pool and item.transcripts
        deployment = TRANSCRIBE_DEPLOYMENT if whisper else FOOTAGE_DEPLOYMENT
        tags = [batch] if batch else []
        runs.append(_start_footage_run(deployment, item.footage.id, item.footage.source_name, tags))
    return RunSummary(ingested=ingested, note="; ".join(notes), dispatched=tuple(runs))


def _start_footage_run(deployment: str, footage_id: int, name: str, tags: list[str]) -> str:
    """A run of `deployment` for one footage, for any free worker of its pool. Its workspace is
    left empty: each worker reads the shared one where its machine mounts it, with that
    workspace's settings files."""
    from prefect.deployments import run_deployment

    stage = "transcribe" if deployment == TRANSCRIBE_DEPLOYMENT else "all"
    run = run_deployment(
        deployment,
        parameters={"workspace": "", "footage_id": footage_id, "stage": stage},
        timeout=0,
        as_subflow=False,
        tags=tags or None,
        flow_run_name=f"{stage} {footage_id}: {name}"[:120],
    )
    return str(cast("FlowRun", run).id)


def _process_one(ctx: Context, work: FootageWork, transcribe_only: bool = False) -> FootageResult:
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
        return _transcribe(ctx, work) if transcribe_only else _work_on(ctx, work)
    finally:
        ctx.catalog.finish_attempt(record.id)


def _transcribe(ctx: Context, work: FootageWork) -> FootageResult:
    """Only what Whisper makes (the transcript, and the English gist where it is due); the
    `footage` run that follows does the rest."""
    record = work.footage
    try:
        if "transcribe" in work.transcripts:
            transcribe_task(ctx, record.id, "transcribe")
        record = ctx.catalog.footage(record.id)  # the language it found
        fresh = "transcribe" in work.transcripts
        gist = any(t.kind == "gist" for t in tracks(ctx.settings, record)[1:])
        if gist and ("translate" in work.transcripts or fresh):
            transcribe_task(ctx, record.id, "translate")
    except Exception as exc:  # as in _work_on: this footage fails, with its reason
        return _failed(ctx, record, str(exc))
    return FootageResult(
        footage_id=record.id,
        source_name=record.source_name,
        status=record.status,
        language=record.language,
    )


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
    ctx.catalog.mark_footage(record.id, "processed", note, by=worker_name())
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
