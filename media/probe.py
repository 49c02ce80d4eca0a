"""Probe media with PyAV: what streams a file has, how long it is, and whether it decodes."""

from __future__ import annotations

import logging
from pathlib import Path

import av

from catalog.models import MediaInfo
from media.errors import MediaError, UnusableMediaError

__all__ = ["MediaInfo", "probe"]

log = logging.getLogger(__name__)

# Decoded audio this much shorter than the container says (and at least this many ms) means the
# file was cut off, e.g. a copy that stopped half way.
TRUNCATION_RATIO = 0.9
TRUNCATION_MIN_MS = 1000


def probe(path: Path) -> MediaInfo:
    """Open `path`, check that its audio decodes to the end, and describe it.

    Raises `UnusableMediaError` with a reason written for the person who dropped the file.
    """
    if path.stat().st_size == 0:
        raise UnusableMediaError(path, "the file is empty (0 bytes); copy it again from the source")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise UnusableMediaError(
            path,
            f"not a media file ffmpeg can read ({_short(exc)}); check the file opens in a player",
        ) from exc
    with container:
        if not container.streams.audio:
            raise UnusableMediaError(
                path, "has no audio track, so there is nothing to transcribe; export it with sound"
            )
        audio = container.streams.audio[0]
        claimed_ms = _claimed_duration_ms(container, audio)
        decoded_ms = _decode_audio_duration_ms(path, container, audio)
        video_info = _video_info(path, container)
    _check_complete(path, claimed_ms, decoded_ms)
    return MediaInfo.model_validate(
        {
            "format_name": container.format.name,
            "duration_ms": decoded_ms,
            "audio_codec": audio.codec_context.name,
            "sample_rate": audio.codec_context.sample_rate or 0,
            "channels": audio.codec_context.channels or 0,
            **video_info,
        }
    )


def container_duration_ms(path: Path) -> int:
    """What the container says the file lasts (0 when it does not say); a file that does not
    open is a `MediaError`."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return int(container.duration or 0) // 1000
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"{path.name}: cannot be read ({_short(exc)})") from exc


def _claimed_duration_ms(container: av.container.InputContainer, stream: av.stream.Stream) -> int:
    if stream.duration is not None and stream.time_base is not None:
        return int(stream.duration * stream.time_base * 1000)
    if container.duration is not None:
        return int(container.duration / 1000)
    return 0


def _decode_audio_duration_ms(
    path: Path, container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> int:
    samples = 0
    rate = stream.codec_context.sample_rate or 0
    try:
        for frame in container.decode(stream):
            samples += frame.samples
            rate = frame.sample_rate or rate
    except av.error.FFmpegError as exc:
        if samples == 0:
            raise UnusableMediaError(
                path, f"the audio track does not decode ({_short(exc)}); the file is damaged"
            ) from exc
        log.warning("%s: audio stops decoding after %d samples: %s", path.name, samples, exc)
    if samples == 0 or rate == 0:
        raise UnusableMediaError(path, "the audio track is empty (no sound samples)")
    return samples * 1000 // rate


def _video_info(path: Path, container: av.container.InputContainer) -> dict[str, object]:
    streams = [s for s in container.streams.video if not _is_cover_art(s)]
    if not streams:
        return {}
    stream = streams[0]
    try:
        container.seek(0)
        frame = next(container.decode(stream))
    except (av.error.FFmpegError, StopIteration) as exc:
        raise UnusableMediaError(
            path, "the picture does not decode; the video track is damaged or empty"
        ) from exc
    rate = stream.average_rate or stream.guessed_rate
    return {
        "video_codec": stream.codec_context.name,
        "width": frame.width,
        "height": frame.height,
        "fps": float(rate) if rate else None,
        "rotation": int(frame.rotation or 0) % 360,
    }


def _is_cover_art(stream: av.video.stream.VideoStream) -> bool:
    """An mp3 or m4a's album picture shows up as a one-frame video stream."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _check_complete(path: Path, claimed_ms: int, decoded_ms: int) -> None:
    missing = claimed_ms - decoded_ms
    if claimed_ms and decoded_ms < claimed_ms * TRUNCATION_RATIO and missing >= TRUNCATION_MIN_MS:
        raise UnusableMediaError(
            path,
            f"the file is cut off: it should last {claimed_ms / 1000:.1f} s but sound stops at "
            f"{decoded_ms / 1000:.1f} s; copy it again from the camera or phone",
        )


def _short(exc: BaseException) -> str:
    """ffmpeg's own words without the path (which is in the message already)."""
    strerror = getattr(exc, "strerror", None)
    return str(strerror or exc).strip()
