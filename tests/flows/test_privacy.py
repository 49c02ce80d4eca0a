"""A footage whose sidecar says `faces: blur` and `redact: [white]`, through the real pipeline:
no face is detectable in any frame of its render, and the word is in no subtitle, caption or
title, and silent in the audio."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from media.audio import decode_audio
from media.faces import detect_faces
from tests.helpers import data, status, voices

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


def test_blurred_faces_and_a_redacted_word_through_the_pipeline(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICES_CLIPS__MIN_SECONDS", "1")
    monkeypatch.setenv("VOICES_CLIPS__RENDER", '["vertical"]')
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(data("grid_swwp2s.mpg"), inbox / "grid.mpg")  # "set white with p two soon"
    (inbox / "grid.yaml").write_text(
        "language: en\nconsent: public\nfaces: blur\nredact: [White]\n", "utf-8"
    )
    (inbox / "grid.clips.yaml").write_text("clips:\n  - start: 0\n    end: 2.9\n", "utf-8")

    code, output = voices("run")

    assert code == 0, output
    [footage] = status()["footage"]
    [clip] = footage["clips"]
    transcript = Path(footage["transcript"]).read_text("utf-8").lower()
    assert "white" in transcript  # the machine heard it: the redaction has work to do
    texts = [
        clip["title"],
        clip["text"],
        clip["description"],
        *(Path(footage["subtitles"]["en"][kind]).read_text("utf-8") for kind in ("srt", "vtt")),
        *(
            Path(p).read_text("utf-8")
            for kinds in clip["subtitles"].values()
            for p in kinds.values()
        ),
    ]
    for text in texts:
        assert "white" not in text.lower()
    assert any("***" in text for text in texts[3:])

    render = Path(clip["renders"]["vertical"])
    with av.open(str(render)) as container:
        frames = [
            np.asarray(f.to_ndarray(format="rgb24"), dtype=np.uint8)
            for f in container.decode(video=0)
        ]
    assert len(frames) > 50
    assert [i for i, frame in enumerate(frames) if detect_faces(frame)] == []
    original = inbox.parent / "library"
    [source] = list(original.rglob("original*"))
    with av.open(str(source)) as container:
        first = np.asarray(next(container.decode(video=0)).to_ndarray(format="rgb24"), np.uint8)
    assert detect_faces(first)  # the source does show a face

    start, end = _word_span(Path(footage["transcript"]), "white")
    middle = (start + end) // 2 - round(clip["start"] * 1000)  # in the clip
    audio = decode_audio(render)  # 16 kHz mono
    muted = audio[(middle - 40) * 16 : (middle + 40) * 16]
    spoken = audio[: max(0, (middle - 300) * 16)]
    assert np.sqrt(np.mean(muted**2)) < 1e-3
    assert spoken.size and np.sqrt(np.mean(spoken**2)) > 1e-2  # the rest still speaks


def _word_span(transcript: Path, wanted: str) -> tuple[int, int]:
    segments = json.loads(transcript.read_text("utf-8"))["segments"]
    for segment in segments:
        for word in segment["words"]:
            if wanted in word["text"].lower():
                return int(word["start_ms"]), int(word["end_ms"])
    raise AssertionError(f"no {wanted!r} in {transcript}")
