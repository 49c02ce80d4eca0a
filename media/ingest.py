"""Take footage out of the inbox: probe it, check its sidecar, and file it.

Each file ends in exactly one place: the library (accepted), `rejected/` with a reason file,
`duplicates/` (the same bytes are already in the library), or still in the inbox when only its
sidecar needs fixing (held). One bad file never stops the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from media.clipfile import CLIPS_SUFFIX, clip_file_for
from media.errors import UnusableMediaError
from media.library import (
    free_name,
    library_dir,
    make_read_only,
    move_intact,
    replace_keeping_old,
    sha256_of,
)
from media.probe import MediaInfo, probe
from media.sidecar import SIDECAR_SUFFIXES, Sidecar, SidecarError, read_sidecar, sidecar_path

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".partial", ".part", ".crdownload", ".download", ".tmp", ".reason.txt")
Kind = Literal["accepted", "rejected", "duplicate", "held"]
LIBRARY_CLIPS_FILE = "clips.yaml"


class WorkspaceDirs(BaseModel):
    model_config = ConfigDict(frozen=True)

    inbox: Path
    library: Path
    rejected: Path
    duplicates: Path

    @classmethod
    def under(cls, workspace: Path) -> WorkspaceDirs:
        return cls(
            inbox=workspace / "inbox",
            library=workspace / "library",
            rejected=workspace / "rejected",
            duplicates=workspace / "duplicates",
        )


class IngestOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    source_name: str
    path: Path
    sha256: str
    reason: str = ""
    info: MediaInfo | None = None
    sidecar: Sidecar | None = None
    fingerprint: str = ""


def pending_files(inbox: Path, settle_seconds: float = 0.0) -> list[Path]:
    """Files in the inbox (and its folders) that are complete: their size stopped changing."""
    if not inbox.is_dir():
        return []
    candidates = sorted(p for p in inbox.rglob("*") if p.is_file() and _is_footage_candidate(p))
    if settle_seconds <= 0 or not candidates:
        return candidates
    sizes = {p: p.stat().st_size for p in candidates}
    time.sleep(settle_seconds)
    settled = [p for p in candidates if p.exists() and p.stat().st_size == sizes[p]]
    for path in set(candidates) - set(settled):
        log.info("%s is still being copied; it will be taken next time", path.name)
    return settled


def fingerprint(path: Path) -> str:
    """Cheap identity of a file and its sidecar as they stand: path, size and change time."""
    parts = [path]
    sidecar = sidecar_path(path)
    if sidecar is not None:
        parts.append(sidecar)
    return "|".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in parts)


def _is_footage_candidate(path: Path) -> bool:
    name = path.name.lower()
    if name.startswith((".", "~$")) or name.endswith(IGNORED_SUFFIXES + SIDECAR_SUFFIXES):
        return False
    return not any(part.startswith(".") for part in path.parent.parts)


def ingest_file(
    path: Path, dirs: WorkspaceDirs, is_known: Callable[[str], bool], min_duration_ms: int = 0
) -> IngestOutcome:
    """File one inbox entry and say where it went and why."""
    source_name = path.relative_to(dirs.inbox).as_posix()
    sha256 = sha256_of(path)
    sidecar_file = sidecar_path(path)
    if is_known(sha256):
        return _set_aside(
            path,
            sidecar_file,
            dirs.duplicates,
            source_name,
            sha256,
            "duplicate",
            "the same footage is already in the library; it was processed once",
        )
    try:
        info = probe(path)
        if info.duration_ms < min_duration_ms:
            raise UnusableMediaError(path, f"too short to transcribe ({info.duration_ms} ms)")
    except UnusableMediaError as exc:
        return _set_aside(
            path, sidecar_file, dirs.rejected, source_name, sha256, "rejected", exc.reason
        )
    try:
        sidecar = read_sidecar(sidecar_file) if sidecar_file else Sidecar()
    except SidecarError as exc:
        reason = f"{exc}. Fix {exc.path.name} in the inbox; the footage waits there."
        return IngestOutcome(
            kind="held",
            source_name=source_name,
            path=path,
            sha256=sha256,
            reason=reason,
            info=info,
            fingerprint=fingerprint(path),
        )
    stored = _store(path, sidecar_file, dirs.library, sha256)
    return IngestOutcome(
        kind="accepted",
        source_name=source_name,
        path=stored,
        sha256=sha256,
        info=info,
        sidecar=sidecar,
    )


def ingest_all(
    paths: Iterable[Path],
    dirs: WorkspaceDirs,
    is_known: Callable[[str], bool],
    min_duration_ms: int = 0,
) -> list[IngestOutcome]:
    """Ingest each file; footage accepted earlier in the same batch counts as known."""
    accepted: set[str] = set()
    outcomes = []
    for path in paths:
        try:
            outcome = ingest_file(
                path, dirs, lambda sha: is_known(sha) or sha in accepted, min_duration_ms
            )
        except OSError as exc:  # the disk, not the footage: leave it in place, go on
            log.error("%s: could not be filed (%s); it stays in the inbox", path.name, exc)
            continue
        log.info("%s: %s %s", outcome.source_name, outcome.kind, outcome.reason)
        if outcome.kind == "accepted":
            accepted.add(outcome.sha256)
        outcomes.append(outcome)
    return outcomes


def _store(path: Path, sidecar_file: Path | None, library: Path, sha256: str) -> Path:
    folder = library_dir(library, sha256)
    target = folder / f"original{path.suffix.lower()}"
    if target.is_file() and sha256_of(target) == sha256:
        path.unlink()  # the same bytes are already there (a catalog started afresh)
    else:
        move_intact(path, target, sha256)
    make_read_only(target)
    if sidecar_file is not None:
        replace_keeping_old(sidecar_file, folder / "sidecar.yaml")
    clips = clip_file_for(path)
    if clips.is_file():
        replace_keeping_old(clips, folder / LIBRARY_CLIPS_FILE)
    return target


def _set_aside(
    path: Path,
    sidecar_file: Path | None,
    folder: Path,
    source_name: str,
    sha256: str,
    kind: Kind,
    reason: str,
) -> IngestOutcome:
    target = move_intact(path, free_name(folder, path.name))
    if sidecar_file is not None:
        move_intact(sidecar_file, free_name(folder, target.stem + sidecar_file.suffix))
    if clip_file_for(path).is_file():
        move_intact(clip_file_for(path), free_name(folder, target.stem + CLIPS_SUFFIX))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    target.with_name(target.name + ".reason.txt").write_text(
        f"file: {source_name}\nsha256: {sha256}\n{kind}: {stamp}\nreason: {reason}\n",
        encoding="utf-8",
    )
    return IngestOutcome(
        kind=kind, source_name=source_name, path=target, sha256=sha256, reason=reason
    )


def late_clip_files(inbox: Path) -> list[Path]:
    """Clips files dropped on their own, for footage that is already in the library."""
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.rglob(f"*{CLIPS_SUFFIX}") if p.is_file())


def file_clip_file(clip_file: Path, library_folder: Path) -> Path:
    return replace_keeping_old(clip_file, library_folder / LIBRARY_CLIPS_FILE)
