"""Step 1: read the tables of a data folder, whatever system exported them.

A table may be .xlsx, .xls, .ods or .csv (UTF-8 with or without BOM, UTF-16, or
Windows-1251; `,` or `;`). Its header is the first row that holds every required
column, so title rows above it are fine. Rows keep the number the clerk sees in the
spreadsheet, for the messages.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .problems import Problems

EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\t"), " ")
_IGNORED_HEADERS = {"№", "№п.п.", "№п/п", "№пп", "n", "no"}


@dataclass(frozen=True)
class Column:
    field: str  # the English alias, also the name used in code
    headers: tuple[str, ...]  # the canonical Russian header first
    required: bool = True

    @property
    def title(self) -> str:
        return self.headers[0]

    def matches(self, header: str) -> bool:
        key = header_key(header)
        return key == header_key(self.field) or any(key == header_key(h) for h in self.headers)


SCHEMAS: dict[str, tuple[Column, ...]] = {
    "municipalities": (
        Column("municipality", ("Муниципальное образование",)),
        Column("head_position", ("Должность главы",)),
        Column("head_name", ("ФИО главы",)),
        Column("head_position_dative", ("Должность главы (кому)",), required=False),
        Column("head_name_dative", ("ФИО главы (кому)",), required=False),
        Column("email", ("Электронная почта",), required=False),
        Column("address", ("Почтовый адрес",), required=False),
    ),
    "organizations": (
        Column("name", ("Наименование органа власти", "Наименование организации")),
        Column("municipality", ("Муниципальное образование",)),
        Column("site", ("Ссылка на сайт",)),
        Column("lko_messages", ("ЛКО для сообщений",), required=False),
        Column("lko_votes", ("ЛКО для голосований (при наличии)", "ЛКО для голосований"), required=False),
    ),
    "audit": (
        Column("site", ("Ссылка на сайт",)),
        Column("error", ("Код ошибки",)),
        Column("checked_at", ("Дата проверки",)),
        Column("details", ("Комментарий",), required=False),
    ),
    "errors": (
        Column("error", ("Код ошибки",)),
        Column("title", ("Наименование ошибки",)),
        Column("recommendation", ("Рекомендации по устранению",)),
    ),
    "plan": (
        Column("action", ("Мероприятие",)),
        Column("due", ("Срок",)),
        Column("responsible", ("Ответственный",)),
        Column("result", ("Ожидаемый результат",), required=False),
    ),
}


@dataclass
class Row:
    number: int  # as the clerk sees it: the first row of the sheet is 1
    cells: dict[str, object]

    def text(self, name: str) -> str:
        return cell_text(self.cells.get(name))


@dataclass
class Table:
    name: str
    file: str  # the file name, as messages show it
    columns: tuple[Column, ...]
    rows: list[Row] = field(default_factory=list)

    def title(self, name: str) -> str:
        return next(c.title for c in self.columns if c.field == name)


def header_key(text: str) -> str:
    """Headers match whatever the case and the spaces."""
    return "".join(cell_text(text).casefold().split())


def cell_text(value: object) -> str:
    """A cell as text: empty cells are "", whole numbers lose their ".0"."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if hasattr(value, "strftime"):
        return value.strftime("%d.%m.%Y")
    return str(value).translate(_INVISIBLE).translate(_SPACES).strip()


def find_file(folder: Path, name: str, problems: Problems) -> Path | None:
    found = [folder / f"{name}{ext}" for ext in EXTENSIONS if (folder / f"{name}{ext}").is_file()]
    if not found:
        problems.error(
            f"в папке данных {folder} нет таблицы «{name}»: положите туда файл "
            f"{name}.xlsx, {name}.ods или {name}.csv",
            file=f"{name}.*",
        )
        return None
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        problems.error(
            f"таблица «{name}» есть в нескольких файлах ({names}): оставьте один из них",
            file=found[0].name,
        )
        return None
    return found[0]


def read_table(folder: Path, name: str, problems: Problems) -> Table | None:
    """Read table `name` from the data folder; None (with problems) when it cannot be read."""
    path = find_file(folder, name, problems)
    if path is None:
        return None
    table = Table(name, path.name, SCHEMAS[name])
    if path.stat().st_size == 0:
        problems.error("файл пуст: сохраните в него таблицу заново", file=path.name)
        return None
    try:
        grids = _read_csv(path) if path.suffix.lower() == ".csv" else _read_workbook(path)
    except Exception as exc:  # pandas and its engines raise many kinds for a broken file
        problems.error(
            f"файл не читается как таблица ({_reason(exc)}): откройте его в Excel или "
            "LibreOffice и сохраните заново как .xlsx, .ods или .csv",
            file=path.name,
        )
        return None
    for grid in grids:
        header = _find_header(grid, table.columns)
        if header is not None:
            _take_rows(table, grid, header, problems)
            return table
    _report_missing_header(table, grids, problems)
    return None


def _read_workbook(path: Path) -> list[pd.DataFrame]:
    sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="calamine")
    return list(sheets.values())


def _read_csv(path: Path) -> list[pd.DataFrame]:
    """One grid per plausible separator; the header search picks the right one."""
    text = decode(path.read_bytes())
    grids = []
    for sep in (";", ",", "\t"):
        if sep not in text:
            continue
        width = max((len(r) for r in csv.reader(io.StringIO(text), delimiter=sep)), default=0)
        grids.append(
            pd.read_csv(
                io.StringIO(text), sep=sep, header=None, names=range(width), dtype=str,
                keep_default_na=False, skip_blank_lines=False, engine="python",
            )
        )
    return grids or [pd.DataFrame([[line] for line in text.splitlines()])]


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1251.

    UTF-8 is tried first because it validates itself: a cp1251 file almost never
    decodes as UTF-8. cp1251 comes last because it decodes nearly any byte.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


def _find_header(grid: pd.DataFrame, columns: tuple[Column, ...]) -> tuple[int, dict[str, int]] | None:
    """The first row holding every required column, with the position of each column."""
    for index, values in enumerate(grid.itertuples(index=False, name=None)):
        positions = _match_columns(values, columns)
        if all(c.field in positions for c in columns if c.required):
            return index, positions
    return None


def _match_columns(values, columns) -> dict[str, int]:
    positions: dict[str, int] = {}
    for pos, value in enumerate(values):
        for column in columns:
            if column.field not in positions and column.matches(cell_text(value)):
                positions[column.field] = pos
    return positions


def _take_rows(table: Table, grid: pd.DataFrame, header: tuple[int, dict[str, int]], problems: Problems) -> None:
    index, positions = header
    header_cells = [cell_text(v) for v in grid.iloc[index]]
    _note_extra_columns(table, header_cells, positions, index + 1, problems)
    for offset, values in enumerate(grid.iloc[index + 1 :].itertuples(index=False, name=None)):
        cells = {name: values[pos] for name, pos in positions.items()}
        if all(cell_text(v) == "" for v in cells.values()):
            continue
        table.rows.append(Row(index + 2 + offset, cells))


def _note_extra_columns(table, header_cells, positions, row_number, problems) -> None:
    used = set(positions.values())
    extra = [
        h for pos, h in enumerate(header_cells)
        if pos not in used and h and header_key(h) not in _IGNORED_HEADERS
    ]
    if extra:
        names = ", ".join(f"«{h}»" for h in extra)
        problems.note(f"столбцы {names} программе не нужны и не читаются", table.file, row_number)


def _report_missing_header(table: Table, grids: list[pd.DataFrame], problems: Problems) -> None:
    """Name the row that looks most like the header and the required columns it lacks."""
    best_row, best = None, {}
    for grid in grids:
        for index, values in enumerate(grid.itertuples(index=False, name=None)):
            positions = _match_columns(values, table.columns)
            if len(positions) > len(best):
                best_row, best = index + 1, positions
    missing = [c.title for c in table.columns if c.required and c.field not in best]
    names = ", ".join(f"«{m}»" for m in missing)
    if best_row is None:
        problems.error(
            f"не найдена строка заголовков: в таблице должны быть столбцы {names}",
            file=table.file,
        )
    elif len(missing) == 1:
        problems.error(
            f"нет обязательного столбца {names}: добавьте его в строку заголовков",
            file=table.file, row=best_row,
        )
    else:
        problems.error(
            f"нет обязательных столбцов {names}: добавьте их в строку заголовков",
            file=table.file, row=best_row,
        )


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
