"""Rendering a vertical social clip: voices vs the bare ffmpeg command vs moviepy frame by frame.

One source made once (real speech, the Columbia address, over a moving 1280x720 test picture at
30 fps), cut to `seconds`, reframed to 1080x1920 with captions burned in every 3 s, x264 veryfast
CRF 20 + AAC, measured side by side in one run:

  (a) voices `render_clip`: loudness pass, ASS file, one ffmpeg run
  (b) the bare ffmpeg command with the same filters, written out here by hand, loudness measured
      beforehand (and, for a like-for-like row, the bare loudness pass plus that command)
  (c) the same edit in moviepy: crop and resize per frame in numpy, captions as TextClips
      composited per frame, written by moviepy's ffmpeg writer (no loudness normalisation)

RTF (real-time factor) = processing seconds / clip seconds: lower is faster.
"""

from __future__ import annotations

import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from media.ffmpeg import file_arg, run_ffmpeg
from media.loudness import LoudnessMeasurement, LoudnessTarget, measure_loudness
from media.render import FONTS_DIR, RenderProfile, RenderRequest, render_clip
from subtitles.ass import CaptionStyle, ass_text
from subtitles.models import Cue

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SPEECH = DATA / "bush_columbia_address_2003.ogg"
TRANSCRIPT = DATA / "bush_columbia_address_2003.txt"
PROFILE = RenderProfile(
    name="vertical", width=1080, height=1920, font_size=64, caption_line_chars=26, margin_v=320
)
CUE_MS = 3000
PRESET, CRF = "veryfast", 20


def _source(seconds: float) -> Path:
    """Speech over a 1280x720 testsrc2 picture, made once and kept in the temp folder."""
    folder = Path(tempfile.gettempdir()) / "voices-bench-render"
    folder.mkdir(exist_ok=True)
    path = folder / f"source-{seconds:g}s.mp4"
    if not path.exists():
        run_ffmpeg(
            [
                *("-y", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30", "-i", file_arg(SPEECH)),
                *("-map", "0:v", "-map", "1:a", "-t", f"{seconds}", "-c:v", "libx264"),
                *("-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac"),
                file_arg(path),
            ]
        )
    return path


def _cues(seconds: float) -> tuple[Cue, ...]:
    """The address's own words, two lines every 3 s."""
    lines = textwrap.wrap(TRANSCRIPT.read_text(encoding="utf-8"), PROFILE.caption_line_chars)
    count = int(seconds * 1000) // CUE_MS
    return tuple(
        Cue(
            start_ms=n * CUE_MS,
            end_ms=(n + 1) * CUE_MS - 100,
            lines=tuple(lines[2 * n : 2 * n + 2]),
        )
        for n in range(count)
    )


def _bare_command(
    source: Path, seconds: float, m: LoudnessMeasurement, ass: Path, out: Path
) -> list[str]:
    """What one would type: the same cut, filters and encoder settings as voices."""
    video = (
        "[0:v]crop=w='min(iw,ih*1080/1920)':h='min(ih,iw*1920/1080)',scale=1080:1920,setsar=1,"
        f"ass=filename={ass}:fontsdir={FONTS_DIR},format=yuv420p[v]"
    )
    audio = (
        "[0:a]aformat=channel_layouts=stereo,loudnorm=I=-14:TP=-1.5:LRA=11"
        f":measured_I={m.input_i}:measured_TP={m.input_tp}:measured_LRA={m.input_lra}"
        f":measured_thresh={m.input_thresh}:offset={m.target_offset}:linear=true,"
        "aresample=48000[a]"
    )
    return [
        *("-v", "error", "-y", "-ss", "0", "-t", f"{seconds}", "-i", str(source)),
        *("-filter_complex", f"{video};{audio}", "-map", "[v]", "-map", "[a]"),
        *("-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p"),
        *("-preset", PRESET, "-crf", str(CRF), "-maxrate", "8M", "-bufsize", "16M"),
        *("-force_key_frames", "expr:gte(t,n_forced*2)", "-flags", "+cgop", "-fps_mode", "cfr"),
        *("-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-map_metadata", "-1"),
        *("-movflags", "+faststart", str(out)),
    ]


def _moviepy(source: Path, seconds: float, cues: tuple[Cue, ...], out: Path) -> None:
    from moviepy import CompositeVideoClip, TextClip, VideoFileClip

    with VideoFileClip(str(source)) as clip:
        cut = clip.subclipped(0, seconds)
        width, height = cut.size
        framed = cut.cropped(x_center=width / 2, width=round(height * 9 / 16), height=height)
        framed = framed.resized((PROFILE.width, PROFILE.height))
        captions = []
        for cue in cues:
            text = TextClip(
                font=str(FONTS_DIR / "DejaVuSans-Bold.ttf"),
                text="\n".join(cue.lines),
                font_size=PROFILE.font_size,
                color="white",
                stroke_color="black",
                stroke_width=5,
                text_align="center",
                margin=(10, 20),
            )
            top = PROFILE.height - PROFILE.margin_v - text.h
            captions.append(
                text.with_start(cue.start_ms / 1000)
                .with_duration((cue.end_ms - cue.start_ms) / 1000)
                .with_position(("center", top))
            )
        CompositeVideoClip([framed, *captions]).write_videofile(
            str(out),
            fps=cut.fps,
            codec="libx264",
            preset=PRESET,
            ffmpeg_params=["-crf", str(CRF), "-pix_fmt", "yuv420p"],
            audio_codec="aac",
            audio_bitrate="160k",
            audio_fps=48000,
            temp_audiofile_path=str(out.parent),
            logger=None,
        )


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(seconds: float = 60.0) -> None:
    source, cues = _source(seconds), _cues(seconds)
    with tempfile.TemporaryDirectory(prefix="voices-bench-render-") as scratch:
        folder = Path(scratch)
        request = RenderRequest(
            source=source,
            start_ms=0,
            end_ms=round(seconds * 1000),
            has_video=True,
            profile=PROFILE,
            cues=cues,
            output=folder / "voices.mp4",
        )
        ass = folder / "bare.ass"
        style = CaptionStyle(width=1080, height=1920, font_size=64, margin_v=320, margin_h=65)
        ass.write_text(ass_text(cues, style), encoding="utf-8")
        end_ms = request.end_ms

        def measure() -> LoudnessMeasurement:
            return measure_loudness(source, 0, end_ms, LoudnessTarget())

        measured = measure()  # also warms the file cache for every pipeline
        bare = _bare_command(source, seconds, measured, ass, folder / "bare.mp4")
        # (a) and (b) alternate, best of two each; moviepy is too slow to run twice.
        voices_runs, bare_runs = [], []
        for _ in range(2):
            voices_runs.append(_timed(lambda: render_clip(request)))
            bare_runs.append(_timed(lambda: run_ffmpeg(bare)))
        voices_s, bare_s = min(voices_runs), min(bare_runs)
        measure_s = _timed(measure)
        moviepy_s = _timed(lambda: _moviepy(source, seconds, cues, folder / "moviepy.mp4"))
    rows = [
        ("(a) voices render_clip", voices_s),
        ("(b) bare ffmpeg, loudness known", bare_s),
        ("    bare loudness pass + (b)", measure_s + bare_s),
        ("(c) moviepy frame by frame", moviepy_s),
    ]
    print(
        f"\nRender, {seconds:g} s vertical 1080x1920 clip from 1280x720 30 fps, {len(cues)} "
        f"captions, x264 {PRESET} CRF {CRF}; (a), (b) best of two"
    )
    print(f"{'pipeline':<34} {'seconds':>8} {'RTF':>7} {'vs (b)':>8}")
    for name, elapsed in rows:
        print(f"{name:<34} {elapsed:8.2f} {elapsed / seconds:7.3f} {elapsed / bare_s:7.2f}x")
    print(f"a/b = {voices_s / bare_s:.2f} (goal <= 1.1); c/b = {moviepy_s / bare_s:.2f}")
