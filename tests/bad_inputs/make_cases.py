"""Writes the binary input files of the corpus; its output is committed.

    .venv/bin/python tests/bad_inputs/make_cases.py

Text cases (CSV, letters.toml, expected.txt, case.toml) are plain files edited by hand.
The files made here are spreadsheets and broken files whose content a reader cannot see
in a diff, so this script is their readable source. Each function writes one case's file
into its folder; the expected messages stay in that folder's expected.txt.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent
AUDIT_HEADER = ["Ссылка на сайт", "Код ошибки", "Дата проверки", "Комментарий"]
AUDIT_ROWS = [  # the rows of the base audit table (tests/conftest.py)
    ["atmr.ru", "below_first_screen", "13.05.2024", "Виджет на высоте 1480 px"],
    ["https://school1-tmr.ru", "widget_missing", "14.05.2024", ""],
    ["https://atmr.ru/", "wrong_lko", "13.05.2024", "ID 1 вместо 1000001"],
    ["skazka-ishim.ru", "size_changed", "15.05.2024", "Ширина 200 px"],
]
ORGANIZATIONS_HEADER = ["Наименование органа власти", "Муниципальное образование", "Ссылка на сайт", "ЛКО для сообщений"]
ORGANIZATIONS_ROWS = [
    ["Администрация Тюменского района", "Тюменский муниципальный район", "https://atmr.ru", "1000001"],
    ["МАОУ СОШ № 1", "Тюменский муниципальный район", "http://www.school1-tmr.ru/", "1000002"],
    ["МДОУ «Сказка» & ясли <корпус 2>", "Город Ишим", "https://skazka-ishim.ru", "1000003"],
    ["Администрация Уватского района", "Уватский муниципальный район", "https://uvat.ru", "1000004"],
]


def case(name: str) -> Path:
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    return folder


def workbook(*sheets: tuple[str, list[list]]) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.properties.created = book.properties.modified = dt.datetime(2024, 5, 20)
    return book


def save(book: openpyxl.Workbook, path: Path, values: dict[str, str] | None = None) -> None:
    """Save; `values` gives formula cells the value Excel would have stored with them."""
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(_with_values(buffer.getvalue(), values) if values else buffer.getvalue())


def _with_values(data: bytes, values: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename.startswith("xl/worksheets/sheet"):
                xml = content.decode()
                for ref, value in values.items():
                    kind = ' t="e"' if value.startswith("#") else ' t="str"'
                    xml = re.sub(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?', rf'<c r="{ref}"\1{kind}><f>\2</f><v>{value}</v>', xml)
                content = xml.encode()
            target.writestr(entry, content)
    return out.getvalue()


def header_only_workbook() -> None:
    save(workbook(("Лист1", [AUDIT_HEADER])), case("18-audit-header-only-xlsx") / "audit.xlsx")


def empty_workbook() -> None:
    save(workbook(("Лист1", [])), case("20-errors-empty-workbook") / "errors.xlsx")


def pdf_renamed_xlsx() -> None:
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF\n"
    (case("21-audit-pdf-renamed-xlsx") / "audit.xlsx").write_bytes(pdf)


def random_bytes() -> None:
    noise = random.Random(7).randbytes(2000)
    (case("22-audit-random-bytes-xlsx") / "audit.xlsx").write_bytes(noise)
    (case("24-plan-random-bytes-csv") / "plan.csv").write_bytes(noise)


def word_document_as_xlsx() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Реестр учреждений — см. таблицу в приложении")
    document.save(case("25-organizations-word-document-as-xlsx") / "organizations.xlsx")


def truncated_xlsx() -> None:
    buffer = io.BytesIO()
    workbook(("Лист1", [AUDIT_HEADER, *AUDIT_ROWS])).save(buffer)
    (case("26-audit-truncated-xlsx") / "audit.xlsx").write_bytes(buffer.getvalue()[:700])


def password_protected() -> None:
    """Excel saves a workbook with a password as an OLE container holding «EncryptionInfo»."""
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptionInfo".encode("utf-16-le") + bytes(1000)
    (case("27-municipalities-password-protected") / "municipalities.xlsx").write_bytes(ole)


def several_sheets() -> None:
    rows = [AUDIT_HEADER, AUDIT_ROWS[0], ["uvat.ru", "widjet_missing", "16.05.2024", ""], *AUDIT_ROWS[1:]]
    book = workbook(("Справка", [["Коды ошибок — на листе «Май»"]]), ("Май", rows))
    save(book, case("28-audit-several-sheets-error-on-second") / "audit.xlsx")


def hidden_rows() -> None:
    rows = [AUDIT_HEADER, AUDIT_ROWS[0], AUDIT_ROWS[1], ["uvat.ru", "widget_missing", "16.05.2024", "скрыта"],
            AUDIT_ROWS[2], ["uvat.ru", "wrong_lko", "16.05.2024", "скрыта"], AUDIT_ROWS[3]]
    book = workbook(("Лист1", rows))
    for row in (4, 6):
        book.active.row_dimensions[row].hidden = True
    save(book, case("29-audit-hidden-rows") / "audit.xlsx")


def formula_with_error_value() -> None:
    """A lookup that found nothing: Excel stores «#N/A», calamine reads an empty cell."""
    rows = [AUDIT_HEADER, AUDIT_ROWS[0], ["=VLOOKUP(E3,Реестр!A:B,2,0)", "widget_missing", "14.05.2024", ""], *AUDIT_ROWS[2:]]
    save(workbook(("Лист1", rows)), case("30-audit-formula-error-value") / "audit.xlsx", values={"A3": "#N/A"})


def formula_without_value() -> None:
    """A file written by a program that does not calculate: formulas without stored values."""
    rows = [ORGANIZATIONS_HEADER, *ORGANIZATIONS_ROWS[:3],
            ['=CONCATENATE("Администрация ","Уватского района")', "Уватский муниципальный район", "https://uvat.ru", "1000004"]]
    save(workbook(("Лист1", rows)), case("31-organizations-formula-without-value") / "organizations.xlsx")


def date_as_bad_number() -> None:
    rows = [AUDIT_HEADER, [*AUDIT_ROWS[0][:2], 123, AUDIT_ROWS[0][3]], *AUDIT_ROWS[1:]]
    save(workbook(("Лист1", rows)), case("32-audit-date-as-a-small-number") / "audit.xlsx")


def hidden_sheet() -> None:
    book = workbook(("Свод", [["Свод по районам будет позже"]]), ("Данные", [AUDIT_HEADER, *AUDIT_ROWS]))
    book["Данные"].sheet_state = "hidden"
    save(book, case("34-audit-on-a-hidden-sheet") / "audit.xlsx")


def koi8_csv() -> None:
    text = "\r\n".join(";".join(r) for r in [AUDIT_HEADER, *AUDIT_ROWS]) + "\r\n"
    (case("36-audit-csv-in-koi8-r") / "audit.csv").write_bytes(text.encode("koi8-r"))


def toml_in_cp1251() -> None:
    from conftest import SETTINGS  # the base letters.toml

    (case("59-toml-in-cp1251") / "letters.toml").write_bytes(SETTINGS.encode("cp1251"))


# --- accepted: odd, but read as the clerk meant ----------------------------------------


def accepted_csv_encodings() -> None:
    rows = [["Результаты мониторинга на 17.05.2024"], [], AUDIT_HEADER, *AUDIT_ROWS]
    text = "\r\n".join(";".join(r) for r in rows) + "\r\n"
    (case("81-accepted-csv-cp1251-with-title-rows") / "audit.csv").write_bytes(text.encode("cp1251"))
    tabbed = "\r\n".join("\t".join(r) for r in [AUDIT_HEADER, *AUDIT_ROWS]) + "\r\n"
    (case("83-accepted-csv-utf-16-tab") / "audit.csv").write_bytes(tabbed.encode("utf-16"))


def accepted_several_sheets() -> None:
    book = workbook(("Май", [AUDIT_HEADER, *AUDIT_ROWS]), ("Апрель", [AUDIT_HEADER, AUDIT_ROWS[0]]))
    save(book, case("84-accepted-xlsx-two-sheets-with-tables") / "audit.xlsx")


def accepted_merged_cells() -> None:
    """A header two rows tall with «Ссылка на сайт» merged down, a group title merged
    across, and one site merged over the two rows of its findings."""
    rows = [
        ["Ссылка на сайт", "Результаты проверки", None, None],
        [None, "Код ошибки", "Дата проверки", "Комментарий"],
        ["atmr.ru", "below_first_screen", "13.05.2024", "Виджет на высоте 1480 px"],
        [None, "wrong_lko", "13.05.2024", "ID 1 вместо 1000001"],
        ["https://school1-tmr.ru", "widget_missing", "14.05.2024", None],
        ["skazka-ishim.ru", "size_changed", "15.05.2024", "Ширина 200 px"],
    ]
    book = workbook(("Лист1", rows))
    for block in ("A1:A2", "B1:D1", "A3:A4"):
        book.active.merge_cells(block)
    save(book, case("85-accepted-xlsx-merged-cells") / "audit.xlsx")


def accepted_formulas_and_dates() -> None:
    """Formulas with stored values; dates as a date cell, a day number, text and ISO text."""
    rows = [
        AUDIT_HEADER,
        ['=LOWER("ATMR.RU")', "below_first_screen", dt.datetime(2024, 5, 13), "Виджет на высоте 1480 px"],
        ["https://school1-tmr.ru", '=TRIM(" widget_missing ")', 45426, None],
        ["https://atmr.ru/", "wrong_lko", "13.05.2024", "ID 1 вместо 1000001"],
        ["skazka-ishim.ru", "size_changed", "2024-05-15", "Ширина 200 px"],
    ]
    book = workbook(("Лист1", rows))
    book.active["C2"].number_format = "DD.MM.YYYY"
    save(book, case("86-accepted-xlsx-formulas-and-dates") / "audit.xlsx", values={"A2": "atmr.ru", "B3": "widget_missing"})


def accepted_xlsx_named_csv() -> None:
    save(workbook(("Лист1", [AUDIT_HEADER, *AUDIT_ROWS])), case("91-accepted-xlsx-named-csv") / "audit.csv")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE.parent))
    for make in [
        header_only_workbook, empty_workbook, pdf_renamed_xlsx, random_bytes, word_document_as_xlsx,
        truncated_xlsx, password_protected, several_sheets, hidden_rows, formula_with_error_value,
        formula_without_value, date_as_bad_number, hidden_sheet, koi8_csv, toml_in_cp1251,
        accepted_csv_encodings, accepted_several_sheets, accepted_merged_cells, accepted_formulas_and_dates,
        accepted_xlsx_named_csv,
    ]:
        make()
