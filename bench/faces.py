"""Blurring faces: what `blur_faces` adds to a render, measured side by side in one run.

One source made once: a real face (GRID, tests/data/grid_lwbsza.mpg, looped) drifting across a
1920x1080 30 fps picture, with its speech, cut to `seconds`, rendered vertical 1080x1920 with
captions (x264 veryfast CRF 20 + AAC), as in bench/render.py:

  (a) `render_clip` without blur
  (b) `render_clip` with `blur_faces`, the faces found first (a clip's first profile)
  (c) `render_clip` with `blur_faces`, the faces found before (its other profiles: the scan is
      kept beside the outputs)
  (d) `scan_faces` alone: decode, detect one frame every 200 ms, track

(a), (b), (c) alternate, best of two each. RTF = processing seconds / clip seconds.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from media.faces import FaceOptions, detect_faces, scan_faces
from media.ffmpeg import file_arg, run_ffmpeg
from media.render import RenderProfile, RenderRequest, render_clip
from subtitles.models import Cue

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
FACE = DATA / "grid_lwbsza.mpg"
PROFILE = RenderProfile(
    name="vertical", width=1080, height=1920, font_size=64, caption_line_chars=26, margin_v=320
)
CUE_MS = 3000


def _source(seconds: float) -> Path:
    """GRID's speaker, three times her size, drifting left and right on a blue 1920x1080."""
    folder = Path(tempfile.gettempdir()) / "voices-bench-faces"
    folder.mkdir(exist_ok=True)
    path = folder / f"source-{seconds:g}s.mp4"
    if not path.exists():
        drift = "x='660+300*sin(t/3)':y=100"
        run_ffmpeg(
            [
                *("-y", "-f", "lavfi", "-i", "color=c=0x2aa7d8:s=1920x1080:r=30"),
                *("-stream_loop", "-1", "-i", file_arg(FACE)),
                *("-filter_complex", f"[1:v]scale=600:480,fps=30[f];[0:v][f]overlay={drift}[v]"),
                *("-map", "[v]", "-map", "1:a", "-t", f"{seconds}", "-c:v", "libx264"),
                *("-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac"),
                file_arg(path),
            ]
        )
    return path


def _cues(seconds: float) -> tuple[Cue, ...]:
    count = int(seconds * 1000) // CUE_MS
    return tuple(
        Cue(start_ms=n * CUE_MS, end_ms=(n + 1) * CUE_MS - 100, lines=("lay white by", "s zero"))
        for n in range(count)
    )


def _detections_per_second(source: Path, side: int, count: int = 20) -> float:
    """CenterFace alone on one frame of `source` scaled to `side` pixels wide, `count` times."""
    with av.open(str(source)) as container:
        frame = next(container.decode(video=0))
        height = round(frame.height * side / frame.width)
        rgb = frame.reformat(width=side, height=height, format="rgb24").to_ndarray()
        picture = np.asarray(rgb, dtype=np.uint8)
    detect_faces(picture)  # loads the model
    return count / _timed(lambda: [detect_faces(picture) for _ in range(count)])


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(seconds: float = 60.0) -> None:
    source, cues = _source(seconds), _cues(seconds)
    end_ms = round(seconds * 1000)
    with tempfile.TemporaryDirectory(prefix="voices-bench-faces-") as scratch:
        folder = Path(scratch)

        def request(blur: bool) -> RenderRequest:
            return RenderRequest(
                source=source,
                start_ms=0,
                end_ms=end_ms,
                has_video=True,
                profile=PROFILE,
                cues=cues,
                blur_faces=blur,
                output=folder / ("blur" if blur else "plain") / "vertical.mp4",
            )

        def first_profile() -> None:
            shutil.rmtree(folder / "blur" / ".faces", ignore_errors=True)
            render_clip(request(True))

        plain_runs, first_runs, other_runs = [], [], []
        for _ in range(2):
            plain_runs.append(_timed(lambda: render_clip(request(False))))
            first_runs.append(_timed(first_profile))
            other_runs.append(_timed(lambda: render_clip(request(True))))
        started = time.perf_counter()
        scan = scan_faces(source, 0, end_ms)
        scan_s = time.perf_counter() - started
    options = FaceOptions()
    detect_rates = {side: _detections_per_second(source, side) for side in (640, options.max_side)}
    plain_s, first_s, other_s = min(plain_runs), min(first_runs), min(other_runs)
    rows = [
        ("(a) render, no blur", plain_s),
        ("(b) render + blur, faces found", first_s),
        ("(c) render + blur, faces known", other_s),
        ("(d) scan_faces alone", scan_s),
    ]
    print(
        f"\nFace blur, {seconds:g} s vertical 1080x1920 clip from 1920x1080 30 fps, one face "
        f"drifting; detector every {options.every_ms} ms at <= {options.max_side} px; "
        f"(a)-(c) best of two"
    )
    print(f"{'pipeline':<34} {'seconds':>8} {'RTF':>7} {'vs (a)':>8}")
    for name, elapsed in rows:
        print(f"{name:<34} {elapsed:8.2f} {elapsed / seconds:7.3f} {elapsed / plain_s:7.2f}x")
    print(
        f"scan: {scan.frames} frames decoded ({scan.frames / scan_s:.0f}/s), {scan.detections} "
        f"detections ({scan.detections / scan_s:.1f}/s overall), {len(scan.spans)} spans to blur"
    )
    rates = ", ".join(f"{rate:.1f}/s at {side} px wide" for side, rate in detect_rates.items())
    print(f"detector alone: {rates}")
    print(f"b/a = {first_s / plain_s:.2f}; c/a = {other_s / plain_s:.2f}")
