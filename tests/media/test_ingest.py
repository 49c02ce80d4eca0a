"""Ingest on real media and on the kinds of bad input staff really drop in an inbox."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from media.ffmpeg import file_arg, run_ffmpeg
from media.ingest import WorkspaceDirs, ingest_all, pending_files
from media.library import sha256_of
from tests.helpers import data, mux_video


def _digests(root: Path) -> set[str]:
    return {sha256_of(p) for p in root.rglob("*") if p.is_file() and not p.name.endswith(".txt")}


def make_bad_inputs(inbox: Path, scratch: Path) -> dict[str, str]:
    """Write each kind of unusable file into `inbox`; return name -> words its reason must hold."""
    scratch.mkdir(parents=True, exist_ok=True)
    (inbox / "empty.mp4").write_bytes(b"")
    (inbox / "notes.mp4").write_text("interview notes, not a video\n" * 20)
    (inbox / "noise.wav").write_bytes(os.urandom(50_000))
    (inbox / "document.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    whole = mux_video(data("jfk.wav"), scratch / "whole.mp4")
    (inbox / "moov_missing.mov").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    faststart = mux_video(data("jfk.wav"), scratch / "fs.mp4", extra=("-movflags", "+faststart"))
    (inbox / "cut_off.mp4").write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 3])
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            file_arg(inbox / "no_sound.mp4"),
        ]
    )
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240",
            "-frames:v",
            "1",
            file_arg(inbox / "photo.jpg"),
        ]
    )
    (inbox / "header_only.wav").write_bytes(data("jfk.wav").read_bytes()[:44])
    run_ffmpeg(["-y", "-i", file_arg(data("jfk.wav")), "-t", "0.2", file_arg(inbox / "blip.wav")])
    return {
        "empty.mp4": "empty",
        "notes.mp4": "not a media file",
        "noise.wav": "not a media file",
        "document.pdf": "not a media file",
        "moov_missing.mov": "not a media file",
        "cut_off.mp4": "cut off",
        "no_sound.mp4": "no audio",
        "photo.jpg": "no audio",
        "header_only.wav": "not a media file",
        "blip.wav": "too short",
    }


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
    assert len(expected) >= 8
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
    # A settle window during which the file grows: it is left for later.
    import threading

    def grow() -> None:
        with growing.open("ab") as handle:
            handle.write(b"\0" * 1000)

    timer = threading.Timer(0.1, grow)
    timer.start()
    assert pending_files(dirs.inbox, settle_seconds=0.5) == []
    timer.join()
