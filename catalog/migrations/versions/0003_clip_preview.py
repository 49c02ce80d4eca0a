"""Clips get a preview: the small JPEG the render step makes for channels that take one
(Telegram's thumbnail), so channels do no media work of their own.

Existing clips have none until they are rendered again; until then Telegram posts them without
a thumbnail, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("clips", sa.Column("preview", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clips") as batch:
        batch.drop_column("preview")
