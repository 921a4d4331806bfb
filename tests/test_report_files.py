"""`letters report` as the director gets it: an A4 PDF with the Russian title on its summary
page and embedded fonts, and an .xlsx whose figures are numbers in laid-out sheets."""

from __future__ import annotations

import shutil
import subprocess

import pikepdf
import pytest
from conftest import SAMPLE, run_letters, write_data
from openpyxl import load_workbook

from letters.problems import Problems
from letters.report.figures import count
from letters.validate import load_dataset

A4_POINTS = (595.3, 841.9)
SENDER = "ДЕПАРТАМЕНТ ИНФОРМАТИЗАЦИИ ТЮМЕНСКОЙ ОБЛАСТИ"


@pytest.fixture(scope="module")
def sample_figures():
    dataset = load_dataset(SAMPLE, Problems())
    return count(dataset)


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "отчёт.pdf"
    result = run_letters("report", "--data", str(SAMPLE), "--out", str(path))
    assert result.returncode == 0, result.stderr
    return path, result


def _text(path, page: int) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(path), "-"],
                          capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


def test_the_pdf_is_a4_with_a_summary_page_first(pdf, sample_figures):
    path, result = pdf
    with pikepdf.open(path) as document:
        assert len(document.pages) >= 4
        for page in document.pages:
            box = [float(v) for v in page.mediabox]
            assert (box[2] - box[0], box[3] - box[1]) == pytest.approx(A4_POINTS, abs=1)
    first = _text(path, 1)
    assert SENDER in first
    assert "О внедрении виджетов Платформы обратной связи (ПОС) на сайтах учреждений" in first
    assert "по состоянию на 17 мая 2024 г." in first
    region = sample_figures.region
    assert f"Учреждений в реестре {region.registry}" in first
    assert "Регион — жёлтая зона: 39,0 %" in first
    assert "Изменение с прошлой даты писем не показано" in first and "отчёт — на одну дату" in first, \
        "one date, and it says so"
    assert "Отчёт записан" in result.stdout and "39,0\u00a0%" in result.stdout


def test_the_pdf_pages_show_every_municipality(pdf, sample_figures):
    path, _ = pdf
    pages = " ".join(_text(path, n) for n in (2, 3, 4))
    for m in sample_figures.municipalities:
        assert m.name in pages
    assert "Доля учреждений с верно размещённым виджетом по муниципальным образованиям" in pages
    assert "Ошибки по видам в муниципальных образованиях" in pages
    assert "Всего по региону" in _text(path, 4)


def test_the_pdf_fonts_are_embedded(pdf):
    path, _ = pdf
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    fonts = listing.splitlines()[2:]
    assert fonts, listing
    for line in fonts:
        assert " yes " in line.split("Identity-H")[-1] + " ", line  # emb column
        assert "Liberation" in line or "DejaVu" in line, line


def test_the_xlsx_holds_the_figures_as_numbers(tmp_path, sample_figures):
    path = tmp_path / "отчёт.xlsx"
    result = run_letters("report", "--data", str(SAMPLE), "--out", str(path), "--date", "20.05.2024")
    assert result.returncode == 0, result.stderr
    book = load_workbook(path)
    assert book.sheetnames == ["Сводка", "По МО", "Ошибки"]
    sheet = book["По МО"]
    header = [c.value for c in sheet[1]]
    assert header[:8] == ["№", "Муниципальное образование", "Учреждений в реестре", "С ошибками",
                          "С верным виджетом", "Доля с верным виджетом", "Зона", "Ошибок всего"]
    lines = {m.name: m for m in sample_figures.municipalities}
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(lines) + 1
    for row in rows[:-1]:
        m = lines[row[1]]
        assert row[2:5] == (m.registry, m.with_findings, m.correct)
        assert isinstance(row[5], (int, float)) and row[5] == pytest.approx(m.correct / m.registry, abs=1e-4)
        assert row[7] == m.findings and all(isinstance(v, int) for v in row[8:])
    total = rows[-1]
    assert total[1] == "Всего по региону" and total[2:5] == (164, sample_figures.region.with_findings, sample_figures.region.correct)
    assert sum(total[8:]) == total[7] == sample_figures.region.findings
    # laid out for reading and printing
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 30
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4 and sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.cell(2, 6).number_format == "0.0%"
    summary = book["Сводка"]
    assert summary["A1"].value == SENDER and "по состоянию на 20.05.2024" == summary["A3"].value
    values = {r[0]: r[1] for r in summary.iter_rows(min_row=6, values_only=True) if r[0]}
    assert values["Учреждений в реестре"] == 164 and values["Зона"] == "жёлтая зона"
    codes = {r[0]: r[2] for r in book["Ошибки"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert codes == {e.code: sample_figures.region.by_code.get(e.code, 0) for e in sample_figures.errors}


def test_a_wrong_extension_is_a_usage_error(tmp_path):
    result = run_letters("report", "--data", str(SAMPLE), "--out", str(tmp_path / "отчёт.docx"))
    assert result.returncode == 2
    assert ".pdf или .xlsx" in result.stderr
    assert not list(tmp_path.iterdir())


def test_bad_data_writes_no_report(tmp_path):
    data = write_data(tmp_path / "data")
    (data / "organizations.csv").write_text("Наименование органа власти;Муниципальное образование\nШкола;Город\n",
                                            encoding="utf-8")
    result = run_letters("report", "--data", str(data), "--out", str(tmp_path / "отчёт.pdf"))
    assert result.returncode == 1
    assert "organizations" in result.stderr and "Отчёт не записан" in result.stderr
    assert not (tmp_path / "отчёт.pdf").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no half-written file"


def test_an_earlier_report_is_replaced_whole(tmp_path):
    path = tmp_path / "отчёт.xlsx"
    shutil.copy(SAMPLE / "errors.xlsx", path)  # stands for an earlier report
    result = run_letters("report", "--data", str(SAMPLE), "--out", str(path))
    assert result.returncode == 0, result.stderr
    assert load_workbook(path).sheetnames[0] == "Сводка"


def test_a_small_region_with_a_municipality_without_institutions(tmp_path):
    municipalities = write_data(tmp_path / "x")  # the default tables, plus one municipality with no registry rows
    lines = (municipalities / "municipalities.csv").read_text(encoding="utf-8").splitlines()
    lines.append("Город Тобольск;Глава города Тобольска;Титов Пётр Алексеевич;adm@tobolsk.ru")
    data = write_data(tmp_path / "data", municipalities=lines)
    for suffix in (".pdf", ".xlsx"):
        result = run_letters("report", "--data", str(data), "--out", str(tmp_path / f"отчёт{suffix}"))
        assert result.returncode == 0, result.stderr
    first = _text(tmp_path / "отчёт.pdf", 1)
    # 4 institutions, 3 with findings (atmr.ru, school1, skazka): 1 correct, 25 %
    assert "Учреждений в реестре 4" in first and "Регион — жёлтая зона: 25,0 %" in first
    assert "Нет учреждений в реестре: Город Тобольск" in _text(tmp_path / "отчёт.pdf", 2)
    rows = {r[1]: r for r in load_workbook(tmp_path / "отчёт.xlsx")["По МО"].iter_rows(min_row=2, values_only=True)}
    assert rows["Город Тобольск"][2:7] == (0, 0, 0, None, "нет учреждений")
    assert rows["Уватский муниципальный район"][2:7] == (1, 0, 1, 1, "зелёная зона")


def test_a_big_region_charts_those_that_need_attention_and_tables_all(tmp_path):
    n = 90
    municipalities = ["Муниципальное образование;Должность главы;ФИО главы;Электронная почта"]
    organizations = ["Наименование органа власти;Муниципальное образование;Ссылка на сайт"]
    audit = ["Ссылка на сайт;Код ошибки;Дата проверки"]
    for i in range(1, n + 1):
        name = f"Район № {i}"
        municipalities.append(f"{name};Глава района № {i};Иванов Иван Иванович;r{i}@example.ru")
        for j in range(4):
            organizations.append(f"Школа {j} района {i};{name};https://s{j}-r{i}.example.ru")
        for j in range(i % 5):  # 0 to all 4 institutions with a finding
            audit.append(f"s{j}-r{i}.example.ru;widget_missing;13.05.2024")
    data = write_data(tmp_path / "data", municipalities=municipalities, organizations=organizations, audit=audit)
    path = tmp_path / "отчёт.pdf"
    result = run_letters("report", "--data", str(data), "--out", str(path))
    assert result.returncode == 0, result.stderr
    text = {page: _text(path, page) for page in range(1, 8)}
    assert "Показаны 80 МО с наименьшей долей из 90" in text[3]
    tables = f"{text[6]} {text[7]} "
    for i in range(1, n + 1):
        assert f"Район № {i} " in tables, i
    assert "Всего по региону 360" in text[7]


def test_a_region_of_hundreds_draws_half_its_table_in_a_second_process(tmp_path):
    """From 600 municipalities the second half of the table comes from another process and is
    merged in: every page in order, numbered on, and the region's total on the last one."""
    n = 650  # 13 pages of table
    municipalities = ["Муниципальное образование;Должность главы;ФИО главы;Электронная почта"]
    organizations = ["Наименование органа власти;Муниципальное образование;Ссылка на сайт"]
    audit = ["Ссылка на сайт;Код ошибки;Дата проверки"]
    for i in range(1, n + 1):
        municipalities.append(f"Район № {i};Глава района № {i};Иванов Иван Иванович;r{i}@example.ru")
        organizations.append(f"Школа района {i};Район № {i};https://s-r{i}.example.ru")
        if i % 2:
            audit.append(f"s-r{i}.example.ru;widget_missing;13.05.2024")
    data = write_data(tmp_path / "data", municipalities=municipalities, organizations=organizations, audit=audit)
    path = tmp_path / "отчёт.pdf"
    result = run_letters("report", "--data", str(data), "--out", str(path))
    assert result.returncode == 0, result.stderr
    with pikepdf.open(path) as document:
        pages = len(document.pages)
        assert str(document.docinfo["/Author"]) == SENDER
    front = pages - 13
    for table_page in range(1, 14):
        text = _text(path, front + table_page)
        assert f"Показатели муниципальных образований (стр. {table_page} из 13)" in text
        raw = subprocess.run(["pdftotext", "-raw", "-f", str(front + table_page), "-l", str(front + table_page),
                              str(path), "-"], capture_output=True, text=True, check=True).stdout.split()
        assert raw[-1] == str(front + table_page), raw[-8:]
    assert f"Район № {n} " in _text(path, pages) and "Всего по региону 650" in _text(path, pages)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no part left behind"
