"""`letters build` on the sample, checked the way a reader checks a letter:
addressee, number, date, sheet counts against the PDFs, and the findings themselves."""

import csv
import datetime as dt
import hashlib
import re
import sys
from pathlib import Path

import docx
import pandas as pd
import pytest
from conftest import SAMPLE, TEMPLATES, pack_files, run_letters
from pypdf import PdfReader

from letters import pipeline
from letters.sites import site_key

DATE = dt.date(2024, 5, 20)
NBSP = "\u00a0"


def norm(text: str) -> str:
    return " ".join(text.replace(NBSP, " ").split())


def docx_text(path: Path) -> str:
    document = docx.Document(path)
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return norm("\n".join([p.text for p in document.paragraphs] + cells))


def pdf_text(path: Path) -> str:
    return norm("\n".join(page.extract_text() for page in PdfReader(path).pages))


def pdf_pages(path: Path) -> int:
    return len(PdfReader(path).pages)


@pytest.fixture(scope="module")
def built(tmp_path_factory, soffice):
    out = tmp_path_factory.mktemp("out")
    result = pipeline.build(pipeline.BuildRequest(
        date=DATE, data=SAMPLE, templates=TEMPLATES, out=out, jobs=2, journal=str(out / "journal.sqlite")
    ))
    assert not result.problems.has_errors, [str(p) for p in result.problems.errors]
    return out / "2024-05-20"


@pytest.fixture(scope="module")
def manifest(built) -> dict[str, dict]:
    with (built / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        return {row["municipality"]: row for row in csv.DictReader(handle)}


def expected_findings() -> pd.DataFrame:
    """The audit joined with the registry, read straight from the sample files."""
    registry = pd.read_excel(SAMPLE / "organizations.ods", engine="odf", dtype=str)
    audit = pd.read_csv(SAMPLE / "audit.csv", sep=";", encoding="cp1251", skiprows=2, dtype=str, keep_default_na=False)
    errors = pd.read_excel(SAMPLE / "errors.xlsx", dtype=str, engine="openpyxl")
    registry["key"] = registry["Ссылка на сайт"].map(site_key)
    audit["key"] = audit["Ссылка на сайт"].map(site_key)
    audit = audit.drop_duplicates(["key", "Код ошибки"])
    joined = audit.merge(registry, on="key").merge(errors, on="Код ошибки")
    return joined.rename(columns={"Наименование органа власти": "organization", "Наименование ошибки": "title"})


def appendix1_rows(path: Path) -> list[tuple[str, str]]:
    table = docx.Document(path).tables[0]
    header = [c.text for c in table.rows[0].cells]
    org, error = header.index("Учреждение"), header.index("Ошибка")
    return [(norm(r.cells[org].text), norm(r.cells[error].text)) for r in table.rows[1:]]


def pack_file(built: Path, row: dict, column: str, index: int = 0) -> Path:
    return built / row[column].split(";")[index]


def test_one_pack_per_municipality_with_findings(built, manifest):
    expected = set(expected_findings()["Муниципальное образование"])
    assert set(manifest) == expected
    assert len(expected) == 22
    assert {"Голышмановский городской округ", "Армизонский муниципальный район"}.isdisjoint(manifest)
    folders = {p.name for p in built.iterdir() if p.is_dir() and p.name != "обзор"}
    assert folders == {row["letter"].split("/")[0] for row in manifest.values()}


def test_numbers_start_at_1337_and_follow_the_table(manifest):
    numbers = [row["number"] for row in manifest.values()]
    assert numbers == [f"{n}/24" for n in range(1337, 1337 + 22)]
    assert manifest["Город Тюмень"]["number"] == "1337/24"
    assert {row["date"] for row in manifest.values()} == {"20.05.2024"}


@pytest.mark.parametrize(
    "municipality, position, name, greeting",
    [
        ("Город Тюмень", "Главе города Тюмени", "Р.Н. Кравцову", "Уважаемый Руслан Николаевич!"),
        ("Город Ишим", "Главе города Ишима", "О.С. Ким", "Уважаемая Ольга Сергеевна!"),
        ("Город Ялуторовск", "Главе города Ялуторовска", "Д.А. Черных", "Уважаемый Дмитрий Александрович!"),
        ("Заводоуковский городской округ", "Исполняющему обязанности главы Заводоуковского городского округа",
         "С.И. Бондаренко", "Уважаемый Сергей Иванович!"),
        ("Ишимский муниципальный район", "Главе Ишимского муниципального района", "А.И. Римскому-Корсакову",
         "Уважаемый Андрей Ильич!"),
        ("Нижнетавдинский муниципальный район", "Главе Нижнетавдинского муниципального района", "И.Н. Коваль",
         "Уважаемая Ирина Николаевна!"),
        ("Уватский муниципальный район", "Временно исполняющему полномочия главы Уватского муниципального района",
         "Г.П. Швецу", "Уважаемый Григорий Павлович!"),
    ],
)
def test_letter_addresses_the_head_in_the_dative(built, manifest, municipality, position, name, greeting):
    row = manifest[municipality]
    letter = pack_file(built, row, "letter")
    for text in (docx_text(letter), pdf_text(letter.with_suffix(".pdf"))):
        assert f"{position} {name}" in text
        assert greeting in text
        assert f"20.05.2024 № {row['number']}" in text
        assert "в срок до 14.06.2024" in text
        assert "О размещении виджетов ПОС на сайтах учреждений" in text
        assert "Директор С.И. Логинов" in text


def test_sheet_counts_in_letter_and_manifest_are_the_appendix_pdf_pages(built, manifest):
    for row in manifest.values():
        pages = [pdf_pages(pack_file(built, row, "appendices", i).with_suffix(".pdf")) for i in range(3)]
        assert row["appendix_sheets"] == ";".join(map(str, pages))
        letter = pdf_text(pack_file(built, row, "letter").with_suffix(".pdf"))
        printed = [int(n) for n in re.findall(r"на (\d+) л\. в 1 экз", letter)]
        assert printed == pages, row["municipality"]


def test_tyumen_appendix_1_runs_over_two_pages(built, manifest):
    appendix = pack_file(built, manifest["Город Тюмень"], "appendices").with_suffix(".pdf")
    assert pdf_pages(appendix) > 2


def test_appendix_1_lists_every_finding_of_the_municipality_and_no_other(built, manifest):
    findings = expected_findings()
    for municipality, row in manifest.items():
        own = findings[findings["Муниципальное образование"] == municipality]
        expected = sorted(zip(own["organization"].map(norm), own["title"].map(norm)))
        assert sorted(appendix1_rows(pack_file(built, row, "appendices", 0))) == expected, municipality
        assert int(row["findings"]) == len(expected)


def test_appendix_2_has_only_the_recommendations_for_errors_found(built, manifest):
    findings = expected_findings()
    errors = pd.read_excel(SAMPLE / "errors.xlsx", dtype=str, engine="openpyxl")
    for municipality, row in manifest.items():
        text = docx_text(pack_file(built, row, "appendices", 1))
        present = set(findings[findings["Муниципальное образование"] == municipality]["title"])
        for title in errors["Наименование ошибки"]:
            assert (norm(title) in text) == (title in present), (municipality, title)


def test_appendix_3_is_the_plan(built, manifest):
    plan = pd.read_excel(SAMPLE / "plan.xlsx", dtype=str, engine="openpyxl")
    text = docx_text(pack_file(built, manifest["Абатский муниципальный район"], "appendices", 2))
    for action in plan["Мероприятие"]:
        assert norm(action) in text


def test_appendices_refer_to_their_letter(built, manifest):
    row = manifest["Город Тобольск"]
    for i in range(3):
        text = pdf_text(pack_file(built, row, "appendices", i).with_suffix(".pdf"))
        assert f"Приложение {i + 1}" in text
        assert "к письму Департамента информатизации Тюменской области" in text
        assert "от 20.05.2024 № 1338/24" in text


def test_special_characters_appear_literally_in_word_and_pdf(built, manifest):
    name = "МДОУ «Сказка» & ясли <корпус 2>"
    appendix = pack_file(built, manifest["Город Ишим"], "appendices", 0)
    assert name in docx_text(appendix)
    assert name in pdf_text(appendix.with_suffix(".pdf"))


def test_manifest_sha256_matches_every_file_of_the_pack(built, manifest):
    for row in manifest.values():
        docs = [row["letter"], *row["appendices"].split(";")]
        files = docs + [d[: -len(".docx")] + ".pdf" for d in docs]
        digests = [hashlib.sha256((built / f).read_bytes()).hexdigest() for f in files]
        assert row["sha256"].split(";") == digests


def test_manifest_emails(manifest):
    assert manifest["Город Тюмень"]["email"] == "glava@gorod-tyumen.ru;priemnaya@gorod-tyumen.ru"
    assert manifest["Сорокинский муниципальный район"]["email"] == ""


def test_no_pdf_keeps_sheet_counts_but_no_pdfs(small_data, tmp_path, soffice):
    result = run_letters("build", "--date", "20.05.2024", "--data", str(small_data), "--out", str(tmp_path / "out"), "--no-pdf")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "2024-05-20"
    assert list(folder.rglob("*.pdf")) == []
    with (folder / "manifest.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["appendix_sheets"] for r in rows] == ["1;1;1", "1;1;1"]
    assert "на 1 л. в 1 экз" in docx_text(folder / rows[0]["letter"])
    assert len(rows[0]["sha256"].split(";")) == 4


def test_bad_input_writes_nothing_and_exits_1(small_data, tmp_path):
    (small_data / "audit.csv").write_text("Ссылка на сайт;Код ошибки;Дата проверки\nnosuch.ru;x;13.05.2024\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_letters("build", "--date", "20.05.2024", "--data", str(small_data), "--out", str(out))
    assert result.returncode == 1
    assert "audit.csv, строка 2, столбец «Ссылка на сайт»" in result.stderr
    assert "Ничего не записано" in result.stderr
    assert not out.exists()


def test_missing_libreoffice_is_exit_2_with_what_to_install(small_data, tmp_path):
    env = {"PATH": "/nonexistent", "LETTERS_SOFFICE": str(tmp_path / "no-soffice")}
    result = run_letters("build", "--date", "20.05.2024", "--data", str(small_data), "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert "Не найден LibreOffice" in result.stderr
    assert "apt-get install libreoffice-writer-nogui" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()



def test_a_libreoffice_that_cannot_be_started_is_exit_2_and_writes_no_letters(small_data, tmp_path):
    not_a_program = tmp_path / "soffice"
    not_a_program.write_text("not a program")  # there, but not executable
    env = {"PATH": "/nonexistent", "LETTERS_SOFFICE": str(not_a_program)}
    out = tmp_path / "out"
    result = run_letters("build", "--date", "20.05.2024", "--data", str(small_data), "--out", str(out), env=env)
    assert result.returncode == 2
    assert f"Не удалось запустить LibreOffice ({not_a_program})" in result.stderr
    assert "apt-get install libreoffice-writer-nogui" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / "2024-05-20").exists() and not list(out.glob("*.building"))

def test_a_libreoffice_crash_midway_leaves_the_previous_packs_untouched(small_data, tmp_path, soffice):
    out = tmp_path / "out"
    assert run_letters("build", "--date", "20.05.2024", "--data", str(small_data), "--out", str(out)).returncode == 0
    before = {p: p.read_bytes() for p in pack_files(out / "2024-05-20")}
    # a LibreOffice that converts the first document of the build, then fails on all others
    crashing = tmp_path / "soffice"
    crashing.write_text(
        f"#!{sys.executable}\nimport subprocess, sys\n"
        "args = [a for a in sys.argv[1:] if not a.endswith('.docx') or a.endswith('00000.docx')]\n"
        "if any(a.endswith('00000.docx') for a in args):\n"
        f"    subprocess.run([{soffice!r}, *args])\n"
        f"    open({str(tmp_path / 'converted.log')!r}, 'a').write(args[-1])\n"
    )
    crashing.chmod(0o755)
    (small_data / "audit.csv").write_text(
        (small_data / "audit.csv").read_text(encoding="utf-8") + "uvat.ru;widget_missing;13.05.2024;\n", encoding="utf-8"
    )
    result = run_letters(
        "build", "--date", "20.05.2024", "--data", str(small_data), "--out", str(out),
        env={"LETTERS_SOFFICE": str(crashing), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "LibreOffice не смог сделать PDF" in result.stderr
    after = {p: p.read_bytes() for p in pack_files(out / "2024-05-20")}
    assert after == before
    assert (tmp_path / "converted.log").read_text().endswith("00000.docx")  # it failed midway, not at once
    assert sorted(p.name for p in out.iterdir() if p.name != ".cache") == ["2024-05-20"]  # no leftovers


def test_cli_only_with_a_mistyped_name_suggests_the_closest_and_writes_nothing(small_data, tmp_path):
    out = tmp_path / "out"
    shown = run_letters("build", "--date", "20.05.2024", "--data", str(small_data), "--out", str(out),
                        "--only", "город  ИШИММ", "--no-pdf")
    assert shown.returncode == 1
    assert "--only «город  ИШИММ»: " in shown.stderr and "(возможно, «Город Ишим»?)" in shown.stderr
    assert not out.exists()


def test_cli_progress_names_the_step_with_a_spinner_until_it_can_count(monkeypatch):
    import importlib
    import io

    from rich.console import Console

    cli = importlib.import_module("letters.cli.app")  # the module; letters.cli.app is also the Typer app
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100, color_system=None)
    monkeypatch.setattr(cli, "err", terminal)  # a real Rich console, as on the clerk's terminal
    shown = cli.progress()
    report = shown.__enter__()
    shown._bar.refresh()
    before = terminal.file.getvalue()
    report("письма и приложения: Word → PDF", 1, 4)
    shown._bar.refresh()
    after = terminal.file.getvalue()[len(before):]
    shown.__exit__(None, None, None)
    assert "⠋ проверка данных" in before and "/?" not in before and "0/" not in before
    assert "письма и приложения: Word → PDF" in after and "1/4" in after
