"""SubRip (.srt) and WebVTT (.vtt) files from cues, and cues back from SubRip.

As in openai-whisper's writers, the two formats differ only by a few constants: the decimal marker
of the timestamps, a header, whether cues are numbered, and how cue text is escaped (SubRip escapes
nothing; WebVTT escapes ``&``, ``<`` and ``>`` and turns ``-->`` into ``→``). Files are written in
UTF-8 with ``\\n`` line ends, atomically: to a temporary file beside the target, then renamed.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pysrt

from subtitles.errors import SubtitleError
from subtitles.models import Cue

logger = logging.getLogger(__name__)

SRT_DECIMAL_MARKER = ","
VTT_DECIMAL_MARKER = "."
VTT_HEADER = "WEBVTT\n\n"


def clock(ms: int) -> tuple[int, int, int, int]:
    """(hours, minutes, seconds, milliseconds) of a time that a subtitle file can hold."""
    if ms < 0:
        raise SubtitleError(f"cannot write a negative time ({ms} ms) in a subtitle file")
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return hours, minutes, seconds, millis


def format_timestamp(ms: int, decimal_marker: str) -> str:
    """``HH:MM:SS<marker>mmm`` for a time in milliseconds; hours grow past two digits if needed."""
    hours, minutes, seconds, millis = clock(ms)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal_marker}{millis:03d}"


def _same(text: str) -> str:
    return text


def escape_vtt(text: str) -> str:
    """Cue text safe for WebVTT: no ``-->`` (it would end the cue), and ``&<>`` as entities."""
    text = text.replace("-->", "→")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cue_text(cue: Cue, escape: Callable[[str], str]) -> str:
    """The cue's lines, escaped, without blank lines (a blank line would end the cue)."""
    lines = [escape(part.strip()) for line in cue.lines for part in line.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise SubtitleError(
            f"the cue at {format_timestamp(cue.start_ms, '.')} has no text; "
            "drop empty cues before writing subtitles"
        )
    return "\n".join(lines)


def srt_text(cues: Sequence[Cue]) -> str:
    """The cues as a SubRip document, numbered from 1, built and rendered by pysrt."""
    items = pysrt.SubRipFile(
        items=[
            pysrt.SubRipItem(
                index=number,
                start=pysrt.SubRipTime.from_ordinal(cue.start_ms),
                end=pysrt.SubRipTime.from_ordinal(cue.end_ms),
                text=_cue_text(cue, _same),
            )
            for number, cue in enumerate(cues, start=1)
        ],
        eol="\n",
    )
    buffer = io.StringIO()
    items.write_into(buffer)
    return buffer.getvalue()


def vtt_text(cues: Sequence[Cue]) -> str:
    """The cues as a WebVTT document."""
    blocks = [
        f"{format_timestamp(cue.start_ms, VTT_DECIMAL_MARKER)} --> "
        f"{format_timestamp(cue.end_ms, VTT_DECIMAL_MARKER)}\n{_cue_text(cue, escape_vtt)}\n"
        for cue in cues
    ]
    return VTT_HEADER + "\n".join(blocks)


def write_srt(cues: Sequence[Cue], path: Path) -> Path:
    """Write the cues to `path` as SubRip; returns `path`."""
    return _write_atomically(path, srt_text(cues))


def write_vtt(cues: Sequence[Cue], path: Path) -> Path:
    """Write the cues to `path` as WebVTT; returns `path`."""
    return _write_atomically(path, vtt_text(cues))


def _write_atomically(path: Path, text: str) -> Path:
    # `name.srt.tmp`, not `name.tmp`: the .srt and .vtt of one clip may be written at once.
    temporary = path.with_suffix(path.suffix + ".tmp")
    try:
        temporary.write_bytes(text.encode("utf-8"))
        temporary.replace(path)  # os.replace: atomic on one file system
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    logger.debug("wrote %s", path)
    return path


def read_srt(path: Path) -> tuple[Cue, ...]:
    """The cues of a SubRip file (UTF-8, with or without a byte-order mark)."""
    try:
        # Read the text ourselves: pysrt.open leaves its file open when parsing fails.
        text = path.read_text(encoding="utf-8-sig")
        items = pysrt.from_string(text, error_handling=pysrt.ERROR_RAISE)
        return tuple(
            Cue(
                start_ms=item.start.ordinal,
                end_ms=item.end.ordinal,
                lines=tuple(item.text.splitlines()),
            )
            for item in items
        )
    except (pysrt.Error, UnicodeDecodeError, ValueError) as exc:
        raise SubtitleError(
            f"{path} is not a readable UTF-8 SubRip file ({exc}); check or rewrite it"
        ) from exc
