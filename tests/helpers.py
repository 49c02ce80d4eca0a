"""Helpers the tests share: the bundled test media and ways to make footage from it."""

from __future__ import annotations

from pathlib import Path

from media.ffmpeg import file_arg, run_ffmpeg

DATA = Path(__file__).parent / "data"


def data(name: str) -> Path:
    return DATA / name


def reference(name: str) -> str:
    return data(name).read_text(encoding="utf-8").strip()


def mux_video(
    audio: Path,
    out: Path,
    size: str = "640x360",
    seconds: float | None = None,
    extra: tuple[str, ...] = (),
) -> Path:
    """Real speech over a plain picture: footage for tests that need a video file."""
    duration = ("-t", f"{seconds}") if seconds else ("-shortest",)
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s={size}:r=25",
            "-i",
            file_arg(audio),
            "-map",
            "0:v",
            "-map",
            "1:a",
            *duration,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            *extra,
            file_arg(out),
        ]
    )
    return out
