"""Pieces of an ffmpeg filtergraph for social clips: reframing, logo, captions, face blur, muted
spans of audio, escaping.

Each function returns filter text; `media.render` joins them into one graph. Paths inside the
graph are escaped twice, as ffmpeg parses them twice: once as a filter option value (where
``\\``, ``'`` and ``:`` are special) and once as filtergraph text (``\\ ' [ ] , ;``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from media.profiles import Corner, Reframe

if TYPE_CHECKING:
    from media.faces import FaceSpan

LOGO_MARGIN = 0.04  # of the video's width, from both edges of its corner
# The blurred background is blurred at a quarter of the size, then scaled up: far cheaper than
# blurring a full-size frame, and just as soft.
BLUR_DOWNSCALE = 4
BLUR_RADIUS = 10
# A face is blurred with a box blur of a quarter of its rectangle's smaller side, three passes
# (close to a Gaussian): features, skin texture and outline all go; only a soft blob remains.
FACE_BLUR_SHARE = 4
FACE_BLUR_PASSES = 3
# Muted speech fades out and back in over this long, outside the span, so the span itself is
# silent throughout and its edges do not click; the gain is set per millisecond of audio.
MUTE_FADE_MS = 20


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


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


@dataclass
class _Slot:
    """One crop, blur and overlay, reused by spans that never overlap in time: its rectangle
    has their largest size and moves to each one's place while it lasts."""

    spans: list[FaceSpan] = field(default_factory=list)
    width: int = 0
    height: int = 0

    def free_at(self, ms: int) -> bool:
        return not self.spans or self.spans[-1].end_ms < ms

    def add(self, span: FaceSpan) -> None:
        self.spans.append(span)
        self.width, self.height = max(self.width, span.width), max(self.height, span.height)

    def places(self, frame_w: int, frame_h: int) -> list[tuple[FaceSpan, int, int]]:
        """Each span with the slot's rectangle centred on it, kept inside the picture."""
        placed = []
        for span in self.spans:
            x = span.x + (span.width - self.width) // 2
            y = span.y + (span.height - self.height) // 2
            x = min(max(0, x), frame_w - self.width) // 2 * 2
            y = min(max(0, y), frame_h - self.height) // 2 * 2
            placed.append((span, x, y))
        return placed


def _slots(spans: Sequence[FaceSpan]) -> list[_Slot]:
    """Spans shared out among as few slots as overlap in time, each to the free slot nearest its
    size (a slot's rectangle is its largest span's)."""
    slots: list[_Slot] = []
    for span in sorted(spans, key=lambda s: (s.start_ms, s.end_ms)):
        free = [slot for slot in slots if slot.free_at(span.start_ms)]
        if free:
            area = span.width * span.height
            slot = min(free, key=lambda s: abs(s.width * s.height - area))
        else:
            slot = _Slot()
            slots.append(slot)
        slot.add(span)
    return slots


def _piecewise(values: Sequence[tuple[FaceSpan, int]]) -> str:
    """An expression of t: each span's value while it lasts (0 between spans)."""
    expression = "0"
    for span, value in reversed(values):
        when = f"between(t,{_seconds(span.start_ms)},{_seconds(span.end_ms)})"
        expression = f"if({when},{value},{expression})"
    return f"'{expression}'"


def face_blur_graph(
    source: str, spans: Sequence[FaceSpan], frame_w: int, frame_h: int, out: str
) -> str:
    """Blur each span's rectangle (in a `frame_w` x `frame_h` picture) while the span lasts: a
    crop of the picture, box-blurred and laid back over it, switched on only between the span's
    times. Spans that never overlap share one crop, blur and overlay that moves from one to the
    next: every overlay copies the whole picture on every frame, switched on or not, so a
    clip's graph has as few as its faces need at once. Without spans the picture passes
    unchanged."""
    if not spans:
        return f"[{source}]null[{out}]"
    slots = _slots(spans)
    count = len(slots)
    branches = "".join(f"[fb{n}]" for n in range(count))
    graph = [f"[{source}]format=yuv420p,split={count + 1}[fbase]{branches}"]
    below = "fbase"
    for n, slot in enumerate(slots):
        places = slot.places(frame_w, frame_h)
        x = _piecewise([(span, x) for span, x, _y in places])
        y = _piecewise([(span, y) for span, _x, y in places])
        enable = "+".join(
            f"between(t,{_seconds(span.start_ms)},{_seconds(span.end_ms)})" for span in slot.spans
        )
        radius = max(1, min(slot.width, slot.height) // FACE_BLUR_SHARE)
        graph.append(
            f"[fb{n}]crop=w={slot.width}:h={slot.height}:x={x}:y={y},"
            f"boxblur=luma_radius={radius}:luma_power={FACE_BLUR_PASSES}"
            f":chroma_radius={max(1, radius // 2)}:chroma_power={FACE_BLUR_PASSES}"
            f":enable='{enable}'[fz{n}]"
        )
        above = out if n == count - 1 else f"fo{n}"
        graph.append(f"[{below}][fz{n}]overlay=x={x}:y={y}:enable='{enable}'[{above}]")
        below = above
    return ";".join(graph)


def mute_filter(
    spans_ms: Sequence[tuple[int, int]], sample_rate: int, fade_ms: int = MUTE_FADE_MS
) -> str:
    """Audio filters silencing each (start, end) span in ms of audio at `sample_rate`, with
    `fade_ms` fades outside it ("" without spans). The gain is a product of one ramp per span,
    evaluated once per millisecond of audio (frames of `sample_rate / 1000` samples)."""
    if not spans_ms:
        return ""
    fade = fade_ms / 1000
    ramps = [
        f"clip((abs(t-{(a + b) / 2000:.4f})-{(b - a) / 2000:.4f})/{fade:g},0,1)"
        for a, b in spans_ms
    ]
    gain = "*".join(ramps)
    samples = max(1, sample_rate // 1000)
    return f"asetnsamples=n={samples}:p=0,volume='{gain}':eval=frame"
