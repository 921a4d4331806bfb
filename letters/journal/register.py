"""The journal as the paper register of outgoing letters: on screen, and exported to .xlsx
(laid out to print: title, header repeated on every A4 landscape page) or .csv (the same
columns, for the department's document system).

The columns are those of a paper register (see `shared/notes/measured-facts.md`), with the
reply beside the letter it answers, as СЭД registers link them, and the journal's own two
at the end: the status and the note that explains a cancelled or replaced number.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .. import dates
from ..packs import spreadsheet_safe
from .store import EMAIL, STATUS_NAMES, Letter

# column → its width in characters, as the printed page holds them
WIDTHS = {
    "Рег. номер": 10, "Дата": 11, "Адресат": 38, "Краткое содержание": 32, "Листов": 8, "Экз.": 5,
    "Исполнитель": 22, "Кем подписан": 20, "Отметка об отправке": 30, "Срок исполнения": 11,
    "Ответ (вх. № и дата)": 20, "Дело": 9, "Статус": 12, "Примечание": 24,
}
COLUMNS = tuple(WIDTHS)
_DATES = ("Дата", "Срок исполнения")
_HEADER_ROW = 2  # under the title


def entries(letters: list[Letter]) -> list[dict[str, object]]:
    """One row per letter, with real values: dates as dates, copies as a number."""
    return [_entry(letter) for letter in letters]


def register_rows(letters: list[Letter]) -> list[dict[str, str]]:
    """The same as text, as the screen and the .csv show it."""
    return [{k: _text(v) for k, v in row.items()} for row in entries(letters)]


def _entry(letter: Letter) -> dict[str, object]:
    return dict(zip(COLUMNS, (
        letter.number,
        letter.date,
        f"{letter.municipality}: {letter.addressee}" if letter.addressee else letter.municipality,
        letter.subject,
        register_sheets(letter.sheets),
        max(1, len(letter.deliveries)),  # a letter by list: a copy for each head
        letter.executor,
        letter.signer,
        _sent(letter),
        letter.deadline,
        reply(letter),
        letter.case_file or "",
        STATUS_NAMES.get(letter.status, letter.status),
        _note(letter),
    )))


def _text(value: object) -> str:
    if isinstance(value, dt.date):
        return dates.numeric(value)
    return "" if value is None else str(value)


def register_sheets(sheets: str) -> str:
    """«2+6+4+2» (letter, appendices) → «2+12», as a register writes it."""
    counts = [int(s) for s in sheets.split("+") if s.isdigit()]
    return f"{counts[0]}+{sum(counts[1:])}" if len(counts) > 1 else sheets


def _sent(letter: Letter) -> str:
    """How and when each delivery went: «эл. почта 20.05.2024 10:15: adm@ishim.ru»,
    «почта 21.05.2024 (заказное 62500095123456)»; a letter by list names each head."""
    went = []
    several = len(letter.deliveries) > 1
    for delivery in letter.deliveries:
        if delivery.sent_at is None:
            continue
        local = delivery.sent_at.astimezone()
        if delivery.route == EMAIL:
            text = f"{delivery.route} {local:%d.%m.%Y %H:%M}" + (f": {delivery.reached}" if delivery.reached else "")
        else:  # the clerk gave the day only
            text = f"{delivery.route or ''} {local:%d.%m.%Y}".strip() + (f" ({delivery.note})" if delivery.note else "")
        went.append(f"{delivery.municipality} — {text}" if several else text)
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
    if path.suffix.lower() == ".xlsx":
        _workbook(letters).save(path)
        return
    rows = [{k: spreadsheet_safe(v) for k, v in row.items()} for row in register_rows(letters)]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


# --- the printed register ---

def title(letters: list[Letter]) -> str:
    years = sorted({letter.year for letter in letters}) or [dt.date.today().year]
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
    return f"Журнал регистрации исходящих писем за {span} год" + ("" if len(years) == 1 else "ы")


def _workbook(letters: list[Letter]) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = "Журнал"
    last_column = get_column_letter(len(COLUMNS))
    sheet["A1"] = title(letters)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells(f"A1:{last_column}1")
    _header(sheet)
    for number, row in enumerate(entries(letters), _HEADER_ROW + 1):
        _row(sheet, number, row)
    last_row = max(_HEADER_ROW + 1, _HEADER_ROW + len(letters))
    sheet.freeze_panes = f"A{_HEADER_ROW + 1}"
    sheet.auto_filter.ref = f"A{_HEADER_ROW}:{last_column}{last_row}"
    _page(sheet, f"A1:{last_column}{last_row}")
    return book


_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _header(sheet) -> None:
    for column, (name, width) in enumerate(WIDTHS.items(), 1):
        cell = sheet.cell(_HEADER_ROW, column, name)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="E7E6E6")
        cell.border = _BOX
        sheet.column_dimensions[get_column_letter(column)].width = width


def _row(sheet, number: int, row: dict[str, object]) -> None:
    for column, (name, value) in enumerate(row.items(), 1):
        cell = sheet.cell(number, column, value if value != "" else None)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # text, never a formula
        if name in _DATES and value is not None:
            cell.number_format = "DD.MM.YYYY"
        cell.alignment = Alignment(vertical="top", wrap_text=True)
        cell.border = _BOX


def _page(sheet, area: str) -> None:
    """A4 landscape, as wide as the page, the header on every page, pages numbered."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.print_title_rows = f"{_HEADER_ROW}:{_HEADER_ROW}"
    sheet.print_area = area
    sheet.oddFooter.center.text = "Страница &P из &N"
