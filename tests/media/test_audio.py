"""Decoding for Whisper: the whole track as 16 kHz float32, without holding it three times over."""

from __future__ import annotations

import tracemalloc

import numpy as np

from media.audio import SAMPLE_RATE, decode_audio
from tests.helpers import data


def test_decoding_holds_the_track_well_under_three_times() -> None:
    """numpy reports its buffers to tracemalloc. 16-bit chunks plus the float32 result is 1.5
    times the result (1.7 with the chunks' own bookkeeping); concatenating the chunks and then
    converting and scaling held it 3.2 times over."""
    tracemalloc.start()
    try:
        audio = decode_audio(data("bush_columbia_address_2003.ogg"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert audio.dtype == np.float32 and abs(len(audio) / SAMPLE_RATE - 199) < 2
    assert audio.min() >= -1.0 and audio.max() < 1.0
    assert peak < 2 * audio.nbytes, f"peak {peak / audio.nbytes:.2f} times the result"
