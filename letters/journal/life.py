"""A letter's life after its build, as the clerk records it: sent by a route other than
e-mail (`journal sent`), signed (`journal signed`: the scan and its detached signature,
kept with the pack and hashed into the journal), answered (`journal reply`).

Each function checks everything before it writes anything: a wrong number, a letter that
cannot be in that state, a date before the letter's own, a scan that is no PDF — each is
a `JournalError` with what to do, and the journal and the pack stay as they were.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pikepdf

from .. import dates
from ..packs import read_manifest, safe_name
from .store import CANCELLED, REPLACED, RESERVED, ROUTES, SENT, STATUS_NAMES, Journal, JournalError, Letter

SIGNED_SUFFIX = " (подписано)"  # «Письмо 1337-24 (подписано).pdf», beside «Письмо 1337-24.pdf»


def route_named(text: str) -> str:
    """«сэд» → «СЭД»: the route as the register writes it."""
    for route in ROUTES:
        if route.casefold() == text.strip().casefold():
            return route
    raise JournalError(f"способ отправки «{text}» неизвестен; возможные: {', '.join(ROUTES)} "
                       "(электронную почту отмечает сама letters mail)")


def record_sent(journal: Journal, numbers: list[str], route: str, on: dt.date, note: str = "",
                today: dt.date | None = None) -> list[Letter]:
    """Every delivery of each letter that has not gone yet went by `route` on `on`."""
    route = route_named(route)
    found = [_sendable(journal, number, on, today or dt.date.today()) for number in dict.fromkeys(numbers)]
    journal.mark_all_sent([letter.number for letter in found], route, _noon(on), note=note.strip())
    return [journal.find(letter.number) for letter in found]


def _sendable(journal: Journal, number: str, on: dt.date, today: dt.date) -> Letter:
    letter = _letter(journal, number)
    if letter.status == RESERVED:
        raise JournalError(f"письмо № {number} ещё не собрано (пакет пишется или сборка была прервана): "
                           "соберите письма, потом отмечайте отправку")
    _check_date(letter, on, today, "отправки")
    waiting = [d for d in letter.deliveries if d.sent_at is None]
    if letter.deliveries and not waiting:
        went = "; ".join(f"{d.route or ''} {_day(d.sent_at)}".strip() for d in letter.deliveries)
        raise JournalError(f"письмо № {number} ({letter.municipality}) уже отправлено: {went}")
    if open_ := [d for d in letter.deliveries if d.attempt_at is not None]:
        raise JournalError(
            f"письмо № {number}: отправка по электронной почте начата и не подтверждена (Message-ID "
            f"{open_[0].message_id}); сначала решите её: letters mail --date {dates.numeric(letter.date)} --confirm "
            f"{number} (ушло) или … --send --retry {number}")
    return letter


def record_signed(journal: Journal, number: str, scan: Path, signature: Path | None = None,
                  when: dt.datetime | None = None) -> Letter:
    """Copy the signed scan (and its signature) into the letter's pack and record their sha256."""
    letter = _letter(journal, number)
    if letter.status == RESERVED:
        raise JournalError(f"письмо № {number} ещё не собрано: соберите письма, потом добавляйте подписанный скан")
    if letter.signed_file and letter.status == SENT and any(d.route == "эл. почта" for d in letter.deliveries):
        raise JournalError(f"письмо № {number} уже подписано ({letter.signed_file}) и отправлено с этим сканом: "
                           "отправленное не заменяется")
    data = _pdf(scan)
    sig = _signature(signature) if signature else None
    folder, stem = _pack_of(letter)
    files: dict[str, str | None] = {"signature_file": None, "signature_sha256": None}
    scan_path = f"{stem}{SIGNED_SUFFIX}.pdf"
    files.update(signed_file=scan_path, signed_sha256=_place(folder, scan_path, data))
    if sig is not None:
        files.update(signature_file=f"{scan_path}.sig", signature_sha256=_place(folder, f"{scan_path}.sig", sig))
    journal.set_signed(letter.id, files, when or dt.datetime.now(dt.timezone.utc))
    return journal.find(number)


def record_reply(journal: Journal, number: str, reply_number: str, on: dt.date, file: Path | None = None,
                 today: dt.date | None = None) -> Letter:
    """Link the municipality's answer to the letter; its file, if any, goes into the pack."""
    letter = _letter(journal, number)
    reply_number = reply_number.strip()
    if not reply_number:
        raise JournalError("укажите входящий номер ответа в --number, например --number 01-12/345")
    if letter.status not in (SENT, REPLACED):
        raise JournalError(f"письмо № {number} ({letter.municipality}) ещё не отправлено — ответа на него быть не может; "
                           f"если оно ушло не по электронной почте, отметьте это: letters journal sent {number} "
                           f"--by почта --on ДД.ММ.ГГГГ")
    _check_date(letter, on, today or dt.date.today(), "ответа")
    path = digest = None
    if file is not None:
        data = _read(file, "файл ответа")
        folder, stem = _pack_of(letter)
        pack = stem.rsplit("/", 1)[0]
        path = f"{pack}/{safe_name(f'Ответ вх. № {reply_number} от {dates.numeric(on)}')}{file.suffix.lower()}"
        digest = _place(folder, path, data)
    journal.set_reply(letter.id, reply_number, on, path, digest)
    return journal.find(number)


# --- checks ---

def _letter(journal: Journal, number: str) -> Letter:
    letter = journal.find(number.strip())
    if letter is None:
        raise JournalError(f"номера {number} нет в журнале регистрации (проверьте номер: letters journal)")
    if letter.status == CANCELLED:
        raise JournalError(f"письмо № {number} аннулировано" + (f" ({letter.reason})" if letter.reason else "")
                           + ": его не отправляют и не подписывают")
    return letter


def _check_date(letter: Letter, on: dt.date, today: dt.date, what: str) -> None:
    if on < letter.date:
        raise JournalError(f"дата {what} {dates.numeric(on)} раньше даты письма № {letter.number} "
                           f"({dates.numeric(letter.date)}): проверьте дату")
    if on > today:
        raise JournalError(f"дата {what} {dates.numeric(on)} ещё не наступила: проверьте дату")


def _read(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise JournalError(f"{what} {path} не найден: проверьте путь") from None
    except OSError as exc:
        raise JournalError(f"{what} {path} не читается: {exc.strerror or exc}") from None
    if not data:
        raise JournalError(f"{what} {path} пустой (0 байт): отсканируйте письмо заново")
    return data


def _pdf(path: Path) -> bytes:
    """The scan must be a PDF that opens and has a page: anything else is not a signed letter."""
    data = _read(path, "скан")
    try:
        with pikepdf.open(path) as pdf:
            pages = len(pdf.pages)
    except pikepdf.PasswordError:
        raise JournalError(f"скан {path} защищён паролем: сохраните его без пароля") from None
    except (pikepdf.PdfError, ValueError, OSError):
        raise JournalError(f"скан {path} — не PDF (или файл повреждён): сохраните скан подписанного письма "
                           "в формате PDF") from None
    if pages == 0:
        raise JournalError(f"в скане {path} нет ни одной страницы: отсканируйте письмо заново")
    return data


def _signature(path: Path) -> bytes:
    return _read(path, "файл подписи")


# --- the pack ---

def _pack_of(letter: Letter) -> tuple[Path, str]:
    """The date folder and the letter's path in it without its extension («1337-24 Город Ишим/Письмо 1337-24»)."""
    folder = letter.folder
    row = None
    if folder is not None and folder.is_dir():
        row = next((r for r in read_manifest(folder) if r["number"] == letter.number), None)
    if row is None:
        raise JournalError(f"пакета письма № {letter.number} нет на месте ({folder or 'папка сборки не записана'}): "
                           "файл кладётся рядом с письмом; верните папку сборки или соберите письма заново")
    return folder, row["letter"].rsplit(".", 1)[0]


def _place(folder: Path, path: str, data: bytes) -> str:
    """Write a copy of the clerk's file into the pack, whole or not at all; its sha256."""
    target = folder / path
    partial = target.with_name(f".{target.name}.writing")
    partial.write_bytes(data)
    os.replace(partial, target)
    return hashlib.sha256(data).hexdigest()


def _noon(day: dt.date) -> dt.datetime:
    """A day with no hour: noon local time, so that any time zone shows the same date."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.datetime.now().astimezone().tzinfo).astimezone(dt.timezone.utc)


def _day(stamp: dt.datetime | None) -> str:
    return stamp.astimezone().strftime("%d.%m.%Y") if stamp else ""


__all__ = ["ROUTES", "SIGNED_SUFFIX", "STATUS_NAMES", "record_reply", "record_sent", "record_signed", "route_named"]
