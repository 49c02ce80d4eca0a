"""catalog.schema.upgrade: new, current, older and concurrent catalogs."""

from __future__ import annotations

import json
import logging
import multiprocessing
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from catalog import schema
from catalog.tables import Base, Clip, Footage, Partner
from tests.catalog.conftest import OpenEngine, revisions_after, sqlite_engine

ROOT = Path(__file__).resolve().parents[2]

# Every table the code declares, and Alembic's own.
ALL_TABLES = set(Base.metadata.tables) | {"alembic_version"}

# The catalog as the first development build (commit 69e66d7) created it: footage without
# fingerprint and clips_key, and none of the clip, publication and partner tables.
PRE_RELEASE = (
    "CREATE TABLE footage (id INTEGER NOT NULL, sha256 VARCHAR(64) NOT NULL, "
    "source_name TEXT NOT NULL, status VARCHAR(20) NOT NULL, error TEXT NOT NULL, "
    "path TEXT NOT NULL, library_path TEXT, language VARCHAR(16), duration_ms INTEGER, "
    "consent VARCHAR(16) NOT NULL, media_info JSON NOT NULL, sidecar JSON NOT NULL, "
    "created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, PRIMARY KEY (id))",
    "CREATE UNIQUE INDEX uq_footage_library_sha ON footage (sha256) WHERE library_path IS NOT NULL",
    "CREATE INDEX ix_footage_status ON footage (status)",
    "CREATE INDEX ix_footage_sha256 ON footage (sha256)",
    "CREATE TABLE transcripts (id INTEGER NOT NULL, footage_id INTEGER NOT NULL, "
    "settings_key VARCHAR(64) NOT NULL, task VARCHAR(16) NOT NULL, "
    "language VARCHAR(16) NOT NULL, engine VARCHAR(32) NOT NULL, model TEXT NOT NULL, "
    "path TEXT NOT NULL, seconds FLOAT NOT NULL, created_at DATETIME NOT NULL, "
    "PRIMARY KEY (id), UNIQUE (footage_id, settings_key), "
    "FOREIGN KEY(footage_id) REFERENCES footage (id))",
    "CREATE INDEX ix_transcripts_footage_id ON transcripts (footage_id)",
    "CREATE TABLE subtitle_tracks (id INTEGER NOT NULL, footage_id INTEGER NOT NULL, "
    "transcript_id INTEGER NOT NULL, rules_key VARCHAR(64) NOT NULL, "
    "language VARCHAR(16) NOT NULL, srt_path TEXT NOT NULL, vtt_path TEXT NOT NULL, "
    "cues INTEGER NOT NULL, rule_violations INTEGER NOT NULL, created_at DATETIME NOT NULL, "
    "PRIMARY KEY (id), UNIQUE (transcript_id, rules_key), "
    "FOREIGN KEY(footage_id) REFERENCES footage (id), "
    "FOREIGN KEY(transcript_id) REFERENCES transcripts (id))",
    "CREATE INDEX ix_subtitle_tracks_transcript_id ON subtitle_tracks (transcript_id)",
    "CREATE INDEX ix_subtitle_tracks_footage_id ON subtitle_tracks (footage_id)",
)
# What catalog.schema's additive upgrader wrote into such a catalog before migrations.
ADDITIVE_UPGRADER = (
    'ALTER TABLE "footage" ADD COLUMN "fingerprint" TEXT NOT NULL DEFAULT \'\'',
    'ALTER TABLE "footage" ADD COLUMN "clips_key" VARCHAR(64) NOT NULL DEFAULT \'\'',
)


def _pre_release_catalog(path: Path, *later: str) -> None:
    with sqlite3.connect(path) as old:
        for statement in (*PRE_RELEASE, *later):
            old.execute(statement)
        old.execute(
            "INSERT INTO footage (id, sha256, source_name, status, error, path, library_path, "
            "language, duration_ms, consent, media_info, sidecar, created_at, updated_at) "
            "VALUES (1, 'ab', 'talk.mp4', 'processed', '', '/x', '/x', 'ky', 1000, 'public', "
            "'{}', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    old.close()


def _matches_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        # Server defaults are not compared (the default): the ones adoption and the old
        # upgrader gave added columns stay, and the ORM's defaults are Python-side.
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    db.close()
    return {name for (name,) in rows}


def test_new_catalog_is_created_at_head_and_a_second_upgrade_does_nothing(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    engine = open_engine(tmp_path / "catalog.sqlite")

    applied = schema.upgrade(engine, tmp_path)
    assert applied == revisions_after(None)
    assert applied[0] == schema.BASELINE
    assert applied[-1] == schema.head()
    assert schema.current(engine) == schema.head()
    assert _tables(tmp_path / "catalog.sqlite") == ALL_TABLES

    assert schema.upgrade(engine, tmp_path) == []
    assert schema.current(engine) == schema.head()


def test_head_names_the_newest_revision() -> None:
    assert schema.head() == schema.HEAD, (
        f"catalog/migrations/versions ends at {schema.head()}: set catalog.schema.HEAD to it "
        f"(it is {schema.HEAD}); until then every open of an up-to-date catalog runs Alembic"
    )


FAST_PATH = """
import json, sys
from pathlib import Path
from sqlalchemy import create_engine
from catalog import schema
engine = create_engine("sqlite:///" + sys.argv[1])
applied = schema.upgrade(engine, Path(sys.argv[2]))
print(json.dumps({"applied": applied, "alembic": sorted(
    name for name in sys.modules if name == "alembic" or name.startswith("alembic.")
)}))
"""


def test_opening_an_up_to_date_catalog_imports_no_alembic(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    path = tmp_path / "catalog.sqlite"
    assert schema.upgrade(open_engine(path), tmp_path) != []

    # A fresh interpreter: this test process has imported alembic already.
    done = subprocess.run(
        [sys.executable, "-c", FAST_PATH, str(path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"applied": [], "alembic": []}


def test_a_catalog_below_head_is_upgraded_even_though_it_has_a_version(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    path = tmp_path / "catalog.sqlite"
    engine = open_engine(path)
    schema.upgrade(engine, tmp_path)
    schema.downgrade(engine, schema.BASELINE, tmp_path)
    assert schema.current(engine) == schema.BASELINE

    assert schema.upgrade(engine, tmp_path) == revisions_after(schema.BASELINE)
    assert schema.current(engine) == schema.HEAD
    _matches_the_tables(engine)


def test_pre_release_catalog_gains_the_baseline_tables_and_columns_and_keeps_its_rows(
    tmp_path: Path, open_engine: OpenEngine, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "catalog.sqlite"
    _pre_release_catalog(path)
    engine = open_engine(path)

    with caplog.at_level(logging.WARNING):
        assert schema.upgrade(engine, tmp_path / "workspace") == revisions_after(schema.BASELINE)

    assert schema.current(engine) == schema.head()
    assert _tables(path) == ALL_TABLES
    _matches_the_tables(engine)
    with Session(engine) as s:
        footage = s.scalars(select(Footage)).one()
        assert (footage.sha256, footage.source_name, footage.language) == ("ab", "talk.mp4", "ky")
        assert (footage.fingerprint, footage.clips_key) == ("", "")  # added with a default
        assert s.scalars(select(Clip)).all() == []
        assert s.scalars(select(Partner)).all() == []
    messages = caplog.text
    assert "added footage.fingerprint" in messages
    assert "added footage.clips_key" in messages
    assert "added partners" in messages
    assert "added transcripts" not in messages  # it was there
    assert "stamped at revision 0001" in messages
    # "/x" is in no workspace folder: kept, and the row is named.
    assert footage.path == "/x"
    assert "footage 1 path is /x" in messages


def test_catalog_with_columns_added_by_the_old_additive_upgrader_matches_the_tables(
    tmp_path: Path, open_engine: OpenEngine, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "catalog.sqlite"
    _pre_release_catalog(path, *ADDITIVE_UPGRADER)
    engine = open_engine(path)

    with caplog.at_level(logging.WARNING):
        assert schema.upgrade(engine, tmp_path) == revisions_after(schema.BASELINE)

    assert "added footage." not in caplog.text
    _matches_the_tables(engine)
    with Session(engine) as s:
        assert s.scalars(select(Footage.clips_key)).all() == [""]


def _upgrade_slowly(path: str, migrated: Any, release: Any) -> None:
    """Upgrade `path`, then hold the transaction open until `release` is set."""
    original = command.upgrade

    def upgrade_and_wait(config: Any, revision: str) -> None:
        original(config, revision)
        migrated.set()  # the tables exist in this transaction, not yet committed
        release.wait(60)

    command.upgrade = upgrade_and_wait  # type: ignore[assignment]  # only in this process
    engine = sqlite_engine(Path(path))
    try:
        schema.upgrade(engine, Path(path).parent)
    finally:
        engine.dispose()


def test_a_second_process_waits_for_the_first_and_finds_the_catalog_upgraded(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    path = tmp_path / "catalog.sqlite"
    spawn = multiprocessing.get_context("spawn")
    migrated, release = spawn.Event(), spawn.Event()
    first = spawn.Process(target=_upgrade_slowly, args=(str(path), migrated, release))
    first.start()
    try:
        assert migrated.wait(60), "the first process never got to migrate"
        # Without a write lock taken before looking, this process would see no tables and
        # fail creating them ("table footage already exists") once the first one commits.
        engine = open_engine(path)
        start = time.monotonic()
        release_later = threading.Timer(1.0, release.set)
        release_later.start()
        assert schema.upgrade(engine, tmp_path) == []
        assert time.monotonic() - start >= 0.9  # it waited for the first one's commit
    finally:
        release.set()
        first.join(60)
    assert first.exitcode == 0
    assert schema.current(engine) == schema.head()
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT version_num FROM alembic_version").fetchall()
        assert rows == [(schema.head(),)]
    db.close()


def _foreign_keys(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one())


def test_foreign_keys_are_off_while_migrating_and_enforced_again_after(
    tmp_path: Path, open_engine: OpenEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_engine(tmp_path / "catalog.sqlite")
    assert _foreign_keys(engine) == 1
    original = command.upgrade
    seen: list[int] = []

    def upgrade_and_look(config: Any, revision: str) -> None:
        connection = config.attributes["connection"]
        seen.append(connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one())
        original(config, revision)

    monkeypatch.setattr(command, "upgrade", upgrade_and_look)
    schema.upgrade(engine, tmp_path)

    assert seen == [0]
    assert _foreign_keys(engine) == 1  # the pooled connection enforces them again


def test_a_migration_that_leaves_rows_referring_to_missing_ones_changes_nothing(
    tmp_path: Path, open_engine: OpenEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "catalog.sqlite"
    engine = open_engine(path)
    original = command.upgrade

    def upgrade_badly(config: Any, revision: str) -> None:
        original(config, revision)
        config.attributes["connection"].exec_driver_sql(
            "INSERT INTO transcripts (id, footage_id, settings_key, task, language, engine, "
            "model, path, seconds, created_at) VALUES (1, 99, 'k', 'transcribe', 'en', 'e', "
            "'m', 'p', 1.0, '2026-01-01 00:00:00')"
        )

    monkeypatch.setattr(command, "upgrade", upgrade_badly)
    with pytest.raises(RuntimeError, match=r"\('transcripts', 1, 'footage'\)"):
        schema.upgrade(engine, tmp_path)

    assert _tables(path) == set()
    assert _foreign_keys(engine) == 1


def test_the_migrated_catalog_is_what_the_orm_reads_and_writes(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    engine = open_engine(tmp_path / "catalog.sqlite")
    schema.upgrade(engine, tmp_path)
    with Session(engine) as s, s.begin():
        s.add(Partner(name="School 12", token_hash="0" * 64, languages=["ru"]))
    with Session(engine) as s:
        partner = s.scalars(select(Partner)).one()
        assert (partner.name, partner.languages, partner.revoked_at) == ("School 12", ["ru"], None)
    assert set(inspect(engine).get_table_names()) == ALL_TABLES
