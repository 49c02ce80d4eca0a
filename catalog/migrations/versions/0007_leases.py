"""Work spread over several workers: leases on units of work (a footage, the inbox), taken by
compare-and-set and lapsing when their holder dies, and which worker processed each footage.
A new table and a column with a default; nothing earlier changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.add_column(
        "footage", sa.Column("processed_by", sa.Text(), nullable=False, server_default="")
    )


def downgrade() -> None:
    with op.batch_alter_table("footage") as batch:
        batch.drop_column("processed_by")
    op.drop_table("leases")
