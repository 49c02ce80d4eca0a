"""`voices serve`: the deployments with their schedules, in this process.

    voices-process/process   every `schedule.process_every_minutes`: ingest and process
    voices-publish/publish   on `schedule.publish_cron` in `schedule.timezone`: publish
    voices-review/review     no schedule: run it from the UI to approve clips there
    voices-check/check       daily on `schedule.check_cron`: are the channels' tokens still good?

`prefect.yaml` declares the same deployments for a work pool, for when one machine is not enough.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

from config import Settings
from flows.server import local_prefect_server

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def serve(settings: Settings, config_file: Path | None, port: int = 0) -> None:
    """Serve until Ctrl-C or SIGTERM; the local server, if started here, stops with it."""
    signal.signal(signal.SIGTERM, _stop_as_on_ctrl_c)
    if os.environ.get("PREFECT_API_URL"):
        _serve(settings, config_file)
        return
    with local_prefect_server(settings.workspace / ".prefect-server", port) as url:
        os.environ["PREFECT_API_URL"] = url
        _serve(settings, config_file)


def _stop_as_on_ctrl_c(_signal: int, _frame: object) -> None:
    """SIGTERM (a service manager, `kill`) stops `voices serve` the way Ctrl-C does. Prefect's
    runner installs a handler of its own once it runs, which also ends in a clean exit."""
    raise KeyboardInterrupt


def _serve(settings: Settings, config_file: Path | None) -> None:
    from prefect import serve as prefect_serve
    from prefect.schedules import Cron

    from flows.process import process_flow
    from flows.publish import check_flow, publish_flow, review_flow

    parameters = {
        "workspace": str(settings.workspace),
        "config_file": str(config_file) if config_file else None,
    }
    every = timedelta(minutes=settings.schedule.process_every_minutes)
    deployments = [
        process_flow.to_deployment(name="process", interval=every, parameters=parameters),
        publish_flow.to_deployment(
            name="publish",
            parameters=parameters,
            schedules=[Cron(settings.schedule.publish_cron, timezone=settings.schedule.timezone)],
        ),
        review_flow.to_deployment(name="review", parameters={"workspace": str(settings.workspace)}),
        check_flow.to_deployment(
            name="check",
            parameters=parameters,
            schedules=[Cron(settings.schedule.check_cron, timezone=settings.schedule.timezone)],
        ),
    ]
    # to_deployment is sync-or-async in Prefect's types; called here it returns the deployment.
    prefect_serve(*[cast("RunnerDeployment", d) for d in deployments])
