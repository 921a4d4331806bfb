"""Step 3: number the letters in the registration journal of outgoing letters.

The journal is an SQLite file (`<data>/journal.sqlite`) or any SQLAlchemy URL, so that
the clerks of one department share one (`postgresql+psycopg://…`). A number, once given,
belongs to one letter forever: it is taken in the same transaction that checks it is free
(a unique constraint guards it too), and a number given up is marked cancelled, never reused.

Each letter records its kind (`letters.kinds`) and its deliveries: to whom it goes (one
head, or each head of a letter by list), at which addresses, and how and when it went.

A letter's status:
- reserved — its pack is being written (or a build was killed while writing it);
- issued — its pack is complete in `out/`;
- sent — mailed; its pack is never overwritten;
- cancelled — given up, with the reason;
- replaced — reissued under a new number (`--reissue`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import IntegrityError, OperationalError

from ..packs import row_paths
from ..problems import LettersError

RESERVED, ISSUED, SENT, CANCELLED, REPLACED = "reserved", "issued", "sent", "cancelled", "replaced"
ACTIVE = (RESERVED, ISSUED, SENT)
STATUS_NAMES = {
    RESERVED: "зарезервирован", ISSUED: "выдан", SENT: "отправлен", CANCELLED: "аннулирован", REPLACED: "заменён",
}

metadata = sa.MetaData()

letters = sa.Table(
    "letters", metadata,
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
    sa.Column("pending", sa.String(16)),  # what a reserved letter becomes when its build completes
    sa.Column("content_sha256", sa.String(64)),  # of the pack's .docx files: unchanged content, unchanged pack
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
    sa.Column("kind", sa.String(32), nullable=False, server_default="personal"),
    sa.Column("follows", sa.String(64)),  # a follow-up letter: the number of the earlier letter it cites
    # 0004: what the register prints beside the letter, its signed copy and the reply to it
    sa.Column("deadline", sa.Date),
    sa.Column("case_file", sa.Text),
    sa.Column("signed_file", sa.Text),  # relative to the date folder, as manifest.csv names files
    sa.Column("signed_sha256", sa.String(64)),
    sa.Column("signature_file", sa.Text),  # the detached electronic signature of the scan
    sa.Column("signature_sha256", sa.String(64)),
    sa.Column("signed_at", sa.DateTime(timezone=True)),
    sa.Column("reply_number", sa.Text),  # the municipality's incoming number of its answer
    sa.Column("reply_date", sa.Date),
    sa.Column("reply_file", sa.Text),
    sa.Column("reply_sha256", sa.String(64)),
    sa.UniqueConstraint("year", "seq", name="uq_letters_year_seq"),
)
# one live letter of a kind per municipality and date: a re-run keeps the number (a sent
# letter being reissued steps aside as soon as its successor is reserved)
_LIVE = sa.and_(letters.c.status.in_(ACTIVE), letters.c.replaced_by.is_(None))
sa.Index("uq_letters_active", letters.c.date, letters.c.municipality, letters.c.kind, unique=True,
         sqlite_where=_LIVE, postgresql_where=_LIVE)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.id", ondelete="CASCADE"), nullable=False),
    sa.Column("municipality", sa.Text, nullable=False),
    sa.Column("addressee", sa.Text, nullable=False, server_default=""),
    sa.Column("addresses", sa.Text, nullable=False, server_default=""),  # "; "-joined: where it is to go
    sa.Column("route", sa.String(16)),  # how it went: эл. почта, почта, курьер, СЭД, факс, лично
    sa.Column("message_id", sa.Text),
    # `letters mail`: set before a message leaves, cleared when the outcome is known
    sa.Column("attempt_at", sa.DateTime(timezone=True)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("reached", sa.Text),  # the addresses it has reached, "; "-joined
    sa.Column("refused", sa.Text),  # addresses the server refused, with its answers
    sa.Column("note", sa.Text),
    sa.UniqueConstraint("letter_id", "municipality", name="uq_deliveries_letter_municipality"),
)
EMAIL = "эл. почта"  # the route of a delivery `letters mail` made
ROUTES = ("почта", "курьер", "СЭД", "факс", "лично")  # the others, which the clerk records (`journal sent`)

files = sa.Table(
    "letter_files", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.id", ondelete="CASCADE"), nullable=False),
    sa.Column("path", sa.Text, nullable=False),  # relative to the date folder, as in manifest.csv
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.UniqueConstraint("letter_id", "path", name="uq_letter_files_path"),
)


# What each letter told its municipality of: compared with a later check (letters.followup).
history = sa.Table(
    "findings_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.id", ondelete="CASCADE"), nullable=False),
    sa.Column("municipality", sa.Text, nullable=False),
    sa.Column("organization", sa.Text, nullable=False, server_default=""),
    sa.Column("site", sa.Text, nullable=False),  # as the table wrote it
    sa.Column("site_key", sa.Text, nullable=False),  # normalised (letters.sites): what is compared
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("checked_at", sa.Date, nullable=False),
    sa.Index("ix_findings_history_letter", "letter_id"),
)


@dataclass(frozen=True)
class Told:
    """One finding a letter told its municipality of."""

    municipality: str
    organization: str
    site: str
    site_key: str
    code: str
    comment: str
    checked_at: dt.date


class JournalError(LettersError):
    """A journal that cannot be opened or used; the message is for the clerk."""


@dataclass(frozen=True)
class Delivery:
    """One addressee of a letter: its head, the addresses to mail, and how it went."""

    id: int
    letter_id: int
    municipality: str
    addressee: str = ""
    addresses: str = ""
    route: str | None = None
    message_id: str | None = None
    attempt_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    reached: str | None = None
    refused: str | None = None
    note: str | None = None

    @property
    def address_list(self) -> tuple[str, ...]:
        return tuple(a for a in self.addresses.split("; ") if a)

    @property
    def reached_list(self) -> tuple[str, ...]:
        return tuple(a for a in (self.reached or "").split("; ") if a)

    @classmethod
    def from_row(cls, row) -> Delivery:
        values = {k: v for k, v in row._mapping.items() if k in cls.__dataclass_fields__}
        for key in ("attempt_at", "sent_at"):
            values[key] = _aware(values.get(key))
        return cls(**values)


@dataclass(frozen=True)
class Letter:
    id: int
    number: str
    year: int
    seq: int
    date: dt.date
    municipality: str
    status: str
    pending: str | None
    content_sha256: str | None
    out_dir: str | None
    pack: str | None
    addressee: str = ""
    subject: str = ""
    signer: str = ""
    executor: str = ""
    sheets: str = ""
    findings: int = 0
    reason: str | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    sent_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    kind: str = "personal"
    follows: str | None = None
    deadline: dt.date | None = None
    case_file: str | None = None
    signed_file: str | None = None
    signed_sha256: str | None = None
    signature_file: str | None = None
    signature_sha256: str | None = None
    signed_at: dt.datetime | None = None
    reply_number: str | None = None
    reply_date: dt.date | None = None
    reply_file: str | None = None
    reply_sha256: str | None = None
    deliveries: tuple[Delivery, ...] = ()

    @property
    def went_out(self) -> bool:
        """Sent, handed to the mail server without an answer, or signed: either way it may
        be read, and what was read or signed must stay as it is."""
        return (self.status == SENT or self.signed_file is not None
                or any(d.attempt_at is not None for d in self.deliveries))

    @property
    def folder(self) -> Path | None:
        """The date folder of its pack (`OUT/<date>`), where its files' paths start."""
        return Path(self.out_dir) / self.date.isoformat() if self.out_dir else None

    def kept_files(self) -> dict[str, str]:
        """The files the clerk brought to the pack (the signed scan, its signature, the
        reply), by path relative to the date folder, with their sha256."""
        pairs = ((self.signed_file, self.signed_sha256), (self.signature_file, self.signature_sha256),
                 (self.reply_file, self.reply_sha256))
        return {path: digest for path, digest in pairs if path and digest}

    @classmethod
    def from_row(cls, row, deliveries: tuple[Delivery, ...] = ()) -> Letter:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in row._mapping.items() if k in fields}, deliveries=deliveries)


def format_number(pattern: str, seq: int, date: dt.date) -> str:
    return pattern.format(seq=seq, yy=date.strftime("%y"), yyyy=date.strftime("%Y"))


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Journal:
    def __init__(self, url: str):
        self.url = url
        self.engine = _engine(url)
        self._session: sa.Connection | None = None  # PostgreSQL, during build_lock: the session holding it
        self._migrate()

    def _migrate(self) -> None:
        """Create the schema on first use and bring an older one up to date (Alembic)."""
        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        try:
            with self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":  # two first builds must not both create the schema
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(7337002)"))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except (OperationalError, sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise JournalError(_explain(self.url, exc)) from exc

    # --- reading ---

    def active(self, date: dt.date, kind: str = "personal") -> dict[str, Letter]:
        """The live letter of a kind for `date`, by municipality (or «по списку»)."""
        query = sa.select(letters).where(letters.c.date == date, letters.c.kind == kind, _LIVE)
        return {letter.municipality: letter for letter in self._read(query)}

    def find(self, number: str) -> Letter | None:
        found = self._read(sa.select(letters).where(letters.c.number == number))
        return found[0] if found else None

    def list(self, *, year=None, date=None, municipality=None, status=None) -> list[Letter]:
        query = sa.select(letters).order_by(letters.c.year, letters.c.seq)
        if year:
            query = query.where(letters.c.year == year)
        if date:
            query = query.where(letters.c.date == date)
        if status:
            query = query.where(letters.c.status == status)
        found = self._read(query)
        if municipality:  # in Python: SQLite ignores the case of Latin letters only
            part = municipality.casefold()
            found = [letter for letter in found if part in letter.municipality.casefold()
                     or any(part in d.municipality.casefold() for d in letter.deliveries)]
        return found

    def _read(self, query) -> list[Letter]:
        """The letters of `query`, each with its deliveries (read in one more query)."""
        with self._begin() as connection:
            rows = connection.execute(query).all()
            ids = [row.id for row in rows]
            by_letter: dict[int, list[Delivery]] = {}
            for start in range(0, len(ids), 500):  # SQLite takes a bounded number of parameters
                chunk = ids[start:start + 500]
                found = connection.execute(sa.select(deliveries).where(deliveries.c.letter_id.in_(chunk))
                                           .order_by(deliveries.c.id))
                for row in found:
                    by_letter.setdefault(row.letter_id, []).append(Delivery.from_row(row))
        return [Letter.from_row(row, tuple(by_letter.get(row.id, ()))) for row in rows]

    def told(self, letter_ids: list[int]) -> dict[int, list[Told]]:
        """The findings each of these letters told of, by letter."""
        found: dict[int, list[Told]] = {}
        with self._begin() as connection:
            for start in range(0, len(letter_ids), 500):
                rows = connection.execute(sa.select(history).where(history.c.letter_id.in_(letter_ids[start:start + 500]))
                                          .order_by(history.c.id))
                for row in rows:
                    found.setdefault(row.letter_id, []).append(
                        Told(**{k: v for k, v in row._mapping.items() if k in Told.__dataclass_fields__}))
        return found

    def files_of(self, letter_id: int) -> dict[str, str]:
        with self._begin() as connection:
            rows = connection.execute(sa.select(files.c.path, files.c.sha256).where(files.c.letter_id == letter_id))
            return {path: digest for path, digest in rows}

    # --- numbering ---

    def reserve(self, date: dt.date, municipality: str, pattern: str, first: int, build_id: str,
                replaces: str | None = None, out_dir: str | None = None, kind: str = "personal",
                addressees: tuple[Addressee, ...] = ()) -> Letter:
        """Take the next free number of the year for a new letter (see `reserve_all`)."""
        return self.reserve_all(date, [NewLetter(municipality, replaces, addressees)], pattern, first, build_id,
                                out_dir, kind)[0]

    def reserve_all(self, date: dt.date, new: list[NewLetter], pattern: str, first: int, build_id: str,
                    out_dir: str | None = None, kind: str = "personal") -> list[Letter]:
        """Take the next free numbers of the year for new letters, in the order given, each
        with the deliveries it is to have: in one transaction, so all of them or none (a
        transaction a letter cost 3 ms, 9 s for 3,000 municipalities).

        The next number is after the highest one the journal holds for the year, and not
        below `first`; two builds racing for it are kept apart by the unique constraint."""
        if not new:
            return []
        for _ in range(50):
            try:
                with self._begin() as connection:
                    ids = self._insert_reserved(connection, date, new, pattern, first, build_id, out_dir, kind)
                found = {letter.id: letter for letter in self._read(
                    sa.select(letters).where(letters.c.build_id == build_id, letters.c.id.between(min(ids), max(ids))))}
                return [found[i] for i in ids]
            except IntegrityError:
                active = self.active(date, kind)
                taken = next((n.municipality for n in new if not n.replaces and n.municipality in active), None)
                if taken:
                    raise JournalError(f"у «{taken}» уже есть письмо за {date:%d.%m.%Y}") from None
                continue  # another build took those numbers between our check and insert: the next ones
        raise JournalError("не удалось получить свободный номер в журнале: повторите сборку")

    @staticmethod
    def _insert_reserved(connection, date: dt.date, new: list[NewLetter], pattern: str, first: int, build_id: str,
                         out_dir: str | None, kind: str) -> list[int]:
        _lock_numbering(connection, date.year)
        highest = connection.execute(sa.select(sa.func.max(letters.c.seq)).where(letters.c.year == date.year)).scalar()
        stamp, ids = now(), []
        for seq, item in enumerate(new, start=max(first, (highest or 0) + 1)):
            number = format_number(pattern, seq, date)
            if item.replaces:  # the old letter stays what it is until its successor is issued
                connection.execute(letters.update().where(letters.c.number == item.replaces).values(
                    pending=REPLACED, replaced_by=number, updated_at=stamp))
            result = connection.execute(letters.insert().values(
                year=date.year, seq=seq, number=number, date=date, kind=kind,
                municipality=item.municipality, status=RESERVED, pending=ISSUED, replaces=item.replaces,
                out_dir=out_dir, build_id=build_id, created_at=stamp, updated_at=stamp,
            ))
            ids.append(result.inserted_primary_key[0])
            _set_deliveries(connection, ids[-1], item.addressees)
        return ids

    # --- a build's changes, in two steps around the swap of the out folder ---

    def begin_change(self, changes: dict[int, str], build_id: str) -> None:
        """Before the new packs go live: mark the letters whose packs change as reserved,
        with what they become (issued or cancelled) once the swap is done."""
        if not changes:
            return
        stamp = now()
        with self._begin() as connection:
            for letter_id, target in changes.items():
                connection.execute(letters.update().where(letters.c.id == letter_id).values(
                    status=RESERVED, pending=target, build_id=build_id, updated_at=stamp))

    def finish(self, records: list[IssuedPack], cancelled: dict[int, str], build_id: str) -> None:
        """After the swap: the new packs are live; record them and settle the rest."""
        stamp = now()
        with self._begin() as connection:
            for record in records:
                _issue(connection, record, stamp)
            for letter_id, reason in cancelled.items():
                connection.execute(letters.update().where(letters.c.id == letter_id).values(
                    status=CANCELLED, pending=None, reason=reason, cancelled_at=stamp, updated_at=stamp))
            _settle_replaced(connection, stamp)

    def recover(self, live: dict[str, dict[str, dict]], adopt: set[tuple[dt.date, str, str]]) -> None:
        """Settle what a killed build left reserved, by what is live in `out/`.

        `live` maps an out date folder to its manifest rows by number. A reserved letter
        whose pack is live becomes issued with the files of the manifest; one that a build
        now running is about to write again (`adopt`: date, kind, municipality) stays
        reserved; any other is cancelled, with the reason."""
        stamp = now()
        with self._begin() as connection:
            for row in connection.execute(sa.select(letters).where(letters.c.status == RESERVED)).all():
                letter = Letter.from_row(row)
                folder = str(Path(letter.out_dir) / letter.date.isoformat()) if letter.out_dir else None
                manifest_row = live.get(folder, {}).get(letter.number) if folder else None
                if manifest_row is not None:
                    _issue(connection, IssuedPack.from_manifest(letter, manifest_row), stamp)
                elif (letter.date, letter.kind, letter.municipality) in adopt:
                    continue
                else:
                    connection.execute(letters.update().where(letters.c.id == letter.id).values(
                        status=CANCELLED, pending=None, cancelled_at=stamp, updated_at=stamp,
                        reason="сборка была прервана до записи пакета; номер не использован"))
            _settle_replaced(connection, stamp)

    def cancel(self, number: str, why: str) -> Letter:
        letter = self.find(number)
        if letter is None:
            raise JournalError(f"номера {number} нет в журнале")
        if letter.status in (CANCELLED, REPLACED):
            raise JournalError(f"письмо № {number} уже {STATUS_NAMES[letter.status]}о")
        stamp = now()
        with self.engine.begin() as connection:
            connection.execute(letters.update().where(letters.c.id == letter.id).values(
                status=CANCELLED, pending=None, reason=why, cancelled_at=stamp, updated_at=stamp))
        return self.find(number)

    def relocate(self, date: dt.date, old_out: str, new_out: str) -> None:
        """The packs of `date` moved from the folder `old_out` to `new_out` (build --move)."""
        with self._begin() as connection:  # under the build's lock
            connection.execute(letters.update().where(letters.c.date == date, letters.c.out_dir == old_out)
                               .values(out_dir=new_out, updated_at=now()))

    def mark_sent(self, number: str, route: str, when: dt.datetime, reached: str = "", note: str = "") -> None:
        """Every delivery of the letter that has not gone yet went by `route` at `when`."""
        self.mark_all_sent([number], route, when, reached, note)

    def mark_all_sent(self, numbers: list[str], route: str, when: dt.datetime, reached: str = "", note: str = "") -> None:
        """The same for several letters, in one transaction: all of them or none."""
        with self.engine.begin() as connection:
            for number in numbers:
                letter_id = connection.execute(sa.select(letters.c.id).where(letters.c.number == number)).scalar_one()
                connection.execute(deliveries.update().where(
                    deliveries.c.letter_id == letter_id, deliveries.c.sent_at.is_(None)
                ).values(route=route, sent_at=when, reached=reached or deliveries.c.addresses, note=note or None,
                         attempt_at=None))
                _mark_letter_sent(connection, letter_id, when)

    def set_signed(self, letter_id: int, files: dict[str, str | None], when: dt.datetime) -> None:
        """The signed scan and its signature (`signed_file`, `signed_sha256`, `signature_file`,
        `signature_sha256`), as they now lie in the pack."""
        with self.engine.begin() as connection:
            connection.execute(letters.update().where(letters.c.id == letter_id).values(
                **files, signed_at=when, updated_at=now()))

    def set_reply(self, letter_id: int, number: str, date: dt.date, file: str | None, digest: str | None) -> None:
        """The municipality's answer: its incoming number and date, and its file in the pack."""
        with self.engine.begin() as connection:
            connection.execute(letters.update().where(letters.c.id == letter_id).values(
                reply_number=number, reply_date=date, reply_file=file, reply_sha256=digest, updated_at=now()))

    # --- one build at a time per journal ---

    @contextlib.contextmanager
    def build_lock(self) -> Iterator[None]:
        """Builds against one journal take turns, so that what one build finds reserved is
        surely left by a build that is no longer running. The lock dies with its process.

        On PostgreSQL it is a session lock, and it dies with its session too, when the server
        restarts: so the build reads and writes the journal in that very session (`_begin`),
        and once the session is lost every later step fails instead of numbering on without
        the lock beside the next build."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT pg_advisory_lock(7337001)"))
                connection.commit()
                self._session = connection
                try:
                    yield
                finally:
                    self._session = None
                    if not connection.invalidated:  # a lost session took the lock with it
                        with contextlib.suppress(sa.exc.DBAPIError):
                            connection.execute(sa.text("SELECT pg_advisory_unlock(7337001)"))
                            connection.commit()
        elif self.engine.dialect.name == "sqlite" and self.engine.url.database:
            with _file_lock(Path(self.engine.url.database).with_suffix(".lock")):
                yield
        else:
            yield

    @contextlib.contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        """A transaction: on the session of the build lock while a build holds it, else on
        a connection of the pool. A journal that stops answering is a JournalError."""
        try:
            if self._session is None:
                with self.engine.begin() as connection:
                    yield connection
                return
            if self._session.invalidated:  # SQLAlchemy would connect it again, without the lock
                raise JournalError(_lost(self.url, "соединение сборки с сервером потеряно"))
            with self._session.begin():
                yield self._session
        except (OperationalError, sa.exc.InterfaceError) as exc:
            raise JournalError(_lost(self.url, str(getattr(exc, "orig", None) or exc))) from exc

    # --- mailing (`letters mail`), sent once and only once ---
    # The attempt is recorded on the delivery before a message leaves (attempt_at and its
    # Message-ID); when the server has accepted it the delivery is sent in one update, and
    # when it surely did not leave the attempt is cleared. An attempt still open later means
    # nobody knows whether the letter went: it is never sent again without the clerk's word.

    def begin_mail(self, delivery_id: int, message_id: str, retry: bool = False) -> bool:
        """Record an attempt to mail a delivery; False if it is not this run's to send (its
        letter not issued, the delivery already being sent, or given another Message-ID by
        another run). With `retry` the clerk has said an open attempt may go again, or a
        sent letter may go to the addresses that have not had it."""
        # a letter by list is sent as soon as one head has it; its other heads still wait
        sendable = sa.select(letters.c.id).where(letters.c.status.in_((ISSUED, SENT)), letters.c.replaced_by.is_(None))
        conditions = [deliveries.c.id == delivery_id, deliveries.c.letter_id.in_(sendable),
                      sa.or_(deliveries.c.message_id.is_(None), deliveries.c.message_id == message_id)]
        if not retry:
            conditions += [deliveries.c.attempt_at.is_(None), deliveries.c.sent_at.is_(None)]
        with self.engine.begin() as connection:
            result = connection.execute(deliveries.update().where(*conditions).values(
                attempt_at=now(), message_id=message_id))
        return result.rowcount == 1

    def end_mail(self, delivery_id: int, message_id: str, reached: str, refused: str = "",
                 sent_at: dt.datetime | None = None) -> None:
        """The server accepted the message: the delivery is sent (the first sending time is
        kept), and so is its letter."""
        stamp = now()
        with self.engine.begin() as connection:
            result = connection.execute(deliveries.update().where(
                deliveries.c.id == delivery_id, deliveries.c.message_id == message_id,
                deliveries.c.attempt_at.is_not(None),
            ).values(
                route=EMAIL, sent_at=sa.func.coalesce(deliveries.c.sent_at, sent_at or stamp), reached=reached,
                refused=refused or None, attempt_at=None,
            ))
            if result.rowcount != 1:
                raise JournalError(f"в журнале нет начатой отправки с Message-ID {message_id}")
            letter_id = connection.execute(sa.select(deliveries.c.letter_id).where(deliveries.c.id == delivery_id)).scalar()
            _mark_letter_sent(connection, letter_id, sent_at or stamp)

    def abandon_mail(self, delivery_id: int, message_id: str) -> None:
        """The message surely did not leave: the attempt is cleared, the Message-ID kept for the next one."""
        with self.engine.begin() as connection:
            connection.execute(deliveries.update().where(deliveries.c.id == delivery_id,
                                                         deliveries.c.message_id == message_id)
                               .values(attempt_at=None))


@dataclass(frozen=True)
class Addressee:
    """Whom a letter goes to, as a build records it: a delivery before it has gone."""

    municipality: str
    addressee: str
    addresses: str  # "; "-joined


@dataclass(frozen=True)
class NewLetter:
    """A letter a build is to number: its municipality (or «по списку»), the number of the
    letter it replaces (--reissue), and its addressees."""

    municipality: str
    replaces: str | None = None
    addressees: tuple[Addressee, ...] = ()


def _set_deliveries(connection, letter_id: int, addressees: tuple[Addressee, ...]) -> None:
    """The letter's deliveries are these: new ones added, the addresses of the others
    brought up to date (a corrected address is mailed next time), and those no longer
    addressed removed unless something has gone to them."""
    existing = {row.municipality: row for row in connection.execute(
        sa.select(deliveries).where(deliveries.c.letter_id == letter_id))}
    for item in addressees:
        values = {"addressee": item.addressee, "addresses": item.addresses}
        if item.municipality in existing:
            connection.execute(deliveries.update().where(deliveries.c.id == existing[item.municipality].id).values(**values))
        else:
            connection.execute(deliveries.insert().values(letter_id=letter_id, municipality=item.municipality, **values))
    gone = [row.id for name, row in existing.items() if name not in {a.municipality for a in addressees}
            and row.attempt_at is None and row.sent_at is None]
    if gone:
        connection.execute(deliveries.delete().where(deliveries.c.id.in_(gone)))


def _mark_letter_sent(connection, letter_id: int, when: dt.datetime) -> None:
    connection.execute(letters.update().where(letters.c.id == letter_id, letters.c.status.in_((ISSUED, SENT))).values(
        status=SENT, sent_at=sa.func.coalesce(letters.c.sent_at, when), updated_at=now()))


def _aware(stamp: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives back the UTC times the journal writes without their zone."""
    return stamp.replace(tzinfo=dt.timezone.utc) if stamp is not None and stamp.tzinfo is None else stamp


@dataclass(frozen=True)
class IssuedPack:
    """What the journal records of a complete pack."""

    letter_id: int
    out_dir: str
    pack: str
    addressee: str
    subject: str
    signer: str
    executor: str
    sheets: str
    findings: int
    content_sha256: str
    files: dict[str, str]
    addressees: tuple[Addressee, ...] | None = None  # None: the deliveries stay as they are
    told: tuple[Told, ...] | None = None  # the findings it tells of; None: the history stays as it is
    follows: str | None = None
    deadline: dt.date | None = None  # None: as the journal has it
    case_file: str | None = None

    @classmethod
    def from_manifest(cls, letter: Letter, row: dict) -> IssuedPack:
        paths, digests = row_paths(row), row["sha256"].split(";")
        return cls(
            letter_id=letter.id, out_dir=letter.out_dir or "", pack=row["letter"].split("/")[0],
            addressee=letter.addressee, subject=letter.subject, signer=letter.signer, executor=letter.executor,
            sheets=letter.sheets, findings=int(row.get("findings") or 0),
            content_sha256=letter.content_sha256 or "", files=dict(zip(paths, digests)),
        )


def _issue(connection, record: IssuedPack, stamp: dt.datetime) -> None:
    current = connection.execute(sa.select(letters.c.status, letters.c.issued_at).where(letters.c.id == record.letter_id)).one()
    connection.execute(letters.update().where(letters.c.id == record.letter_id).values(
        status=SENT if current.status == SENT else ISSUED, pending=None, out_dir=record.out_dir, pack=record.pack,
        addressee=record.addressee, subject=record.subject, signer=record.signer, executor=record.executor,
        sheets=record.sheets, findings=record.findings, content_sha256=record.content_sha256,
        issued_at=current.issued_at or stamp, updated_at=stamp,
        **{k: v for k, v in (("deadline", record.deadline), ("case_file", record.case_file)) if v is not None},
    ))
    if record.told is not None:  # a build's record, not one recovered from a manifest
        connection.execute(letters.update().where(letters.c.id == record.letter_id).values(follows=record.follows))
        connection.execute(history.delete().where(history.c.letter_id == record.letter_id))
        if record.told:
            connection.execute(history.insert(), [{"letter_id": record.letter_id, **vars(t)} for t in record.told])
    if record.addressees is not None:
        _set_deliveries(connection, record.letter_id, record.addressees)
    connection.execute(files.delete().where(files.c.letter_id == record.letter_id))
    if record.files:
        connection.execute(files.insert(), [
            {"letter_id": record.letter_id, "path": path, "sha256": digest} for path, digest in record.files.items()
        ])


def _settle_replaced(connection, stamp: dt.datetime) -> None:
    """An old letter waiting to be replaced is replaced once its successor is issued; if
    the successor was given up, the old letter is what it was before."""
    waiting = sa.select(letters.c.id, letters.c.replaced_by).where(letters.c.pending == REPLACED)
    for letter_id, successor in connection.execute(waiting).all():
        status = connection.execute(sa.select(letters.c.status).where(letters.c.number == successor)).scalar()
        if status in (ISSUED, SENT):
            connection.execute(letters.update().where(letters.c.id == letter_id).values(
                status=REPLACED, pending=None, updated_at=stamp))
        elif status in (CANCELLED, None):
            connection.execute(letters.update().where(letters.c.id == letter_id).values(
                pending=None, replaced_by=None, updated_at=stamp))


def _lock_numbering(connection, year: int) -> None:
    """Make concurrent reservations wait for each other instead of failing on the constraint."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7337000 + :year)"), {"year": year})


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database:  # the per-user folder does not exist before the first build
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            dbapi_connection.execute("PRAGMA busy_timeout=60000")

        @sa.event.listens_for(engine, "begin")
        def _begin(connection):
            # take the write lock at the start, so that a check and the insert it allows
            # happen in one go and two builds never upgrade a read lock at once
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise JournalError(_explain(url, exc)) from exc


def _explain(url: str, exc: Exception) -> str:
    shown = sa.engine.make_url(url).render_as_string(hide_password=True) if "://" in url else url
    return (
        f"журнал регистрации {shown} недоступен ({str(exc).splitlines()[0][:200]}): проверьте путь или адрес "
        "базы данных в --journal или LETTERS_JOURNAL и что сервер базы данных запущен"
    )


def _lost(url: str, detail: str) -> str:
    shown = sa.engine.make_url(url).render_as_string(hide_password=True) if "://" in url else url
    first = (detail.strip().splitlines() or ["нет связи"])[0][:200]
    return (
        f"журнал регистрации {shown} перестал отвечать во время работы ({first}): "
        "сервер базы данных остановлен, перезапущен или недоступен"
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def new_build_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4()}"
