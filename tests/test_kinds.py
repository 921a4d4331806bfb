"""Kinds of letter: the letter to each head, unchanged byte for byte, and the letter by list
of seed 000 (`letters build --circular`) beside it, built from the sample with the real
LibreOffice and read the way a reader reads them."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import shutil
from pathlib import Path

import docx
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import ROOT, SAMPLE, TABLES, run_letters, write_data
from test_build import expected_findings, norm, pdf_pages, pdf_text

from letters import pipeline
from letters.journal import ISSUED, SENT, Journal, JournalError, location_url
from letters.packs import PackFiles, read_manifest

DATE = dt.date(2024, 5, 20)
FOLDER = "2024-05-20"
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="module")
def both(tmp_path_factory, soffice) -> Path:
    """The sample built as letters to each head, then as one letter by list, into one folder and one journal."""
    out = tmp_path_factory.mktemp("kinds")
    for kind in ("personal", "circular"):
        result = pipeline.build(pipeline.BuildRequest(
            date=DATE, data=SAMPLE, out=out, jobs=2, journal=str(out / "journal.sqlite"), kind=kind))
        assert not result.problems.has_errors, [str(p) for p in result.problems.errors]
    return out


@pytest.fixture(scope="module")
def rows(both) -> dict[str, dict]:
    return {row["municipality"]: row for row in read_manifest(both / FOLDER)}


@pytest.fixture(scope="module")
def circular(rows) -> dict:
    return rows["по списку"]


def municipalities() -> pd.DataFrame:
    return pd.read_excel(SAMPLE / "municipalities.xlsx", dtype=str, engine="openpyxl", keep_default_na=False, skiprows=2)


def with_findings_in_table_order() -> list[str]:
    found = set(expected_findings()["Муниципальное образование"])
    return [name for name in municipalities()["Муниципальное образование"] if name in found]


# --- the letter to each head stays what it was ---

def test_the_samples_letters_to_each_head_keep_their_sha256(both, rows):
    """The 88 documents of 0.6.0 (and their PDFs), by municipality and role, as recorded
    before kinds existed (tests/golden/sample-2024-05-20.csv)."""
    with (GOLDEN / "sample-2024-05-20.csv").open(encoding="utf-8", newline="") as handle:
        golden = list(csv.DictReader(handle))
    assert len(golden) == 88
    for expected in golden:
        row = rows[expected["municipality"]]
        assert row["number"] == expected["number"] and row["kind"] == "personal"
        role = ["letter", "appendix1", "appendix2", "appendix3"].index(expected["document"])
        docx_path = both / FOLDER / [row["letter"], *row["appendices"].split(";")][role]
        assert row["sha256"].split(";")[role] == expected["docx_sha256"], expected
        assert hashlib_of(docx_path) == expected["docx_sha256"], expected
        assert hashlib_of(docx_path.with_suffix(".pdf")) == expected["pdf_sha256"], expected


def hashlib_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the letter by list ---

def test_the_letter_by_list_has_one_number_after_the_letters_to_each_head(both, rows, circular):
    assert circular["number"] == "1359/24" and circular["kind"] == "circular"
    assert sum(1 for row in rows.values() if row["kind"] == "circular") == 1
    letter = Journal(location_url(both / "journal.sqlite")).find("1359/24")
    assert letter.kind == "circular" and letter.municipality == "по списку" and letter.status == ISSUED
    assert [d.municipality for d in letter.deliveries] == with_findings_in_table_order()


def test_its_letter_is_addressed_by_list_and_greets_colleagues(both, circular):
    letter = both / FOLDER / circular["letter"]
    text = pdf_text(letter.with_suffix(".pdf"))
    assert "Главам муниципальных образований Тюменской области (по списку)" in text
    assert "Уважаемые коллеги!" in text and "Уважаем" not in text.replace("Уважаемые коллеги!", "")
    assert "20.05.2024 № 1359/24" in text and "в срок до 14.06.2024" in text
    # the appendix mark: three appendices with their true sheet counts; the list is not one of them
    pages = [pdf_pages((both / FOLDER / p).with_suffix(".pdf")) for p in circular["appendices"].split(";")]
    assert [int(n) for n in re.findall(r"на (\d+) л\. в 1 экз", text)] == pages
    assert circular["appendix_sheets"] == ";".join(map(str, pages))
    assert "Список рассылки" not in text


def test_the_distribution_list_names_each_head_with_findings_in_the_dative(both, rows, circular):
    (listed,) = circular["other_documents"].split(";")
    assert listed.endswith("/Список рассылки.docx")
    text = pdf_text((both / FOLDER / listed).with_suffix(".pdf"))
    assert "Список рассылки к письму от 20.05.2024 № 1359/24" in text
    table = docx.Document(both / FOLDER / listed).tables[0]
    body = [[norm(c.text) for c in row.cells] for row in table.rows[1:]]
    assert [r[1] for r in body] == with_findings_in_table_order()
    heads = municipalities().set_index("Муниципальное образование")
    for n, municipality, addressee, emails in body:
        personal = pdf_text((both / FOLDER / rows[municipality]["letter"]).with_suffix(".pdf"))
        assert addressee in personal, municipality  # the same dative as the letter to that head
        assert emails == ", ".join(a.strip() for a in heads.loc[municipality, "Электронная почта"].split(";") if a.strip())
    expected_emails = [a for m in with_findings_in_table_order() for a in rows[m]["email"].split(";") if a]
    assert circular["email"].split(";") == expected_emails


def test_appendix_1_groups_every_finding_under_its_municipality_in_the_tables_order(both, circular):
    appendix = docx.Document(both / FOLDER / circular["appendices"].split(";")[0])
    groups: dict[str, list[tuple[str, str]]] = {}
    order: list[str] = []
    for table in appendix.tables:
        header = [c.text for c in table.rows[0].cells]
        assert header[:4] == ["№", "Учреждение", "Сайт", "Ошибка"]
        current = None
        for row in table.rows[1:]:
            cells = [norm(c.text) for c in row.cells]
            if len(set(cells)) == 1:  # a heading row: one cell across the table
                name = cells[0].removesuffix(" (продолжение)")
                current = groups.setdefault(name, [])
                if name not in order:
                    order.append(name)
            else:
                current.append((cells[1], cells[3]))
    assert order == with_findings_in_table_order()
    findings = expected_findings()
    for municipality, found in groups.items():
        own = findings[findings["Муниципальное образование"] == municipality]
        assert sorted(found) == sorted(zip(own["organization"].map(norm), own["title"].map(norm))), municipality
    assert int(circular["findings"]) == len(findings) == sum(len(g) for g in groups.values())
    text = pdf_text((both / FOLDER / circular["appendices"].split(";")[0]).with_suffix(".pdf"))
    assert "Муниципальные образования Тюменской области" in text and "от 20.05.2024 № 1359/24" in text


def test_appendix_2_recommends_for_every_code_found_anywhere(both, circular):
    text = norm("\n".join(p.text for p in docx.Document(both / FOLDER / circular["appendices"].split(";")[1]).paragraphs))
    for title in set(expected_findings()["title"]):
        assert norm(title) in text


def test_the_letters_to_each_head_stay_as_they_were_beside_it(both, rows):
    assert sum(1 for row in rows.values() if row["kind"] == "personal") == 22
    for row in rows.values():
        for path in (row["letter"], *row["appendices"].split(";")):
            assert (both / FOLDER / path).is_file() and (both / FOLDER / PackFiles.pdf(path)).is_file()


def test_a_rerun_of_the_letter_by_list_keeps_its_number_and_changes_nothing(both, circular):
    folder = both / FOLDER / circular["letter"].split("/")[0]
    before = {p.name: p.stat().st_ino for p in folder.iterdir()}
    result = pipeline.build(pipeline.BuildRequest(
        date=DATE, data=SAMPLE, out=both, jobs=2, journal=str(both / "journal.sqlite"), kind="circular"))
    assert [(p.number, p.changed) for p in result.packs] == [("1359/24", False)]
    assert {p.name: p.stat().st_ino for p in folder.iterdir()} == before
    assert len(read_manifest(both / FOLDER)) == 23


def test_only_narrows_the_list_and_a_letter_without_the_wording_is_an_error(tmp_path, soffice):
    data = write_data(tmp_path / "data")
    out, journal = tmp_path / "out", str(tmp_path / "journal.sqlite")
    refused = run_letters("build", "--date", "20.05.2024", "--data", str(data), "--out", str(out),
                          "--journal", journal, "--circular")
    assert refused.returncode == 1 and "[circular] addressee" in refused.stderr and not out.exists()
    with (data / "letters.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[circular]\naddressee = "Главам районов"\nregion = "Районы"\n')
    built = run_letters("build", "--date", "20.05.2024", "--data", str(data), "--out", str(out),
                        "--journal", journal, "--circular", "--only", "город ишим", "--only", "Тюменский муниципальный район")
    assert built.returncode == 0, built.stderr
    (row,) = read_manifest(out / FOLDER)
    letter = Journal(location_url(journal)).find(row["number"])
    assert [d.municipality for d in letter.deliveries] == ["Тюменский муниципальный район", "Город Ишим"]
    assert row["email"] == "glava@atmr.ru;adm@ishim.ru;mayor@ishim.ru"


# --- the journal knows kinds ---

MIGRATIONS = Path(__file__).parent.parent / "letters" / "journal" / "migrations" / "versions"

def test_a_0002_journal_made_by_the_previous_version_is_upgraded_in_place(tmp_path):
    path = tmp_path / "journal.sqlite"
    shutil.copyfile(GOLDEN / "journal-0002.sqlite", path)
    journal = Journal(location_url(path))
    with journal.engine.connect() as connection:
        head = max(p.name[:4] for p in MIGRATIONS.glob("0*.py"))  # upgraded to the latest
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
    letters = journal.list()
    assert len(letters) == 22 and {letter.kind for letter in letters} == {"personal"}
    assert not any(letter.signed_file or letter.reply_number or letter.kept_files() for letter in letters)
    sent = journal.find("1338/24")
    (delivery,) = sent.deliveries
    assert sent.status == SENT and delivery.route == "эл. почта" and delivery.reached == "adm@admtobolsk-gorod.ru"
    assert delivery.message_id == "<1338@letters.test>" and delivery.sent_at is not None
    (attempt,) = journal.find("1339/24").deliveries
    assert attempt.attempt_at is not None and attempt.sent_at is None and attempt.message_id == "<1339@letters.test>"
    assert journal.find("1340/24").status == "cancelled"
    assert {letter.number for letter in letters if letter.went_out} == {"1338/24", "1339/24"}
    # numbering goes on after what the old journal holds
    letter = journal.reserve(DATE, "по списку", "{seq}/{yy}", 1337, "test", kind="circular")
    assert letter.number == "1359/24"


def test_letters_of_different_kinds_to_one_municipality_on_one_date_coexist(tmp_path):
    journal = Journal(location_url(tmp_path / "journal.sqlite"))
    first = journal.reserve(DATE, "Город Ишим", "{seq}/{yy}", 1, "test", kind="personal")
    other = journal.reserve(DATE, "Город Ишим", "{seq}/{yy}", 1, "test", kind="circular")
    assert (first.number, other.number) == ("1/24", "2/24")
    with pytest.raises(JournalError, match="уже есть письмо"):
        journal.reserve(DATE, "Город Ишим", "{seq}/{yy}", 1, "test", kind="personal")
    assert set(journal.active(DATE, "personal")) == set(journal.active(DATE, "circular")) == {"Город Ишим"}


# --- a letter by list goes to each head in a message of its own ---

def test_mail_sends_the_letter_by_list_to_each_head_alone_and_only_once(tmp_path, soffice):
    from test_mail import Mailbox, smtp_server

    data = write_data(tmp_path / "data", audit=TABLES["audit"] + ["uvat.ru;widget_missing;15.05.2024;"])
    with (data / "letters.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[circular]\naddressee = "Главам районов"\nregion = "Районы"\n')
    out, journal = tmp_path / "out", str(tmp_path / "journal.sqlite")
    common = ("--date", "20.05.2024", "--data", str(data), "--out", str(out), "--journal", journal)
    assert run_letters("build", *common, "--circular").returncode == 0
    (row,) = read_manifest(out / FOLDER)
    mailbox = Mailbox()
    with smtp_server(mailbox) as url:
        first = run_letters("mail", *common, "--send", "--smtp", url, "--rate", "60000")
        second = run_letters("mail", *common, "--send", "--smtp", url, "--rate", "60000")
    # Уватский has no address: said, and the others go
    assert first.returncode == 1 and "Уватский муниципальный район" in first.stderr and "нет адреса" in first.stderr
    heads = {"glava@atmr.ru": ["glava@atmr.ru"], "adm@ishim.ru": ["adm@ishim.ru", "mayor@ishim.ru"]}
    assert len(mailbox.messages) == 2
    for received in mailbox.messages:
        message = received.message
        to = [a.addr_spec for a in message["To"].addresses]
        assert to == heads[to[0]] and received.recipients == to  # nobody sees another head's address
        names = [a.get_filename() for a in message.iter_attachments()]
        assert names == [Path(p).with_suffix(".pdf").name for p in (row["letter"], *row["appendices"].split(";"))]
        text = message.get_body(("plain",)).get_content()
        assert ("Главе Тюменского муниципального района" in text) == (to[0] == "glava@atmr.ru")
    assert second.returncode == 1 and "Отправлены раньше" in second.stdout and len(mailbox.messages) == 2
    letter = Journal(location_url(journal)).find(row["number"])
    assert letter.status == SENT
    assert {d.municipality: d.sent_at is not None for d in letter.deliveries} == {
        "Тюменский муниципальный район": True, "Город Ишим": True, "Уватский муниципальный район": False}
