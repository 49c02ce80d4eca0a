"""What a render is asked to make: output profiles, branding and encoder settings.

These are plain pydantic models with no media stack behind them, so `config.settings` can
validate a settings file without loading PyAV, numpy or moviepy (`import config` stays light
for the CLI and for Prefect workers that only read settings). `media.render` uses them and
re-exports them; `media.filtergraph` and `media.loudness` take their literals and the loudness
target from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Reframe = Literal["crop", "blur"]
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LoudnessTarget(BaseModel):
    """EBU R128 targets for loudnorm: integrated loudness, true peak, loudness range."""

    model_config = ConfigDict(frozen=True)

    integrated_lufs: float = -14.0
    true_peak_db: float = -1.5
    loudness_range: float = 11.0


class RenderProfile(Frozen):
    """An output shape: e.g. a 1080x1920 vertical reel at -14 LUFS."""

    name: str
    width: int = Field(gt=0, multiple_of=2)
    height: int = Field(gt=0, multiple_of=2)
    fps: float | None = Field(default=None, gt=0)  # None: the source's rate, still constant
    loudness_lufs: float = -14.0
    true_peak_db: float = -1.5
    loudness_range: float = 11.0
    reframe: Reframe = "crop"
    font_size: int = Field(gt=0)
    caption_line_chars: int = Field(gt=0)
    margin_v: int = Field(ge=0)
    video_bitrate: str = Field(default="8M", pattern=r"^\d+(\.\d+)?[kKM]?$")
    max_seconds: float | None = Field(default=None, gt=0)

    @property
    def loudness_target(self) -> LoudnessTarget:
        return LoudnessTarget(
            integrated_lufs=self.loudness_lufs,
            true_peak_db=self.true_peak_db,
            loudness_range=self.loudness_range,
        )


class Branding(Frozen):
    logo: Path | None = None
    logo_position: Corner = "top-right"
    logo_width: float = Field(default=0.15, gt=0, le=1)  # of the video's width
    intro_text: str = ""
    outro_text: str = ""
    card_seconds: float = Field(default=2.0, gt=0)
    card_color: str = Field(default="#1d3557", pattern=r"^#[0-9a-fA-F]{6}$")

    @field_validator("logo", mode="before")
    @classmethod
    def _no_logo(cls, value: object) -> object:
        """An empty setting means no logo (Path("") would be the current folder)."""
        return None if value in ("", None) else value


class EncodeSettings(Frozen):
    preset: str = "veryfast"
    crf: int = Field(default=20, ge=0, le=51)
    audio_bitrate: str = "160k"
