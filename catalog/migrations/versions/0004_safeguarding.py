"""Safeguarding: an audit log, a second named approval for clips showing a minor, takedowns in
the ledger, and a count of processing runs that never finished on a footage.

Every column added has a default, so rows of earlier versions keep their meaning: no clip has a
sign-off, no publication was taken down, no footage has crashed a run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "footage", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("clips", sa.Column("approved_by", sa.Text(), nullable=False, server_default=""))
    op.add_column("clips", sa.Column("signoff_by", sa.Text(), nullable=False, server_default=""))
    op.add_column("clips", sa.Column("signoff_at", sa.DateTime(), nullable=True))
    op.add_column("publications", sa.Column("taken_down_at", sa.DateTime(), nullable=True))
    op.add_column(
        "publications",
        sa.Column("taken_down_by", sa.Text(), nullable=False, server_default=""),
    )
    op.add_column(
        "publications",
        sa.Column("takedown_answer", sa.Text(), nullable=False, server_default=""),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("footage_id", sa.Integer(), nullable=True),
        sa.Column("clip_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_action", "audit", ["action"])
    op.create_index("ix_audit_footage_id", "audit", ["footage_id"])


def downgrade() -> None:
    op.drop_table("audit")
    with op.batch_alter_table("publications") as batch:
        for name in ("takedown_answer", "taken_down_by", "taken_down_at"):
            batch.drop_column(name)
    with op.batch_alter_table("clips") as batch:
        for name in ("signoff_at", "signoff_by", "approved_by"):
            batch.drop_column(name)
    with op.batch_alter_table("footage") as batch:
        batch.drop_column("attempts")
