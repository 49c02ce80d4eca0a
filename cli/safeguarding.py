"""CLI commands for consent that changes, the audit log, corrections, and footage that stopped
runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from catalog import audit
from catalog.models import Consent
from cli.common import WorkspaceOpt, console, err, say_path
from cli.common import load as load_settings_or_exit

ByOpt = Annotated[
    str | None, typer.Option("--by", help="Who asks, for the audit log (default: you).")
]


def consent(
    footage: Annotated[int, typer.Argument(help="Footage id (see voices status).")],
    set_to: Annotated[
        Consent | None,
        typer.Option("--set", help="The new consent: public, partners or internal."),
    ] = None,
    person: Annotated[
        str | None,
        typer.Option("--person", help="Change one person's consent (the name in the sidecar)."),
    ] = None,
    withdraw: Annotated[
        bool, typer.Option("--withdraw", help="Consent withdrawn: nothing leaves, all comes down.")
    ] = False,
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Change consent after ingest; published clips it no longer allows are taken down now."""
    from pipeline.context import Context
    from pipeline.safeguarding import ConsentError, change_consent

    if withdraw == (set_to is not None):
        err.print(
            "Say what changes: --set public|partners|internal (with --person NAME), or --withdraw."
        )
        raise typer.Exit(2)
    ctx = Context.open(load_settings_or_exit(workspace, None))
    try:
        outcome = change_consent(
            ctx, footage, by or audit.who(), level=set_to, person=person, withdraw=withdraw
        )
    except (ConsentError, LookupError) as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    finally:
        ctx.close()
    for line in outcome.said:
        console.print(escape(line))
    for line in outcome.taken_down:
        console.print(f"[green]{escape(line)}[/green]")
    for line in outcome.problems:
        console.print(f"[red]not yet taken down[/red] {escape(line)}")
    if outcome.problems:
        console.print("voices publish tries again; voices status shows what is still out.")
    raise typer.Exit(1 if outcome.problems else 0)


def audit_log(
    footage: Annotated[
        int | None, typer.Option("--footage", help="Only what concerns this footage.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Who did what, when, to what: decisions, consent, takedowns, partners, edits."""
    from pipeline.context import open_catalog

    catalog = open_catalog(load_settings_or_exit(workspace, None))
    try:
        entries = audit.entries(catalog, footage)
    finally:
        catalog.close()
    if not entries:
        console.print("Nothing in the audit log yet.")
        return
    table = Table(title="audit log")
    for column in ("when (UTC)", "who", "what", "footage", "clip", "detail"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(entry.actor),
            entry.action,
            str(entry.footage_id or ""),
            str(entry.clip_id or ""),
            escape(entry.detail),
        )
    console.print(table)


def retry(
    footage: Annotated[int, typer.Argument(help="Footage id (see voices status).")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Let a footage that stopped runs before (a crash, out of memory) be tried again."""
    from pipeline.context import open_catalog

    catalog = open_catalog(load_settings_or_exit(workspace, None))
    try:
        catalog.finish_attempt(footage)
        catalog.mark_footage(footage, "failed", "to be tried again by the next run")
    except LookupError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    finally:
        catalog.close()
    console.print(f"footage {footage} will be tried again by the next voices run")


def correct(
    footage: Annotated[int, typer.Argument(help="Footage id (see voices status).")],
    file: Annotated[
        Path, typer.Argument(help="The corrected text: an .srt, a .vtt or a plain .txt file.")
    ],
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Use a person's corrected transcript: the next `voices run` puts its words back on the
    audio (forced alignment) and redoes the subtitles, captions and renders that follow."""
    from pipeline.context import Context
    from pipeline.footage import file_correction
    from subtitles.corrections import CorrectionFileError

    ctx = Context.open(load_settings_or_exit(workspace, None))
    try:
        kept = file_correction(ctx, footage, file, by or audit.who())
    except (CorrectionFileError, LookupError, OSError) as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    finally:
        ctx.close()
    say_path(f"footage {footage}: the correction is kept at", kept)
    console.print("Run voices run to align it and update what follows from it.")
