"""FolderChannel on a real directory: exact copies, atomic names, found again by marker."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from catalog.models import SubtitleFiles
from channels.base import PublishRequest
from channels.errors import InvalidRequestError
from channels.folder import FolderChannel, slugify
from tests.helpers import data

VIDEO = data("auto_editor_example.mp4")
MARKER = "vc7folder91b2"


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "tv-drop"
    folder.mkdir()
    return folder


@pytest.fixture
def clip(tmp_path: Path) -> PublishRequest:
    sources = tmp_path / "render"
    sources.mkdir()
    (sources / "clip.ky.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nСалам\n", "utf-8")
    (sources / "clip.ky.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nСалам\n", "utf-8")
    (sources / "thumbnail.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9")
    subtitles = {"ky": SubtitleFiles(srt=sources / "clip.ky.srt", vtt=sources / "clip.ky.vtt")}
    return PublishRequest(
        clip_id=7,
        video=VIDEO,
        title="Шайлоо 2025: Voters in Naryn!",
        description="Short clip.",
        language="ky",
        subtitles=subtitles,
        thumbnail=sources / "thumbnail.jpg",
        marker=MARKER,
    )


def no_save(session: dict[str, Any]) -> None:
    raise AssertionError("a folder has no upload session to save")


def test_publish_copies_every_file_exactly_and_atomically(drop: Path, clip: PublishRequest) -> None:
    result = FolderChannel(drop, name="tv").publish(clip, None, no_save)

    base = "7-шайлоо-2025-voters-in-naryn"
    assert sorted(path.name for path in drop.iterdir()) == sorted(
        f"{base}{ext}" for ext in (".mp4", ".jpg", ".ky.srt", ".ky.vtt", ".json")
    )  # nothing else: no .partial left behind
    assert (drop / f"{base}.mp4").read_bytes() == VIDEO.read_bytes()
    assert clip.thumbnail is not None
    assert (drop / f"{base}.jpg").read_bytes() == clip.thumbnail.read_bytes()
    assert (drop / f"{base}.ky.srt").read_text("utf-8") == clip.subtitles["ky"].srt.read_text(
        "utf-8"
    )
    metadata = json.loads((drop / f"{base}.json").read_text("utf-8"))
    assert metadata["marker"] == MARKER
    assert (metadata["clip_id"], metadata["title"], metadata["language"]) == (7, clip.title, "ky")
    assert metadata["files"] == {
        "video": f"{base}.mp4",
        "thumbnail": f"{base}.jpg",
        "subtitles": {"ky": {"srt": f"{base}.ky.srt", "vtt": f"{base}.ky.vtt"}},
    }
    assert result.remote_id == f"{base}.mp4"
    assert result.url == (drop / f"{base}.mp4").resolve().as_uri()


def test_find_existing_by_marker_and_no_duplicate_on_second_publish(
    drop: Path, clip: PublishRequest
) -> None:
    folder = FolderChannel(drop)
    assert folder.find_existing(clip) is None
    first = folder.publish(clip, None, no_save)
    before = {path.name: path.stat().st_mtime_ns for path in drop.iterdir()}

    assert folder.find_existing(clip) == first
    retitled = clip.model_copy(update={"title": "A new title"})
    assert folder.publish(retitled, None, no_save) == first
    assert {path.name: path.stat().st_mtime_ns for path in drop.iterdir()} == before
    other = clip.model_copy(update={"marker": "another-channel-marker"})
    assert folder.find_existing(other) is None


def test_a_copy_cut_short_leaves_no_partial_and_is_not_counted(
    drop: Path, clip: PublishRequest
) -> None:
    gone = SubtitleFiles(srt=drop / "gone.srt", vtt=drop / "gone.vtt")
    broken = clip.model_copy(update={"subtitles": {"ky": gone}})

    with pytest.raises(InvalidRequestError, match=r"ky subtitles .* is missing"):
        FolderChannel(drop).publish(broken, None, no_save)

    assert not [path for path in drop.iterdir() if path.name.endswith(".partial")]
    assert not list(drop.glob("*.json"))
    assert FolderChannel(drop).find_existing(clip) is None
    FolderChannel(drop).publish(clip, None, no_save)  # a retry completes the copy
    assert FolderChannel(drop).find_existing(clip) is not None


def test_missing_folder_says_how_to_fix_it(tmp_path: Path, clip: PublishRequest) -> None:
    with pytest.raises(InvalidRequestError, match="create it, or check that the drive is mounted"):
        FolderChannel(tmp_path / "not-mounted").publish(clip, None, no_save)


def test_read_only_folder_says_how_to_fix_it(clip: PublishRequest) -> None:
    # A folder nobody may write to, root included (CI runs as root): the kernel's /proc.
    unwritable = Path("/proc/self")
    assert unwritable.is_dir() and not os.access(unwritable, os.W_OK)
    with pytest.raises(InvalidRequestError, match="cannot write"):
        FolderChannel(unwritable).publish(clip, None, no_save)
    with pytest.raises(InvalidRequestError, match="cannot write"):
        FolderChannel(unwritable).check()


def test_slugify() -> None:
    assert slugify("Шайлоо 2025: Voters in Naryn!") == "шайлоо-2025-voters-in-naryn"
    assert slugify("?!") == "clip"
    assert slugify("snake_case and  spaces") == "snake-case-and-spaces"
    assert len(slugify("word " * 50)) <= 60
