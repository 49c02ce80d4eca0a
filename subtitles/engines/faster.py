"""faster-whisper (CTranslate2): the default engine. Needs no torch."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from subtitles.engines import (
    SAMPLE_RATE,
    Audio,
    ProgressCallback,
    TranscribeOptions,
    text_language,
)
from subtitles.errors import ModelError, TranscriptionError, TransientTranscriptionError
from subtitles.models import Segment, Transcript
from subtitles.words import RawWord, ms, to_words

log = logging.getLogger(__name__)

# Options both engines must share for their transcripts to be the same (see tests and bench/).
SHARED_DECODING: dict[str, Any] = {
    "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    "compression_ratio_threshold": 2.4,
    "log_prob_threshold": -1.0,
    "no_speech_threshold": 0.6,
    "condition_on_previous_text": True,
}


@lru_cache(maxsize=2)
def load_model(model: str, device: str, compute_type: str) -> Any:
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(model, device=device, compute_type=compute_type)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(
            f"faster-whisper cannot load model {model!r} ({exc}). Use 'base' (bundled, offline), "
            "a folder holding a CTranslate2 Whisper model, or a name the machine can download."
        ) from exc


def transcribe(
    audio: Audio, options: TranscribeOptions, on_progress: ProgressCallback | None = None
) -> Transcript:
    model = load_model(options.model, options.device, options.compute_type)
    try:
        segments, info = model.transcribe(
            audio,
            language=options.language,
            task=options.task,
            beam_size=options.beam_size,
            word_timestamps=True,
            vad_filter=options.vad,
            **SHARED_DECODING,
        )
        timed = _with_progress(segments, info.duration, on_progress)
        collected = [_segment(s, text_language(options, info.language)) for s in timed]
    except MemoryError as exc:
        raise TransientTranscriptionError(f"out of memory while transcribing: {exc}") from exc
    except RuntimeError as exc:
        raise TranscriptionError(f"faster-whisper failed: {exc}") from exc
    spoken = options.spoken_language or info.language
    return Transcript(
        language="en" if options.task == "translate" else spoken,
        spoken_language=spoken,
        decode_language=options.language or info.language,
        language_probability=None if options.language else round(info.language_probability, 4),
        task=options.task,
        engine="faster-whisper",
        model=options.model_label or options.model,
        duration_ms=round(len(audio) * 1000 / SAMPLE_RATE),
        segments=tuple(s for s in collected if s.text),
    )


def _with_progress(segments: Any, duration: float, on_progress: ProgressCallback | None) -> Any:
    for segment in segments:
        if on_progress is not None and duration > 0:
            on_progress(min(1.0, segment.end / duration))
        yield segment
    if on_progress is not None:
        on_progress(1.0)


def _segment(segment: Any, language: str | None) -> Segment:
    pieces = (RawWord(w.start, w.end, w.word, w.probability) for w in segment.words or ())
    return Segment(
        start_ms=ms(segment.start),
        end_ms=ms(segment.end),
        text=segment.text.strip(),
        words=to_words(pieces, language),
    )
