"""Step 3b of the director's report: the same figures as an .xlsx workbook (openpyxl).

Every figure is a number in its cell (a share is a fraction shown as «65,2 %»), so the sheets
can be sorted, summed and charted further. Three sheets: «Сводка» (the region), «По МО» (one
row per municipality, a column per error code, the region's total last) and «Ошибки» (the
region's findings by error code); once the journal has history, «По МО» gains the share at the
previous letter date and the change in percentage points, and a fourth sheet «Динамика» holds
the region's share per letter date. Each has bold headers, column widths, the header frozen and
repeated on every printed page, and A4 print settings.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .. import dates
from .figures import INDICATOR, TITLE, Figures, Line

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E8E8E8")
WRAP = Alignment(wrap_text=True, vertical="top")
PERCENT = "0.0%"
POINTS = "+0.0;-0.0;0.0"  # percentage points, signed


def write(figures: Figures, path: Path) -> None:
    book = Workbook()
    _summary(book.active, figures)
    _municipalities(book.create_sheet("По МО"), figures)
    _codes(book.create_sheet("Ошибки"), figures)
    if figures.trend:
        _trend(book.create_sheet("Динамика"), figures)
    book.save(path)


def _summary(sheet: Worksheet, figures: Figures) -> None:
    sheet.title = "Сводка"
    region = figures.region
    sheet.append([figures.sender])
    sheet.append([TITLE])
    sheet.append([f"по состоянию на {dates.numeric(figures.date)}"])
    sheet.append([])
    sheet.append(["Показатель", "Значение"])
    header = sheet.max_row
    rows = [
        ("Учреждений в реестре", region.registry, None),
        ("Учреждений с ошибками размещения виджета ПОС", region.with_findings, None),
        ("Учреждений с верно размещённым виджетом", region.correct, None),
        (f"Доля учреждений с верно размещённым виджетом ({INDICATOR})", _fraction(region), PERCENT),
        ("Зона", region.zone.name if region.zone else "—", None),
        ("Выявлено ошибок", region.findings, None),
        ("Муниципальных образований", len(figures.municipalities), None),
        ("Муниципальных образований с ошибками", sum(1 for m in figures.municipalities if m.with_findings), None),
    ]
    if figures.previous:
        rows += [
            (f"Доля на {dates.numeric(figures.previous)} (прошлая дата писем)", _earlier(region), PERCENT),
            (f"Изменение с {dates.numeric(figures.previous)}, п.п.", region.change, POINTS),
        ]
    for label, value, number_format in rows:
        sheet.append([label, value])
        if number_format:
            sheet.cell(sheet.max_row, 2).number_format = number_format
    sheet.append([])
    sheet.append([figures.history])
    for cell in (sheet["A1"], sheet["A2"]):
        cell.font = BOLD
    _header(sheet, header)
    _columns(sheet, (70, 18))
    for row in sheet.iter_rows(min_row=header + 1, max_col=1):
        row[0].alignment = WRAP
    _print(sheet, header, landscape=False)


def _municipalities(sheet: Worksheet, figures: Figures) -> None:
    codes = figures.codes
    then = [f"Доля на {dates.numeric(figures.previous)}", f"Изменение с {dates.numeric(figures.previous)}, п.п."] \
        if figures.previous else []
    sheet.append(["№", "Муниципальное образование", "Учреждений в реестре", "С ошибками", "С верным виджетом",
                  "Доля с верным виджетом", "Зона", "Ошибок всего", *(figures.title_of(c) for c in codes), *then])
    history = figures.previous is not None
    for n, line in enumerate(figures.municipalities, 1):
        sheet.append(_line(n, line, codes, history))
    sheet.append(_line(None, figures.region, codes, history))
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    for row in sheet.iter_rows(min_row=2, min_col=6, max_col=6):
        row[0].number_format = PERCENT
    if history:
        first = 9 + len(codes)
        for row in sheet.iter_rows(min_row=2, min_col=first, max_col=first + 1):
            row[0].number_format, row[1].number_format = PERCENT, POINTS
    _header(sheet, 1)
    _columns(sheet, (5, 40, 12, 12, 12, 12, 14, 10, *(16 for _ in codes), *(14 for _ in then)))
    sheet.row_dimensions[1].height = 60
    sheet.auto_filter.ref = f"A1:{get_column_letter(sheet.max_column)}{sheet.max_row - 1}"
    _print(sheet, 1, landscape=True)


def _line(n: int | None, line: Line, codes: tuple[str, ...], history: bool = False) -> list:
    zone = line.zone.name if line.zone else "нет учреждений"
    return [n, line.name, line.registry, line.with_findings, line.correct, _fraction(line), zone, line.findings,
            *(line.by_code.get(c, 0) for c in codes), *([_earlier(line), line.change] if history else [])]


def _trend(sheet: Worksheet, figures: Figures) -> None:
    """The region's share on each letter date, then on the report's date: a date, a fraction."""
    sheet.append(["Дата", "Доля учреждений с верно размещённым виджетом по региону", "Что это за дата"])
    for date, share in figures.trend:
        sheet.append([date, round(share / 100, 4),
                      "дата отчёта (таблица audit)" if date == figures.date else "дата писем (журнал регистрации)"])
        sheet.cell(sheet.max_row, 1).number_format = "DD.MM.YYYY"
        sheet.cell(sheet.max_row, 2).number_format = PERCENT
    sheet.append([])
    sheet.append([figures.history])
    _header(sheet, 1)
    _columns(sheet, (14, 30, 34))
    _print(sheet, 1, landscape=False)


def _codes(sheet: Worksheet, figures: Figures) -> None:
    sheet.append(["Код ошибки", "Наименование ошибки", "Ошибок", "Муниципальных образований с этой ошибкой"])
    for error in figures.errors:
        found = figures.region.by_code.get(error.code, 0)
        where = sum(1 for m in figures.municipalities if m.by_code.get(error.code))
        sheet.append([error.code, error.title, found, where])
    sheet.append(["", "Всего", figures.region.findings, None])
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    _header(sheet, 1)
    _columns(sheet, (22, 70, 12, 22))
    _print(sheet, 1, landscape=False)


def _earlier(line: Line) -> float | None:
    share = line.earlier_share
    return None if share is None else round(share / 100, 4)


def _fraction(line: Line) -> float | None:
    return None if line.share is None else round(line.correct / line.registry, 4)


def _header(sheet: Worksheet, row: int) -> None:
    for cell in sheet[row]:
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    sheet.freeze_panes = sheet.cell(row + 1, 1)


def _columns(sheet: Worksheet, widths) -> None:
    for n, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(n)].width = width


def _print(sheet: Worksheet, header: int, landscape: bool) -> None:
    """A4, fitted to the page's width, the header repeated on every page."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header}:{header}"
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
