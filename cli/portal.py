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


def _say(line: str) -> None:
    """A line with an address or path in it, never wrapped or styled, so it can be copied."""
    console.print(line, soft_wrap=True, markup=False, highlight=False)


def link(public_url: str, host: str, port: int, token: str) -> str:
    """The partner's link: to `portal.public_url` when set, else to this host and port."""
    if public_url:
        return f"{public_url.rstrip('/')}/?token={token}"
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
    """Add a partner and print its access link (to portal.public_url when set, else to --host
    and --port). The token is shown this once only."""
    from catalog.partners import PartnerError, add_partner
    from pipeline.context import open_catalog

    settings = _settings(workspace)
    catalog = open_catalog(settings)
    try:
        token = add_partner(catalog, name, languages.split(","))
    except PartnerError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from exc
    finally:
        catalog.close()
    console.print(f"Partner [bold]{escape(name)}[/bold] added. Send them this link (shown once):")
    _say(link(settings.portal.public_url, host, port, token))
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
    from web.portal_server import server_config

    settings = _settings(workspace)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    _say(f"Partner portal for {settings.workspace} on http://{host}:{port}/")
    if settings.portal.public_url:
        _say(f"Partners open it at {settings.portal.public_url}/")
    proxies = ", ".join(settings.portal.trusted_proxies) or "none (portal.trusted_proxies)"
    _say(f"X-Forwarded-For and X-Forwarded-Proto believed from: {proxies}")
    # uvicorn's own proxy handling off (it trusts 127.0.0.1 by default); no access log.
    uvicorn.Server(server_config(create_app(settings), host, port)).run()
