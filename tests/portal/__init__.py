"""Shared by the portal tests: a workspace laid out as the pipeline leaves it, and a live server.

The workspace holds real files (the bundled H.264/AAC mp4 as a render, WebVTT and SRT written
here, JPEGs) in `clips/`, the packages in `packages/` made by the pipeline's own
`write_package` (so their `metadata.json` is the real one), and catalog rows for clips of
every status and consent, so no video is rendered. People have names, and one footage has no
title and a file name that is a child's name, so a test can tell that none of them leaves.
"""

from __future__ import annotations

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
from config import load_settings
from pipeline.context import Context
from pipeline.packages import write_package
from tests.helpers import data
from web.portal_server import server_config

VIDEO = data("auto_editor_example.mp4")
CUE_TEXT = {"ru": "Мы вернулись домой.", "en": "We came back home.", "ky": "Биз үйгө кайттык."}
BASE_TIME = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
# Names that must never leave: the people in the sidecars, and a file named after a child.
NAMES = ("Айгүл", "Асанова", "Бакыт", "Осмонов", "Bakyt", "Osmonov")
CHILD_FILE = "Бакыт Осмонов (Bakyt Osmonov), Naryn.mp4"
# Render sizes: the profiles' own, and the `web` rendition the player takes when there is one.
SIZES = {"vertical": (1080, 1920), "square": (1080, 1080), "web": (480, 854)}


@dataclass(frozen=True)
class World:
    """The test workspace: which clip is which, and the partners' tokens."""

    workspace: Path
    catalog_url: str
    clips: dict[str, int]
    titles: dict[str, str]
    footage: dict[str, int]
    tokens: dict[str, str]
    packages: dict[str, Path]

    @property
    def visible(self) -> list[str]:
        """Clips partner Alpha may see, newest approval first."""
        more = sorted((n for n in self.clips if n.startswith("more_")), key=lambda n: int(n[5:]))
        return ["ky_only", "public", "partners", *more]

    @property
    def hidden(self) -> list[str]:
        return ["internal", "candidate", "rejected", "minor_internal", "embargoed"]

    def files(self, name: str) -> Path:
        """The clip's package folder, wherever the pipeline put it."""
        return self.packages[name]


@dataclass(frozen=True)
class FootageSpec:
    consent: str
    language: str
    people: list[dict[str, Any]]
    titled: bool = True  # a title in the sidecar
    source: str = ""  # the file's name as staff dropped it (default: NAME.mp4)


V = "vertical"
CLIPS: list[tuple[str, str, str, str, list[str], int | None, list[str]]] = [
    # name, footage, status, title, subtitle languages, approved (hours after BASE_TIME), renders
    (
        "public",
        "open_interview",
        "approved",
        "Дом — это люди",
        ["ru", "en"],
        2,
        ["vertical", "web"],
    ),
    ("partners", "partner_interview", "approved", "Partners only story", ["ru"], 1, ["vertical"]),
    ("ky_only", "kyrgyz_interview", "approved", "Ky clip", ["ky"], 3, ["vertical", "square"]),
    ("internal", "internal_interview", "approved", "Internal secret", ["ru"], 4, ["vertical"]),
    ("candidate", "open_interview", "candidate", "Candidate draft", ["ru"], None, ["vertical"]),
    ("rejected", "open_interview", "rejected", "Rejected take", ["ru"], 5, ["vertical"]),
    (
        "minor_internal",
        "minor_interview",
        "approved",
        "Minor without consent",
        ["ru"],
        6,
        ["vertical"],
    ),
    ("embargoed", "open_interview", "approved", "Embargoed launch", ["ru"], 7, ["vertical"]),
]
FOOTAGE: dict[str, FootageSpec] = {
    "open_interview": FootageSpec("public", "ru", [{"name": "Айгүл Асанова", "consent": "public"}]),
    # No title, and a file named after the child in it, who may be seen by partners.
    "partner_interview": FootageSpec(
        "partners",
        "ru",
        [{"name": "Бакыт Осмонов", "role": "son", "minor": True, "consent": "partners"}],
        titled=False,
        source=CHILD_FILE,
    ),
    "kyrgyz_interview": FootageSpec("public", "ky", []),
    "internal_interview": FootageSpec("internal", "ru", []),
    "minor_interview": FootageSpec(
        "public", "ru", [{"name": "B", "minor": True, "consent": "internal"}]
    ),
}


def write_vtt(path: Path, text: str) -> None:
    path.write_text(f"WEBVTT\n\n00:00:00.000 --> 00:00:40.000\n{text}\n", encoding="utf-8")


def write_srt(path: Path, text: str) -> None:
    path.write_text(f"1\n00:00:00,000 --> 00:00:40,000\n{text}\n", encoding="utf-8")


def _add_footage(s: Any, workspace: Path, name: str, spec: FootageSpec) -> Footage:
    sha = (name.encode().hex() * 8)[:64]
    raw = workspace / "library" / sha[:12] / f"{name}.mp4"
    raw.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(VIDEO, raw)
    sidecar: dict[str, Any] = {"people": spec.people, "consent": spec.consent}
    if spec.titled:
        sidecar["title"] = name.replace("_", " ").title()
    footage = Footage(
        sha256=sha,
        source_name=spec.source or f"{name}.mp4",
        status="processed",
        path=str(raw),
        library_path=str(raw),
        language=spec.language,
        consent=spec.consent,
        sidecar=sidecar,
    )
    s.add(footage)
    s.flush()
    return footage


def _media(
    workspace: Path, footage: Footage, clip: Clip, languages: list[str], profiles: list[str]
) -> None:
    """Files as rendering leaves them in clips/ (each render a copy of the sample video)."""
    folder = workspace / "clips" / footage.sha256[:12] / f"{clip.start_ms}-{clip.end_ms}"
    folder.mkdir(parents=True, exist_ok=True)
    renders = {}
    for profile in profiles:
        shutil.copyfile(VIDEO, folder / f"{profile}.mp4")
        width, height = SIZES[profile]
        renders[profile] = {
            "path": str(folder / f"{profile}.mp4"),
            "key": "k",
            "width": width,
            "height": height,
            "duration_ms": clip.end_ms - clip.start_ms,
        }
    Image.new("RGB", (320, 180), (190, 70, 40)).save(folder / "thumbnail.jpg", "JPEG")
    Image.new("RGB", (180, 320), (40, 70, 190)).save(folder / "preview.jpg", "JPEG")
    subtitles = {}
    for lang in languages:
        write_srt(folder / f"{lang}.srt", CUE_TEXT[lang])
        write_vtt(folder / f"{lang}.vtt", CUE_TEXT[lang])
        subtitles[lang] = {"srt": str(folder / f"{lang}.srt"), "vtt": str(folder / f"{lang}.vtt")}
    clip.renders, clip.subtitles = renders, subtitles
    clip.thumbnail, clip.preview = str(folder / "thumbnail.jpg"), str(folder / "preview.jpg")


def _packages(workspace: Path, clip_ids: dict[str, int]) -> dict[str, Path]:
    """Each clip's package, made by the pipeline's own `write_package`, recorded on the clip."""
    ctx = Context(settings=load_settings(workspace), catalog=Catalog(_url(workspace), workspace))
    try:
        folders = {}
        for name, clip_id in clip_ids.items():
            clip = ctx.catalog.clip(clip_id)
            folders[name] = write_package(ctx, ctx.catalog.footage(clip.footage_id), clip)
        with ctx.catalog.session() as s:
            for name, folder in folders.items():
                s.get_one(Clip, clip_ids[name]).package = str(folder)
    finally:
        ctx.close()
    return folders


def _url(workspace: Path) -> str:
    return f"sqlite:///{workspace / 'catalog.sqlite'}"


def build_world(workspace: Path, more: int = 0) -> World:
    """The workspace with its catalog, files and three partners (Alpha, Beta: ky, Gamma: gone).
    `more` adds that many approved Kyrgyz clips (`more_1`, ...), approved before the others."""
    specs = CLIPS + [
        (f"more_{n}", "kyrgyz_interview", "approved", f"More {n}", ["ky"], -n, ["vertical"])
        for n in range(1, more + 1)
    ]
    catalog = Catalog(_url(workspace), workspace)
    try:
        with catalog.session() as s:
            footage = {
                name: _add_footage(s, workspace, name, spec) for name, spec in FOOTAGE.items()
            }
            clips = {}
            for n, (name, source, status, title, langs, hours, profiles) in enumerate(specs):
                clip = Clip(
                    footage_id=footage[source].id,
                    start_ms=1000 * n,
                    end_ms=1000 * n + 20_500,
                    text=f"Quote of {title}",
                    title=title,
                    status=status,
                    approved_at=BASE_TIME + timedelta(hours=hours) if hours is not None else None,
                )
                if name == "embargoed":
                    clip.publish_at = datetime.now(UTC) + timedelta(days=30)
                s.add(clip)
                s.flush()
                _media(workspace, footage[source], clip, langs, profiles)
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
    packages = _packages(workspace, ids)
    return World(workspace, _url(workspace), ids, titles, footage_ids, tokens, packages)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run the app with uvicorn on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The server settings `voices portal` uses (uvicorn's own proxy handling off, among them).
    config = server_config(app, "127.0.0.1", port, log_level="warning", ws="none", lifespan="on")
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
