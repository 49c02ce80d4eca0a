"""Leases on SQLite and on a real PostgreSQL: compare-and-set, lapse, renewal, and many
processes racing for the same work (each unit taken by exactly one)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from catalog import leases
from catalog.store import Catalog
from pipeline.claims import Holding


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    url: str = request.getfixturevalue("fresh_database")
    return url


def test_a_lease_is_taken_by_one_holder_until_it_lapses(catalog_url: str, tmp_path: Path) -> None:
    catalog = Catalog(catalog_url, tmp_path / "workspace")
    try:
        assert leases.take(catalog, "footage:1", "a", 1.5)
        assert not leases.take(catalog, "footage:1", "b", 60)  # held
        assert leases.take(catalog, "footage:1", "a", 1.5)  # its holder may take it again
        assert set(leases.live(catalog, "footage:")) == {"footage:1"}
        time.sleep(1.7)
        assert leases.live(catalog) == {}
        assert not leases.renew(catalog, "footage:1", "b", 60)  # not b's
        assert leases.take(catalog, "footage:1", "b", 60)  # lapsed: free for anyone
        assert not leases.renew(catalog, "footage:1", "a", 60)  # a lost it
        leases.release(catalog, "footage:1", "a")  # not a's: nothing happens
        assert leases.live(catalog)["footage:1"].holder == "b"
        leases.release(catalog, "footage:1", "b")
        assert leases.take(catalog, "footage:1", "c", 60)
    finally:
        catalog.close()


def test_a_holding_renews_its_leases_while_held(catalog_url: str, tmp_path: Path) -> None:
    catalog = Catalog(catalog_url, tmp_path / "workspace")
    try:
        with Holding(catalog, seconds=1.2) as held:
            assert held.take("footage:7")
            time.sleep(3)  # well past one lease: renewed every 0.4 s
            assert not leases.take(catalog, "footage:7", "other", 60)
            assert not held.lost("footage:7")
        assert leases.take(catalog, "footage:7", "other", 60)  # released on the way out
    finally:
        catalog.close()


def _race(
    url: str, workspace: str, holder: str, units: int, out: multiprocessing.Queue[str]
) -> None:
    catalog = Catalog(url, Path(workspace))
    try:
        for unit in range(units):
            if leases.take(catalog, f"footage:{unit}", holder, 60):
                out.put(f"{unit}:{holder}")
    finally:
        catalog.close()


def test_racing_processes_take_each_unit_once(catalog_url: str, tmp_path: Path) -> None:
    Catalog(catalog_url, tmp_path / "workspace").close()  # migrated before the race
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[str] = context.Queue()
    racers = [
        context.Process(
            target=_race, args=(catalog_url, str(tmp_path / "workspace"), f"w{n}", 40, out)
        )
        for n in range(4)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(120)
        assert racer.exitcode == 0
    taken = [out.get(timeout=5) for _ in range(40)]
    assert sorted(int(t.split(":")[0]) for t in taken) == list(range(40))
    assert out.empty()
