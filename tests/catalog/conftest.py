"""Engines on SQLite files, set up the way catalog.store sets up its own, and the revisions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from catalog import schema

OpenEngine = Callable[[Path], Engine]


def sqlite_engine(path: Path) -> Engine:
    """An engine like the catalog's: WAL journal, a busy timeout, foreign keys on."""
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _pragmas)
    return engine


def _pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@pytest.fixture
def open_engine() -> Iterator[OpenEngine]:
    """Open engines on SQLite files; every one is disposed of after the test."""
    engines: list[Engine] = []

    def open_it(path: Path) -> Engine:
        engines.append(sqlite_engine(path))
        return engines[-1]

    yield open_it
    for engine in engines:
        engine.dispose()


def revisions_after(revision: str | None) -> list[str]:
    """The revisions above `revision` (None: all of them), oldest first, as Alembic lists them:
    what upgrading a catalog at `revision` to head applies. Reversed: what downgrading undoes."""
    script = ScriptDirectory(str(schema.MIGRATIONS))
    above = script.iterate_revisions("head", revision or "base")
    return [step.revision for step in reversed(list(above))]


def upgrade_to(engine: Engine, revision: str, workspace: Path) -> list[str]:
    """Migrate a catalog under migrations to `revision` only (catalog.schema.upgrade always goes
    to head); return the revisions applied."""
    with schema._migrating(engine) as connection:
        config = schema._config(connection, workspace)
        command.upgrade(config, revision)
        return cast(list[str], config.attributes["applied"])
