"""Prefect's embedded mode: its own local API with SQLite in the workspace, no server to run."""

from __future__ import annotations

import os
from pathlib import Path


def use_embedded_prefect(workspace: Path) -> None:
    """Point Prefect at the workspace unless the operator configured an API. Call before import."""
    if os.environ.get("PREFECT_API_URL"):
        return
    os.environ.setdefault("PREFECT_HOME", str(workspace / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The embedded API starts in a subprocess; a busy 2-core machine needs more than 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
