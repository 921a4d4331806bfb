"""Kinds of letter, and deliveries: whom a letter goes to and how it went.

A letter records its kind (a letter to one head, a letter by list…); letters of different
kinds to one municipality on one date can coexist. What `letters mail` recorded on the
letter itself (its Message-ID, recipients, attempt, refused addresses) moves to the
letter's delivery; a letter by list has one delivery per head.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ACTIVE = ("reserved", "issued", "sent")


def upgrade() -> None:
    op.drop_index("uq_letters_active", table_name="letters")
    deliveries = op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.id", ondelete="CASCADE"), nullable=False),
        sa.Column("municipality", sa.Text, nullable=False),
        sa.Column("addressee", sa.Text, nullable=False, server_default=""),
        sa.Column("addresses", sa.Text, nullable=False, server_default=""),
        sa.Column("route", sa.String(16)),
        sa.Column("message_id", sa.Text),
        sa.Column("attempt_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("reached", sa.Text),
        sa.Column("refused", sa.Text),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("letter_id", "municipality", name="uq_deliveries_letter_municipality"),
    )
    _carry_over_mail(deliveries)
    # The old mail columns stay, unused: dropping a column would make SQLite rebuild the
    # table, and with foreign keys on, dropping the old table deletes the letters' files.
    op.add_column("letters", sa.Column("kind", sa.String(32), nullable=False, server_default="personal"))
    active = sa.and_(sa.column("status").in_(ACTIVE), sa.column("replaced_by").is_(None))
    op.create_index("uq_letters_active", "letters", ["date", "municipality", "kind"], unique=True,
                    sqlite_where=active, postgresql_where=active)


def _carry_over_mail(deliveries) -> None:
    """Every letter of a 0002 journal was to one head: it gets that one delivery, with what
    `letters mail` recorded. The addresses of a letter not mailed yet were only in its
    manifest; the next build writes them (until then `letters mail` asks for that build)."""
    connection = op.get_bind()
    stamp = sa.DateTime(timezone=True)
    old = sa.table("letters", *(sa.column(name) for name in ("id", "municipality", "addressee", "status", "message_id",
                                                            "recipients", "mail_refused")),
                   sa.column("sent_at", stamp), sa.column("mail_attempt_at", stamp))
    rows = connection.execute(sa.select(old)).all()
    for row in rows:
        went = row.sent_at is not None
        connection.execute(deliveries.insert().values(
            letter_id=row.id, municipality=row.municipality, addressee=row.addressee or "",
            addresses=row.recipients or "", route="эл. почта" if went else None, message_id=row.message_id,
            attempt_at=row.mail_attempt_at, sent_at=row.sent_at, reached=row.recipients if went else None,
            refused=row.mail_refused,
        ))


def downgrade() -> None:
    op.drop_index("uq_letters_active", table_name="letters")
    op.drop_column("letters", "kind")
    op.drop_table("deliveries")
    active = sa.and_(sa.column("status").in_(ACTIVE), sa.column("replaced_by").is_(None))
    op.create_index("uq_letters_active", "letters", ["date", "municipality"], unique=True,
                    sqlite_where=active, postgresql_where=active)
