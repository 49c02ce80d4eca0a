"""What every `voices` command shares: options, consoles, settings and the catalog."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from catalog import Catalog
from config import Settings, load_settings
from config.settings import ConfigError

console = Console()
err = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default ./workspace, or VOICES_WORKSPACE).",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings file (default WORKSPACE/voices.yaml)."),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")]


def load(workspace: Path | None, config: Path | None) -> Settings:
    """Settings, or a clear message and exit code 2."""
    try:
        return load_settings(workspace, config)
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def say_path(label: str, path: Path) -> None:
    """A line ending in a path, never wrapped or cropped by the console, so it can be copied."""
    console.print(f"{label} {path}", soft_wrap=True, markup=False, highlight=False)


def setup_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level,
        format="%(message)s",
        force=True,
        handlers=[RichHandler(console=err, show_path=False)],
    )


@contextmanager
def open_catalog(settings: Settings) -> Iterator[Catalog]:
    from pipeline.context import open_catalog as open_it

    catalog = open_it(settings)
    try:
        yield catalog
    finally:
        catalog.close()
