"""Baseline: the catalog exactly as the first release (commit a47d6f9) created it.

Never edit this file. Every catalog made by the first release is stamped at this revision
without running it, so it must keep meaning what that release wrote; later changes go in new
revisions. The unique constraints are unnamed, as SQLAlchemy wrote them then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def footage() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("library_path", sa.Text(), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("consent", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("clips_key", sa.String(64), nullable=False),
        sa.Column("media_info", sa.JSON(), nullable=False),
        sa.Column("sidecar", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def transcripts() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("footage_id", sa.Integer(), nullable=False),
        sa.Column("settings_key", sa.String(64), nullable=False),
        sa.Column("task", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    ]


def subtitle_tracks() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("footage_id", sa.Integer(), nullable=False),
        sa.Column("transcript_id", sa.Integer(), nullable=False),
        sa.Column("rules_key", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("srt_path", sa.Text(), nullable=False),
        sa.Column("vtt_path", sa.Text(), nullable=False),
        sa.Column("cues", sa.Integer(), nullable=False),
        sa.Column("rule_violations", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    ]


def clips() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("footage_id", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.Integer(), nullable=False),
        sa.Column("end_ms", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("renders", sa.JSON(), nullable=False),
        sa.Column("subtitles", sa.JSON(), nullable=False),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.Column("package", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("publish_at", sa.DateTime(), nullable=True),
    ]


def publications() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("marker", sa.String(64), nullable=False),
        sa.Column("remote_id", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("session", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def partners() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False, info={"fill": "[]"}),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    ]


def downloads() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    ]


def create_footage() -> None:
    op.create_table("footage", *footage(), sa.PrimaryKeyConstraint("id"))
    # The same bytes are accepted into the library once.
    op.create_index(
        "uq_footage_library_sha",
        "footage",
        ["sha256"],
        unique=True,
        sqlite_where=sa.text("library_path IS NOT NULL"),
        postgresql_where=sa.text("library_path IS NOT NULL"),
    )
    op.create_index("ix_footage_sha256", "footage", ["sha256"])
    op.create_index("ix_footage_status", "footage", ["status"])


def create_transcripts() -> None:
    op.create_table(
        "transcripts",
        *transcripts(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("footage_id", "settings_key"),
        sa.ForeignKeyConstraint(["footage_id"], ["footage.id"]),
    )
    op.create_index("ix_transcripts_footage_id", "transcripts", ["footage_id"])


def create_subtitle_tracks() -> None:
    op.create_table(
        "subtitle_tracks",
        *subtitle_tracks(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transcript_id", "rules_key"),
        sa.ForeignKeyConstraint(["footage_id"], ["footage.id"]),
        sa.ForeignKeyConstraint(["transcript_id"], ["transcripts.id"]),
    )
    op.create_index("ix_subtitle_tracks_transcript_id", "subtitle_tracks", ["transcript_id"])
    op.create_index("ix_subtitle_tracks_footage_id", "subtitle_tracks", ["footage_id"])


def create_clips() -> None:
    op.create_table(
        "clips",
        *clips(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("footage_id", "start_ms", "end_ms"),
        sa.ForeignKeyConstraint(["footage_id"], ["footage.id"]),
    )
    op.create_index("ix_clips_status", "clips", ["status"])
    op.create_index("ix_clips_footage_id", "clips", ["footage_id"])


def create_publications() -> None:
    op.create_table(
        "publications",
        *publications(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clip_id", "channel"),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"]),
    )
    op.create_index("ix_publications_status", "publications", ["status"])
    op.create_index("ix_publications_clip_id", "publications", ["clip_id"])


def create_partners() -> None:
    op.create_table(
        "partners",
        *partners(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )


def create_downloads() -> None:
    op.create_table(
        "downloads",
        *downloads(),
        sa.PrimaryKeyConstraint("id"),
        # No foreign key to clips: the log outlives any clean-up of clips.
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
    )
    op.create_index("ix_downloads_partner_id", "downloads", ["partner_id"])
    op.create_index("ix_downloads_clip_id", "downloads", ["clip_id"])


# Parents before the tables that refer to them.
TABLES = {
    "footage": (footage, create_footage),
    "transcripts": (transcripts, create_transcripts),
    "subtitle_tracks": (subtitle_tracks, create_subtitle_tracks),
    "clips": (clips, create_clips),
    "publications": (publications, create_publications),
    "partners": (partners, create_partners),
    "downloads": (downloads, create_downloads),
}


def upgrade() -> None:
    for _columns, create in TABLES.values():
        create()


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)


def adopt() -> list[str]:
    """Bring a catalog made before Alembic up to this revision's shape before it is stamped.

    Catalogs of the first release already have it. Ones made by development builds before it
    may lack whole tables or some columns: the tables are created and the columns added, with
    a default for the rows already there. Returns what was added ("table" or "table.column").
    """
    inspector = sa.inspect(op.get_bind())
    present = set(inspector.get_table_names())
    added: list[str] = []
    for name, (columns, create) in TABLES.items():
        if name not in present:
            create()
            added.append(name)
            continue
        have = {column["name"] for column in inspector.get_columns(name)}
        for column in columns():
            if column.name in have:
                continue
            if not column.nullable:
                column.server_default = sa.DefaultClause(_fill(column))
            op.add_column(name, column)
            added.append(f"{name}.{column.name}")
    return added


def _fill(column: sa.Column[Any]) -> str:
    """The value a NOT NULL column gets in the rows that were there before it."""
    if "fill" in column.info:
        return str(column.info["fill"])
    if isinstance(column.type, sa.JSON):
        return "{}"
    if isinstance(column.type, sa.Integer | sa.Float):
        return "0"
    if isinstance(column.type, sa.DateTime):
        # SQLite refuses a non-constant default (CURRENT_TIMESTAMP) in ADD COLUMN.
        return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return ""
