"""Errors of the subtitles package.

SubtitleError               anything about words and time
├── ModelError              a model cannot be found, assembled, converted or loaded (permanent:
│                           a person must fix the setting or install the weights)
└── TranscriptionError      the engine failed on a recording
    ├── TransientTranscriptionError   worth retrying (out of memory, device busy)
    └── UncertainLanguageError        the language could not be told and nobody said it
                                      (permanent: a person must name it in the sidecar)
"""

from __future__ import annotations

from collections.abc import Sequence


class SubtitleError(Exception):
    """Base of every error in the subtitles package."""


class ModelError(SubtitleError):
    """The configured Whisper model cannot be used; the message says which and how to fix it."""


class TranscriptionError(SubtitleError):
    """The engine failed on a recording."""


class TransientTranscriptionError(TranscriptionError):
    """A failure that may pass on its own (memory, a busy device): retrying can help."""


class UncertainLanguageError(TranscriptionError):
    """Whisper's guess at the language is too unsure, or outside the campaign's languages.

    Transcribing with a wrong guess gives text in the wrong language (Kazakh speech comes out as
    Lithuanian), so nothing is transcribed until a person names the language.
    """

    def __init__(
        self,
        detected: str,
        probability: float,
        candidates: Sequence[tuple[str, float]],
        reasons: Sequence[str],
    ) -> None:
        self.detected = detected
        self.probability = probability
        self.candidates = tuple(candidates)
        self.reasons = tuple(reasons)
        heard = ", ".join(f"{code} {p:.2f}" for code, p in self.candidates)
        super().__init__(
            f"cannot tell the language: Whisper heard {detected!r} with probability "
            f"{probability:.2f} (most likely: {heard}), but {' and '.join(reasons)}. Set "
            "`language:` (one language, e.g. `language: ky`) or `languages:` (several, e.g. "
            "`languages: [ru, ky]`) in the footage's sidecar, then run again."
        )

    def __reduce__(self) -> tuple[type[UncertainLanguageError], tuple[object, ...]]:
        # Raised inside a task, it may be pickled on its way back to the flow.
        return type(self), (self.detected, self.probability, self.candidates, self.reasons)
