"""Choose clips from a transcript: whole sentences, clean edges, ranked so a person would agree.

A candidate is a run of consecutive sentences lasting `min_ms` to `max_ms`. Its edges sit in the
silence outside its first and last word, with a little breathing room. Candidates are ranked by

    score = 2.0 * keyword share + 1.0 * speech density + 0.5 * confidence + 0.25 * clean edges

where keyword share is the fraction of the campaign's keywords the clip mentions, speech density
the fraction of its time filled with words, confidence Whisper's mean word probability, and clean
edges 1 when the clip starts and ends at a pause. The best are kept, none overlapping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from subtitles.models import Word

SENTENCE_END = re.compile(r"[.!?…。؟][\"'»”’)\]]*$")
# Speech without punctuation (some languages, some models) still breaks at long silences.
SENTENCE_PAUSE_MS = 1500
EDGE_PAUSE_MS = 400
MIN_EDGE_ROOM_MS = 20


class ClipRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    min_ms: int = Field(default=15_000, ge=1000)
    max_ms: int = Field(default=60_000, ge=1000)
    padding_ms: int = Field(default=400, ge=0)
    max_candidates: int = Field(default=5, ge=0)
    keywords: tuple[str, ...] = ()


class ClipSpan(BaseModel):
    model_config = ConfigDict(frozen=True)

    start_ms: int
    end_ms: int
    text: str
    score: float = 0.0
    origin: Literal["auto", "chosen"] = "auto"
    title: str = ""

    def overlaps(self, other: ClipSpan) -> bool:
        return self.start_ms < other.end_ms and other.start_ms < self.end_ms


class Sentence(BaseModel):
    model_config = ConfigDict(frozen=True)

    first: int  # index of its first word
    last: int  # index of its last word


def sentences(words: Sequence[Word]) -> list[Sentence]:
    result: list[Sentence] = []
    first = 0
    for i, word in enumerate(words):
        gap = words[i + 1].start_ms - word.end_ms if i + 1 < len(words) else 0
        if i + 1 == len(words) or SENTENCE_END.search(word.text) or gap >= SENTENCE_PAUSE_MS:
            result.append(Sentence(first=first, last=i))
            first = i + 1
    return result


def edges(
    words: Sequence[Word], first: int, last: int, padding_ms: int, duration_ms: int
) -> tuple[int, int]:
    """Clip edges around words[first..last]: padded, but never inside a neighbouring word."""
    start = words[first].start_ms - padding_ms
    if first > 0:
        before = words[first - 1].end_ms
        start = max(start, (before + words[first].start_ms) // 2, before + MIN_EDGE_ROOM_MS)
    end = words[last].end_ms + padding_ms
    if last + 1 < len(words):
        after = words[last + 1].start_ms
        end = min(end, (words[last].end_ms + after) // 2, after - MIN_EDGE_ROOM_MS)
    start = max(0, min(start, words[first].start_ms))
    end = min(max(end, words[last].end_ms), duration_ms or end)
    return start, end


def candidates(
    words: Sequence[Word], duration_ms: int, rules: ClipRules, taken: Sequence[ClipSpan] = ()
) -> list[ClipSpan]:
    """The best non-overlapping clips, best first, avoiding the spans in `taken`."""
    spans = [
        s for s in _windows(words, duration_ms, rules) if not any(s.overlaps(t) for t in taken)
    ]
    spans.sort(key=lambda s: (-s.score, s.start_ms))
    chosen: list[ClipSpan] = []
    for span in spans:
        if len(chosen) >= rules.max_candidates:
            break
        if not any(span.overlaps(c) for c in chosen):
            chosen.append(span)
    return chosen


def _windows(words: Sequence[Word], duration_ms: int, rules: ClipRules) -> list[ClipSpan]:
    runs = sentences(words)
    spans = []
    for i, head in enumerate(runs):
        for tail in runs[i:]:
            start, end = edges(words, head.first, tail.last, rules.padding_ms, duration_ms)
            if end - start > rules.max_ms:
                break
            if end - start >= rules.min_ms:
                spans.append(_span(words, head.first, tail.last, start, end, rules))
    return spans


def _span(
    words: Sequence[Word], first: int, last: int, start: int, end: int, rules: ClipRules
) -> ClipSpan:
    inside = words[first : last + 1]
    text = " ".join(w.text for w in inside)
    return ClipSpan(
        start_ms=start,
        end_ms=end,
        text=text,
        score=round(_score(words, first, last, start, end, rules), 4),
    )


def _score(
    words: Sequence[Word], first: int, last: int, start: int, end: int, rules: ClipRules
) -> float:
    inside = words[first : last + 1]
    density = sum(w.end_ms - w.start_ms for w in inside) / max(1, end - start)
    confidence = sum(w.probability for w in inside) / len(inside)
    keywords = keyword_share(" ".join(w.text for w in inside), rules.keywords)
    before = words[first].start_ms - (words[first - 1].end_ms if first else 0)
    after = (words[last + 1].start_ms if last + 1 < len(words) else 10**9) - words[last].end_ms
    clean = 1.0 if min(before, after) >= EDGE_PAUSE_MS else 0.0
    return 2.0 * keywords + 1.0 * min(1.0, density) + 0.5 * confidence + 0.25 * clean


def keyword_share(text: str, keywords: Sequence[str]) -> float:
    """Fraction of `keywords` mentioned; a keyword matches words it starts ("migra" → "migrant")."""
    if not keywords:
        return 0.0
    tokens = normalise_words(text)
    hits = sum(1 for k in keywords if any(t.startswith(k.casefold()) for t in tokens))
    return hits / len(keywords)


def normalise_words(text: str) -> list[str]:
    """Words for matching: case-folded, without punctuation (apostrophes inside kept)."""
    return [t.strip("'’") for t in re.findall(r"[\w'’-]+", text.casefold()) if t.strip("'’-")]
