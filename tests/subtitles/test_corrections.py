"""Corrected text files (SubRip, WebVTT, plain text) read into pieces; mistakes named by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from subtitles.align import Piece
from subtitles.corrections import CorrectionFileError, language_of, read_corrections
from subtitles.formats import srt_text, vtt_text
from subtitles.models import Cue

KAZAKH_SRT = """\ufeff1
00:00:00,120 --> 00:00:01,840
Алға қарай бес метр жүр,
<i>тоқта!</i>

2
00:00:02,400 --> 00:00:04,450
{\\an8}сосын солға карай екі метр жүр

3
00:00:04,450 --> 00:00:05,000

"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return path


def test_subrip_cues_become_timed_pieces(tmp_path: Path) -> None:
    pieces = read_corrections(write(tmp_path, "Айгүл.ky.srt", KAZAKH_SRT))

    assert pieces == (
        Piece(text="Алға қарай бес метр жүр, тоқта!", start_ms=120, end_ms=1840),
        Piece(text="сосын солға карай екі метр жүр", start_ms=2400, end_ms=4450),
    )  # markup dropped, lines joined, the emptied third cue left out


def test_our_own_subtitles_read_back(tmp_path: Path) -> None:
    cues = (
        Cue(start_ms=0, end_ms=1500, lines=("Апам келет,", "ал атам — жок.")),
        Cue(start_ms=3_601_000, end_ms=3_603_250, lines=("Рахмат & <сау бол>",)),
    )
    expected = (
        Piece(text="Апам келет, ал атам — жок.", start_ms=0, end_ms=1500),
        Piece(text="Рахмат & <сау бол>", start_ms=3_601_000, end_ms=3_603_250),
    )

    assert read_corrections(write(tmp_path, "a.srt", srt_text(cues)))[0] == expected[0]
    assert read_corrections(write(tmp_path, "a.vtt", vtt_text(cues))) == expected


def test_webvtt_with_notes_settings_and_voices(tmp_path: Path) -> None:
    text = (
        "WEBVTT - corrected by Aigul\n\nNOTE checked twice\n\nSTYLE\n::cue { color: red }\n\n"
        "intro\n00:01.000 --> 00:02.500 align:start position:10%\n<v Бакыт>Салам, <b>апа</b>\n\n"
        "00:00:03.000 --> 00:00:04.000\nКандайсың?\n"
    )

    assert read_corrections(write(tmp_path, "b.vtt", text)) == (
        Piece(text="Салам, апа", start_ms=1000, end_ms=2500),
        Piece(text="Кандайсың?", start_ms=3000, end_ms=4000),
    )


def test_plain_text_is_cut_into_sentences_and_lines(tmp_path: Path) -> None:
    text = "Алға қарай бес метр жүр. Тоқта!\nсосын солға\n\n  карай екі метр жүр  \n"

    assert [p.text for p in read_corrections(write(tmp_path, "c.txt", text))] == [
        "Алға қарай бес метр жүр.",
        "Тоқта!",
        "сосын солға",
        "карай екі метр жүр",
    ]
    assert not any(p.timed for p in read_corrections(write(tmp_path, "c.txt", text)))


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("1\n00:00:01,000 -> 00:00:02,000\nСалам\n", 2, "expected a cue's times"),
        ("1\n00:00:01,000 --> 00:00:02,000\nСалам\n\nапа\n", 5, "blank line between cues"),
        ("1\n00:00:03,000 --> 00:00:02,000\nСалам\n", 2, "ends before it starts"),
        (
            "1\n00:00:01,000 --> 00:00:02,000\nа\n\n2\n00:00:00,500 --> 00:00:03,000\nб\n",
            6,
            "order",
        ),
        ("1\n00:00:75,000 --> 00:00:76,000\nСалам\n", 2, "past 59"),
    ],
)
def test_a_broken_subrip_file_is_named_with_its_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, "broken.srt", text)

    with pytest.raises(CorrectionFileError, match=words) as caught:
        read_corrections(path)

    assert (caught.value.path, caught.value.line) == (path, line)
    assert f"{path}, line {line}: " in str(caught.value)


def test_not_utf8_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "cp1251.srt", "1\n00:00:01,000 --> 00:00:02,000\nСалам\n", "cp1251")

    with pytest.raises(CorrectionFileError, match="save the file as UTF-8") as caught:
        read_corrections(path)

    assert caught.value.line == 3


def test_a_webvtt_file_needs_its_header_and_a_file_needs_words(tmp_path: Path) -> None:
    with pytest.raises(CorrectionFileError, match="starts with 'WEBVTT'"):
        read_corrections(write(tmp_path, "d.vtt", "00:01.000 --> 00:02.000\nСалам\n"))
    with pytest.raises(CorrectionFileError, match="holds no words"):
        read_corrections(write(tmp_path, "e.txt", " \n\n"))


def test_the_language_a_file_name_gives() -> None:
    assert language_of(Path("inbox/Айгүл апа.ky.srt")) == "ky"
    assert language_of(Path("inbox/interview.RU.vtt")) == "ru"
    assert language_of(Path("inbox/interview.final.srt")) is None
    assert language_of(Path("inbox/interview.srt")) is None
