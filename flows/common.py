"""What every flow shares."""

from __future__ import annotations

import logging
from pathlib import Path

from config import Settings, load_settings
from flows.embedded import MODULE_LOGGERS


def run_settings(workspace: str, config_file: str | None = None) -> Settings:
    """The settings a flow run works under. An empty `workspace` means the one this machine
    mounts (`VOICES_WORKSPACE`): a cluster's deployments leave it empty, so that each worker
    finds the shared workspace wherever its machine mounts it."""
    _module_logs_at_info()
    return load_settings(
        Path(workspace) if workspace else None, Path(config_file) if config_file else None
    )


def _module_logs_at_info() -> None:
    """Where Prefect sends our modules' records to the run's log (`flows.embedded.module_logs`:
    the runner, a worker), send their INFO lines too, not only warnings: the UI is where an
    operator reads what a scheduled run did."""
    for name in MODULE_LOGGERS.split(","):
        logger = logging.getLogger(name)
        sent = any(type(h).__name__ == "APILogHandler" for h in logger.handlers)
        if sent and logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
