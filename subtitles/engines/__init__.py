"""Transcription engines behind one function each: audio samples in, a `Transcript` out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from subtitles.languages import DEFAULT_FALLBACKS, decode_language
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
    """Everything that decides a transcript. Two equal options give the same transcript.

    The language, most decisive first: `language` (a Whisper token) forces one language for
    the whole recording, recorded as `spoken_language`; else `languages` with two or more
    entries lets each stretch of speech be any of them (code-switching), decoded with its own
    token; else Whisper detects one language, and `campaign_languages` and
    `min_language_probability` decide whether its guess may be used.
    """

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
    languages: tuple[str, ...] = ()
    """The spoken languages the recording may hold (a sidecar's `languages: [ru, ky]`). With two
    or more, each chunk of speech is decoded as the likeliest of them; one is as `language`."""
    language_fallbacks: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FALLBACKS))
    """The token for a spoken language Whisper has none for (``ky`` -> ``kk``), for `languages`
    and `campaign_languages`; `language` is already a token."""
    campaign_languages: tuple[str, ...] = ()
    """Where no language is given: the languages footage of this campaign is in. A detected
    language outside them raises `UncertainLanguageError` instead of transcribing."""
    min_language_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    """Where no language is given: a detection less sure than this raises
    `UncertainLanguageError` (0 accepts any guess)."""

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Options dump (and so key transcripts) as before these language fields existed,
        unless one of them is set: a transcript made before them stays current."""
        dumped: dict[str, Any] = handler(self)
        for name in _LANGUAGE_FIELDS:
            if name in dumped and getattr(self, name) == _DEFAULTS[name]:
                del dumped[name]
        return dumped


_LANGUAGE_FIELDS = (
    "languages",
    "language_fallbacks",
    "campaign_languages",
    "min_language_probability",
)
_DEFAULTS: dict[str, Any] = {
    name: TranscribeOptions.model_fields[name].get_default(call_default_factory=True)
    for name in _LANGUAGE_FIELDS
}


def transcribe(
    audio: Audio, options: TranscribeOptions, on_progress: ProgressCallback | None = None
) -> Transcript:
    """Run the engine `options.engine` names."""
    options = one_language(options)
    if options.engine == "faster-whisper":
        from subtitles.engines import faster

        return faster.transcribe(audio, options, on_progress)
    if options.engine == "openai-whisper":
        from subtitles.engines import openai_whisper

        return openai_whisper.transcribe(audio, options, on_progress)
    raise ValueError(f"unknown engine {options.engine!r}: use faster-whisper or openai-whisper")


def checks_detection(options: TranscribeOptions) -> bool:
    """Whether Whisper's guess at the one language must pass `campaign_languages` and
    `min_language_probability` before the recording is decoded."""
    given = options.language or options.spoken_language or options.languages
    return not given and bool(options.campaign_languages or options.min_language_probability)


def one_language(options: TranscribeOptions) -> TranscribeOptions:
    """`languages` with a single entry, and no `language`, is that language, decoded with its
    token (or its fallback's) and recorded as itself."""
    if options.language or options.spoken_language or len(set(options.languages)) != 1:
        return options
    spoken = options.languages[0]
    token = decode_language(spoken, options.language_fallbacks)
    return options.model_copy(update={"language": token, "spoken_language": spoken})
