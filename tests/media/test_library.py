"""Originals moved across disks: copied, checked against their hash, and only then named."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from media.library import move_intact, sha256_of


def other_disk(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    raise OSError(errno.EXDEV, "Invalid cross-device link")


def test_a_move_across_disks_copies_checks_and_leaves_no_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "inbox" / "interview.mp4"
    source.parent.mkdir()
    source.write_bytes(b"footage " * 1000)
    sha256 = sha256_of(source)
    monkeypatch.setattr(os, "link", other_disk)

    target = move_intact(source, tmp_path / "library" / "interview.mp4", sha256)

    assert sha256_of(target) == sha256 and not source.exists()
    assert [path.name for path in target.parent.iterdir()] == ["interview.mp4"]


def test_a_copy_that_does_not_match_keeps_the_source_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "interview.mp4"
    source.write_bytes(b"footage " * 1000)
    library = tmp_path / "library"
    monkeypatch.setattr(os, "link", other_disk)

    def damaged_copy(src: Path, dst: Path) -> None:
        shutil.copyfile(src, dst)
        with open(dst, "r+b") as out:
            out.write(b"X")  # one byte changed on the way

    monkeypatch.setattr(shutil, "copy2", damaged_copy)

    with pytest.raises(OSError, match="does not match the original") as caught:
        move_intact(source, library / "interview.mp4", sha256_of(source))

    assert caught.value.errno == errno.EIO
    assert source.read_bytes() == b"footage " * 1000
    assert list(library.iterdir()) == []
