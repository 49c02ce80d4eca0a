"""Helpers the tests share: the bundled test media and ways to make footage from it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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


def make_bad_inputs(inbox: Path, scratch: Path) -> dict[str, str]:
    """Write each kind of unusable file into `inbox`; return name -> words its reason must hold."""
    scratch.mkdir(parents=True, exist_ok=True)
    (inbox / "empty.mp4").write_bytes(b"")
    (inbox / "notes.mp4").write_text("interview notes, not a video\n" * 20)
    (inbox / "noise.wav").write_bytes(os.urandom(50_000))
    (inbox / "document.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    whole = mux_video(data("jfk.wav"), scratch / "whole.mp4")
    (inbox / "moov_missing.mov").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    faststart = mux_video(data("jfk.wav"), scratch / "fs.mp4", extra=("-movflags", "+faststart"))
    (inbox / "cut_off.mp4").write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 3])
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            file_arg(inbox / "no_sound.mp4"),
        ]
    )
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240",
            "-frames:v",
            "1",
            file_arg(inbox / "photo.jpg"),
        ]
    )
    (inbox / "header_only.wav").write_bytes(data("jfk.wav").read_bytes()[:44])
    run_ffmpeg(["-y", "-i", file_arg(data("jfk.wav")), "-t", "0.2", file_arg(inbox / "blip.wav")])
    return {
        "empty.mp4": "empty",
        "notes.mp4": "not a media file",
        "noise.wav": "not a media file",
        "document.pdf": "not a media file",
        "moov_missing.mov": "not a media file",
        "cut_off.mp4": "cut off",
        "no_sound.mp4": "no audio",
        "photo.jpg": "no audio",
        "header_only.wav": "not a media file",
        "blip.wav": "too short",
    }


# the CLI, in this process (so the session's Prefect API serves it)


def voices(*args: str) -> tuple[int, str]:
    """`voices ARGS` as a person would run it: (exit code, what it printed)."""
    from typer.testing import CliRunner

    from cli.app import app

    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def status() -> dict[str, Any]:
    code, output = voices("status", "--json")
    assert code == 0
    report: dict[str, Any] = json.loads(output)
    return report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["source_name"]: f for f in report["footage"]}


# Debian's Chromium, driven by Playwright in the browser tests (the `browser` fixture); never a
# downloaded browser.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
