"""Advanced SubStation Alpha (.ass) documents for captions burned into video by libass.

The script's resolution (PlayResX/PlayResY) is the video's, so every size in the style is in
pixels. Cues are laid out already (see `subtitles.layout`), so lines are joined with explicit
``\\N`` breaks and libass's own wrapping is off (WrapStyle 2). One style: bold white text with a
black outline and a slight shadow, centred at the bottom.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from subtitles.errors import SubtitleError
from subtitles.formats import clock
from subtitles.models import Cue

WHITE = "&H00FFFFFF"
BLACK = "&H00000000"
SHADOW = "&H80000000"  # half-transparent black
BOTTOM_CENTRE = 2  # numpad-style ASS alignment
# A zero-width space after a backslash keeps "\N", "\n" or "\h" typed in a transcript literal.
ZERO_WIDTH_SPACE = "\u200b"

STYLE_FORMAT = (
    "Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
    "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
)
EVENT_FORMAT = "Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"


class CaptionStyle(BaseModel):
    """How captions look on a `width` x `height` video; sizes in pixels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    font_name: str = "DejaVu Sans"
    font_size: int = Field(gt=0)
    outline: float | None = Field(default=None, ge=0)  # None: font_size / 12
    margin_v: int = Field(ge=0)
    margin_h: int = Field(ge=0)

    @property
    def outline_px(self) -> float:
        return self.outline if self.outline is not None else round(self.font_size / 12, 1)

    @property
    def shadow_px(self) -> float:
        return round(max(1.0, self.font_size / 40), 1)


def format_ass_time(ms: int) -> str:
    """``H:MM:SS.cc`` (centiseconds, rounded down) for a time in milliseconds."""
    hours, minutes, seconds, millis = clock(ms)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis // 10:02d}"


def escape_ass(text: str) -> str:
    """Text shown as typed: braces would open override blocks, backslashes start escapes."""
    text = text.replace("\\", "\\" + ZERO_WIDTH_SPACE)
    return text.replace("{", "\\{").replace("}", "\\}")


def _header(style: CaptionStyle) -> str:
    return (
        "[Script Info]\n"
        "ScriptType: v4.00+\n"
        f"PlayResX: {style.width}\n"
        f"PlayResY: {style.height}\n"
        "WrapStyle: 2\n"
        "ScaledBorderAndShadow: yes\n"
        "\n"
    )


def _styles(style: CaptionStyle) -> str:
    fields = [
        "Default",
        style.font_name,
        str(style.font_size),
        WHITE,
        WHITE,
        BLACK,
        SHADOW,
        "-1",  # bold
        "0",
        "0",
        "0",
        "100",
        "100",
        "0",
        "0",
        "1",  # outline and drop shadow, no opaque box
        f"{style.outline_px:g}",
        f"{style.shadow_px:g}",
        str(BOTTOM_CENTRE),
        str(style.margin_h),
        str(style.margin_h),
        str(style.margin_v),
        "1",
    ]
    return f"[V4+ Styles]\nFormat: {STYLE_FORMAT}\nStyle: {','.join(fields)}\n\n"


def _dialogue(cue: Cue) -> str:
    lines = [escape_ass(part.strip()) for line in cue.lines for part in line.splitlines()]
    text = "\\N".join(line for line in lines if line)
    if not text:
        raise SubtitleError(
            f"the cue at {format_ass_time(cue.start_ms)} has no text; "
            "drop empty cues before writing captions"
        )
    start, end = format_ass_time(cue.start_ms), format_ass_time(cue.end_ms)
    return f"Dialogue: 0,{start},{end},Default,,0,0,0,,{text}\n"


def ass_text(cues: Sequence[Cue], style: CaptionStyle) -> str:
    """The cues as an ASS document for a video of the style's size (no cues: no events)."""
    events = "".join(_dialogue(cue) for cue in cues)
    return _header(style) + _styles(style) + f"[Events]\nFormat: {EVENT_FORMAT}\n" + events
