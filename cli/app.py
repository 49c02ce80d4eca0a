"""The `voices` command line."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli import publish as cli_publish
from cli import safeguarding as cli_safeguarding
from cli.cluster import cluster_app
from cli.common import (
    ConfigOpt,
    VerboseOpt,
    WorkspaceOpt,
    console,
    err,
    load,
    say_path,
    setup_logging,
)
from cli.portal import partners_app, portal
from cli.staff import staff_app, studio
from cli.translation import translation_app
from config import Settings
from flows.embedded import use_embedded_prefect

if TYPE_CHECKING:
    from pipeline.status import ClipReport, StatusReport

app = typer.Typer(
    help="voices: footage in, subtitled clips out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample"
_settings = load
_logging = setup_logging


@app.command()
def run(
    workspace: WorkspaceOpt = None, config: ConfigOpt = None, verbose: VerboseOpt = False
) -> None:
    """Process everything new in the inbox once, then exit."""
    _logging(verbose)
    settings = _settings(workspace, config)
    code = _run(settings, config)
    raise typer.Exit(code)


def _run(settings: Settings, config: Path | None) -> int:
    from pipeline.context import Context
    from pipeline.plan import make_plan

    ctx = Context.open(settings)
    try:
        busy = make_plan(ctx).has_work
    finally:
        ctx.close()
    if not busy:
        console.print(f"Nothing new in {settings.workspace / 'inbox'}; everything is up to date.")
        return 0
    if settings.cluster.api_url:
        return _run_on_cluster(settings, config)
    use_embedded_prefect(settings.workspace, settings.cluster.api_url)
    quiet = logging.getLogger().getEffectiveLevel() > logging.INFO
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING" if quiet else "INFO")
    from flows.locks import outcome
    from flows.process import process_flow

    with _progress_bar():
        state = process_flow(
            str(settings.workspace), str(config) if config else None, return_state=True
        )
        summary = outcome(state)
    _print_summary(summary)
    failed = any(f.status == "failed" or any(c.error for c in f.clips) for f in summary.footage)
    return 1 if failed else 0


def _run_on_cluster(settings: Settings, config: Path | None) -> int:
    """Hand the work to the cluster's workers and wait for it (`flows.handover`)."""
    from flows.handover import HandOverError, hand_over

    console.print(f"Handing the work to the cluster at {settings.cluster.api_url}")
    if config is not None:
        err.print(
            f"[yellow]{escape(str(config))} is not sent to the workers: they read the settings "
            "files in the workspace (voices.yaml, cluster.yaml)[/yellow]"
        )
    try:
        with Progress(*_COLUMNS, console=err) as progress:
            result = hand_over(settings, _Bars(progress))
    except HandOverError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        return 2
    for item in result.footage:
        by = f" by {escape(item.processed_by)}" if item.processed_by else ""
        again = f" (handed out {item.handed_out} times)" if item.handed_out > 1 else ""
        if item.status == "failed":
            console.print(f"[red]failed[/red] {escape(item.source_name)}: {escape(item.error)}")
        else:
            console.print(f"[green]{item.status}[/green] {escape(item.source_name)}{by}{again}")
    for line in result.failed_runs:
        console.print(f"[red]run failed[/red] {escape(line)}")
    if not result.footage:
        console.print(f"process run: {escape(result.coordinator)}")
    return 0 if result.ok else 1


_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    TextColumn("{task.percentage:>3.0f}%"),
    TimeElapsedColumn(),
)


class _Bars:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, label: str, fraction: float) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=1.0)
        self.progress.update(self.tasks[label], completed=fraction)


@contextmanager
def _progress_bar() -> Iterator[None]:
    from pipeline.progress import listening

    with Progress(*_COLUMNS, console=err) as progress, listening(_Bars(progress)):
        yield


def _print_summary(summary: Any) -> None:
    if summary.note:
        console.print(f"[yellow]{escape(summary.note)}[/yellow]")
    for item in summary.ingested:
        if item.kind != "accepted":
            console.print(
                f"[yellow]{item.kind}[/yellow] {escape(item.source_name)}: {escape(item.reason)}"
            )
    for result in summary.footage:
        if result.status == "failed":
            console.print(f"[red]failed[/red] {escape(result.source_name)}: {escape(result.error)}")
            continue
        console.print(f"[green]done[/green] {escape(result.source_name)} ({result.language})")
        for track in result.subtitles:
            say_path(f"    {track.language}:", Path(track.srt))
            for problem in track.violations:
                console.print(f"      [yellow]reading rule:[/yellow] {escape(problem)}")
        if result.error:
            console.print(f"    [yellow]note:[/yellow] {escape(result.error)}")
        for clip in result.clips:
            state = f"[red]failed[/red] {escape(clip.error)}" if clip.error else "rendered"
            console.print(f"    clip {clip.clip_id} {escape(repr(clip.title))}: {state}")


@app.command()
def status(
    workspace: WorkspaceOpt = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalog as JSON.")] = False,
) -> None:
    """Show every footage and what became of it."""
    from pipeline.context import open_catalog
    from pipeline.status import status_report

    settings = _settings(workspace, config)
    catalog = open_catalog(settings)
    try:
        report = status_report(catalog, settings)
    finally:
        catalog.close()
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        return
    _status_table(report, settings)


def _status_table(report: StatusReport, settings: Settings) -> None:
    table = Table(title=f"voices: {settings.workspace}")
    for column in ("id", "footage", "status", "lang", "duration", "subtitles", "clips", "note"):
        table.add_column(column)
    for f in report.footage:
        duration = f"{f.duration:.0f} s" if f.duration is not None else ""
        clips = ", ".join(f"{c.id} {c.status}" for c in f.clips)
        table.add_row(
            str(f.id),
            escape(f.source_name),
            f.status,
            f.language or "",
            duration,
            " ".join(sorted(f.subtitles)),
            clips,
            escape(f.error or ""),
        )
    console.print(table)
    if not report.footage:
        console.print(f"No footage yet. Drop files into {settings.workspace / 'inbox'}.")
    _clips_table([c for f in report.footage for c in f.clips])


def _clips_table(clips: list[ClipReport]) -> None:
    if not clips:
        return
    table = Table(title="clips")
    for column in ("clip", "span", "status", "title", "renders", "note"):
        table.add_column(column)
    for c in clips:
        span = f"{c.start:.1f}–{c.end:.1f} s"
        table.add_row(
            str(c.id), span, c.status, escape(c.title), " ".join(c.renders), escape(c.error or "")
        )
    console.print(table)


@app.command()
def edit(
    clip: Annotated[int, typer.Argument(help="Clip id (see voices status).")],
    title: Annotated[
        str | None, typer.Option(help="New title (YouTube: at most 100 characters).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    language: Annotated[
        str | None,
        typer.Option(help="Set the title/description in this language instead (e.g. ru)."),
    ] = None,
    translate: Annotated[
        str | None,
        typer.Option(help="Machine-translate the title and description into this language."),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who edits, for the audit log (default: you).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Change a clip's title or description draft, or its title and description in another
    language (YouTube shows them to viewers of that language)."""
    from catalog import audit
    from pipeline.context import Context
    from pipeline.packages import update_package

    if translate or language:
        _localize(clip, language, translate, title, description, by or audit.who(), workspace)
        return
    if title is None and description is None:
        err.print("Nothing to change: give --title and/or --description.")
        raise typer.Exit(2)
    ctx = Context.open(_settings(workspace, None))
    try:
        updated = ctx.catalog.edit_clip(
            clip, by or audit.who(), title=title, description=description
        )
        if updated.package:  # the partner package carries the title and description too
            update_package(ctx, ctx.catalog.footage(updated.footage_id), updated)
    except LookupError:
        err.print(f"[red]no clip {clip}[/red]; see voices status")
        raise typer.Exit(2) from None
    finally:
        ctx.close()
    console.print(f"clip {updated.id}: {escape(repr(updated.title))}")


def _localize(
    clip: int,
    language: str | None,
    translate: str | None,
    title: str | None,
    description: str | None,
    by: str,
    workspace: Path | None,
) -> None:
    from pipeline.context import Context
    from pipeline.localizations import localize, translate_localization
    from subtitles.translate import TranslationError

    if translate and (language or title is not None or description is not None):
        err.print("--translate makes the title and description itself: give it alone.")
        raise typer.Exit(2)
    if language and title is None and description is None:
        err.print(f"Nothing to change in {language}: give --title and/or --description.")
        raise typer.Exit(2)
    target = (translate or language or "").strip().lower()
    ctx = Context.open(_settings(workspace, None))
    try:
        if translate:
            updated = translate_localization(ctx, clip, target, by)
        else:
            updated = localize(ctx, clip, target, by, title=title, description=description)
    except (ValueError, TranslationError, LookupError) as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    finally:
        ctx.close()
    text = updated.localizations[target]
    how = "machine translated; read it, and change it with --language" if translate else "set"
    console.print(f"clip {updated.id} in {target} ({how}):")
    console.print(f"  title: {escape(text.title)}", soft_wrap=True)
    console.print(f"  description: {escape(text.description)}", soft_wrap=True)


@app.command()
def demo(workspace: WorkspaceOpt = None, verbose: VerboseOpt = False) -> None:
    """Copy the bundled sample interviews into the inbox and process them."""
    _logging(verbose)
    settings = _settings(workspace, None)
    inbox = settings.workspace / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for source in sorted(SAMPLE_DIR.iterdir()):
        if source.is_file() and source.name not in ("README.md", "SOURCES.md"):
            shutil.copy2(source, inbox / source.name)
    say_path("Copied the sample into", inbox)
    # The copies above are complete: no quiet period to wait for before filing them (the flow
    # reads its settings afresh, environment included).
    os.environ["VOICES_INGEST__SETTLE_SECONDS"] = "0"
    code = _run(settings, None)
    console.print("\nResults, under the workspace:")
    for folder, what in (
        ("transcripts", "words with their times"),
        ("subtitles", "SRT and WebVTT per language"),
        ("clips", "videos per platform, with thumbnails"),
        ("packages", "what partners take"),
    ):
        say_path(f"  {what}:", settings.workspace / folder)
    say_path("See them all with: .venv/bin/voices status --workspace", settings.workspace)
    raise typer.Exit(code)


app.command()(cli_publish.approve)
app.command()(cli_publish.reject)
app.command()(cli_publish.signoff)
app.command()(cli_safeguarding.consent)
app.command("audit")(cli_safeguarding.audit_log)
app.command()(cli_safeguarding.retry)
app.command()(cli_safeguarding.correct)
app.command()(cli_publish.publish)
app.command()(cli_publish.serve)
app.command()(cli_publish.resolve)
app.command()(cli_publish.check)
app.add_typer(cli_publish.auth_app, name="auth")
app.add_typer(partners_app, name="partners")
app.add_typer(translation_app, name="translation")
app.command()(portal)
app.add_typer(staff_app, name="staff")
app.add_typer(cluster_app, name="cluster")
app.command()(studio)


if __name__ == "__main__":
    app()
