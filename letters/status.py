"""`letters status`: where each municipality stands between two checks.

For each municipality: its last letter (number, date, deadline, how and when it went, the
reply), what that letter told of, and how it stands in today's audit table — fixed since,
still there, new — and whether it is overdue: the deadline has passed and there is no
reply, or errors remain. This is the control of execution a СЭД keeps for letters, applied
to the findings themselves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from . import dates
from .followup import compared, last_letters
from .journal import Journal, Letter, open_journal
from .kinds import PERSONAL
from .model import Dataset
from .names import name_key
from .problems import Problems
from .validate import load_dataset


@dataclass
class Row:
    municipality: str
    number: str = ""
    date: dt.date | None = None
    deadline: dt.date | None = None
    sent: str = ""  # «эл. почта 21.05.2024; почта 22.05.2024»
    reply: str = ""  # «вх. № 12-34 от 30.05.2024»
    told: int | None = None  # None: the letter predates the journal's history
    fixed: int | None = None
    remaining: int | None = None
    new: int = 0
    overdue: str = ""  # why, or empty


@dataclass
class Status:
    on: dt.date
    rows: list[Row] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(row, name) or 0 for row in self.rows)

    @property
    def overdue(self) -> int:
        return sum(bool(row.overdue) for row in self.rows)

    @property
    def letters(self) -> int:
        return sum(bool(row.number) for row in self.rows)


def read(data: Path, journal: str | None, on: dt.date, only: tuple[str, ...], problems: Problems) -> Status | None:
    """The status from the data folder's tables and the journal; None when the tables are wrong."""
    dataset = load_dataset(data, problems)
    if dataset is None:
        return None
    return status(open_journal(journal, data, problems), dataset, on, only)


def status(journal: Journal, dataset: Dataset, on: dt.date, only: tuple[str, ...] = ()) -> Status:
    """The standing of every municipality of the table (and of any other the journal wrote to)
    on `on`; `only`: those whose name holds one of these texts, case and spaces aside."""
    after = on + dt.timedelta(days=1)
    letters = last_letters(journal, after, dataset.settings.subject, PERSONAL.recorded)
    standing = compared(journal, dataset, after, PERSONAL.recorded)
    names = list(dict.fromkeys([m.name for m in dataset.municipalities] + sorted(letters)))
    wanted = [name_key(text) for text in only]
    result = Status(on)
    for name in names:
        if wanted and not any(part in name_key(name) for part in wanted):
            continue
        result.rows.append(_row(name, letters.get(name), standing.get(name), len(_keys(dataset, name)), on))
    return result


def _keys(dataset: Dataset, name: str) -> set[tuple[str, str]]:
    return {(f.organization.site_key, f.error.code) for f in dataset.findings_of(name)}


def _row(name: str, letter: Letter | None, compared_, found: int, on: dt.date) -> Row:
    if letter is None:
        return Row(name, new=found)
    row = Row(name, letter.number, letter.date, letter.deadline, _sent(letter), _reply(letter))
    if compared_ is not None:
        _, earlier = compared_
        row.told, row.fixed, row.remaining, row.new = len(earlier.told), earlier.fixed, len(earlier.remaining), earlier.new
    row.overdue = _overdue(row, on)
    return row


def _overdue(row: Row, on: dt.date) -> str:
    if row.deadline is None or row.deadline >= on:
        return ""
    reasons = []
    if not row.reply:
        reasons.append("ответа нет")
    if row.remaining:
        reasons.append(f"не устранено ошибок: {row.remaining}")
    return f"срок {dates.numeric(row.deadline)} прошёл: " + ", ".join(reasons) if reasons else ""


def _sent(letter: Letter) -> str:
    went = [f"{d.route} {dates.numeric(d.sent_at.date())}" for d in letter.deliveries if d.sent_at and d.route]
    return "; ".join(dict.fromkeys(went)) or "не отправлено"


def _reply(letter: Letter) -> str:
    if not letter.reply_number and not letter.reply_date:
        return ""
    when = f" от {dates.numeric(letter.reply_date)}" if letter.reply_date else ""
    return f"вх. № {letter.reply_number or '—'}{when}"


COLUMNS = ("Муниципальное образование", "Письмо №", "Дата", "Срок", "Отправлено", "Ответ",
           "Ошибок в письме", "Устранено", "Осталось", "Новых", "Просрочено")


def export(result: Status, path: Path) -> None:
    """A laid-out workbook: a title, a frozen bold header, real numbers and dates, totals,
    A4 landscape with the header on every printed page."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Состояние"
    sheet.append([f"Состояние по письмам о виджетах ПОС на {dates.numeric(result.on)}"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(list(COLUMNS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in result.rows:
        sheet.append([row.municipality, row.number or None, row.date, row.deadline, row.sent or None, row.reply or None,
                      row.told, row.fixed, row.remaining, row.new, row.overdue or None])
        for column in (3, 4):
            sheet.cell(sheet.max_row, column).number_format = "DD.MM.YYYY"
    sheet.append(["Итого по региону", result.letters, None, None, None, None, result.total("told"),
                  result.total("fixed"), result.total("remaining"), result.total("new"), result.overdue])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for index, width in enumerate((34, 11, 12, 12, 22, 22, 10, 10, 10, 8, 40), 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for line in sheet.iter_rows(min_row=3):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(COLUMNS))}{sheet.max_row - 1}"
    sheet.print_title_rows = "2:2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    partial = path.with_name(f".{path.name}.writing")
    book.save(partial)
    partial.replace(path)
