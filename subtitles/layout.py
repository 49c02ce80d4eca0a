"""Subtitle cues from word timings, under reading rules.

`layout_cues` works in four steps, all pure and deterministic:

1. clean the words: drop empty ones, make starts non-decreasing, end each word no later than the
   next one starts;
2. cut the word stream into cues with a dynamic programme over the words; a cue must fit its lines
   and `max_duration_ms`, and its cost prefers ending at a sentence end, then at clause
   punctuation, then at a pause longer than `pause_ms`, then before a conjunction; it penalises a
   sentence end or a long pause inside a cue, reading speed it cannot reach, and short cues;
3. wrap each cue into the fewest lines, choosing the line breaks after punctuation first, then
   for balance;
4. time the cues: show each from its first word, extend it into the following silence for reading
   speed and minimum duration (at most `TAIL_MS` past its last word), delay the next cue by at most
   `max_lag_ms` to make room, and always keep `min_gap_ms` between cues.

Reading speed counts every character of a cue's lines, spaces inside a line included and line
breaks excluded, per second of display. A word longer than a line stands alone on its line and is
not reported by `check_rules`.
"""

from __future__ import annotations

import itertools
import logging
import math
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from subtitles.errors import SubtitleError
from subtitles.models import Cue, ReadingRules, Word

logger = logging.getLogger(__name__)

TAIL_MS = 1500
"""The longest a cue stays up after its last word, unless it needs that for minimum duration."""
RETIME_MIN_MS = 200
"""`retime_cues` drops pieces of cues cut by the clip that are shorter than this."""

_SENTENCE_ENDS = (".", "!", "?", "…", "。", "؟")
_CLAUSE_ENDS = (",", ";", ":", "—", "–", "،")
_DASHES = ("—", "–")
_CLOSERS = "\"'»”’)]"
_PUNCTUATION = ".,;:!?…\"'«»“”„‘’()[]—–-"
_CONJUNCTIONS = frozenset(
    (
        # English
        *("and", "but", "or", "so", "because", "that", "which", "when", "while", "if", "than"),
        # Russian
        *("и", "но", "а", "или", "что", "чтобы", "когда", "если", "потому", "хотя", "как"),
        # Uzbek (Latin and Cyrillic)
        *("va", "lekin", "ammo", "yoki", "chunki", "agar", "ва", "лекин", "аммо", "ёки", "чунки"),
        # Kazakh, Kyrgyz, Tajik
        *("және", "бірақ", "немесе", "себебі", "егер", "жана", "бирок", "анткени", "эгер"),
        *("вале", "ё", "зеро", "ки", "агар"),
    )
)

# Costs of the cue programme: a cue, its end, what it holds.
_CUE_COST = 2.0
_INNER_SENTENCE_COST = 3.0
_INNER_PAUSE_COST = 3.0
_CPS_WEIGHT = 10.0
_SHORT_WEIGHT = 3.0
_FILL_WEIGHT = 1.0


class _Token(NamedTuple):
    start: int
    end: int
    text: str
    cyrillic: int
    other: int


class _Break(NamedTuple):
    """What a boundary after one token costs as a cue end, inside a cue, and as a line break."""

    cue: float
    inner: float
    line: float


def letter_counts(text: str) -> tuple[int, int]:
    """Cyrillic letters and other letters in `text`."""
    cyrillic = other = 0
    for char in text:
        if char.isalpha():
            if unicodedata.name(char, "").startswith("CYRILLIC"):
                cyrillic += 1
            else:
                other += 1
    return cyrillic, other


def line_limit(text: str, rules: ReadingRules) -> int:
    """Characters allowed per line: the Cyrillic limit when most letters of `text` are Cyrillic."""
    cyrillic, other = letter_counts(text)
    return rules.max_line_chars_cyrillic if cyrillic > other else rules.max_line_chars


def layout_cues(words: Sequence[Word], rules: ReadingRules) -> tuple[Cue, ...]:
    """Cues showing `words` in order, each word exactly once, laid out under `rules`."""
    tokens = _clean(words)
    if not tokens:
        return ()
    breaks = _breaks(tokens, rules.pause_ms)
    spans = _segment(tokens, breaks, rules)
    lines = [_wrap(tokens[i:j], breaks[i:j], rules) for i, j in spans]
    times = _time(tokens, spans, lines, rules)
    cues = tuple(
        Cue(start_ms=start, end_ms=end, lines=text)
        for (start, end), text in zip(times, lines, strict=True)
    )
    logger.debug("laid out %d words in %d cues", len(tokens), len(cues))
    return cues


def _clean(words: Sequence[Word]) -> tuple[_Token, ...]:
    kept: list[tuple[int, int, str]] = []
    floor = 0
    for word in words:
        text = " ".join(word.text.split())
        if not text:
            continue
        start = max(word.start_ms, floor)
        kept.append((start, max(word.end_ms, start), text))
        floor = start
    tokens = []
    for k, (start, end, text) in enumerate(kept):
        if k + 1 < len(kept):
            end = min(end, kept[k + 1][0])
        tokens.append(_Token(start, end, text, *letter_counts(text)))
    return tuple(tokens)


def _breaks(tokens: Sequence[_Token], pause_ms: int) -> tuple[_Break, ...]:
    out = [
        _classify(token.text, after.text, after.start - token.end, pause_ms)
        for token, after in itertools.pairwise(tokens)
    ]
    return (*out, _Break(0.0, 0.0, 0.0))


def _classify(text: str, next_text: str, gap_ms: int, pause_ms: int) -> _Break:
    tail = text.rstrip(_CLOSERS)
    pause = gap_ms > pause_ms
    inner_pause = _INNER_PAUSE_COST + min(gap_ms - pause_ms, 3000) / 1000 if pause else 0.0
    if tail.endswith(_SENTENCE_ENDS):
        return _Break(0.0, _INNER_SENTENCE_COST + inner_pause, 0.0)
    if tail.endswith(_CLAUSE_ENDS) or next_text.startswith(_DASHES) or next_text == "-":
        return _Break(1.0 if pause else 1.5, inner_pause, 0.4)
    if pause:
        return _Break(2.0, inner_pause, 0.6)
    if next_text.strip(_PUNCTUATION).casefold() in _CONJUNCTIONS:
        return _Break(3.0, 0.0, 0.85)
    return _Break(5.0, 0.0, 1.0)


class _Window:
    """Running facts about a candidate cue while it grows by one token at a time."""

    def __init__(self, rules: ReadingRules) -> None:
        self.rules = rules
        self.count = self.chars = self.cyrillic = self.other = 0
        self.inner = 0.0
        # Greedy line filling, as [lines, characters on the last line], per line limit.
        self.fill = {rules.max_line_chars: [0, 0], rules.max_line_chars_cyrillic: [0, 0]}

    def add(self, token: _Token) -> None:
        width = len(token.text)
        self.chars += width + (1 if self.count else 0)
        self.count += 1
        self.cyrillic += token.cyrillic
        self.other += token.other
        for limit, state in self.fill.items():
            if state[0] and state[1] + 1 + width <= limit:
                state[1] += 1 + width
            else:
                state[0] += 1
                state[1] = width

    @property
    def limit(self) -> int:
        rules = self.rules
        cyrillic = self.cyrillic > self.other
        return rules.max_line_chars_cyrillic if cyrillic else rules.max_line_chars

    def fits(self) -> bool:
        return self.count == 1 or self.fill[self.limit][0] <= self.rules.max_lines

    def may_grow(self) -> bool:
        """False once no longer cue starting at the same word can fit its lines."""
        return min(state[0] for state in self.fill.values()) <= self.rules.max_lines


def _segment(
    tokens: Sequence[_Token], breaks: Sequence[_Break], rules: ReadingRules
) -> list[tuple[int, int]]:
    """The cheapest cut of the tokens into cues, as [start, stop) index pairs."""
    count = len(tokens)
    best = [0.0] + [math.inf] * count
    back = [0] * (count + 1)
    for i in range(count):
        window = _Window(rules)
        for j in range(i, count):
            window.add(tokens[j])
            too_long = tokens[j].end - tokens[i].start > rules.max_duration_ms
            if window.count > 1 and (too_long or not window.may_grow()):
                break
            if window.fits():
                cost = best[i] + _cue_cost(tokens, breaks[j], i, j, window)
                if cost < best[j + 1]:
                    best[j + 1], back[j + 1] = cost, i
            window.inner += breaks[j].inner
    spans = []
    stop = count
    while stop > 0:
        spans.append((back[stop], stop))
        stop = back[stop]
    return spans[::-1]


def _cue_cost(tokens: Sequence[_Token], end: _Break, i: int, j: int, window: _Window) -> float:
    """The cost of one cue holding tokens i..j, estimating the time it can stay up."""
    rules = window.rules
    latest = tokens[j].end + TAIL_MS
    if j + 1 < len(tokens):
        latest = min(latest, tokens[j + 1].start - rules.min_gap_ms)
    available = max(min(latest - tokens[i].start, rules.max_duration_ms), 1)
    cost = _CUE_COST + end.cue + window.inner
    needed = window.chars * 1000 / rules.max_cps
    if needed > available:
        cost += _CPS_WEIGHT * (needed / available - 1)
    if available < rules.min_duration_ms:
        cost += _SHORT_WEIGHT * (1 - available / rules.min_duration_ms)
    filled = min(window.chars / (window.limit * rules.max_lines), 1.0)
    return cost + _FILL_WEIGHT * (1 - filled) ** 2


def _wrap(
    tokens: Sequence[_Token], breaks: Sequence[_Break], rules: ReadingRules
) -> tuple[str, ...]:
    """The cue's text in the fewest lines, broken after punctuation first, then for balance."""
    texts = [token.text for token in tokens]
    limit = line_limit(" ".join(texts), rules)
    window = _Window(rules)
    for token in tokens:
        window.add(token)
    needed = window.fill[limit][0]
    if needed <= 1:
        return (" ".join(texts),)
    best: tuple[float, tuple[str, ...]] | None = None
    for cuts in itertools.combinations(range(1, len(texts)), needed - 1):
        edges = (0, *cuts, len(texts))
        pieces = [texts[a:b] for a, b in itertools.pairwise(edges)]
        lines = tuple(" ".join(piece) for piece in pieces)
        if any(
            len(line) > limit and len(piece) > 1 for line, piece in zip(lines, pieces, strict=True)
        ):
            continue
        widths = [len(line) for line in lines]
        cost = sum(breaks[cut - 1].line for cut in cuts) + (max(widths) - min(widths)) / limit
        if best is None or cost < best[0]:
            best = (cost, lines)
    if best is None:  # greedy filling found `needed` lines, so some cut fits
        raise SubtitleError(f"cannot wrap {' '.join(texts)!r} in {needed} lines")
    return best[1]


class _Slot(NamedTuple):
    """A cue's words in time: first word start, last word end, display time it needs."""

    first: int
    last: int
    need: int


def _time(
    tokens: Sequence[_Token],
    spans: Sequence[tuple[int, int]],
    lines: Sequence[tuple[str, ...]],
    rules: ReadingRules,
) -> list[tuple[int, int]]:
    """Display times: from the first word, long enough to read, min_gap_ms apart.

    A cue may push the next one's start back by at most max_lag_ms, and only by the slack that
    cue and those after it have left, so a delay never takes time a later cue needs.
    """
    slots = [
        _Slot(tokens[i].start, tokens[j - 1].end, _need(lines[k], rules))
        for k, (i, j) in enumerate(spans)
    ]
    caps = _caps(slots, rules)
    times: list[tuple[int, int]] = []
    for slot, cap in zip(slots, caps, strict=True):
        start = slot.first
        if times:
            start = max(start, times[-1][1] + rules.min_gap_ms)
        times.append((start, _end(start, slot, cap, rules)))
    return times


def _caps(slots: Sequence[_Slot], rules: ReadingRules) -> list[int | None]:
    """The latest end of each cue: the next cue's first word plus the delay it can absorb."""
    caps: list[int | None] = [None] * len(slots)
    for k in range(len(slots) - 1, 0, -1):
        slot = slots[k]
        latest = min(slot.last + TAIL_MS, slot.first + rules.max_duration_ms)
        cap = caps[k]
        if cap is not None:
            latest = min(latest, cap)
        absorb = min(rules.max_lag_ms, max(latest - slot.first - slot.need, 0))
        caps[k - 1] = slot.first + absorb - rules.min_gap_ms
    return caps


def _need(lines: Sequence[str], rules: ReadingRules) -> int:
    chars = sum(len(line) for line in lines)
    return max(rules.min_duration_ms, math.ceil(chars * 1000 / rules.max_cps))


def _end(start: int, slot: _Slot, cap: int | None, rules: ReadingRules) -> int:
    end = max(slot.last, start + slot.need)
    end = min(end, max(slot.last + TAIL_MS, start + rules.min_duration_ms))
    end = min(end, start + rules.max_duration_ms)
    if cap is not None:
        end = min(end, cap)
    # Squeezed words (garbage times) still get half the minimum duration, delaying what follows.
    return max(end, start + max(1, rules.min_duration_ms // 2))


def check_rules(cues: Sequence[Cue], rules: ReadingRules) -> list[str]:
    """Human-readable breaches of `rules` by `cues`; empty when they read well.

    Reading speed counts the characters of the lines (spaces inside a line included, line
    breaks excluded) per second shown. A line holding one word longer than the limit passes.
    """
    problems: list[str] = []
    for number, cue in enumerate(cues, start=1):
        where = f"cue {number} at {cue.start_ms / 1000:.3f}s"
        problems.extend(f"{where}: {problem}" for problem in _cue_problems(cue, rules))
        if number > 1:
            gap = cue.start_ms - cues[number - 2].end_ms
            if gap < 0:
                problems.append(f"{where}: overlaps the previous cue by {-gap} ms")
            elif gap < rules.min_gap_ms:
                problems.append(
                    f"{where}: {gap} ms after the previous cue, need {rules.min_gap_ms}"
                )
    return problems


def _cue_problems(cue: Cue, rules: ReadingRules) -> list[str]:
    problems = []
    limit = line_limit(cue.text, rules)
    if len(cue.lines) > rules.max_lines:
        problems.append(f"{len(cue.lines)} lines, limit {rules.max_lines}")
    for number, line in enumerate(cue.lines, start=1):
        if not line.strip():
            problems.append(f"line {number} is empty")
        elif len(line) > limit and " " in line.strip():
            problems.append(f"line {number} has {len(line)} characters, limit {limit}")
    duration = cue.end_ms - cue.start_ms
    if duration < rules.min_duration_ms:
        problems.append(f"shown {duration} ms, minimum {rules.min_duration_ms}")
    if duration > rules.max_duration_ms:
        problems.append(f"shown {duration} ms, maximum {rules.max_duration_ms}")
    chars = sum(len(line) for line in cue.lines)
    if chars and chars * 1000 > rules.max_cps * max(duration, 0) * (1 + 1e-9):
        cps = chars * 1000 / duration if duration > 0 else math.inf
        problems.append(f"{cps:.1f} characters per second, limit {rules.max_cps:g}")
    return problems


def retime_cues(cues: Sequence[Cue], start_ms: int, end_ms: int) -> tuple[Cue, ...]:
    """The cues of a clip cut from `start_ms` to `end_ms`, timed from the clip's start.

    Cues overlapping the range are kept and clipped to it; a clipped piece shorter than
    `RETIME_MIN_MS` is dropped.
    """
    if start_ms < 0 or end_ms <= start_ms:
        raise SubtitleError(
            f"clip range {start_ms}..{end_ms} ms is empty; pass 0 <= start_ms < end_ms"
        )
    kept = []
    for cue in cues:
        start, end = max(cue.start_ms, start_ms), min(cue.end_ms, end_ms)
        clipped = (start, end) != (cue.start_ms, cue.end_ms)
        if end <= start or (clipped and end - start < RETIME_MIN_MS):
            continue
        kept.append(Cue(start_ms=start - start_ms, end_ms=end - start_ms, lines=cue.lines))
    return tuple(kept)
