"""`letters journal cancel --date`: undo a mistaken batch.

Every letter of the date that has not gone out is cancelled (its number is never given
again), its pack leaves the date folder and its message leaves the outbox; the clerk's
files found in those packs are kept. A letter that went out is never cancelled this way:
it may have been read, so it is named instead."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .journal import CANCELLED, REPLACED, Journal, Letter
from .mail.compose import OUTBOX, file_stem
from .packs import Kept, remove_packs


@dataclass
class Cancelled:
    cancelled: list[Letter] = field(default_factory=list)
    refused: list[Letter] = field(default_factory=list)  # went out: not cancelled
    kept: list[tuple[Path, Kept]] = field(default_factory=list)  # the clerk's files, by date folder


def to_cancel(journal: Journal, date: dt.date) -> Cancelled:
    """What `cancel_date` would do, to ask the clerk before doing it."""
    plan = Cancelled()
    for letter in journal.list(date=date):
        if letter.status in (CANCELLED, REPLACED):
            continue
        (plan.refused if letter.went_out else plan.cancelled).append(letter)
    return plan


def cancel_date(journal: Journal, date: dt.date, why: str) -> Cancelled:
    plan = to_cancel(journal, date)
    for letter in plan.cancelled:  # the journal first: a number given up stays given up
        journal.cancel(letter.number, why)
    for folder, letters in _by_folder(plan.cancelled, date).items():
        numbers = {letter.number for letter in letters}
        plan.kept += [(folder, kept) for kept in remove_packs(folder, numbers)]
        _clear_outbox(folder / OUTBOX, letters)
    return plan


def _by_folder(letters: list[Letter], date: dt.date) -> dict[Path, list[Letter]]:
    folders: dict[Path, list[Letter]] = {}
    for letter in letters:
        if letter.out_dir:
            folders.setdefault(Path(letter.out_dir) / date.isoformat(), []).append(letter)
    return {folder: found for folder, found in folders.items() if folder.is_dir()}


def _clear_outbox(outbox: Path, letters: list[Letter]) -> None:
    """The tool's own previews of cancelled letters: nobody must send them by hand."""
    if not outbox.is_dir():
        return
    stems = {file_stem(letter.number) for letter in letters}
    for file in outbox.glob("*.eml"):
        if file.stem in stems or any(file.stem.startswith(f"{stem} ") for stem in stems):
            file.unlink()
