"""Where originals live: content-addressed, byte for byte, read-only.

An inbox file is never linked into the library: it is opened once (never through a symbolic
link), hashed, copied from that one descriptor into a partial file, flushed to disk and read back;
only when the copy's hash is the one computed while copying, and the source did not change
meanwhile, does the copy take its name and the inbox file go. A copier still writing to the inbox
file therefore never writes into the library.

Entries that are not plain files (symbolic links, hard links to a file elsewhere, named pipes,
devices) are never opened or followed: `set_aside` renames the entry itself.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from media.errors import NotAFileError, SourceChangedError

log = logging.getLogger(__name__)

CHUNK = 1 << 20
LINK_FIX = "copy the file itself into the inbox, not a link"
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def library_dir(library: Path, sha256: str) -> Path:
    return library / sha256[:2] / sha256


def not_a_file_reason(st: os.stat_result, hard_links: bool = False) -> str | None:
    """Why an entry (as `os.lstat` saw it) is not a plain file voices may read; None if it is.
    A file with other names (a hard link) is refused unless `hard_links`: in the inbox such a
    name can reach any file on the disk, while in the library a backup may have made it."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return f"is a symbolic link; voices does not follow links: {LINK_FIX}"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "is a pipe or socket, not a file: copy the recording itself into the inbox"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file: copy the recording itself into the inbox"
    if not stat.S_ISREG(mode):
        return "is not a plain file: copy the recording itself into the inbox"
    if st.st_nlink > 1 and not hard_links:
        return (
            f"is a hard link: the same file also has {st.st_nlink - 1} other name(s) elsewhere "
            f"on the disk; {LINK_FIX}"
        )
    return None


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_nlink)


@dataclass(frozen=True)
class SourceFile:
    """A file opened once, without following links; everything is read from `fd`. `folder`
    is a descriptor of the folder that holds it (as `name`), so it is checked and removed
    there even if a folder on its path is swapped for a link meanwhile."""

    path: Path
    fd: int
    opened: os.stat_result
    folder: int
    name: str

    @property
    def size(self) -> int:
        return self.opened.st_size

    def sha256(self) -> str:
        digest = hashlib.sha256()
        offset = 0
        while chunk := os.pread(self.fd, CHUNK, offset):
            digest.update(chunk)
            offset += len(chunk)
        return digest.hexdigest()

    def check_unchanged(self) -> None:
        """Raise `SourceChangedError` unless the file is as it was when opened (size, times,
        links) and its name still names it."""
        now = os.fstat(self.fd)
        if _identity(now) != _identity(self.opened):
            raise SourceChangedError(self.path, "it was written to or changed")
        try:
            named = os.stat(self.name, dir_fd=self.folder, follow_symlinks=False)
        except FileNotFoundError as exc:
            raise SourceChangedError(self.path, "it was moved or deleted") from exc
        if (named.st_dev, named.st_ino) != (now.st_dev, now.st_ino):
            raise SourceChangedError(self.path, "it was replaced by another file")

    def remove(self) -> None:
        """Delete the file from where it was, if it is still the file that was read."""
        self.check_unchanged()
        os.unlink(self.name, dir_fd=self.folder)


@contextmanager
def folder_of(path: Path, root: Path | None = None) -> Iterator[int]:
    """A descriptor of the folder holding `path`. From `root` (a folder above it) down, no
    link is followed: a folder replaced by a link raises `SourceChangedError`."""
    below = path.parent.relative_to(root).parts if root is not None else ()
    fd = os.open(root if root is not None else path.parent, _FOLDER_FLAGS)
    try:
        for part in below:
            try:
                inner = os.open(part, _FOLDER_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                    raise
                raise SourceChangedError(path, "a folder it is in was moved or linked") from exc
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


@contextmanager
def open_source(path: Path, root: Path | None = None) -> Iterator[SourceFile]:
    """Open a plain file for reading, never through a link (nor through a linked folder below
    `root`). Raises `NotAFileError` (the entry is left untouched) for a symbolic link, a hard
    link, a pipe or a device."""
    with folder_of(path, root) as folder:
        before = os.stat(path.name, dir_fd=folder, follow_symlinks=False)
        reason = not_a_file_reason(before)
        if reason is not None:
            raise NotAFileError(path, reason)
        try:
            fd = os.open(path.name, _OPEN_FLAGS, dir_fd=folder)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # became a link since the look above
                raise NotAFileError(path, f"is a symbolic link; {LINK_FIX}") from exc
            raise
        try:
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
                raise SourceChangedError(path, "it was replaced by another file")
            reason = not_a_file_reason(opened)
            if reason is not None:
                raise NotAFileError(path, reason)
            yield SourceFile(path, fd, opened, folder, path.name)
        finally:
            os.close(fd)


def copy_verified(source: SourceFile, target: Path, sha256: str, read_only: bool = False) -> Path:
    """Copy `source` to `target` (which must not exist) from its one descriptor: written to a
    partial file, flushed, and read back. `sha256` is what `source` hashed to before; bytes that
    differ now, or a source that changed during the copy, raise `SourceChangedError` and leave
    nothing behind. A read-back that differs (a failing disk) raises `OSError` (EIO)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "will not overwrite", str(target))
    with atomic_output(target) as partial:
        partial.unlink(missing_ok=True)  # left by a crash
        copied = _copy_from(source.fd, partial, 0o444 if read_only else 0o644)
        source.check_unchanged()
        if copied != sha256:
            raise SourceChangedError(source.path, "its bytes changed since they were checked")
        if _sha256_from_disk(partial) != copied:
            raise OSError(
                errno.EIO, "copy does not match the original; the source was kept", str(target)
            )
    _sync_folder(target.parent)
    return target


def _copy_from(fd: int, partial: Path, mode: int) -> str:
    """Copy all of `fd` to a new file `partial`, flushed to disk; the SHA-256 of what was read."""
    digest = hashlib.sha256()
    out = os.open(
        partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
    )
    with open(out, "wb") as handle:
        offset = 0
        while chunk := os.pread(fd, CHUNK, offset):
            digest.update(chunk)
            handle.write(chunk)
            offset += len(chunk)
        handle.flush()
        os.fchmod(handle.fileno(), mode)
        os.fsync(handle.fileno())
    return digest.hexdigest()


def _sha256_from_disk(path: Path) -> str:
    """Hash `path` as the disk has it, not as the page cache remembers the writes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        digest = hashlib.sha256()
        offset = 0
        while chunk := os.pread(fd, CHUNK, offset):
            digest.update(chunk)
            offset += len(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """Make a new name in `folder` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_intact(
    source: Path, target: Path, sha256: str | None = None, root: Path | None = None
) -> Path:
    """Move the plain file `source` to `target` without changing a byte: copied from one
    descriptor, checked, and only then removed from where it was. Never overwrites `target`;
    `sha256`, when given, is what `source` must still hash to. Below `root`, no link is
    followed on the way to `source`."""
    with open_source(source, root) as opened:
        copy_verified(opened, target, sha256 or opened.sha256())
        opened.remove()
    return target


def set_aside(entry: Path, target: Path, root: Path | None = None) -> Path:
    """Move an inbox entry of any kind (a file, a symbolic link, a pipe) to `target` by renaming
    the entry itself: a link is moved, never what it points to (nor is a linked folder below
    `root` followed on the way to it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "will not overwrite", str(target))
    with folder_of(entry, root) as folder:
        try:
            os.rename(entry.name, target, src_dir_fd=folder)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _set_aside_across_disks(entry, target, folder)
    return target


def _set_aside_across_disks(entry: Path, target: Path, folder: int) -> None:
    st = os.stat(entry.name, dir_fd=folder, follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(entry.name, dir_fd=folder), target)
        os.unlink(entry.name, dir_fd=folder)
    elif not_a_file_reason(st) is None:
        move_intact(entry, target)
    else:
        raise OSError(errno.EXDEV, "cannot be moved to another disk; it stays", str(entry))


def free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem (2).ext` and so on when that name is taken."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    count = 2
    while os.path.lexists(candidate):
        candidate = folder / f"{stem} ({count}){suffix}"
        count += 1
    return candidate


def make_read_only(path: Path) -> None:
    path.chmod(0o444)


def replace_keeping_old(source: Path, target: Path, root: Path | None = None) -> Path:
    """Move `source` to `target` (`move_intact`); an existing `target` is kept beside it with a
    date in its name (renamed: it is the library's own file)."""
    if os.path.lexists(target):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(target.lstat().st_mtime))
        os.rename(target, free_name(target.parent, f"{target.stem}.{stamp}{target.suffix}"))
    return move_intact(source, target, root=root)


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
