"""The journal as a paper register of outgoing letters: for reading, and for export to
.xlsx or .csv ready for the department's document system."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from .. import dates
from ..packs import spreadsheet_safe
from .store import STATUS_NAMES, Letter

COLUMNS = (
    "Рег. номер", "Дата", "Адресат", "Краткое содержание", "Кем подписан", "Исполнитель",
    "Листов", "Экз.", "Дело", "Отметка об отправке", "Ответ (вх. № и дата)", "Статус", "Примечание",
)


def register_rows(letters: list[Letter]) -> list[dict[str, str]]:
    return [_row(letter) for letter in letters]


def _safe(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """No cell that Excel or LibreOffice would run as a formula."""
    return [{k: spreadsheet_safe(v) for k, v in row.items()} for row in rows]


def _row(letter: Letter) -> dict[str, str]:
    return dict(zip(COLUMNS, (
        letter.number,
        dates.numeric(letter.date),
        f"{letter.municipality}: {letter.addressee}" if letter.addressee else letter.municipality,
        letter.subject,
        letter.signer,
        letter.executor,
        register_sheets(letter.sheets),
        "1",
        "",
        _sent(letter),
        reply(letter),
        STATUS_NAMES.get(letter.status, letter.status),
        _note(letter),
    )))


def register_sheets(sheets: str) -> str:
    """«2+6+4+2» (letter, appendices) → «2+12», as a register writes it."""
    counts = [int(s) for s in sheets.split("+") if s.isdigit()]
    return f"{counts[0]}+{sum(counts[1:])}" if len(counts) > 1 else sheets


def _sent(letter: Letter) -> str:
    """How and when each delivery went: «эл. почта 20.05.2024 10:15: adm@ishim.ru»."""
    went = []
    for delivery in letter.deliveries:
        if delivery.sent_at is None:
            continue
        stamp = delivery.sent_at.astimezone().strftime("%d.%m.%Y %H:%M")
        who = delivery.reached or ""
        went.append(f"{delivery.route or ''} {stamp}: {who}".strip().rstrip(":"))
    return "; ".join(went)


def reply(letter: Letter) -> str:
    """«вх. № 01-12/345 от 03.06.2024»: the municipality's answer, as the register links it."""
    if not letter.reply_number:
        return ""
    return f"вх. № {letter.reply_number}" + (f" от {dates.numeric(letter.reply_date)}" if letter.reply_date else "")


def _note(letter: Letter) -> str:
    parts = []
    if letter.reason:
        parts.append(letter.reason)
    if letter.replaces:
        parts.append(f"взамен № {letter.replaces}")
    if letter.replaced_by:
        parts.append(f"заменено письмом № {letter.replaced_by}")
    return "; ".join(parts)


def export(letters: list[Letter], path: Path) -> None:
    """To .xlsx or .csv (UTF-8 with BOM and `;`, as Excel in Russia opens it)."""
    rows = _safe(register_rows(letters))
    if path.suffix.lower() == ".xlsx":
        pd.DataFrame(rows, columns=COLUMNS).to_excel(path, index=False, sheet_name="Журнал", engine="openpyxl")
        return
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
