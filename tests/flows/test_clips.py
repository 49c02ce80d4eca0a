"""Clips end to end: proposed and staff-chosen clips, rendered, packaged, edited, and a failed
render that stops only its own clip."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import pytest

from tests.helpers import by_name, data, mux_video, status, voices

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


@pytest.fixture
def quick_clips(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short clips from short speech, two profiles, a fast encoder: same code paths."""
    for name, value in {
        "VOICES_CLIPS__MIN_SECONDS": "2",
        "VOICES_CLIPS__MAX_SECONDS": "12",
        "VOICES_CLIPS__RENDER": '["vertical", "tv"]',
        "VOICES_RENDER__PRESET": "ultrafast",
    }.items():
        monkeypatch.setenv(name, value)


def probe(path: str) -> tuple[int, int, float, float]:
    with av.open(path) as container:
        video = container.streams.video[0]
        seconds = float(container.duration or 0) / 1_000_000
        return video.width, video.height, float(video.average_rate or 0), seconds


@pytest.mark.usefixtures("quick_clips")
def test_clips_are_proposed_chosen_rendered_and_packaged(
    isolated_env: Path, tmp_path: Path
) -> None:
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    mux_video(data("jfk.wav"), inbox / "jfk speech.mp4")
    (inbox / "jfk speech.yaml").write_text(
        "language: en\ntitle: Inaugural\nconsent: partners\n"
        "people:\n  - {name: John, role: speaker, consent: partners}\n",
        "utf-8",
    )
    assert voices("run")[0] == 0
    [footage] = status()["footage"]
    assert footage["clips"] and all(c["origin"] == "auto" for c in footage["clips"])
    # The long steps showed their progress in Prefect, each up to 100%.
    shown = _progress_artifacts()
    assert shown.get("transcribe jfk speech.mp4") == 100
    clip = footage["clips"][0]["id"]
    assert shown.get(f"rendering clip {clip} of jfk speech.mp4") == 100

    (inbox / "jfk speech.clips.yaml").write_text(
        "clips:\n  - from: 'Ask not what your country'\n    to: 'do for you'\n"
        "    title: Ask not\n  - from: 'ask what your dog'\n    to: 'country'\n",
        "utf-8",
    )
    code, output = voices("run")

    assert code == 0, output
    footage = by_name(status())["jfk speech.mp4"]
    assert "ask what your dog" in footage["error"] and "closest words" in footage["error"]
    chosen = footage["clips"][0]
    assert (chosen["origin"], chosen["title"], chosen["rank"]) == ("chosen", "Ask not", 1)
    assert chosen["text"].lower().startswith("ask not what your country can do for you")
    assert chosen["status"] == "candidate"
    width, height, _fps, seconds = probe(chosen["renders"]["vertical"])
    assert (width, height) == (1080, 1920)
    assert seconds == pytest.approx(chosen["end"] - chosen["start"], abs=0.1)
    assert probe(chosen["renders"]["tv"])[:3] == (1920, 1080, 25.0)
    assert Path(chosen["thumbnail"]).stat().st_size > 1000
    srt = Path(chosen["subtitles"]["en"]["srt"]).read_text("utf-8")
    assert srt.startswith("1\n00:00:00,") and "Ask not" in srt.replace("ask not", "Ask not")
    package = Path(chosen["package"])
    metadata = json.loads((package / "metadata.json").read_text("utf-8"))
    assert metadata["title"] == "Ask not" and metadata["consent"] == "partners"
    assert "John" not in json.dumps(metadata)  # no names of people leave with a package
    assert (package / "vertical.mp4").read_bytes() == Path(
        chosen["renders"]["vertical"]
    ).read_bytes()

    assert voices("edit", str(chosen["id"]), "--title", "Не спрашивай")[0] == 0
    metadata = json.loads((package / "metadata.json").read_text("utf-8"))
    assert metadata["title"] == "Не спрашивай"
    assert "Nothing new" in voices("run")[1]
    table = voices("status")[1]  # what staff read: the footage, then its clips
    assert "jfk" in table and "Не спрашивай" in table and "candidate" in table


@pytest.mark.usefixtures("quick_clips")
def test_a_failed_render_marks_its_clip_and_the_rest_go_on(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    mux_video(data("jfk.wav"), inbox / "good.mp4")
    mux_video(data("tone_audio_short.flac"), inbox / "other.mp4")
    assert voices("run")[0] == 0
    report = by_name(status())
    assert report["good.mp4"]["clips"] and report["other.mp4"]["clips"], report
    original = Path(report["good.mp4"]["path"])
    original.chmod(0o644)  # the disk went bad under one original
    data_bytes = original.read_bytes()
    original.write_bytes(data_bytes[: len(data_bytes) // 3])
    monkeypatch.setenv("VOICES_RENDER__CRF", "28")  # a setting change: everything re-renders

    code, output = voices("run")

    assert code == 1, output
    report = by_name(status())
    broken = report["good.mp4"]["clips"]
    assert broken and all(c["status"] == "failed" for c in broken)
    assert all("vertical" in c["error"] for c in broken)
    fine = report["other.mp4"]["clips"]
    assert fine and all(c["status"] == "candidate" and c["renders"] for c in fine)
    shutil.rmtree(isolated_env / "clips", ignore_errors=True)


def _progress_artifacts() -> dict[str, float]:
    """Progress artifacts in the session's Prefect API: their latest value by description."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    body = {"artifacts": {"type": {"any_": ["progress"]}}, "sort": "UPDATED_DESC", "limit": 200}
    response = httpx.post(f"{PREFECT_API_URL.value()}/artifacts/filter", json=body, timeout=10)
    response.raise_for_status()
    return {a["description"] or "": float(a["data"]) for a in reversed(response.json())}
