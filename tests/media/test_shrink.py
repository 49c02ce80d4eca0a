"""A smaller copy that fits a channel's limit, still a real, playable video."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from media.errors import MediaError
from media.shrink import shrink_to_fit
from tests.helpers import data

pytestmark = pytest.mark.slow


def test_copy_fits_the_limit_and_keeps_picture_sound_and_length(tmp_path: Path) -> None:
    source = data("auto_editor_example.mp4")  # 3.0 MB, 42 s
    limit = 2_500_000

    copy = shrink_to_fit(source, limit, tmp_path / "clip.telegram.mp4")

    assert copy.stat().st_size <= limit
    with av.open(str(source)) as original, av.open(str(copy)) as small:
        assert small.streams.video[0].codec_context.name == "h264"
        assert small.streams.audio[0].codec_context.sample_rate == 48_000
        assert (small.streams.video[0].width, small.streams.video[0].height) == (
            original.streams.video[0].width,
            original.streams.video[0].height,
        )
        assert abs((small.duration or 0) - (original.duration or 0)) < 200_000
    assert shrink_to_fit(source, limit, copy) == copy  # made once, then reused


def test_impossible_limit_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="shorter clip"):
        shrink_to_fit(data("auto_editor_example.mp4"), 200_000, tmp_path / "tiny.mp4")
