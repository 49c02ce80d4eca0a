"""The publishing flow, and the review flow that waits for a person's decision in Prefect's UI.

`publish_flow` publishes every approved, due clip once per channel. A quota or authorisation
error stops that channel for the run (the rest go on); any other channel error fails that one
publication, which the ledger records and the next run takes up again.

Never twice, in three layers: one run at a time per workspace (a lock file), one at a time per
Prefect API (the global concurrency limit `voices-publish`, for machines that share no
filesystem lock), and under both, the ledger's compare-and-set before every remote call
(`catalog.ledger.mark_uploading`): of two publishers that read the same row, one posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.settings import get_current_settings
from pydantic import BaseModel, ConfigDict, Field

from catalog.ledger import clip_ids, decide, in_zone
from catalog.models import PublicationRecord
from channels.errors import AuthError, ChannelError, QuotaExceededError
from config import Settings
from flows.common import run_settings
from flows.locks import Busy, exclusive, failed, skipped
from pipeline import publishing, safeguarding
from pipeline.context import Context
from pipeline.notify import notify, quiet_for
from pipeline.publishing import Target

# Prefect's global concurrency limit that keeps publishing runs on different machines apart;
# an operator creates it once: `prefect gcl create voices-publish --limit 1`.
PUBLISH_LIMIT = "voices-publish"
# How long a run that found the slot free waits for it (another may take it first).
PUBLISH_LIMIT_WAIT_S = 5.0


class PublishSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    published: tuple[PublicationRecord, ...] = ()
    taken_down: tuple[str, ...] = ()
    # Caption tracks of clips already up, replaced after a correction.
    captions: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    note: str = ""
    # True when another run held the work and this one did nothing.
    skipped: bool = False


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(ctx: Context, clip_id: int, target: Target) -> PublicationRecord | None:
    """No retries here: each channel retries transient faults itself, with backoff, and the
    next run resumes from the ledger; a second layer would multiply uploads."""
    return publishing.publish_clip(ctx, clip_id, target)


@flow(name="voices-publish")
def publish_flow(workspace: str, config_file: str | None = None) -> PublishSummary:
    """Publish every approved clip that is due, once per channel."""
    logger = get_run_logger()
    settings = run_settings(workspace, config_file)
    try:
        with one_publisher(settings.workspace):
            summary = _publish_all(Context.open(settings), settings)
    except Busy as exc:  # two publishers at once could both post the same clip
        logger.warning(str(exc))
        return skipped(PublishSummary(note=str(exc), skipped=True), str(exc))
    for line in [*summary.problems, *summary.failed]:
        logger.error(line)
    create_markdown_artifact(
        markdown=summary_markdown(summary),
        key="voices-publish-summary",
        description="What this run published, with links",
    )
    problems = [*summary.problems, *summary.failed]
    if not problems:
        return summary
    notify(settings, f"voices: {len(problems)} problem(s) in a publishing run", problems)
    return failed(summary, problems)


@contextmanager
def one_publisher(workspace: Path) -> Iterator[None]:
    """Hold the publishing work for this run, or raise Busy.

    The lock file keeps runs on one machine (or on one shared workspace) apart. Machines with
    no lock in common share a Prefect API, so a run there also takes the slot of PUBLISH_LIMIT,
    for the whole run rather than per channel: takedowns and caption refreshes must not run
    twice either, and a run that reads a row another run is uploading takes it for an upload a
    crash cut short (the ledger cannot tell the two apart).

    Without a configured API (`voices publish` on Prefect's embedded one, which only this
    process uses) there is no other machine to keep apart: the limit is not asked for, which
    would cost a request and Prefect's warning that it does not exist.
    """
    with exclusive(workspace, "publish"), ExitStack() as held:
        if get_current_settings().api.url:
            _take_publish_slot(held)
        yield


def _take_publish_slot(held: ExitStack) -> None:
    """The slot of PUBLISH_LIMIT, held until `held` closes. A run that finds it taken steps
    aside at once, as from a held lock file: Prefect would wait, and log an error when the
    wait times out. A limit nobody created is not waited for (Prefect, `strict=False`, would
    skip it too; it never creates one): said, with the fix, and publishing goes on under the
    ledger's compare-and-set, which still keeps two runs that read a clip at the same moment
    from both posting it."""
    busy = f"another publishing run holds Prefect's '{PUBLISH_LIMIT}' limit; try again later"
    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(PUBLISH_LIMIT)
        except ObjectNotFound:
            get_run_logger().info(
                "Prefect has no concurrency limit '%s': publishing runs on other machines "
                "are not kept apart; create it with `prefect gcl create %s --limit 1`",
                PUBLISH_LIMIT,
                PUBLISH_LIMIT,
            )
            return
    if limit.active and limit.active_slots >= limit.limit:
        raise Busy(busy)
    try:
        held.enter_context(
            concurrency(PUBLISH_LIMIT, occupy=1, timeout_seconds=PUBLISH_LIMIT_WAIT_S)
        )
    except TimeoutError as exc:  # taken between the look and the request
        raise Busy(busy) from exc


@task(name="take down", cache_policy=NO_CACHE)
def takedown_task(ctx: Context, targets: list[Target]) -> tuple[list[str], list[str]]:
    """Takedowns first: consent withdrawn outranks anything waiting to go out."""
    return safeguarding.take_down_due(ctx, targets)


@task(name="refresh captions", cache_policy=NO_CACHE)
def captions_task(ctx: Context, targets: list[Target]) -> tuple[list[str], list[str]]:
    """Corrections made after publishing reach the videos' caption tracks."""
    return publishing.refresh_captions(ctx, targets)


def _publish_all(ctx: Context, settings: Settings) -> PublishSummary:
    targets, problems = publishing.build_targets(settings)
    published, stopped = [], set()
    try:
        taken_down, failed = takedown_task(ctx, targets)
        for clip_id, target in publishing.due(ctx, targets, datetime.now(UTC)):
            if target.channel.name in stopped:
                continue
            try:
                record = publish_task(ctx, clip_id, target)
                if record is None:  # another publisher's, reported by its own run
                    continue
                published.append(record)
                if record.status == "unconfirmed":
                    failed.append(f"clip {clip_id} on {record.channel}: {record.error}")
            except (QuotaExceededError, AuthError) as exc:  # the rest would fail the same way
                stopped.add(target.channel.name)
                failed.append(f"{target.channel.name}: {exc} (stopped for this run)")
            except ChannelError as exc:
                failed.append(f"clip {clip_id} on {target.channel.name}: {exc}")
        live = [t for t in targets if t.channel.name not in stopped]
        captions, caption_failures = captions_task(ctx, live)
        failed += caption_failures
    finally:
        publishing.close_targets(targets)
        ctx.close()
    return PublishSummary(
        published=tuple(published),
        taken_down=tuple(taken_down),
        captions=tuple(captions),
        failed=tuple(failed),
        problems=tuple(problems),
    )


def summary_markdown(summary: PublishSummary) -> str:
    lines = ["# voices: publishing run", ""]
    for p in summary.published:
        link = f"[{p.remote_id}]({p.url})" if p.url else str(p.remote_id or "")
        lines.append(f"- clip {p.clip_id} on {p.channel}: {p.status} {link} {p.error}".rstrip())
    lines += [f"- taken down: {line}" for line in summary.taken_down]
    lines += [f"- {line}" for line in summary.captions]
    lines += [f"- {line}" for line in (*summary.failed, *summary.problems)]
    if len(lines) == 2:
        lines.append("Nothing was due.")
    return "\n".join(lines)


class Review(RunInput):
    """A person's decision, entered in Prefect's UI when the review run pauses."""

    approve: list[int] = Field(default_factory=list)
    reject: list[int] = Field(default_factory=list)
    publish_at: datetime | None = None
    by: str = Field(default="", description="Your name, for the audit log.")


@flow(name="voices-review")
def review_flow(workspace: str, timeout_hours: float = 72.0) -> dict[str, list[int]]:
    """List the clips waiting for a decision, then pause until a person approves or rejects
    them from the Prefect UI (or `voices approve` elsewhere)."""
    settings = run_settings(workspace)
    ctx = Context.open(settings)
    try:
        waiting = [ctx.catalog.clip(i) for i in clip_ids(ctx.catalog)]
        create_markdown_artifact(
            key="voices-review",
            markdown="\n".join(
                ["# Clips waiting for a decision", ""]
                + [
                    f"- **{c.id}** {c.title} ({(c.end_ms - c.start_ms) / 1000:.0f} s)"
                    for c in waiting
                ]
            ),
        )
        decision = pause_flow_run(
            wait_for_input=Review, timeout=int(timeout_hours * 3600), poll_interval=2
        )
        at = decision.publish_at
        when = in_zone(at, settings.schedule.timezone) if at else None
        by = decision.by.strip() or "someone in the Prefect UI"
        approved = decide(ctx.catalog, decision.approve, "approved", by, when)
        rejected = decide(ctx.catalog, decision.reject, "rejected", by)
    finally:
        ctx.close()
    return {"approved": approved, "rejected": rejected}


@flow(name="voices-check")
def check_flow(workspace: str, config_file: str | None = None) -> list[str]:
    """Check every enabled channel (tokens expire: a consent screen left in Testing mode makes
    YouTube refresh tokens die after 7 days). Fails, visibly in the UI, when one is unusable."""
    settings = run_settings(workspace, config_file)
    reached, problems = publishing.check_targets(settings)
    ctx = Context.open(settings)
    try:
        quiet = quiet_for(ctx)
    finally:
        ctx.close()
    if problems or quiet:
        notify(settings, "voices: publishing needs a look", [*problems, *filter(None, [quiet])])
    if problems:
        raise RuntimeError("; ".join(problems))
    return reached
