"""The languages a footage may hold: per-chunk languages, Kyrgyz kept, unsure guesses refused.

Real speech and the real Whisper base weights. The code-switched recording is real Russian
(`tone_audio_short.flac`) then a second of silence then real English (`jfk.wav`), joined by
ffmpeg at run time.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from media.ffmpeg import file_arg, run_ffmpeg
from subtitles.engines import TranscribeOptions
from subtitles.engines.faster import SHARED_DECODING, load_model
from subtitles.engines.switching import Chunk, language_runs
from subtitles.errors import TranscriptionError, TransientTranscriptionError, UncertainLanguageError
from subtitles.languages import accept_detected, choose_allowed, decode_tokens
from subtitles.models import Segment, Transcript
from subtitles.weights import resolve_model
from tests.helpers import data, reference
from tests.subtitles.test_engines import run, wer

RUSSIAN_MS = 6_360  # tone_audio_short.flac


def cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\u0400" <= c <= "\u04ff" for c in letters) / len(letters)


def text_in(transcript: Transcript, language: str) -> str:
    return " ".join(s.text for s in transcript.segments if s.language == language)


def joined(first: Path, second: Path, out: Path) -> Path:
    """`first`, a second of silence, then `second`: one 16 kHz mono recording."""
    mono = "aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono"
    run_ffmpeg(
        [
            "-y",
            "-i",
            file_arg(first),
            "-i",
            file_arg(second),
            "-filter_complex",
            f"[0:a]{mono}[a];anullsrc=r=16000:cl=mono,atrim=duration=1,{mono}[pause];"
            f"[1:a]{mono}[b];[a][pause][b]concat=n=3:v=0:a=1[out]",
            "-map",
            "[out]",
            file_arg(out),
        ]
    )
    return out


@pytest.fixture(scope="module")
def russian_then_english(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("switch") / "ru_then_en.wav"
    return joined(data("tone_audio_short.flac"), data("jfk.wav"), out)


# Options and pure decisions (no model).


def test_options_dump_as_before_unless_a_language_field_is_set() -> None:
    """Transcript keys hash the options' JSON: footage transcribed before stays current."""
    plain = TranscribeOptions(model="base", language="ru", spoken_language="ru")
    assert set(plain.model_dump()) == {
        "engine",
        "model",
        "model_label",
        "device",
        "compute_type",
        "beam_size",
        "vad",
        "task",
        "language",
        "spoken_language",
    }
    mixed = TranscribeOptions(model="base", languages=("ru", "ky"), min_language_probability=0.5)
    assert mixed.model_dump()["languages"] == ("ru", "ky")
    assert mixed.model_dump()["min_language_probability"] == 0.5
    assert TranscribeOptions.model_validate_json(mixed.model_dump_json()) == mixed


def test_decoding_never_prompts_and_falls_back_on_temperature() -> None:
    """A prompt in a language the model knows badly (Kazakh) makes decoding degenerate; a
    window that loops is decoded again, warmer."""
    assert not {"initial_prompt", "prefix", "hotwords"} & set(SHARED_DECODING)
    temperatures = SHARED_DECODING["temperature"]
    assert temperatures[0] == 0.0 and len(temperatures) > 1
    assert SHARED_DECODING["compression_ratio_threshold"] is not None


def test_kyrgyz_is_scored_by_its_fallback_token() -> None:
    tokens = decode_tokens(["ru", "ky", "ru"], {"ky": "kk"})
    assert tokens == {"ru": "ru", "ky": "kk"}
    # Kazakh speech as base hears it: Lithuanian first, Kazakh second, Russian third.
    assert choose_allowed({"lt": 0.68, "kk": 0.18, "ru": 0.06}, tokens) == ("ky", 0.18)
    with pytest.raises(TranscriptionError, match="language_fallbacks"):
        decode_tokens(["ru", "xx"], {"ky": "kk"})


def test_a_guess_is_accepted_only_inside_the_campaign_and_sure_enough() -> None:
    fallbacks = {"ky": "kk"}
    assert accept_detected([("ru", 0.9)], ("ru", "ky"), 0.5, fallbacks) == "ru"
    assert accept_detected([("kk", 0.6)], ("ru", "ky"), 0.5, fallbacks) == "ky"
    assert accept_detected([("lt", 0.47)], (), 0.0, fallbacks) == "lt"  # as before: no checks
    with pytest.raises(UncertainLanguageError, match=r"under the 0\.50 required"):
        accept_detected([("ru", 0.4)], (), 0.5, fallbacks)
    with pytest.raises(UncertainLanguageError) as raised:
        accept_detected([("lt", 0.47), ("kk", 0.32)], ("ru", "en"), 0.5, fallbacks)
    assert "under the 0.50" in str(raised.value) and "ru, en" in str(raised.value)
    again = pickle.loads(pickle.dumps(raised.value))
    assert str(again) == str(raised.value) and again.detected == "lt"


def test_runs_cover_the_recording_cut_where_a_language_starts() -> None:
    chunks = [
        Chunk(1_000, 30_000, "ru", "ru", 0.9),
        Chunk(40_000, 60_000, "ru", "ru", 0.8),
        Chunk(80_000, 120_000, "en", "en", 0.9),
        Chunk(122_000, 150_000, "ky", "kk", 0.2),
    ]
    runs = language_runs(chunks, 160_000)
    assert [(r.start, r.end, r.spoken, r.token) for r in runs] == [
        (0, 72_000, "ru", "ru"),  # half a second before English starts
        (72_000, 120_000, "en", "en"),  # a shorter pause: where English ends
        (120_000, 160_000, "ky", "kk"),
    ]
    assert language_runs([], 160_000) == []


# Real speech.


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_code_switched_recording_keeps_both_languages(
    engine: str, russian_then_english: Path, model_cache: Path
) -> None:
    transcript = run(engine, russian_then_english, model_cache, languages=("ru", "en"))

    assert {s.language for s in transcript.segments} == {"ru", "en"}
    for segment in transcript.segments:
        assert {w.language for w in segment.words} == {segment.language}
    # Russian first, then English, each where it was spoken.
    assert [s.language for s in transcript.segments] == sorted(
        (s.language for s in transcript.segments), key=("ru", "en").index
    )
    assert all(s.end_ms <= RUSSIAN_MS for s in transcript.segments if s.language == "ru")
    assert all(s.start_ms >= RUSSIAN_MS for s in transcript.segments if s.language == "en")
    assert wer(text_in(transcript, "en"), reference("jfk.txt")) < 0.3
    assert cyrillic_share(text_in(transcript, "ru")) > 0.9
    # English is most of the speech (10 s of 12 s): the main language.
    assert (transcript.language, transcript.spoken_language) == ("en", "en")
    assert transcript.decode_language == "en" and transcript.languages == ("en", "ru")
    starts = [w.start_ms for w in transcript.words]
    assert starts == sorted(starts) and transcript.words[-1].end_ms <= transcript.duration_ms


@pytest.mark.slow
def test_english_then_russian_keeps_the_first_russian_words(
    model_cache: Path, tmp_path: Path
) -> None:
    """Silero notices the Russian voice late (about 0.2 s): its run starts half a second before
    its first chunk, so "Ну, сейчас" is decoded as Russian, not lost in the English run."""
    recording = joined(data("jfk.wav"), data("tone_audio_short.flac"), tmp_path / "en_ru.wav")
    transcript = run("faster-whisper", recording, model_cache, languages=("ru", "en"))

    assert (transcript.segments[0].language, transcript.segments[-1].language) == ("en", "ru")
    assert wer(text_in(transcript, "en"), reference("jfk.txt")) < 0.3
    russian = text_in(transcript, "ru")
    assert cyrillic_share(russian) > 0.9 and "сейчас" in russian.lower()
    assert transcript.languages == ("en", "ru")


@pytest.mark.slow
def test_kazakh_speech_among_russian_and_kyrgyz_is_recorded_as_kyrgyz(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Base hears this Kazakh as Lithuanian; allowed only ru and ky, each chunk is scored by ky's
    token (kk), decoded with it, and recorded as ky. Every decode goes without a prompt."""
    model = load_model(resolve_model("base", "faster-whisper", model_cache), "cpu", "int8")
    calls: list[dict[str, Any]] = []
    real = model.transcribe

    def spy(audio: Any, **options: Any) -> Any:
        calls.append(options)
        return real(audio, **options)

    monkeypatch.setattr(model, "transcribe", spy)
    transcript = run(
        "faster-whisper", data("is2ai_example_1.wav"), model_cache, languages=("ru", "ky")
    )

    assert transcript.segments
    assert {s.language for s in transcript.segments} == {"ky"}
    assert {w.language for w in transcript.words} == {"ky"}
    assert (transcript.spoken_language, transcript.decode_language) == ("ky", "kk")
    assert transcript.languages == ("ky",)
    assert set(transcript.text) & set("әғқңөұүһі")
    assert cyrillic_share(transcript.text) > 0.9
    assert calls and all(c["language"] == "kk" for c in calls)
    assert all(c.get("initial_prompt") is None and c.get("prefix") is None for c in calls)
    assert all(len(c["temperature"]) > 1 for c in calls)


@pytest.mark.slow
def test_one_entry_in_languages_is_the_language(model_cache: Path) -> None:
    transcript = run("faster-whisper", data("is2ai_example_1.wav"), model_cache, languages=("ky",))

    assert (transcript.language, transcript.spoken_language) == ("ky", "ky")
    assert transcript.decode_language == "kk" and transcript.language_probability is None
    assert all(s.language is None for s in transcript.segments)  # one language for all


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_kazakh_outside_the_campaign_is_refused_not_transcribed_as_lithuanian(
    engine: str, model_cache: Path
) -> None:
    with pytest.raises(UncertainLanguageError) as raised:
        run(
            engine,
            data("is2ai_example_1.wav"),
            model_cache,
            campaign_languages=("ru", "en"),
            min_language_probability=0.5,
        )

    error = raised.value
    assert isinstance(error, TranscriptionError)
    assert not isinstance(error, TransientTranscriptionError)
    # base hears Lithuanian: 0.47 with faster-whisper (int8), 0.52 with openai-whisper (float32)
    assert error.detected not in ("ru", "en", "kk")
    assert error.candidates[0] == (error.detected, error.probability)
    message = str(error)
    assert repr(error.detected) in message and f"{error.probability:.2f}" in message
    assert "ru, en" in message and "`language:`" in message and "`languages:`" in message


@pytest.mark.slow
def test_a_sure_guess_inside_the_campaign_is_transcribed_as_before(model_cache: Path) -> None:
    checked = run(
        "faster-whisper",
        data("tone_audio_short.flac"),
        model_cache,
        campaign_languages=("ru", "ky"),
        min_language_probability=0.5,
    )
    plain = run("faster-whisper", data("tone_audio_short.flac"), model_cache)

    assert checked == plain
    assert checked.language == "ru" and all(s.language is None for s in checked.segments)


def test_segment_language_defaults_to_none() -> None:
    """Code that builds segments without a language still works."""
    assert Segment(start_ms=0, end_ms=10, text="a").language is None
