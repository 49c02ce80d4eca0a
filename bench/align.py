"""Forced alignment of corrected text: how close to reference word timings, and how fast.

Accuracy: every GRID clip with the corpus's own word alignment (`.align`, 1/25000 s units) found
in tests/data or the shared test set, aligned from its transcript, side by side with the word
timestamps faster-whisper gives when it transcribes the same clip (for the words it got right).
A word boundary is a word's start or end; its error is the distance to the reference.

Speed: `seconds` of the Columbia address, transcribed by faster-whisper, then its words aligned
back as a corrected text would be: as plain text (walked window by window) and as timed cues
(laid out as voices writes an SRT). Seconds per minute of audio: lower is faster.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections.abc import Callable
from difflib import SequenceMatcher
from pathlib import Path

from media.audio import SAMPLE_RATE, decode_audio
from subtitles.align import AlignOptions, Piece, align, is_spread
from subtitles.engines import Audio, TranscribeOptions, transcribe
from subtitles.layout import layout_cues
from subtitles.models import ReadingRules, Transcript, Word
from subtitles.weights import resolve_model

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SHARED = Path("/work/shared/data/video")
SPEECH = DATA / "bush_columbia_address_2003.ogg"
GRID_UNITS_PER_SECOND = 25_000
Reference = list[tuple[str, float, float]]


def _grid_clips() -> dict[str, tuple[Path, Reference, str]]:
    """name -> (media, reference word timings, transcript) for each GRID clip with an .align."""
    clips: dict[str, tuple[Path, Reference, str]] = {}
    for folder in (DATA, SHARED):
        for found in sorted(folder.glob("grid_*.align")) if folder.is_dir() else ():
            media, text = found.with_suffix(".mpg"), found.with_suffix(".txt")
            if found.stem not in clips and media.is_file() and text.is_file():
                rows = [line.split() for line in found.read_text(encoding="ascii").splitlines()]
                reference = [
                    (w, int(a) / GRID_UNITS_PER_SECOND, int(b) / GRID_UNITS_PER_SECOND)
                    for a, b, w in rows
                    if w != "sil"
                ]
                clips[found.stem] = (media, reference, text.read_text(encoding="utf-8"))
    return clips


def _normal(text: str) -> str:
    return re.sub(r"[^\w']", "", text.lower())


def _boundary_errors(words: tuple[Word, ...], reference: Reference) -> list[float]:
    """|start - start| and |end - end| of every word matched to the reference by its text."""
    ours, theirs = [_normal(w.text) for w in words], [_normal(w) for w, _, _ in reference]
    errors = []
    for block in SequenceMatcher(a=ours, b=theirs, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            word, (_, start, end) = words[block.a + k], reference[block.b + k]
            errors += [abs(word.start_ms / 1000 - start), abs(word.end_ms / 1000 - end)]
    return errors


def _timed(run: Callable[[], Transcript]) -> tuple[float, Transcript]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def _accuracy(model: str) -> None:
    clips = _grid_clips()
    print(f"\nForced alignment vs reference word timings, Whisper base int8 ({len(clips)} clips)")
    print(f"{'clip':<14} {'timing by':<26} {'bounds':>6} {'mean s':>7} {'median':>7} {'max':>6}")
    options = AlignOptions(model=model, model_label="base", language="en")
    transcription = TranscribeOptions(model=model, model_label="base", language="en")
    for name, (media, reference, text) in clips.items():
        audio = decode_audio(media)
        rows = [
            ("align (corrected text)", align(audio, text, options)),
            ("faster-whisper transcribe", transcribe(audio, transcription)),
        ]
        means = []
        for label, transcript in rows:
            errors = _boundary_errors(transcript.words, reference)
            means.append(statistics.mean(errors) if errors else float("nan"))
            print(
                f"{name:<14} {label:<26} {len(errors):>6} {means[-1]:7.3f} "
                f"{statistics.median(errors) if errors else float('nan'):7.3f} "
                f"{max(errors, default=float('nan')):6.3f}"
            )
        print(f"{'':<14} transcription's error / alignment's: {means[1] / means[0]:.2f}x")


def _best(repeat: int, run: Callable[[], Transcript]) -> tuple[float, Transcript]:
    runs = [_timed(run) for _ in range(repeat)]
    return min(took for took, _ in runs), runs[-1][1]


def _speed(model: str, seconds: float, repeat: int) -> None:
    audio: Audio = decode_audio(SPEECH)[: int(SAMPLE_RATE * seconds)]
    minutes = len(audio) / SAMPLE_RATE / 60
    options = AlignOptions(model=model, model_label="base", language="en")
    transcription = TranscribeOptions(model=model, model_label="base", language="en")
    align(audio[: SAMPLE_RATE * 5], "warm up", options)  # load the model
    elapsed, machine = _timed(lambda: transcribe(audio, transcription))
    cues = layout_cues(machine.words, ReadingRules())
    pieces = [Piece(text=c.text, start_ms=c.start_ms, end_ms=c.end_ms) for c in cues]
    rows = [
        ("faster-whisper transcribe", elapsed, machine),
        ("align plain text", *_best(repeat, lambda: align(audio, machine.text, options))),
        ("align SRT cues", *_best(repeat, lambda: align(audio, pieces, options))),
    ]
    print(
        f"\nAlignment speed, {len(audio) / SAMPLE_RATE:.1f} s of the Columbia address, best of "
        f"{repeat}; median distance to the transcription's own word starts"
    )
    print(
        f"{'run':<26} {'seconds':>8} {'s/min':>6} {'vs transcribe':>13} {'median ms':>9} "
        f"{'spread':>6}"
    )
    for label, took, transcript in rows:
        # The same words in the same order (the corrected text is the machine's own).
        pairs = zip(transcript.words, machine.words, strict=False)
        starts = [abs(ours.start_ms - theirs.start_ms) for ours, theirs in pairs]
        print(
            f"{label:<26} {took:8.2f} {took / minutes:6.2f} {elapsed / took:12.2f}x "
            f"{statistics.median(starts):9.0f} "
            f"{'-' if transcript is machine else sum(map(is_spread, transcript.words)):>6}"
        )


def run(seconds: float, repeat: int) -> None:
    model = resolve_model(
        "base", "faster-whisper", Path(tempfile.gettempdir()) / "voices-bench-models"
    )
    _accuracy(model)
    _speed(model, seconds, repeat)
