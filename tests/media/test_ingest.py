"""Ingest on real media and on the kinds of bad input staff really drop in an inbox."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import pytest

from media.ingest import WorkspaceDirs, ingest_all, pending_files
from media.library import sha256_of
from tests.helpers import data, make_bad_inputs, mux_video


def _digests(root: Path) -> set[str]:
    return {sha256_of(p) for p in root.rglob("*") if p.is_file() and not p.name.endswith(".txt")}


@pytest.fixture
def dirs(tmp_path: Path) -> WorkspaceDirs:
    dirs = WorkspaceDirs.under(tmp_path / "ws")
    dirs.inbox.mkdir(parents=True)
    return dirs


def test_bad_inputs_are_rejected_with_reasons_and_nothing_is_lost(
    dirs: WorkspaceDirs, tmp_path: Path
) -> None:
    expected = make_bad_inputs(dirs.inbox, tmp_path / "scratch")
    shutil.copy(data("jfk.wav"), dirs.inbox / "Ветер и шаги — интервью.wav")
    mux_video(data("tone_audio_short.flac"), dirs.inbox / "interview 1.mp4")
    before = _digests(dirs.inbox)

    outcomes = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False, 500)

    by_name = {o.source_name: o for o in outcomes}
    for name, words in expected.items():
        outcome = by_name[name]
        assert outcome.kind == "rejected", name
        assert words in outcome.reason, (name, outcome.reason)
        assert outcome.path.parent == dirs.rejected
        reason_file = outcome.path.with_name(outcome.path.name + ".reason.txt")
        assert words in reason_file.read_text(encoding="utf-8")
    accepted = [o for o in outcomes if o.kind == "accepted"]
    assert {o.source_name for o in accepted} == {"Ветер и шаги — интервью.wav", "interview 1.mp4"}
    assert all(o.path.is_relative_to(dirs.library) for o in accepted)
    assert _digests(dirs.library) | _digests(dirs.rejected) == before
    assert not any(dirs.inbox.iterdir())


def test_library_keeps_originals_byte_for_byte_and_read_only(dirs: WorkspaceDirs) -> None:
    source = dirs.inbox / "jfk.wav"
    shutil.copy(data("jfk.wav"), source)
    expected = hashlib.sha256(data("jfk.wav").read_bytes()).hexdigest()

    [outcome] = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False)

    assert outcome.kind == "accepted"
    assert outcome.sha256 == expected
    assert sha256_of(outcome.path) == expected
    assert expected in str(outcome.path)
    assert outcome.path.stat().st_mode & 0o222 == 0
    assert outcome.info is not None and outcome.info.duration_ms == 11_000


def test_duplicates_are_set_aside_not_processed_twice(dirs: WorkspaceDirs) -> None:
    shutil.copy(data("jfk.wav"), dirs.inbox / "a.wav")
    shutil.copy(data("jfk.wav"), dirs.inbox / "copy of a.wav")

    outcomes = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False)

    assert sorted(o.kind for o in outcomes) == ["accepted", "duplicate"]
    duplicate = next(o for o in outcomes if o.kind == "duplicate")
    assert duplicate.path.parent == dirs.duplicates
    assert sha256_of(duplicate.path) == duplicate.sha256


def test_bad_sidecar_holds_the_footage_in_the_inbox_until_fixed(dirs: WorkspaceDirs) -> None:
    shutil.copy(data("jfk.wav"), dirs.inbox / "talk.wav")
    sidecar = dirs.inbox / "talk.yaml"
    sidecar.write_text("language: en\ntitle: Talk\nconsent: everyone\n", encoding="utf-8")

    [held] = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False)

    assert held.kind == "held"
    assert "talk.yaml, line 3" in held.reason and "consent" in held.reason
    assert (dirs.inbox / "talk.wav").exists() and sidecar.exists()

    sidecar.write_text("language: en\ntitle: Talk\nconsent: partners\n", encoding="utf-8")
    [accepted] = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False)

    assert accepted.kind == "accepted"
    assert accepted.sidecar is not None and accepted.sidecar.consent == "partners"
    assert (
        (accepted.path.parent / "sidecar.yaml").read_text(encoding="utf-8").endswith("partners\n")
    )


def test_files_still_being_copied_wait_for_the_next_run(dirs: WorkspaceDirs) -> None:
    growing = dirs.inbox / "growing.wav"
    growing.write_bytes(data("jfk.wav").read_bytes()[:1000])
    (dirs.inbox / ".DS_Store").write_bytes(b"x")
    (dirs.inbox / "clip.mp4.crdownload").write_bytes(b"x")

    assert pending_files(dirs.inbox) == [growing]
    # A copy in progress: the file grows all through the settle window, so it is left for later.
    copying = threading.Event()

    def grow() -> None:
        with growing.open("ab") as handle:
            while not copying.wait(0.05):
                handle.write(b"\0" * 1000)
                handle.flush()

    copier = threading.Thread(target=grow, daemon=True)
    copier.start()
    try:
        assert pending_files(dirs.inbox, settle_seconds=0.5) == []
    finally:
        copying.set()
        copier.join()
    assert pending_files(dirs.inbox, settle_seconds=0.2) == [growing]  # done: taken next time
