"""Tracks in other languages through the real pipeline: a machine translation from the Google
Cloud Translation stand-in (real client), a failing service, a person's translation file, and
a different language burned into each render profile."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
import srt

from subtitles.layout import check_rules
from subtitles.models import Cue, ReadingRules
from tests.helpers import data, status, voices
from tests.subtitles.fake_translate import API_KEY, SERVICE_DISABLED, FakeTranslate
from tests.subtitles.test_languages_in import joined

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


@pytest.fixture
def translate(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTranslate]:
    fake = FakeTranslate().start()
    monkeypatch.setenv("VOICES_TRANSLATION__PROVIDER", "google")
    monkeypatch.setenv("VOICES_TRANSLATION__API_KEY", API_KEY)
    monkeypatch.setenv("VOICES_TRANSLATION__API_ENDPOINT", fake.url)
    monkeypatch.setenv("VOICES_TRANSLATION__TRANSLATE_TO", '["ru"]')
    monkeypatch.setenv("VOICES_CLIPS__MIN_SECONDS", "4")
    monkeypatch.setenv("VOICES_CLIPS__MAX_CANDIDATES", "1")
    monkeypatch.setenv("VOICES_CLIPS__RENDER", '["vertical", "square"]')
    try:
        yield fake
    finally:
        fake.stop()


def cues_of(path: str) -> list[Cue]:
    return [
        Cue(
            start_ms=int(s.start.total_seconds() * 1000),
            end_ms=int(s.end.total_seconds() * 1000),
            lines=tuple(s.content.splitlines()),
        )
        for s in srt.parse(Path(path).read_text("utf-8"))
    ]


def drop(workspace: Path, name: str, consent: str = "partners") -> None:
    inbox = workspace / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(data("jfk.wav"), inbox / f"{name}.wav")
    (inbox / f"{name}.yaml").write_text(f"language: en\nconsent: {consent}\n", "utf-8")


def white_in_caption_band(video: Path, at_s: float, height_share: float = 0.35) -> int:
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= at_s:
                picture = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.int32)
                band = picture[int(picture.shape[0] * (1 - height_share)) :]
                return int(np.count_nonzero(np.all(band > 200, axis=2)))
    raise AssertionError(f"{video} has no frame at {at_s} s")


def test_a_machine_translation_and_per_profile_captions(
    isolated_env: Path, translate: FakeTranslate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICES_CLIPS__CAPTIONS_BY_PROFILE", '{"vertical": "ru", "square": "none"}')
    drop(isolated_env, "address")

    code, output = voices("run")

    assert code == 0, output
    [footage] = status()["footage"]
    assert footage["subtitles"]["en"]["source"] == "machine"
    russian = footage["subtitles"]["ru"]
    assert russian["source"] == "translated"
    cues = cues_of(russian["srt"])
    assert cues and "ru:" in cues[0].text
    assert check_rules(cues, ReadingRules()) == []
    assert translate.requests and all(r.target == "ru" for r in translate.requests)
    [clip] = footage["clips"]
    assert set(clip["subtitles"]) == {"en", "ru"}
    vertical, square = (Path(clip["renders"][p]) for p in ("vertical", "square"))
    burned = vertical.with_suffix(".ass").read_text("utf-8")
    assert "ru:" in burned and "ask not" not in burned.lower()  # Russian burned in vertical
    assert not square.with_suffix(".ass").exists()  # none burned in square
    middle = (clip["end"] - clip["start"]) / 2
    assert white_in_caption_band(vertical, middle) > 500
    assert white_in_caption_band(square, middle) == 0


def burned_lines(render: Path) -> list[str]:
    """The caption lines of a render's ASS file (each Dialogue's text, split at its breaks)."""
    dialogues = [
        line.split(",", 9)[9]
        for line in render.with_suffix(".ass").read_text("utf-8").splitlines()
        if line.startswith("Dialogue:")
    ]
    return [part for text in dialogues for part in text.split("\\N")]


def test_each_language_reads_under_its_own_rules(
    isolated_env: Path, translate: FakeTranslate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`subtitles.languages` changes the rules of one language only: its track, its clip
    subtitles and the captions burned in it; changing another's remakes only the other's."""
    monkeypatch.setenv("VOICES_CLIPS__CAPTIONS_BY_PROFILE", '{"vertical": "en", "square": "ru"}')
    monkeypatch.setenv("VOICES_SUBTITLES__LANGUAGES", '{"en": {"max_line_chars": 22}}')
    drop(isolated_env, "address")

    code, output = voices("run")

    assert code == 0, output
    [footage] = status()["footage"]
    english, russian = (cues_of(footage["subtitles"][lang]["srt"]) for lang in ("en", "ru"))
    assert check_rules(english, ReadingRules(max_line_chars=22)) == []
    assert check_rules(russian, ReadingRules()) == []
    longest = {
        lang: max(len(line) for cue in cues for line in cue.lines)
        for lang, cues in (("en", english), ("ru", russian))
    }
    assert longest["en"] <= 22 < longest["ru"]
    [clip] = footage["clips"]
    clip_en = cues_of(clip["subtitles"]["en"]["srt"])
    assert clip_en and all(len(line) <= 22 for cue in clip_en for line in cue.lines)
    vertical, square = (Path(clip["renders"][p]) for p in ("vertical", "square"))
    assert max(len(line) for line in burned_lines(vertical)) <= 22  # English, burned
    assert max(len(line) for line in burned_lines(square)) > 22  # Russian: square's 30

    english_file = Path(footage["subtitles"]["en"]["srt"])
    stamp, asked = english_file.stat().st_mtime_ns, len(translate.requests)
    monkeypatch.setenv(
        "VOICES_SUBTITLES__LANGUAGES", '{"en": {"max_line_chars": 22}, "ru": {"max_cps": 15}}'
    )

    assert voices("run")[0] == 0

    [after] = status()["footage"]
    assert after["subtitles"]["en"]["srt"] == str(english_file)  # English left as it was
    assert english_file.stat().st_mtime_ns == stamp
    assert after["subtitles"]["ru"]["srt"] != footage["subtitles"]["ru"]["srt"]
    assert check_rules(cues_of(after["subtitles"]["ru"]["srt"]), ReadingRules(max_cps=15)) == []
    assert len(translate.requests) == asked  # laid out again, not translated again


def test_a_failing_service_leaves_the_footage_processed_and_is_tried_again(
    isolated_env: Path, translate: FakeTranslate
) -> None:
    translate.always = SERVICE_DISABLED
    drop(isolated_env, "address")

    code, output = voices("run")

    assert code == 0, output
    [footage] = status()["footage"]
    assert footage["status"] == "processed" and set(footage["subtitles"]) == {"en"}
    assert "no ru track yet" in footage["error"] and "enable" in footage["error"].lower()
    assert API_KEY not in output and API_KEY not in footage["error"]
    assert not list((isolated_env / "transcripts").rglob("translate.*"))  # nothing partial
    translate.always = None
    assert voices("run")[0] == 0
    [footage] = status()["footage"]
    assert footage["subtitles"]["ru"]["source"] == "translated" and not footage["error"]


def test_internal_footage_is_not_sent_but_a_persons_translation_is_used(
    isolated_env: Path, translate: FakeTranslate
) -> None:
    drop(isolated_env, "private", consent="internal")
    assert voices("run")[0] == 0
    [footage] = status()["footage"]
    assert set(footage["subtitles"]) == {"en"} and not translate.requests
    spoken = cues_of(footage["subtitles"]["en"]["srt"])
    lines = [
        f"{n}\n{srt.timedelta_to_srt_timestamp(srt.timedelta(milliseconds=c.start_ms))} --> "
        f"{srt.timedelta_to_srt_timestamp(srt.timedelta(milliseconds=c.end_ms))}\n"
        f"Перевод реплики {n}\n"
        for n, c in enumerate(spoken, start=1)
    ]
    (isolated_env / "inbox" / "private.ru.srt").write_text("\n".join(lines), "utf-8")

    assert voices("run")[0] == 0

    [footage] = status()["footage"]
    russian = footage["subtitles"]["ru"]
    assert russian["source"] == "imported" and not translate.requests
    assert cues_of(russian["srt"])[0].text.startswith("Перевод реплики")
    library = Path(footage["path"]).parent
    assert (library / "translation.ru.srt").is_file()
    assert not (isolated_env / "inbox" / "private.ru.srt").exists()


def test_a_corrected_transcript_is_aligned_and_used_from_then_on(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICES_CLIPS__MIN_SECONDS", "4")
    monkeypatch.setenv("VOICES_CLIPS__MAX_CANDIDATES", "1")
    monkeypatch.setenv("VOICES_CLIPS__RENDER", '["square"]')
    drop(isolated_env, "address")
    assert voices("run")[0] == 0
    [footage] = status()["footage"]
    machine = footage["transcript"]
    spoken = cues_of(footage["subtitles"]["en"]["srt"])
    corrected = "\n".join(
        f"{n}\n{srt.timedelta_to_srt_timestamp(srt.timedelta(milliseconds=c.start_ms))} --> "
        f"{srt.timedelta_to_srt_timestamp(srt.timedelta(milliseconds=c.end_ms))}\n"
        f"{c.text.replace('Americans', 'citizens')}\n"
        for n, c in enumerate(spoken, start=1)
    )
    assert "citizens" in corrected
    fix = tmp_path / "fixed.srt"
    fix.write_text(corrected, "utf-8")
    code, output = voices("correct", str(footage["id"]), str(fix))
    assert code == 0, output
    [before] = footage["clips"]
    stamp = Path(before["renders"]["square"]).stat().st_mtime_ns

    assert voices("run")[0] == 0

    [footage] = status()["footage"]
    assert footage["transcript"] != machine and "corrected." in footage["transcript"]
    assert Path(machine).is_file()  # the machine's is kept beside it
    english = footage["subtitles"]["en"]
    assert english["source"] == "corrected"
    text = " ".join(c.text for c in cues_of(english["srt"]))
    assert "citizens" in text and "Americans" not in text
    [clip] = footage["clips"]
    assert Path(clip["renders"]["square"]).stat().st_mtime_ns != stamp  # its captions changed
    assert voices("run")[1].startswith("Nothing new")  # and only once


def test_a_code_switched_interview_keeps_both_languages(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sidecar's `languages: [ru, en]`: each stretch is heard in its own language, every
    segment says which, and the spoken track (keyed by the main language) keeps them all."""
    monkeypatch.setenv("VOICES_CLIPS__RENDER", "[]")
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    joined(data("tone_audio_short.flac"), data("jfk.wav"), inbox / "mixed.wav")
    (inbox / "mixed.yaml").write_text("languages: [ru, en]\nconsent: partners\n", "utf-8")

    assert voices("run")[0] == 0

    [footage] = status()["footage"]
    transcript = json.loads(Path(footage["transcript"]).read_text("utf-8"))
    assert {segment["language"] for segment in transcript["segments"]} == {"ru", "en"}
    assert footage["language"] == "en"  # most of the speech
    text = " ".join(c.text for c in cues_of(footage["subtitles"]["en"]["srt"]))
    assert any("а" <= ch.lower() <= "я" for ch in text) and "country" in text.lower()
