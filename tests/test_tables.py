"""Reading tables as clerks export them."""

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from letters.problems import Problems
from letters.tables import read_table, sniff

AUDIT_ROWS = [
    ["Ссылка на сайт", "Код ошибки", "Дата проверки", "Комментарий"],
    ["https://school1.ru", "widget_missing", "13.05.2024", "нет кода; совсем"],
    ["school2.ru", "needs_scroll", "14.05.2024", ""],
]


def write_csv(path, rows, encoding, sep):
    lines = [sep.join(f'"{c}"' if sep in c else c for c in row) for row in rows]
    path.write_bytes("\r\n".join(lines).encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("sep", [";", ","])
def test_csv_in_any_encoding_and_separator(tmp_path, encoding, sep):
    write_csv(tmp_path / "audit.csv", AUDIT_ROWS, encoding, sep)
    problems = Problems()
    table = read_table(tmp_path, "audit", problems)
    assert not problems.errors
    assert [r.text("site") for r in table.rows] == ["https://school1.ru", "school2.ru"]
    assert table.rows[0].text("details") == "нет кода; совсем"
    assert [r.number for r in table.rows] == [2, 3]


def test_title_rows_above_the_header_keep_the_sheet_row_numbers(tmp_path):
    rows = [["Результаты мониторинга на 17.05.2024"], [], *AUDIT_ROWS]
    write_csv(tmp_path / "audit.csv", rows, "cp1251", ";")
    table = read_table(tmp_path, "audit", Problems())
    assert [r.number for r in table.rows] == [4, 5]


def test_headers_match_whatever_the_case_and_spaces_and_english_aliases(tmp_path):
    rows = [["  ССЫЛКА  НА\u00a0САЙТ ", "error", "дата проверки"], ["a.ru", "x", "13.05.2024"]]
    write_csv(tmp_path / "audit.csv", rows, "utf-8", ",")
    table = read_table(tmp_path, "audit", Problems())
    assert table.rows[0].text("error") == "x"


def test_unknown_columns_are_a_note_and_the_number_column_is_ignored(tmp_path):
    rows = [["№ п.п.", *AUDIT_ROWS[0], "Проверил"], ["1", *AUDIT_ROWS[1], "Иванов"]]
    write_csv(tmp_path / "audit.csv", rows, "utf-8", ";")
    problems = Problems()
    read_table(tmp_path, "audit", problems)
    assert not problems.errors
    assert [str(n) for n in problems.notes] == ["audit.csv, строка 1: столбцы «Проверил» программе не нужны и не читаются"]


def test_xlsx_with_title_rows_date_cells_and_numbers(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "Реестр"
    sheet.append([])
    sheet.append(["Наименование органа власти", "Муниципальное образование", "Ссылка на сайт", "ЛКО для сообщений"])
    sheet.append(["Школа № 1", "Район", "https://s1.ru", 1234567])
    book.save(tmp_path / "organizations.xlsx")
    table = read_table(tmp_path, "organizations", Problems())
    assert table.rows[0].number == 4
    assert table.rows[0].text("lko_messages") == "1234567"


def test_the_first_sheet_with_the_header_is_read(tmp_path):
    with pd.ExcelWriter(tmp_path / "audit.xlsx", engine="openpyxl") as writer:
        pd.DataFrame([["пояснения к таблице"]]).to_excel(writer, sheet_name="Справка", header=False, index=False)
        pd.DataFrame(AUDIT_ROWS[1:], columns=AUDIT_ROWS[0]).to_excel(writer, sheet_name="Данные", index=False)
    table = read_table(tmp_path, "audit", Problems())
    assert len(table.rows) == 2


def test_ods_is_read(tmp_path):
    pd.DataFrame(AUDIT_ROWS[1:], columns=AUDIT_ROWS[0]).to_excel(tmp_path / "audit.ods", engine="odf", index=False)
    table = read_table(tmp_path, "audit", Problems())
    assert [r.text("error") for r in table.rows] == ["widget_missing", "needs_scroll"]


def test_date_cells_stay_dates(tmp_path):
    pd.DataFrame([["a.ru", "x", dt.datetime(2024, 5, 13)]], columns=AUDIT_ROWS[0][:3]).to_excel(tmp_path / "audit.xlsx", index=False)
    table = read_table(tmp_path, "audit", Problems())
    assert table.rows[0].text("checked_at") == "13.05.2024"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "audit.csv: файл пуст"),
        (b"\x00\x01\x02\xff" * 50, "audit.csv: внутри файла не текст CSV, а двоичные данные"),
        (b" \r\n;;;\r\n", "audit.csv: файл пуст"),
    ],
)
def test_empty_or_garbage_csv(tmp_path, content, message):
    (tmp_path / "audit.csv").write_bytes(content)
    problems = Problems()
    assert read_table(tmp_path, "audit", problems) is None
    assert str(problems.errors[0]).startswith(message)


def test_a_pdf_renamed_to_xlsx_is_unreadable(tmp_path):
    (tmp_path / "audit.xlsx").write_bytes(b"%PDF-1.4\n" + b"0" * 500)
    problems = Problems()
    assert read_table(tmp_path, "audit", problems) is None
    assert str(problems.errors[0]).startswith("audit.xlsx: это документ PDF, а не книга Excel (.xlsx): откройте")


def test_a_missing_required_column_is_named_with_the_header_row(tmp_path):
    rows = [["Заголовок"], ["Ссылка на сайт", "Дата проверки", "Комментарий"], ["a.ru", "13.05.2024", ""]]
    write_csv(tmp_path / "audit.csv", rows, "utf-8", ";")
    problems = Problems()
    assert read_table(tmp_path, "audit", problems) is None
    assert str(problems.errors[0]) == "audit.csv, строка 2: нет обязательного столбца «Код ошибки»: добавьте его в строку заголовков"


def test_missing_and_doubled_files(tmp_path):
    problems = Problems()
    assert read_table(tmp_path, "plan", problems) is None
    assert "нет таблицы «plan»" in str(problems.errors[0])
    write_csv(tmp_path / "audit.csv", AUDIT_ROWS, "utf-8", ";")
    pd.DataFrame(AUDIT_ROWS[1:], columns=AUDIT_ROWS[0]).to_excel(tmp_path / "audit.xlsx", index=False)
    assert read_table(tmp_path, "audit", problems) is None
    assert "в нескольких файлах (audit.xlsx, audit.csv)" in str(problems.errors[1])


def test_control_characters_that_would_break_a_document_are_dropped(tmp_path):
    rows = [AUDIT_ROWS[0], ["a.ru", "x", "13.05.2024", '"нет\x0bкода\x01 \x1f совсем\r\nвообще"']]
    write_csv(tmp_path / "audit.csv", rows, "utf-8", ";")
    table = read_table(tmp_path, "audit", Problems())
    assert table.rows[0].text("details") == "нет\nкода  совсем\nвообще"


@pytest.mark.parametrize(
    "content, kind",
    [
        (b"PK\x03\x04broken", "damaged"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "xls"),
        (b"%PDF-1.7", "pdf"),
        (b"{\\rtf1 text}", "rtf"),
        ("\n  <!DOCTYPE html><html><table>".encode(), "html"),
        ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'.encode(), "xml"),
        ("Ссылка на сайт;Код".encode("cp1251"), "text"),
        ("Ссылка на сайт;Код".encode("utf-16-le"), "text"),
    ],
)
def test_what_a_file_really_is_is_told_by_its_content(content, kind):
    assert sniff(content) == kind


def test_a_quote_left_open_in_a_big_file_names_its_row(tmp_path):
    rows = [AUDIT_ROWS[0], ["a.ru", "x", "13.05.2024", '"не закрыта'], *[["b.ru", "y", "13.05.2024", "x" * 100]] * 2000]
    (tmp_path / "audit.csv").write_text("\n".join(";".join(r) for r in rows), encoding="utf-8")
    problems = Problems()
    assert read_table(tmp_path, "audit", problems) is None
    assert [(p.row, p.message[:40]) for p in problems.errors] == [(2, "кавычка \" в начале ячейки не закрыта или")]
