"""A folder as a channel: a synced drive, a partner's share or a TV station's drop folder.

A clip lands as ``<clip id>-<slug of title>.mp4`` beside its thumbnail, its subtitles
(``….<language>.srt``) and ``….json`` metadata. Every file is written under a hidden
``.….partial`` name in the same folder, flushed to disk and renamed, so a watcher never picks up
half a file. The metadata JSON is written last and carries the marker: it is what
`find_existing` looks for, so a copy cut short is redone and a finished one is never repeated.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from catalog.models import UploadSession
from channels.base import PublishRequest, RemoteResult, SaveSession
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
        for metadata_path in sorted(self.target.glob(f"{request.clip_id}-*.json")):
            try:
                metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                log.warning("%s: skipping unreadable %s: %s", self.name, metadata_path.name, exc)
                continue
            if not isinstance(metadata, dict) or metadata.get("marker") != request.marker:
                continue
            files = metadata.get("files")
            name = files.get("video") if isinstance(files, dict) else None
            if isinstance(name, str) and (self.target / Path(name).name).is_file():
                return _result(self.target / Path(name).name)
        return None

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
