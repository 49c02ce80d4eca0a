"""Alembic's environment for the catalog: runs on the connection `catalog.schema` hands over.

`catalog.schema` builds the Alembic config in code and passes, in `config.attributes`:
"connection" (a live connection inside a transaction that schema commits), "workspace" (the
workspace folder, always given) and "applied" (a list that receives each revision applied).
There is no alembic.ini and no URL here: the catalog is always migrated from code.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy.engine import Connection

from catalog.tables import Base

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "the catalog's migrations run from code: call catalog.schema.upgrade(engine, workspace)"
    )
applied: list[str] = config.attributes.setdefault("applied", [])


def _record(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    if not step.is_stamp and step.up_revision_id is not None:
        applied.append(step.up_revision_id)


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; batch mode does that for every ALTER.
    render_as_batch=connection.dialect.name == "sqlite",
    on_version_apply=_record,
)
with context.begin_transaction():
    context.run_migrations()
