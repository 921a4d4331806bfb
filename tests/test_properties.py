"""Whatever the data holds, the table reader, the site addresses, the declension and the
file names give a result or a clean Russian error, never a traceback."""

import csv
import io
import re
import tempfile
import unicodedata
from pathlib import Path, PureWindowsPath

import openpyxl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from letters.declension import DeclensionError, name_dative, position_dative, salutation
from letters.packs import from_spreadsheet, pack_files, safe_name, spreadsheet_safe
from letters.problems import Problems
from letters.sites import site_key
from letters.tables import EXTENSIONS, SCHEMAS, cell_text, read_table

RUSSIAN = re.compile(r"[а-яё]", re.I)
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
# what spreadsheets exported by clerks' systems are made of, the awkward parts included
CELL_CHARS = CYRILLIC + "abcXYZ0189 .,;:-_/\"'«»№()&<>{}%=+@\n\u00a0\u200b\t"
cells = st.text(alphabet=CELL_CHARS, max_size=25)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(folder: Path, name: str):
    problems = Problems()
    table = read_table(folder, name, problems)
    assert (table is None) == problems.has_errors or table is not None
    for problem in problems:
        assert problem.file.startswith(name), problem
        assert RUSSIAN.search(problem.message), problem
    return table, problems


# --- the table reader -------------------------------------------------------------------


@PROPERTY
@given(data=st.binary(max_size=3000), extension=st.sampled_from(EXTENSIONS), prefix=st.sampled_from(
    [b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"%PDF-1.4", b"\xff\xfe", b"<html>", "Ссылка на сайт;".encode()]))
def test_any_bytes_in_any_table_file_give_a_table_or_a_clean_error(data, extension, prefix):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / f"audit{extension}").write_bytes(prefix + data)
        read(Path(folder), "audit")


@PROPERTY
@given(
    rows=st.lists(st.lists(cells, min_size=4, max_size=4), min_size=1, max_size=6),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1251"]),
    separator=st.sampled_from([";", ",", "\t"]),
    title=st.booleans(),
)
def test_a_csv_reads_back_cell_for_cell_in_any_encoding_and_separator(rows, encoding, separator, title):
    header = ["Ссылка на сайт", "Код ошибки", "Дата проверки", "Комментарий"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    if title:
        writer.writerow(["Результаты мониторинга"])
    writer.writerows([header, *rows])
    text = buffer.getvalue()
    assume(encoding != "cp1251" or text.encode("cp1251", "replace").decode("cp1251") == text)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "audit.csv").write_bytes(text.encode(encoding))
        table, problems = read(Path(folder), "audit")
    expected = [[cell_text(c) for c in row] for row in rows if any(cell_text(c) for c in row)]
    if not expected:
        assert table is None and problems.has_errors
        return
    assert table is not None, [str(p) for p in problems]
    assert [[r.text(f) for f in ("site", "error", "checked_at", "details")] for r in table.rows] == expected


@PROPERTY
@given(rows=st.lists(st.lists(st.one_of(cells, st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.none()),
                              min_size=1, max_size=5), max_size=5))
def test_an_xlsx_with_any_cells_gives_a_table_or_a_clean_error(rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Наименование органа власти", "Муниципальное образование", "Ссылка на сайт"])
    for row in rows:
        sheet.append([re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", c) if isinstance(c, str) else c for c in row])
    with tempfile.TemporaryDirectory() as folder:
        book.save(Path(folder) / "organizations.xlsx")
        read(Path(folder), "organizations")


# --- site addresses ---------------------------------------------------------------------

labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
cyrillic_labels = st.text(alphabet="абвгдежзиклмнопрстуфхцчшэюя", min_size=1, max_size=10)


@PROPERTY
@given(st.text(max_size=80))
def test_any_text_gives_a_site_key_or_a_russian_error(text):
    try:
        key = site_key(text)
    except ValueError as exc:
        assert RUSSIAN.search(str(exc)), exc
        return
    assert key == site_key(key)  # normalising twice changes nothing


@PROPERTY
@given(
    host=st.lists(st.one_of(labels, cyrillic_labels), min_size=1, max_size=3),
    zone=st.sampled_from(["ru", "рф", "com"]),
    path=st.lists(labels, max_size=2),
    scheme=st.sampled_from(["", "http://", "https://", "HTTP://", "Https://"]),
    www=st.sampled_from(["", "www.", "WWW."]),
    slash=st.booleans(),
    punycode=st.booleans(),
    upper=st.booleans(),
)
def test_the_same_site_written_any_way_has_one_key(host, zone, path, scheme, www, slash, punycode, upper):
    name = ".".join([*host, zone])
    canonical = name + "".join("/" + p for p in path)
    written = name.encode("idna").decode() if punycode else name
    written = written.upper() if upper else written
    written = scheme + www + written + "".join("/" + p for p in path) + ("/" if slash else "")
    assert site_key(written) == site_key(canonical)


# --- declension ---------------------------------------------------------------------------

words = st.text(alphabet=CYRILLIC + "-'", min_size=1, max_size=12)


@PROPERTY
@given(st.one_of(st.text(max_size=60), st.lists(words, min_size=1, max_size=6).map(" ".join)))
def test_any_name_gives_a_dative_and_a_salutation_or_a_clean_error(text):
    for function in (name_dative, salutation):
        try:
            result = function(text)
        except DeclensionError as exc:
            assert RUSSIAN.search(str(exc))
            continue
        assert isinstance(result, str) and result.strip()


@PROPERTY
@given(st.one_of(st.text(max_size=60), st.lists(words, min_size=1, max_size=6).map(" ".join)))
def test_any_position_gives_a_dative_or_a_clean_error(text):
    try:
        result = position_dative(text)
    except DeclensionError as exc:
        assert RUSSIAN.search(str(exc))
        return
    assert len(result.split()) == len(text.split())  # words are inflected, never lost or added


# --- file names -------------------------------------------------------------------------

WINDOWS_FORBIDDEN = set('<>:"/\\|?*;')  # and «;», the separator of paths in manifest.csv
WINDOWS_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])", re.I)


def assert_windows_safe(name: str) -> None:
    assert name and name not in (".", "..")
    assert not WINDOWS_FORBIDDEN & set(name), name
    assert not any(unicodedata.category(ch)[0] == "C" for ch in name), name
    assert name == name.strip() and not name.endswith("."), name
    assert not name.startswith(("=", "+", "-", "@", ".")), name
    assert not WINDOWS_RESERVED.fullmatch(name.split(".")[0].rstrip(" ")), name
    assert len(name.encode("utf-8")) <= 240


@PROPERTY
@given(st.text(max_size=400), st.integers(min_value=1, max_value=120))
def test_any_text_gives_a_windows_safe_file_name(text, limit):
    name = safe_name(text, limit)
    assert_windows_safe(name)
    assert len(name) <= max(limit, 1) + 1  # «CON» becomes «CON_»
    assert PureWindowsPath(name).name == name and Path(name).name == name


@PROPERTY
@given(number=st.text(alphabet="0123456789/-№ ", min_size=1, max_size=10), municipality=st.text(max_size=300),
       titles=st.tuples(st.text(max_size=100), st.text(max_size=100), st.text(max_size=100)))
def test_pack_files_stay_in_their_folder_and_can_be_written(number, municipality, titles):
    files = pack_files(number, municipality, titles)
    with tempfile.TemporaryDirectory() as out:
        root = Path(out).resolve()
        for relative in [*files.documents, *(files.pdf(d) for d in files.documents)]:
            parts = relative.split("/")
            assert len(parts) == 2 and parts[0] == files.folder
            for part in parts:
                assert_windows_safe(part)
            path = root / relative
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"x")
            assert path.resolve().parent.parent == root


@PROPERTY
@given(st.text(max_size=30))
def test_a_spreadsheet_cell_never_starts_a_formula_and_reads_back(text):
    cell = spreadsheet_safe(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
    assert from_spreadsheet(cell) == text


@pytest.mark.parametrize("name", ["CON", "con.txt", "CON .docx", "LPT1", "COM¹", "NUL.tar.gz", "CONIN$"])
def test_reserved_device_names_are_never_produced(name):
    assert_windows_safe(safe_name(name))


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_header_only_file_of_any_table_is_an_error(tmp_path, schema):
    header = ";".join(c.title for c in SCHEMAS[schema])
    (tmp_path / f"{schema}.csv").write_text(header + "\n;;;\n", encoding="utf-8")
    table, problems = read(tmp_path, schema)
    assert table is None
    assert [str(p) for p in problems.errors] == [
        f"{schema}.csv, строка 1: под строкой заголовков нет ни одной заполненной строки: "
        "впишите данные или положите другой файл"
    ]
