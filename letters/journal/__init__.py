"""The registration journal of outgoing letters, a wing of its own: `store` keeps the
letters (SQLAlchemy, SQLite or PostgreSQL, schema by Alembic in `migrations/`), `register`
lays them out as the paper register of outgoing letters."""

from .location import journal_url, location_url
from .store import (
    ACTIVE, CANCELLED, ISSUED, REPLACED, RESERVED, SENT, STATUS_NAMES, IssuedPack, Journal, JournalError, Letter,
    MailAttempt, files, letters, new_build_id,
)

__all__ = [
    "ACTIVE", "CANCELLED", "ISSUED", "REPLACED", "RESERVED", "SENT", "STATUS_NAMES", "IssuedPack", "Journal",
    "JournalError", "Letter", "MailAttempt", "files", "journal_url", "letters", "location_url", "new_build_id",
]
