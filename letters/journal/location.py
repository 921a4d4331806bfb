"""Which journal a command uses: one rule, for every command that takes `--journal`."""

from __future__ import annotations

from pathlib import Path


def location_url(location: str | Path) -> str:
    """A path becomes an SQLite URL; an SQLAlchemy URL is kept as it is."""
    text = str(location)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def journal_url(named: str | None, data: Path) -> str:
    """The journal named by `--journal` (or LETTERS_JOURNAL), else the data folder's."""
    return location_url(named or data / "journal.sqlite")
