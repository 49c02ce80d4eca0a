"""`voices staff add|list|roles|disable|password|token` and `voices studio`: the people who
work in the studio, and the studio itself.

Registered in `cli.app` with `app.add_typer(staff_app, name="staff")` and
`app.command()(studio)`. This module does not import `cli.app` (which imports it).
"""

from __future__ import annotations

import getpass
import logging
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import ConfigOpt, WorkspaceOpt, console, err, load, open_catalog

staff_app = typer.Typer(help="Staff accounts of the studio.", no_args_is_help=True)
NameArg = Annotated[str, typer.Argument(help="The account's name (see voices staff list).")]
RoleOpt = Annotated[
    list[str],
    typer.Option(
        "--role",
        "-r",
        help="editor, approver, safeguarding or admin; repeat for several.",
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (scripts) instead of asking for it.",
    ),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (10 characters or more): ")
    if getpass.getpass("The same password again: ") != first:
        err.print("[red]The two passwords differ; nothing was changed.[/red]")
        raise typer.Exit(2)
    return first


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]{escape(str(exc))}[/red]")
    return typer.Exit(2)


@staff_app.command("add")
def add(
    name: NameArg,
    role: RoleOpt,
    password_stdin: PasswordStdin = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a staff account with its roles; asks for its password."""
    from catalog.staff import StaffError, add_staff

    password = _password(password_stdin)
    with open_catalog(load(workspace, None)) as catalog:
        try:
            account = add_staff(catalog, name, role, password)
        except StaffError as exc:
            raise _fail(exc) from None
    console.print(f"Account [bold]{escape(account.name)}[/bold] added: {', '.join(account.roles)}")


@staff_app.command("list")
def list_(workspace: WorkspaceOpt = None) -> None:
    """Every account, its roles and whether it may sign in."""
    from catalog.staff import list_staff

    with open_catalog(load(workspace, None)) as catalog:
        accounts = list_staff(catalog)
    if not accounts:
        console.print("No staff accounts yet. Add one with: voices staff add NAME --role admin")
        return
    table = Table(title="staff")
    for column in ("name", "roles", "language", "added", "state"):
        table.add_column(column)
    for a in accounts:
        state = f"disabled {a.disabled_at:%Y-%m-%d %H:%M}" if a.disabled_at else "active"
        table.add_row(
            escape(a.name),
            ", ".join(a.roles),
            a.language or "browser's",
            f"{a.created_at:%Y-%m-%d}",
            state,
        )
    console.print(table)


@staff_app.command("roles")
def roles(name: NameArg, role: RoleOpt, workspace: WorkspaceOpt = None) -> None:
    """Replace an account's roles."""
    from catalog.staff import StaffError, set_roles

    with open_catalog(load(workspace, None)) as catalog:
        try:
            account = set_roles(catalog, name, role)
        except StaffError as exc:
            raise _fail(exc) from None
    console.print(f"{escape(account.name)}: {', '.join(account.roles)}")


@staff_app.command("disable")
def disable(name: NameArg, workspace: WorkspaceOpt = None) -> None:
    """Stop an account at once: its sessions end and its API token stops working."""
    from catalog.staff import StaffError, disable_staff

    with open_catalog(load(workspace, None)) as catalog:
        try:
            disable_staff(catalog, name)
        except StaffError as exc:
            raise _fail(exc) from None
    console.print(
        f"{escape(name)} disabled. `voices staff password {escape(name)}` enables it again."
    )


@staff_app.command("password")
def password(
    name: NameArg, password_stdin: PasswordStdin = False, workspace: WorkspaceOpt = None
) -> None:
    """Set a new password (and enable the account); its sessions end."""
    from catalog.staff import StaffError, set_password

    new = _password(password_stdin)
    with open_catalog(load(workspace, None)) as catalog:
        try:
            set_password(catalog, name, new)
        except StaffError as exc:
            raise _fail(exc) from None
    console.print(f"New password set for {escape(name)}; their other sign-ins have ended.")


@staff_app.command("token")
def token(name: NameArg, workspace: WorkspaceOpt = None) -> None:
    """A personal API token for the account (shown once; the earlier one stops working)."""
    from catalog.staff import StaffError, new_api_token

    with open_catalog(load(workspace, None)) as catalog:
        try:
            secret = new_api_token(catalog, name)
        except StaffError as exc:
            raise _fail(exc) from None
    console.print(f"API token for {escape(name)} (shown once; send as Authorization: Bearer):")
    console.print(secret, soft_wrap=True, markup=False, highlight=False)


def studio(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8090,
    workspace: WorkspaceOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the staff studio: footage, transcripts, clips, publications, partners, audit."""
    import uvicorn

    from flows.runs import RunOnDemand
    from web.portal_server import server_config
    from web.studio import create_studio

    settings = load(workspace, config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    say = console.print
    say(f"Studio for {settings.workspace} on http://{host}:{port}/", soft_wrap=True, markup=False)
    if settings.studio.public_url:
        say(f"Staff open it at {settings.studio.public_url}/", soft_wrap=True, markup=False)
    runs = RunOnDemand(settings.workspace, config)
    uvicorn.Server(server_config(create_studio(settings, runs), host, port)).run()
