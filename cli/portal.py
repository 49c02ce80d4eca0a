"""`voices partners add|list|revoke` and `voices portal`: who may download clips, and the site.

Registered in `cli.app` with `app.add_typer(partners_app, name="partners")` and
`app.command()(portal)`. This module does not import `cli.app` (which imports it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import WorkspaceOpt, console, err, load
from config import Settings

partners_app = typer.Typer(
    help="Partners who may download approved clips from the portal.", no_args_is_help=True
)
HostOpt = Annotated[str, typer.Option("--host", help="Address the portal listens on.")]
PortOpt = Annotated[int, typer.Option("--port", help="Port the portal listens on.")]


def _settings(workspace: Path | None) -> Settings:
    return load(workspace, None)


def link(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


@partners_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The partner's name, e.g. an organisation.")],
    languages: Annotated[
        str, typer.Option(help="Only clips in these languages (comma-separated, e.g. ru,ky).")
    ] = "",
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8080,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a partner and print its access link. The token is shown this once only."""
    from catalog.partners import PartnerError, add_partner
    from pipeline.context import open_catalog

    catalog = open_catalog(_settings(workspace))
    try:
        token = add_partner(catalog, name, languages.split(","))
    except PartnerError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from exc
    finally:
        catalog.close()
    console.print(f"Partner [bold]{escape(name)}[/bold] added. Send them this link (shown once):")
    console.print(link(host, port, token), soft_wrap=True, highlight=False, markup=False)
    console.print(f"Token only, for `Authorization: Bearer`: {token}", soft_wrap=True, markup=False)


@partners_app.command("list")
def list_(workspace: WorkspaceOpt = None) -> None:
    """Show every partner, its languages and whether its link still works."""
    from catalog.partners import list_partners
    from pipeline.context import open_catalog

    catalog = open_catalog(_settings(workspace))
    try:
        partners = list_partners(catalog)
    finally:
        catalog.close()
    if not partners:
        console.print("No partners yet. Add one with: voices partners add NAME")
        return
    table = Table(title="partners")
    for column in ("name", "languages", "added", "state"):
        table.add_column(column)
    for p in partners:
        state = f"revoked {p.revoked_at:%Y-%m-%d %H:%M}" if p.revoked_at else "active"
        added = f"{p.created_at:%Y-%m-%d %H:%M}"
        table.add_row(escape(p.name), ",".join(p.languages) or "all", added, state)
    console.print(table)


@partners_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The partner's name (see voices partners list).")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Stop a partner's link from working, at once. Its download log stays."""
    from catalog.partners import PartnerError, revoke_partner
    from pipeline.context import open_catalog

    catalog = open_catalog(_settings(workspace))
    try:
        revoke_partner(catalog, name)
    except PartnerError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from exc
    finally:
        catalog.close()
    console.print(f"Partner [bold]{escape(name)}[/bold] revoked; their link no longer works.")


def portal(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8080,
    workspace: WorkspaceOpt = None,
) -> None:
    """Serve the partner portal: approved clips partners may take, with their downloads."""
    import uvicorn

    from web.portal import create_app

    settings = _settings(workspace)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    console.print(f"Partner portal for {settings.workspace} on http://{host}:{port}/")
    # No access log: a partner's first request carries its token in the query string.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False)
