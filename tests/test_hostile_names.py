"""Names that are hostile to files, documents and spreadsheets, built for real.

Municipalities called `../../etc`, `CON`, `Район: "Северный"/Южный`, 300 characters long,
with a line break or starting with `=`; organizations with `&`, `<`, `]]>`, `{{ 7*7 }}`
and `{% if %}`; comments starting with `=`, `+`, `-`, `@`. The letters come out, every
file stays inside OUT/<date>/ under a readable Windows-safe name, the text is printed
literally (never evaluated), and manifest.csv opens in Excel without running anything.
"""

import csv
from pathlib import Path

import pytest
from conftest import pack_files, run_letters, write_data
from pypdf import PdfReader
from test_properties import assert_windows_safe

from letters.packs import TITLE_LIMIT, from_spreadsheet

LONG = "Муниципальное образование " + "с очень длинным названием " * 11
LONG = LONG[:300]
MUNICIPALITIES = {  # name as written → organization, its site, its comment
    "../../etc": ("Школа & <корпус 2> ]]>", "etc-school.ru", "=1+1"),
    "CON": ("Гимназия {{ 7*7 }}", "con-gym.ru", "+7 (3452) 00-00-00"),
    'Район: "Северный"/Южный': ("Лицей {% if %} № 3", "north.ru", "-нет кода"),
    LONG: ("Детский сад «Колокольчик»", "long.ru", "@SUM(A1)"),
    "Заречный\nмуниципальный район": ("МАОУ СОШ № 5", "river.ru", "=HYPERLINK(\"http://x.ru\";\"x\")"),
    '=HYPERLINK("http://x.ru";"Район")': ("Администрация", "formula.ru", "обычный комментарий"),
}
HEADS = ["Иванов Иван Иванович", "Петрова Мария Петровна", "Ким Алексей Борисович",
         "Черных Ольга Викторовна", "Смирнов Олег Игоревич", "Орлова Анна Сергеевна"]


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def hostile_data(folder: Path) -> Path:
    municipalities = ["Муниципальное образование;Должность главы;ФИО главы;Электронная почта"]
    organizations = ["Наименование органа власти;Муниципальное образование;Ссылка на сайт"]
    audit = ["Ссылка на сайт;Код ошибки;Дата проверки;Комментарий"]
    for i, (name, (organization, site, comment)) in enumerate(MUNICIPALITIES.items()):
        email = "" if i == 5 else f"head{i}@mail.ru"  # the last one has no e-mail: a warning
        municipalities.append(f"{quoted(name)};Глава района;{HEADS[i]};{email}")
        organizations.append(f"{quoted(organization)};{quoted(name)};https://{site}")
        audit.append(f"{site};widget_missing;13.05.2024;{quoted(comment)}")
    audit.append(f"etc-school.ru;wrong_lko;20.05.2024;{quoted('проверено в день письма')}")
    audit.append(f"con-gym.ru;size_changed;14.05.2024;{quoted('Ширина 200 px. ' * 80)}")
    return write_data(folder, municipalities=municipalities, organizations=organizations, audit=audit)


@pytest.fixture(scope="module")
def built(tmp_path_factory, soffice):
    root = tmp_path_factory.mktemp("hostile")
    data, out = hostile_data(root / "data"), root / "out"
    result = run_letters("build", "--date", "20.05.2024", "--data", str(data), "--out", str(out), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    return result, out


@pytest.fixture(scope="module")
def manifest(built) -> list[dict]:
    _, out = built
    with (out / "2024-05-20" / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def squeezed(text: str) -> str:
    """Without any white space: a narrow table column breaks words wherever it likes."""
    return "".join(text.split())


def pdf_text(path: Path) -> str:
    return squeezed(" ".join(page.extract_text() for page in PdfReader(path).pages))


def test_every_municipality_gets_its_letter(manifest):
    names = [from_spreadsheet(row["municipality"]) for row in manifest]
    expected = [" ".join(name.split()) for name in MUNICIPALITIES]  # the line break is a space
    assert sorted(names) == sorted(expected)


def test_every_file_stays_inside_the_date_folder_under_a_windows_safe_name(built):
    _, out = built
    folder = (out / "2024-05-20").resolve()
    # beside the date folder only the program's own hidden cache (OUT/.cache), named by it
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["2024-05-20"]
    for path in out.rglob("*"):
        assert_windows_safe(path.name.lstrip("."))
    files = pack_files(folder)
    assert len(files) == 6 * 8 + 1  # four .docx and four .pdf a pack, and the manifest
    for path in files:
        relative = path.resolve().relative_to(folder)
        assert len(relative.parts) <= 2
        for part in relative.parts:
            assert_windows_safe(part)
            # a whole title (appendix 3's is 86 characters), bounded: paths stay far below Windows' 260
            assert len(part) <= TITLE_LIMIT + len(".docx")


def test_folder_names_stay_readable(manifest):
    folders = {from_spreadsheet(row["municipality"]): row["letter"].split("/")[0] for row in manifest}
    assert folders["../../etc"].endswith(" ..-..-etc")
    assert folders["CON"].endswith(" CON")
    assert folders['Район: "Северный"/Южный'].endswith(" Район Северный -Южный")
    assert folders["Заречный муниципальный район"].endswith(" Заречный муниципальный район")
    assert folders[LONG].split(" ", 1)[1] in LONG


def test_special_characters_and_tags_are_printed_literally(built, manifest):
    _, out = built
    text = {}
    for row in manifest:
        appendix = out / "2024-05-20" / row["appendices"].split(";")[0]
        text[from_spreadsheet(row["municipality"])] = pdf_text(appendix.with_suffix(".pdf"))
    assert squeezed("Школа & <корпус 2> ]]>") in text["../../etc"]
    assert squeezed("Гимназия {{ 7*7 }}") in text["CON"] and "Гимназия49" not in text["CON"]
    assert squeezed("Лицей {% if %} № 3") in text['Район: "Северный"/Южный']
    for name, (_, _, comment) in MUNICIPALITIES.items():
        assert squeezed(comment) in text[" ".join(name.split())]


def test_the_manifest_runs_nothing_in_a_spreadsheet_and_reads_back(built, manifest):
    _, out = built
    for row in manifest:
        assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values()), row
        assert (out / "2024-05-20" / row["letter"]).is_file()  # paths are written as they are
    formula = next(row for row in manifest if "HYPERLINK" in row["municipality"])
    assert formula["municipality"] == "'" + '=HYPERLINK("http://x.ru";"Район")'


def test_warnings_are_shown_once_each_grouped_and_the_build_goes_on(built):
    result, _ = built
    lines = result.stderr.splitlines()
    heading = lines.index("Предупреждения (сборка идёт, но проверьте): 2")
    warnings = lines[heading + 1 : heading + 3]
    assert all(line.startswith("  • ") for line in warnings)
    assert "комментарий длиной 1199 знаков" in warnings[0]
    assert "нет адреса электронной почты" in warnings[1]
    assert len(set(lines)) == len(lines)
    assert "Готово: 6 писем" in result.stdout
