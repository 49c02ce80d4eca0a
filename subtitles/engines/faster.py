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
    checks_detection,
    switching,
    text_language,
)
from subtitles.errors import ModelError, TranscriptionError, TransientTranscriptionError
from subtitles.languages import accept_detected
from subtitles.models import Segment, Transcript
from subtitles.words import RawWord, ms, to_words

log = logging.getLogger(__name__)

# Options both engines must share for their transcripts to be the same (see tests and bench/).
# Temperature fallback stays on: a window that loops or makes no sense is decoded again, warmer.
# No initial prompt, ever: a prompt in a language the model knows badly (Kazakh with base) makes
# decoding degenerate; the language token alone steers the language.
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
        if switching.mixes_languages(options):
            return switching.transcribe(
                audio,
                options,
                "faster-whisper",
                lambda piece: _language_scores(model, piece),
                lambda piece, token, words_in: _decode(model, piece, options, token, words_in),
                on_progress,
            )
        return _transcribe_whole(model, audio, options, on_progress)
    except MemoryError as exc:
        raise TransientTranscriptionError(f"out of memory while transcribing: {exc}") from exc
    except RuntimeError as exc:
        raise TranscriptionError(f"faster-whisper failed: {exc}") from exc


def _transcribe_whole(
    model: Any, audio: Audio, options: TranscribeOptions, on_progress: ProgressCallback | None
) -> Transcript:
    """One language for the whole recording: the one given, or the one Whisper detects."""
    segments, info = model.transcribe(
        audio,
        language=options.language,
        task=options.task,
        beam_size=options.beam_size,
        word_timestamps=True,
        vad_filter=options.vad,
        **SHARED_DECODING,
    )
    # Decoding is lazy: a refused guess costs only the detection.
    spoken = options.spoken_language or info.language
    if checks_detection(options):
        spoken = accept_detected(
            info.all_language_probs or [(info.language, info.language_probability)],
            options.campaign_languages,
            options.min_language_probability,
            options.language_fallbacks,
        )
    timed = _with_progress(segments, info.duration, on_progress)
    collected = [_segment(s, text_language(options, info.language)) for s in timed]
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


def _language_scores(model: Any, audio: Audio) -> dict[str, float]:
    """Each language token's probability for (the first 30 s of) `audio`."""
    _, _, scores = model.detect_language(audio=audio)
    return dict(scores)


def _decode(
    model: Any, audio: Audio, options: TranscribeOptions, token: str, words_in: str
) -> list[Segment]:
    """`audio` decoded with the language `token`, as `_transcribe_whole` decodes a recording."""
    segments, _ = model.transcribe(
        audio,
        language=token,
        task=options.task,
        beam_size=options.beam_size,
        word_timestamps=True,
        vad_filter=options.vad,
        **SHARED_DECODING,
    )
    return [_segment(s, words_in) for s in segments]


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
