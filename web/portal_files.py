"""Files the portal hands out: found from the catalog, checked to lie in the exports, metered.

No request names a path. A route names a clip and a kind of file; the path comes from the
catalog (or the clip's package folder), and `servable` still refuses anything whose real path
(symlinks followed) is not a regular file inside the workspace's `clips/` or `packages/`.

A package's zip is built once however many partners ask at the same moment (one builder per
package, the others wait for its zip). It leaves out the player's `web` rendition and takes
`metadata.json` without names: the source file's name (which may be a child's) and anything
about people but their consent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import anyio.to_thread
from starlette.responses import FileResponse
from starlette.types import Message, Receive, Scope, Send

from web.portal_clips import PREVIEW, ClipView

log = logging.getLogger(__name__)

EXPORT_FOLDERS = ("clips", "packages")
SUBTITLE_KINDS = {"vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip; charset=utf-8"}
STORED_SUFFIXES = {".mp4", ".jpg", ".jpeg", ".png", ".zip"}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_TITLE_CHARS = 60
# Bumped whenever what goes into a zip changes, so a zip cached by an earlier version (one
# with names in its metadata, say) is built again instead of served.
ZIP_FORMAT = "2"
METADATA = "metadata.json"
LEFT_OUT = {f"{PREVIEW}.mp4"}  # the player's rendition is not a download
PRIVATE_KEYS = {"name", "names", "source_name", "file_name", "people", "person"}


class NotServable(Exception):
    """The file is missing or lies outside the exports; the portal answers 404 either way."""


def export_roots(workspace: Path) -> tuple[Path, ...]:
    return tuple((workspace / name).resolve() for name in EXPORT_FOLDERS)


def servable(path: str | Path | None, roots: Sequence[Path]) -> Path:
    """The real path of a regular file inside one of `roots`, or NotServable."""
    if not path:
        raise NotServable("no path")
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise NotServable("missing") from exc
    if not any(real.is_relative_to(root) for root in roots) or not real.is_file():
        raise NotServable("outside the exports")
    return real


def first_servable(candidates: Iterable[str | Path | None], roots: Sequence[Path]) -> Path:
    for candidate in candidates:
        try:
            return servable(candidate, roots)
        except NotServable:
            continue
    raise NotServable("none of the candidates")


def package_folder(view: ClipView, roots: Sequence[Path]) -> Path | None:
    if not view.package:
        return None
    try:
        real = Path(view.package).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    inside = any(real.is_relative_to(root) and real != root for root in roots)
    return real if inside and real.is_dir() else None


def render_file(view: ClipView, profile: str, roots: Sequence[Path]) -> Path:
    if profile not in view.render_paths:
        raise NotServable("no such render")
    folder = package_folder(view, roots)
    packaged = folder / f"{profile}.mp4" if folder else None
    return first_servable((view.render_paths[profile], packaged), roots)


def subtitle_file(view: ClipView, language: str, kind: str, roots: Sequence[Path]) -> Path:
    paths = view.subtitle_paths.get(language)
    if kind not in SUBTITLE_KINDS or paths is None:
        raise NotServable("no such subtitles")
    folder = package_folder(view, roots)
    packaged = folder / f"{language}.{kind}" if folder else None
    return first_servable((paths.get(kind), packaged), roots)


def thumbnail_file(view: ClipView, roots: Sequence[Path]) -> Path:
    folder = package_folder(view, roots)
    packaged = folder / "thumbnail.jpg" if folder else None
    return first_servable((view.thumbnail, packaged), roots)


def poster_file(view: ClipView, roots: Sequence[Path]) -> Path:
    """The player's picture: the small preview (320 px) where there is one, else the
    thumbnail."""
    folder = package_folder(view, roots)
    packaged = folder / "thumbnail.jpg" if folder else None
    return first_servable((view.preview, view.thumbnail, packaged), roots)


@dataclass
class _Held:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class KeyedLocks:
    """One lock per key, forgotten when no thread holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: dict[str, _Held] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            held = self._held.setdefault(key, _Held())
            held.users += 1
        try:
            with held.lock:
                yield
        finally:
            with self._guard:
                held.users -= 1
                if held.users == 0:
                    del self._held[key]

    def __len__(self) -> int:
        return len(self._held)


_builders = KeyedLocks()


def package_zip(view: ClipView, roots: Sequence[Path]) -> Path:
    """The clip's package as a zip of one folder, `clip-ID/`, cached next to the package under
    a name that changes whenever a file in it does (so a stale zip is never served and a retry
    reuses the work). One thread builds it; the others asking meanwhile wait for it and serve
    the same zip."""
    folder = package_folder(view, roots)
    if folder is None:
        raise NotServable("no package")
    with _builders.hold(str(folder)):
        members = _package_members(folder, roots)
        if not members:
            raise NotServable("empty package")
        prefix = f"clip-{view.id}"
        digest = hashlib.sha256(f"format {ZIP_FORMAT}\n{prefix}\n".encode())
        for name, real in members:
            stat = real.stat()
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        target = folder.parent / f"{folder.name}.{digest.hexdigest()[:12]}.zip"
        if not target.is_file():
            _write_zip(target, prefix, members)
            for old in folder.parent.glob(f"{folder.name}.*.zip"):
                if old != target:
                    old.unlink(missing_ok=True)
        return target


def _package_members(folder: Path, roots: Sequence[Path]) -> list[tuple[str, Path]]:
    members = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name.endswith(".partial"):
            continue
        if entry.name in LEFT_OUT:
            continue
        try:
            members.append((entry.name, servable(entry, roots)))
        except NotServable:
            log.warning(
                "package %s: left %s out of the zip (not a file in the exports)",
                folder.name,
                entry.name,
            )
    return members


def public_metadata(raw: bytes) -> bytes | None:
    """The package's metadata.json as a partner may have it: without the source file's name,
    without names of people, without the player's rendition. None when it is not JSON."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    cleaned = _without_names(data)
    if isinstance(cleaned, dict) and isinstance(cleaned.get("renders"), dict):
        cleaned["renders"].pop(PREVIEW, None)
    return json.dumps(cleaned, ensure_ascii=False, indent=2).encode("utf-8")


def _without_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k not in PRIVATE_KEYS}
    if isinstance(value, list):
        return [_without_names(item) for item in value]
    return value


def _write_zip(target: Path, prefix: str, members: Sequence[tuple[str, Path]]) -> None:
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for name, real in members:
                _add_member(archive, f"{prefix}/{name}", real)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    log.info("packed %s (%d files)", target.name, len(members))


def _add_member(archive: zipfile.ZipFile, arcname: str, real: Path) -> None:
    method = zipfile.ZIP_STORED
    if Path(arcname).suffix.lower() not in STORED_SUFFIXES:
        method = zipfile.ZIP_DEFLATED
    if Path(arcname).name != METADATA:
        archive.write(real, arcname, compress_type=method)
        return
    cleaned = public_metadata(real.read_bytes())
    if cleaned is None:
        log.warning("%s: left %s out of the zip (not JSON)", arcname, METADATA)
        return
    info = zipfile.ZipInfo.from_file(real, arcname)
    info.compress_type = method
    archive.writestr(info, cleaned)


def download_name(view: ClipView, suffix: str) -> str:
    """`clip-12 Title words.vertical.mp4`: the clip, what it says, and what the file is."""
    title = " ".join(_UNSAFE.sub(" ", view.title).split())
    if len(title) > _TITLE_CHARS:
        title = title[:_TITLE_CHARS].rsplit(" ", 1)[0]
    title = title.strip(" .")
    return f"clip-{view.id} {title}{suffix}" if title else f"clip-{view.id}{suffix}"


def content_disposition(filename: str, fallback: str, inline: bool = False) -> str:
    """Both forms (RFC 6266): the exact name as `filename*`, and an ASCII `fallback` for
    clients that only read `filename`."""
    kind = "inline" if inline else "attachment"
    plain = re.sub(r"[^A-Za-z0-9._()-]+", "_", fallback).strip("_") or "download"
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


class MeteredFileResponse(FileResponse):
    """Starlette's FileResponse (Range, If-Range, HEAD) that reports the body bytes it sent,
    after the transfer ends or breaks off."""

    def __init__(self, path: Path, on_sent: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.on_sent = on_sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = 0

        async def counting(message: Message) -> None:
            nonlocal sent
            await send(message)
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            elif message["type"] == "http.response.pathsend":
                sent += os.path.getsize(message["path"])

        try:
            await super().__call__(scope, receive, counting)
        finally:
            if sent:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self.on_sent, sent)
