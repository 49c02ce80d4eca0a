"""Recordings that switch language: each stretch of speech decoded in its own language.

Used where `TranscribeOptions.languages` names two or more languages. Silero VAD (shipped with
faster-whisper) cuts the speech into chunks at pauses; Whisper's language detection scores each
chunk, and the likeliest of the allowed languages wins (``ky`` is scored by its ``kk`` token and
recorded as ``ky``). Neighbouring chunks of one language form a run, decoded in one go with
that language's token by the engine. Runs tile the recording, so speech the VAD missed still
lands in a run, as it would without languages: a run ends `LEAD_MS` before the next
language's first chunk, so the pause goes with the speech before it. On phone audio Silero
misses a turn's quiet last words and is late by a few hundred milliseconds on a new voice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from faster_whisper.vad import VadOptions, get_speech_timestamps

from subtitles.engines import SAMPLE_RATE, Audio, ProgressCallback, TranscribeOptions
from subtitles.languages import choose_allowed, decode_tokens
from subtitles.models import Segment, Transcript

log = logging.getLogger(__name__)

CHUNKING = VadOptions(min_silence_duration_ms=500, max_speech_duration_s=30, speech_pad_ms=200)
"""A pause of half a second may change the language (a new speaker, an answer); a chunk holds
at most the 30 seconds Whisper's language detection reads."""

MIN_CHUNK_MS = 1000
"""Shorter chunks (a "да", a cough) are too short to tell a language by: they join a neighbour."""

LEAD_MS = 500
"""How long before its first chunk a new language's run starts (at most back to the chunk
before): the VAD's own padding is 200 ms, and Silero may notice a new voice late."""

LanguageScores = Callable[[Audio], Mapping[str, float]]
"""The engine's language detection on a piece of audio: each Whisper token's probability."""

Decode = Callable[[Audio, str, str], Sequence[Segment]]
"""The engine decoding a piece of audio with a token; the third argument is the language its
words are in (how word pieces join). Times run from the start of the piece."""


@dataclass(frozen=True)
class Chunk:
    """A stretch of speech, in samples, and the language chosen for it."""

    start: int
    end: int
    spoken: str
    token: str
    probability: float


@dataclass(frozen=True)
class Run:
    """Neighbouring chunks of one language, with the pauses around them (in samples)."""

    start: int
    end: int
    spoken: str
    token: str


def mixes_languages(options: TranscribeOptions) -> bool:
    """Whether `options` let each stretch of speech have its own language."""
    forced = options.language or options.spoken_language
    return not forced and len(set(options.languages)) >= 2


def transcribe(
    audio: Audio,
    options: TranscribeOptions,
    engine: str,
    scores: LanguageScores,
    decode: Decode,
    on_progress: ProgressCallback | None = None,
) -> Transcript:
    """A transcript whose segments and words carry their language; its own `spoken_language`
    is the language with the most speech."""
    tokens = decode_tokens(options.languages, options.language_fallbacks)
    chunks = language_chunks(audio, tokens, scores)
    runs = language_runs(chunks, len(audio))
    segments: list[Segment] = []
    for run in runs:
        text_in = "en" if options.task == "translate" else run.spoken
        words_in = "en" if options.task == "translate" else run.token
        piece = audio[run.start : run.end]
        offset_ms = round(run.start * 1000 / SAMPLE_RATE)
        decoded = decode(piece, run.token, words_in)
        segments += [_placed(s, offset_ms, text_in) for s in decoded if s.text]
        if on_progress is not None:
            on_progress(run.end / len(audio))
    languages = _by_speech(chunks) or (next(iter(tokens)),)
    main = languages[0]
    return Transcript(
        language="en" if options.task == "translate" else main,
        spoken_language=main,
        decode_language=tokens[main],
        language_probability=_probability(chunks, main),
        task=options.task,
        engine=engine,
        model=options.model_label or options.model,
        duration_ms=round(len(audio) * 1000 / SAMPLE_RATE),
        segments=tuple(segments),
        languages=languages if chunks else (),
    )


def speech_spans(audio: Audio) -> list[tuple[int, int]]:
    """Where the speech is, in samples, at least `MIN_CHUNK_MS` long each (short ones joined)."""
    shortest = MIN_CHUNK_MS * SAMPLE_RATE // 1000
    spans: list[tuple[int, int]] = []
    for found in get_speech_timestamps(audio, CHUNKING, sampling_rate=SAMPLE_RATE):
        start, end = int(found["start"]), int(found["end"])
        if spans and (end - start < shortest or spans[-1][1] - spans[-1][0] < shortest):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def language_chunks(audio: Audio, tokens: Mapping[str, str], scores: LanguageScores) -> list[Chunk]:
    """Each span of speech with the likeliest allowed language (`tokens`: spoken -> token)."""
    chunks = []
    for start, end in speech_spans(audio):
        spoken, probability = choose_allowed(scores(audio[start:end]), tokens)
        chunks.append(Chunk(start, end, spoken, tokens[spoken], round(probability, 4)))
        seconds = (start / SAMPLE_RATE, end / SAMPLE_RATE)
        log.debug("%.2f-%.2f s: %s (%.3f)", *seconds, spoken, probability)
    return chunks


def language_runs(chunks: Sequence[Chunk], samples: int) -> list[Run]:
    """Neighbouring chunks of one language joined; together the runs cover all `samples`."""
    if not chunks:
        return []
    runs = [Run(0, samples, chunks[0].spoken, chunks[0].token)]
    for before, chunk in pairwise(chunks):
        if chunk.spoken != before.spoken:
            cut = max(before.end, chunk.start - LEAD_MS * SAMPLE_RATE // 1000)
            runs[-1] = Run(runs[-1].start, cut, runs[-1].spoken, runs[-1].token)
            runs.append(Run(cut, samples, chunk.spoken, chunk.token))
    return runs


def _placed(segment: Segment, offset_ms: int, language: str) -> Segment:
    """`segment` timed from the start of the recording, it and its words in `language`."""
    words = tuple(
        w.model_copy(
            update={
                "start_ms": w.start_ms + offset_ms,
                "end_ms": w.end_ms + offset_ms,
                "language": language,
            }
        )
        for w in segment.words
    )
    return segment.model_copy(
        update={
            "start_ms": segment.start_ms + offset_ms,
            "end_ms": segment.end_ms + offset_ms,
            "words": words,
            "language": language,
        }
    )


def _by_speech(chunks: Sequence[Chunk]) -> tuple[str, ...]:
    """The spoken languages heard, the most speech first (ties: the one heard first)."""
    speech: dict[str, int] = {}
    for chunk in chunks:
        speech[chunk.spoken] = speech.get(chunk.spoken, 0) + chunk.end - chunk.start
    return tuple(sorted(speech, key=lambda language: -speech[language]))


def _probability(chunks: Sequence[Chunk], language: str) -> float | None:
    """How sure detection was of `language` where it chose it (weighted by speech)."""
    mine = [c for c in chunks if c.spoken == language]
    total = sum(c.end - c.start for c in mine)
    if not total:
        return None
    return round(sum(c.probability * (c.end - c.start) for c in mine) / total, 4)
