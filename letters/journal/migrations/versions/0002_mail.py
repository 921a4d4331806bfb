"""`letters mail`: an attempt to mail a letter is recorded before the message leaves.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable columns: SQLite adds them in place, the partial unique index stays as it is
    op.add_column("letters", sa.Column("mail_attempt_at", sa.DateTime(timezone=True)))
    op.add_column("letters", sa.Column("mail_refused", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("letters") as batch:
        batch.drop_column("mail_refused")
        batch.drop_column("mail_attempt_at")
