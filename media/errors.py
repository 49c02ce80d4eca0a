"""Errors of the media package.

    MediaError                 anything that went wrong reading or writing media
    ├── UnusableMediaError     the input cannot be used (empty, not media, no audio, truncated,
    │   │                      too long, a playlist that points at other files)
    │   └── NotAFileError      an inbox entry that is not a plain file: a link, a pipe, a device
    ├── SourceChangedError     a file changed while it was being read; taken again next run
    ├── FFmpegError            an ffmpeg run failed; carries the command and its last stderr line
    └── RenderError            a clip could not be rendered; names the clip, the profile and why

An `UnusableMediaError` is permanent: retrying will not help, a person must replace the file.
A `SourceChangedError` is transient: the file is left where it is and tried again later.

Messages show file names through `display_name`, so a name that is not valid UTF-8 (or holds
control characters) can be printed, logged, written to a reason file and stored in the catalog.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePath


def display_name(name: str | PurePath) -> str:
    """`name` as people can read it: bytes that are not UTF-8 and control characters (a newline
    in a file name) become "\ufffd". The file on disk keeps its real name."""
    text = os.fsencode(str(name)).decode("utf-8", "replace")
    return "".join("\ufffd" if unicodedata.category(c) == "Cc" else c for c in text)


class MediaError(Exception):
    """Base of every media error."""


class UnusableMediaError(MediaError):
    """The file cannot be used as footage. `reason` is written for communications staff."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{display_name(path.name)}: {reason}")
        self.path = path
        self.reason = reason


class NotAFileError(UnusableMediaError):
    """An inbox entry that is a symbolic link, a hard link to a file elsewhere, a named pipe or a
    device. voices never follows, reads or changes it; it is set aside as it is."""


class SourceChangedError(MediaError):
    """The file changed (or was replaced) while voices read it, e.g. a copy still under way.
    Nothing was filed; the file stays where it is and is taken on a later run."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(
            f"{display_name(path.name)}: {what} while it was being filed; it stays where it is "
            "and is taken on the next run"
        )
        self.path = path
        self.what = what


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
