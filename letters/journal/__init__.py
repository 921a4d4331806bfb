"""The registration journal of outgoing letters, a wing of its own: `store` keeps the
letters (SQLAlchemy, SQLite or PostgreSQL, schema by Alembic in `migrations/`), `register`
lays them out as the paper register of outgoing letters."""

from .location import journal_url, location_url, open_journal, user_journal
from .store import (
    ACTIVE, CANCELLED, EMAIL, ISSUED, REPLACED, RESERVED, SENT, STATUS_NAMES, Addressee, Delivery, IssuedPack, Journal,
    JournalError, Letter, NewLetter, Told, deliveries, files, letters, new_build_id,
)

__all__ = [
    "ACTIVE", "CANCELLED", "EMAIL", "ISSUED", "REPLACED", "RESERVED", "SENT", "STATUS_NAMES", "Addressee", "Delivery",
    "IssuedPack", "Journal", "JournalError", "Letter", "NewLetter", "Told", "deliveries", "files", "journal_url", "letters", "location_url", "open_journal", "user_journal",
    "new_build_id",
]
