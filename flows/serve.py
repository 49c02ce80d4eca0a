"""`voices serve`: the deployments with their schedules (`flows.deployments`), run by a child
it supervises. For more than one machine, `voices cluster` deploys the same to a work pool.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from config import Settings, load_settings
from flows.embedded import module_logs
from flows.server import ignore_stop_signals, local_prefect_server, start_child, stop_child

if TYPE_CHECKING:
    pass


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
        env = module_logs(dict(os.environ, PREFECT_API_URL=url))
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

    from flows.deployments import deployments

    prefect_serve(*deployments(settings, config_file))


if __name__ == "__main__":  # the runner, started by `serve` with PREFECT_API_URL set
    workspace, config = Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None
    _serve(load_settings(workspace, config), config)
