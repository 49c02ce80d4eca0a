"""Subtitles in another language: machine translation timed to the source cues, and translations
a person made, imported from SubRip or WebVTT files.

Errors of translation, sorted by what must happen next:

    SubtitleError
    └── TranslationError               a person must act: a key, a language, a file; the message
        │                              says what to do
        ├── TranslationFileError       a translation file cannot be read (names file and line)
        └── TransientTranslationError  the service failed in a way that passes (429, 5xx, the
                                       network, a spent daily quota): the next run retries

A `Translator` translates every text or raises: a caller never sees half a translation.

`translate_cues` keeps sentence context: the cues of one sentence are joined and translated as
one text, the translation's words are spread over the time those cues were shown, in proportion
to their length, and `layout_cues` lays them out under the target language's reading rules. So a
translation too long for its cue becomes several cues within the sentence's time, short
neighbours merge, and what cannot be read in the time it has keeps its timing and is reported
(`check_rules`, logged as warnings).
"""

from __future__ import annotations

import bisect
import html
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from subtitles.errors import SubtitleError
from subtitles.formats import format_timestamp

# The layout's own notion of a sentence end, so that both agree on where sentences stop.
from subtitles.layout import _CLOSERS, _SENTENCE_ENDS, check_rules, layout_cues
from subtitles.models import Cue, ReadingRules, Segment, Word

logger = logging.getLogger(__name__)

SENTENCE_GAP_MS = 2000
"""A silence this long between cues ends a sentence even without a full stop."""
MAX_SENTENCE_MS = 20_000
"""A run of cues without a sentence end is cut before it grows longer than this."""
ALIGN_TOLERANCE_MS = 500
"""How far an imported cue's start or end may be from a source cue's to be snapped to it."""


class TranslationError(SubtitleError):
    """A translation cannot be made as asked; a person must act. The message says how."""


class TranslationFileError(TranslationError):
    """A translation file cannot be read; the message names the file, the line and the fix."""


class TransientTranslationError(TranslationError):
    """The service failed in a way that passes on its own; the next run retries."""


class Translator(Protocol):
    """Translates texts, all or none: one result per text, in order, or an error.

    `source` None asks the service to detect the language. Implementations batch as their
    service requires and never return a partial result.
    """

    name: str

    def translate(self, texts: Sequence[str], source: str | None, target: str) -> list[str]: ...


# -- machine translation, timed to the source -----------------------------------------------


def translate_cues(
    cues: Sequence[Cue],
    translator: Translator,
    source: str | None,
    target: str,
    rules: ReadingRules,
) -> tuple[Cue, ...]:
    """The cues translated into `target`, laid out under `rules` within the source timing.

    The translated words are spread over the time their sentence's source cues were shown
    (`translate_segments`) and timed as `layout_cues` times spoken words: a cue starts with its
    first word, or up to `max_lag_ms` later to keep `min_gap_ms`, and stays up for reading
    speed at most `TAIL_MS` past its last word, into silence only. Breaches of `rules` that the
    time cannot avoid are logged; `check_rules(result, rules)` lists them.
    """
    segments = translate_segments(cues, translator, source, target)
    translated = layout_cues([word for segment in segments for word in segment.words], rules)
    for problem in check_rules(translated, rules):
        logger.warning("translation %s → %s: %s", source or "auto", target, problem)
    return translated


def translate_segments(
    cues: Sequence[Cue], translator: Translator, source: str | None, target: str
) -> tuple[Segment, ...]:
    """One segment per source sentence: its translation, with words timed across its cues.

    The words are a `Transcript`'s words in all but origin, so a translated track can be kept
    and cut into clips as a spoken one is.
    """
    groups = sentence_groups(cues)
    texts = [" ".join(cue.text for cue in group) for group in groups]
    translated = translator.translate(texts, source, target)
    if len(translated) != len(texts):
        raise TranslationError(
            f"{translator.name} returned {len(translated)} translations for {len(texts)} "
            "texts; this is a bug in the translator"
        )
    segments = []
    for group, text in zip(groups, translated, strict=True):
        words = timed_words(text, group)
        if not words:
            said = " ".join(cue.text for cue in group)
            logger.warning("%s translated %r to nothing", translator.name, said)
        segments.append(
            Segment(
                start_ms=group[0].start_ms,
                end_ms=group[-1].end_ms,
                text=" ".join(word.text for word in words),
                words=words,
            )
        )
    logger.info(
        "%s: translated %d cues in %d sentences, %s → %s",
        translator.name,
        len(cues),
        len(groups),
        source or "auto",
        target,
    )
    return tuple(segments)


def sentence_groups(cues: Sequence[Cue]) -> list[list[Cue]]:
    """The cues cut into sentences: at a sentence end, a long silence, or a long run."""
    groups: list[list[Cue]] = []
    current: list[Cue] = []
    for cue in cues:
        if not cue.text.strip():
            continue
        if current and (
            cue.start_ms - current[-1].end_ms >= SENTENCE_GAP_MS
            or cue.end_ms - current[0].start_ms > MAX_SENTENCE_MS
        ):
            groups.append(current)
            current = []
        current.append(cue)
        if cue.text.rstrip().rstrip(_CLOSERS).endswith(_SENTENCE_ENDS):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def timed_words(text: str, cues: Sequence[Cue]) -> tuple[Word, ...]:
    """The words of `text` spread over the time `cues` are shown, each by its length.

    Time between the cues stays silent: a word falls inside one cue's span or straddles the
    gap from the end of one to the start of the next.
    """
    tokens = text.split()
    if not tokens:
        return ()
    spans = [(cue.start_ms, cue.end_ms) for cue in cues]
    shown = sum(end - start for start, end in spans)
    chars = max(sum(len(token) for token in tokens) + len(tokens) - 1, 1)

    def at(position: int) -> int:
        offset = shown * position / chars
        for start, end in spans:
            if offset <= end - start:
                return start + round(offset)
            offset -= end - start
        return spans[-1][1]

    words = []
    position = 0
    for token in tokens:
        start, end = at(position), at(position + len(token))
        words.append(Word(start_ms=start, end_ms=max(start, end), text=token))
        position += len(token) + 1
    return tuple(words)


# -- translations a person made ------------------------------------------------------------


class Alignment(NamedTuple):
    """Imported cues snapped to the source cues' times, and those that match none."""

    cues: tuple[Cue, ...]
    unmatched: tuple[str, ...]


def import_translation(
    path: Path,
    source_cues: Sequence[Cue] | None,
    rules: ReadingRules,
    *,
    tolerance_ms: int = ALIGN_TOLERANCE_MS,
) -> tuple[Cue, ...]:
    """The cues of a translation file a person made (`NAME.ru.srt` or `.vtt`).

    With `source_cues`, each cue's start and end snap to the nearest source cue start and end
    within `tolerance_ms` (`align_to_source`). Cues that match no source cue and breaches of
    `rules` are kept as the person made them and logged as warnings, naming the file; call
    `align_to_source` and `check_rules` for the lists.
    """
    cues = read_translation_file(path)
    if source_cues:
        alignment = align_to_source(
            cues, source_cues, tolerance_ms=tolerance_ms, min_gap_ms=rules.min_gap_ms
        )
        cues = alignment.cues
        for problem in alignment.unmatched:
            logger.warning("%s: %s", path, problem)
    for problem in check_rules(cues, rules):
        logger.warning("%s: %s", path, problem)
    logger.info("%s: imported %d cues", path, len(cues))
    return cues


def translation_language(path: Path) -> str:
    """The language a translation file is named for: ``ru`` for ``Interview 3.ru.srt``."""
    language = Path(path.stem).suffix.removeprefix(".")
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?", language):
        raise TranslationFileError(
            f"{path}: the name does not say the language; name it like NAME.ru.srt or "
            "NAME.en.vtt (NAME as the footage, then an ISO 639-1 code)"
        )
    primary, _, region = language.partition("-")
    return f"{primary.lower()}-{region}" if region else primary.lower()


def align_to_source(
    cues: Sequence[Cue],
    source_cues: Sequence[Cue],
    *,
    tolerance_ms: int = ALIGN_TOLERANCE_MS,
    min_gap_ms: int = 80,
) -> Alignment:
    """`cues` snapped to the nearest source cue boundaries within `tolerance_ms`.

    A start snaps to a source start, an end to a source end, so a cue that joins two source
    cues spans both and a cue split in two keeps its inner boundary. A snap that would run into
    the cue before, or leave a cue without time, is not made. A cue matches when a boundary
    snapped or it lies within one source cue; the others keep their times and are reported.
    """
    starts = sorted(cue.start_ms for cue in source_cues)
    ends = sorted(cue.end_ms for cue in source_cues)
    aligned: list[Cue] = []
    unmatched: list[str] = []
    for number, cue in enumerate(cues, start=1):
        start = _nearest(starts, cue.start_ms, tolerance_ms)
        if start is not None and aligned and start < aligned[-1].end_ms + min_gap_ms:
            start = None
        end = _nearest(ends, cue.end_ms, tolerance_ms)
        new_start = cue.start_ms if start is None else start
        if end is not None and end <= new_start:
            end = None
        new_end = cue.end_ms if end is None else end
        if new_end <= new_start:  # a start snapped past the end of a very short cue
            new_start, start = cue.start_ms, None
        inside = any(
            source.start_ms - tolerance_ms <= new_start and new_end <= source.end_ms + tolerance_ms
            for source in source_cues
        )
        if start is None and end is None and not inside:
            unmatched.append(
                f"cue {number} at {format_timestamp(cue.start_ms, ',')} ({cue.text[:40]!r}) "
                f"matches no source cue within {tolerance_ms} ms; check that the file belongs "
                "to this footage and is timed to it"
            )
        aligned.append(Cue(start_ms=new_start, end_ms=new_end, lines=cue.lines))
    return Alignment(tuple(aligned), tuple(unmatched))


def _nearest(sorted_times: Sequence[int], time: int, tolerance: int) -> int | None:
    k = bisect.bisect_left(sorted_times, time)
    near = [sorted_times[i] for i in (k - 1, k) if 0 <= i < len(sorted_times)]
    best = min(near, key=lambda candidate: abs(candidate - time), default=None)
    return best if best is not None and abs(best - time) <= tolerance else None


# -- reading SubRip and WebVTT, with line numbers -------------------------------------------

_ARROW = re.compile(r"^\s*(\S+)\s*-->\s*(\S+)(?:\s.*)?$")
_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION")
_TIME_FIX = "write times like 00:01:02,500 --> 00:01:05,000"


class _Line(NamedTuple):
    number: int
    text: str


def read_translation_file(path: Path) -> tuple[Cue, ...]:
    """The cues of a SubRip (.srt) or WebVTT (.vtt) file in UTF-8; tags are dropped."""
    if path.suffix.lower() not in (".srt", ".vtt"):
        raise TranslationFileError(f"{path}: not a subtitle file; save it as .srt or .vtt")
    lines = [_Line(n, text) for n, text in enumerate(_decode(path).splitlines(), start=1)]
    vtt = path.suffix.lower() == ".vtt"
    if vtt:
        if not lines or not lines[0].text.startswith("WEBVTT"):
            raise TranslationFileError(f"{path}, line 1: a WebVTT file starts with WEBVTT")
        header = (k for k, line in enumerate(lines) if not line.text.strip())
        lines = lines[next(header, len(lines)) :]
    cues: list[Cue] = []
    for block in _blocks(lines):
        if vtt and block[0].text.split(" ")[0].split("\t")[0] in _VTT_BLOCKS:
            continue
        cues.extend(_block_cues(path, block, vtt))
    if not cues:
        raise TranslationFileError(f"{path}: holds no cues; {_TIME_FIX}, then the text")
    return tuple(cues)


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TranslationFileError(
            f"{path}, line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); save the file "
            "as UTF-8 (Subtitle Edit: File → Save as, encoding UTF-8)"
        ) from exc


def _blocks(lines: Sequence[_Line]) -> list[list[_Line]]:
    blocks: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if line.text.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _block_cues(path: Path, block: Sequence[_Line], vtt: bool) -> list[Cue]:
    """The cues of one block; a cue whose blank line is missing starts a new one."""
    arrows = [k for k, line in enumerate(block) if "-->" in line.text]
    if not arrows or arrows[0] > 1:  # the time belongs first, or after the cue's number
        numbered = len(block) > 1 and block[0].text.strip().isdigit()
        line = block[1] if numbered else block[0]
        raise TranslationFileError(f"{path}, line {line.number}: expected a cue time; {_TIME_FIX}")
    cues = []
    for k, arrow in enumerate(arrows):
        stop = arrows[k + 1] if k + 1 < len(arrows) else len(block)
        text = block[arrow + 1 : stop]
        if k + 1 < len(arrows) and text and text[-1].text.strip().isdigit():
            text = text[:-1]  # the next cue's number
        cue = _cue(path, block[arrow], text, vtt)
        if cue is not None:
            cues.append(cue)
    return cues


def _cue(path: Path, timing: _Line, text: Sequence[_Line], vtt: bool) -> Cue | None:
    where = f"{path}, line {timing.number}"
    match = _ARROW.match(timing.text)
    if match is None:
        raise TranslationFileError(f"{where}: cannot read {timing.text.strip()!r}; {_TIME_FIX}")
    start, end = (_ms(where, value) for value in match.groups())
    if end <= start:
        raise TranslationFileError(
            f"{where}: the cue ends ({match[2]}) before it starts ({match[1]}); fix its times"
        )
    lines = [_TAG.sub("", line.text) for line in text]
    lines = [" ".join((html.unescape(line) if vtt else line).split()) for line in lines]
    lines = [line for line in lines if line]
    if not lines:
        logger.warning("%s: the cue has no text; it is left out", where)
        return None
    return Cue(start_ms=start, end_ms=end, lines=tuple(lines))


def _ms(where: str, value: str) -> int:
    match = _TIME.fullmatch(value)
    if match is None:
        raise TranslationFileError(f"{where}: {value!r} is not a time; {_TIME_FIX}")
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise TranslationFileError(f"{where}: {value!r} is not a time; {_TIME_FIX}")
    total = (int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)
    return total * 1000 + int(fraction.ljust(3, "0"))
