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


def use_embedded_prefect(workspace: Path, cluster_api: str = "") -> None:
    """Point Prefect at the workspace unless the operator configured an API. Call before import.

    A run from the command line goes into the same run history as the scheduled ones when a
    server runs them: the cluster's (`cluster_api`), or the one `voices serve` started for this
    workspace, if it answers."""
    if os.environ.get("PREFECT_API_URL"):
        return
    serving = answering(cluster_api) or answering(serve_api(workspace))
    if serving:
        os.environ["PREFECT_API_URL"] = serving
        return
    os.environ.setdefault("PREFECT_HOME", str(workspace / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The embedded API starts in a subprocess; a busy 2-core machine needs more than 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def serve_api(workspace: Path) -> str:
    from flows.server import API_URL_FILE

    path = workspace / ".prefect-server" / API_URL_FILE
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""


def answering(url: str) -> str:
    if not url:
        return ""
    import httpx

    try:
        return url if httpx.get(f"{url}/health", timeout=3).status_code == 200 else ""
    except httpx.HTTPError:
        return ""
