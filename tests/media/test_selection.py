"""Clip selection and staff-chosen clips on a real transcript (the 199 s Columbia address)."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.clipfile import (
    ChosenClip,
    ClipFileError,
    QuoteNotFoundError,
    find_quote,
    format_time,
    read_clip_file,
    resolve,
)
from media.selection import SENTENCE_END, ClipRules, candidates
from subtitles.models import Transcript, Word

pytestmark = pytest.mark.slow  # the fixture transcribes 199 s of speech once per session


def inside_a_word(words: tuple[Word, ...], ms: int) -> bool:
    return any(w.start_ms < ms < w.end_ms for w in words)


def test_candidates_are_whole_sentences_with_clean_edges(bush_transcript: Transcript) -> None:
    words = bush_transcript.words
    rules = ClipRules()
    clips = candidates(words, bush_transcript.duration_ms, rules)

    assert 2 <= len(clips) <= rules.max_candidates
    assert [c.score for c in clips] == sorted((c.score for c in clips), reverse=True)
    for clip in clips:
        assert rules.min_ms <= clip.end_ms - clip.start_ms <= rules.max_ms
        assert not inside_a_word(words, clip.start_ms) and not inside_a_word(words, clip.end_ms)
        inside = [w for w in words if clip.start_ms <= w.start_ms and w.end_ms <= clip.end_ms]
        assert " ".join(w.text for w in inside) == clip.text
        assert SENTENCE_END.search(inside[-1].text)  # ends a sentence
        before = [w for w in words if w.end_ms <= clip.start_ms]
        assert not before or SENTENCE_END.search(before[-1].text)  # starts one
        assert (
            inside[0].start_ms - clip.start_ms
            >= min(
                rules.padding_ms, (inside[0].start_ms - (before[-1].end_ms if before else 0)) // 2
            )
            - 1
        )  # breathing room, as much as the silence allows
    for a in clips:
        for b in clips:
            assert a is b or not a.overlaps(b)


def test_campaign_keywords_lift_a_clip_to_the_top(bush_transcript: Transcript) -> None:
    plain = candidates(bush_transcript.words, bush_transcript.duration_ms, ClipRules())
    lifted = candidates(
        bush_transcript.words, bush_transcript.duration_ms, ClipRules(keywords=("isaiah", "heaven"))
    )

    assert "Isaiah" in lifted[0].text
    assert "Isaiah" not in plain[0].text


def test_chosen_clips_are_found_by_their_words(bush_transcript: Transcript) -> None:
    words = bush_transcript.words
    clip = ChosenClip.model_validate(
        {"from": "IN the words of the prophet Isaiah", "to": "look to the heavens!"}
    )

    span = resolve(clip, words, bush_transcript.duration_ms, 400)

    # The model's case is not the point (and int8 decoding on a busy machine varies it).
    assert span.text.lower().startswith("in the words of the prophet isaiah")
    assert span.text.endswith("heavens.")
    assert span.origin == "chosen"
    assert not inside_a_word(words, span.start_ms) and not inside_a_word(words, span.end_ms)
    others = candidates(words, bush_transcript.duration_ms, ClipRules(), taken=[span])
    assert all(not c.overlaps(span) for c in others)


def test_a_missing_quote_shows_the_closest_words(bush_transcript: Transcript) -> None:
    with pytest.raises(QuoteNotFoundError) as caught:
        find_quote(bush_transcript.words, "lift your ayes and look to the heaven")
    assert caught.value.closest.lower().startswith("lift your eyes")
    assert caught.value.at_ms is not None and 140_000 < caught.value.at_ms < 150_000
    assert "closest words" in str(caught.value)


def test_timed_clips_never_cut_a_word(bush_transcript: Transcript) -> None:
    words = bush_transcript.words
    middle = words[40]
    at = (middle.start_ms + middle.end_ms) // 2
    clip = ChosenClip.model_validate({"start": at / 1000, "end": f"0:{(at + 20_000) / 1000:.1f}"})

    span = resolve(clip, words, bush_transcript.duration_ms, 400)

    assert span.start_ms == middle.start_ms
    assert not inside_a_word(words, span.end_ms)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("clips:\n  - from: a\n", 2, "both 'from' and 'to'"),
        ("clips:\n  - start: 1\n    end: 2\n    to: x\n", 2, "either from/to"),
        ("clips:\n  - from: a\n    to: b\n    titel: c\n", 4, "titel"),
        ("- start: 3\n  end: 9\n- start: 1\n", 3, "both 'start' and 'end'"),
    ],
)
def test_clip_file_errors_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "talk.clips.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ClipFileError) as caught:
        read_clip_file(path)
    assert caught.value.line == line
    assert words in str(caught.value)


def test_a_timed_clip_past_the_end_is_refused_or_cut_at_the_end(
    bush_transcript: Transcript,
) -> None:
    words, duration = bush_transcript.words, bush_transcript.duration_ms
    with pytest.raises(ValueError, match="past the end of the footage"):
        resolve(ChosenClip.model_validate({"start": "5:00", "end": "5:30"}), words, duration, 400)

    span = resolve(
        ChosenClip.model_validate({"start": "3:00", "end": "9:00"}), words, duration, 400
    )

    assert span.end_ms == duration and span.start_ms < span.end_ms


def test_times_in_messages_round_like_a_clock() -> None:
    assert format_time(59_960) == "1:00.0"
    assert format_time(52_140) == "0:52.1"
    assert format_time(3_725_349) == "62:05.3"


def test_a_clips_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "talk.clips.yaml"
    path.write_bytes("clips:\n  - from: 'салам'\n".encode("cp1251"))
    with pytest.raises(ClipFileError, match="UTF-8"):
        read_clip_file(path)
