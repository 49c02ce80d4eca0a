"""The migrations: the baseline is the first release's schema, a catalog it wrote keeps every
row, the ORM and the migrated database agree, 0002 makes paths workspace-relative and 0003 gives
clips a preview.

Which revisions an upgrade applies is asked of Alembic (`revisions_after`), never spelled out,
so a new revision needs no change here."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, Text, select
from sqlalchemy.orm import Session

from catalog import schema
from catalog.tables import Base, Clip, Download, Footage, Partner, Publication
from tests.catalog.conftest import OpenEngine, revisions_after, upgrade_to
from tests.helpers import data

FIRST_RELEASE = data("catalog-first-release.sqlite")
# Where the first release's workspace was when the file was made (tests/data/SOURCES.md).
OLD_ROOT = "/tmp/voices-first-release/workspace"
TABLES = (
    "footage",
    "transcripts",
    "subtitle_tracks",
    "clips",
    "publications",
    "partners",
    "downloads",
)
PATH_COLUMNS = {
    ("footage", "path"),
    ("footage", "library_path"),
    ("transcripts", "path"),
    ("subtitle_tracks", "srt_path"),
    ("subtitle_tracks", "vtt_path"),
    ("clips", "thumbnail"),
    ("clips", "package"),
}
JSON_PATH_COLUMNS = {("clips", "renders"), ("clips", "subtitles")}

Snapshot = dict[str, list[dict[str, Any]]]


def _snapshot(path: Path) -> Snapshot:
    """Every row of every catalog table, read with plain sqlite3."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return {
            table: [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY id")]
            for table in TABLES
        }
    finally:
        db.close()


def _version(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [v for (v,) in db.execute("SELECT version_num FROM alembic_version")]
    finally:
        db.close()


def _first_release(folder: Path) -> Path:
    """The first release's catalog in `folder` (its workspace, moved)."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(FIRST_RELEASE, folder / "catalog.sqlite"))


def _strip_old_root(value: str | None) -> str | None:
    return value.removeprefix(OLD_ROOT + "/") if value else value


def test_first_release_catalog_keeps_every_row_and_its_paths_become_relative(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    workspace = tmp_path / "moved"
    path = _first_release(workspace)
    before = _snapshot(path)
    engine = open_engine(path)

    assert schema.upgrade(engine, workspace) == revisions_after(schema.BASELINE)

    after = _snapshot(path)
    assert {t: len(rows) for t, rows in after.items()} == {
        "footage": 8,
        "transcripts": 5,
        "subtitle_tracks": 5,
        "clips": 5,
        "publications": 2,
        "partners": 2,
        "downloads": 2,
    }
    for table in TABLES:
        assert len(after[table]) == len(before[table])
        for old, new in zip(before[table], after[table], strict=True):
            for column, value in old.items():
                if (table, column) in PATH_COLUMNS:
                    assert value is None or value.startswith(OLD_ROOT + "/")
                    assert new[column] == _strip_old_root(value)
                elif (table, column) in JSON_PATH_COLUMNS:
                    stripped = value.replace(OLD_ROOT + "/", "")
                    assert json.loads(new[column]) == json.loads(stripped)
                else:  # everything else byte for byte, the held footage's fingerprint too
                    assert new[column] == value, (table, column, old["id"])
    # 0003: clips gain a preview, which none of the first release's clips has yet.
    assert "preview" not in before["clips"][0]
    assert [c["preview"] for c in after["clips"]] == [None] * 5

    # A few values spelled out, so the file cannot change under the test unnoticed.
    footage = after["footage"]
    assert [f["status"] for f in footage] == [
        "processed",
        "processed",
        "held",
        "rejected",
        "duplicate",
        "processed",
        "processed",
        "failed",
    ]
    assert footage[0]["sha256"] == (
        "4ed19a2e7f0763ccdac1c6aed797eae714b9693d4e279213848c542a49bfe8eb"
    )
    assert footage[0]["library_path"] == (
        "library/4e/4ed19a2e7f0763ccdac1c6aed797eae714b9693d4e279213848c542a49bfe8eb/original.mp4"
    )
    assert footage[5]["source_name"] == "голосовое сообщение.m4a"
    assert [f["path"] for f in footage[2:5]] == [
        "inbox/kazakh sample.wav",
        "rejected/notes.mp4",
        "duplicates/Columbia address 2003.mp4",
    ]
    assert [c["status"] for c in after["clips"]] == [
        "approved",
        "approved",
        "approved",
        "rejected",
        "candidate",
    ]
    assert after["clips"][0]["title"] == (
        "These men and women assumed great risk in the service to all humanity"
    )
    assert json.loads(after["clips"][2]["subtitles"]) == {
        "ru": {
            "srt": "clips/b943582bc3d4/33880-50210/ru.srt",
            "vtt": "clips/b943582bc3d4/33880-50210/ru.vtt",
        },
        "en": {
            "srt": "clips/b943582bc3d4/33880-50210/en.srt",
            "vtt": "clips/b943582bc3d4/33880-50210/en.vtt",
        },
    }
    assert json.loads(after["clips"][0]["renders"])["vertical"]["path"] == (
        "clips/4ed19a2e7f07/51740-71260/vertical.mp4"
    )
    assert [p["status"] for p in after["publications"]] == ["published", "blocked"]
    assert [p["name"] for p in after["partners"]] == ["School 12", "Library 3"]
    assert [d["bytes"] for d in after["downloads"]] == [1572864, 2048]

    assert _version(path) == [schema.head()]
    assert schema.upgrade(engine, workspace) == []
    assert _snapshot(path) == after


def test_the_orm_reads_the_upgraded_first_release_catalog(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    workspace = tmp_path / "moved"
    engine = open_engine(_first_release(workspace))
    schema.upgrade(engine, workspace)

    with Session(engine) as s:
        footage = s.get(Footage, 6)
        assert footage is not None
        assert footage.sidecar["title"] == "Голосовое сообщение: платёж по кредиту"
        assert [c.status for c in footage.clips] == ["approved", "rejected"]
        clip = s.get(Clip, 1)
        assert clip is not None
        assert [p.channel for p in clip.publications] == ["folder"]
        assert s.scalars(select(Publication.url)).first() == (
            "file:///tmp/voices-first-release/drop/"
            "1-these-men-and-women-assumed-great-risk-in-the-service-to-all.mp4"
        )  # outside the workspace, and not a workspace path: left alone
        assert s.scalars(select(Partner.languages).order_by(Partner.id)).all() == [
            ["en", "ru"],
            [],
        ]
        assert s.scalars(select(Download.file).order_by(Download.id)).all() == [
            "vertical.mp4",
            "en.srt",
        ]


def test_the_baseline_creates_exactly_what_the_first_release_created(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    path = tmp_path / "catalog.sqlite"
    assert upgrade_to(open_engine(path), schema.BASELINE, tmp_path) == [schema.BASELINE]

    def ddl(file: Path) -> set[tuple[str, str, str | None]]:
        db = sqlite3.connect(file)
        try:
            query = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name != 'alembic_version'"
            return set(db.execute(query))
        finally:
            db.close()

    assert ddl(path) == ddl(FIRST_RELEASE)
    assert len(ddl(path)) == 7 + 12 + 6  # tables, named indexes, unique constraints' indexes


def test_a_new_catalog_matches_the_tables_of_the_code(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    """Fails when tables.py changes without a migration that makes the same change."""
    engine = open_engine(tmp_path / "catalog.sqlite")
    schema.upgrade(engine, tmp_path)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        # Nothing needs ignoring on SQLite: the partial unique index, the JSON columns and the
        # unnamed unique constraints all reflect as tables.py declares them.
        assert compare_metadata(context, Base.metadata) == []

        # The comparison does see a column that tables.py has and no migration added.
        changed = MetaData()
        for table in Base.metadata.sorted_tables:
            table.to_metadata(changed)
        changed.tables["clips"].append_column(Column("not_migrated", Text, nullable=True))
        diffs = compare_metadata(context, changed)
        assert [(d[0], d[2], d[3].name) for d in diffs] == [("add_column", "clips", "not_migrated")]


def _at_baseline(path: Path, open_engine: OpenEngine) -> None:
    """A new catalog at revision 0001: what the first release would have made."""
    assert upgrade_to(open_engine(path), schema.BASELINE, path.parent) == [schema.BASELINE]


def _insert(path: Path, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    db = sqlite3.connect(path)
    try:
        with db:
            for sql, values in statements:
                db.execute(sql, values)
    finally:
        db.close()


FOOTAGE = (
    "INSERT INTO footage (id, sha256, source_name, status, error, path, library_path, consent, "
    "fingerprint, clips_key, media_info, sidecar, created_at, updated_at) VALUES "
    "(?, ?, 'talk.mp4', 'processed', '', ?, ?, 'public', '', '', '{}', '{}', "
    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)
TRANSCRIPT = (
    "INSERT INTO transcripts (id, footage_id, settings_key, task, language, engine, model, path, "
    "seconds, created_at) VALUES (?, 1, ?, 'transcribe', 'en', 'faster-whisper', 'base', ?, 1.0, "
    "'2026-01-01 00:00:00')"
)
TRACK = (
    "INSERT INTO subtitle_tracks (id, footage_id, transcript_id, rules_key, language, srt_path, "
    "vtt_path, cues, rule_violations, created_at) VALUES (1, 1, 1, 'r', 'en', ?, ?, 1, 0, "
    "'2026-01-01 00:00:00')"
)
CLIP = (
    "INSERT INTO clips (id, footage_id, start_ms, end_ms, text, title, description, origin, "
    "rank, score, status, error, renders, subtitles, thumbnail, package, created_at, "
    "updated_at) VALUES (1, 1, 0, 20000, '', '', '', 'auto', 1, 1.0, 'candidate', '', ?, ?, ?, "
    "?, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


def test_paths_under_the_workspace_become_relative_however_it_is_named(
    tmp_path: Path, open_engine: OpenEngine, caplog: pytest.LogCaptureFixture
) -> None:
    real = tmp_path / "clips" / "ws"  # a folder named like a workspace folder above it
    real.mkdir(parents=True)
    link = tmp_path / "ws-link"
    link.symlink_to(real)
    path = real / "catalog.sqlite"
    _at_baseline(path, open_engine)
    library = "library/ab/abcd/original.mp4"
    clip_dir = "clips/abcd/0-20000"
    _insert(
        path,
        [
            # Stored through the link, and with the link resolved: both are the workspace.
            (FOOTAGE, (1, "abcd", f"{link}/{library}", f"{real}/{library}")),
            (FOOTAGE, (2, "ef", "/media/usb/talk.mp4", None)),  # never in the workspace
            (TRANSCRIPT, (1, "a", f"{real}/transcripts/abcd/transcribe.json")),
            (TRANSCRIPT, (2, "b", "transcripts/abcd/translate.json")),  # already relative
            (TRACK, (f"{real}/subtitles/abcd/talk.en.srt", f"{real}/subtitles/abcd/talk.en.vtt")),
            (
                CLIP,
                (
                    json.dumps(
                        {
                            "vertical": {"path": f"{real}/{clip_dir}/vertical.mp4", "key": "k1"},
                            "tv": {"path": f"{clip_dir}/tv.mp4", "key": "k2"},
                        }
                    ),
                    json.dumps({"en": {"srt": f"{real}/{clip_dir}/en.srt", "vtt": None}}),
                    f"{real}/{clip_dir}/thumbnail.jpg",
                    f"{link}/packages/clip-1",
                ),
            ),
        ],
    )
    engine = open_engine(path)

    with caplog.at_level(logging.WARNING):
        assert schema.upgrade(engine, link) == revisions_after(schema.BASELINE)

    after = _snapshot(path)
    assert [(f["path"], f["library_path"]) for f in after["footage"]] == [
        (library, library),
        ("/media/usb/talk.mp4", None),
    ]
    assert "footage 2 path is /media/usb/talk.mp4" in caplog.text
    assert "the workspace was at" not in caplog.text  # nothing had to be guessed
    assert [t["path"] for t in after["transcripts"]] == [
        "transcripts/abcd/transcribe.json",
        "transcripts/abcd/translate.json",
    ]
    track = after["subtitle_tracks"][0]
    assert (track["srt_path"], track["vtt_path"]) == (
        "subtitles/abcd/talk.en.srt",
        "subtitles/abcd/talk.en.vtt",
    )
    clip = after["clips"][0]
    assert json.loads(clip["renders"]) == {
        "vertical": {"path": f"{clip_dir}/vertical.mp4", "key": "k1"},
        "tv": {"path": f"{clip_dir}/tv.mp4", "key": "k2"},
    }
    assert json.loads(clip["subtitles"]) == {"en": {"srt": f"{clip_dir}/en.srt", "vtt": None}}
    assert (clip["thumbnail"], clip["package"]) == (f"{clip_dir}/thumbnail.jpg", "packages/clip-1")


def test_a_moved_workspace_is_found_from_the_library_paths(
    tmp_path: Path, open_engine: OpenEngine, caplog: pytest.LogCaptureFixture
) -> None:
    old = "/srv/library/old ws"  # "library" above the workspace too
    workspace = tmp_path / "new"
    workspace.mkdir()
    path = workspace / "catalog.sqlite"
    _at_baseline(path, open_engine)
    _insert(
        path,
        [
            (FOOTAGE, (1, "ab", f"{old}/library/ab/ab1/original.mp4", f"{old}/library/ab/ab1/o")),
            (FOOTAGE, (2, "cd", f"{old}/library/cd/cd1/original.mp4", f"{old}/library/cd/cd1/o")),
            # Held in a subfolder of the inbox called "library": the root is not the last match.
            (FOOTAGE, (3, "ef", f"{old}/inbox/library/talk.mp4", None)),
            # Another root: no library path says where it was, so this path alone decides.
            (FOOTAGE, (4, "gh", "/mnt/other/rejected/notes.mp4", None)),
            (FOOTAGE, (5, "ij", "/mnt/other/notes.mp4", None)),
        ],
    )
    engine = open_engine(path)

    with caplog.at_level(logging.WARNING):
        assert schema.upgrade(engine, workspace) == revisions_after(schema.BASELINE)

    assert [(f["path"], f["library_path"]) for f in _snapshot(path)["footage"]] == [
        ("library/ab/ab1/original.mp4", "library/ab/ab1/o"),
        ("library/cd/cd1/original.mp4", "library/cd/cd1/o"),
        ("inbox/library/talk.mp4", None),
        ("rejected/notes.mp4", None),
        ("/mnt/other/notes.mp4", None),
    ]
    assert f"the workspace was at {old}" in caplog.text
    assert "footage 5 path is /mnt/other/notes.mp4" in caplog.text


def test_0002_run_again_changes_nothing(tmp_path: Path, open_engine: OpenEngine) -> None:
    workspace = tmp_path / "moved"
    path = _first_release(workspace)
    engine = open_engine(path)
    schema.upgrade(engine, workspace)
    once = _snapshot(path)
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    db.close()

    assert upgrade_to(engine, "0002", workspace) == ["0002"]

    assert _snapshot(path) == once


def test_downgrade_makes_paths_absolute_in_the_workspace_and_upgrade_relative_again(
    tmp_path: Path, open_engine: OpenEngine
) -> None:
    workspace = tmp_path / "moved"
    path = _first_release(workspace)
    engine = open_engine(path)
    schema.upgrade(engine, workspace)
    relative = _snapshot(path)

    undone = schema.downgrade(engine, "0001", workspace)
    assert undone == list(reversed(revisions_after("0001")))

    absolute = _snapshot(path)
    assert _version(path) == ["0001"]
    assert absolute["footage"][0]["library_path"] == str(
        workspace
        / "library/4e/4ed19a2e7f0763ccdac1c6aed797eae714b9693d4e279213848c542a49bfe8eb"
        / "original.mp4"
    )
    assert json.loads(absolute["clips"][0]["renders"])["vertical"]["path"] == str(
        workspace / "clips/4ed19a2e7f07/51740-71260/vertical.mp4"
    )
    assert schema.upgrade(engine, workspace) == revisions_after("0001")
    assert _snapshot(path) == relative


def test_downgrade_to_nothing_drops_every_table(tmp_path: Path, open_engine: OpenEngine) -> None:
    path = tmp_path / "catalog.sqlite"
    engine = open_engine(path)
    schema.upgrade(engine, tmp_path)

    assert schema.downgrade(engine, "base", tmp_path) == list(reversed(revisions_after(None)))

    db = sqlite3.connect(path)
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    db.close()
    assert tables == ["alembic_version"]
    assert schema.current(engine) is None
