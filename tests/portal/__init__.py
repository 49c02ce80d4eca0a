"""Shared by the portal tests: a workspace laid out as the pipeline leaves it, and a live server.

The workspace holds real files (the bundled H.264/AAC mp4 as a render, WebVTT and SRT written
here, a JPEG) in `clips/` and `packages/` as `pipeline.clips.write_package` lays them out,
and catalog rows for clips of every status and consent, so no video is rendered.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from PIL import Image

from catalog.partners import add_partner, downloads_by_clip, revoke_partner
from catalog.store import Catalog
from catalog.tables import Clip, Footage
from tests.helpers import data

VIDEO = data("auto_editor_example.mp4")
CUE_TEXT = {"ru": "Мы вернулись домой.", "en": "We came back home.", "ky": "Биз үйгө кайттык."}
BASE_TIME = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    """The test workspace: which clip is which, and the partners' tokens."""

    workspace: Path
    catalog_url: str
    clips: dict[str, int]
    titles: dict[str, str]
    footage: dict[str, int]
    tokens: dict[str, str]

    @property
    def visible(self) -> list[str]:
        """Clips partner Alpha may see, newest approval first."""
        return ["ky_only", "public", "partners"]

    @property
    def hidden(self) -> list[str]:
        return ["internal", "candidate", "rejected", "minor_internal", "embargoed"]

    def files(self, name: str) -> Path:
        return self.workspace / "packages" / f"clip-{self.clips[name]}"


def write_vtt(path: Path, text: str) -> None:
    path.write_text(f"WEBVTT\n\n00:00:00.000 --> 00:00:40.000\n{text}\n", encoding="utf-8")


def write_srt(path: Path, text: str) -> None:
    path.write_text(f"1\n00:00:00,000 --> 00:00:40,000\n{text}\n", encoding="utf-8")


def _add_footage(
    s: Any, workspace: Path, name: str, consent: str, language: str, people: list[dict[str, Any]]
) -> Footage:
    sha = (name.encode().hex() * 8)[:64]
    raw = workspace / "library" / sha[:12] / f"{name}.mp4"
    raw.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(VIDEO, raw)
    footage = Footage(
        sha256=sha,
        source_name=f"{name}.mp4",
        status="processed",
        path=str(raw),
        library_path=str(raw),
        language=language,
        consent=consent,
        sidecar={"title": name.replace("_", " ").title(), "people": people, "consent": consent},
    )
    s.add(footage)
    s.flush()
    return footage


def _media(workspace: Path, footage: Footage, clip: Clip, languages: list[str]) -> None:
    """Files as rendering leaves them in clips/, then the package folder of hard links."""
    folder = workspace / "clips" / footage.sha256[:12] / f"{clip.start_ms}-{clip.end_ms}"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(VIDEO, folder / "vertical.mp4")
    Image.new("RGB", (320, 180), (190, 70, 40)).save(folder / "thumbnail.jpg", "JPEG")
    subtitles = {}
    for lang in languages:
        write_srt(folder / f"{lang}.srt", CUE_TEXT[lang])
        write_vtt(folder / f"{lang}.vtt", CUE_TEXT[lang])
        subtitles[lang] = {"srt": str(folder / f"{lang}.srt"), "vtt": str(folder / f"{lang}.vtt")}
    size = {"width": 1080, "height": 1920, "duration_ms": clip.end_ms - clip.start_ms}
    clip.renders = {"vertical": {"path": str(folder / "vertical.mp4"), "key": "k", **size}}
    clip.subtitles, clip.thumbnail = subtitles, str(folder / "thumbnail.jpg")
    package = workspace / "packages" / f"clip-{clip.id}"
    package.mkdir(parents=True, exist_ok=True)
    for source in folder.iterdir():
        os.link(source, package / source.name)
    meta = {"clip": clip.id, "title": clip.title, "quote": clip.text, "languages": languages}
    (package / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    clip.package = str(package)


CLIPS: list[tuple[str, str, str, str, list[str], int | None]] = [
    # name, footage, status, title, subtitle languages, approved (hours after BASE_TIME)
    ("public", "open_interview", "approved", "Дом — это люди", ["ru", "en"], 2),
    ("partners", "partner_interview", "approved", "Partners only story", ["ru"], 1),
    ("ky_only", "kyrgyz_interview", "approved", "Ky clip", ["ky"], 3),
    ("internal", "internal_interview", "approved", "Internal secret", ["ru"], 4),
    ("candidate", "open_interview", "candidate", "Candidate draft", ["ru"], None),
    ("rejected", "open_interview", "rejected", "Rejected take", ["ru"], 5),
    ("minor_internal", "minor_interview", "approved", "Minor without consent", ["ru"], 6),
    ("embargoed", "open_interview", "approved", "Embargoed launch", ["ru"], 7),
]
FOOTAGE: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    "open_interview": ("public", "ru", [{"name": "A", "consent": "public"}]),
    "partner_interview": ("partners", "ru", []),
    "kyrgyz_interview": ("public", "ky", []),
    "internal_interview": ("internal", "ru", []),
    "minor_interview": ("public", "ru", [{"name": "B", "minor": True, "consent": "internal"}]),
}


def build_world(workspace: Path) -> World:
    """The workspace with its catalog, files and three partners (Alpha, Beta: ky, Gamma: gone)."""
    catalog = Catalog(f"sqlite:///{workspace / 'catalog.sqlite'}", workspace)
    try:
        with catalog.session() as s:
            footage = {
                name: _add_footage(s, workspace, name, *spec) for name, spec in FOOTAGE.items()
            }
            clips = {}
            for n, (name, source, status, title, langs, hours) in enumerate(CLIPS):
                clip = Clip(
                    footage_id=footage[source].id,
                    start_ms=1000 * n,
                    end_ms=1000 * n + 20_500,
                    text=f"Quote of {title}",
                    title=title,
                    status=status,
                    approved_at=BASE_TIME + timedelta(hours=hours) if hours else None,
                )
                if name == "embargoed":
                    clip.publish_at = datetime.now(UTC) + timedelta(days=30)
                s.add(clip)
                s.flush()
                _media(workspace, footage[source], clip, langs)
                clips[name] = clip
            ids = {name: clip.id for name, clip in clips.items()}
            titles = {name: clip.title for name, clip in clips.items()}
            footage_ids = {name: f.id for name, f in footage.items()}
        tokens = {
            "alpha": add_partner(catalog, "Alpha"),
            "beta": add_partner(catalog, "Beta", ["ky"]),
            "gamma": add_partner(catalog, "Gamma"),
        }
        revoke_partner(catalog, "Gamma")
    finally:
        catalog.close()
    url = f"sqlite:///{workspace / 'catalog.sqlite'}"
    return World(workspace, url, ids, titles, footage_ids, tokens)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run the app with uvicorn on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal did not start within 10 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_for_downloads(
    world: World, clip: int, until: Callable[[list[dict[str, Any]]], bool], seconds: float = 15
) -> list[dict[str, Any]]:
    """The clip's download log once `until` holds for it (or the time is up): the server logs a
    download just after the client has the body, so the log may trail by a moment."""
    catalog = Catalog(world.catalog_url, world.workspace)
    try:
        deadline = time.monotonic() + seconds
        while True:
            found = [d.model_dump() for d in downloads_by_clip(catalog).get(clip, [])]
            if until(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)
    finally:
        catalog.close()
