"""Two publishers with no lock in common (two machines on one catalog): the ledger's
compare-and-set before the remote call lets one of them post a clip, never both, and never a
clip a person un-approved after the publisher read it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from catalog import Catalog
from catalog.ledger import decide, mark_uploading, publication
from catalog.models import PublicationRecord
from catalog.tables import Publication
from config import Settings, load_settings
from pipeline.context import Context, open_catalog
from pipeline.publishing import Target, build_targets, close_targets, publish_clip
from tests.channels.fake_telegram import FakeTelegram
from tests.flows.world import ADULT, add_footage

# Long enough for a publisher to read its row and reach its first write (it takes
# milliseconds); a slower one only makes a test weaker, never wrong.
READ_S = 2.0


def approved_clip(catalog: Catalog, workspace: Path) -> int:
    _, (clip, _) = add_footage(catalog, workspace, "race", "public", [ADULT])
    decide(catalog, [clip], "approved", "root")
    return clip


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, isolated_env: Path) -> Iterator[Catalog]:
    """The workspace's SQLite catalog, or one on a real PostgreSQL (as a cluster shares it)."""
    sqlite = request.param == "sqlite"
    url = load_settings().catalog_url if sqlite else request.getfixturevalue("fresh_database")
    catalog = Catalog(url, isolated_env)
    yield catalog
    catalog.close()


def test_of_two_publishers_that_read_the_same_row_one_takes_it(
    catalog: Catalog, isolated_env: Path
) -> None:
    clip = approved_clip(catalog, isolated_env)
    mine, theirs = publication(catalog, clip, "telegram"), publication(catalog, clip, "telegram")

    taken = mark_uploading(catalog, mine)
    lost = mark_uploading(catalog, theirs)

    assert taken is not None and (taken.status, taken.attempts) == ("uploading", 1)
    assert lost is None
    assert publication(catalog, clip, "telegram").attempts == 1
    # After a crash mid-upload, two publishers that read the `uploading` row: one resumes.
    first, second = publication(catalog, clip, "telegram"), publication(catalog, clip, "telegram")
    assert mark_uploading(catalog, first) is not None
    assert mark_uploading(catalog, second) is None
    assert publication(catalog, clip, "telegram").attempts == 2


def test_a_clip_rejected_after_its_row_was_read_is_not_taken(
    catalog: Catalog, isolated_env: Path
) -> None:
    clip = approved_clip(catalog, isolated_env)
    read = publication(catalog, clip, "telegram")
    decide(catalog, [clip], "rejected", "Гульнара")

    assert mark_uploading(catalog, read) is None
    row = publication(catalog, clip, "telegram")
    assert (row.status, row.attempts) == ("pending", 0)


def test_on_postgresql_a_publisher_that_waited_for_the_row_finds_it_taken(
    fresh_database: str, isolated_env: Path
) -> None:
    """Both publishers' updates wait on a row lock; the one let through second finds the row
    changed (PostgreSQL checks the WHERE again on the row as committed) and takes nothing."""
    catalog = Catalog(fresh_database, isolated_env)
    try:
        clip = approved_clip(catalog, isolated_env)
        reads = [publication(catalog, clip, "telegram") for _ in range(2)]
        with catalog.engine.connect() as holder, ThreadPoolExecutor(2) as pool:
            touch = update(Publication).where(Publication.id == reads[0].id).values(error="")
            holder.execute(touch)  # the row stays locked until this commits
            takes = [pool.submit(mark_uploading, catalog, read) for read in reads]
            time.sleep(READ_S)
            holder.commit()
            outcomes = [take.result(timeout=60) for take in takes]
        assert outcomes.count(None) == 1
        assert publication(catalog, clip, "telegram").attempts == 1
    finally:
        catalog.close()


@pytest.fixture
def telegram_only(
    channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, FakeTelegram]:
    for name in ("YOUTUBE", "FOLDER"):
        monkeypatch.setenv(f"VOICES_{name}__ENABLED", "false")
    telegram: FakeTelegram = channels_env["telegram"]
    return load_settings(), telegram


def publish_at_once(
    settings: Settings, clip_id: int, count: int, meanwhile: Callable[[sqlite3.Connection], None]
) -> list[PublicationRecord | None]:
    """`count` publishers of one clip, each with its own catalog engine and channel client as
    on machines of their own, started together while the catalog is locked for writing: each
    reads the clip and its row, then waits at its first write. `meanwhile` runs on the
    connection holding the lock before it lets them go."""
    publishers: list[tuple[Context, list[Target]]] = []
    try:
        for _ in range(count):  # opened first: opening a catalog may write
            targets, problems = build_targets(settings)
            assert not problems and len(targets) == 1
            publishers.append((Context.open(settings), targets))
        lock = sqlite3.connect(
            settings.catalog_url.removeprefix("sqlite:///"), isolation_level=None
        )
        try:
            lock.execute("BEGIN IMMEDIATE")
            with ThreadPoolExecutor(count) as pool:
                runs = [pool.submit(publish_clip, ctx, clip_id, t[0]) for ctx, t in publishers]
                time.sleep(READ_S)
                meanwhile(lock)
                lock.execute("COMMIT")
                return [run.result(timeout=60) for run in runs]
        finally:
            lock.close()
    finally:
        for ctx, targets in publishers:
            close_targets(targets)
            ctx.close()


def test_two_publishers_at_once_post_a_clip_once(
    isolated_env: Path, telegram_only: tuple[Settings, FakeTelegram]
) -> None:
    settings, telegram = telegram_only
    catalog = open_catalog(settings)
    try:
        clip = approved_clip(catalog, isolated_env)
        publication(catalog, clip, "telegram")  # the pending row every run's `due` reads
    finally:
        catalog.close()

    outcomes = publish_at_once(settings, clip, 2, lambda _: None)

    [done] = [o for o in outcomes if o is not None]
    assert outcomes.count(None) == 1  # the other stepped aside without calling Telegram
    assert (done.status, done.attempts) == ("published", 1)
    assert len(telegram.send_video_calls()) == 1 and len(telegram.messages) == 1


def test_a_clip_rejected_while_its_publisher_waits_is_not_posted(
    isolated_env: Path, telegram_only: tuple[Settings, FakeTelegram]
) -> None:
    settings, telegram = telegram_only
    catalog = open_catalog(settings)
    try:
        clip = approved_clip(catalog, isolated_env)
        publication(catalog, clip, "telegram")
    finally:
        catalog.close()

    def reject(lock: sqlite3.Connection) -> None:  # a person's decision, landing first
        lock.execute("UPDATE clips SET status = 'rejected' WHERE id = ?", (clip,))

    assert publish_at_once(settings, clip, 1, reject) == [None]
    assert telegram.send_video_calls() == [] and telegram.messages == []
    catalog = open_catalog(settings)
    try:
        row = publication(catalog, clip, "telegram")
        assert (row.status, row.attempts) == ("pending", 0)
    finally:
        catalog.close()
