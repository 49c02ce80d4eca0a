"""Intro and outro text cards, composed with moviepy and cached as small mp4 files.

A card is a plain colour with centred white text in the shipped DejaVu Sans Bold, with silent
stereo audio so it can be joined to a clip by ffmpeg's `concat` filter. Its file name is a hash
of everything that shapes it, so a card is rendered once and a changed setting makes a new one.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from media.library import atomic_output
from media.loudness import OUTPUT_SAMPLE_RATE

log = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
CARD_FONT = FONTS_DIR / "DejaVuSans-Bold.ttf"
CARD_VERSION = 1  # bump when the look of cards changes, so cached ones are redone
TEXT_WIDTH = 0.8  # of the card's width
TEXT_HEIGHT = 0.6  # of the card's height


class CardLook(BaseModel):
    """Everything about a card but its text."""

    model_config = ConfigDict(frozen=True)

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fps: float = Field(gt=0)
    seconds: float = Field(gt=0)
    color: str = "#1d3557"
    font_size: int = Field(gt=0)


class Card(CardLook):
    text: str = Field(min_length=1)

    @property
    def key(self) -> str:
        text = f"{CARD_VERSION}|{CARD_FONT.name}|{self.model_dump_json()}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


class CardInputs(BaseModel):
    """Rendered intro/outro card videos to join before and after a clip."""

    model_config = ConfigDict(frozen=True)

    intro: Path | None = None
    outro: Path | None = None


def clip_cards(texts: tuple[str, str], look: CardLook, cache_dir: Path) -> CardInputs:
    """The intro and outro cards (none for an empty text), rendered or taken from the cache."""
    intro, outro = (
        card_video(Card(text=text, **look.model_dump()), cache_dir) if text else None
        for text in texts
    )
    return CardInputs(intro=intro, outro=outro)


def rgb(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` as an (r, g, b) tuple."""
    digits = color.removeprefix("#")
    if len(digits) != 6:
        raise ValueError(f"colour {color!r} is not #rrggbb")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _silence(t: float | NDArray[np.float64]) -> NDArray[np.float64]:
    if np.isscalar(t):
        return np.zeros(2)
    return np.zeros((len(np.asarray(t)), 2))


def card_video(card: Card, cache_dir: Path) -> Path:
    """The card as an mp4 in `cache_dir` (H.264 + silent AAC), rendered if not there yet."""
    path = cache_dir / f"card-{card.key}.mp4"
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as partial:
        _write_card(card, partial)
    log.info("rendered card %r at %dx%d to %s", card.text, card.width, card.height, path)
    return path


def wrap_to_width(text: str, font_size: int, width: int) -> str:
    """Break `text` between words so no line is wider than `width` pixels in the card font."""
    from PIL import ImageFont

    font = ImageFont.truetype(str(CARD_FONT), font_size)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and font.getlength(candidate) > width:
                lines.append(line)
                candidate = word
            line = candidate
        lines.append(line)
    return "\n".join(lines)


def _write_card(card: Card, path: Path) -> None:
    from moviepy import AudioClip, ColorClip, CompositeVideoClip, TextClip

    size = (card.width, card.height)
    box = (round(card.width * TEXT_WIDTH), round(card.height * TEXT_HEIGHT))
    background = ColorClip(size, color=rgb(card.color), duration=card.seconds)
    text = TextClip(
        font=str(CARD_FONT),
        text=wrap_to_width(card.text, card.font_size, box[0]),
        font_size=card.font_size,
        color="white",
        # Lines broken here, in a box of known height: moviepy's "caption" method breaks words
        # apart and its height estimate cuts off descenders ("y", "р").
        method="label",
        size=box,
        text_align="center",
        duration=card.seconds,
    ).with_position("center")
    audio = AudioClip(_silence, duration=card.seconds, fps=OUTPUT_SAMPLE_RATE)
    with CompositeVideoClip([background, text], size=size).with_audio(audio) as clip:
        clip.write_videofile(
            str(path),
            fps=card.fps,
            codec="libx264",
            preset="veryfast",
            audio_codec="aac",
            audio_fps=OUTPUT_SAMPLE_RATE,
            temp_audiofile_path=str(path.parent),
            pixel_format="yuv420p",
            ffmpeg_params=["-crf", "18"],
            logger=None,
        )
