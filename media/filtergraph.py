"""Pieces of an ffmpeg filtergraph for social clips: reframing, logo, captions, escaping.

Each function returns filter text; `media.render` joins them into one graph. Paths inside the
graph are escaped twice, as ffmpeg parses them twice: once as a filter option value (where
``\\``, ``'`` and ``:`` are special) and once as filtergraph text (``\\ ' [ ] , ;``).
"""

from __future__ import annotations

from pathlib import Path

from media.profiles import Corner, Reframe

LOGO_MARGIN = 0.04  # of the video's width, from both edges of its corner
# The blurred background is blurred at a quarter of the size, then scaled up: far cheaper than
# blurring a full-size frame, and just as soft.
BLUR_DOWNSCALE = 4
BLUR_RADIUS = 10


def escape_option_value(value: str) -> str:
    """First level: a value inside a filter's option list."""
    for char in ("\\", "'", ":"):
        value = value.replace(char, "\\" + char)
    return value


def escape_graph_text(text: str) -> str:
    """Second level: text inside a filtergraph description."""
    for char in ("\\", "'", "[", "]", ",", ";"):
        text = text.replace(char, "\\" + char)
    return text


def path_value(path: Path) -> str:
    """A path as a filter option value, escaped for both levels."""
    return escape_graph_text(escape_option_value(str(path)))


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def crop_chain(width: int, height: int) -> str:
    """Centre crop to the target's aspect ratio, then scale to the target size."""
    return (
        f"crop=w='min(iw,ih*{width}/{height})':h='min(ih,iw*{height}/{width})',"
        f"scale={width}:{height},setsar=1"
    )


def blur_graph(source: str, width: int, height: int, out: str) -> str:
    """The whole picture fitted in the centre, over a blurred copy of itself filling the frame."""
    small_w, small_h = _even(width / BLUR_DOWNSCALE), _even(height / BLUR_DOWNSCALE)
    return (
        f"[{source}]split=2[bgin][fgin];"
        f"[bgin]scale={small_w}:{small_h}:force_original_aspect_ratio=increase,"
        f"crop={small_w}:{small_h},boxblur={BLUR_RADIUS}:2,scale={width}:{height},setsar=1[bg];"
        f"[fgin]scale={width}:{height}:force_original_aspect_ratio=decrease"
        f":force_divisible_by=2,setsar=1[fg];"
        f"[bg][fg]overlay=x=(W-w)/2:y=(H-h)/2,setsar=1[{out}]"
    )


def reframe_graph(source: str, width: int, height: int, reframe: Reframe, out: str) -> str:
    if reframe == "blur":
        return blur_graph(source, width, height, out)
    return f"[{source}]{crop_chain(width, height)}[{out}]"


def logo_graph(
    video: str, logo: str, width: int, logo_width: float, corner: Corner, out: str
) -> str:
    """Scale the logo to `logo_width` of the video's width and lay it in `corner`."""
    margin = round(width * LOGO_MARGIN)
    x = f"{margin}" if corner.endswith("left") else f"W-w-{margin}"
    y = f"{margin}" if corner.startswith("top") else f"H-h-{margin}"
    return (
        f"[{logo}]scale={_even(width * logo_width)}:-2,format=rgba[logo];"
        f"[{video}][logo]overlay=x={x}:y={y}:eof_action=repeat[{out}]"
    )


def captions_filter(ass_path: Path, fonts_dir: Path) -> str:
    """Burn the ASS file in with libass, looking up fonts in `fonts_dir` (not the machine's)."""
    return f"ass=filename={path_value(ass_path)}:fontsdir={path_value(fonts_dir)}"


def card_background(color: str, width: int, height: int, fps: float, seconds: float) -> str:
    """A lavfi source: a plain card of `color` (``#rrggbb`` or a name) for audio-only footage."""
    ffmpeg_color = "0x" + color[1:] if color.startswith("#") else color
    return f"color=c={ffmpeg_color}:s={width}x{height}:r={fps:g}:d={seconds:.3f}"
