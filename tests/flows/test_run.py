"""`voices run` and `voices status` end to end: real files, real models, real Prefect."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import srt
import webvtt

from catalog import leases
from catalog.leases import INBOX
from catalog.store import Catalog
from config import load_settings
from flows.process import process_flow
from pipeline.plan import rules_key
from subtitles.layout import check_rules
from subtitles.models import Cue, ReadingRules
from tests.helpers import by_name, data, make_bad_inputs, mux_video, status, voices

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


def read_cues(path: str) -> list[Cue]:
    subtitles = srt.parse(Path(path).read_text(encoding="utf-8"))
    return [
        Cue(
            start_ms=int(s.start.total_seconds() * 1000),
            end_ms=int(s.end.total_seconds() * 1000),
            lines=tuple(s.content.splitlines()),
        )
        for s in subtitles
    ]


def test_mixed_inbox_is_processed_and_a_rerun_does_nothing(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    mux_video(data("jfk.wav"), inbox / "interview 1.mp4")
    shutil.copy(inbox / "interview 1.mp4", inbox / "interview 1 (copy).mp4")
    shutil.copy(data("tone_audio_short.flac"), inbox / "голос матери.flac")
    (inbox / "голос матери.yaml").write_text(
        "language: ru\nconsent: partners\nsubtitle_profile: children\n", "utf-8"
    )
    shutil.copy(data("is2ai_example_1.wav"), inbox / "kyrgyz.wav")
    (inbox / "kyrgyz.yaml").write_text("language: ky\n", "utf-8")
    shutil.copy(data("is2ai_example_1.wav"), inbox / "kazakh.wav")
    with (inbox / "kazakh.wav").open("ab") as handle:  # other bytes: not a duplicate
        handle.write(b"\0" * 3200)
    (inbox / "kazakh.yaml").write_text("language: kk\n", "utf-8")
    shutil.copy(data("grid_swwp2s.mpg"), inbox / "held.mpg")
    (inbox / "held.yaml").write_text("title: x\nconsent: yes please\n", "utf-8")
    bad = make_bad_inputs(inbox, tmp_path / "scratch")
    # A model that is not there fails that footage only, with the fix in its message.
    monkeypatch.setenv("VOICES_TRANSCRIPTION__MODELS_BY_LANGUAGE", '{"kk": "/nowhere/model"}')

    code, output = voices("run")

    assert code == 1, output  # one footage failed
    report = by_name(status())
    copies = [report["interview 1.mp4"], report["interview 1 (copy).mp4"]]
    assert sorted(f["status"] for f in copies) == ["duplicate", "processed"]
    interview = next(f for f in copies if f["status"] == "processed")
    assert interview["language"] == "en"
    assert interview["duration"] == pytest.approx(11.0, abs=0.1)
    assert set(interview["subtitles"]) == {"en"}
    transcript = json.loads(Path(interview["transcript"]).read_text("utf-8"))
    assert "ask not what your country can do for you" in transcript["segments"][0]["text"]
    assert set(report["голос матери.flac"]["subtitles"]) == {"ru", "en"}
    assert report["голос матери.flac"]["consent"] == "partners"
    children = rules_key(load_settings().subtitles.rules("children"))[:8]
    assert f".ru.{children}.srt" in report["голос матери.flac"]["subtitles"]["ru"]["srt"]
    assert f".{rules_key(ReadingRules())[:8]}." in interview["subtitles"]["en"]["srt"]
    kyrgyz = report["kyrgyz.wav"]
    # No English gist from Whisper for a language it hears badly (it would invent), and its
    # machine transcript is a draft for a person to correct.
    assert kyrgyz["language"] == "ky" and set(kyrgyz["subtitles"]) == {"ky"}
    assert kyrgyz["subtitles"]["ky"]["draft"] is True
    assert report["голос матери.flac"]["subtitles"]["ru"]["draft"] is False
    assert report["kazakh.wav"]["status"] == "failed"
    assert "/nowhere/model" in report["kazakh.wav"]["error"]
    assert report["held.mpg"]["status"] == "held"
    assert "held.yaml, line 2" in report["held.mpg"]["error"]
    for name in bad:
        assert report[name]["status"] == "rejected" and report[name]["error"]
    rules = ReadingRules()
    for footage in report.values():
        for paths in footage["subtitles"].values():
            assert Path(paths["srt"]).is_absolute() and Path(paths["vtt"]).is_file()
            cues = read_cues(paths["srt"])
            assert cues and check_rules(cues, rules) == []
            with open(paths["vtt"], encoding="utf-8") as handle:
                vtt = webvtt.from_buffer(handle)
            assert [c.text.replace("\n", " ") for c in vtt.captions] == [c.text for c in cues]

    monkeypatch.delenv("VOICES_TRANSCRIPTION__MODELS_BY_LANGUAGE")
    code, output = voices("run")
    assert code == 0, output
    assert by_name(status())["kazakh.wav"]["status"] == "processed"

    code, output = voices("run")
    assert code == 0 and "Nothing new" in output
    assert by_name(status())["held.mpg"]["status"] == "held"  # still waiting for its fix


def test_changed_settings_redo_only_what_they_affect(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(data("jfk.wav"), inbox / "jfk.wav")
    catalog = Catalog(load_settings(isolated_env).catalog_url, isolated_env)
    # A scheduled run (or another worker) is filing the inbox.
    assert leases.take(catalog, INBOX, "elsewhere/1/a", 60)
    code, output = voices("run")
    assert code == 0 and "another run is filing the inbox" in output
    state = process_flow(str(isolated_env), return_state=True)
    assert state.name == "Skipped" and state.result().skipped  # not "Completed" (issue 14)
    assert (inbox / "jfk.wav").exists()  # left for the run that holds the inbox
    leases.release(catalog, INBOX, "elsewhere/1/a")
    catalog.close()
    assert voices("run")[0] == 0
    first = by_name(status())["jfk.wav"]
    transcript = Path(first["transcript"])
    stamp = transcript.stat().st_mtime_ns

    monkeypatch.setenv("VOICES_SUBTITLES__PROFILES__ADULT__MAX_LINE_CHARS", "24")
    assert voices("run")[0] == 0
    second = by_name(status())["jfk.wav"]
    assert second["transcript"] == first["transcript"]
    assert transcript.stat().st_mtime_ns == stamp  # not transcribed again
    assert second["subtitles"]["en"]["srt"] != first["subtitles"]["en"]["srt"]
    assert (
        max(len(line) for c in read_cues(second["subtitles"]["en"]["srt"]) for line in c.lines)
        <= 24
    )

    monkeypatch.setenv("VOICES_TRANSCRIPTION__COMPUTE_TYPE", "float32")
    assert voices("run")[0] == 0
    third = by_name(status())["jfk.wav"]
    assert third["transcript"] != first["transcript"]
    assert Path(third["transcript"]).is_file() and transcript.is_file()
