"""Where originals live: content-addressed, byte for byte, read-only.

Files are moved, never rewritten: a rename on the same disk, else a copy that is checked
against its hash before the source is removed.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def library_dir(library: Path, sha256: str) -> Path:
    return library / sha256[:2] / sha256


def move_intact(source: Path, target: Path, sha256: str | None = None) -> Path:
    """Move `source` to `target` without changing a byte; never overwrite an existing file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise FileExistsError(errno.EEXIST, "will not overwrite", str(target))
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        _copy_checked(source, target, sha256 or sha256_of(source))
    source.unlink()
    return target


def _copy_checked(source: Path, target: Path, sha256: str) -> None:
    """Copy across disks: on disk and checked against the hash before it takes its name."""
    with atomic_output(target) as partial:
        shutil.copy2(source, partial)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        if sha256_of(partial) != sha256:
            raise OSError(
                errno.EIO, "copy does not match the original; the source was kept", str(source)
            )


def free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem (2).ext` and so on when that name is taken."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    count = 2
    while candidate.exists():
        candidate = folder / f"{stem} ({count}){suffix}"
        count += 1
    return candidate


def make_read_only(path: Path) -> None:
    path.chmod(0o444)


def replace_keeping_old(source: Path, target: Path) -> Path:
    """Move `source` to `target`; an existing `target` is kept beside it with a date in its name."""
    if target.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(target.stat().st_mtime))
        move_intact(target, free_name(target.parent, f"{target.stem}.{stamp}{target.suffix}"))
    return move_intact(source, target)


def partial_path(target: Path) -> Path:
    """Where `target` is written until it is complete: beside it, with its extension kept
    (ffmpeg takes the format from it)."""
    return target.with_name(f"{target.stem}.partial{target.suffix}")


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Write to the path this yields; it becomes `target` when the block succeeds and is
    removed when it fails, so `target` is never half written."""
    partial = partial_path(target)
    try:
        yield partial
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def write_text_atomically(target: Path, text: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target) as partial:
        partial.write_text(text, encoding="utf-8")
    return target
