"""Corrected text as staff hand it back: a SubRip (.srt) or WebVTT (.vtt) file, or plain text.

Each cue of a subtitle file becomes a `Piece` with its approximate times, which `align` uses to
look for its words; plain text (any other file) becomes untimed pieces, one per sentence or
line. Files are read as UTF-8 (a byte-order mark is fine). A mistake is reported with the file,
the line and what to do (`CorrectionFileError`); cue markup (``<i>``, ``<v Name>``,
``{\\an8}``, ``&amp;``) is dropped, since only the words are aligned.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from subtitles.align import Piece, sentences
from subtitles.errors import SubtitleError

SUBRIP_SUFFIX = ".srt"
WEBVTT_SUFFIX = ".vtt"
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_MARKUP = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_VTT_SKIPPED = ("NOTE", "STYLE", "REGION")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class CorrectionFileError(SubtitleError):
    """A corrected text file cannot be read; the message names the file, the line and the fix."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        self.path, self.line = path, line
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


def read_corrections(path: Path) -> tuple[Piece, ...]:
    """The pieces of a corrected `.srt`, `.vtt` or plain text file, in the file's order."""
    text = _read_text(path)
    if path.suffix.lower() == WEBVTT_SUFFIX or text.lstrip().startswith("WEBVTT"):
        pieces = _read_cues(path, text, webvtt=True)
    elif path.suffix.lower() == SUBRIP_SUFFIX:
        pieces = _read_cues(path, text, webvtt=False)
    else:
        pieces = tuple(sentences(text))
    if not pieces:
        raise CorrectionFileError(path, None, "holds no words; put the corrected text in it")
    return pieces


def language_of(path: Path) -> str | None:
    """The language a file names before its suffix (``Айгүл.ky.srt``: ``ky``), if it names one."""
    code = Path(path.stem).suffix.lstrip(".").lower()
    return code if _LANGUAGE.match(code) else None


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorrectionFileError(
            path, line, 'is not UTF-8 text; save the file as UTF-8 ("Save as", encoding UTF-8)'
        ) from exc


def _read_cues(path: Path, text: str, *, webvtt: bool) -> tuple[Piece, ...]:
    blocks = _blocks(text.splitlines())
    if webvtt:
        if not blocks or not blocks[0][1][0].startswith("WEBVTT"):
            raise CorrectionFileError(path, 1, "a WebVTT file starts with 'WEBVTT'; add it")
        blocks = [b for b in blocks[1:] if b[1][0].split(" ", 1)[0] not in _VTT_SKIPPED]
    pieces: list[Piece] = []
    latest = 0
    for first_line, lines in blocks:
        at = 0 if _TIMING.match(lines[0]) else 1  # a cue may open with its number or name
        if at >= len(lines) or not _TIMING.match(lines[at]):
            at = min(at, len(lines) - 1)
            raise CorrectionFileError(
                path,
                first_line + at,
                f"expected a cue's times like '00:01:02,500 --> 00:01:04,000', found "
                f"{lines[at]!r}; fix the line, or keep a blank line "
                "between cues and none inside one",
            )
        start, end = _times(path, first_line + at, lines[at])
        if start < latest:
            raise CorrectionFileError(
                path,
                first_line + at,
                "this cue starts before the one above it; put the cues in the order spoken",
            )
        latest = start
        words = " ".join(html.unescape(_MARKUP.sub(" ", " ".join(lines[at + 1 :]))).split())
        if words:  # a cue emptied by the correction: nobody said anything there
            pieces.append(Piece(text=words, start_ms=start, end_ms=end))
    return tuple(pieces)


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines, each with the number of its first line (from 1)."""
    blocks: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if blocks and blocks[-1][0] + len(blocks[-1][1]) == number:
            blocks[-1][1].append(line)
        else:
            blocks.append((number, [line]))
    return blocks


def _times(path: Path, number: int, timing: str) -> tuple[int, int]:
    found = _TIMING.match(timing)
    assert found is not None
    groups = found.groups()
    if any(int(part) >= 60 for part in (*groups[1:3], *groups[5:7]) if part is not None):
        raise CorrectionFileError(
            path, number, f"{timing.strip()!r} has minutes or seconds past 59; fix its times"
        )
    start, end = _ms(groups[:4]), _ms(groups[4:])
    if end < start:
        raise CorrectionFileError(
            path, number, f"the cue {timing.strip()!r} ends before it starts; fix its times"
        )
    return start, end


def _ms(parts: tuple[str | None, ...]) -> int:
    hours, minutes, seconds, fraction = parts
    assert minutes is not None and seconds is not None and fraction is not None
    total = (int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)
    return total * 1000 + int(fraction.ljust(3, "0"))
