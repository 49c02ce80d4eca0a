"""Words a person asked to remove (a sidecar's ``redact: [Бакыт, "School 5"]``), taken out of
subtitles, captions, titles and descriptions, and timed so the renderer can silence them.

A term is matched as a whole word or phrase, whatever the case, with the punctuation between and
around its words ignored: "Бакыт" matches "бакыт," and "«Бакыт»" but not "Бакыта" (a person lists
each form they want gone: "Бакыт, Бакыта, Бакытом"), "Ali" matches "Ali's" and "Ali-Baba" but
not "Alice", and "School 5" matches "school, 5" across two recognised words. Letters compare
after Unicode NFC and case folding, with Russian "ё" as "е" (Whisper writes either).

A removed word becomes `MARK` in subtitles and text, a phrase one `MARK`, keeping the
punctuation around it ("Бакыт," -> "***,"): a reader sees that something was taken out, and the
sentence keeps its shape for the subtitle layout. Dropping the word instead would leave
sentences that read as if the speaker had said something else. "***" is used rather than a dash,
which the layout and readers take for punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from subtitles.models import Word

MARK = "***"
# A recognised word's timing is often off by a tenth of a second or more; the span silenced
# reaches this far beyond both ends, so no first or last sound of a name is heard.
PAD_MS = 150

_TOKEN = re.compile(r"[^\W_]+")  # letters and digits; everything else separates words
_EDGE = re.compile(r"^([\W_]*)(.*?)([\W_]*)$", re.DOTALL)


class _Token(NamedTuple):
    word: int  # index of the recognised word it comes from
    text: str  # folded


def fold(text: str) -> str:
    """`text` as matching compares it: NFC, case-folded, "ё" as "е"."""
    return unicodedata.normalize("NFC", text).casefold().replace("ё", "е")


def _term_tokens(terms: Sequence[str]) -> list[tuple[str, ...]]:
    """Each term as its folded words; terms with no letters or digits are ignored."""
    found = [tuple(_TOKEN.findall(fold(term))) for term in terms]
    return [tokens for tokens in dict.fromkeys(found) if tokens]


def _word_tokens(words: Sequence[Word]) -> list[_Token]:
    return [
        _Token(index, token)
        for index, word in enumerate(words)
        for token in _TOKEN.findall(fold(word.text))
    ]


def _matches(words: Sequence[Word], terms: Sequence[str]) -> list[tuple[int, int]]:
    """(first, last) word indexes of every occurrence of a term, in order, overlaps joined."""
    tokens = _word_tokens(words)
    texts = [token.text for token in tokens]
    found: list[tuple[int, int]] = []
    for term in _term_tokens(terms):
        size = len(term)
        for at in range(len(texts) - size + 1):
            if tuple(texts[at : at + size]) == term:
                found.append((tokens[at].word, tokens[at + size - 1].word))
    joined: list[tuple[int, int]] = []
    for first, last in sorted(found):
        if joined and first <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], last))
        else:
            joined.append((first, last))
    return joined


def redaction_spans(
    words: Sequence[Word], terms: Sequence[str], pad_ms: int = PAD_MS
) -> list[tuple[int, int]]:
    """(start_ms, end_ms) of every word or phrase in `words` matching a term, widened by
    `pad_ms` on both sides (never before 0), in order, overlapping spans joined.

    Times are those of `words` (a whole recording's); `spans_within` makes them a clip's.
    """
    spans: list[tuple[int, int]] = []
    for first, last in _matches(words, terms):
        start = max(0, words[first].start_ms - pad_ms)
        end = max(words[last].end_ms, words[first].start_ms) + pad_ms
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def spans_within(
    spans: Sequence[tuple[int, int]], start_ms: int, end_ms: int
) -> tuple[tuple[int, int], ...]:
    """The parts of `spans` inside a clip from `start_ms` to `end_ms`, timed from its start."""
    inside = (
        (max(start, start_ms) - start_ms, min(end, end_ms) - start_ms) for start, end in spans
    )
    return tuple((start, end) for start, end in inside if start < end)


def redact_words(words: Sequence[Word], terms: Sequence[str]) -> tuple[Word, ...]:
    """`words` with each matched word or phrase replaced by one `MARK` word spanning its time,
    keeping the punctuation before its first word and after its last ("Бакыт," -> "***,")."""
    matches = dict(_matches(words, terms))
    result: list[Word] = []
    index = 0
    while index < len(words):
        last = matches.get(index)
        if last is None:
            result.append(words[index])
            index += 1
            continue
        first_word, last_word = words[index], words[last]
        lead = _edges(first_word.text)[0]
        trail = _edges(last_word.text)[1]
        result.append(
            Word(
                start_ms=first_word.start_ms,
                end_ms=max(last_word.end_ms, first_word.start_ms),
                text=f"{lead}{MARK}{trail}",
                probability=min(word.probability for word in words[index : last + 1]),
            )
        )
        index = last + 1
    return tuple(result)


def _edges(text: str) -> tuple[str, str]:
    """The punctuation before and after a word's letters."""
    match = _EDGE.match(text)
    return (match.group(1), match.group(3)) if match else ("", "")


def _pattern(term: tuple[str, ...]) -> str:
    """A folded term as a regular expression over original text: any case, "е" or "ё", words
    separated by anything that is not a letter or digit, and no letter or digit either side."""

    def word(token: str) -> str:
        return "".join("[её]" if char == "е" else re.escape(char) for char in token)

    return r"(?<![^\W_])" + r"[\W_]+".join(word(token) for token in term) + r"(?![^\W_])"


def redact_text(text: str, terms: Sequence[str]) -> str:
    """`text` (a title, a description) with every term replaced by `MARK`."""
    tokens = _term_tokens(terms)
    if not tokens:
        return text
    # Longest first, so "Бакыт Асанов" is taken whole before "Бакыт" alone.
    tokens.sort(key=lambda term: -sum(len(token) for token in term))
    pattern = re.compile("|".join(_pattern(term) for term in tokens), re.IGNORECASE)
    return pattern.sub(MARK, unicodedata.normalize("NFC", text))
