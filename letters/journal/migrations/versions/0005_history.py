"""The findings each letter told its municipality of (site, error code, comment, check
date), so that a later check can be compared with them; and, for a follow-up letter, the
earlier letter it cites. Existing journals gain an empty history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "findings_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.id", ondelete="CASCADE"), nullable=False),
        sa.Column("municipality", sa.Text, nullable=False),
        sa.Column("organization", sa.Text, nullable=False, server_default=""),
        sa.Column("site", sa.Text, nullable=False),
        sa.Column("site_key", sa.Text, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("checked_at", sa.Date, nullable=False),
    )
    op.create_index("ix_findings_history_letter", "findings_history", ["letter_id"])
    op.add_column("letters", sa.Column("follows", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("letters") as batch:
        batch.drop_column("follows")
    op.drop_index("ix_findings_history_letter", table_name="findings_history")
    op.drop_table("findings_history")
