"""`voices serve`: the deployments with their schedules, run by a child it supervises.

    voices-process/process   every `schedule.process_every_minutes`: ingest and process
    voices-publish/publish   on `schedule.publish_cron` in `schedule.timezone`: publish
    voices-review/review     no schedule: run it from the UI to approve clips there
    voices-check/check       daily on `schedule.check_cron`: are the channels' tokens still good?

`prefect.yaml` declares the same deployments for a work pool, for when one machine is not enough.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

from config import Settings, load_settings
from flows.server import ignore_stop_signals, local_prefect_server, start_child, stop_child

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def serve(
    settings: Settings,
    config_file: Path | None,
    port: int = 0,
    studio: tuple[str, int] | None = None,
) -> int:
    """Supervise until Ctrl-C or SIGTERM: the local Prefect server (unless PREFECT_API_URL
    names one), the runner of the deployments and, with `studio` (host, port), the staff
    studio, each a child in a process group of its own. All are stopped on every way out, one
    of them ending by itself included; returns the exit status of the one that ended (0 when
    stopped by a signal).

    The runner is a child, not this process, because Prefect's runner may not end on a signal
    that arrives while it is busy (seen under load): here nothing waits on Prefect."""
    # Both, explicitly: a process started in the background by a shell inherits SIGINT ignored,
    # and `kill -INT` must still stop it.
    signal.signal(signal.SIGTERM, _stop_as_on_ctrl_c)
    signal.signal(signal.SIGINT, _stop_as_on_ctrl_c)
    with ExitStack() as children:
        url = os.environ.get("PREFECT_API_URL") or children.enter_context(
            local_prefect_server(settings.workspace / ".prefect-server", port)
        )
        args = ["-m", "flows.serve", str(settings.workspace)]
        if config_file is not None:
            args.append(str(config_file))
        env = dict(os.environ, PREFECT_API_URL=url)
        started = [start_child(args, env)]
        if studio is not None:
            host, studio_port = studio
            site = ["-m", "cli", "studio", "--workspace", str(settings.workspace)]
            site += ["--host", host, "--port", str(studio_port)]
            if config_file is not None:
                site += ["--config", str(config_file)]
            started.append(start_child(site, env))
        try:
            while all(child.poll() is None for child in started):
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        finally:
            ignore_stop_signals()
            for child in started:
                stop_child(child)
        return next(c.returncode for c in started if c.returncode is not None)


def _stop_as_on_ctrl_c(_signal: int, _frame: object) -> None:
    """SIGINT and SIGTERM (Ctrl-C, a service manager, `kill`) stop `voices serve`."""
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


if __name__ == "__main__":  # the runner, started by `serve` with PREFECT_API_URL set
    workspace, config = Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None
    _serve(load_settings(workspace, config), config)
