"""Probe media with PyAV: what streams a file has, how long it is, and whether it decodes.

Every file is opened through `open_media`: PyAV reads it through a Python file object (so any
file name works, even one that is not UTF-8), only as one of the container formats in
`ALLOWED_FORMATS`, and with no protocol allowed for anything else. Playlists and lists (HLS
`.m3u8`, ffmpeg concat lists, DASH manifests, SDP files, image sequences) would make ffmpeg open
other files, even another footage's original in the library; they are refused by name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av

from catalog.models import MediaInfo
from media.errors import MediaError, UnusableMediaError

__all__ = ["ALLOWED_FORMATS", "MediaInfo", "container_duration_ms", "open_media", "probe"]

log = logging.getLogger(__name__)

# Decoded audio this much shorter than the container says (and at least this many ms) means the
# file was cut off, e.g. a copy that stopped half way.
TRUNCATION_RATIO = 0.9
TRUNCATION_MIN_MS = 1000

# The containers voices reads, as ffmpeg's demuxers name themselves (one named
# "mov,mp4,m4a,3gp,3g2,mj2" is allowed by any of its names). None of them opens another file:
# cameras and phones (mp4, mov, 3gp, mts/m2ts, mpg, avi, dv, mxf, wmv), screen and web
# recorders (mkv, webm, flv), sound recorders and messengers (m4a, wav, flac, ogg/opus, mp3,
# aac, amr, aiff, caf).
ALLOWED_FORMATS = (
    "mov",
    "matroska",
    "mpeg",
    "mpegts",
    "avi",
    "dv",
    "mxf",
    "asf",
    "flv",
    "wav",
    "w64",
    "flac",
    "ogg",
    "mp3",
    "aac",
    "amr",
    "aiff",
    "caf",
)
TAKEN = "video (mp4, mov, mkv, webm, mpg, mts, avi) or sound (m4a, mp3, wav, flac, ogg, aac, amr)"
_OPEN_OPTIONS = {
    "format_whitelist": ",".join(ALLOWED_FORMATS),
    # The file itself comes through PyAV's own I/O, so no protocol is needed: naming one that
    # does not exist stops a demuxer from opening anything else ("file" would still let a
    # playlist open any file on the disk).
    "protocol_whitelist": "none",
}
# What a refused file that points at other files starts with, and what to call it.
_REFERENCE_MARKS = (
    (b"#EXTM3U", "a playlist (.m3u8/.m3u)"),
    (b"ffconcat version", "an ffmpeg concat list"),
    (b"[playlist]", "a playlist (.pls)"),
    (b"<MPD", "a DASH manifest (.mpd)"),
    (b"<smil", "a SMIL playlist"),
    (b"v=0", "a stream description (.sdp)"),
)
_PICTURE_MARKS = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"II*\x00", b"MM\x00*")


@contextmanager
def open_media(path: Path, fd: int | None = None) -> Iterator[av.container.InputContainer]:
    """Open a recording with PyAV, from the open descriptor `fd` of `path` when given (it is
    duplicated, not taken over), else from `path`. Raises `UnusableMediaError` saying why a file
    cannot be read."""
    raw = os.fdopen(os.dup(fd), "rb", buffering=0) if fd is not None else path.open("rb", 0)
    with raw:
        raw.name = str(path)  # ffmpeg weighs the extension when it guesses the format
        try:
            container = av.open(raw, "r", metadata_errors="ignore", container_options=_OPEN_OPTIONS)
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            raise UnusableMediaError(
                path, _unreadable(os.pread(raw.fileno(), 512, 0), exc)
            ) from exc
        with container:
            yield container


def _unreadable(head: bytes, exc: BaseException) -> str:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for mark, kind in _REFERENCE_MARKS:
        if start.startswith(mark) or (mark == b"<MPD" and mark in head):
            return (
                f"not a recording but {kind}, which points at other files; voices reads only "
                "the recording itself: drop the video or sound file instead"
            )
    if start.startswith(_PICTURE_MARKS) or head[8:12] == b"WEBP":
        return "is a picture, so it has no audio to transcribe; drop the video or sound file"
    if isinstance(exc, av.error.ArgumentError):  # a format outside ALLOWED_FORMATS
        return f"not a media file in a format voices takes; export it as {TAKEN}"
    return f"not a media file ffmpeg can read ({_short(exc)}); check the file opens in a player"


def probe(path: Path, fd: int | None = None, max_duration_ms: int | None = None) -> MediaInfo:
    """Open `path` (or its open descriptor `fd`), check that its audio decodes to the end and
    lasts at most `max_duration_ms`, and describe it.

    Raises `UnusableMediaError` with a reason written for the person who dropped the file.
    """
    size = os.fstat(fd).st_size if fd is not None else path.stat().st_size
    if size == 0:
        raise UnusableMediaError(path, "the file is empty (0 bytes); copy it again from the source")
    with open_media(path, fd) as container:
        if not container.streams.audio:
            raise UnusableMediaError(
                path, "has no audio track, so there is nothing to transcribe; export it with sound"
            )
        audio = container.streams.audio[0]
        claimed_ms = _claimed_duration_ms(container, audio)
        _check_length(path, claimed_ms, max_duration_ms)
        decoded_ms = _decode_audio_duration_ms(path, container, audio, max_duration_ms)
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
        with open_media(path) as container:
            return int(container.duration or 0) // 1000
    except UnusableMediaError as exc:
        raise MediaError(f"{path.name}: cannot be read ({exc.reason})") from exc


def _claimed_duration_ms(container: av.container.InputContainer, stream: av.stream.Stream) -> int:
    if stream.duration is not None and stream.time_base is not None:
        return int(stream.duration * stream.time_base * 1000)
    if container.duration is not None:
        return int(container.duration / 1000)
    return 0


def _check_length(path: Path, duration_ms: int, max_duration_ms: int | None) -> None:
    if max_duration_ms and duration_ms > max_duration_ms:
        raise UnusableMediaError(
            path,
            f"lasts {_hours(duration_ms)}, longer than the {_hours(max_duration_ms)} voices "
            "takes (ingest.max_duration_hours); cut it into shorter parts and drop those",
        )


def _hours(ms: int) -> str:
    return f"{ms / 3_600_000:.3g} hours"


def _decode_audio_duration_ms(
    path: Path,
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    max_duration_ms: int | None,
) -> int:
    """Decode the whole track, counting samples: each frame is dropped once counted, so memory
    stays flat however long the file is. Stops as soon as the sound passes `max_duration_ms`."""
    samples = 0
    rate = stream.codec_context.sample_rate or 0
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                samples += frame.samples
                rate = frame.sample_rate or rate
            if max_duration_ms and rate and samples * 1000 // rate > max_duration_ms:
                _check_length(path, samples * 1000 // rate, max_duration_ms)
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
