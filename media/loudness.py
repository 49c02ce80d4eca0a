"""Two-pass EBU R128 loudness normalisation with ffmpeg's `loudnorm` filter.

The first pass (`measure_loudness`) reads only the cut's audio and returns what loudnorm
measured; the second pass (`loudnorm_filter`) feeds those numbers back so loudnorm can apply
one linear gain (or, where that would clip the true peak, its dynamic mode). Both passes run the
same channel preparation (`AUDIO_PREP`), so the measurement describes what the second pass sees.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from media.errors import MediaError
from media.ffmpeg import file_arg, run_ffmpeg

# Defined in media.profiles (settings load it without the media stack); re-exported here, where
# the loudness passes take it ("X as X" is the explicit re-export form for mypy and ruff).
from media.profiles import LoudnessTarget as LoudnessTarget

log = logging.getLogger(__name__)

# Every clip leaves as stereo: mono speech is spread over both channels before measuring.
AUDIO_PREP = "aformat=channel_layouts=stereo"
OUTPUT_SAMPLE_RATE = 48_000
# Quieter than this (LUFS) is silence: there is nothing to normalise, and loudnorm's measured
# values would be out of the ranges it accepts.
SILENCE_LUFS = -70.0


class LoudnessMeasurement(BaseModel):
    """What loudnorm's first pass measured (its JSON output, as numbers)."""

    model_config = ConfigDict(frozen=True)

    input_i: float
    input_tp: float
    input_lra: float
    input_thresh: float
    target_offset: float

    @property
    def is_silent(self) -> bool:
        return not math.isfinite(self.input_i) or self.input_i < SILENCE_LUFS


def seconds_arg(ms: int) -> str:
    """A time in milliseconds as ffmpeg seconds, exactly (no float rounding)."""
    return f"{ms // 1000}.{ms % 1000:03d}"


def cut_input(source: Path, start_ms: int, end_ms: int) -> list[str]:
    """Input options for an accurate cut: seek before decoding, read only the clip's length."""
    return [
        "-ss",
        seconds_arg(start_ms),
        "-t",
        seconds_arg(end_ms - start_ms),
        "-i",
        file_arg(source),
    ]


def _target_args(target: LoudnessTarget) -> str:
    return f"I={target.integrated_lufs:g}:TP={target.true_peak_db:g}:LRA={target.loudness_range:g}"


def measure_loudness(
    source: Path, start_ms: int, end_ms: int, target: LoudnessTarget | None = None
) -> LoudnessMeasurement:
    """First loudnorm pass over the audio of `source` from `start_ms` to `end_ms`.

    Raises `FFmpegError` when ffmpeg fails and `MediaError` when it prints no measurement.
    """
    target = target or LoudnessTarget()
    measure = f"{AUDIO_PREP},loudnorm={_target_args(target)}:print_format=json"
    stderr = run_ffmpeg(
        [
            *cut_input(source, start_ms, end_ms),
            "-map",
            "0:a:0",
            "-af",
            measure,
            "-f",
            "null",
            "-",
        ]
    )
    measurement = parse_loudnorm_json(stderr)
    log.debug("%s %d-%d ms: %s", source.name, start_ms, end_ms, measurement)
    return measurement


def parse_loudnorm_json(stderr: str) -> LoudnessMeasurement:
    """The measurement from the JSON block loudnorm prints at the end of its stderr."""
    start, end = stderr.rfind("{"), stderr.rfind("}")
    if start < 0 or end < start:
        raise MediaError("loudnorm printed no measurement; the clip may have no audio")
    try:
        values = json.loads(stderr[start : end + 1])
        return LoudnessMeasurement(
            **{name: float(values[name]) for name in LoudnessMeasurement.model_fields}
        )
    except (ValueError, KeyError) as exc:
        raise MediaError(f"cannot read loudnorm's measurement ({exc})") from exc


def loudnorm_filter(measured: LoudnessMeasurement, target: LoudnessTarget) -> str:
    """The audio chain of the second pass: normalise with the measured values, then 48 kHz."""
    resample = f"aresample={OUTPUT_SAMPLE_RATE}"
    if measured.is_silent:
        log.warning("the clip's audio is silent (%s LUFS); not normalising it", measured.input_i)
        return f"{AUDIO_PREP},{resample}"
    loudnorm = (
        f"loudnorm={_target_args(target)}"
        f":measured_I={measured.input_i:g}:measured_TP={measured.input_tp:g}"
        f":measured_LRA={measured.input_lra:g}:measured_thresh={measured.input_thresh:g}"
        f":offset={measured.target_offset:g}:linear=true:print_format=none"
    )
    return f"{AUDIO_PREP},{loudnorm},{resample}"
