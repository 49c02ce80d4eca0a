"""Errors of the subtitles package.

SubtitleError               anything about words and time
├── ModelError              a model cannot be found, assembled, converted or loaded (permanent:
│                           a person must fix the setting or install the weights)
└── TranscriptionError      the engine failed on a recording
    └── TransientTranscriptionError   worth retrying (out of memory, device busy)
"""

from __future__ import annotations


class SubtitleError(Exception):
    """Base of every error in the subtitles package."""


class ModelError(SubtitleError):
    """The configured Whisper model cannot be used; the message says which and how to fix it."""


class TranscriptionError(SubtitleError):
    """The engine failed on a recording."""


class TransientTranscriptionError(TranscriptionError):
    """A failure that may pass on its own (memory, a busy device): retrying can help."""
