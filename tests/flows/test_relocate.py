"""A workspace moved with `mv` (or restored from a backup, or mounted elsewhere on a worker)
keeps working: status shows the new paths, a run re-does nothing and reads no transcript, the
portal serves every render byte for byte, and publishing finds every render."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import pipeline.clips
import pipeline.footage
from config import load_settings
from tests.helpers import data, mux_video, status, voices
from tests.portal import serve
from web.portal import create_app

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


def all_paths(report: dict[str, object]) -> list[str]:
    """Every string in the status report that names a file."""
    found: list[str] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value.startswith("/") and key != "url":
            found.append(value)

    walk(report)
    return found


@contextmanager
def counting_reads(workspace: Path) -> Iterator[dict[str, list[str]]]:
    """Records every file opened under the workspace's transcripts/ and every cue layout."""
    seen: dict[str, list[str]] = {"transcripts": [], "layouts": []}
    real_open = Path.open

    def open_(self: Path, *args: object, **kwargs: object) -> object:
        if self.is_relative_to(workspace / "transcripts"):
            seen["transcripts"].append(str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    def layout(*args: object, **kwargs: object) -> object:
        seen["layouts"].append("layout")
        raise AssertionError("a run with nothing new laid out cues")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "open", open_)
        patch.setattr(pipeline.footage, "layout_cues", layout)
        patch.setattr(pipeline.clips, "layout_cues", layout)
        yield seen


def test_a_moved_workspace_keeps_working(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICES_CLIPS__MIN_SECONDS", "4")
    monkeypatch.setenv("VOICES_CLIPS__MAX_CANDIDATES", "1")
    monkeypatch.setenv("VOICES_CLIPS__RENDER", '["vertical", "square"]')
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    mux_video(data("jfk.wav"), inbox / "address.mp4")
    (inbox / "address.yaml").write_text("language: en\nconsent: public\n", "utf-8")
    code, output = voices("run")
    assert code == 0, output
    [footage] = status()["footage"]
    [clip] = footage["clips"]
    assert set(clip["renders"]) == {"vertical", "square"}
    renders = {name: Path(path).read_bytes() for name, path in clip["renders"].items()}
    stamps = {name: Path(path).stat().st_mtime_ns for name, path in clip["renders"].items()}
    assert voices("approve", str(clip["id"]))[0] == 0
    code, added = voices("partners", "add", "School 12")
    assert code == 0, added
    token = re.search(r"token=([A-Za-z0-9_-]{43})", added)
    assert token is not None

    moved = tmp_path / "restored" / "workspace"
    moved.parent.mkdir()
    shutil.move(isolated_env, moved)
    monkeypatch.setenv("VOICES_WORKSPACE", str(moved))

    report = status()
    paths = all_paths(report)
    assert paths and all(p.startswith(f"{moved}/") for p in paths), paths
    assert all(Path(p).exists() for p in paths)
    [clip_now] = report["footage"][0]["clips"]

    with counting_reads(moved) as seen:
        code, output = voices("run")
    assert code == 0 and "Nothing new" in output, output
    assert seen == {"transcripts": [], "layouts": []}
    for name, path in clip_now["renders"].items():
        assert Path(path).stat().st_mtime_ns == stamps[name]  # nothing rendered again
    # The counter does count: a real read of the transcript is seen.
    transcript = Path(report["footage"][0]["transcript"])
    with counting_reads(moved) as seen, transcript.open(encoding="utf-8") as handle:
        json.load(handle)
    assert seen["transcripts"]

    with serve(create_app(load_settings())) as base:
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for name, expected in renders.items():
                got = http.get(f"/clips/{clip_now['id']}/video/{name}?download=1")
                assert got.status_code == 200 and got.content == expected

    drop = tmp_path / "drop"
    drop.mkdir()
    monkeypatch.setenv("VOICES_FOLDER__ENABLED", "true")
    monkeypatch.setenv("VOICES_FOLDER__PATH", str(drop))
    monkeypatch.setenv("VOICES_FOLDER__PROFILE", "square")
    code, output = voices("publish")
    assert code == 0, output
    [published] = status()["footage"][0]["clips"][0]["publications"]
    assert published["channel"] == "folder" and published["status"] == "published"
    videos = list(drop.rglob("*.mp4"))
    assert [v.read_bytes() for v in videos] == [renders["square"]]
