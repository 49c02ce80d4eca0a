"""Turn an engine's raw word pieces into `Word`s.

Whisper marks the start of a word with a leading space. A piece without one (``'clock`` after
``o``, ``-year`` after ``40``) continues the word before it, in the languages that separate words
with spaces, which all of ours do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from subtitles.models import Word

# Languages written without spaces between words: each piece is kept as it is.
UNSPACED = frozenset({"zh", "ja", "th", "lo", "my", "km", "bo", "yue"})


class RawWord(NamedTuple):
    start_s: float
    end_s: float
    text: str
    probability: float


def to_words(pieces: Iterable[RawWord], language: str | None) -> tuple[Word, ...]:
    words: list[Word] = []
    for piece in pieces:
        text = piece.text.strip()
        if not text:
            continue
        start, end = ms(piece.start_s), max(ms(piece.start_s), ms(piece.end_s))
        joins = words and not piece.text[:1].isspace() and language not in UNSPACED
        if joins:
            last = words[-1]
            words[-1] = Word(
                start_ms=last.start_ms,
                end_ms=max(last.end_ms, end),
                text=last.text + text,
                probability=round(min(last.probability, piece.probability), 4),
            )
        else:
            words.append(
                Word(
                    start_ms=start,
                    end_ms=end,
                    text=text,
                    probability=round(float(piece.probability), 4),
                )
            )
    return tuple(words)


def ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))
