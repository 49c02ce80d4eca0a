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
    text_language,
)
from subtitles.engines.faster import SHARED_DECODING
from subtitles.errors import ModelError, TranscriptionError, TransientTranscriptionError
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
        result = model.transcribe(
            audio,
            language=options.language,
            task=options.task,
            beam_size=options.beam_size,
            best_of=5,
            fp16=False,
            word_timestamps=True,
            verbose=None,
            **_openai_names(SHARED_DECODING),
        )
    except MemoryError as exc:
        raise TransientTranscriptionError(f"out of memory while transcribing: {exc}") from exc
    except RuntimeError as exc:
        raise TranscriptionError(f"openai-whisper failed: {exc}") from exc
    if on_progress is not None:
        on_progress(1.0)
    detected = str(result.get("language") or "")
    spoken = options.spoken_language or detected
    words_in = text_language(options, detected)
    return Transcript(
        language="en" if options.task == "translate" else spoken,
        spoken_language=spoken,
        decode_language=options.language or detected,
        task=options.task,
        engine="openai-whisper",
        model=options.model_label or options.model,
        duration_ms=round(len(audio) * 1000 / SAMPLE_RATE),
        segments=tuple(s for s in (_segment(s, words_in) for s in result["segments"]) if s.text),
    )


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
