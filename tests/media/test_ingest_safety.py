"""What a careless or hostile inbox holds: links, pipes, playlists, names that are not UTF-8,
footage too long, files still being written. Nothing is followed, nothing outside the workspace
is read or changed, the library holds only checked copies, and nothing in the inbox is lost."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from config import load_settings
from media import ingest
from media.ffmpeg import file_arg, run_ffmpeg
from media.ingest import WorkspaceDirs, ingest_all, pending_files
from media.library import sha256_of
from media.probe import MediaInfo, probe
from tests.helpers import data

LINK_FIX = "copy the file itself into the inbox, not a link"


def _dirs(workspace: Path) -> WorkspaceDirs:
    dirs = WorkspaceDirs.under(workspace)
    dirs.inbox.mkdir(parents=True)
    return dirs


@pytest.fixture
def dirs(tmp_path: Path) -> WorkspaceDirs:
    return _dirs(tmp_path / "ws")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Files outside the workspace that links in the inbox point at."""
    folder = tmp_path / "outside"
    (folder / "talks").mkdir(parents=True)
    (folder / "secret.env").write_text("TOKEN=s3cret\n", encoding="utf-8")
    shutil.copy(data("jfk.wav"), folder / "talk.wav")
    shutil.copy(data("jfk.wav"), folder / "talks" / "more.wav")
    return folder


def _files(root: Path) -> list[Path]:
    """Every entry under `root`, without following links to folders."""
    found = []
    for folder, dirnames, filenames in os.walk(root):
        found += [Path(folder, name) for name in filenames + dirnames]
    return found


def _snapshot(root: Path) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mode) for p in _files(root) if p.is_file()}


def test_links_pipes_and_hard_links_are_set_aside_and_never_followed(
    dirs: WorkspaceDirs, outside: Path
) -> None:
    inbox = dirs.inbox
    (inbox / "environ.mp4").symlink_to(outside / "secret.env")
    (inbox / "talk.wav").symlink_to(outside / "talk.wav")
    (inbox / "talks").symlink_to(outside / "talks", target_is_directory=True)
    (inbox / "gone.mp4").symlink_to(outside / "gone.mp4")
    os.link(outside / "talk.wav", inbox / "hard.wav")
    os.mkfifo(inbox / "pipe.wav")
    before = _snapshot(outside)

    outcomes = ingest_all(pending_files(inbox), dirs, lambda sha: False)

    by_name = {o.source_name: o for o in outcomes}
    assert set(by_name) == {"environ.mp4", "talk.wav", "talks", "gone.mp4", "hard.wav", "pipe.wav"}
    for name, outcome in by_name.items():
        assert outcome.kind == "rejected" and outcome.path.parent == dirs.rejected, name
        reason_file = outcome.path.with_name(outcome.path.name + ".reason.txt")
        assert outcome.reason in reason_file.read_text(encoding="utf-8")
    for name in ("environ.mp4", "talk.wav", "talks", "gone.mp4"):
        assert by_name[name].path.is_symlink(), name  # the link itself, moved
        assert LINK_FIX in by_name[name].reason
    assert "hard link" in by_name["hard.wav"].reason and LINK_FIX in by_name["hard.wav"].reason
    assert "pipe" in by_name["pipe.wav"].reason
    assert stat.S_ISFIFO(os.lstat(by_name["pipe.wav"].path).st_mode)

    assert _snapshot(outside) == before  # nothing outside was moved, changed or made read-only
    assert not dirs.library.exists()
    copies = [p for p in _files(dirs.library.parent) if p.is_file() and not p.is_symlink()]
    assert not any(b"s3cret" in p.read_bytes() for p in copies)
    assert list(inbox.iterdir()) == []
    assert ingest_all(pending_files(inbox), dirs, lambda sha: False) == []  # said once


def test_a_folder_swapped_for_a_link_after_listing_is_not_followed(
    dirs: WorkspaceDirs, outside: Path
) -> None:
    day = dirs.inbox / "day 1"
    day.mkdir()
    (day / "notes.mp4").write_text("notes, not a video\n", encoding="utf-8")
    (outside / "notes.mp4").write_text("someone else's notes\n", encoding="utf-8")
    listed = pending_files(dirs.inbox)
    day.rename(dirs.inbox / ".put away")
    day.symlink_to(outside, target_is_directory=True)  # between listing and filing
    before = _snapshot(outside)

    assert ingest_all(listed, dirs, lambda sha: False) == []  # nothing filed: next run

    assert _snapshot(outside) == before
    [outcome] = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False)
    assert outcome.source_name == "day 1" and outcome.kind == "rejected"
    assert outcome.path.is_symlink() and _snapshot(outside) == before


def test_a_linked_sidecar_or_clips_file_holds_the_footage_unread(
    dirs: WorkspaceDirs, outside: Path
) -> None:
    shutil.copy(data("jfk.wav"), dirs.inbox / "talk.wav")
    (outside / "secret.yaml").write_text("title: TOKEN=s3cret\n", encoding="utf-8")
    (dirs.inbox / "talk.yaml").symlink_to(outside / "secret.yaml")
    shutil.copy(data("jfk.wav"), dirs.inbox / "other.wav")
    (dirs.inbox / "other.wav").write_bytes((dirs.inbox / "other.wav").read_bytes() + b"\0\0")
    (dirs.inbox / "other.clips.yaml").symlink_to(outside / "secret.yaml")

    outcomes = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False)

    assert [o.kind for o in outcomes] == ["held", "held"]
    for outcome in outcomes:
        assert LINK_FIX in outcome.reason and "s3cret" not in outcome.reason
    assert (dirs.inbox / "talk.yaml").is_symlink() and (dirs.inbox / "talk.wav").exists()
    assert not dirs.library.exists()


def test_a_copier_still_writing_never_writes_into_the_library(dirs: WorkspaceDirs) -> None:
    """The library original used to be a hard link of the inbox file: a copy that stalled past
    the quiet period went on writing into it."""
    source = dirs.inbox / "talk.wav"
    shutil.copy(data("jfk.wav"), source)
    with source.open("ab") as copier:
        [outcome] = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False)
        copier.write(b"\0" * 4096)
        copier.flush()

    assert outcome.kind == "accepted"
    assert sha256_of(outcome.path) == outcome.sha256 == sha256_of(data("jfk.wav"))
    assert outcome.path.stat().st_nlink == 1


def test_a_file_written_while_it_is_filed_stays_for_the_next_run(
    dirs: WorkspaceDirs, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    source = dirs.inbox / "talk.wav"
    shutil.copy(data("jfk.wav"), source)

    def probe_while_a_copier_writes(path: Path, *args: int | None) -> MediaInfo:
        info = probe(path, *args)
        with path.open("ab") as copier:
            copier.write(b"\0" * 4096)
        return info

    monkeypatch.setattr(ingest, "probe", probe_while_a_copier_writes)
    with caplog.at_level(logging.WARNING):
        assert ingest_all([source], dirs, lambda sha: False) == []

    assert "talk.wav" in caplog.text and "next run" in caplog.text
    assert source.stat().st_size == data("jfk.wav").stat().st_size + 4096
    assert not [p for p in _files(dirs.library) if not p.is_dir()]
    monkeypatch.undo()
    [outcome] = ingest_all([source], dirs, lambda sha: False)
    assert outcome.kind == "accepted" and sha256_of(outcome.path) == outcome.sha256


def _create(folder: Path, name: bytes, content: bytes) -> None:
    fd = os.open(os.fsencode(folder) + b"/" + name, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)


def test_names_that_are_not_utf8_are_filed_and_shown_readably(dirs: WorkspaceDirs) -> None:
    _create(dirs.inbox, b"\xff\xfe.wav", data("jfk.wav").read_bytes())
    _create(dirs.inbox, b"caf\xe9 notes.mp4", b"interview notes, not a video\n" * 20)
    _create(dirs.inbox, b"r\xe9union\n.flac", data("tone_audio_short.flac").read_bytes())
    _create(dirs.inbox, b"r\xe9union\n.yaml", b"consent: everyone\n")

    outcomes = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False)

    kinds = {o.source_name: o.kind for o in outcomes}
    assert kinds == {
        "\ufffd\ufffd.wav": "accepted",
        "caf\ufffd notes.mp4": "rejected",
        "r\ufffdunion\ufffd.flac": "held",
    }
    for outcome in outcomes:  # the catalog stores these as UTF-8 text
        f"{outcome.source_name} {outcome.reason} {outcome.fingerprint}".encode()
        if outcome.kind != "held":  # a held file keeps its real name in the inbox
            str(outcome.path).encode()
    rejected = next(o for o in outcomes if o.kind == "rejected")
    reason = rejected.path.with_name(rejected.path.name + ".reason.txt").read_text("utf-8")
    assert "file: caf\ufffd notes.mp4" in reason and r"b'caf\xe9 notes.mp4'" in reason
    held = next(o for o in outcomes if o.kind == "held")
    assert "r\ufffdunion\ufffd.yaml, line 1" in held.reason
    assert len(list(dirs.inbox.iterdir())) == 2  # the held footage and its sidecar wait


def test_a_playlist_in_the_inbox_is_rejected_and_never_opens_what_it_names(
    dirs: WorkspaceDirs,
) -> None:
    other = dirs.library / "ab" / "abcdef" / "original.ts"
    other.parent.mkdir(parents=True)
    run_ffmpeg(
        ["-y", "-i", file_arg(data("jfk.wav")), "-c:a", "aac", "-f", "mpegts", file_arg(other)]
    )
    (dirs.inbox / "stream.m3u8").write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:11\n#EXTINF:11.0,\n{other}\n#EXT-X-ENDLIST\n", "utf-8"
    )
    (dirs.inbox / "joined.txt").write_text(f"ffconcat version 1.0\nfile '{other}'\n", "utf-8")

    outcomes = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False)

    assert [o.kind for o in outcomes] == ["rejected", "rejected"]
    assert all("points at other files" in o.reason for o in outcomes)


def test_footage_longer_than_the_limit_is_rejected_with_what_to_do(dirs: WorkspaceDirs) -> None:
    shutil.copy(data("jfk.wav"), dirs.inbox / "long.wav")

    [outcome] = ingest_all(pending_files(dirs.inbox), dirs, lambda sha: False, 0, 5_000)

    assert outcome.kind == "rejected"
    assert "max_duration_hours" in outcome.reason and "cut it into shorter parts" in outcome.reason


def test_a_run_waits_only_while_something_in_the_inbox_changed_recently(
    dirs: WorkspaceDirs, tmp_path: Path
) -> None:
    talk = dirs.inbox / "talk.wav"
    shutil.copy(data("jfk.wav"), talk)
    slept: list[float] = []

    # Unchanged for a minute (or held for a sidecar fix): taken at once, no wait.
    assert pending_files(dirs.inbox, 5, lambda: time.time() + 60, slept.append) == [talk]
    assert slept == []
    # Just copied in: the run waits out the rest of the quiet period, then takes it.
    assert pending_files(dirs.inbox, 5, time.time, slept.append) == [talk]
    assert len(slept) == 1 and 4 < slept[0] <= 5

    def copier_goes_on(seconds: float) -> None:
        with talk.open("ab") as copier:
            copier.write(b"\0")

    assert pending_files(dirs.inbox, 5, time.time, copier_goes_on) == []  # next run
    (tmp_path / "empty").mkdir()
    assert pending_files(tmp_path / "empty", 5, time.time, slept.append) == []
    assert len(slept) == 1


def test_an_inbox_inside_a_hidden_folder_is_still_read(tmp_path: Path) -> None:
    dirs = _dirs(tmp_path / ".local" / "voices")
    shutil.copy(data("jfk.wav"), dirs.inbox / "talk.wav")
    (dirs.inbox / ".trash").mkdir()
    shutil.copy(data("jfk.wav"), dirs.inbox / ".trash" / "old.wav")

    assert pending_files(dirs.inbox) == [dirs.inbox / "talk.wav"]


def test_defaults_wait_five_quiet_seconds_and_take_up_to_four_hours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VOICES_INGEST__SETTLE_SECONDS")  # the tests' own setting
    settings = load_settings().ingest
    assert settings.settle_seconds == 5
    assert settings.max_duration_hours == 4
