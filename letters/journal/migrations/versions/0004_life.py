"""A letter's life after its build: signed (the scan and its electronic signature, kept
with the pack and hashed), answered (the municipality's incoming number and date, and its
file), and what the paper register prints beside it (the deadline, the case file).

A delivery by post, courier, СЭД, fax or by hand needs no new column: `deliveries.route`
has always named the route.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (
    ("deadline", sa.Date),
    ("case_file", sa.Text),
    ("signed_file", sa.Text),  # relative to the date folder, as manifest.csv names files
    ("signed_sha256", sa.String(64)),
    ("signature_file", sa.Text),
    ("signature_sha256", sa.String(64)),
    ("signed_at", sa.DateTime(timezone=True)),
    ("reply_number", sa.Text),
    ("reply_date", sa.Date),
    ("reply_file", sa.Text),
    ("reply_sha256", sa.String(64)),
)


def upgrade() -> None:
    # nullable columns: SQLite adds them in place, the partial unique index stays as it is;
    # a SQLite journal taken back to 0003 still has them (see downgrade)
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("letters")}
    for name, kind in COLUMNS:
        if name not in present:
            op.add_column("letters", sa.Column(name, kind))


def downgrade() -> None:
    # On SQLite the columns stay, unused (nullable, so 0003 never notices them): dropping a
    # column would make SQLite rebuild the table, and with foreign keys on, dropping the
    # old table deletes the letters' files and deliveries (see 0003).
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, _ in reversed(COLUMNS):
        op.drop_column("letters", name)
