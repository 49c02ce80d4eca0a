"""Decode audio to what Whisper reads: 16 kHz mono float32 samples."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from media.errors import UnusableMediaError
from media.probe import open_media

SAMPLE_RATE = 16_000


def decode_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """All of the first audio track of `path`, resampled to mono float32 at `sample_rate`.

    Both transcription engines are fed this same array, so their results can be compared.
    The whole track is held in memory: 16-bit chunks while decoding, then the float32 result
    filled from them chunk by chunk, so the peak is about 1.5 times the result (2 hours at
    16 kHz: 440 MiB of result, about 660 MiB at the peak).
    """
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    chunks: list[npt.NDArray[np.int16]] = []
    try:
        with open_media(path) as container:
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                chunks.extend(_planes(resampler.resample(frame)))
            chunks.extend(_planes(resampler.resample(None)))
    except (av.error.FFmpegError, IndexError) as exc:
        raise UnusableMediaError(path, f"audio cannot be decoded: {exc}") from exc
    return _to_float(chunks)


def _to_float(chunks: list[npt.NDArray[np.int16]]) -> npt.NDArray[np.float32]:
    """One float32 array in [-1, 1) from 16-bit chunks, each chunk freed once it is copied."""
    samples = np.empty(sum(len(chunk) for chunk in chunks), dtype=np.float32)
    at = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        samples[at : at + len(chunk)] = chunk
        at += len(chunk)
    samples *= 1 / 32768.0
    return samples


def _planes(frames: list[av.AudioFrame]) -> list[npt.NDArray[np.int16]]:
    return [np.asarray(frame.to_ndarray(), dtype=np.int16).reshape(-1) for frame in frames]
