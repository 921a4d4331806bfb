"""The registration journal: numbers never given twice, re-runs that are safe, an archive
that can be checked. Every test runs on SQLite and on a real PostgreSQL server."""

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from conftest import TABLES, run_letters, write_data

from letters.journal import (
    CANCELLED, ISSUED, REPLACED, RESERVED, SENT, Addressee, Journal, JournalError, NewLetter, location_url,
)
from letters.packs import read_manifest, row_paths, sha256

DATE = "20.05.2024"
FOLDER = "2024-05-20"


def build(data: Path, out: Path, journal: str, *extra: str, env: dict | None = None, date: str = DATE):
    return run_letters("build", "--date", date, "--data", str(data), "--out", str(out), "--journal", journal, *extra,
                       env={**os.environ, **(env or {})})


def open_journal(url: str) -> Journal:
    return Journal(location_url(url))


BATCH_FILES = ("обзор.html", "к печати.pdf", "обзор/")  # made from all the packs: a changed pack changes them


def inodes(folder: Path, batch: bool = False) -> dict[str, int]:
    """The files of the date folder by inode (the same inode: not written again); the batch's
    own overview and print file only when asked."""
    found = {p.relative_to(folder).as_posix(): p.stat().st_ino for p in folder.rglob("*") if p.is_file()}
    return {k: v for k, v in found.items() if batch or not k.startswith(BATCH_FILES)}


def manifest(out: Path) -> dict[str, dict]:
    return {row["municipality"]: row for row in read_manifest(out / FOLDER)}


def assert_consistent(url: str, out: Path, first: int = 1337) -> None:
    """What a killed build must never break: numbers unique and without unexplained gaps,
    every pack with its number, every issued letter with its complete pack."""
    letters = open_journal(url).list()
    by_year: dict[int, list[int]] = {}
    for letter in letters:
        by_year.setdefault(letter.year, []).append(letter.seq)
    for seqs in by_year.values():
        assert sorted(seqs) == list(range(first, first + len(seqs))), "a gap the journal cannot explain"
    numbers = {letter.number: letter for letter in letters}
    rows = read_manifest(out / FOLDER) if (out / FOLDER).exists() else []
    for row in rows:
        letter = numbers.get(row["number"])
        # a replaced letter was sent: its pack stays as the archive of what went out
        assert letter is not None and letter.status in (RESERVED, ISSUED, SENT, REPLACED), f"a pack without its number: {row['number']}"
        for path, digest in zip(row_paths(row), row["sha256"].split(";")):
            assert sha256(out / FOLDER / path) == digest, f"an incomplete pack: {path}"
    live = {row["number"] for row in rows}
    journal = open_journal(url)
    for letter in letters:
        if letter.status in (ISSUED, SENT):
            assert letter.number in live, f"a number without its pack: {letter.number}"
            recorded = journal.files_of(letter.id)
            assert recorded and all(sha256(out / FOLDER / p) == d for p, d in recorded.items())
    folders = {p.name for p in (out / FOLDER).iterdir() if p.is_dir() and p.name != "обзор"} if (out / FOLDER).exists() else set()
    assert folders == {row["letter"].split("/")[0] for row in rows}, "a folder not in manifest.csv"


# --- numbering ---

def test_numbers_follow_the_year_and_the_first_number(journal_url):
    journal = open_journal(journal_url)
    reserve = lambda date, name: journal.reserve(date, name, "{seq}/{yy}", 1337, "test").number  # noqa: E731
    assert reserve(dt.date(2024, 5, 20), "А") == "1337/24"
    assert reserve(dt.date(2024, 5, 21), "Б") == "1338/24"
    assert reserve(dt.date(2025, 1, 9), "А") == "1337/25"  # a new year starts again
    assert journal.reserve(dt.date(2024, 6, 1), "В", "{seq}-исх/{yyyy}", 1000, "test").number == "1339-исх/2024"
    assert journal.reserve(dt.date(2024, 6, 1), "Г", "{seq}/{yy}", 2000, "test").number == "2000/24"


def test_a_build_takes_its_numbers_in_one_go_all_or_none(journal_url):
    journal = open_journal(journal_url)
    date = dt.date(2024, 5, 20)
    heads = [NewLetter(name, addressees=(Addressee(name, f"Главе {name}", f"{i}@mo.ru"),)) for i, name in enumerate("АБВ")]
    taken = journal.reserve_all(date, heads, "{seq}/{yy}", 1337, "build-1")
    assert [(t.number, t.municipality, t.deliveries[0].addresses) for t in taken] == [
        ("1337/24", "А", "0@mo.ru"), ("1338/24", "Б", "1@mo.ru"), ("1339/24", "В", "2@mo.ru")]
    with pytest.raises(JournalError, match="у «Б» уже есть письмо за 20.05.2024"):
        journal.reserve_all(date, [NewLetter("Г"), NewLetter("Б"), NewLetter("Д")], "{seq}/{yy}", 1337, "build-2")
    assert [letter.municipality for letter in journal.list()] == ["А", "Б", "В"]  # not even «Г» took a number
    assert journal.reserve(date, "Г", "{seq}/{yy}", 1337, "build-3").number == "1340/24"


RESERVE = """
import datetime as dt, sys
from letters.journal import Journal, location_url
journal = Journal(location_url(sys.argv[1]))
for i in range(int(sys.argv[3])):
    letter = journal.reserve(dt.date(2024, 5, 20 + i % 5), f"{sys.argv[2]}-{i}", "{seq}/{yy}", 1337, sys.argv[2])
    print(letter.number, flush=True)
"""


def test_concurrent_builds_never_get_the_same_number(journal_url):
    open_journal(journal_url)  # the schema, before the race
    for round_ in range(3):
        processes = [
            subprocess.Popen([sys.executable, "-c", RESERVE, journal_url, f"r{round_}p{p}", "20"], stdout=subprocess.PIPE, text=True)
            for p in range(4)
        ]
        outputs = [p.communicate(timeout=300)[0].split() for p in processes]
        assert all(p.returncode == 0 for p in processes)
    numbers = [letter.number for letter in open_journal(journal_url).list()]
    assert len(numbers) == 3 * 4 * 20
    assert len(set(numbers)) == len(numbers)
    assert sorted(int(n.split("/")[0]) for n in numbers) == list(range(1337, 1337 + 240))


def test_two_real_builds_at_once_share_one_journal(journal_url, tmp_path, soffice):
    data = write_data(tmp_path / "data")
    for round_ in range(2):
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "letters", "build", "--date", date, "--data", str(data),
                 "--out", str(tmp_path / f"out{round_}-{i}"), "--journal", journal_url],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for i, date in enumerate((f"2{2 * round_}.05.2024", f"2{2 * round_ + 1}.05.2024"))
        ]
        for process in processes:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
    numbers = [letter.number for letter in open_journal(journal_url).list()]
    assert len(numbers) == 2 * 2 * 2 and len(set(numbers)) == len(numbers)


# --- re-runs ---

def test_a_rerun_keeps_numbers_and_rewrites_nothing_unchanged(journal_url, tmp_path, soffice):
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, journal_url).returncode == 0
    before, numbers = inodes(out / FOLDER, batch=True), {m: r["number"] for m, r in manifest(out).items()}
    result = build(data, out, journal_url)
    assert result.returncode == 0, result.stderr
    assert "без изменений" in result.stdout
    assert {m: r["number"] for m, r in manifest(out).items()} == numbers == {
        "Тюменский муниципальный район": "1337/24", "Город Ишим": "1338/24"}
    after = inodes(out / FOLDER, batch=True)
    assert {k: v for k, v in after.items() if k != "manifest.csv"} == {k: v for k, v in before.items() if k != "manifest.csv"}
    assert_consistent(journal_url, out)


def test_a_rerun_after_one_municipality_changed_rewrites_only_its_pack(journal_url, tmp_path, soffice):
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, journal_url).returncode == 0
    before = inodes(out / FOLDER)
    write_data(data, audit=TABLES["audit"] + ["skazka-ishim.ru;widget_hidden;16.05.2024;Перекрыт баннером"])
    (data / "errors.csv").write_text(
        "\n".join(TABLES["errors"] + ["widget_hidden;Виджет скрыт;Уберите перекрытие."]) + "\n", encoding="utf-8")
    result = build(data, out, journal_url)
    assert result.returncode == 0, result.stderr
    after = inodes(out / FOLDER)
    ishim = manifest(out)["Город Ишим"]
    assert ishim["number"] == "1338/24" and ishim["findings"] == "2"
    changed = {k for k in after if before.get(k) != after[k]} - {"manifest.csv"}
    assert changed and all(k.startswith("1338-24 ") for k in changed)
    assert_consistent(journal_url, out)


def test_a_municipality_new_on_that_date_gets_the_next_number(journal_url, tmp_path, soffice):
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, journal_url).returncode == 0
    write_data(data, audit=TABLES["audit"] + ["uvat.ru;widget_missing;16.05.2024;"])
    assert build(data, out, journal_url).returncode == 0
    assert manifest(out)["Уватский муниципальный район"]["number"] == "1339/24"
    assert_consistent(journal_url, out)


def test_a_municipality_without_findings_any_more_is_cancelled(journal_url, tmp_path, soffice):
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, journal_url).returncode == 0
    write_data(data, audit=TABLES["audit"][:4])  # Ишим fixed its kindergarten's site
    result = build(data, out, journal_url)
    assert "№ 1338/24 аннулирован" in result.stdout
    assert set(manifest(out)) == {"Тюменский муниципальный район"}
    letter = open_journal(journal_url).find("1338/24")
    assert letter.status == CANCELLED and "ошибок не осталось" in letter.reason
    assert_consistent(journal_url, out)


def test_a_sent_letter_is_never_overwritten_unless_reissued(journal_url, tmp_path, soffice):
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, journal_url).returncode == 0
    open_journal(journal_url).mark_sent("1338/24", "эл. почта", dt.datetime.now(dt.timezone.utc), "adm@ishim.ru")
    unchanged = build(data, out, journal_url)
    assert unchanged.returncode == 0, unchanged.stderr
    sent_pack = {k: v for k, v in inodes(out / FOLDER).items() if k.startswith("1338-24 ")}
    write_data(data, audit=TABLES["audit"] + ["skazka-ishim.ru;wrong_lko;16.05.2024;"])
    refused = build(data, out, journal_url)
    assert refused.returncode == 1
    assert "письмо № 1338/24 для «Город Ишим» уже отправлено" in refused.stderr
    assert "--reissue" in refused.stderr
    assert {k: v for k, v in inodes(out / FOLDER).items() if k.startswith("1338-24 ")} == sent_pack
    reissued = build(data, out, journal_url, "--reissue")
    assert reissued.returncode == 0, reissued.stderr
    ishim = [r["number"] for r in read_manifest(out / FOLDER) if r["municipality"] == "Город Ишим"]
    assert sorted(ishim) == ["1338/24", "1339/24"]  # the sent one stays, for the archive
    assert {k: v for k, v in inodes(out / FOLDER).items() if k.startswith("1338-24 ")} == sent_pack
    journal = open_journal(journal_url)
    old = journal.find("1338/24")
    assert (old.status, old.replaced_by) == (REPLACED, "1339/24")
    assert journal.find("1339/24").replaces == "1338/24"
    assert_consistent(journal_url, out)


def test_only_builds_the_named_and_leaves_the_others_alone(journal_url, tmp_path, soffice):
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, journal_url).returncode == 0
    tyumen = {k: v for k, v in inodes(out / FOLDER).items() if k.startswith("1337-24 ")}
    write_data(data, audit=TABLES["audit"] + ["skazka-ishim.ru;wrong_lko;16.05.2024;", "uvat.ru;widget_missing;16.05.2024;"])
    result = build(data, out, journal_url, "--only", "город ишим")
    assert result.returncode == 0, result.stderr
    rows = manifest(out)
    assert set(rows) == {"Тюменский муниципальный район", "Город Ишим"}  # Уват not built: not named
    assert rows["Город Ишим"]["findings"] == "2"
    assert {k: v for k, v in inodes(out / FOLDER).items() if k.startswith("1337-24 ")} == tyumen
    assert [letter.number for letter in open_journal(journal_url).list()] == ["1337/24", "1338/24"]
    unknown = build(data, out, journal_url, "--only", "Нет такого района")
    assert unknown.returncode == 1 and "такого муниципального образования нет" in unknown.stderr
    assert_consistent(journal_url, out)


# --- crash safety ---

POINTS = ["reserved", "converted", "staged", "marked", "swap", "swapped", "finished"]


@pytest.mark.parametrize("point", POINTS)
def test_a_build_killed_at_any_point_leaves_journal_and_out_in_agreement(point, tmp_path, soffice):
    url = str(tmp_path / "journal.sqlite")
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, url).returncode == 0
    # a second date's first build and a first date's changed re-run, both killed at `point`
    write_data(data, audit=TABLES["audit"] + ["uvat.ru;widget_missing;16.05.2024;", "skazka-ishim.ru;wrong_lko;16.05.2024;"])
    killed = build(data, out, url, env={"LETTERS_KILL_AT": point})
    assert killed.returncode == -9
    assert_consistent(url, out)
    again = build(data, out, url)
    assert again.returncode == 0, again.stderr
    assert_consistent(url, out)
    assert not [letter for letter in open_journal(url).list() if letter.status == RESERVED]
    assert {r["number"] for r in manifest(out).values()} >= {"1337/24", "1338/24"}
    assert run_letters("verify", str(out / FOLDER), "--journal", url).returncode == 0


@pytest.mark.parametrize("point", ["reserved", "swap"])
def test_killed_builds_on_postgresql_too(point, postgres_url, tmp_path, soffice):
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, postgres_url).returncode == 0
    write_data(data, audit=TABLES["audit"] + ["uvat.ru;widget_missing;16.05.2024;"])
    assert build(data, out, postgres_url, env={"LETTERS_KILL_AT": point}).returncode == -9
    assert_consistent(postgres_url, out)
    assert build(data, out, postgres_url).returncode == 0
    assert_consistent(postgres_url, out)


# --- the register and verify ---

def test_journal_lists_exports_and_cancels(tmp_path, soffice):
    url = str(tmp_path / "journal.sqlite")
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    settings = data / "letters.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("[numbering]", 'case_file = "01-15"\n\n[numbering]'),
                        encoding="utf-8")
    assert build(data, out, url).returncode == 0
    listing = run_letters("journal", "--journal", url, "--municipality", "ишим")
    assert "1338/24" in listing.stdout and "1337/24" not in listing.stdout
    cancel = run_letters("journal", "cancel", "1337/24", "--why", "направлено ошибочно", "--journal", url)
    assert cancel.returncode == 0, cancel.stderr
    assert run_letters("journal", "cancel", "1337/24", "--why", "ещё раз", "--journal", url).returncode == 1
    # statuses as the journal shows them, whatever the case; the stored English names still work
    cancelled = run_letters("journal", "--journal", url, "--status", "Аннулирован")
    assert "1337/24" in cancelled.stdout and "1338/24" not in cancelled.stdout, cancelled.stderr
    assert "1337/24" in run_letters("journal", "--journal", url, "--status", "cancelled").stdout
    issued = run_letters("journal", "--journal", url, "--status", "выдан")
    assert "1338/24" in issued.stdout and "1337/24" not in issued.stdout
    typo = run_letters("journal", "--journal", url, "--status", "выдн")
    assert typo.returncode == 2 and "статус «выдн» неизвестен (возможно, «выдан»?)" in typo.stderr
    verified = run_letters("verify", str(out / FOLDER), "--journal", url)
    assert "письмо № 1337/24 в журнале — аннулирован, а пакет лежит в папке" in verified.stderr
    for name in ("register.xlsx", "register.csv"):
        assert run_letters("journal", "--journal", url, "--export", str(tmp_path / name)).returncode == 0
    sheet = openpyxl.load_workbook(tmp_path / "register.xlsx").active
    assert sheet["A1"].value == "Журнал регистрации исходящих писем за 2024 год" and sheet["A1"].font.bold
    header = [c.value for c in sheet[2]]
    assert header[:12] == ["Рег. номер", "Дата", "Адресат", "Краткое содержание", "Листов", "Экз.", "Исполнитель",
                           "Кем подписан", "Отметка об отправке", "Срок исполнения", "Ответ (вх. № и дата)", "Дело"]
    assert all(c.font.bold and c.alignment.wrap_text for c in sheet[2])
    first = {name: cell.value for name, cell in zip(header, sheet[3])}
    assert (first["Рег. номер"], first["Статус"], first["Примечание"]) == ("1337/24", "аннулирован", "направлено ошибочно")
    assert first["Дата"] == dt.datetime(2024, 5, 20) and sheet["B3"].number_format == "DD.MM.YYYY"
    assert first["Срок исполнения"] == dt.datetime(2024, 6, 14) and first["Экз."] == 1
    assert first["Адресат"] == "Тюменский муниципальный район: Главе Тюменского муниципального района И.И. Иванову"
    assert first["Листов"] == "2+3" and first["Дело"] == "01-15"
    # laid out to print: the header frozen and filtered, A4 landscape, the header on every page
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == "A2:N4"
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.print_title_rows == "$2:$2" and sheet.print_area == "'Журнал'!$A$1:$N$4"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.column_dimensions["C"].width > 30 and sheet.column_dimensions["A"].width >= 10
    with open(tmp_path / "register.csv", encoding="utf-8-sig", newline="") as handle:
        table = list(csv.DictReader(handle, delimiter=";"))
    assert list(table[0])[:12] == header[:12]
    assert [(r["Рег. номер"], r["Дата"], r["Срок исполнения"]) for r in table] == [
        ("1337/24", DATE, "14.06.2024"), ("1338/24", DATE, "14.06.2024")]


def test_verify_reports_missing_changed_and_extra_files(tmp_path, soffice):
    url = str(tmp_path / "journal.sqlite")
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, url).returncode == 0
    assert run_letters("verify", str(out / FOLDER), "--journal", url).returncode == 0
    pack = next(p for p in (out / FOLDER).iterdir() if p.name.startswith("1337-24"))
    (pack / "Письмо 1337-24.pdf").write_bytes(b"%PDF-1.4 changed")
    (pack / "Приложение 1. Перечень выявленных ошибок.docx").unlink()
    (pack / "заметки.txt").write_text("чужой файл")
    result = run_letters("verify", str(out / FOLDER), "--journal", url)
    assert result.returncode == 1
    assert "файл изменён после сборки" in result.stderr and "Письмо 1337-24.pdf" in result.stderr
    assert "файла нет: 1337-24 Тюменский муниципальный район/Приложение 1." in result.stderr
    assert "файл не из сборки (его нет в manifest.csv; программа его не трогает): 1337-24 Тюменский муниципальный район/заметки.txt" in result.stderr


# --- which journal: never one inside a data folder that a clerk may copy ---

def test_two_copies_of_a_data_folder_never_give_the_same_number(tmp_path, soffice):
    may = write_data(tmp_path / "май")
    june = tmp_path / "июнь"
    shutil.copytree(may, june)
    settings = june / "letters.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("14.06.2024", "15.07.2024"), encoding="utf-8")
    for data, date in ((may, DATE), (june, "17.06.2024")):  # the May folder copied for June's mailing
        result = run_letters("build", "--date", date, "--data", str(data), "--out", str(data / "out"))
        assert result.returncode == 0, result.stderr
    numbers = [row["number"] for data, folder in ((may, FOLDER), (june, "2024-06-17"))
               for row in read_manifest(data / "out" / folder)]
    assert numbers == ["1337/24", "1338/24", "1339/24", "1340/24"]
    assert not (may / "journal.sqlite").exists() and not (june / "journal.sqlite").exists()
    # the one journal of this user account (the tests point it into a folder of their own)
    user = Path(os.environ["XDG_DATA_HOME"]) / "letters" / "journal.sqlite"
    assert {letter.number for letter in open_journal(str(user)).list()} >= set(numbers)


def test_a_journal_left_in_a_data_folder_works_for_one_release_and_a_copy_of_it_is_refused(tmp_path, soffice):
    data = write_data(tmp_path / "май")
    first = run_letters("build", "--date", DATE, "--data", str(data), "--out", str(tmp_path / "out"),
                        "--journal", str(data / "journal.sqlite"))  # as 0.6.0 did by itself
    assert first.returncode == 0, first.stderr
    again = run_letters("build", "--date", DATE, "--data", str(data), "--out", str(tmp_path / "out"))
    assert again.returncode == 0, again.stderr
    assert "журнал регистрации лежит в папке данных" in again.stderr and "[journal] path" in again.stderr
    assert [row["number"] for row in read_manifest(tmp_path / "out" / FOLDER)] == ["1337/24", "1338/24"]
    copy = tmp_path / "июнь"
    shutil.copytree(data, copy)
    refused = run_letters("build", "--date", "21.05.2024", "--data", str(copy), "--out", str(tmp_path / "out2"))
    assert refused.returncode == 1 and "копия журнала" in refused.stderr and str(data / "journal.sqlite") in refused.stderr
    assert not (tmp_path / "out2").exists()


def test_a_journal_named_in_letters_toml_is_used_and_a_relative_path_is_refused(tmp_path):
    data = write_data(tmp_path / "data")
    with (data / "letters.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[journal]\npath = "journal.sqlite"\n')
    refused = run_letters("journal", "--data", str(data))
    assert refused.returncode == 1 and "не полный путь" in refused.stderr
    text = (data / "letters.toml").read_text(encoding="utf-8").replace('path = "journal.sqlite"', f'path = "{tmp_path / "отдел.sqlite"}"')
    (data / "letters.toml").write_text(text, encoding="utf-8")
    listed = run_letters("journal", "--data", str(data))
    assert listed.returncode == 0, listed.stderr
    assert (tmp_path / "отдел.sqlite").is_file()


# --- a letter's life after the build: sent by post, signed, answered ---

WITH_UVAT = TABLES["audit"] + ["uvat.ru;widget_missing;15.05.2024;"]  # Уватский: a finding, no e-mail address


def test_a_letter_sent_by_post_is_never_overwritten_and_mail_stops_asking_for_it(tmp_path, soffice):
    url = str(tmp_path / "journal.sqlite")
    data, out = write_data(tmp_path / "data", audit=WITH_UVAT), tmp_path / "out"
    assert build(data, out, url).returncode == 0
    mail = ("mail", "--date", DATE, "--data", str(data), "--out", str(out), "--journal", url)
    before = run_letters(*mail)
    assert "1339/24" in before.stderr and "нет адреса электронной почты" in before.stderr
    # bad input writes nothing: an unknown route, a date before the letter, a number not in the journal
    for args, says in ((("--by", "голубь", "--on", "21.05.2024"), "способ отправки «голубь» неизвестен"),
                       (("--by", "почта", "--on", "19.05.2024"), "раньше даты письма"),
                       (("--by", "почта", "--on", "21.05.2024", "9999/24"), "номера 9999/24 нет")):
        wrong = run_letters("journal", "sent", "1339/24", *args, "--journal", url)
        assert wrong.returncode == 1 and says in wrong.stderr, wrong.stderr
    assert open_journal(url).find("1339/24").status == ISSUED
    sent = run_letters("journal", "sent", "1339/24", "--by", "почта", "--on", "21.05.2024",
                       "--note", "заказное 62500095123456", "--journal", url)
    assert sent.returncode == 0, sent.stderr
    assert "1339/24 (Уватский муниципальный район): отправлено — почта 21.05.2024" in sent.stdout
    letter = open_journal(url).find("1339/24")
    (delivery,) = letter.deliveries
    assert (letter.status, delivery.route, delivery.note) == (SENT, "почта", "заказное 62500095123456")
    assert delivery.sent_at.astimezone().date() == dt.date(2024, 5, 21)
    again = run_letters("journal", "sent", "1339/24", "--by", "курьер", "--on", "22.05.2024", "--journal", url)
    assert again.returncode == 1 and "уже отправлено: почта 21.05.2024" in again.stderr
    after = run_letters(*mail)
    assert after.returncode == 0, after.stderr
    assert "нет адреса" not in after.stderr and "Отправлены раньше" in after.stdout and "1339/24" in after.stdout
    # the data change; the letter that went by post stays as it went
    pack = {k: v for k, v in inodes(out / FOLDER).items() if k.startswith("1339-24 ")}
    write_data(data, audit=WITH_UVAT + ["uvat.ru;wrong_lko;16.05.2024;"])
    refused = build(data, out, url)
    assert refused.returncode == 1 and "письмо № 1339/24 для «Уватский муниципальный район» уже отправлено" in refused.stderr
    assert {k: v for k, v in inodes(out / FOLDER).items() if k.startswith("1339-24 ")} == pack
    assert run_letters("verify", str(out / FOLDER), "--journal", url).returncode == 0


def a_pdf(path: Path, pages: int = 1) -> Path:
    """A scan as a scanner saves it: a real PDF with pages."""
    import pikepdf

    with pikepdf.new() as pdf:
        for _ in range(pages):
            pdf.add_blank_page(page_size=(595, 842))
        pdf.save(path)
    return path


def test_a_reply_is_linked_to_its_letter_kept_in_its_pack_and_shown(tmp_path, soffice):
    url = str(tmp_path / "journal.sqlite")
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, url).returncode == 0
    answer = a_pdf(tmp_path / "скан ответа.PDF")
    reply = ("journal", "reply", "1337/24", "--number", "01-12/345", "--date", "03.06.2024", "--file", str(answer),
             "--journal", url)
    early = run_letters(*reply)
    assert early.returncode == 1 and "ещё не отправлено" in early.stderr and "letters journal sent 1337/24" in early.stderr
    assert run_letters("journal", "sent", "1337/24", "--by", "СЭД", "--on", "21.05.2024", "--journal", url).returncode == 0
    wrong = run_letters(*reply[:5], "--date", "19.05.2024", "--journal", url)
    assert wrong.returncode == 1 and "раньше даты письма" in wrong.stderr
    done = run_letters(*reply)
    assert done.returncode == 0, done.stderr
    letter = open_journal(url).find("1337/24")
    assert (letter.reply_number, letter.reply_date) == ("01-12/345", dt.date(2024, 6, 3))
    kept = out / FOLDER / letter.reply_file
    assert kept.parent.name.startswith("1337-24 ") and kept.name == "Ответ вх. № 01-12 345 от 03.06.2024.pdf"
    assert kept.read_bytes() == answer.read_bytes() and sha256(kept) == letter.reply_sha256
    listing = run_letters("journal", "--journal", url, env={**os.environ, "COLUMNS": "250"})
    assert "вх. № 01-12/345 от 03.06.2024" in listing.stdout
    assert run_letters("verify", str(out / FOLDER), "--journal", url).returncode == 0
    export = tmp_path / "журнал.xlsx"
    assert run_letters("journal", "--journal", url, "--export", str(export)).returncode == 0
    sheet = openpyxl.load_workbook(export).active
    row = {header.value: cell.value for header, cell in zip(sheet[2], sheet[3])}
    assert row["Ответ (вх. № и дата)"] == "вх. № 01-12/345 от 03.06.2024"
    assert row["Отметка об отправке"] == "СЭД 21.05.2024"
    kept.write_bytes(kept.read_bytes() + b"%")
    changed = run_letters("verify", str(out / FOLDER), "--journal", url)
    assert changed.returncode == 1 and "изменён после того, как записан в журнал" in changed.stderr


def test_a_signed_letter_keeps_its_scan_through_reruns_and_is_never_overwritten(tmp_path, soffice):
    url = str(tmp_path / "journal.sqlite")
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    assert build(data, out, url).returncode == 0
    scan = a_pdf(tmp_path / "скан.pdf", pages=2)
    signed = run_letters("journal", "signed", "1338/24", "--file", str(scan), "--journal", url)
    assert signed.returncode == 0, signed.stderr
    kept = out / FOLDER / open_journal(url).find("1338/24").signed_file
    assert build(data, out, url).returncode == 0
    assert kept.read_bytes() == scan.read_bytes()
    assert run_letters("verify", str(out / FOLDER), "--journal", url).returncode == 0
    write_data(data, audit=TABLES["audit"] + ["skazka-ishim.ru;wrong_lko;16.05.2024;"])
    refused = build(data, out, url)
    assert refused.returncode == 1 and "письмо № 1338/24 для «Город Ишим» уже подписано" in refused.stderr
    assert kept.read_bytes() == scan.read_bytes()
