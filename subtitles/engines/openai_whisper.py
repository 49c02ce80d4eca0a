"""openai-whisper (PyTorch): the reference implementation, selectable in settings.

Install it with the `openai` extra. voices converts the bundled CTranslate2 base weights into an
openai-whisper checkpoint, so both engines run the same weights.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
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
from subtitles.engines.faster import SHARED_DECODING
from subtitles.errors import ModelError, TranscriptionError, TransientTranscriptionError
from subtitles.languages import accept_detected
from subtitles.models import Segment, Transcript
from subtitles.words import RawWord, ms, to_words

log = logging.getLogger(__name__)


@lru_cache(maxsize=2)
def load_model(model: str, device: str) -> Any:
    try:
        import whisper
    except ImportError as exc:
        raise ModelError(
            "the openai-whisper engine is not installed; run: pip install -e '.[openai]' "
            "(or set transcription.engine to faster-whisper)"
        ) from exc
    from subtitles.openai_checkpoint import load_openai_model
    from subtitles.weights import alignment_config

    device = "cpu" if device == "auto" else device
    try:
        if Path(model).is_file():
            config = alignment_config(model)
            return load_openai_model(Path(model), config if config.is_file() else None, device)
        return whisper.load_model(model, device=device)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelError(
            f"openai-whisper cannot load model {model!r} ({exc}). Use 'base' (bundled, offline), "
            "a .pt checkpoint, or a name the machine can download."
        ) from exc


def transcribe(
    audio: Audio, options: TranscribeOptions, on_progress: ProgressCallback | None = None
) -> Transcript:
    model = load_model(options.model, options.device)
    try:
        if switching.mixes_languages(options):
            return switching.transcribe(
                audio,
                options,
                "openai-whisper",
                lambda piece: _language_scores(model, piece),
                lambda piece, token, words_in: _decode(model, piece, options, token, words_in),
                on_progress,
            )
        transcript = _transcribe_whole(model, audio, options)
    except MemoryError as exc:
        raise TransientTranscriptionError(f"out of memory while transcribing: {exc}") from exc
    except RuntimeError as exc:
        raise TranscriptionError(f"openai-whisper failed: {exc}") from exc
    if on_progress is not None:
        on_progress(1.0)
    return transcript


def _transcribe_whole(model: Any, audio: Audio, options: TranscribeOptions) -> Transcript:
    """One language for the whole recording: the one given, or the one Whisper detects."""
    language, spoken, probability = options.language, options.spoken_language, None
    if checks_detection(options):
        # Detect first, as openai-whisper would (the first 30 s), to refuse before decoding.
        scores = _language_scores(model, audio)
        candidates = sorted(scores.items(), key=lambda pair: -pair[1])
        spoken = accept_detected(
            candidates,
            options.campaign_languages,
            options.min_language_probability,
            options.language_fallbacks,
        )
        language, probability = candidates[0][0], round(candidates[0][1], 4)
    result = model.transcribe(audio, language=language, **_decoding(options))
    detected = str(result.get("language") or "")
    spoken = spoken or detected
    words_in = text_language(options, detected)
    return Transcript(
        language="en" if options.task == "translate" else spoken,
        spoken_language=spoken,
        decode_language=options.language or detected,
        language_probability=probability,
        task=options.task,
        engine="openai-whisper",
        model=options.model_label or options.model,
        duration_ms=round(len(audio) * 1000 / SAMPLE_RATE),
        segments=tuple(s for s in (_segment(s, words_in) for s in result["segments"]) if s.text),
    )


def _decoding(options: TranscribeOptions) -> dict[str, Any]:
    return {
        "task": options.task,
        "beam_size": options.beam_size,
        "best_of": 5,
        "fp16": False,
        "word_timestamps": True,
        "verbose": None,
        **_openai_names(SHARED_DECODING),
    }


def _language_scores(model: Any, audio: Audio) -> dict[str, float]:
    """Each language token's probability for the first 30 s of `audio`, computed as
    openai-whisper's `transcribe` detects a language."""
    import torch
    from whisper.audio import N_FRAMES, N_SAMPLES, log_mel_spectrogram, pad_or_trim

    mel = log_mel_spectrogram(audio, model.dims.n_mels, padding=N_SAMPLES)
    first = pad_or_trim(mel, N_FRAMES).to(model.device).to(torch.float32)
    _, scores = model.detect_language(first)
    return {str(code): float(p) for code, p in scores.items()}


def _decode(
    model: Any, audio: Audio, options: TranscribeOptions, token: str, words_in: str
) -> list[Segment]:
    """`audio` decoded with the language `token`, as `_transcribe_whole` decodes a recording."""
    result = model.transcribe(audio, language=token, **_decoding(options))
    return [_segment(s, words_in) for s in result["segments"]]


def _openai_names(options: dict[str, Any]) -> dict[str, Any]:
    """openai-whisper spells one option differently from faster-whisper."""
    renamed = dict(options)
    renamed["logprob_threshold"] = renamed.pop("log_prob_threshold")
    return renamed


def _segment(segment: dict[str, Any], language: str | None) -> Segment:
    pieces = (
        RawWord(w["start"], w["end"], w["word"], w["probability"])
        for w in segment.get("words") or ()
    )
    return Segment(
        start_ms=ms(segment["start"]),
        end_ms=ms(segment["end"]),
        text=segment["text"].strip(),
        words=to_words(pieces, language),
    )
