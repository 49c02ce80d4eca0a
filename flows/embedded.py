"""Prefect's embedded mode: its own local API with SQLite in the workspace, no server to run."""

from __future__ import annotations

import os
from pathlib import Path

# Our packages' loggers, whose records Prefect sends to the run they happen in (its UI shows
# them under the run), as its own loggers'.
MODULE_LOGGERS = "catalog,channels,media,pipeline,subtitles"


def module_logs(env: dict[str, str]) -> dict[str, str]:
    """`env` with our module loggers added to Prefect's run logs, for the processes that run
    flows for a UI (`voices serve`'s runner, a cluster's workers). Not for `voices run` in a
    terminal: Prefect's console handler would print each line a second time there."""
    return {"PREFECT_LOGGING_EXTRA_LOGGERS": MODULE_LOGGERS, **env}


def use_embedded_prefect(workspace: Path) -> None:
    """Point Prefect at the workspace unless the operator configured an API. Call before import."""
    if os.environ.get("PREFECT_API_URL"):
        return
    os.environ.setdefault("PREFECT_HOME", str(workspace / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The embedded API starts in a subprocess; a busy 2-core machine needs more than 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
