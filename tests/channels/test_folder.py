"""FolderChannel on a real directory: exact copies, atomic names, found again by marker."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from catalog.models import SubtitleFiles
from channels.base import PublishRequest, TakedownRequest
from channels.errors import InvalidRequestError, TransientChannelError
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


def takedown_of(clip: PublishRequest, remote_id: str) -> TakedownRequest:
    return TakedownRequest(
        clip_id=clip.clip_id, channel="tv", remote_id=remote_id, marker=clip.marker
    )


def test_take_down_removes_the_clips_files_and_nothing_else(
    drop: Path, clip: PublishRequest
) -> None:
    folder = FolderChannel(drop, name="tv")
    # Neighbours: clip 70 (a name that starts like clip 7's), clip 8, and a person's own file.
    for neighbour_id in (70, 8):
        neighbour = clip.model_copy(
            update={"clip_id": neighbour_id, "marker": f"vc{neighbour_id}folder"}
        )
        folder.publish(neighbour, None, no_save)
    (drop / "7-notes-for-the-editor.txt").write_text("keep me", "utf-8")
    neighbours = {path.name: path.read_bytes() for path in drop.iterdir()}
    result = folder.publish(clip, None, no_save)
    assert len(list(drop.iterdir())) == len(neighbours) + 5

    first = folder.take_down(takedown_of(clip, result.remote_id))
    again = folder.take_down(takedown_of(clip, result.remote_id))

    assert {path.name: path.read_bytes() for path in drop.iterdir()} == neighbours
    base = "7-шайлоо-2025-voters-in-naryn"
    assert first.status == "deleted"
    assert first.answer.startswith(
        f"removed {base}.mp4, {base}.jpg, {base}.ky.srt, {base}.ky.vtt, {base}.json"
    )
    assert again.status == "already_gone"
    assert again.answer == (
        "no copy with its marker here; files no copy names, for a person to check: "
        "7-notes-for-the-editor.txt"
    )
    assert folder.find_existing(clip) is None


def test_take_down_never_follows_a_name_edited_to_point_elsewhere(
    tmp_path: Path, drop: Path, clip: PublishRequest
) -> None:
    folder = FolderChannel(drop)
    result = folder.publish(clip, None, no_save)
    neighbour = clip.model_copy(update={"clip_id": 8, "marker": "vc8folder"})
    theirs = folder.publish(neighbour, None, no_save).remote_id
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"not ours")
    metadata_path = drop / result.remote_id.replace(".mp4", ".json")
    metadata = json.loads(metadata_path.read_text("utf-8"))
    metadata["files"]["thumbnail"] = theirs
    metadata["files"]["subtitles"]["ky"]["srt"] = "../outside.mp4"
    metadata_path.write_text(json.dumps(metadata), "utf-8")

    assert folder.take_down(takedown_of(clip, result.remote_id)).status == "deleted"

    assert (drop / theirs).is_file() and outside.read_bytes() == b"not ours"
    assert not (drop / result.remote_id).exists() and not metadata_path.exists()


def test_take_down_of_an_unmounted_folder_is_not_taken_for_gone(
    tmp_path: Path, clip: PublishRequest
) -> None:
    folder = FolderChannel(tmp_path / "not-mounted", name="tv")

    with pytest.raises(TransientChannelError) as caught:
        folder.take_down(takedown_of(clip, "7-x.mp4"))

    message = str(caught.value)
    assert "tv: taking down clip 7" in message and "check that the drive is mounted" in message


def test_a_file_that_cannot_be_removed_says_so_and_a_retry_finishes(
    drop: Path, clip: PublishRequest
) -> None:
    folder = FolderChannel(drop)
    result = folder.publish(clip, None, no_save)
    base = result.remote_id.removesuffix(".mp4")
    stuck = drop / f"{base}.jpg"  # replaced by a folder: unlink fails, even for root
    stuck.unlink()
    stuck.mkdir()
    (stuck / "inside").write_bytes(b"x")

    with pytest.raises(TransientChannelError) as caught:
        folder.take_down(takedown_of(clip, result.remote_id))

    message = str(caught.value)
    assert f"taking down clip 7: could not remove {stuck}" in message
    assert f"removed so far: {base}.mp4" in message and f"'{base}.*' there by hand" in message
    assert not (drop / result.remote_id).exists()  # the video went first
    assert (drop / f"{base}.json").is_file()  # kept, so the next call finds the rest
    (stuck / "inside").unlink()
    stuck.rmdir()
    retry = folder.take_down(takedown_of(clip, result.remote_id))
    assert retry.status == "deleted" and retry.answer == (
        f"removed {base}.ky.srt, {base}.ky.vtt, {base}.json"
    )
    assert list(drop.iterdir()) == []
