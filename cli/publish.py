"""CLI commands for decisions and publishing: approve, reject, publish, auth, serve."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from catalog import Catalog, audit
from catalog.consent import blocked_reason
from catalog.ledger import (
    DecisionError,
    all_clip_ids,
    clip_ids,
    decide,
    in_zone,
    mark_found,
    mark_resend,
    mark_taken_down,
    publications_of,
    sign_off,
)
from catalog.models import DONE, ClipDecision
from channels.base import marker_line
from channels.errors import ChannelError
from cli.common import (
    ConfigOpt,
    VerboseOpt,
    WorkspaceOpt,
    console,
    err,
    open_catalog,
    setup_logging,
)
from cli.common import load as load_settings_or_exit
from flows.embedded import use_embedded_prefect

ClipsArg = Annotated[list[int] | None, typer.Argument(help="Clip ids (see voices status).")]
FootageOpt = Annotated[
    int | None, typer.Option("--footage", help="Every clip of a footage (approve: candidates).")
]
ByOpt = Annotated[
    str | None, typer.Option("--by", help="Who decides, for the audit log (default: you).")
]


def approve(
    clips: ClipsArg = None,
    footage: FootageOpt = None,
    all_candidates: Annotated[bool, typer.Option("--all", help="Every candidate clip.")] = False,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Publish from this time, e.g. 2026-12-01T10:00+06:00 (default: at once)."
        ),
    ] = None,
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Approve clips for publishing. Consent still decides where each may go."""
    settings = load_settings_or_exit(workspace, None)
    when = _parse_time(at, settings.schedule.timezone) if at else None
    with open_catalog(settings) as catalog:
        ids = _choose(catalog, clips, footage, all_candidates, ("candidate",))
        for clip_id in decide(catalog, ids, "approved", by or audit.who(), when):
            clip = catalog.clip(clip_id)
            f = catalog.footage(clip.footage_id)
            reason = blocked_reason(f.sidecar, "public")
            timing = f" from {when.isoformat()}" if when else ""
            console.print(f"approved clip {clip_id} {escape(clip.title)!r}{timing}")
            if reason:
                console.print(f"  [yellow]not for public channels:[/yellow] {escape(reason)}")
            elif f.has_minors:
                console.print(
                    "  [yellow]shows a minor:[/yellow] public channels wait for a safeguarding "
                    f"sign-off by someone else (voices signoff {clip_id} --by NAME)"
                )
        _missing(ids, catalog)
    if when is not None and ids and when > datetime.now(UTC):
        from flows.publish_at import schedule_publishing

        console.print(escape(schedule_publishing(settings, when)))


def reject(
    clips: ClipsArg = None,
    footage: FootageOpt = None,
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Reject clips: they are never rendered again or published (approved ones included)."""
    settings = load_settings_or_exit(workspace, None)
    with open_catalog(settings) as catalog:
        ids = _choose(catalog, clips, footage, False, ("candidate", "approved"))
        if not ids:
            console.print(f"footage {footage} has no clip to reject")
        for clip_id in decide(catalog, ids, "rejected", by or audit.who()):
            console.print(f"rejected clip {clip_id}")
            for p in publications_of(catalog, clip_id):
                if p.status in (*DONE, "unconfirmed", "uploading"):  # still out there
                    console.print(
                        f"  [yellow]still {p.status} on {p.channel}[/yellow] "
                        f"{escape(p.url or p.remote_id or '')}: to take it down, lower the "
                        f"footage's consent (voices consent {catalog.clip(clip_id).footage_id} "
                        "--set ...), or remove it there by hand"
                    )
        _missing(ids, catalog)


def signoff(
    clips: Annotated[list[int], typer.Argument(help="Clip ids (see voices status).")],
    by: Annotated[str, typer.Option("--by", help="Who signs off (not the approver).")],
    workspace: WorkspaceOpt = None,
) -> None:
    """The second, named approval a clip showing a minor needs before a public channel."""
    settings = load_settings_or_exit(workspace, None)
    failed = False
    with open_catalog(settings) as catalog:
        for clip_id in clips:
            try:
                sign_off(catalog, clip_id, by)
            except DecisionError as exc:
                err.print(f"[red]{escape(str(exc))}[/red]")
                failed = True
                continue
            console.print(f"clip {clip_id}: signed off by {escape(by)}")
    raise typer.Exit(1 if failed else 0)


def _choose(
    catalog: Catalog,
    clips: list[int] | None,
    footage: int | None,
    every: bool,
    decisions: tuple[ClipDecision, ...],
) -> list[int]:
    if clips:
        return clips
    if footage is not None or every:
        return clip_ids(catalog, footage_id=footage, decisions=decisions)
    err.print("Name clips (voices approve 3 4), or use --footage ID or --all.")
    raise typer.Exit(2)


def _missing(ids: list[int], catalog: Catalog) -> None:
    for clip_id in sorted(set(ids) - set(all_clip_ids(catalog))):
        err.print(f"[red]no clip {clip_id}[/red]; see voices status")


def _parse_time(text: str, zone: str) -> datetime:
    try:
        return in_zone(datetime.fromisoformat(text), zone)
    except ValueError as exc:
        err.print(f"--at {text!r}: use a time like 2026-12-01T10:00+06:00")
        raise typer.Exit(2) from exc


def publish(
    workspace: WorkspaceOpt = None, config: ConfigOpt = None, verbose: VerboseOpt = False
) -> None:
    """Publish every approved clip that is due, once per channel, then exit."""
    setup_logging(verbose)
    settings = load_settings_or_exit(workspace, config)
    use_embedded_prefect(settings.workspace, settings.cluster.api_url)
    quiet = logging.getLogger().getEffectiveLevel() > logging.INFO
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING" if quiet else "INFO")
    from flows.locks import outcome
    from flows.publish import publish_flow

    state = publish_flow(
        str(settings.workspace), str(config) if config else None, return_state=True
    )
    summary = outcome(state)
    if summary.note:
        console.print(f"[yellow]{summary.note}[/yellow]")
        raise typer.Exit(0)
    for line in summary.taken_down:
        console.print(f"[green]taken down[/green] {escape(line)}")
    for line in summary.captions:
        console.print(escape(line))
    for p in summary.published:
        console.print(
            escape(
                f"clip {p.clip_id} on {p.channel}: {p.status} {p.url or p.remote_id or ''}"
                f" {p.error}".rstrip()
            )
        )
    for line in (*summary.failed, *summary.problems):
        console.print(f"[red]{escape(line)}[/red]")
    if not (summary.published or summary.taken_down or summary.failed or summary.problems):
        console.print("Nothing to publish.")
    raise typer.Exit(1 if summary.failed or summary.problems else 0)


auth_app = typer.Typer(help="Authorise voices to publish on a channel.", no_args_is_help=True)


@auth_app.command("youtube")
def auth_youtube(
    workspace: WorkspaceOpt = None,
    port: Annotated[int, typer.Option(help="Local port for Google's redirect.")] = 0,
) -> None:
    """Run Google's consent flow once and store the refreshable token (mode 0600)."""
    from channels.youtube import authorize

    settings = load_settings_or_exit(workspace, None)
    secrets = settings.youtube.client_secrets.expanduser()
    if not secrets.is_file():
        err.print(
            f"{secrets}: download the OAuth client (type Desktop app) from the Google "
            "Cloud console and save it there, or set youtube.client_secrets."
        )
        raise typer.Exit(2)
    try:
        authorize(secrets, settings.youtube.token_file.expanduser(), port=port)
    except ChannelError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except ValueError as exc:  # google-auth-oauthlib's answer to a malformed client file
        err.print(
            f"{secrets}: not an OAuth client file for a Desktop app ({exc}); download it "
            "again from the Google Cloud console"
        )
        raise typer.Exit(2) from None
    except OSError as exc:
        err.print(f"cannot wait for Google's answer on port {port} ({exc.strerror}); try --port")
        raise typer.Exit(2) from None
    console.print(f"Saved the YouTube token to {settings.youtube.token_file} (mode 0600).")


def serve(
    workspace: WorkspaceOpt = None,
    config: ConfigOpt = None,
    port: Annotated[
        int, typer.Option(help="Port of the local Prefect server (0: any free).")
    ] = 4200,
    studio: Annotated[
        bool, typer.Option("--studio", help="Serve the staff studio beside the deployments.")
    ] = False,
    studio_host: Annotated[str, typer.Option(help="Address the studio listens on.")] = "127.0.0.1",
    studio_port: Annotated[int, typer.Option(help="Port the studio listens on.")] = 8090,
    verbose: VerboseOpt = False,
) -> None:
    """Run the scheduled deployments (process, publish, review) until stopped (Ctrl-C).

    Without PREFECT_API_URL, a local Prefect server (SQLite in the workspace) is started
    with it and stopped on exit; its UI is at http://127.0.0.1:PORT. With --studio, the staff
    studio runs beside them (http://STUDIO_HOST:STUDIO_PORT), and stops with them.
    """
    from flows.serve import serve as run_deployments

    setup_logging(verbose)
    settings = load_settings_or_exit(workspace, config)
    console.print(
        f"Serving {settings.workspace}: process every "
        f"{settings.schedule.process_every_minutes:g} min, publish on "
        f"'{settings.schedule.publish_cron}' ({settings.schedule.timezone})."
    )
    if studio:
        console.print(
            f"Studio on http://{studio_host}:{studio_port}/", soft_wrap=True, markup=False
        )
    try:
        site = (studio_host, studio_port) if studio else None
        code = run_deployments(settings, config, port, site)
    except KeyboardInterrupt:  # before the children were started
        code = 0
    console.print("Stopped." if code == 0 else f"[red]The runner stopped (exit {code}).[/red]")
    raise typer.Exit(code)


def resolve(
    clip: Annotated[int, typer.Argument(help="Clip id.")],
    channel: Annotated[str, typer.Argument(help="Channel name, e.g. telegram.")],
    posted: Annotated[
        bool, typer.Option("--posted", help="It is on the channel: record it.")
    ] = False,
    resend: Annotated[
        bool, typer.Option("--resend", help="It is not there: send it again.")
    ] = False,
    taken_down: Annotated[
        bool,
        typer.Option("--taken-down", help="A takedown voices could not do: you removed it."),
    ] = False,
    url: Annotated[str, typer.Option(help="Its address, with --posted.")] = "",
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Settle a publication after looking at the channel (search for its ref: line)."""
    if sum((posted, resend, taken_down)) != 1:
        err.print(
            "Say what you found: --posted (it is there), --resend (it is not), or "
            "--taken-down (you removed it by hand)."
        )
        raise typer.Exit(2)
    settings = load_settings_or_exit(workspace, None)
    who = by or audit.who()
    with open_catalog(settings) as catalog:
        found = [p for p in publications_of(catalog, clip) if p.channel == channel]
        allowed = (
            ("takedown_pending", "takedown_manual")
            if taken_down
            else ("unconfirmed",)
            if posted
            else ("unconfirmed", "failed")
        )
        if not found or found[0].status not in allowed:
            state = found[0].status if found else "no publication"
            err.print(
                f"clip {clip} on {channel}: {state}; only an unconfirmed publication (or a "
                "failed one, with --resend; a takedown_pending one, with --taken-down) can be "
                "settled here"
            )
            raise typer.Exit(2)
        record = found[0]
        if posted:
            mark_found(catalog, record.id, url or None, who)
            done = "recorded as published"
        elif resend:
            mark_resend(catalog, record.id, who)
            done = "will be sent again (a channel that can be asked is asked first)"
        else:
            mark_taken_down(catalog, record.id, f"removed by hand by {who}")
            done = "recorded as taken down"
    console.print(f"clip {clip} on {channel}: {done} (look for '{marker_line(record.marker)}')")


def check(workspace: WorkspaceOpt = None, config: ConfigOpt = None) -> None:
    """Check every enabled channel now: tokens, permissions, folders. Run it daily."""
    from pipeline.publishing import check_targets

    reached, problems = check_targets(load_settings_or_exit(workspace, config))
    for line in reached:
        console.print(f"[green]ok[/green] {line}")
    for problem in problems:
        console.print(f"[red]problem[/red] {problem}")
    if not reached and not problems:
        console.print("No channel is enabled (youtube.enabled, telegram.enabled, folder.enabled).")
    raise typer.Exit(1 if problems else 0)
