"""Originals are copied from one descriptor, checked on disk, and only then named; the source
goes last. Links are never followed, and a source that changes on the way stays where it is."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from media import library
from media.clipfile import read_clip_file
from media.errors import NotAFileError, SourceChangedError
from media.library import move_intact, sha256_of

FOOTAGE = b"footage " * 1000


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "inbox" / "interview.mp4"
    path.parent.mkdir()
    path.write_bytes(FOOTAGE)
    return path


def test_a_move_copies_checks_and_leaves_one_file_and_no_partial(
    source: Path, tmp_path: Path
) -> None:
    sha256 = sha256_of(source)

    target = move_intact(source, tmp_path / "library" / "interview.mp4", sha256)

    assert sha256_of(target) == sha256 and not source.exists()
    assert [path.name for path in target.parent.iterdir()] == ["interview.mp4"]
    assert target.stat().st_nlink == 1


def test_a_writer_still_holding_the_source_never_writes_into_the_target(
    source: Path, tmp_path: Path
) -> None:
    """A copier that stalled and goes on writing: its bytes must not reach the library."""
    sha256 = sha256_of(source)
    with source.open("ab") as copier:
        target = move_intact(source, tmp_path / "library" / "interview.mp4", sha256)
        copier.write(b"the rest of the file")
        copier.flush()

    assert target.read_bytes() == FOOTAGE


def test_a_copy_damaged_on_the_way_keeps_the_source_and_leaves_nothing(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    real_fsync = os.fsync
    damaged: list[int] = []

    def lossy_disk(fd: int) -> None:
        if not damaged:  # the disk loses the first byte of the copy
            damaged.append(os.pwrite(fd, b"X", 0))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", lossy_disk)

    with pytest.raises(OSError, match="does not match the original") as caught:
        move_intact(source, library / "interview.mp4", sha256_of(source))

    assert caught.value.errno == errno.EIO
    assert source.read_bytes() == FOOTAGE
    assert list(library.iterdir()) == []


def test_a_source_that_changed_since_it_was_hashed_stays_and_nothing_is_filed(
    source: Path, tmp_path: Path
) -> None:
    sha256 = sha256_of(source)
    with source.open("ab") as copier:
        copier.write(b"more")
    library = tmp_path / "library"

    with pytest.raises(SourceChangedError, match="next run"):
        move_intact(source, library / "interview.mp4", sha256)

    assert source.read_bytes() == FOOTAGE + b"more"
    assert not library.exists() or list(library.iterdir()) == []


def test_links_are_never_followed_or_copied(source: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN=abc\n")
    link = source.with_name("secret.mp4")
    link.symlink_to(secret)
    hard = source.with_name("hard.mp4")
    os.link(secret, hard)
    library = tmp_path / "library"

    for entry in (link, hard):
        with pytest.raises(NotAFileError, match="copy the file itself into the inbox"):
            move_intact(entry, library / entry.name)

    assert not library.exists()
    assert link.is_symlink() and hard.exists() and secret.read_text() == "TOKEN=abc\n"


def test_set_aside_moves_a_link_itself_not_what_it_points_to(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN=abc\n")
    link = tmp_path / "inbox" / "secret.mp4"
    link.parent.mkdir()
    link.symlink_to(secret)

    moved = library.set_aside(link, tmp_path / "rejected" / "secret.mp4")

    assert moved.is_symlink() and os.readlink(moved) == str(secret)
    assert not os.path.lexists(link) and secret.read_text() == "TOKEN=abc\n"


def test_a_library_backed_up_with_hard_links_still_takes_a_new_sidecar(tmp_path: Path) -> None:
    """A backup by hard links (rsync --link-dest, cp -al) gives library files other names."""
    folder = tmp_path / "library" / "ab" / "abcdef"
    folder.mkdir(parents=True)
    (folder / "clips.yaml").write_text("clips: []\n", encoding="utf-8")
    os.link(folder / "clips.yaml", tmp_path / "backup-clips.yaml")
    dropped = tmp_path / "inbox" / "talk.clips.yaml"
    dropped.parent.mkdir()
    dropped.write_text("clips:\n  - {start: 1, end: 20}\n", encoding="utf-8")

    assert read_clip_file(folder / "clips.yaml").clips == ()
    library.replace_keeping_old(dropped, folder / "clips.yaml")

    assert len(read_clip_file(folder / "clips.yaml").clips) == 1
    assert sorted(p.name.split(".")[0] for p in folder.iterdir()) == ["clips", "clips"]
    assert (tmp_path / "backup-clips.yaml").read_text(encoding="utf-8") == "clips: []\n"
