"""Decode audio to what Whisper reads: 16 kHz mono float32 samples."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from media.errors import UnusableMediaError

SAMPLE_RATE = 16_000


def decode_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """All of the first audio track of `path`, resampled to mono float32 at `sample_rate`.

    Both transcription engines are fed this same array, so their results can be compared.
    """
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    chunks: list[npt.NDArray[np.int16]] = []
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                chunks.extend(_planes(resampler.resample(frame)))
            chunks.extend(_planes(resampler.resample(None)))
    except (av.error.FFmpegError, IndexError) as exc:
        raise UnusableMediaError(path, f"audio cannot be decoded: {exc}") from exc
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    samples = np.concatenate(chunks)
    return samples.astype(np.float32) / 32768.0


def _planes(frames: list[av.AudioFrame]) -> list[npt.NDArray[np.int16]]:
    return [np.asarray(frame.to_ndarray(), dtype=np.int16).reshape(-1) for frame in frames]
