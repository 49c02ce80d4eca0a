"""Errors of the media package.

    MediaError                 anything that went wrong reading or writing media
    ├── UnusableMediaError     the input cannot be used (empty, not media, no audio, truncated)
    ├── FFmpegError            an ffmpeg run failed; carries the command and its last stderr line
    └── RenderError            a clip could not be rendered; names the clip, the profile and why

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


class RenderError(MediaError):
    """A clip could not be rendered. Names the source, the clip's range, the profile and why."""

    def __init__(self, source: Path, start_ms: int, end_ms: int, profile: str, reason: str) -> None:
        clip = f"{source.name} {start_ms / 1000:.3f}-{end_ms / 1000:.3f} s"
        super().__init__(f"cannot render {clip} for profile {profile!r}: {reason}")
        self.source = source
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.profile = profile
        self.reason = reason
