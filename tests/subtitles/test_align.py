"""Forced alignment of corrected text on real speech, with the bundled Whisper base weights."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.vad import VadOptions, get_speech_timestamps

import subtitles.align
from media.audio import decode_audio
from subtitles.align import AlignOptions, Piece, align, is_spread
from subtitles.corrections import read_corrections
from subtitles.engines import Audio
from subtitles.languages import decode_language
from subtitles.models import Transcript, Word
from tests.helpers import data, reference

pytestmark = pytest.mark.slow

GRID_UNITS_PER_SECOND = 25_000  # GRID .align files count time in 1/25000 s (tests/data/SOURCES.md)
SPEECH_MARGIN_S = 0.2


def grid_reference(name: str) -> list[tuple[str, float, float]]:
    """(word, start s, end s) of a GRID .align file, silences left out."""
    rows = (line.split() for line in data(name).read_text(encoding="ascii").splitlines())
    return [
        (word, int(start) / GRID_UNITS_PER_SECOND, int(end) / GRID_UNITS_PER_SECOND)
        for start, end, word in rows
        if word != "sil"
    ]


def speech(audio: Audio) -> list[tuple[float, float]]:
    """Silero's speech regions, asked independently of the code under test."""
    found = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=250, speech_pad_ms=100))
    return [(r["start"] / 16_000, r["end"] / 16_000) for r in found]


def assert_in_order_within_speech(transcript: Transcript, words: list[str], audio: Audio) -> None:
    timed = transcript.words
    assert [w.text for w in timed] == words  # every word, in order, none added
    starts = [w.start_ms for w in timed]
    assert starts == sorted(starts)
    regions = speech(audio)
    for word in timed:
        assert 0 <= word.start_ms <= word.end_ms <= transcript.duration_ms
        middle = (word.start_ms + word.end_ms) / 2000
        assert any(a - SPEECH_MARGIN_S <= middle <= b + SPEECH_MARGIN_S for a, b in regions), word


@pytest.fixture(scope="module")
def options(ct2_base_dir: Path) -> AlignOptions:
    return AlignOptions(model=str(ct2_base_dir), model_label="base", language="en")


def test_grid_word_boundaries_match_the_reference(options: AlignOptions) -> None:
    truth = grid_reference("grid_swwp2s.align")
    audio = decode_audio(data("grid_swwp2s.mpg"))

    transcript = align(audio, reference("grid_swwp2s.txt"), options)

    assert [w.text for w in transcript.words] == [word for word, _, _ in truth]
    errors = [
        abs(edge_ms / 1000 - edge_s)
        for word, (_, start, end) in zip(transcript.words, truth, strict=True)
        for edge_ms, edge_s in ((word.start_ms, start), (word.end_ms, end))
    ]
    print(f"GRID swwp2s mean word-boundary error {statistics.mean(errors):.3f} s")
    assert statistics.mean(errors) <= 0.15
    assert abs(transcript.words[0].start_ms / 1000 - truth[0][1]) <= 0.1  # the speech onset
    assert (transcript.engine, transcript.model, transcript.language) == ("align", "base", "en")
    assert not any(is_spread(w) for w in transcript.words)


def test_kyrgyz_record_kazakh_token_every_word_in_order(ct2_base_dir: Path) -> None:
    audio = decode_audio(data("is2ai_example_1.wav"))
    text = reference("is2ai_example_1.txt")
    token = decode_language("ky", {"ky": "kk"})

    transcript = align(
        audio, text, AlignOptions(model=str(ct2_base_dir), language=token, spoken_language="ky")
    )

    assert (transcript.language, transcript.spoken_language, transcript.decode_language) == (
        "ky",
        "ky",
        "kk",
    )
    assert_in_order_within_speech(transcript, text.split(), audio)
    assert not any(is_spread(w) for w in transcript.words)  # the right text aligns
    assert transcript.words[-1].end_ms > 4000  # the last words are said at the end (4.4 s)
    Transcript.model_validate_json(transcript.model_dump_json())


def test_text_that_is_not_in_the_audio_is_spread_over_the_speech(ct2_base_dir: Path) -> None:
    audio = decode_audio(data("is2ai_example_1.wav"))
    text = "The quick brown fox jumps over the lazy dog, again and again."

    transcript = align(audio, text, AlignOptions(model=str(ct2_base_dir), language="kk"))

    assert_in_order_within_speech(transcript, text.split(), audio)
    assert all(is_spread(w) for w in transcript.words)
    assert all(w.end_ms > w.start_ms for w in transcript.words)  # each word has its own time
    regions = speech(audio)  # and together they fill the speech
    assert abs(transcript.words[0].start_ms / 1000 - regions[0][0]) <= SPEECH_MARGIN_S
    assert abs(transcript.words[-1].end_ms / 1000 - regions[-1][1]) <= SPEECH_MARGIN_S


def test_subrip_cues_align_within_their_times(tmp_path: Path, ct2_base_dir: Path) -> None:
    """A corrected SRT in Cyrillic, its times a little off: each cue's words stay its own."""
    path = tmp_path / "Айгүл.ky.srt"
    path.write_text(
        "1\n00:00:00,500 --> 00:00:02,200\nАлға қарай бес метр жүр, тоқта.\n\n"
        "2\n00:00:02,200 --> 00:00:05,000\nСосын солға карай екі метр жүр.\n",
        encoding="utf-8",
    )
    audio = decode_audio(data("is2ai_example_1.wav"))

    transcript = align(
        audio, read_corrections(path), AlignOptions(model=str(ct2_base_dir), language="kk")
    )

    words = "Алға қарай бес метр жүр, тоқта. Сосын солға карай екі метр жүр.".split()
    assert_in_order_within_speech(transcript, words, audio)
    first, second = transcript.segments
    assert first.text.endswith("тоқта.") and len(first.words) == 6
    assert first.end_ms <= second.start_ms
    assert not any(is_spread(w) for w in transcript.words)
    plain = align(audio, " ".join(words), AlignOptions(model=str(ct2_base_dir), language="kk"))
    assert starts_agree(transcript.words, plain.words, within_ms=100)


def test_an_unsure_cue_is_spread_in_its_own_time(options: AlignOptions) -> None:
    audio = decode_audio(data("jfk.wav"))
    plain = align(audio, reference("jfk.txt"), options)
    words = plain.words
    cues = [words[:4], words[4:13], words[13:]]  # "And so my fellow Americans," / "ask not …"
    pieces = [
        Piece(text=" ".join(w.text for w in cue), start_ms=cue[0].start_ms, end_ms=cue[-1].end_ms)
        for cue in cues
    ]
    pieces[1] = pieces[1].model_copy(update={"text": "Сегодня в Бишкеке идёт дождь и холодно."})

    transcript = align(audio, pieces, options)

    kept, changed, after = transcript.segments
    assert all(is_spread(w) for w in changed.words)
    assert pieces[1].start_ms is not None and pieces[1].end_ms is not None
    assert pieces[1].start_ms <= changed.words[0].start_ms
    assert changed.words[-1].end_ms <= pieces[1].end_ms
    assert not any(is_spread(w) for w in kept.words + after.words)
    assert starts_agree(kept.words + after.words, cues[0] + cues[2], within_ms=150)
    assert_in_order_within_speech(
        transcript, [w.text for s in transcript.segments for w in s.words], audio
    )


def test_plain_text_walks_window_by_window(
    options: AlignOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 5 s windows the 11 s of jfk take several; the words land where one window puts them."""
    audio = decode_audio(data("jfk.wav"))
    whole = align(audio, reference("jfk.txt"), options)
    monkeypatch.setattr(subtitles.align, "WINDOW_S", 5.0)
    monkeypatch.setattr(subtitles.align, "GUARD_S", 1.0)

    walked = align(audio, reference("jfk.txt"), options)

    assert [w.text for w in walked.words] == [w.text for w in whole.words]
    assert starts_agree(walked.words, whole.words, within_ms=200)


def test_no_words_and_no_speech(options: AlignOptions) -> None:
    assert align(np.zeros(16_000, dtype=np.float32), " \n", options).segments == ()
    silence = align(np.zeros(32_000, dtype=np.float32), "nobody speaks here", options)
    assert [w.text for w in silence.words] == ["nobody", "speaks", "here"]
    assert all(0 <= w.start_ms <= w.end_ms <= 2000 for w in silence.words)


def test_an_empty_recording_still_gets_every_word(options: AlignOptions) -> None:
    transcript = align(np.zeros(0, dtype=np.float32), "Салам, апа!", options)

    assert [(w.text, w.start_ms, w.end_ms) for w in transcript.words] == [
        ("Салам,", 0, 0),
        ("апа!", 0, 0),
    ]


def test_the_language_is_detected_when_not_given(ct2_base_dir: Path) -> None:
    audio = decode_audio(data("jfk.wav"))

    transcript = align(audio, reference("jfk.txt"), AlignOptions(model=str(ct2_base_dir)))

    assert (transcript.language, transcript.decode_language) == ("en", "en")
    assert transcript.language_probability is not None and transcript.language_probability > 0.5


def starts_agree(these: tuple[Word, ...], those: tuple[Word, ...], within_ms: int) -> bool:
    differences = [abs(a.start_ms - b.start_ms) for a, b in zip(these, those, strict=True)]
    print(f"median start difference {statistics.median(differences)} ms, max {max(differences)}")
    return statistics.median(differences) <= within_ms
