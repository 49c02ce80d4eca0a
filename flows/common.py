"""What every flow shares."""

from __future__ import annotations

from pathlib import Path

from config import Settings, load_settings


def run_settings(workspace: str, config_file: str | None = None) -> Settings:
    """The settings a flow run works under. An empty `workspace` means the one this machine
    mounts (`VOICES_WORKSPACE`): a cluster's deployments leave it empty, so that each worker
    finds the shared workspace wherever its machine mounts it."""
    return load_settings(
        Path(workspace) if workspace else None, Path(config_file) if config_file else None
    )
