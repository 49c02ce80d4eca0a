"""`voices cluster`: a real cluster on this machine (PostgreSQL, a Prefect server on it, a work
pool and workers), for trying the scaled-out setup and for CI; see `flows.cluster`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from cli.common import ConfigOpt, WorkspaceOpt, console, err, load

cluster_app = typer.Typer(help="A cluster on this machine: PostgreSQL, Prefect, workers.")


@cluster_app.command("start")
def start(
    workspace: WorkspaceOpt = None,
    config: ConfigOpt = None,
    workers: Annotated[int, typer.Option(help="How many workers to start.", min=1)] = 2,
    transcribers: Annotated[
        int,
        typer.Option(help="Workers for the transcription pool (cluster.transcribe_pool).", min=0),
    ] = 0,
) -> None:
    """Start PostgreSQL, a Prefect server on it, the work pool, the deployments and workers.

    Afterwards `voices run|status|publish` in this workspace use the cluster."""
    from flows.cluster import ClusterError
    from flows.cluster import start as start_cluster

    settings = load(workspace, config)
    try:
        state = start_cluster(
            settings.workspace, workers, config, say=_say, transcribe_workers=transcribers
        )
    except ClusterError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"The cluster runs. Prefect's UI: {state.ui_url}", soft_wrap=True)
    console.print(
        f"Use it: VOICES_WORKSPACE={settings.workspace} voices run (or status, publish); "
        "stop it: make cluster-stop",
        soft_wrap=True,
        markup=False,
    )


@cluster_app.command("deploy")
def deploy(workspace: WorkspaceOpt = None, config: ConfigOpt = None) -> None:
    """Create the work pool, the publishing limit and the deployments on the Prefect server in
    `cluster.api_url` (a cluster across machines; `start` does this for its own)."""
    from flows.cluster import deploy as deploy_all

    settings = load(workspace, config)
    if not settings.cluster.api_url:
        err.print(
            "[red]cluster.api_url is not set: put the Prefect server's address in the "
            "workspace's voices.yaml (cluster: api_url: http://HOST:4200/api)[/red]"
        )
        raise typer.Exit(2)
    deploy_all(settings, config, settings.cluster.api_url)
    console.print(
        f"Work pool {settings.cluster.pool!r}, the limit voices-publish and the deployments are "
        f"on {settings.cluster.api_url}. Start workers: prefect worker start --pool "
        f"{settings.cluster.pool}",
        soft_wrap=True,
        markup=False,
    )


@cluster_app.command("stop")
def stop(workspace: WorkspaceOpt = None, config: ConfigOpt = None) -> None:
    """Stop the workers, the Prefect server and PostgreSQL (the data is kept)."""
    from flows.cluster import stop as stop_cluster

    settings = load(workspace, config)
    if not stop_cluster(settings.workspace, say=_say):
        console.print(f"No cluster in {settings.workspace}.")


def _say(line: str) -> None:
    console.print(line, soft_wrap=True, markup=False, highlight=False)
