"""The one door to processes: runs the ffmpeg that imageio-ffmpeg ships.

Arguments go as a list (never through a shell), stdin is closed, every run has a timeout, and a
failure raises `FFmpegError` with the command (pasteable into a shell) and the last stderr line.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from functools import cache
from pathlib import Path

from media.errors import FFmpegError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 3600.0


@cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def file_arg(path: Path) -> str:
    """A path ffmpeg will not mistake for an option or a protocol (names may start with '-')."""
    return f"file:{path}"


def run_ffmpeg(args: list[str], timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """Run ffmpeg with `args` (without the program name); return its stderr."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    log.debug("running: %s", shlex.join(command))
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = (exc.stderr or b"").decode("utf-8", "replace")
        raise FFmpegError(command, None, _last_line(stderr)) from exc
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        raise FFmpegError(command, done.returncode, _last_line(stderr))
    return stderr


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""
