"""The registration journal of outgoing letters.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ACTIVE = ("reserved", "issued", "sent")


def upgrade() -> None:
    op.create_table(
        "letters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("number", sa.String(64), nullable=False, unique=True),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("municipality", sa.Text, nullable=False),
        sa.Column("addressee", sa.Text, nullable=False, server_default=""),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("signer", sa.Text, nullable=False, server_default=""),
        sa.Column("executor", sa.Text, nullable=False, server_default=""),
        sa.Column("sheets", sa.String(32), nullable=False, server_default=""),
        sa.Column("findings", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending", sa.String(16)),
        sa.Column("content_sha256", sa.String(64)),
        sa.Column("out_dir", sa.Text),
        sa.Column("pack", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("replaces", sa.String(64)),
        sa.Column("replaced_by", sa.String(64)),
        sa.Column("build_id", sa.String(255)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("message_id", sa.Text),
        sa.Column("recipients", sa.Text),
        sa.UniqueConstraint("year", "seq", name="uq_letters_year_seq"),
    )
    active = sa.and_(sa.column("status").in_(ACTIVE), sa.column("replaced_by").is_(None))
    op.create_index(
        "uq_letters_active", "letters", ["date", "municipality"], unique=True,
        sqlite_where=active, postgresql_where=active,
    )
    op.create_table(
        "letter_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.id", ondelete="CASCADE"), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.UniqueConstraint("letter_id", "path", name="uq_letter_files_path"),
    )


def downgrade() -> None:
    op.drop_table("letter_files")
    op.drop_index("uq_letters_active", "letters")
    op.drop_table("letters")
