"""`letters verify OUT/<date>`: every file of every pack against manifest.csv and the journal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .journal import ACTIVE, REPLACED, STATUS_NAMES, Journal
from .packs import MANIFEST, read_manifest, row_paths, sha256
from .problems import Problems

_NOT_PACKS = {MANIFEST, "outbox"}


def verify(folder: Path, journal: Journal | None) -> Problems:
    """Missing, changed and extra files, and disagreements with the journal."""
    problems = Problems()
    if not (folder / MANIFEST).is_file():
        problems.error(f"в папке {folder} нет {MANIFEST}: это не папка сборки letters (OUT/ГГГГ-ММ-ДД)")
        return problems
    rows = read_manifest(folder)
    listed: set[str] = set()
    for row in rows:
        paths = row_paths(row)
        listed.update(paths)
        for path, digest in zip(paths, row["sha256"].split(";")):
            _check_file(folder, path, digest, problems)
        if journal is not None:
            _check_journal(journal, row, dict(zip(paths, row["sha256"].split(";"))), problems)
    _check_extra(folder, listed, {p.split("/")[0] for p in listed}, problems)
    if journal is not None and rows:
        _check_missing_packs(journal, folder, {r["number"] for r in rows}, problems)
    return problems


def _check_file(folder: Path, path: str, digest: str, problems: Problems) -> None:
    file = folder / path
    if not file.is_file():
        problems.error(f"файла нет: {path}", file=MANIFEST)
    elif sha256(file) != digest:
        problems.error(f"файл изменён после сборки (sha256 не совпадает с manifest.csv): {path}", file=MANIFEST)


def _check_journal(journal: Journal, row: dict, digests: dict[str, str], problems: Problems) -> None:
    letter = journal.find(row["number"])
    if letter is None:
        problems.error(f"номера {row['number']} ({row['municipality']}) нет в журнале регистрации", file=MANIFEST)
        return
    if letter.status not in (*ACTIVE, REPLACED):  # a replaced letter was sent: its pack is the archive
        problems.error(f"письмо № {letter.number} в журнале — {STATUS_NAMES.get(letter.status, letter.status)}, а пакет лежит в папке", file=MANIFEST)
    recorded = journal.files_of(letter.id)
    for path, digest in digests.items():
        if recorded.get(path) != digest:
            problems.error(f"файл не совпадает с записью журнала (sha256): {path}", file=MANIFEST)


def _check_extra(folder: Path, listed: set[str], packs: set[str], problems: Problems) -> None:
    for entry in sorted(folder.rglob("*")):
        relative = entry.relative_to(folder).as_posix()
        top = relative.split("/")[0]
        if entry.is_dir() or top in _NOT_PACKS or relative in listed:
            continue
        problems.error(f"лишний файл, которого нет в manifest.csv: {relative}", file=MANIFEST)


def _check_missing_packs(journal: Journal, folder: Path, numbers: set[str], problems: Problems) -> None:
    date = read_date(folder)
    if date is None:
        return
    live = [letter for letter in journal.list(date=date) if letter.status in ACTIVE and not letter.replaced_by]
    for letter in live:  # of every kind
        out_dir = Path(letter.out_dir or "")
        if out_dir.resolve() == folder.parent.resolve() and letter.number not in numbers:
            problems.error(f"письмо № {letter.number} ({letter.municipality}) есть в журнале, а его пакета в папке нет")


def read_date(folder: Path) -> dt.date | None:
    try:
        return dt.date.fromisoformat(folder.name)
    except ValueError:
        return None
