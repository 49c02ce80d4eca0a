"""A catalog written by an earlier version gains the new tables and columns and keeps its rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from catalog import Catalog


def test_old_catalog_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as old:  # the footage table as the first release wrote it
        old.execute(
            "CREATE TABLE footage (id INTEGER PRIMARY KEY, sha256 VARCHAR(64) NOT NULL, "
            "source_name TEXT NOT NULL, status VARCHAR(20) NOT NULL, error TEXT NOT NULL, "
            "path TEXT NOT NULL, library_path TEXT, language VARCHAR(16), duration_ms INTEGER, "
            "consent VARCHAR(16) NOT NULL, media_info JSON NOT NULL, sidecar JSON NOT NULL, "
            "created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)"
        )
        old.execute(
            "INSERT INTO footage VALUES (1, 'ab', 'talk.mp4', 'processed', '', '/x', '/x', 'ky', "
            "1000, 'public', '{}', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    old.close()

    catalog = Catalog(f"sqlite:///{path}")
    try:
        footage = catalog.footage(1)
        assert (footage.source_name, footage.language) == ("talk.mp4", "ky")
        assert catalog.clips_key(1) == ""  # the column added with its default
        assert catalog.clips_of(1) == []  # a table added
        assert catalog.report()["footage"][0]["clips"] == []
    finally:
        catalog.close()
