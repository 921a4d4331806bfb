"""Conversion: stable bytes, PDF/A, and a LibreOffice that hangs or crashes."""

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pikepdf
from conftest import BATCH, ROOT, TABLES, TEMPLATES, gone_within, libreoffice_of, run_letters, write_data

from letters import pipeline
from letters.convert import _Feed
from letters.packs import read_manifest

FOLDER = "2024-05-20"


def build(data: Path, out: Path, *extra: str, env: dict | None = None):
    return run_letters("build", "--date", "20.05.2024", "--data", str(data), "--out", str(out),
                       "--journal", str(out.parent / f"{out.name}.sqlite"), *extra, env={**os.environ, **(env or {})})


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_the_same_inputs_give_byte_identical_files(tmp_path, soffice):
    data = write_data(tmp_path / "data")
    assert build(data, tmp_path / "a").returncode == 0
    assert build(data, tmp_path / "b").returncode == 0
    first, second = files(tmp_path / "a" / FOLDER), files(tmp_path / "b" / FOLDER)
    assert len(first) == 2 * 8 + 1 + 4  # and the overview, its two thumbnails and the print file
    assert first == second  # .docx, .pdf, manifest.csv with its sha256 and the rest, byte for byte
    with pikepdf.open(tmp_path / "a" / FOLDER / next(p for p in first if p.endswith("Письмо 1337-24.pdf"))) as pdf:
        assert str(pdf.docinfo["/CreationDate"]) == "D:20240520000000Z"  # the letter's date, not the build's
        assert str(pdf.docinfo["/Title"]) == "Письмо № 1337/24 от 20.05.2024 — Тюменский муниципальный район"


def test_pdfa_option_gives_pdfa_2b(tmp_path, soffice):
    data = write_data(tmp_path / "data")
    assert build(data, tmp_path / "out", "--pdfa").returncode == 0
    pdfs = list((tmp_path / "out" / FOLDER).glob("*/*.pdf"))  # the packs' (к печати.pdf is for printing)
    assert len(pdfs) == 8
    for path in pdfs:
        with pikepdf.open(path) as pdf:
            meta = pdf.open_metadata()
            assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("2", "B")
            assert meta.get("xmp:CreateDate") == "2024-05-20T00:00:00Z"
    # a plain build after a PDF/A one converts again instead of taking the PDF/A files
    assert build(data, tmp_path / "out").returncode == 0
    with pikepdf.open(next((tmp_path / "out" / FOLDER).rglob("*.pdf"))) as pdf:
        assert "/Metadata" not in pdf.Root


FAKE = """#!{python}
# LibreOffice that misbehaves on the document whose text holds {marker!r}: it converts the
# documents before it, then {how}.
import subprocess, sys, time, zipfile
from pathlib import Path
args = sys.argv[1:]
docs = [a for a in args if a.endswith(".docx")]
options = [a for a in args if not a.endswith(".docx")]
def poisoned(doc):
    with zipfile.ZipFile(doc) as z:
        return {marker!r} in z.read("word/document.xml").decode("utf-8")
bad = next((i for i, d in enumerate(docs) if poisoned(d)), None)
good = docs if bad is None else docs[:bad]
if good:
    subprocess.run([{soffice!r}, *options, *good])
if bad is not None:
    flag = Path({flag!r})
    if {once} and flag.exists():
        subprocess.run([{soffice!r}, *options, *docs[bad:]])
    else:
        flag.touch()
        {action}
"""


def fake_soffice(tmp_path: Path, soffice: str, how: str, action: str, once: bool = False) -> Path:
    path = tmp_path / "soffice"
    path.write_text(FAKE.format(python=sys.executable, marker="Сломанная школа", soffice=soffice, how=how,
                                action=action, once=once, flag=str(tmp_path / "tried")))
    path.chmod(0o755)
    return path


def data_with_a_poisoned_document(tmp_path: Path) -> Path:
    return write_data(
        tmp_path / "data",
        organizations=TABLES["organizations"] + ["Сломанная школа;Город Ишим;https://broken.ru;1000009"],
        audit=TABLES["audit"] + ["broken.ru;widget_missing;15.05.2024;"],
    )


def test_a_hung_libreoffice_is_restarted_and_only_that_municipality_is_left_out(tmp_path, soffice):
    fake = fake_soffice(tmp_path, soffice, "hangs forever", "time.sleep(3600)")
    result = build(data_with_a_poisoned_document(tmp_path), tmp_path / "out", "--timeout", "4",
                   env={"LETTERS_SOFFICE": str(fake)})
    assert result.returncode == 1
    assert "Город Ишим: LibreOffice не смог сделать PDF из «Приложение 1. Перечень выявленных ошибок.docx»" in result.stderr
    rows = read_manifest(tmp_path / "out" / FOLDER)
    assert [r["municipality"] for r in rows] == ["Тюменский муниципальный район"]
    assert sorted(p.name for p in (tmp_path / "out" / FOLDER).iterdir() if p.name not in BATCH) == [
        "1337-24 Тюменский муниципальный район", "manifest.csv"]
    assert "soffice" not in os.popen("ps -eo args | grep -v grep | grep 'letters-soffice' || true").read()


def test_a_crash_once_is_retried_and_the_build_completes(tmp_path, soffice):
    fake = fake_soffice(tmp_path, soffice, "crashes the first time", "sys.exit(139)", once=True)
    result = build(data_with_a_poisoned_document(tmp_path), tmp_path / "out", env={"LETTERS_SOFFICE": str(fake)})
    assert result.returncode == 0, result.stderr
    assert {r["municipality"] for r in read_manifest(tmp_path / "out" / FOLDER)} == {"Тюменский муниципальный район", "Город Ишим"}
    assert (tmp_path / "tried").exists()


# --- the queue the LibreOffice workers take their chunks from ---

def test_a_worker_takes_no_more_than_its_share_of_the_work_left():
    feed = _Feed(jobs=2)
    for i in range(300):
        feed.put(Path(f"{i}.docx"))
    first = feed.take(least=40, most=200)
    assert len(first) == 150  # not 200: the other worker would then wait for a chunk of 100
    second = feed.take(least=40, most=200)
    assert len(second) == 150 and second[0] == Path("150.docx")
    feed.finished(150)  # the first chunk is done, the second still converting
    for i in range(300, 400):
        feed.put(Path(f"{i}.docx"))
    assert len(feed.take(least=40, most=200)) == 100  # (100 waiting + 150 in flight) / 2 → all 100
    feed.close()
    assert feed.take(least=40, most=200) is None


def test_a_short_chunk_is_taken_when_no_more_documents_come():
    feed = _Feed(jobs=2)
    for i in range(5):
        feed.put(Path(f"{i}.docx"))
    taken = []
    taker = threading.Thread(target=lambda: taken.append(feed.take(least=40, most=200)), daemon=True)
    taker.start()
    taker.join(60)  # without the patience it would wait for 40 documents forever
    assert [len(chunk) for chunk in taken] == [3]  # a letter waiting for these PDFs must not stall the build


def test_the_build_reports_packs_done_out_of_all(tmp_path, soffice):
    calls = []
    request = pipeline.BuildRequest(date=dt.date(2024, 5, 20), data=write_data(tmp_path / "data"), out=tmp_path / "out",
                                    templates=TEMPLATES)
    result = pipeline.build(request, lambda phase, done, total: calls.append((phase, done, total)))
    assert not result.problems.has_errors and len(result.packs) == 2
    converted = [(done, total) for phase, done, total in calls if "PDF" in phase]
    assert converted == [(1, 2), (2, 2)]


# --- the LibreOffice kept running for a build ---

def many_documents(tmp_path: Path, municipalities: int = 12) -> Path:
    """A data folder whose build takes a few seconds: 12 packs, 48 documents."""
    heads = [f"Город {i};Глава города {i};Ким Мария Сергеевна;adm{i}@city{i}.ru" for i in range(municipalities)]
    sites = [f"Школа № {i};Город {i};https://school{i}.ru;10000{i:02d}" for i in range(municipalities)]
    audit = [f"school{i}.ru;widget_missing;15.05.2024;" for i in range(municipalities)]
    return write_data(tmp_path / "data", municipalities=TABLES["municipalities"][:1] + heads,
                      organizations=TABLES["organizations"][:1] + sites, audit=TABLES["audit"][:1] + audit)


def test_a_libreoffice_kept_running_makes_the_same_files_as_one_started_for_each_call(tmp_path, soffice):
    data = many_documents(tmp_path)
    assert build(data, tmp_path / "kept").returncode == 0
    assert build(data, tmp_path / "alone", env={"LETTERS_SOFFICE_KEEP": "0"}).returncode == 0
    kept, alone = files(tmp_path / "kept" / FOLDER), files(tmp_path / "alone" / FOLDER)
    assert len(kept) == 12 * 8 + 1 + 13 + 1
    assert kept == alone


def test_the_kept_libreoffice_killed_midway_costs_no_letter(tmp_path, soffice):
    """kill -9 of the LibreOffice the build keeps running, as the system's OOM killer does:
    the calls start one of their own, and every pack is whole."""
    data, out, cache = many_documents(tmp_path), tmp_path / "out", tmp_path / "cache"
    journal = str(tmp_path / "j.sqlite")
    process = subprocess.Popen(
        [sys.executable, "-m", "letters", "build", "--date", "20.05.2024", "--data", str(data), "--out", str(out),
         "--journal", journal], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    killed = []
    deadline = time.monotonic() + 60
    while not killed and process.poll() is None and time.monotonic() < deadline:
        running = libreoffice_of(cache)
        if any("--convert-to" in line for line in running):  # a call is handing documents over
            killed = [int(line.split(":")[0]) for line in running if "soffice.bin" in line and "open.txt" in line]
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    stdout, stderr = process.communicate(timeout=300)
    assert killed, "the build kept no LibreOffice running"
    assert process.returncode == 0, stderr
    assert not gone_within(cache, 5)
    rows = read_manifest(out / FOLDER)
    assert len(rows) == 12
    for row in rows:  # each letter cites the sheets its appendices really have
        for name, sheets in zip(row["appendices"].split(";"), row["appendix_sheets"].split(";"), strict=True):
            with pikepdf.open(out / FOLDER / name.replace(".docx", ".pdf")) as pdf:
                assert len(pdf.pages) == int(sheets)
    assert run_letters("verify", str(out / FOLDER), "--journal", journal).returncode == 0


def test_a_build_with_bad_input_leaves_no_libreoffice_running(tmp_path, soffice):
    data = write_data(tmp_path / "data", audit=TABLES["audit"] + ["atmr.ru;no_such_error;13.05.2024;"])
    cache = tmp_path / "cache"
    result = run_letters("build", "--date", "20.05.2024", "--data", str(data), "--out", str(tmp_path / "out"),
                         "--journal", str(tmp_path / "j.sqlite"), env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    assert result.returncode == 1 and "no_such_error" in result.stderr
    assert not (tmp_path / "out").exists()
    assert not gone_within(cache, 2)
