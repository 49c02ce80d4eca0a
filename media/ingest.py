"""Take footage out of the inbox: probe it, check its sidecar, and file it.

Each entry ends in exactly one place: the library (accepted), `rejected/` with a reason file,
`duplicates/` (the same bytes are already in the library), or still in the inbox when only its
sidecar needs fixing (held) or when it changed while it was being filed (taken next run). One
bad file never stops the others.

An entry that is not a plain file (a symbolic link, a hard link, a named pipe, a device) is never
opened or followed: the entry itself is renamed into `rejected/`. A plain file is opened once;
its hash, its probe and its copy into the library all come from that one descriptor, and the
inbox file goes only once the copy is checked (`media.library`).

Names that are not valid UTF-8 are shown, recorded and set aside under `display_name`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from media.clipfile import CLIPS_SUFFIX, ClipFileError, clip_file_for
from media.errors import NotAFileError, SourceChangedError, UnusableMediaError, display_name
from media.library import (
    SourceFile,
    copy_verified,
    free_name,
    library_dir,
    make_read_only,
    not_a_file_reason,
    open_source,
    replace_keeping_old,
    set_aside,
    sha256_of,
    write_text_atomically,
)
from media.probe import MediaInfo, probe
from media.sidecar import SIDECAR_SUFFIXES, Sidecar, SidecarError, read_sidecar, sidecar_path

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".partial", ".part", ".crdownload", ".download", ".tmp", ".reason.txt")
# Subtitles a person made (`NAME.ru.srt`): not footage; the pipeline files them with theirs.
SUBTITLE_SUFFIXES = (".srt", ".vtt")
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
    """Where one inbox entry went. `source_name` and `reason` are always printable UTF-8
    (`display_name`); so is `path`, except for a held file, which keeps its real name in the
    inbox. `sha256` is empty for an entry that was not read (a link, a pipe)."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    source_name: str
    path: Path
    sha256: str
    reason: str = ""
    info: MediaInfo | None = None
    sidecar: Sidecar | None = None
    fingerprint: str = ""


def pending_files(
    inbox: Path,
    settle_seconds: float = 0.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Path]:
    """Inbox entries to file (links and pipes too, so they can be refused), in the inbox and its
    folders but not hidden ones, except partial downloads, sidecars and clips files, and except
    entries that changed in the last `settle_seconds`: those are still being copied in and are
    taken next time. It waits only when an entry changed that recently, and then only for the
    rest of the quiet period; an inbox that holds nothing new is answered at once."""
    if not inbox.is_dir():
        return []
    candidates = sorted(p for p in _entries(inbox) if _is_footage_candidate(p.name))
    if settle_seconds <= 0 or not candidates:
        return candidates
    before = {p: _state(p) for p in candidates}
    last_change = max((s[-1] for s in before.values() if s is not None), default=0) / 1e9
    quiet_for = clock() - last_change
    if quiet_for < settle_seconds:
        sleep(settle_seconds - max(0.0, quiet_for))
    settled = [p for p in candidates if before[p] is not None and _state(p) == before[p]]
    for path in sorted(set(candidates) - set(settled)):
        log.info("%s is still being copied; it will be taken next time", display_name(path.name))
    return settled


def _entries(folder: Path) -> Iterator[Path]:
    """Everything in `folder` and its sub-folders but the folders themselves; hidden folders and
    links to folders are not entered (a link is an entry like a file)."""
    try:
        with os.scandir(folder) as scan:
            found = list(scan)
    except OSError as exc:
        log.warning("%s cannot be read (%s); its files are not taken", display_name(folder), exc)
        return
    for entry in found:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _entries(Path(entry.path))
        else:
            yield Path(entry.path)


def _state(path: Path) -> tuple[int, int, int, int] | None:
    """What changes while a file is written: size, times and identity; the last is when."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, max(st.st_mtime_ns, st.st_ctime_ns))


def fingerprint(path: Path) -> str:
    """Cheap identity of a file and its sidecar as they stand: path, size and change time."""
    parts = [path]
    sidecar = sidecar_path(path)
    if sidecar is not None:
        parts.append(sidecar)
    stats = [(p, os.lstat(p)) for p in parts]
    return "|".join(f"{display_name(p)}:{st.st_size}:{st.st_mtime_ns}" for p, st in stats)


def _is_footage_candidate(name: str) -> bool:
    name = name.lower()
    return not (
        name.startswith((".", "~$"))
        or name.endswith(IGNORED_SUFFIXES + SIDECAR_SUFFIXES + SUBTITLE_SUFFIXES)
    )


def ingest_file(
    path: Path,
    dirs: WorkspaceDirs,
    is_known: Callable[[str], bool],
    min_duration_ms: int = 0,
    max_duration_ms: int | None = None,
) -> IngestOutcome:
    """File one inbox entry and say where it went and why.

    Raises `SourceChangedError` when the file changes while it is read (nothing is filed; it
    stays in the inbox) and `OSError` when the disk fails.
    """
    source_name = display_name(path.relative_to(dirs.inbox).as_posix())
    reason = not_a_file_reason(os.lstat(path))
    if reason is not None:
        return _set_aside(path, None, dirs, dirs.rejected, source_name, "", "rejected", reason)
    with open_source(path, dirs.inbox) as source:
        sha256 = source.sha256()
        if is_known(sha256):
            return _set_aside(
                path,
                source,
                dirs,
                dirs.duplicates,
                source_name,
                sha256,
                "duplicate",
                "the same footage is already in the library; it was processed once",
            )
        try:
            info = probe(path, source.fd, max_duration_ms)
            if info.duration_ms < min_duration_ms:
                raise UnusableMediaError(path, f"too short to transcribe ({info.duration_ms} ms)")
        except UnusableMediaError as exc:
            return _set_aside(
                path, source, dirs, dirs.rejected, source_name, sha256, "rejected", exc.reason
            )
        return _accept_or_hold(source, source_name, dirs, sha256, info)


def _accept_or_hold(
    source: SourceFile, source_name: str, dirs: WorkspaceDirs, sha256: str, info: MediaInfo
) -> IngestOutcome:
    path = source.path
    sidecar_file = sidecar_path(path)
    try:
        sidecar = read_sidecar(sidecar_file) if sidecar_file else Sidecar()
        _check_clip_file(clip_file_for(path))
    except SidecarError as exc:
        reason = f"{exc}. Fix {display_name(exc.path.name)} in the inbox; the footage waits there."
        return IngestOutcome(
            kind="held",
            source_name=source_name,
            path=path,
            sha256=sha256,
            reason=reason,
            info=info,
            fingerprint=fingerprint(path),
        )
    stored = _store(source, sidecar_file, dirs, sha256)
    return IngestOutcome(
        kind="accepted",
        source_name=source_name,
        path=stored,
        sha256=sha256,
        info=info,
        sidecar=sidecar,
    )


def _check_clip_file(clips: Path) -> None:
    """A clips file beside the footage is moved with it: it must be a plain file too."""
    if os.path.lexists(clips):
        reason = not_a_file_reason(os.lstat(clips))
        if reason is not None:
            raise ClipFileError(clips, None, None, reason)


def ingest_all(
    paths: Iterable[Path],
    dirs: WorkspaceDirs,
    is_known: Callable[[str], bool],
    min_duration_ms: int = 0,
    max_duration_ms: int | None = None,
    on_filed: Callable[[IngestOutcome], object] | None = None,
) -> list[IngestOutcome]:
    """Ingest each file; footage accepted earlier in the same batch counts as known.
    `on_filed` is called as each file is filed, before the next is looked at, so that a crash
    half-way through a batch leaves nothing filed that is not recorded."""
    accepted: set[str] = set()
    outcomes = []
    for path in paths:
        try:
            outcome = ingest_file(
                path,
                dirs,
                lambda sha: is_known(sha) or sha in accepted,
                min_duration_ms,
                max_duration_ms,
            )
        except SourceChangedError as exc:  # still being written, or replaced: next run
            log.warning("%s", exc)
            continue
        except NotAFileError as exc:  # became a link while it was looked at: next run
            log.warning("%s; it stays in the inbox until the next run", exc)
            continue
        except OSError as exc:  # the disk, not the footage: leave it in place, go on
            name = display_name(path.name)
            log.error("%s: could not be filed (%s); it stays in the inbox", name, exc)
            continue
        log.info("%s: %s %s", outcome.source_name, outcome.kind, outcome.reason)
        if outcome.kind == "accepted":
            accepted.add(outcome.sha256)
        if on_filed is not None:
            on_filed(outcome)
        outcomes.append(outcome)
    return outcomes


def _store(source: SourceFile, sidecar_file: Path | None, dirs: WorkspaceDirs, sha256: str) -> Path:
    """Copy the footage into the library, move its sidecar and clips file there, and only then
    remove it from the inbox. A failure on the way leaves the footage in the inbox."""
    folder = library_dir(dirs.library, sha256)
    target = folder / f"original{_library_suffix(source.path)}"
    copied = not (target.is_file() and sha256_of(target) == sha256)  # else: a catalog afresh
    if copied:
        copy_verified(source, target, sha256, read_only=True)
    else:
        make_read_only(target)
    try:
        if sidecar_file is not None:
            replace_keeping_old(sidecar_file, folder / "sidecar.yaml", dirs.inbox)
        clips = clip_file_for(source.path)
        if os.path.lexists(clips):
            replace_keeping_old(clips, folder / LIBRARY_CLIPS_FILE, dirs.inbox)
        source.check_unchanged()
    except Exception:
        if copied:
            target.unlink(missing_ok=True)  # abandoned: the inbox file is taken next run
        raise
    source.remove()
    return target


def _library_suffix(path: Path) -> str:
    """The original's extension, when it is a plain one (`.mp4`); none for anything odd."""
    suffix = path.suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


def _set_aside(
    path: Path,
    source: SourceFile | None,
    dirs: WorkspaceDirs,
    folder: Path,
    source_name: str,
    sha256: str,
    kind: Kind,
    reason: str,
) -> IngestOutcome:
    """Rename the entry (and its sidecar and clips file) into `folder`, with a reason file.
    A file that changed since it was read stays where it is (`SourceChangedError`)."""
    if source is not None:
        source.check_unchanged()
    companions = [p for p in (sidecar_path(path), clip_file_for(path)) if p is not None]
    target = set_aside(path, free_name(folder, display_name(path.name)), dirs.inbox)
    stem = Path(target.name).stem
    for companion in companions:
        if os.path.lexists(companion):
            suffix = CLIPS_SUFFIX if companion.name.endswith(CLIPS_SUFFIX) else companion.suffix
            set_aside(companion, free_name(folder, stem + suffix), dirs.inbox)
    write_text_atomically(
        target.with_name(target.name + ".reason.txt"),
        _reason_text(path, source_name, sha256, kind, reason),
    )
    return IngestOutcome(
        kind=kind, source_name=source_name, path=target, sha256=sha256, reason=reason
    )


def _reason_text(path: Path, source_name: str, sha256: str, kind: Kind, reason: str) -> str:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [f"file: {source_name}"]
    if display_name(path.name) != path.name:
        lines.append(f"name as bytes: {os.fsencode(path.name)!r}")
    lines += [f"sha256: {sha256 or '- (not read: not a plain file)'}", f"{kind}: {stamp}"]
    return "\n".join([*lines, f"reason: {reason}", ""])


def late_clip_files(inbox: Path) -> list[Path]:
    """Clips files dropped on their own, for footage that is already in the library. A link
    is left where it is, with a warning: it is never followed."""
    if not inbox.is_dir():
        return []
    found = []
    for path in sorted(p for p in _entries(inbox) if p.name.endswith(CLIPS_SUFFIX)):
        reason = not_a_file_reason(os.lstat(path))
        if reason is None:
            found.append(path)
        else:
            log.warning("%s %s", display_name(path.name), reason)
    return found


def file_clip_file(clip_file: Path, library_folder: Path) -> Path:
    return replace_keeping_old(clip_file, library_folder / LIBRARY_CLIPS_FILE)
