"""A smaller copy of a render for a channel with a size limit (Telegram's cloud Bot API: 50 MB).

The video bitrate is worked out from the duration so the file fits with a margin; the picture,
captions and loudness stay as they were rendered (the audio is re-encoded at the same rate).
"""

from __future__ import annotations

import logging
from pathlib import Path

from media.errors import MediaError
from media.ffmpeg import file_arg, run_ffmpeg
from media.library import atomic_output
from media.loudness import OUTPUT_SAMPLE_RATE
from media.probe import container_duration_ms

log = logging.getLogger(__name__)

AUDIO_BPS = 128_000
MIN_VIDEO_BPS = 250_000
MARGIN = 0.92  # container overhead and the encoder's own wandering


def shrink_to_fit(source: Path, max_bytes: int, output: Path) -> Path:
    """`output`, a copy of `source` of at most `max_bytes`; raises `MediaError` if impossible."""
    if (
        output.is_file()
        and output.stat().st_mtime >= source.stat().st_mtime
        and output.stat().st_size <= max_bytes
    ):
        return output
    seconds = container_duration_ms(source) / 1000
    if seconds <= 0:
        raise MediaError(
            f"{source.name}: its length is unknown, so no bitrate can be worked "
            "out; render the clip again"
        )
    for margin in (MARGIN, MARGIN * 0.85):
        video_bps = int(max_bytes * 8 * margin / seconds) - AUDIO_BPS
        if video_bps < MIN_VIDEO_BPS:
            break
        _encode(source, video_bps, output)
        if output.stat().st_size <= max_bytes:
            log.info(
                "%s: %.1f MB copy for a %.0f MB limit",
                output.name,
                output.stat().st_size / 1e6,
                max_bytes / 1e6,
            )
            return output
    raise MediaError(
        f"{source.name} ({seconds:.0f} s) cannot fit in {max_bytes / 1e6:g} MB at a watchable "
        "quality; choose a shorter clip or a channel with a larger limit"
    )


def _encode(source: Path, video_bps: int, output: Path) -> None:
    rate = str(video_bps)
    with atomic_output(output) as partial:
        run_ffmpeg([
            *("-v", "error", "-y", "-i", file_arg(source), "-map", "0:v:0", "-map", "0:a:0?"),
            *("-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high"),
            *("-pix_fmt", "yuv420p", "-b:v", rate, "-maxrate", rate),
            *("-bufsize", str(video_bps * 2)),
            *("-c:a", "aac", "-b:a", str(AUDIO_BPS), "-ar", str(OUTPUT_SAMPLE_RATE)),
            *("-movflags", "+faststart", "-map_metadata", "-1", file_arg(partial)),
        ])  # fmt: skip
