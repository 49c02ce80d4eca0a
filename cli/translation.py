"""`voices translation list|approve`: machine translations a person reads before public channels."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import WorkspaceOpt, console, err
from cli.common import load as load_settings_or_exit

translation_app = typer.Typer(
    help="Machine translations: read them, approve them for public channels.",
    no_args_is_help=True,
)


@translation_app.command("list")
def list_translations(
    footage: Annotated[
        int | None, typer.Argument(help="Footage id (default: every footage).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Each footage's tracks in other languages: where they come from, the SRT to read, and
    who approved a machine translation for public channels."""
    from pipeline.context import Context
    from pipeline.translation_review import translated_tracks

    ctx = Context.open(load_settings_or_exit(workspace, None))
    try:
        every = [ctx.catalog.footage(footage)] if footage is not None else ctx.catalog.all_footage()
        found = [t for f in every for t in translated_tracks(ctx, f)]
        review = ctx.settings.translation.review_before_public
    except LookupError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    finally:
        ctx.close()
    if not found:
        console.print("No tracks in other languages.")
        return
    table = Table(title="translated tracks")
    for column in ("footage", "lang", "source", "approved", "srt"):
        table.add_column(column, overflow="fold")
    for t in found:
        table.add_row(
            f"{t.footage_id} {escape(t.footage)}",
            t.language,
            t.source or "not made yet",
            _approval(t.source, t.reviewed_by, review),
            str(t.srt or ""),
        )
    console.print(table)


def _approval(source: str | None, reviewed_by: str, review: bool) -> str:
    if source != "translated":
        return "not needed" if source else ""
    if reviewed_by:
        return f"by {escape(reviewed_by)}"
    return "[yellow]no: not on public channels[/yellow]" if review else "no (not required)"


@translation_app.command("approve")
def approve_translation(
    footage: Annotated[int, typer.Argument(help="Footage id (see voices translation list).")],
    language: Annotated[str, typer.Argument(help="The track's language, e.g. ru.")],
    by: Annotated[str, typer.Option("--by", help="Who read it and approves it.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Approve a footage's machine translation, as it is now, for public channels (after
    reading its SRT). A new translation, after its source changed, needs approving again."""
    from pipeline.context import Context
    from pipeline.translation_review import TranslationReviewError, approve

    if not by.strip():
        err.print("[red]--by needs the name of the person who read it[/red]")
        raise typer.Exit(2)
    ctx = Context.open(load_settings_or_exit(workspace, None))
    try:
        track = approve(ctx, footage, language.strip().lower(), by.strip())
    except (TranslationReviewError, LookupError) as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    finally:
        ctx.close()
    console.print(
        f"footage {footage}: the {track.language} translation is approved for public channels "
        f"by {escape(track.reviewed_by)}; voices publish sends it"
    )
