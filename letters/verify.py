"""`letters verify OUT/<date>`: every file of every pack against manifest.csv, and every
field of manifest.csv against the journal, which is the record that counts: `letters mail`
sends what the journal says, so a manifest that disagrees with it is an error."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import re
from pathlib import Path
from types import SimpleNamespace

from . import dates, hints
from .addresses import for_smtp
from .addresses import split as split_addresses
from .journal import ACTIVE, REPLACED, STATUS_NAMES, Journal, Letter
from .mail.compose import OUTBOX, file_stem
from .overview import PAGE, PRINT, THUMBNAILS
from .packs import DISPLACED, MANIFEST, read_manifest, row_paths, sha256
from .problems import Problems

SENT_COPIES = "sent"  # copies of the messages actually sent (letters mail)
_NOT_PACKS = {MANIFEST, OUTBOX, SENT_COPIES, DISPLACED, PAGE, THUMBNAILS, PRINT}  # the tool's, made anew each build
_LOOKS_LIKE_A_PACK = re.compile(r"^\d")  # pack folders start with their number: «1337-24 Город Ишим»


def verify(folder: Path, journal: Journal | None) -> Problems:
    """Missing, changed and extra files, and disagreements with the journal."""
    problems = Problems()
    if not (folder / MANIFEST).is_file():
        problems.error(f"в папке {folder} нет {MANIFEST}: это не папка сборки letters (OUT/ГГГГ-ММ-ДД)")
        return problems
    rows = read_manifest(folder)
    listed: set[str] = set()
    letters: list[Letter] = []
    for row in rows:
        paths = row_paths(row)
        listed.update(paths)
        for path, digest in zip(paths, row["sha256"].split(";")):
            _check_file(folder, path, digest, problems)
        if journal is not None:
            letter = _check_journal(journal, folder, row, dict(zip(paths, row["sha256"].split(";"))), problems)
            letters += [letter] if letter else []
            listed.update(_check_kept(folder, letter, problems))
    _check_extra(folder, listed, {p.split("/")[0] for p in listed}, problems)
    if journal is not None:
        _check_missing_packs(journal, folder, {r["number"] for r in rows}, problems)
        _check_outbox(folder, letters, problems)
    return problems


def _check_file(folder: Path, path: str, digest: str, problems: Problems) -> None:
    file = folder / path
    if not file.is_file():
        problems.error(f"файла нет: {path}", file=MANIFEST)
    elif sha256(file) != digest:
        problems.error(f"файл изменён после сборки (sha256 не совпадает с manifest.csv): {path}", file=MANIFEST)


def _check_journal(journal: Journal, folder: Path, row: dict, digests: dict[str, str], problems: Problems) -> Letter | None:
    letter = journal.find(row["number"])
    if letter is None:
        problems.error(f"номера {row['number']} ({row['municipality']}) нет в журнале регистрации", file=MANIFEST)
        return None
    if letter.status not in (*ACTIVE, REPLACED):  # a replaced letter was sent: its pack is the archive
        problems.error(f"письмо № {letter.number} в журнале — {STATUS_NAMES.get(letter.status, letter.status)}, а пакет лежит в папке", file=MANIFEST)
    for field, (in_manifest, in_journal) in _fields(row, letter).items():
        if in_manifest != in_journal:
            problems.error(f"письмо № {letter.number}: «{field}» в manifest.csv — «{in_manifest}», а в журнале — "
                           f"«{in_journal}»; верно то, что в журнале: пересоберите пакет — "
                           + hints.command("build", "--date", dates.numeric(letter.date),
                                           request=SimpleNamespace(out=folder.parent)), file=MANIFEST)
    if letter.out_dir and Path(letter.out_dir).resolve() != folder.parent.resolve():
        problems.error(f"письмо № {letter.number} по журналу лежит в папке {Path(letter.out_dir) / folder.name}, "
                       f"а эта папка — другая (копия?): проверяйте и отправляйте письма из той папки", file=MANIFEST)
    recorded = journal.files_of(letter.id)
    for path, digest in digests.items():
        if recorded.get(path) != digest:
            problems.error(f"файл не совпадает с записью журнала (sha256): {path}", file=MANIFEST)
    return letter


def _fields(row: dict, letter: Letter) -> dict[str, tuple[str, str]]:
    """Each field of a manifest row beside what the journal says of it."""
    sheets = letter.sheets.split("+")[1:] if letter.sheets else []
    addresses = sorted(a for d in letter.deliveries for a in d.address_list)
    return {
        "date": (row["date"], dates.numeric(letter.date)),
        "municipality": (row["municipality"], letter.municipality),
        "email": ("; ".join(sorted(split_addresses(row["email"]))), "; ".join(addresses)),
        "letter": (row["letter"].split("/")[0], letter.pack or row["letter"].split("/")[0]),
        "appendix_sheets": (row["appendix_sheets"], ";".join(sheets)),
        "findings": (row["findings"], str(letter.findings)),
        "kind": (row["kind"], letter.kind),
    }


def _check_kept(folder: Path, letter: Letter | None, problems: Problems) -> set[str]:
    """The files the clerk gave the journal (the signed scan, its signature, the reply):
    there, and as they were recorded."""
    kept = letter.kept_files() if letter is not None else {}
    for path, digest in kept.items():
        file = folder / path
        if not file.is_file():
            problems.error(f"файла нет: {path} (он записан в журнал у письма № {letter.number})", file=MANIFEST)
        elif sha256(file) != digest:
            problems.error(f"файл изменён после того, как записан в журнал (sha256 не совпадает): {path}", file=MANIFEST)
    return set(kept)


def _check_extra(folder: Path, listed: set[str], packs: set[str], problems: Problems) -> None:
    """Files the build did not write are the clerk's: named, never an error; a folder that
    looks like a pack but is not one of the manifest is."""
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and entry.name not in packs | _NOT_PACKS and _LOOKS_LIKE_A_PACK.match(entry.name):
            problems.error(f"папка «{entry.name}» похожа на пакет письма, но её нет в manifest.csv: это не пакет "
                           "этой сборки — уберите её отсюда", file=MANIFEST)
    for entry in sorted(folder.rglob("*")):
        relative = entry.relative_to(folder).as_posix()
        top = relative.split("/")[0]
        if entry.is_dir() or top in _NOT_PACKS or relative in listed:
            continue
        problems.warning(f"файл не из сборки (его нет в manifest.csv; программа его не трогает): {relative}",
                         file=MANIFEST)


def _check_missing_packs(journal: Journal, folder: Path, numbers: set[str], problems: Problems) -> None:
    date = read_date(folder)
    if date is None:
        return
    live = [letter for letter in journal.list(date=date) if letter.status in ACTIVE and not letter.replaced_by]
    for letter in live:  # of every kind
        out_dir = Path(letter.out_dir or "")
        if out_dir.resolve() == folder.parent.resolve() and letter.number not in numbers:
            problems.error(f"письмо № {letter.number} ({letter.municipality}) есть в журнале, а его пакета в папке нет")


def _check_outbox(folder: Path, letters: list[Letter], problems: Problems) -> None:
    """Every message waiting in the outbox is one `letters mail` wrote, to the addresses
    of the journal: a message put there by hand could be sent by anyone who opens it."""
    outbox = folder / OUTBOX
    if not outbox.is_dir():
        return
    expected = {}
    for letter in letters:
        several = len(letter.deliveries) > 1
        for delivery in letter.deliveries:
            expected[f"{file_stem(letter.number, delivery.municipality if several else '')}.eml"] = delivery
    for file in sorted(p for p in outbox.rglob("*") if p.is_file()):
        relative = file.relative_to(folder).as_posix()
        delivery = expected.get(file.name) if file.parent == outbox else None
        if delivery is None:
            problems.error(f"{relative}: это письмо в outbox не писала программа (его нет в журнале) — "
                           "не отправляйте его; удалите его и запустите letters mail снова", file=OUTBOX)
            continue
        to = _recipients(file)
        if to != sorted(a.lower() for a in for_smtp(delivery.addresses)[0]):
            problems.error(f"{relative}: адресовано {', '.join(to) or 'никому'}, а в журнале — "
                           f"{', '.join(delivery.address_list) or 'адреса нет'}; удалите файл и запустите "
                           "letters mail снова", file=OUTBOX)


def _recipients(eml: Path) -> list[str]:
    with eml.open("rb") as handle:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parse(handle)
    return sorted(address.addr_spec.lower() for address in getattr(headers["To"], "addresses", ()))


def read_date(folder: Path) -> dt.date | None:
    try:
        return dt.date.fromisoformat(folder.name)
    except ValueError:
        return None
