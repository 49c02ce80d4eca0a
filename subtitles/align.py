"""Forced alignment: corrected words put back on the audio with Whisper's own word timing.

Staff correct by hand what the model heard badly; `align` times the corrected words on the audio
with the same weights. The words are tokenised instead of decoded, and CTranslate2's
`Whisper.align` (the dynamic time warping over the alignment heads' cross-attention that
faster-whisper runs for ``word_timestamps=True``) places every token in a window of at most 30 s.

Windows. Pieces with approximate times (the cues of a corrected SRT) are aligned in groups of
neighbours that fit one window, within their cues' times widened by `AlignOptions.margin_ms`.
Plain text is walked through the recording: a window is given more words than it likely holds;
those it places well before its end are kept, the rest open the next window (Whisper squeezes
the words not spoken yet into the last frames; speech past the last word goes to end-of-text).

Speech. Silero VAD (shipped with faster-whisper) finds the speech. A window starts at an onset,
since the alignment starts the first word at the window's first frame; a word that would start
in silence starts at the next onset, one that would end in silence ends where speech stopped.

Fallback. A piece (a cue, or a sentence of plain text) whose alignment is unsure, with a median
word probability under `AlignOptions.min_probability` or a third of its words squeezed into no
time, is spread instead over the speech between its sure neighbours (a cue: within its own
times), each word taking time in proportion to its length; in a group of cues, the sure ones are
then aligned again without it. No word is ever dropped or reordered. Spread words carry
``probability`` 0.0 (`SPREAD`, see `is_spread`); aligned words at least 0.0001.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from subtitles.engines import SAMPLE_RATE, Audio
from subtitles.engines.faster import load_model
from subtitles.errors import TranscriptionError, TransientTranscriptionError
from subtitles.models import Frozen, Segment, Transcript, Word
from subtitles.words import ms

log = logging.getLogger(__name__)

ENGINE = "align"
SPREAD = 0.0
"""The probability of a word spread over the speech because its alignment was unsure."""
MIN_ALIGNED_PROBABILITY = 0.0001
WINDOW_S = 30.0
MAX_TOKENS = 400  # text tokens in one window: Whisper's decoder holds 448 with the prompt
EXCESS = 1.5  # a walking window is given this many times the tokens expected in it
GUARD_S = 3.0  # words a walking window ends this close to its end wait for the next window
TAIL_S = 0.5  # the audio a window keeps after its last speech
TIMES_PAUSE_S = 0.2  # how far a cue's window may reach into the next cue's approximate time
SQUEEZED_S = 0.02  # one alignment frame: a word shorter than this was squeezed
VAD_PAD_MS = 100  # Silero is late on soft onsets ("s", "h"): speech is widened by this
VAD_MIN_SILENCE_MS = 250
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\s*\n\s*")

Seconds = npt.NDArray[np.float64]


class Piece(Frozen):
    """A stretch of corrected text: a cue or segment with its approximate times, or a sentence."""

    text: str
    start_ms: int | None = Field(default=None, ge=0)
    end_ms: int | None = Field(default=None, ge=0)

    @property
    def timed(self) -> bool:
        return self.start_ms is not None and self.end_ms is not None


class AlignOptions(BaseModel):
    """How to align. `language` is the Whisper token to align with (``kk`` for Kyrgyz, see
    `subtitles.languages.decode_language`; None: detected); `spoken_language` is recorded."""

    model_config = ConfigDict(frozen=True)

    model: str
    model_label: str = ""
    device: str = "cpu"
    compute_type: str = "int8"
    language: str | None = None
    spoken_language: str | None = None
    margin_ms: int = Field(default=1000, ge=0)
    min_probability: float = Field(default=0.05, ge=0.0, le=1.0)


def is_spread(word: Word) -> bool:
    """Whether `word` was spread over the speech instead of aligned (its alignment was unsure)."""
    return word.probability == SPREAD


def align(audio: Audio, text: str | Sequence[str | Piece], options: AlignOptions) -> Transcript:
    """Every word of `text`, in order, timed on `audio` (16 kHz mono float32): one segment per
    piece. `text` is plain text (split into sentences and lines) or pieces: strings or `Piece`s,
    whose times are used when every piece has them."""
    pieces = _pieces(text)
    model = load_model(options.model, options.device, options.compute_type)
    speech = _speech(audio)
    language, probability = _language(model, audio, speech, options.language)
    aligner = _Aligner(model, audio, speech, language, pieces, options)
    try:
        aligner.run()
    except MemoryError as exc:
        raise TransientTranscriptionError(f"out of memory while aligning: {exc}") from exc
    except RuntimeError as exc:
        raise TranscriptionError(f"faster-whisper failed to align: {exc}") from exc
    spoken = options.spoken_language or language
    return Transcript(
        language=spoken,
        spoken_language=spoken,
        decode_language=language,
        language_probability=probability,
        engine=ENGINE,
        model=options.model_label or options.model,
        duration_ms=round(len(audio) * 1000 / SAMPLE_RATE),
        segments=aligner.segments(),
    )


def sentences(text: str) -> list[Piece]:
    """Plain text cut into pieces at the ends of sentences and lines."""
    return _pieces([Piece(text=s) for s in _SENTENCE_END.split(text.strip())])


def _pieces(text: str | Sequence[str | Piece]) -> list[Piece]:
    if isinstance(text, str):
        return sentences(text)
    found = [p if isinstance(p, Piece) else Piece(text=p) for p in text]
    found = [p.model_copy(update={"text": " ".join(p.text.split())}) for p in found]
    return [p for p in found if p.text]


@dataclass
class _Speech:
    """Where people speak: sorted, disjoint (onset, offset) pairs in seconds."""

    onsets: Seconds
    offsets: Seconds

    def within(self, lo: float, hi: float) -> list[tuple[float, float]]:
        pairs = zip(self.onsets.tolist(), self.offsets.tolist(), strict=True)
        return [(max(a, lo), min(b, hi)) for a, b in pairs if b > lo and a < hi]

    def seconds(self, lo: float, hi: float) -> float:
        return sum(b - a for a, b in self.within(lo, hi))

    def onset_from(self, t: float, hi: float) -> float | None:
        """`t` if it is in speech, else the next onset before `hi`; None when none is left."""
        k = int(np.searchsorted(self.offsets, t, side="right"))
        begin = max(t, float(self.onsets[k])) if k < len(self.onsets) else hi
        return begin if begin < hi else None

    def onset_near(self, t: float, lo: float, hi: float) -> float:
        """Where speech said to start at `t` starts: at `t` in speech (not before `lo`), else at
        the onset in [lo, hi] nearest to `t` (`lo` when there is none)."""
        if self.within(t, t):
            return max(t, lo)
        onsets = self.onsets[(self.onsets >= lo) & (self.onsets <= hi)]
        return float(onsets[np.argmin(np.abs(onsets - t))]) if len(onsets) else lo

    def last_offset(self, lo: float, hi: float) -> float:
        """Where the speech in [lo, hi] ends (`hi` if it goes on)."""
        return self.within(lo, hi)[-1][1] if self.within(lo, hi) else hi

    def snap(self, start: float, end: float) -> tuple[float, float]:
        """A word moved off silence: its start to the next onset, its end back to the last
        offset; stretched over a pause, it keeps the side where it has more speech."""
        k = int(np.searchsorted(self.offsets, start, side="right"))
        start = max(start, float(self.onsets[k])) if k < len(self.onsets) else start
        k = int(np.searchsorted(self.onsets, end, side="left")) - 1
        end = max(start, min(end, float(self.offsets[k])) if k >= 0 else end)
        regions = self.within(start, end)
        return max(regions, key=lambda r: r[1] - r[0]) if len(regions) > 1 else (start, end)


def _speech(audio: Audio) -> _Speech:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(min_silence_duration_ms=VAD_MIN_SILENCE_MS, speech_pad_ms=VAD_PAD_MS)
    found = get_speech_timestamps(audio, vad, sampling_rate=SAMPLE_RATE)
    if not found:  # nothing VAD calls speech: take the whole recording as speech
        found = [{"start": 0, "end": len(audio)}]
    return _Speech(
        np.array([r["start"] / SAMPLE_RATE for r in found]),
        np.array([min(r["end"], len(audio)) / SAMPLE_RATE for r in found]),
    )


def _language(
    model: Any, audio: Audio, speech: _Speech, language: str | None
) -> tuple[str, float | None]:
    if language:
        return language, None
    start = int(speech.onsets[0] * SAMPLE_RATE)
    found, probability, _ = model.detect_language(audio[start : start + 30 * SAMPLE_RATE])
    log.info("aligning as %s (detected, probability %.2f)", found, probability)
    return str(found), round(float(probability), 4)


@dataclass
class _Aligner:
    """The words of every piece and their times (seconds), filled window by window."""

    model: Any
    audio: Audio
    speech: _Speech
    language: str
    pieces: list[Piece]
    options: AlignOptions
    texts: list[str] = field(init=False)
    spans: list[range] = field(init=False)  # the words of each piece
    tokens: list[list[int]] = field(init=False)
    start: Seconds = field(init=False)
    end: Seconds = field(init=False)
    probability: Seconds = field(init=False)  # NaN: not aligned (yet)

    def __post_init__(self) -> None:
        from faster_whisper.tokenizer import Tokenizer

        multilingual = self.model.model.is_multilingual
        self.tokenizer = Tokenizer(
            self.model.hf_tokenizer, multilingual, "transcribe", self.language
        )
        self.texts = [word for piece in self.pieces for word in piece.text.split()]
        counts = np.cumsum([0] + [len(piece.text.split()) for piece in self.pieces]).tolist()
        self.spans = [range(a, b) for a, b in itertools.pairwise(counts)]
        self.tokens = [self.tokenizer.encode(" " + word) for word in self.texts]
        self.start, self.end = np.zeros(len(self.texts)), np.zeros(len(self.texts))
        self.probability = np.full(len(self.texts), np.nan)
        self.duration = len(self.audio) / SAMPLE_RATE

    def run(self) -> None:
        if not self.texts:
            return
        if all(piece.timed for piece in self.pieces):
            self._align_timed(self.options.margin_ms / 1000)
        else:
            self._walk(0, len(self.texts), 0.0, self.duration)
        for k in np.flatnonzero(~np.isnan(self.probability)):
            self.start[k], self.end[k] = self.speech.snap(float(self.start[k]), float(self.end[k]))
        self._spread_unsure()
        self._unsqueeze()

    def _align_timed(self, margin: float) -> None:
        for group in _groups(self.pieces, margin, [len(t) for t in self.tokens], self.spans):
            self._align_cues(group, margin)
            sure = [n for n in group if self._is_sure(n)]
            if sure and len(sure) < len(group):  # an unsure cue pulls its neighbours off
                for run in _runs(sure):
                    self._align_cues(run, margin)

    def _align_cues(self, run: list[int], margin: float) -> None:
        first, last = self.pieces[run[0]], self.pieces[run[-1]]
        lo, hi = _seconds(first.start_ms) - margin, _seconds(last.end_ms) + margin
        if run[0] > 0 and self._is_sure(run[0] - 1):
            lo = max(lo, float(self.end[self.spans[run[0] - 1][-1]]))
        else:  # nothing sure before it: start where the cue's speech seems to start
            if run[0] > 0:
                before = min(_seconds(self.pieces[run[0] - 1].end_ms), _seconds(first.start_ms))
                lo = max(lo, before - TIMES_PAUSE_S)
            lo = self.speech.onset_near(_seconds(first.start_ms), lo, lo + 2 * margin)
        if run[-1] + 1 < len(self.pieces):
            following = _seconds(self.pieces[run[-1] + 1].start_ms)
            hi = min(hi, max(following, _seconds(last.end_ms)) + TIMES_PAUSE_S)
        lo = max(0.0, lo)
        self._walk(self.spans[run[0]][0], self.spans[run[-1]][-1] + 1, lo, min(self.duration, hi))

    def _walk(self, first: int, last: int, lo: float, hi: float) -> None:
        """Align words `first`..`last` within [lo, hi], window after window."""
        self.probability[first:last] = np.nan
        count = sum(len(t) for t in self.tokens[first:last])
        rate = count / max(self.speech.seconds(lo, hi), 1.0)  # tokens per second of speech
        length = min(WINDOW_S, max(5.0, MAX_TOKENS / (EXCESS * rate)))
        cursor, i = lo, first
        while i < last and (begin := self.speech.onset_from(cursor, hi)) is not None:
            end = min(self.speech.last_offset(begin, begin + length) + TAIL_S, begin + length, hi)
            final = self.speech.onset_from(end, hi) is None
            budget = MAX_TOKENS if final else EXCESS * rate * self.speech.seconds(begin, end) + 8
            given = _take(self.tokens, i, last, min(budget, MAX_TOKENS))
            if not given:  # one word longer than a window's tokens: it will be spread
                i += 1
                continue
            self._window(begin, end, i, i + given)
            kept = given
            if not (final and i + given == last):
                guard = min(GUARD_S, (end - begin) / 3)
                kept = max(1, int(np.sum(self.end[i : i + given] <= end - guard)))
                self.probability[i + kept : i + given] = np.nan
            log.debug("%.2f-%.2f s: words %d-%d given, %d kept", begin, end, i, i + given, kept)
            cursor, i = float(self.end[i + kept - 1]), i + kept

    def _window(self, begin: float, end: float, first: int, last: int) -> None:
        """Align words `first`..`last` with the audio from `begin` to `end` (at most 30 s)."""
        from faster_whisper.audio import pad_or_trim

        samples = self.audio[int(begin * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        features = self.model.feature_extractor(samples)
        frames = min(features.shape[-1] - 1, self.model.feature_extractor.nb_max_frames)
        encoded = self.model.encode(pad_or_trim(features[:, :frames]))
        text = [token for tokens in self.tokens[first:last] for token in tokens]
        result = self.model.model.align(
            encoded, self.tokenizer.sot_sequence, [text], frames, median_filter_width=7
        )[0]
        rows = np.array([pair[0] for pair in result.alignments])
        times = np.array([pair[1] for pair in result.alignments])
        jumps = np.pad(np.diff(rows), (1, 0), constant_values=1).astype(bool)
        jump_times = begin + times[jumps] / self.model.tokens_per_second
        bounds = np.cumsum([0] + [len(tokens) for tokens in self.tokens[first:last]])
        token_probabilities = np.asarray(result.text_token_probs)
        self.start[first:last] = jump_times[bounds[:-1]]
        self.end[first:last] = np.minimum(jump_times[bounds[1:]], end)
        self.probability[first:last] = [
            max(MIN_ALIGNED_PROBABILITY, float(np.mean(token_probabilities[a:b])))
            for a, b in itertools.pairwise(bounds)
        ]

    def _is_sure(self, piece: int) -> bool:
        words = self.spans[piece]
        probability = self.probability[words]
        if not words or np.isnan(probability).any():
            return False
        squeezed = np.sum(self.end[words] - self.start[words] < SQUEEZED_S)
        return bool(
            np.median(probability) >= self.options.min_probability and squeezed * 3 <= len(words)
        )

    def _spread_unsure(self) -> None:
        for run in _runs([n for n in range(len(self.pieces)) if not self._is_sure(n)]):
            self._spread_run(run)

    def _spread_run(self, run: list[int]) -> None:
        """Spread the words of unsure pieces over the speech between their sure neighbours."""
        first, last = self.spans[run[0]][0], self.spans[run[-1]][-1]
        lo = float(self.end[first - 1]) if first else 0.0
        hi = float(self.start[last + 1]) if last + 1 < len(self.texts) else self.duration
        if not all(self.pieces[n].timed for n in run):
            self._spread(range(first, last + 1), lo, max(lo, hi))
            return
        for n in run:  # a cue within its own times, as far as its neighbours leave them
            a = min(max(_seconds(self.pieces[n].start_ms), lo), hi)
            self._spread(self.spans[n], a, max(a, min(_seconds(self.pieces[n].end_ms), hi)))
            lo = float(self.end[self.spans[n][-1]])

    def _spread(self, words: range, lo: float, hi: float) -> None:
        regions = self.speech.within(lo, hi)
        if sum(b - a for a, b in regions) < 0.05 * len(words):
            regions = [(lo, hi)]  # (next to) no speech there: use all the time there is
        weights = np.array([len(self.texts[k]) + 1.0 for k in words])
        edges = np.cumsum([0.0, *weights]) / weights.sum()
        starts = _on_regions(edges[:-1], regions)
        ends = _on_regions(edges[1:] - 1.0 / weights.sum(), regions)
        for k, start, end in zip(words, starts.tolist(), ends.tolist(), strict=True):
            parts = [(max(a, start), min(b, end)) for a, b in regions if b > start and a < end]
            self.start[k], self.end[k] = max(parts, key=lambda p: p[1] - p[0], default=(start, end))
        self.probability[words] = SPREAD

    def _unsqueeze(self) -> None:
        """Aligned words squeezed into no time share the time of the word before them (after
        them, at the start), in proportion to their length."""
        squeezed = (self.end - self.start < SQUEEZED_S) & (self.probability != SPREAD)
        for run in _runs(np.flatnonzero(squeezed).tolist()):
            first, last = run[0], run[-1] + 1
            if first and self.probability[first - 1] != SPREAD:
                first -= 1
            elif last < len(self.texts) and self.probability[last] != SPREAD:
                last += 1
            lo, hi = float(self.start[first]), float(self.end[last - 1])
            weights = np.array([len(self.texts[k]) for k in range(first, last)], dtype=float)
            edges = lo + (hi - lo) * np.cumsum([0.0, *weights]) / weights.sum()
            self.start[first:last], self.end[first:last] = edges[:-1], edges[1:]

    def segments(self) -> tuple[Segment, ...]:
        found = []
        for piece, words in zip(self.pieces, self.spans, strict=True):
            timed = tuple(
                Word(
                    start_ms=ms(self.start[k]),
                    end_ms=max(ms(self.start[k]), ms(self.end[k])),
                    text=self.texts[k],
                    probability=round(float(self.probability[k]), 4),
                )
                for k in words
            )
            found.append(
                Segment(
                    start_ms=timed[0].start_ms,
                    end_ms=timed[-1].end_ms,
                    text=piece.text,
                    words=timed,
                )
            )
        return tuple(found)


def _seconds(time_ms: int | None) -> float:
    return (time_ms or 0) / 1000


def _runs(indices: list[int]) -> list[list[int]]:
    """Consecutive stretches of sorted indices: [1, 2, 5] -> [[1, 2], [5]]."""
    runs: list[list[int]] = []
    for n in indices:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def _take(tokens: list[list[int]], first: int, last: int, budget: float) -> int:
    """How many words from `first` fit in `budget` tokens."""
    total = np.cumsum([len(t) for t in tokens[first:last]])
    return int(np.searchsorted(total, budget, side="right"))


def _groups(
    pieces: list[Piece], margin: float, tokens: list[int], spans: list[range]
) -> list[list[int]]:
    """Neighbouring cues that fit one window together (a long cue stands alone)."""
    groups: list[list[int]] = []
    count = 0
    for n, piece in enumerate(pieces):
        mine = sum(tokens[k] for k in spans[n])
        if groups:
            seconds = _seconds(piece.end_ms) - _seconds(pieces[groups[-1][0]].start_ms)
            if seconds + 2 * margin <= WINDOW_S and count + mine <= MAX_TOKENS:
                groups[-1].append(n)
                count += mine
                continue
        groups.append([n])
        count = mine
    return groups


def _on_regions(shares: Seconds, regions: list[tuple[float, float]]) -> Seconds:
    """The times at these shares (0..1) of the time the regions hold together."""
    lengths = np.array([b - a for a, b in regions])
    cumulative = np.concatenate(([0.0], np.cumsum(lengths)))
    at = np.clip(shares, 0.0, 1.0) * cumulative[-1]
    k = np.clip(np.searchsorted(cumulative, at, side="right") - 1, 0, len(regions) - 1)
    starts = np.array([a for a, _ in regions])
    return np.asarray(np.minimum(starts[k] + at - cumulative[k], starts[k] + lengths[k]))
