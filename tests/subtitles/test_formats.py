"""SubRip and WebVTT writers, checked by reading their output back with independent parsers."""

from __future__ import annotations

import errno
import html
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import srt
import webvtt

from subtitles.errors import SubtitleError
from subtitles.formats import (
    SRT_DECIMAL_MARKER,
    VTT_DECIMAL_MARKER,
    format_timestamp,
    read_srt,
    srt_text,
    vtt_text,
    write_srt,
    write_vtt,
)
from subtitles.layout import layout_cues
from subtitles.models import Cue, ReadingRules, Word

CUES = (
    Cue(start_ms=0, end_ms=1500, lines=("Hello, and welcome.",)),
    Cue(start_ms=1580, end_ms=4321, lines=("Сегодня мы говорим", "о чистой воде.")),
    Cue(start_ms=61_001, end_ms=65_999, lines=("Bugun biz toza suv", "haqida gaplashamiz.")),
    Cue(start_ms=3_723_004, end_ms=3_725_000, lines=("Ҳамаи мо якҷоя кор мекунем!",)),
)


def ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


@pytest.mark.parametrize(
    ("milliseconds", "marker", "text"),
    [
        (0, ",", "00:00:00,000"),
        (1, ".", "00:00:00.001"),
        (59_999, ",", "00:00:59,999"),
        (3_723_004, ".", "01:02:03.004"),
        (360_000_000, ",", "100:00:00,000"),
    ],
)
def test_format_timestamp(milliseconds: int, marker: str, text: str) -> None:
    assert format_timestamp(milliseconds, marker) == text


def test_format_timestamp_rejects_negative_times() -> None:
    with pytest.raises(SubtitleError, match="negative"):
        format_timestamp(-1, ",")


def test_srt_and_vtt_differ_by_their_constants() -> None:
    srt_lines = srt_text(CUES).splitlines()
    vtt_lines = vtt_text(CUES).splitlines()
    assert srt_lines[:3] == ["1", "00:00:00,000 --> 00:00:01,500", "Hello, and welcome."]
    assert vtt_lines[:4] == ["WEBVTT", "", "00:00:00.000 --> 00:00:01.500", "Hello, and welcome."]
    for cue in CUES:
        start, end = cue.start_ms, cue.end_ms
        srt_timing = f"{format_timestamp(start, SRT_DECIMAL_MARKER)} --> "
        assert srt_timing + format_timestamp(end, SRT_DECIMAL_MARKER) in srt_lines
        vtt_timing = f"{format_timestamp(start, VTT_DECIMAL_MARKER)} --> "
        assert vtt_timing + format_timestamp(end, VTT_DECIMAL_MARKER) in vtt_lines


def test_srt_round_trips_through_the_srt_parser(tmp_path: Path) -> None:
    path = write_srt(CUES, tmp_path / "clip.srt")
    parsed = list(srt.parse(path.read_text(encoding="utf-8")))
    assert [item.index for item in parsed] == [1, 2, 3, 4]
    assert [(ms(item.start), ms(item.end)) for item in parsed] == [
        (cue.start_ms, cue.end_ms) for cue in CUES
    ]
    assert [tuple(item.content.split("\n")) for item in parsed] == [cue.lines for cue in CUES]


def test_srt_round_trips_through_read_srt(tmp_path: Path) -> None:
    path = write_srt(CUES, tmp_path / "clip.srt")
    assert read_srt(path) == CUES


def test_vtt_round_trips_through_webvtt(tmp_path: Path) -> None:
    path = write_vtt(CUES, tmp_path / "clip.vtt")
    captions = webvtt.read(str(path)).captions
    assert [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds()) for c in captions] == [
        (cue.start_ms, cue.end_ms) for cue in CUES
    ]
    assert [tuple(c.lines) for c in captions] == [cue.lines for cue in CUES]


def test_vtt_escapes_what_webvtt_requires() -> None:
    cues = (
        Cue(start_ms=0, end_ms=2000, lines=("Tom & Jerry <3", "a --> b")),
        Cue(start_ms=2100, end_ms=4000, lines=("00:00:01.000 --> 00:00:02.000",)),
    )
    text = vtt_text(cues)
    assert text.count("-->") == 2  # only the two timing lines
    assert "Tom &amp; Jerry &lt;3" in text
    captions = webvtt.from_string(text).captions
    assert len(captions) == 2
    assert [html.unescape(c.raw_text) for c in captions] == [
        "Tom & Jerry <3\na → b",
        "00:00:01.000 → 00:00:02.000",
    ]


def test_srt_escapes_nothing() -> None:
    cues = (Cue(start_ms=0, end_ms=2000, lines=("<i>Tom</i> & Jerry",)),)
    assert "<i>Tom</i> & Jerry" in srt_text(cues)
    assert [item.content for item in srt.parse(srt_text(cues))] == ["<i>Tom</i> & Jerry"]


def test_blank_lines_are_dropped_and_empty_cues_refused() -> None:
    cue = Cue(start_ms=0, end_ms=2000, lines=("first", "  ", "second"))
    assert [item.content for item in srt.parse(srt_text([cue]))] == ["first\nsecond"]
    assert "first\nsecond\n" in vtt_text([cue])
    empty = Cue(start_ms=0, end_ms=2000, lines=(" ",))
    with pytest.raises(SubtitleError, match="no text"):
        srt_text([empty])
    with pytest.raises(SubtitleError, match="no text"):
        vtt_text([empty])


def test_files_are_utf8_and_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "clip.srt"
    path.write_text("old content", encoding="utf-8")
    write_srt(CUES, path)
    write_vtt(CUES, tmp_path / "clip.vtt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.srt", "clip.vtt"]
    assert "Сегодня мы говорим" in path.read_bytes().decode("utf-8")
    assert b"\r" not in path.read_bytes()
    assert (tmp_path / "clip.vtt").read_bytes().startswith(b"WEBVTT\n\n")


@pytest.mark.parametrize("write", [write_srt, write_vtt])
def test_a_write_that_fails_half_way_leaves_the_old_file_whole(
    write: Callable[[Sequence[Cue], Path], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The disk fills up half way through the new file: wherever the writer was writing gets
    half of it, and the old file at the final path must still be whole."""
    path = tmp_path / "clip.srt"
    path.write_text("old content", encoding="utf-8")

    def write_bytes_half(self: Path, data: bytes) -> int:
        with open(self, "wb") as out:
            out.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    def write_text_half(self: Path, text: str, *args: Any, **kwargs: Any) -> int:
        return write_bytes_half(self, text.encode("utf-8"))

    monkeypatch.setattr(Path, "write_bytes", write_bytes_half)
    monkeypatch.setattr(Path, "write_text", write_text_half)

    with pytest.raises(OSError, match="No space left"):
        write(CUES, path)

    assert path.read_bytes() == b"old content"  # never half of the new one
    assert [p.name for p in tmp_path.iterdir()] == ["clip.srt"]  # no temporary file left


def test_read_srt_names_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.srt"
    path.write_text("1\nnot a timing line\nHello\n\n", encoding="utf-8")
    with pytest.raises(SubtitleError, match=r"broken\.srt"):
        read_srt(path)


def test_laid_out_cues_survive_both_formats(tmp_path: Path) -> None:
    text = (
        "Мы построили мост через реку, и теперь дети ходят в школу каждый день. "
        "Spasibo vsem, kto pomogal nam v etoi rabote!"
    )
    words = [
        Word(start_ms=400 + 400 * k, end_ms=700 + 400 * k, text=token)
        for k, token in enumerate(text.split())
    ]
    cues = layout_cues(words, ReadingRules())
    parsed = list(srt.parse(srt_text(cues)))
    captions = webvtt.from_string(vtt_text(cues)).captions
    assert [item.content for item in parsed] == ["\n".join(cue.lines) for cue in cues]
    assert [c.text for c in captions] == ["\n".join(cue.lines) for cue in cues]
    assert [ms(item.start) for item in parsed] == [c.start_time.in_milliseconds() for c in captions]
    assert read_srt(write_srt(cues, tmp_path / "clip.srt")) == cues
