"""Bring a catalog's tables up to the code's: create what is missing, add missing columns.

Only additive changes are made automatically (a new table, a new column with a default), so a
workspace made by an earlier version keeps working. Renaming or dropping a column is never done
here: such a change needs a real migration tool (Alembic) and a note in the changelog.
"""

from __future__ import annotations

import logging

from sqlalchemy import Column, inspect, text
from sqlalchemy.engine import Engine

from catalog.tables import Base

log = logging.getLogger(__name__)


def upgrade(engine: Engine) -> list[str]:
    """Create missing tables and columns; return the columns that were added."""
    Base.metadata.create_all(engine)
    inspector = inspect(engine)
    added = []
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    connection.execute(text(_add_column(engine, table.name, column)))
                    added.append(f"{table.name}.{column.name}")
    for name in added:
        log.warning("catalog: added column %s (written by an earlier version)", name)
    return added


def _add_column(engine: Engine, table: str, column: Column[object]) -> str:
    kind = column.type.compile(dialect=engine.dialect)
    default = _literal_default(column)
    clause = f" NOT NULL DEFAULT {default}" if default is not None else ""
    return f'ALTER TABLE "{table}" ADD COLUMN "{column.name}" {kind}{clause}'


def _literal_default(column: Column[object]) -> str | None:
    """A SQL literal for the column's Python default, for the rows already there."""
    default = column.default
    if default is None:
        return None
    arg = getattr(default, "arg", None)
    # SQLAlchemy wraps a callable default so that it takes the execution context.
    value = arg(None) if getattr(default, "is_callable", False) and callable(arg) else arg
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dict):
        return "'{}'"
    return None
