"""Intro and outro text cards, drawn with Pillow, written with moviepy, cached as small mp4s.

A card is a plain colour with centred white text in the shipped DejaVu Sans Bold, with silent
stereo audio so it can be joined to a clip by ffmpeg's `concat` filter. Its file name is a hash
of everything that shapes it, so a card is rendered once and a changed setting makes a new one.

Every card is laid out for its own width and height (a vertical reel, a square post, a 16:9
video): the text is wrapped to the text area, a tenth of the width clear on each side, and set
smaller when it would not fit, so nothing is ever cropped (`lay_out`).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, ConfigDict, Field

from media.errors import MediaError
from media.library import atomic_output
from media.loudness import OUTPUT_SAMPLE_RATE

log = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
CARD_FONT = FONTS_DIR / "DejaVuSans-Bold.ttf"
CARD_VERSION = 2  # bump when the look of cards changes, so cached ones are redone
TEXT_WIDTH = 0.8  # of the card's width: a tenth of it stays clear on each side
TEXT_HEIGHT = 0.6  # of the card's height
LINE_SPACING = 0.2  # of the font size, between lines
# Text that does not fit is set smaller, in steps of this factor, down to MIN_FONT_SCALE of its
# size; only then is a word too long for a line broken between letters.
FONT_STEP = 0.92
MIN_FONT_SCALE = 0.4


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


def card_still(card: Card, cache_dir: Path) -> Path:
    """The card as a PNG in `cache_dir` (the picture of audio-only footage), drawn if not there
    yet; its text is laid out for the card's own width and height."""
    path = cache_dir / f"still-{card.key}.png"
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as partial:
        Image.fromarray(_picture(card)).save(partial, format="PNG")
    return path


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


class CardText(BaseModel):
    """A card's text as it is drawn: its font size and its lines."""

    model_config = ConfigDict(frozen=True)

    font_size: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def lay_out(text: str, font_size: int, width: int, height: int) -> CardText:
    """`text` broken into lines that fit a `width` x `height` pixel area, at the largest size
    from `font_size` down to `MIN_FONT_SCALE` of it; a word too long for a line even then is
    broken between letters. Raises `MediaError` when the text cannot fit at all."""
    smallest = max(1, round(font_size * MIN_FONT_SCALE))
    sizes = [font_size]
    while (smaller := min(sizes[-1] - 1, round(sizes[-1] * FONT_STEP))) >= smallest:
        sizes.append(smaller)
    # Smaller type first; a word broken in two only as the last resort.
    attempts = [(size, False) for size in sizes] + [(sizes[-1], True)]
    for size, break_words in attempts:
        font = card_font(size)
        lines = wrap_lines(text, font, width, break_words)
        if lines is not None and _text_height(lines, font) <= height:
            return CardText(font_size=size, lines=lines)
    raise MediaError(
        f"the card text {_short(text)!r} does not fit a {width}x{height} px text area even at "
        f"{smallest} px; shorten render.branding's intro_text or outro_text"
    )


def wrap_lines(
    text: str, font: ImageFont.FreeTypeFont, width: int, break_words: bool = False
) -> tuple[str, ...] | None:
    """`text` broken between words into lines no wider than `width` pixels in `font`; None if
    a word alone is wider, unless `break_words`, which breaks such a word between letters."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            if font.getlength(word) > width:
                if not break_words:
                    return None
                pieces = _break_word(word, font, width)
                if line:
                    lines.append(line)
                lines += pieces[:-1]
                line = pieces[-1]
                continue
            candidate = f"{line} {word}".strip()
            if line and font.getlength(candidate) > width:
                lines.append(line)
                candidate = word
            line = candidate
        lines.append(line)
    return tuple(lines)


def _break_word(word: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """`word` in pieces each no wider than `width` (one letter each at the very least)."""
    pieces = [""]
    for char in word:
        if pieces[-1] and font.getlength(pieces[-1] + char) > width:
            pieces.append("")
        pieces[-1] += char
    return pieces


def card_font(size: int) -> ImageFont.FreeTypeFont:
    """The shipped card font (never the machine's) at `size` pixels."""
    return ImageFont.truetype(str(CARD_FONT), size)


def _text_height(lines: tuple[str, ...], font: ImageFont.FreeTypeFont) -> float:
    """The height of the lines' box as `_picture` draws them (line spacing included)."""
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    _, top, _, bottom = measure.multiline_textbbox(
        (0, 0), "\n".join(lines), font=font, spacing=_spacing(font), align="center"
    )
    return bottom - top


def _spacing(font: ImageFont.FreeTypeFont) -> int:
    return round(font.size * LINE_SPACING)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _picture(card: Card) -> NDArray[np.uint8]:
    """The card as an RGB frame: its colour, and its text laid out and centred."""
    area = (round(card.width * TEXT_WIDTH), round(card.height * TEXT_HEIGHT))
    laid = lay_out(card.text, card.font_size, *area)
    font = card_font(laid.font_size)
    image = Image.new("RGB", (card.width, card.height), rgb(card.color))
    draw = ImageDraw.Draw(image)
    spacing = _spacing(font)
    left, top, right, bottom = draw.multiline_textbbox(
        (0, 0), laid.text, font=font, spacing=spacing, align="center"
    )
    origin = ((card.width - (right - left)) / 2 - left, (card.height - (bottom - top)) / 2 - top)
    draw.multiline_text(origin, laid.text, font=font, fill="white", spacing=spacing, align="center")
    return np.asarray(image, dtype=np.uint8)


def _write_card(card: Card, path: Path) -> None:
    from moviepy import AudioClip, ImageClip

    audio = AudioClip(_silence, duration=card.seconds, fps=OUTPUT_SAMPLE_RATE)
    picture = ImageClip(_picture(card), duration=card.seconds)
    with picture.with_audio(audio) as clip:
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
