"""Paths in the catalog become relative to the workspace folder, so a moved workspace works.

The first release stored absolute paths. Each one becomes a POSIX path relative to the
workspace: directly when it lies under the workspace; otherwise (the workspace was moved before
this ran) relative to the folder it used to be in, found from the library paths: the part before
the workspace's own `library/` folder. Relative paths are left as they are, so running this
again changes nothing. A path that fits neither rule is left as it is, with a warning naming
its row.

Downgrade makes them absolute again, under the workspace given to the downgrade.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


log = logging.getLogger("catalog.migrations")

# The workspace's own folders (media.ingest, pipeline): every path the catalog keeps is in one.
TOP_FOLDERS = frozenset(
    {"inbox", "library", "rejected", "duplicates", "transcripts", "subtitles", "clips", "packages"}
)

# Plain path columns, per table.
PATH_COLUMNS = {
    "footage": ("path", "library_path"),
    "transcripts": ("path",),
    "subtitle_tracks": ("srt_path", "vtt_path"),
    "clips": ("thumbnail", "package"),
}

Convert = Callable[[str, str], str]


def upgrade() -> None:
    workspace = _workspace("upgrade")
    bind = op.get_bind()
    roots = _workspace_roots(workspace)
    old_root = _old_root(bind, roots)
    if old_root is not None:
        log.warning("catalog: the workspace was at %s; paths are made relative to it", old_root)

    def convert(value: str, where: str) -> str:
        return _relative(value, where, roots, old_root)

    _rewrite(bind, convert)


def downgrade() -> None:
    workspace = _workspace("downgrade").absolute()

    def convert(value: str, where: str) -> str:
        path = PurePosixPath(value)
        return value if path.is_absolute() else str(workspace / path)

    _rewrite(op.get_bind(), convert)


def _workspace(what: str) -> Path:
    workspace = context.config.attributes.get("workspace")
    if workspace is None:
        raise RuntimeError(
            f"the catalog's revision 0002 (workspace-relative paths) needs the workspace folder "
            f"to {what}: open the catalog with its workspace (catalog.schema.upgrade(engine, "
            f"workspace))"
        )
    return Path(workspace)


def _workspace_roots(workspace: Path) -> list[PurePosixPath]:
    """The workspace as given and with links resolved: stored paths may use either."""
    roots = [PurePosixPath(workspace.absolute()), PurePosixPath(workspace.resolve())]
    return list(dict.fromkeys(roots))


def _old_root(bind: sa.Connection, roots: list[PurePosixPath]) -> PurePosixPath | None:
    """Where the workspace used to be: the commonest folder just above `library/`."""
    footage = sa.table("footage", sa.column("library_path", sa.Text))
    found: Counter[PurePosixPath] = Counter()
    for (value,) in bind.execute(sa.select(footage.c.library_path)):
        if not value:
            continue
        path = PurePosixPath(value)
        if not path.is_absolute() or _under(path, roots) is not None:
            continue
        # The longest: the library's own subfolders are hashes, never called "library".
        prefixes = [p for p, top in _prefixes(path) if top == "library"]
        if prefixes:
            found[prefixes[0]] += 1
    return found.most_common(1)[0][0] if found else None


def _prefixes(path: PurePosixPath) -> list[tuple[PurePosixPath, str]]:
    """(folder, top) for each folder of `path` whose next part is a workspace folder, longest
    first; the part after the workspace folder must not be the file itself."""
    parts = path.parts
    return [
        (PurePosixPath(*parts[:i]), parts[i])
        for i in range(len(parts) - 2, 0, -1)
        if parts[i] in TOP_FOLDERS
    ]


def _under(path: PurePosixPath, roots: Iterable[PurePosixPath]) -> PurePosixPath | None:
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root)
    return None


def _relative(
    value: str, where: str, roots: list[PurePosixPath], old_root: PurePosixPath | None
) -> str:
    path = PurePosixPath(value)
    if not path.is_absolute():
        return value
    inside = _under(path, roots)
    if inside is not None:
        return inside.as_posix()
    if old_root is not None and path.is_relative_to(old_root):
        rest = path.relative_to(old_root)
        if rest.parts and rest.parts[0] in TOP_FOLDERS:
            return rest.as_posix()
    prefixes = _prefixes(path)
    if prefixes:
        return path.relative_to(prefixes[0][0]).as_posix()
    log.warning(
        "catalog: %s is %s, outside the workspace and in none of its folders; left as it is",
        where,
        value,
    )
    return value


def _rewrite(bind: sa.Connection, convert: Convert) -> None:
    """Pass every stored path through `convert(value, where)`; write the rows that change."""
    for name, columns in PATH_COLUMNS.items():
        table = sa.table(name, sa.column("id", sa.Integer), *(sa.column(c) for c in columns))
        for row in bind.execute(sa.select(table)).mappings().all():
            changes = {
                column: convert(row[column], f"{name} {row['id']} {column}")
                for column in columns
                if row[column]
            }
            changes = {k: v for k, v in changes.items() if v != row[k]}
            if changes:
                bind.execute(table.update().where(table.c.id == row["id"]).values(**changes))

    clips = sa.table(
        "clips",
        sa.column("id", sa.Integer),
        sa.column("renders", sa.JSON),
        sa.column("subtitles", sa.JSON),
    )
    for row in bind.execute(sa.select(clips)).mappings().all():
        where = f"clips {row['id']}"
        renders = _rewrite_files(row["renders"], ("path",), f"{where} renders", convert)
        subtitles = _rewrite_files(row["subtitles"], ("srt", "vtt"), f"{where} subtitles", convert)
        if renders != row["renders"] or subtitles != row["subtitles"]:
            bind.execute(
                clips.update()
                .where(clips.c.id == row["id"])
                .values(renders=renders, subtitles=subtitles)
            )


def _rewrite_files(value: Any, keys: tuple[str, ...], where: str, convert: Convert) -> Any:
    """{name: {key: path, ...}} with each `keys` path converted; anything else kept as it is."""
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for name, entry in value.items():
        if isinstance(entry, dict):
            entry = {
                k: convert(v, f"{where}.{name}.{k}")
                if k in keys and isinstance(v, str) and v
                else v
                for k, v in entry.items()
            }
        result[name] = entry
    return result
