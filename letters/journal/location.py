"""Which journal a command uses: one rule, for every command that takes `--journal`.

1. `--journal PATH|URL` (or the environment variable LETTERS_JOURNAL);
2. `[journal] path = "…"` (or `url = "…"`) in the data folder's letters.toml;
3. `<data>/journal.sqlite`, where letters up to 0.6.0 kept it — still used for this release,
   with a note on how to move it;
4. otherwise one journal per user account, in the platform's user data folder.

Never a journal inside a data folder by default: a May folder copied to make June's mailing
would carry May's journal, and both copies would hand out the same numbers. A journal still
in a data folder is recognised when it is a copy of one used elsewhere (its first letter is
the same letter), and refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import sqlalchemy as sa

from ..problems import Problems

LEGACY = "journal.sqlite"  # <data>/journal.sqlite, letters 0.6.0 and earlier
_REGISTRY = "journals-in-data-folders.json"


def location_url(location: str | Path) -> str:
    """A path becomes an SQLite URL; an SQLAlchemy URL is kept as it is."""
    text = str(location)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def user_folder() -> Path:
    """The per-user data folder of letters (~/.local/share/letters on Linux, %LOCALAPPDATA%\\letters on Windows)."""
    return platformdirs.user_data_path("letters", appauthor=False)


def user_journal() -> Path:
    return user_folder() / "journal.sqlite"


@dataclass(frozen=True)
class Location:
    url: str
    legacy: Path | None = None  # a journal inside the data folder, as before 0.7.0


def locate(named: str | None, data: Path) -> Location:
    if named:
        return Location(location_url(named))
    configured = configured_journal(data)
    if configured:
        return Location(location_url(configured))
    legacy = data / LEGACY
    if legacy.is_file():
        return Location(location_url(legacy), legacy)
    return Location(location_url(user_journal()))


def journal_url(named: str | None, data: Path) -> str:
    return locate(named, data).url


def configured_journal(data: Path) -> str | None:
    """`[journal] path` or `url` of the data folder's letters.toml; a relative path would
    travel with a copy of the folder, so only a full path or a URL is taken."""
    try:
        raw = tomllib.loads((data / "letters.toml").read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # letters.toml is reported by the settings
    section = raw.get("journal")
    if not isinstance(section, dict):
        return None
    value = section.get("url") or section.get("path")
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if "://" not in value and not Path(value).expanduser().is_absolute():
        from .store import JournalError

        raise JournalError(
            f"letters.toml, параметр [journal] path: «{value}» — не полный путь. Журнал, записанный от папки данных, "
            "уехал бы с её копией, и копии выдали бы одни и те же номера: укажите полный путь, например "
            f"path = \"{user_journal()}\", или адрес postgresql+psycopg://…"
        )
    return value


def open_journal(named: str | None, data: Path, problems: Problems):
    """The journal the clerk means (see the module's doc), opened and brought up to date.
    A journal still in the data folder gets a note on how to move it, and is refused when
    it is a copy of one used in another folder."""
    from .store import Journal

    where = locate(named, data)
    journal = Journal(where.url)
    if where.legacy is not None:
        refuse_copies(journal, where.legacy)
        problems.note(
            f"журнал регистрации лежит в папке данных ({where.legacy}). Копия папки данных унесёт его с собой, и две "
            f"копии выдадут одни и те же номера, поэтому с версии 0.7.0 журнал хранится отдельно. Перенесите его: "
            f"переместите файл в {user_journal()} (это журнал по умолчанию) или в общую папку отдела и укажите её "
            "в letters.toml: [journal] path = \"…\". Эта версия ещё берёт журнал из папки данных, следующая — не будет"
        )
    return journal


def refuse_copies(journal, path: Path) -> None:
    """A journal in a data folder whose first letter is the first letter of a journal seen
    in another folder that is still there is that journal's copy: refused."""
    from .store import JournalError, letters

    with journal.engine.connect() as connection:
        first = connection.execute(sa.select(letters.c.number, letters.c.created_at, letters.c.build_id)
                                   .order_by(letters.c.id).limit(1)).first()
    if first is None:
        return
    mark = hashlib.sha256("|".join(map(str, first)).encode()).hexdigest()
    registry = user_folder() / _REGISTRY
    try:
        seen = json.loads(registry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        seen = {}
    here = str(path.resolve())
    other = seen.get(mark)
    if other and other != here and Path(other).is_file():
        raise JournalError(
            f"журнал регистрации {here} — копия журнала {other} (папку данных скопировали вместе с журналом): две "
            f"копии выдали бы одни и те же номера. Номера берутся из одного журнала: удалите копию {here} и укажите "
            f"журнал явно (--journal {other}), а лучше перенесите его в {user_journal()}"
        )
    if other != here:
        seen[mark] = here
        registry.parent.mkdir(parents=True, exist_ok=True)
        partial = registry.with_suffix(".tmp")
        partial.write_text(json.dumps(seen, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(partial, registry)
