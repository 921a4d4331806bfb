"""Step 0 of the director's report: the region's figures on earlier letter dates, from the journal.

The journal keeps what each letter told its municipality of (`findings_history`). The report
reads it, and only reads it: SQLite is opened read-only (`mode=ro`), PostgreSQL in a READ ONLY
transaction; no schema is created or upgraded, no number taken, and a journal that does not
exist yet is not created (the report is then on one date, and says why).

The rules, written down in the README's report section too:

- A letter counts when it stands: issued or sent, not cancelled, not replaced, on the subject
  of the data folder's letters.toml, dated before the report's date. Every kind counts —
  personal letters (a follow-up is recorded as one) and letters by list, whose findings the
  journal keeps per municipality; a finding told in two letters of one date counts once.
- On a letter date, a municipality's institutions with findings are the distinct sites its
  letters of that date told of. A municipality with no letter that date had no findings then:
  a build writes to every municipality with findings (one built with `--only` is the exception,
  and the README says so).
- The denominator is the registry of the current data folder: the journal keeps no past
  registries. A site told of that is no longer in the registry is left out of the count.
- A date with a letter that told of findings the journal did not keep (letters issued before
  the history existed, letters 0.7.0 and earlier) is not known, and left out.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from .. import dates
from ..journal.location import locate
from ..journal.store import ISSUED, SENT, JournalError, history, letters
from ..model import Dataset


@dataclass(frozen=True)
class Point:
    """One earlier letter date: per municipality, the registry's institutions with findings told."""

    date: dt.date
    with_findings: dict[str, int] = field(default_factory=dict)  # only municipalities that had some


@dataclass(frozen=True)
class History:
    points: tuple[Point, ...] = ()  # letter dates before the report's date, oldest first
    why_none: str = ""  # when there are no points: why, in Russian
    skipped: tuple[dt.date, ...] = ()  # letter dates whose findings the journal did not keep

    @property
    def previous(self) -> Point | None:
        return self.points[-1] if self.points else None


def read(named: str | None, data: Path, dataset: Dataset, before: dt.date) -> History:
    """The history of the journal `letters build` would use (see journal.location), read only."""
    try:
        where = locate(named, data)
    except JournalError as exc:
        return History(why_none=f"журнал не прочитан: {exc}")
    try:
        engine = _read_only(where.url)
    except FileNotFoundError as exc:
        return History(why_none=f"журнала регистрации {exc} ещё нет (письма не собирались), поэтому отчёт — на одну дату.")
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        return History(why_none=f"журнал регистрации не прочитан ({exc}), поэтому отчёт — на одну дату.")
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SET TRANSACTION READ ONLY"))
            if not sa.inspect(connection).has_table(history.name):
                return History(why_none="журнал регистрации записан прежней версией программы и не хранит результаты "
                                        "прошлых проверок (они появятся после следующей сборки писем), поэтому "
                                        "отчёт — на одну дату.")
            rows = connection.execute(
                sa.select(letters.c.date, letters.c.id, letters.c.findings, history.c.municipality, history.c.site_key)
                .select_from(letters.outerjoin(history, history.c.letter_id == letters.c.id))
                .where(letters.c.status.in_((ISSUED, SENT)), letters.c.replaced_by.is_(None),
                       letters.c.subject == dataset.settings.subject, letters.c.date < before)
            ).all()
    except sa.exc.SQLAlchemyError as exc:
        return History(why_none=f"журнал регистрации не прочитан ({str(exc).splitlines()[0][:200]}), "
                                "поэтому отчёт — на одну дату.")
    finally:
        engine.dispose()
    return count(rows, dataset, before)


def count(rows, dataset: Dataset, before: dt.date) -> History:
    """Rows of (date, letter id, findings the letter told of, municipality, site_key or None)."""
    registry: dict[str, set[str]] = defaultdict(set)
    for org in dataset.organizations:
        registry[org.municipality].add(org.site_key)
    told: dict[dt.date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    unknown: set[dt.date] = set()
    for date, _letter, findings, municipality, site_key in rows:
        told[date]  # a letter date, even when none of the sites it told of is in today's registry
        if site_key is None:
            if findings:
                unknown.add(date)  # told of findings the journal did not keep
            continue
        if site_key in registry.get(municipality, ()):
            told[date][municipality].add(site_key)
    points = tuple(Point(date, {m: len(sites) for m, sites in told[date].items()})
                   for date in sorted(told) if date not in unknown)
    if points:
        return History(points, skipped=tuple(sorted(unknown)))
    if unknown:
        why = ("письма до даты отчёта выданы прежней версией программы, и журнал не хранит, о каких ошибках в них "
               "сказано, поэтому отчёт — на одну дату.")
    else:
        why = f"в журнале регистрации нет писем до {dates.numeric(before)}, поэтому отчёт — на одну дату."
    return History(why_none=why, skipped=tuple(sorted(unknown)))


def _read_only(url: str) -> sa.Engine:
    """An engine that cannot write. A missing SQLite file raises FileNotFoundError (its path)."""
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if not database or database == ":memory:":
            raise FileNotFoundError(url)
        path = Path(database)
        if not path.is_file():
            raise FileNotFoundError(str(path))
        address = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
        return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(address, uri=True, timeout=60))
    return sa.create_engine(url, pool_pre_ping=True)
