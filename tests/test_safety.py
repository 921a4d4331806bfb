"""The clerk's work is safe from the clerk's own mistakes (issue 13, points 1–5 and 9):
each test does what a clerk did when the tool was tried, and checks what was left."""

import csv
import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pikepdf
import pytest
from conftest import SAMPLE, run_letters, write_data

from letters.journal import Journal, Letter, location_url
from letters.packs import DISPLACED, MANIFEST_COLUMNS


def letters_in(journal: Path) -> list[Letter]:
    return Journal(location_url(journal)).list()


def test_a_wrong_year_takes_no_number_and_says_so_once(tmp_path, soffice):
    journal, out = tmp_path / "journal.sqlite", tmp_path / "out"
    result = run_letters("build", "--date", "20.05.2023", "--out", str(out), "--journal", str(journal))
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if "позже даты письма 20.05.2023" in line]
    assert len(lines) == 1, result.stderr  # once, however many rows
    text = (SAMPLE / "audit.csv").read_text(encoding="cp1251")
    checked = re.findall(r";(\d\d\.\d\d\.2024);", text)  # every finding of the sample was checked in 2024
    assert f"строки 4, 5, 6, 7, 8 и ещё {len(checked) - 5} (всего {len(checked)})" in lines[0]
    assert "--date" in lines[0]
    assert not out.exists() or not any(out.iterdir())
    assert not journal.exists() or letters_in(journal) == []


# --- a small batch, built for real: 1337/24 Тюменский район, 1338/24 Город Ишим ---

DATE = "20.05.2024"
FOLDER = "2024-05-20"
TYUMEN, ISHIM = "1337-24 Тюменский муниципальный район", "1338-24 Город Ишим"
SCAN = b"%PDF-1.4 the signed letter, scanned by the clerk"


@pytest.fixture
def batch(tmp_path, soffice):
    data, out, journal = write_data(tmp_path / "data"), tmp_path / "out", tmp_path / "journal.sqlite"

    def build(*options: str, data: Path = data, out: Path = out):
        return run_letters("build", "--date", DATE, "--data", str(data), "--out", str(out), "--journal", str(journal),
                           "--jobs", "2", *options)

    def verify(folder: Path = out / FOLDER):
        return run_letters("verify", str(folder), "--journal", str(journal), "--data", str(data))

    result = build()
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(data=data, out=out, folder=out / FOLDER, journal=journal, build=build, verify=verify)


def manifest(folder: Path) -> dict[str, dict]:
    with (folder / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        return {row["number"]: row for row in csv.DictReader(handle)}


def write_manifest_rows(folder: Path, rows: list[dict]) -> None:
    with (folder / "manifest.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def test_a_rebuild_keeps_the_clerks_scan_and_a_damaged_file_is_named_not_replaced_in_silence(batch):
    (batch.folder / TYUMEN / "скан подписанного.pdf").write_bytes(SCAN)
    damaged = batch.folder / ISHIM / "Письмо 1338-24.pdf"
    good = damaged.read_bytes()
    damaged.write_bytes(good + b"\n% edited by hand")
    result = batch.build()
    assert result.returncode == 0, result.stderr
    assert (batch.folder / TYUMEN / "скан подписанного.pdf").read_bytes() == SCAN
    assert f"{FOLDER}/{TYUMEN}/скан подписанного.pdf: файл не из сборки оставлен в пакете" in result.stderr
    kept = batch.folder / ISHIM / "Письмо 1338-24 (изменён после сборки).pdf"
    assert kept.read_bytes() == good + b"\n% edited by hand"
    assert f"{FOLDER}/{ISHIM}/{kept.name}: файл пакета был изменён после сборки" in result.stderr
    assert damaged.read_bytes().startswith(b"%PDF") and damaged.read_bytes() != kept.read_bytes()
    checked = batch.verify()
    assert checked.returncode == 0, checked.stderr  # the new files match; the clerk's are named
    assert "файл не из сборки" in checked.stderr and "скан подписанного.pdf" in checked.stderr


def test_no_pdf_over_a_date_built_with_pdfs_keeps_them(batch):
    pdfs = sorted(batch.folder.glob("*/*.pdf"))  # the packs' (not к печати.pdf)
    assert len(pdfs) == 8
    result = batch.build("--no-pdf")
    assert result.returncode == 0, result.stderr
    assert sorted(batch.folder.glob("*/*.pdf")) == pdfs
    assert result.stdout.count("без изменений") == 2
    assert batch.verify().returncode == 0


def test_the_scan_of_a_pack_that_goes_waits_in_a_folder_of_its_own(batch):
    (batch.folder / ISHIM / "скан.pdf").write_bytes(SCAN)
    audit = batch.data / "audit.csv"
    audit.write_text("".join(line for line in audit.read_text(encoding="utf-8").splitlines(keepends=True)
                             if "skazka-ishim" not in line), encoding="utf-8")  # Ишим fixed its error
    result = batch.build()
    assert result.returncode == 0, result.stderr
    assert "№ 1338/24 аннулирован" in result.stdout
    assert not (batch.folder / ISHIM).exists()
    assert (batch.folder / DISPLACED / ISHIM / "скан.pdf").read_bytes() == SCAN
    assert f"{DISPLACED}/{ISHIM}/скан.pdf" in result.stderr
    assert batch.verify().returncode == 0


def test_a_mistaken_batch_is_cancelled_at_once_and_a_sent_letter_is_refused(batch):
    Journal(location_url(batch.journal)).mark_sent("1337/24", "почта", dt.datetime(2024, 5, 21, 10, 0))
    (batch.folder / ISHIM / "скан.pdf").write_bytes(SCAN)
    result = run_letters("journal", "cancel", "--date", DATE, "--why", "не тот год в дате", "--yes",
                         "--journal", str(batch.journal))
    assert result.returncode == 0, result.stderr
    assert "№ 1337/24 (Тюменский муниципальный район) уже отправлено — не аннулируется" in result.stderr
    assert "№ 1338/24 (Город Ишим) аннулирован" in result.stdout
    statuses = {letter.number: letter.status for letter in letters_in(batch.journal)}
    assert statuses == {"1337/24": "sent", "1338/24": "cancelled"}
    assert list(manifest(batch.folder)) == ["1337/24"] and not (batch.folder / ISHIM).exists()
    assert (batch.folder / DISPLACED / ISHIM / "скан.pdf").read_bytes() == SCAN
    assert batch.verify().returncode == 0
    rebuilt = batch.build()  # the next build never gives 1338/24 again
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "1339/24  Город Ишим" in rebuilt.stdout and "1337/24  Тюменский муниципальный район" in rebuilt.stdout


def test_one_date_lives_in_one_out_folder_unless_moved(batch, tmp_path):
    numbers = {letter.number for letter in letters_in(batch.journal)}
    elsewhere = tmp_path / "другая"
    refused = batch.build(out=elsewhere)
    assert refused.returncode == 1
    assert f"уже собраны в папке {batch.folder}" in refused.stderr and "--move" in refused.stderr
    assert not (elsewhere / FOLDER).exists()
    moved = batch.build("--move", out=elsewhere)
    assert moved.returncode == 0, moved.stderr
    assert not batch.folder.exists() and set(manifest(elsewhere / FOLDER)) == numbers
    assert {letter.number for letter in letters_in(batch.journal)} == numbers
    assert batch.verify(elsewhere / FOLDER).returncode == 0


def test_verify_notices_every_tampering(batch, tmp_path):
    mailed = run_letters("mail", "--date", DATE, "--data", str(batch.data), "--out", str(batch.out),
                         "--journal", str(batch.journal))
    assert (batch.folder / "outbox" / "1337-24.eml").is_file(), mailed.stderr
    assert batch.verify().returncode == 0
    original = (batch.folder / "manifest.csv").read_bytes()

    def tampered(change) -> str:
        (batch.folder / "manifest.csv").write_bytes(original)
        rows = list(manifest(batch.folder).values())
        change(rows)
        write_manifest_rows(batch.folder, rows)
        result = batch.verify()
        assert result.returncode == 1, result.stderr
        return result.stderr

    assert "«email» в manifest.csv — «thief@example.com»" in tampered(lambda rows: rows[0].update(email="thief@example.com"))
    assert "«findings»" in tampered(lambda rows: rows[0].update(findings="1"))
    assert "«date»" in tampered(lambda rows: rows[1].update(date="21.05.2024"))
    assert "«appendix_sheets»" in tampered(lambda rows: rows[1].update(appendix_sheets="1;1;5"))
    (batch.folder / "manifest.csv").write_bytes(original)

    (batch.folder / "outbox" / "1399-24.eml").write_bytes((batch.folder / "outbox" / "1337-24.eml").read_bytes())
    assert "outbox/1399-24.eml: это письмо в outbox не писала программа" in batch.verify().stderr
    (batch.folder / "outbox" / "1399-24.eml").unlink()

    (batch.folder / "1399-24 Город Ишим").mkdir()
    assert "папка «1399-24 Город Ишим» похожа на пакет" in batch.verify().stderr
    (batch.folder / "1399-24 Город Ишим").rmdir()

    copy = tmp_path / "копия" / FOLDER
    shutil.copytree(batch.folder, copy)
    shutil.rmtree(copy / ISHIM)
    copied = batch.verify(copy)
    assert copied.returncode == 1 and f"по журналу лежит в папке {batch.folder}" in copied.stderr

    write_manifest_rows(batch.folder, [])
    for pack in (TYUMEN, ISHIM):
        shutil.rmtree(batch.folder / pack)
    emptied = batch.verify()
    assert emptied.returncode == 1 and "Всё сходится" not in emptied.stdout
    assert "письмо № 1337/24 (Тюменский муниципальный район) есть в журнале, а его пакета в папке нет" in emptied.stderr


def test_a_draft_takes_no_number_and_marks_every_page(tmp_path, soffice):
    data, out, journal = write_data(tmp_path / "data"), tmp_path / "out", tmp_path / "journal.sqlite"
    result = run_letters("build", "--date", DATE, "--draft", "--data", str(data), "--out", str(out),
                         "--journal", str(journal))
    assert result.returncode == 0, result.stderr
    assert not journal.exists() and not (out / FOLDER).exists()
    folder = out / f"{FOLDER} проект"
    pdfs = sorted(p for p in folder.rglob("*.pdf") if p.parent != folder)
    assert len(pdfs) == 8
    pages = 0
    for pdf in pdfs:
        with pikepdf.open(pdf) as document:
            pages += len(document.pages)
        for page in pdf_text(pdf).split("\f")[:-1]:  # the word is drawn last, over the text
            assert "".join(page.split()).endswith("ПРОЕКТ"), pdf
    letter = pdf_text(folder / "Город Ишим" / "Письмо.pdf")
    assert "/24" not in letter and "Главе города Ишима" in letter
    whole = folder / "Все письма одним файлом (проект).pdf"
    with pikepdf.open(whole) as document:
        assert len(document.pages) == pages
    with (folder / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        order = [row["municipality"] for row in csv.DictReader(handle)]
    assert len(order) == 2 and all(row == "" for row in manifest(folder))  # no numbers
    text = " ".join(pdf_text(whole).split())
    assert sorted(order, key=text.index) == order  # pack after pack, as in the manifest
    real = run_letters("build", "--date", DATE, "--data", str(data), "--out", str(out), "--journal", str(journal))
    assert real.returncode == 0, real.stderr
    assert sorted(manifest(out / FOLDER)) == ["1337/24", "1338/24"]  # the draft took none


def test_a_draft_without_pdfs_has_no_whole_batch_file_and_says_so(tmp_path, soffice):
    data, out = write_data(tmp_path / "data"), tmp_path / "out"
    result = run_letters("build", "--date", DATE, "--draft", "--no-pdf", "--data", str(data), "--out", str(out),
                         "--journal", str(tmp_path / "journal.sqlite"))
    assert result.returncode == 0, result.stderr
    folder = out / f"{FOLDER} проект"
    assert not list(folder.rglob("*.pdf")) and (folder / "обзор.html").is_file()
    assert "одного файла всех писем нет: проект собран без PDF (--no-pdf)" in " ".join(result.stdout.split())


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
