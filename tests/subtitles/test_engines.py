"""Both engines on real speech with the real Whisper base weights."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import jiwer
import pytest
import srt
import webvtt

from media.audio import decode_audio
from subtitles.engines import TranscribeOptions, transcribe
from subtitles.formats import srt_text, write_vtt
from subtitles.languages import decode_language
from subtitles.layout import check_rules, layout_cues
from subtitles.models import ReadingRules, Transcript
from subtitles.weights import resolve_model
from tests.helpers import data, reference

pytestmark = pytest.mark.slow


def normalise(text: str) -> str:
    text = text.lower().replace("[silence]", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def wer(hypothesis: str, truth: str) -> float:
    return float(jiwer.wer(normalise(truth), normalise(hypothesis)))


def run(engine: str, audio_file: Path, model_cache: Path, **options: object) -> Transcript:
    model = resolve_model("base", engine, model_cache)
    return transcribe(
        decode_audio(audio_file),
        TranscribeOptions.model_validate(
            {"engine": engine, "model": model, "model_label": "base", **options}
        ),
    )


def assert_word_times_sane(transcript: Transcript) -> None:
    words = transcript.words
    assert words
    for word in words:
        assert 0 <= word.start_ms <= word.end_ms <= transcript.duration_ms + 500
    starts = [w.start_ms for w in words]
    assert starts == sorted(starts)


@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_jfk_word_error_rate_is_low(engine: str, model_cache: Path) -> None:
    transcript = run(engine, data("jfk.wav"), model_cache, compute_type="float32")

    assert wer(transcript.text, reference("jfk.txt")) <= 0.10
    assert transcript.language == "en" and transcript.engine == engine
    assert transcript.model == "base"
    assert_word_times_sane(transcript)
    country = [w for w in transcript.words if w.text.startswith("country")]
    assert country and country[-1].end_ms > 9_000


def test_long_recording_end_to_end(bush_transcript: Transcript) -> None:
    transcript = bush_transcript

    assert transcript.duration_ms == pytest.approx(198_734, abs=50)
    assert transcript.language == "en"
    # Clear English read by one speaker: detection is near certain (0.99 with base, int8).
    assert transcript.language_probability is not None
    assert transcript.language_probability > 0.9
    # The reference is an edited ASR output with known errors of its own.
    assert wer(transcript.text, reference("bush_columbia_address_2003.txt")) <= 0.12
    assert_word_times_sane(transcript)
    assert transcript.segments[-1].end_ms > 185_000
    Transcript.model_validate_json(transcript.model_dump_json())
    for rules in (ReadingRules(), ReadingRules(max_cps=13)):  # adults, then children
        cues = layout_cues(transcript.words, rules)
        problems = check_rules(cues, rules)
        if rules.max_cps >= 17:
            assert problems == []
        else:  # an adult speaker read at a child's pace: a few cues cannot keep up
            # A few (2 of 39 with base, int8): some, but no more than one cue in ten.
            assert 0 < len(problems) <= len(cues) // 10, problems
            assert all("characters per second" in p for p in problems)
        shown = " ".join(cue.text for cue in cues)
        assert shown.split() == " ".join(w.text for w in transcript.words).split()
        parsed = list(srt.parse(srt_text(cues)))
        assert len(parsed) == len(cues)
        assert parsed[-1].end.total_seconds() * 1000 == pytest.approx(cues[-1].end_ms, abs=1)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bush.vtt"
            write_vtt(cues, path)
            assert len(webvtt.read(str(path)).captions) == len(cues)
    assert len(layout_cues(transcript.words, ReadingRules(max_cps=13))) >= len(
        layout_cues(transcript.words, ReadingRules())
    )


def test_kyrgyz_is_decoded_with_the_kazakh_token(model_cache: Path) -> None:
    """Whisper has no Kyrgyz token: Kyrgyz speech decodes as Kazakh, the record says Kyrgyz."""
    token = decode_language("ky", {"ky": "kk"})
    transcript = run(
        "faster-whisper",
        data("is2ai_example_1.wav"),
        model_cache,
        language=token,
        spoken_language="ky",
    )

    assert (transcript.language, transcript.spoken_language) == ("ky", "ky")
    assert transcript.decode_language == "kk"
    letters = [c for c in transcript.text if c.isalpha()]
    assert sum("\u0400" <= c <= "\u04ff" for c in letters) / len(letters) > 0.9
    # Kazakh letters that Russian lacks: the text stays in the Kazakh-Kyrgyz spelling.
    assert set(transcript.text) & set("әғқңөұүһі")
    # The base model's Kazakh is rough: words are misspelt, but it heard the right sounds.
    truth = normalise(reference("is2ai_example_1.txt"))
    assert float(jiwer.cer(truth, normalise(transcript.text))) < 0.5


def test_russian_gets_an_english_translation(model_cache: Path) -> None:
    transcript = run(
        "faster-whisper",
        data("tone_audio_short.flac"),
        model_cache,
        language="ru",
        spoken_language="ru",
        task="translate",
    )

    assert (transcript.language, transcript.spoken_language, transcript.task) == (
        "en",
        "ru",
        "translate",
    )
    letters = [c for c in transcript.text if c.isalpha()]
    assert letters and all(c.isascii() for c in letters)


def test_unknown_language_is_detected(model_cache: Path) -> None:
    transcript = run("faster-whisper", data("tone_audio_short.flac"), model_cache)

    assert transcript.language == "ru"
    assert transcript.decode_language == "ru"
    assert transcript.language_probability is not None and transcript.language_probability > 0.5
