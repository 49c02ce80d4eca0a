"""A folder as a channel: a synced drive, a partner's share or a TV station's drop folder.

A clip lands as ``<clip id>-<slug of title>.mp4`` beside its thumbnail, its subtitles
(``….<language>.srt``) and ``….json`` metadata. Every file is written under a hidden
``.….partial`` name in the same folder, flushed to disk and renamed, so a watcher never picks up
half a file. The metadata JSON is written last and carries the marker: it is what
`find_existing` looks for, so a copy cut short is redone and a finished one is never repeated.
`take_down` removes exactly the files that JSON names (and the JSON last), nothing else.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from catalog.models import UploadSession
from channels.base import (
    PublishRequest,
    RemoteResult,
    SaveSession,
    TakedownRequest,
    TakedownResult,
)
from channels.errors import InvalidRequestError, TransientChannelError

log = logging.getLogger(__name__)

COPY_CHUNK_BYTES = 1024 * 1024
SLUG_MAX_CHARS = 60


class FolderChannel:
    """Copies clips into `target`; `name` tells several folders apart in the ledger."""

    schedules_remotely = False
    finds_existing = True
    max_upload_bytes: int | None = None

    def __init__(self, target: Path, *, name: str = "folder") -> None:
        self.name = name
        self.target = Path(target)

    def close(self) -> None:
        """Nothing to release: a folder has no client."""

    def check(self) -> str:
        """The folder, if it exists and takes files; else an error with the fix."""
        self._check_target()
        return str(self.target)

    def find_existing(self, request: PublishRequest) -> RemoteResult | None:
        """The clip's earlier copy: a ``<clip id>-*.json`` holding `request.marker`, if any."""
        self._check_target()
        for _, metadata in self._copies(request.clip_id, request.marker):
            files = metadata.get("files")
            name = files.get("video") if isinstance(files, dict) else None
            if isinstance(name, str) and (self.target / Path(name).name).is_file():
                return _result(self.target / Path(name).name)
        return None

    def take_down(self, request: TakedownRequest) -> TakedownResult:
        """Remove every file `publish` wrote for this clip: those named by its metadata JSON
        (found by clip id and marker), then the JSON, so a removal cut short is finished by the
        next call. Files of other clips, and files no copy names, are left alone."""
        where = f"{self.name}: taking down clip {request.clip_id}"
        if not self.target.is_dir():
            raise TransientChannelError(
                f"{where}: the folder {self.target} is not there; check that the drive is "
                "mounted, then try again"
            )
        removed: list[str] = []
        for metadata_path, metadata in self._copies(request.clip_id, request.marker):
            for path in [*_written_files(metadata_path, metadata), metadata_path]:
                self._remove(where, path, removed, metadata_path.stem)
        if removed:
            _fsync_directory(self.target)
        answer = f"removed {', '.join(removed)}" if removed else "no copy with its marker here"
        if unclaimed := self._unclaimed(request.clip_id):
            answer += f"; files no copy names, for a person to check: {', '.join(unclaimed)}"
        log.info("%s: clip %d taken down: %s", self.name, request.clip_id, answer)
        return TakedownResult(status="deleted" if removed else "already_gone", answer=answer)

    def _copies(self, clip_id: int, marker: str) -> Iterator[tuple[Path, dict[str, Any]]]:
        """(path, content) of each ``<clip id>-*.json`` metadata file holding `marker`."""
        for metadata_path in sorted(self.target.glob(f"{clip_id}-*.json")):
            try:
                metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                log.warning("%s: skipping unreadable %s: %s", self.name, metadata_path.name, exc)
                continue
            if isinstance(metadata, dict) and metadata.get("marker") == marker:
                yield metadata_path, metadata

    def _remove(self, where: str, path: Path, removed: list[str], base: str) -> None:
        try:
            if path.exists():
                path.unlink()
                removed.append(path.name)
        except OSError as exc:
            done = f" (removed so far: {', '.join(removed)})" if removed else ""
            raise TransientChannelError(
                f"{where}: could not remove {path} ({exc.strerror or exc}){done}; check that "
                f"the drive is mounted and writable and try again, or delete the files named "
                f"'{base}.*' there by hand"
            ) from exc

    def _unclaimed(self, clip_id: int) -> list[str]:
        """Files named for this clip that no metadata JSON names (a copy cut short, or not
        ours): never removed, only reported."""
        claimed: set[str] = set()
        for metadata_path in self.target.glob(f"{clip_id}-*.json"):
            try:
                metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(metadata, dict):
                claimed |= {p.name for p in _written_files(metadata_path, metadata)}
                claimed.add(metadata_path.name)
        return sorted(p.name for p in self.target.glob(f"{clip_id}-*") if p.name not in claimed)

    def publish(
        self, request: PublishRequest, session: UploadSession | None, save_session: SaveSession
    ) -> RemoteResult:
        """Copy the clip's files, then its metadata; a clip already there is left as it is.

        `session` is unused: a copy cut short is simply made again.
        """
        existing = self.find_existing(request)
        if existing is not None:
            log.info("%s: clip %d is already there as %s", self.name, request.clip_id,
                     existing.remote_id)  # fmt: skip
            return existing
        base = f"{request.clip_id}-{slugify(request.title)}"
        files: dict[str, Any] = {
            "video": self._place(request, "video", request.video, base, ".mp4"),
        }
        if request.thumbnail is not None:
            files["thumbnail"] = self._place(request, "thumbnail", request.thumbnail, base, ".jpg")
        subtitles: dict[str, dict[str, str]] = {}
        for language, formats in sorted(request.subtitles.items()):
            for fmt, path in (("srt", formats.srt), ("vtt", formats.vtt)):
                stem = f"{base}.{slugify(language, 16)}"
                placed = self._place(request, f"{language} subtitles", path, stem, f".{fmt}")
                subtitles.setdefault(language, {})[fmt] = placed
        if subtitles:
            files["subtitles"] = subtitles
        metadata = json.dumps(_metadata(request, files), ensure_ascii=False, indent=2) + "\n"
        self._write(request, self.target / f"{base}.json", lambda out: out.write(metadata.encode()))
        log.info("%s: clip %d copied to %s as %s", self.name, request.clip_id, self.target,
                 files["video"])  # fmt: skip
        return _result(self.target / files["video"])

    def _check_target(self) -> None:
        if not self.target.is_dir():
            raise InvalidRequestError(
                f"{self.name}: the folder {self.target} does not exist; create it, or check that "
                "the drive is mounted"
            )
        if not os.access(self.target, os.W_OK | os.X_OK):
            raise InvalidRequestError(
                f"{self.name}: cannot write to {self.target}; give this user write access, or "
                "check that the drive is not mounted read-only"
            )

    def _place(self, request: PublishRequest, what: str, source: Path, stem: str, ext: str) -> str:
        """Copy `source` into the folder as `stem` + its own extension (or `ext`); the name."""
        if not source.is_file():
            raise InvalidRequestError(
                f"{self.name}: clip {request.clip_id}'s {what} {source} is missing; render the "
                "clip again"
            )
        suffix = source.suffix.lower() if re.fullmatch(r"\.\w{1,8}", source.suffix) else ext
        dest = self.target / f"{stem}{suffix}"

        def copy(out: IO[bytes]) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, out, COPY_CHUNK_BYTES)

        self._write(request, dest, copy)
        return dest.name

    def _write(self, request: PublishRequest, dest: Path, fill: Callable[[IO[bytes]], Any]) -> None:
        """Write `dest` atomically: a hidden partial file, flushed to disk, then renamed."""
        partial = dest.with_name(f".{dest.name}.partial")
        try:
            with partial.open("wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, dest)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise self._write_error(request, dest, exc) from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        _fsync_directory(dest.parent)

    def _write_error(self, request: PublishRequest, dest: Path, exc: OSError) -> Exception:
        where = f"{self.name}: clip {request.clip_id} could not be written as {dest}"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return InvalidRequestError(f"{where}: the drive is full; free some space on it")
        return TransientChannelError(
            f"{where} ({exc.strerror or exc}); check that the drive is mounted and writable"
        )


def slugify(text: str, max_chars: int = SLUG_MAX_CHARS) -> str:
    """Lower-case words joined by "-"; letters of every script are kept ("Сайлоо 2025" stays)."""
    words = re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", text).lower())
    return "-".join(words)[:max_chars].strip("-") or "clip"


def _metadata(request: PublishRequest, files: dict[str, Any]) -> dict[str, Any]:
    """What a partner needs beside the video; the same clip always gives the same file."""
    return {
        "clip_id": request.clip_id,
        "title": request.title,
        "description": request.description,
        "tags": list(request.tags),
        "language": request.language,
        "made_for_kids": request.made_for_kids,
        "publish_at": request.publish_at.isoformat() if request.publish_at else None,
        "marker": request.marker,
        "files": files,
    }


def _written_files(metadata_path: Path, metadata: dict[str, Any]) -> list[Path]:
    """The files a metadata JSON names that `publish` could have written beside it: plain names
    starting with the JSON's own ``<clip id>-<slug>.`` (a name edited to point elsewhere, into
    another clip or out of the folder, is skipped)."""
    files = metadata.get("files")
    if not isinstance(files, dict):
        return []
    names = [files.get("video"), files.get("thumbnail")]
    subtitles = files.get("subtitles")
    for formats in subtitles.values() if isinstance(subtitles, dict) else ():
        names += formats.values() if isinstance(formats, dict) else ()
    prefix = f"{metadata_path.stem}."
    found = []
    for name in names:
        if not isinstance(name, str):
            continue
        if Path(name).name != name or not name.startswith(prefix) or name == metadata_path.name:
            log.warning("%s names %r, not a file written for it: left alone", metadata_path, name)
            continue
        found.append(metadata_path.with_name(name))
    return found


def _result(video: Path) -> RemoteResult:
    return RemoteResult(remote_id=video.name, url=video.resolve().as_uri())


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; some network and Windows file systems cannot."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # EINVAL on some FUSE and SMB mounts: the data itself is synced
        log.debug("cannot fsync the folder %s: %s", directory, exc)
    finally:
        os.close(fd)
