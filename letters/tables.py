"""Step 1: read the tables of a data folder, whatever system exported them.

A table may be .xlsx, .xls, .ods or .csv (UTF-8 with or without BOM, UTF-16, or
Windows-1251; `,`, `;` or a tab). Its header is the first row that holds every required
column, so title rows above it are fine. Rows keep the number the clerk sees in the
spreadsheet, for the messages.

What the clerk sees and what the file holds can differ; where they do, the clerk is
told instead of letting a letter go out on data nobody looked at: a file whose content
is not what its name says, rows hidden in Excel, formulas without a value, a quote that
swallowed the rest of a CSV file. Merged cells are read as they look: the value of a
merged block belongs to every row of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import math
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .problems import Problems

EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\t"), " ")
# Characters that XML 1.0 forbids: one of them in a cell would make the .docx unreadable.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_IGNORED_HEADERS = {"№", "№п.п.", "№п/п", "№пп", "n", "no"}
# A quote left open swallows the rest of the file into one cell, which soon outgrows the
# csv module's limit of 128 KB; with room, the strict reading names the row instead.
csv.field_size_limit(2**31 - 1)


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
        Column("screenshot", ("Снимок экрана",), required=False),
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
    file: str  # the file name, as messages show it (with the sheet when a workbook has several)
    columns: tuple[Column, ...]
    rows: list[Row] = field(default_factory=list)

    def title(self, name: str) -> str:
        return next(c.title for c in self.columns if c.field == name)


@dataclass
class Sheet:
    """One sheet as the clerk sees it: `cells[0]` is row 1."""

    name: str  # "" for a CSV file
    cells: list[list[object]]
    hidden: bool = False
    hidden_rows: frozenset[int] = frozenset()  # row numbers as the clerk sees them
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row number, column index) → formula
    separator: str = ""  # of a CSV file
    text: str = ""  # of a CSV file, decoded


def header_key(text: str) -> str:
    """Headers match whatever the case and the spaces."""
    return "".join(cell_text(text).casefold().split())


def clean_text(text: str) -> str:
    """Text that any document can hold: line breaks of every kind become "\\n", and the
    control characters some exports carry (forbidden in XML, so in .docx) are dropped."""
    return _XML_FORBIDDEN.sub("", _LINE_BREAKS.sub("\n", text))


def cell_text(value: object) -> str:
    """A cell as text: empty cells are "", whole numbers lose their ".0", dates are DD.MM.YYYY."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return _clean_cell(str(value))


@functools.lru_cache(maxsize=1 << 16)
def _clean_cell(text: str) -> str:
    """A table repeats its municipalities, codes and dates thousands of times: each is cleaned once."""
    return clean_text(text).translate(_INVISIBLE).translate(_SPACES).strip()


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
    try:
        data = path.read_bytes()
    except OSError:
        problems.error(
            "файл не открывается: если он открыт в Excel или другой программе, закройте его и повторите",
            file=path.name,
        )
        return None
    sheets = _read_sheets(path, data, problems) if data.strip() else []
    if sheets is None:
        return None
    if not any(_filled(row) for sheet in sheets for row in sheet.cells):
        problems.error("файл пуст: сохраните в него таблицу заново", file=path.name)
        return None
    found = _sheet_with_header(table, sheets, problems)
    if found is None:
        return None
    sheet, header = found
    if not _take_rows(table, sheet, header, problems):
        return None
    if not table.rows:
        problems.error(
            "под строкой заголовков нет ни одной заполненной строки: впишите данные или положите другой файл",
            file=table.file, row=header[0] + 1,
        )
        return None
    return table


# --- what the file really is ---------------------------------------------------------

# kind → how to name it to a clerk; the first four kinds are read whatever the extension
_KINDS = {
    "xlsx": "книга Excel (.xlsx)",
    "ods": "таблица LibreOffice (.ods)",
    "xls": "книга Excel старого формата (.xls)",
    "text": "текст CSV",
    "pdf": "документ PDF",
    "html": "веб-страница (HTML)",
    "xml": "таблица XML 2003",
    "docx": "документ Word",
    "doc": "документ Word старого формата",
    "rtf": "документ RTF",
    "zip": "архив ZIP",
}  # and three kinds with messages of their own: "encrypted", "damaged", "binary"
_EXPECTED = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods", ".csv": "text"}
_RENAME = {"xlsx": ".xlsx", "ods": ".ods", "xls": ".xls", "text": ".csv"}
_RESAVE = "откройте исходную таблицу в Excel или LibreOffice Calc и сохраните её как .xlsx, .ods или .csv"


def sniff(data: bytes) -> str:
    """What a file really is, by its first bytes, whatever its name says."""
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # an OLE container: .xls, .doc, or encrypted
        if "EncryptionInfo".encode("utf-16-le") in data:
            return "encrypted"
        return "doc" if "WordDocument".encode("utf-16-le") in data else "xls"
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"{\\rtf"):
        return "rtf"
    text = decode(data)
    if text is None or _looks_binary(text):
        return "binary"
    start = text.lstrip()[:1000].casefold()
    if start.startswith(("<!doctype html", "<html", "<table", "<meta")) or "<html" in start:
        return "html"
    if start.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in text[:5000]:
        return "xml"
    return "text"


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype") if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return "damaged"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    if b"opendocument.spreadsheet" in mimetype:
        return "ods"
    if "word/document.xml" in names:
        return "docx"
    return "zip"


def _looks_binary(text: str) -> bool:
    sample = text[:4000]
    odd = sum(1 for ch in sample if ch == "\ufffd" or (ch < " " and ch not in "\t\r\n"))
    return "\x00" in sample or odd > max(8, len(sample) // 20)


def decode(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16, else Windows-1251; None when it is not text.

    UTF-8 is tried first because it validates itself: a cp1251 file almost never
    decodes as UTF-8. cp1251 comes last because it decodes nearly any byte.
    """
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        high = data[1::2]  # UTF-16 LE without a BOM: Latin letters and digits, then Cyrillic
        if len(data) > 3 and (high.count(0) + high.count(4)) > 0.6 * len(high):
            return data.decode("utf-16-le")
    except UnicodeDecodeError:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


def _read_sheets(path: Path, data: bytes, problems: Problems) -> list[Sheet] | None:
    expected = _EXPECTED[path.suffix.lower()]
    kind = sniff(data)
    if kind not in _RENAME:
        problems.error(_unreadable_message(kind, expected), file=path.name)
        return None
    if kind != expected:
        problems.warning(
            f"это {_KINDS[kind]}, хотя имя файла кончается на {path.suffix}: файл прочитан как "
            f"{_KINDS[kind]}; переименуйте его в {path.stem}{_RENAME[kind]}, чтобы не путаться",
            file=path.name,
        )
    try:
        with warnings.catch_warnings():  # the engines warn in English about styles and the like
            warnings.simplefilter("ignore")
            return _csv_sheets(data) if kind == "text" else _workbook_sheets(data, kind)
    except Exception:  # the engines raise many kinds for a damaged file
        problems.error(f"файл повреждён и не читается: {_RESAVE}", file=path.name)
        return None


def _unreadable_message(kind: str, expected: str) -> str:
    if kind == "encrypted":
        return ("книга защищена паролем: откройте её в Excel, снимите пароль "
                "(Файл → Сведения → Защита книги) и сохраните заново")
    if kind == "damaged":
        return f"файл повреждён (не открывается как {_KINDS[expected]}): {_RESAVE}"
    if kind == "binary":
        return f"внутри файла не {_KINDS[expected]}, а двоичные данные: {_RESAVE}"
    return f"это {_KINDS[kind]}, а не {_KINDS[expected]}: {_RESAVE}"


def _csv_sheets(data: bytes) -> list[Sheet]:
    """One reading per plausible separator; the header search picks the right one."""
    text = decode(data) or ""
    sheets = [
        Sheet("", list(csv.reader(io.StringIO(text, newline=""), delimiter=sep)), separator=sep, text=text)
        for sep in (";", ",", "\t") if sep in text
    ]
    return sheets or [Sheet("", [[line] for line in text.splitlines()])]


def _workbook_sheets(data: bytes, kind: str) -> list[Sheet]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    extras = _excel_extras(data) if kind == "xlsx" else {}
    sheets = []
    for meta in book.sheets_metadata:
        if meta.typ is not SheetTypeEnum.WorkSheet:
            continue  # a chart sheet holds no cells
        source = book.get_sheet_by_name(meta.name)
        cells = source.to_python(skip_empty_area=False)
        _fill_merged(cells, source.merged_cell_ranges or [])
        hidden_rows, formulas = extras.get(meta.name, (frozenset(), {}))
        sheets.append(Sheet(meta.name, cells, meta.visible is not SheetVisibleEnum.Visible, hidden_rows, formulas))
    return sheets


def _excel_extras(data: bytes) -> dict[str, tuple[frozenset[int], dict[tuple[int, int], str]]]:
    """Hidden rows and formula cells of each sheet of an .xlsx, which calamine does not tell."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=False)
    except Exception:  # openpyxl is stricter than calamine; the values are read anyway
        return {}
    extras = {}
    for sheet in book.worksheets:
        hidden = frozenset(n for n, d in sheet.row_dimensions.items() if d.hidden)
        formulas = {
            (cell.row, cell.column - 1): str(getattr(cell.value, "text", cell.value))
            for row in sheet.iter_rows() for cell in row if cell.data_type in ("f", "e")
        }
        extras[sheet.title] = (hidden, formulas)
    return extras


def _fill_merged(cells: list[list[object]], ranges) -> None:
    """A block merged over several rows shows one value for all of them: copy it down."""
    for (top, left), (bottom, _right) in ranges:
        if top >= len(cells) or left >= len(cells[top]):
            continue
        for r in range(top + 1, min(bottom, len(cells) - 1) + 1):
            if left < len(cells[r]) and cell_text(cells[r][left]) == "":
                cells[r][left] = cells[top][left]


# --- the header ----------------------------------------------------------------------


def _sheet_with_header(table: Table, sheets: list[Sheet], problems: Problems):
    """The first visible sheet with a header row, and that header; None with problems."""
    found = [(s, h) for s in sheets if not s.hidden and (h := _find_header(s.cells, table.columns))]
    if not found:
        hidden = [s.name for s in sheets if s.hidden and _find_header(s.cells, table.columns)]
        if hidden:
            problems.error(
                f"таблица на скрытом листе «{hidden[0]}»: покажите лист (правый щелчок по ярлыку листа → "
                "«Показать») или перенесите таблицу на видимый лист",
                file=table.file,
            )
        else:
            _report_missing_header(table, sheets, problems)
        return None
    sheet, header = found[0]
    if sheet.name and len(sheets) > 1:
        for other, _ in found[1:]:
            problems.warning(
                f"на листе «{other.name}» тоже есть таблица с этими столбцами, но читается только лист "
                f"«{sheet.name}»: перенесите нужные строки на лист «{sheet.name}» или удалите лист «{other.name}»",
                file=table.file,
            )
        table.file = f"{table.file}, лист «{sheet.name}»"
    return sheet, header


# Title rows above a header are a few lines of an export; looking further only costs time
# (a sheet read with the wrong separator has no header, and 60,000 rows to look through).
HEADER_WITHIN_ROWS = 50


def _find_header(cells: list[list[object]], columns: tuple[Column, ...]) -> tuple[int, dict[str, int]] | None:
    """The first row holding every required column, with the position of each column."""
    for index, values in enumerate(cells[:HEADER_WITHIN_ROWS]):
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


def _report_missing_header(table: Table, sheets: list[Sheet], problems: Problems) -> None:
    """Name the row that looks most like the header and the required columns it lacks."""
    best_sheet, best_row, best = None, None, {}
    for sheet in sheets:
        for index, values in enumerate(sheet.cells):
            positions = _match_columns(values, table.columns)
            if len(positions) > len(best):
                best_sheet, best_row, best = sheet, index + 1, positions
    missing = [c.title for c in table.columns if c.required and c.field not in best]
    names = ", ".join(f"«{m}»" for m in missing)
    file = table.file
    if best_sheet is not None and best_sheet.name and len(sheets) > 1:
        file = f"{file}, лист «{best_sheet.name}»"
    if best_row is None:
        hint = ""
        if not sheets[0].name:  # a CSV file
            hint = ("; если вместо русских букв в файле непонятные знаки, он сохранён в другой "
                    "кодировке — сохраните его заново как «CSV UTF-8»")
        problems.error(f"не найдена строка заголовков: в таблице должны быть столбцы {names}{hint}", file=file)
    elif len(missing) == 1:
        problems.error(f"нет обязательного столбца {names}: добавьте его в строку заголовков", file=file, row=best_row)
    else:
        problems.error(f"нет обязательных столбцов {names}: добавьте их в строку заголовков", file=file, row=best_row)


# --- the rows ------------------------------------------------------------------------


def _take_rows(table: Table, sheet: Sheet, header: tuple[int, dict[str, int]], problems: Problems) -> bool:
    """Fill `table.rows` from the rows under the header; False when the table cannot be trusted."""
    index, positions = header
    header_cells = [cell_text(v) for v in sheet.cells[index]]
    if not _check_header(table, header_cells, positions, index + 1, problems) or _unclosed_quote(table, sheet, problems):
        return False
    _note_extra_columns(table, header_cells, positions, index + 1, problems)
    hidden = []
    for number, values in enumerate(sheet.cells[index + 1 :], start=index + 2):
        cells = {name: values[pos] if pos < len(values) else None for name, pos in positions.items()}
        if not _filled(values) or _repeats_header(cells, header_cells, positions):
            continue  # a row of formulas that give "" is empty too
        if _broken_cells(table, sheet, number, values, positions, problems):
            continue
        if number in sheet.hidden_rows:
            hidden.append(number)
            continue
        table.rows.append(Row(number, cells))
    if hidden:
        verb = "скрыта" if len(hidden) == 1 else "скрыты"
        problems.error(
            f"{_rows_phrase(hidden)} {verb} в Excel, а программа читает и скрытые строки: покажите их "
            "(выделите строки выше и ниже, правый щелчок → «Показать»; снимите фильтр) и удалите те, "
            "что не нужны в письмах",
            file=table.file,
        )
    return True


def _check_header(table, header_cells, positions, row_number, problems) -> bool:
    """A column written twice is ambiguous: which of them holds the data?"""
    ok = True
    for column in table.columns:
        twice = [i for i, h in enumerate(header_cells) if h and column.matches(h)]
        if len(twice) > 1:
            letters = " и ".join(column_letter(i) for i in twice)
            problems.error(
                f"столбец «{column.title}» записан в заголовке дважды (столбцы {letters}): оставьте один",
                table.file, row_number,
            )
            ok = False
    return ok


def _broken_cells(table, sheet, number, values, positions, problems) -> bool:
    """Report required cells whose formula has no value: an error such as #N/A, or a file
    saved by a program that does not calculate. (A formula that gives "" in an optional
    column is an empty cell, as the clerk sees it.)"""
    broken = False
    for name, pos in positions.items():
        formula = sheet.formulas.get((number, pos))
        required = next(c.required for c in table.columns if c.field == name)
        if required and formula is not None and cell_text(values[pos] if pos < len(values) else None) == "":
            problems.error(
                f"в ячейке {column_letter(pos)}{number} формула или ошибка «{formula}», а значения нет: "
                "исправьте формулу или замените её значением (Копировать → Специальная вставка → Значения) "
                "и сохраните файл в Excel или LibreOffice Calc",
                table.file, number, table.title(name),
            )
            broken = True
    return broken


def _unclosed_quote(table: Table, sheet: Sheet, problems: Problems) -> bool:
    """A quote opened at the start of a CSV cell and not closed where the cell ends takes
    the following lines of the file into that cell: those rows would silently disappear.
    The lenient reading hides it; a strict one stops at the row where the quote opened."""
    if not sheet.separator:
        return False
    reader = csv.reader(io.StringIO(sheet.text, newline=""), delimiter=sheet.separator, strict=True)
    rows = 0
    try:
        for _ in reader:
            rows += 1
    except csv.Error:
        problems.error(
            "кавычка \" в начале ячейки не закрыта или закрыта не в конце ячейки, и следующие строки "
            "файла могли попасть в эту ячейку: поставьте закрывающую кавычку в конце текста ячейки "
            "или уберите кавычки",
            table.file, rows + 1,
        )
        return True
    return False


def _repeats_header(cells, header_cells, positions) -> bool:
    """A header row repeated under the header (tables glued together, a header two rows tall)."""
    return all(header_key(cell_text(cells[name])) == header_key(header_cells[pos]) for name, pos in positions.items())


def _note_extra_columns(table, header_cells, positions, row_number, problems) -> None:
    used = set(positions.values())
    extra = [
        h for pos, h in enumerate(header_cells)
        if pos not in used and h and header_key(h) not in _IGNORED_HEADERS
    ]
    if extra:
        names = ", ".join(f"«{h}»" for h in extra)
        problems.note(f"столбцы {names} программе не нужны и не читаются", table.file, row_number)


def _filled(values) -> bool:
    return any(cell_text(v) != "" for v in values)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the letters Excel shows above the columns."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _rows_phrase(numbers: list[int]) -> str:
    """«строка 5», «строки 5, 7–9»."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    text = ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)
    return f"строка {text}" if len(numbers) == 1 else f"строки {text}"
