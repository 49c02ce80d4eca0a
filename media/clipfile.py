"""Clips staff choose themselves, in `NAME.clips.yaml` next to the footage.

    clips:
      - from: "my father left"      # the clip starts at these words...
        to: "every day"             # ...and ends after these (searched after the start)
        title: "My father left"
      - start: "1:05.5"             # or by time: seconds, M:SS(.s) or H:MM:SS(.s)
        end: "1:40"

Quotes are found in the transcript regardless of case and punctuation. A quote that is not
there is an error that shows the closest words the transcript does have.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from media.errors import MediaError
from media.selection import ClipSpan, edges, normalise_words
from media.sidecar import SidecarError, load_yaml, yaml_line
from subtitles.models import Word

CLIPS_SUFFIX = ".clips.yaml"
_TIME = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$")


class ClipFileError(SidecarError):
    """A clips file is malformed; names the file, line and field."""


class QuoteNotFoundError(MediaError):
    def __init__(self, quote: str, closest: str, at_ms: int | None) -> None:
        where = f" at {format_time(at_ms)}" if at_ms is not None else ""
        hint = f'; the closest words are "{closest}"{where}' if closest else ""
        super().__init__(f'"{quote}" is not in the transcript{hint}')
        self.quote, self.closest, self.at_ms = quote, closest, at_ms


class ChosenClip(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    quote_from: str | None = Field(default=None, alias="from")
    quote_to: str | None = Field(default=None, alias="to")
    start: str | float | None = None
    end: str | float | None = None
    title: str = ""

    @model_validator(mode="after")
    def _one_way(self) -> ChosenClip:
        by_quote = self.quote_from is not None or self.quote_to is not None
        by_time = self.start is not None or self.end is not None
        if by_quote == by_time:
            raise ValueError("give either from/to (quoted words) or start/end (times)")
        if by_quote and not (self.quote_from and self.quote_to):
            raise ValueError("a quoted clip needs both 'from' and 'to'")
        if by_time and (self.start is None or self.end is None):
            raise ValueError("a timed clip needs both 'start' and 'end'")
        return self


class ClipFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    clips: tuple[ChosenClip, ...] = ()


def clip_file_for(media: Path) -> Path:
    return media.with_name(Path(media.name).stem + CLIPS_SUFFIX)


def read_clip_file(path: Path) -> ClipFile:
    """A clips file as filed in the library (one in the inbox was checked when it was filed;
    a backup may have hard-linked the library's copy)."""
    root, data = load_yaml(path, ClipFileError, hard_links=True)
    listed = isinstance(data, list)  # a bare list of clips is fine too
    if listed:
        data = {"clips": data}
    try:
        return ClipFile.model_validate(data or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        field = ".".join(str(p) for p in loc) or None
        message = str(error["msg"]).removeprefix("Value error, ")
        line = yaml_line(root, loc[1:] if listed else loc)
        raise ClipFileError(path, line, field, message) from exc


def parse_time(value: str | float) -> int:
    """Milliseconds from 65.5, "65.5", "1:05.5" or "0:01:05.5"."""
    if isinstance(value, int | float):
        return round(float(value) * 1000)
    match = _TIME.match(value.strip())
    if not match:
        raise ValueError(f"'{value}' is not a time; write seconds (65.5) or M:SS (1:05.5)")
    parts = [float(p) for p in match.groups() if p is not None]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return round(seconds * 1000)


def format_time(ms: int) -> str:
    """M:SS.s, rounded to a tenth first (59.96 s is 1:00.0, not 0:60.0)."""
    tenths = (ms + 50) // 100
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes}:{tenths // 10:02d}.{tenths % 10}"


def resolve(clip: ChosenClip, words: Sequence[Word], duration_ms: int, padding_ms: int) -> ClipSpan:
    """Where a chosen clip lies; raises `QuoteNotFoundError` or `ValueError` with the reason."""
    if clip.quote_from and clip.quote_to:
        first, _ = find_quote(words, clip.quote_from)
        _, last = find_quote(words, clip.quote_to, first)
        start, end = edges(words, first, last, padding_ms, duration_ms)
    else:
        assert clip.start is not None and clip.end is not None
        start, end = snap_outside_words(words, parse_time(clip.start), parse_time(clip.end))
        end = min(end, duration_ms)
        if start >= duration_ms:
            raise ValueError(
                f"start {clip.start} is past the end of the footage ({format_time(duration_ms)})"
            )
        if end <= start:
            raise ValueError(f"end {clip.end} is not after start {clip.start}")
    inside = [w.text for w in words if w.start_ms >= start and w.end_ms <= end]
    return ClipSpan(
        start_ms=start,
        end_ms=end,
        text=" ".join(inside),
        origin="chosen",
        title=clip.title,
        score=0.0,
    )


def snap_outside_words(words: Sequence[Word], start: int, end: int) -> tuple[int, int]:
    """Move edges that fall inside a word to just outside it, keeping the whole word."""
    for word in words:
        if word.start_ms < start < word.end_ms:
            start = word.start_ms
        if word.start_ms < end < word.end_ms:
            end = word.end_ms
    return max(0, start), end


def find_quote(words: Sequence[Word], quote: str, from_word: int = 0) -> tuple[int, int]:
    """Indexes of the first and last word of `quote` in `words`, at or after `from_word`."""
    target = normalise_words(quote)
    if not target:
        raise ValueError("an empty quote")
    tokens, owners = _tokens(words)
    begin = next((k for k, owner in enumerate(owners) if owner >= from_word), len(tokens))
    for k in range(begin, len(tokens) - len(target) + 1):
        if tokens[k : k + len(target)] == target:
            return owners[k], owners[k + len(target) - 1]
    closest, at = _closest(tokens, owners, target, words)
    raise QuoteNotFoundError(quote, closest, at)


def _tokens(words: Sequence[Word]) -> tuple[list[str], list[int]]:
    tokens: list[str] = []
    owners: list[int] = []
    for index, word in enumerate(words):
        for token in normalise_words(word.text):
            tokens.append(token)
            owners.append(index)
    return tokens, owners


def _closest(
    tokens: list[str], owners: list[int], target: list[str], words: Sequence[Word]
) -> tuple[str, int | None]:
    wanted = " ".join(target)
    best: tuple[float, int] = (0.0, -1)
    for k in range(max(1, len(tokens) - len(target) + 1)):
        ratio = difflib.SequenceMatcher(None, " ".join(tokens[k : k + len(target)]), wanted).ratio()
        best = max(best, (ratio, -k))
    k = -best[1]
    if best[0] < 0.4 or k < 0 or not tokens:
        return "", None
    span = owners[k : k + len(target)]
    return " ".join(words[i].text for i in sorted(set(span))), words[span[0]].start_ms
