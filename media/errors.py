"""Errors of the media package.

    MediaError                 anything that went wrong reading or writing media
    ├── UnusableMediaError     the input cannot be used (empty, not media, no audio, truncated)
    └── FFmpegError            an ffmpeg run failed; carries the command and its last stderr line

An `UnusableMediaError` is permanent: retrying will not help, a person must replace the file.
"""

from __future__ import annotations

from pathlib import Path


class MediaError(Exception):
    """Base of every media error."""


class UnusableMediaError(MediaError):
    """The file cannot be used as footage. `reason` is written for communications staff."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason


class FFmpegError(MediaError):
    def __init__(self, command: list[str], returncode: int | None, last_line: str) -> None:
        shown = " ".join(command)
        status = "timed out" if returncode is None else f"exited with {returncode}"
        super().__init__(f"ffmpeg {status}: {last_line or 'no error message'}\n  command: {shown}")
        self.command = command
        self.returncode = returncode
        self.last_line = last_line
