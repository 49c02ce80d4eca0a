"""Bring a catalog's database up to the code's tables with Alembic migrations, run from code.

`upgrade(engine, workspace)` applies the revisions in `catalog/migrations/versions` that the
database lacks, in one transaction, and returns their ids. No alembic.ini and no `alembic`
command are involved: the config is built here and the live connection handed to
`catalog/migrations/env.py`. A catalog made before migrations existed (the first release: it has
a `footage` table but no `alembic_version`) is stamped at the baseline, 0001, and upgraded from
there; a new, empty database is upgraded from nothing.

Every command opens the catalog, so opening one that is up to date is kept cheap: `upgrade`
first reads the version with one plain query and returns at once when it is `HEAD`; Alembic is
imported (about a quarter of a second) only when there is something to do.

Adding a migration: change `catalog/tables.py`, then copy the newest file in
`catalog/migrations/versions` to `000N_what_it_does.py` (the next number), set `revision` to
"000N" and `down_revision` to the previous one, write `upgrade()` (and `downgrade()`) with
`alembic.op` by hand (`alembic revision` is not needed), and set `HEAD` below to "000N".
Workers of the previous version may still be running while a new one upgrades, so keep
revisions additive: new tables, new nullable columns or columns with a server default, new
indexes; rename or drop only in a later release, once nothing reads the old column. SQLite
alters tables by copying them (batch mode is on). tests/catalog/test_migrations.py fails until
the migrated database matches tables.py, and tests/catalog/test_schema.py until `HEAD` names the
newest revision. A revision that needs the workspace folder (paths, files) reads it from
`alembic.context.config.attributes["workspace"]`; it is always given.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

from sqlalchemy import Connection, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
BASELINE = "0001"
# The newest revision in catalog/migrations/versions: bump it with every new revision (a test
# checks it against Alembic's own view). A catalog at HEAD is opened without Alembic.
HEAD = "0007"

# Alembic's `context` and `op` are proxies global to the process: one migration at a time.
_running = threading.Lock()
# Any fixed number: the PostgreSQL advisory lock every voices process takes to upgrade.
_PG_LOCK = 0x766F69636573


def upgrade(engine: Engine, workspace: Path) -> list[str]:
    """Apply the revisions the database lacks; return their ids (empty when it is at head).

    A catalog already at `HEAD` costs one read and no Alembic. Otherwise two processes may
    open the same catalog at once: the database is locked for writing first (SQLite's BEGIN
    IMMEDIATE, a PostgreSQL advisory lock) and the version read again under the lock, so the
    second waits and then finds it already upgraded.
    """
    if _versions(engine) == [HEAD]:
        return []
    from alembic import command
    from alembic.script import ScriptDirectory

    with _migrating(engine) as connection:
        config = _config(connection, workspace)
        tables = set(inspect(connection).get_table_names())
        if "footage" in tables and "alembic_version" not in tables:
            _adopt(connection, ScriptDirectory.from_config(config))
            command.stamp(config, BASELINE)
            log.warning("catalog: made before migrations; stamped at revision %s", BASELINE)
        command.upgrade(config, "head")
        applied = cast(list[str], config.attributes["applied"])
    if applied and tables:
        log.warning("catalog: upgraded (revisions %s applied)", ", ".join(applied))
    elif applied:
        log.info("catalog: created at revision %s", applied[-1])
    return applied


def downgrade(engine: Engine, revision: str, workspace: Path) -> list[str]:
    """Undo the revisions above `revision` (for a rollback by hand); return their ids."""
    from alembic import command

    with _migrating(engine) as connection:
        config = _config(connection, workspace)
        command.downgrade(config, revision)
        return cast(list[str], config.attributes["applied"])


def head() -> str:
    """The newest revision, as Alembic finds it in catalog/migrations/versions."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return cast(str, script.get_current_head())


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: not under migrations yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _versions(engine: Engine) -> list[str] | None:
    """The rows of `alembic_version`, read without Alembic (None: it could not be read).

    Only a shortcut: anything but [HEAD] (no such table yet, an older revision, an error) goes
    the locked way, which reads the version again under the lock and reports real errors.
    """
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            return [str(version) for (version,) in rows]
    except DBAPIError:  # no such table: a new catalog, or one made before migrations
        return None


def _config(connection: Connection, workspace: Path) -> Config:
    from alembic.config import Config

    config = Config()
    # The config is a ConfigParser: a % in the path would start an interpolation.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    config.attributes["workspace"] = workspace
    config.attributes["applied"] = []
    return config


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction holding the database's write lock; one at a time.

    On SQLite, foreign keys are not enforced while it lasts (as Alembic advises for batch
    mode): altering a table copies it and drops the original, and with enforcement on that
    drop fails, or cascades, as soon as rows of another table refer to it. Instead, the
    transaction is refused if it leaves rows that refer to missing ones and were not there
    before.
    """
    with _running, engine.connect() as connection:
        enforced = False
        try:
            with connection.begin():
                if connection.dialect.name == "sqlite":
                    # Before the BEGIN that _lock sends: inside a transaction it does nothing.
                    enforced = bool(connection.exec_driver_sql("PRAGMA foreign_keys").scalar())
                    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                _lock(connection)
                before = _dangling(connection)
                yield connection
                added = _dangling(connection) - before
                if added:
                    raise RuntimeError(
                        "catalog: the migration left rows referring to missing ones "
                        f"(table, row, parent): {sorted(added, key=str)[:10]}; nothing was changed"
                    )
        finally:
            if enforced:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _dangling(connection: Connection) -> set[tuple[str, int | None, str]]:
    """SQLite's rows whose foreign keys refer to no row (empty elsewhere: enforced there)."""
    if connection.dialect.name != "sqlite":
        return set()
    check = connection.exec_driver_sql("PRAGMA foreign_key_check")
    return {(str(table), row, str(parent)) for table, row, parent, _key in check}


def _lock(connection: Connection) -> None:
    """Take the database's write lock for the rest of the transaction."""
    if connection.dialect.name == "sqlite":
        # pysqlite begins transactions lazily; an explicit BEGIN IMMEDIATE takes the write lock
        # now, before the tables are looked at (waiting up to the busy timeout for another).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        # (Not exercised by the tests, which run on SQLite.)
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")


def _adopt(connection: Connection, script: ScriptDirectory) -> None:
    """Give a catalog of a development build before the first release the baseline's shape."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    baseline = _module(script, BASELINE)
    with Operations.context(MigrationContext.configure(connection)):
        added = cast(list[str], baseline.adopt())
    for name in added:
        log.warning("catalog: added %s (written by an earlier version)", name)


def _module(script: ScriptDirectory, revision: str) -> ModuleType:
    found = script.get_revision(revision)
    if found is None:
        raise LookupError(f"no catalog revision {revision}")
    return found.module
