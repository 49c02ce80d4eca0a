"""Transcription engines behind one function each: audio samples in, a `Transcript` out."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from subtitles.models import Task, Transcript

ProgressCallback = Callable[[float], None]
"""Called with the share of the recording done so far, from 0.0 to 1.0."""

Audio = npt.NDArray[np.float32]
SAMPLE_RATE = 16_000
"""Whisper reads 16 kHz mono samples; the engines take audio at this rate only."""


def text_language(options: TranscribeOptions, detected: str | None) -> str | None:
    """The language of the words that come out (a translation is English), which decides how
    Whisper's word pieces join."""
    return "en" if options.task == "translate" else options.language or detected


class TranscribeOptions(BaseModel):
    """Everything that decides a transcript. Two equal options give the same transcript."""

    model_config = ConfigDict(frozen=True)

    engine: str = "faster-whisper"
    model: str
    model_label: str = ""
    device: str = "cpu"
    compute_type: str = "int8"
    beam_size: int = 5
    vad: bool = True
    task: Task = "transcribe"
    language: str | None = None
    spoken_language: str | None = None


def transcribe(
    audio: Audio, options: TranscribeOptions, on_progress: ProgressCallback | None = None
) -> Transcript:
    """Run the engine `options.engine` names."""
    if options.engine == "faster-whisper":
        from subtitles.engines import faster

        return faster.transcribe(audio, options, on_progress)
    if options.engine == "openai-whisper":
        from subtitles.engines import openai_whisper

        return openai_whisper.transcribe(audio, options, on_progress)
    raise ValueError(f"unknown engine {options.engine!r}: use faster-whisper or openai-whisper")
