"""Translations a person has read, and clip titles and descriptions per language.

A machine translation (a transcript whose task is `translate`, not imported from a person's
file) needs a person's approval before it goes to a public channel: `reviewed_by` and
`reviewed_at` record it against that very transcript, so a new translation (after the source
text changed) starts unreviewed again. Existing transcripts have no review.

A clip's `localizations` hold its title and description in other languages
({"ru": {"title": ..., "description": ...}}), sent to YouTube as the video's localizations;
existing clips have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "transcripts", sa.Column("reviewed_by", sa.Text(), nullable=False, server_default="")
    )
    op.add_column("transcripts", sa.Column("reviewed_at", sa.DateTime(), nullable=True))
    op.add_column(
        "clips", sa.Column("localizations", sa.JSON(), nullable=False, server_default="{}")
    )


def downgrade() -> None:
    with op.batch_alter_table("clips") as batch:
        batch.drop_column("localizations")
    with op.batch_alter_table("transcripts") as batch:
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by")
