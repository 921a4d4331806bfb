"""The monitoring cycle (issue 15), on the sample: the letters of 20.05.2024, then a second
audit a month later in which some of a municipality's findings are gone, some remain and one
is new, one municipality fixed everything, and one site has left the registry."""

from __future__ import annotations

import csv
import os
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import docx
import openpyxl
import pytest
from conftest import JUNE, MAY, run_letters


def manifest(folder: Path) -> dict[str, dict]:
    with (folder / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        return {row["municipality"]: row for row in csv.DictReader(handle)}


def text_of(pdf: Path) -> str:
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(raw.split())


def expected(cycle, municipality: str) -> dict[str, int]:
    """Counted from the two tables, independently of the tool."""
    may, june = cycle["may"], cycle["june"]
    told = set(zip(*[may[may["municipality"] == municipality][c] for c in ("key", "Код ошибки")]))
    now = set(zip(*[june[june["municipality"] == municipality][c] for c in ("key", "Код ошибки")]))
    gone = {k for k in told if k[0] == cycle["gone_site"]}
    return {"told": len(told), "remaining": len(told & now), "fixed": len(told - now - gone), "new": len(now - told)}


def test_a_municipality_told_before_gets_a_letter_that_cites_the_first(cycle):
    may, june = manifest(cycle["out"] / "2024-05-20"), manifest(cycle["out"] / "2024-06-17")
    busiest = cycle["busiest"]
    first, second = may[busiest], june[busiest]
    letter = text_of(cycle["out"] / "2024-06-17" / second["letter"].replace(".docx", ".pdf"))
    assert (f"В дополнение к письму Департамента информатизации Тюменской области от {MAY} № {first['number']}"
            in letter)
    figures = expected(cycle, busiest)
    assert figures["fixed"] == 2 and figures["new"] == 1 and figures["remaining"] > 0
    assert (f"по состоянию на {JUNE} на сайтах подведомственных учреждений не устранены ошибки размещения виджетов "
            f"ПОС: {figures['remaining']} из {figures['told']} (устранено {figures['fixed']})") in letter
    assert "в срок до 15.07.2024" in letter  # --deadline, not letters.toml's 14.06.2024
    assert f"(в дополнение: письмо от {MAY} № {first['number']})" in cycle["second"].stdout


def test_appendix_1_marks_each_finding_and_counts_the_fixed(cycle):
    row = manifest(cycle["out"] / "2024-06-17")[cycle["busiest"]]
    number = manifest(cycle["out"] / "2024-05-20")[cycle["busiest"]]["number"]
    appendix = row["appendices"].split(";")[0]
    figures = expected(cycle, cycle["busiest"])
    marks = [table.rows[i].cells[-1].text for table in docx.Document(cycle["out"] / "2024-06-17" / appendix).tables
             for i in range(1, len(table.rows))]
    assert marks.count(f"не устранена (письмо от {MAY} № {number})") == figures["remaining"]
    assert marks.count("выявлена впервые") == figures["new"]
    text = text_of(cycle["out"] / "2024-06-17" / appendix.replace(".docx", ".pdf"))
    assert (f"Из {figures['told']} ошибок, указанных в письме от {MAY} № {number}, устранено {figures['fixed']}, "
            f"не устранено {figures['remaining']}; выявлено впервые: {figures['new']}") in text


def test_every_municipality_gets_the_letter_its_findings_call_for(cycle):
    may, june = manifest(cycle["out"] / "2024-05-20"), manifest(cycle["out"] / "2024-06-17")
    assert cycle["fixed_all"] in may and cycle["fixed_all"] not in june
    assert f"{cycle['fixed_all']}: все ошибки из письма от {MAY} № {may[cycle['fixed_all']]['number']} устранены" \
        in cycle["second"].stdout
    for municipality, row in june.items():
        figures = expected(cycle, municipality)
        letter = text_of(cycle["out"] / "2024-06-17" / row["letter"].replace(".docx", ".pdf"))
        assert ("В дополнение к письму" in letter) == (figures["remaining"] > 0), municipality
        assert int(row["findings"]) == figures["remaining"] + figures["new"], municipality


def test_a_site_that_left_the_registry_is_a_warning(cycle):
    assert f"{cycle['leaving']}: сайта" in cycle["second"].stderr
    assert "больше нет в таблице organizations" in cycle["second"].stderr


def test_a_rerun_of_the_follow_up_date_is_stable(cycle):
    before = (cycle["out"] / "2024-06-17" / "manifest.csv").read_bytes()
    again = cycle["build"](cycle["june_data"], JUNE, "--deadline", "15.07.2024")
    assert (cycle["out"] / "2024-06-17" / "manifest.csv").read_bytes() == before
    assert again.stdout.count("без изменений") == len(manifest(cycle["out"] / "2024-06-17"))


def test_no_follow_up_makes_first_letters(cycle, tmp_path):
    out = tmp_path / "out"
    journal = tmp_path / "journal.sqlite"
    shutil.copyfile(cycle["journal"], journal)  # the journal of the cycle, in a folder of its own
    result = run_letters("build", "--date", "18.06.2024", "--data", str(cycle["june_data"]), "--out", str(out),
                         "--journal", str(journal), "--deadline", "15.07.2024", "--no-follow-up", "--only",
                         cycle["busiest"])
    assert result.returncode == 0, result.stderr
    row = manifest(out / "2024-06-18")[cycle["busiest"]]
    assert "В дополнение" not in text_of(out / "2024-06-18" / row["letter"].replace(".docx", ".pdf"))


def test_status_counts_what_was_fixed_against_the_two_tables(cycle, tmp_path):
    """On 16.06.2024, after May's deadline and before the June letters: every municipality's
    May letter against the June table."""
    may = manifest(cycle["out"] / "2024-05-20")
    number = may[cycle["fixed_all"]]["number"]
    sent = run_letters("journal", "sent", number, "--by", "почта", "--on", "21.05.2024", "--journal", str(cycle["journal"]))
    assert sent.returncode == 0, sent.stderr
    replied = run_letters("journal", "reply", number, "--number", "12-345", "--date", "10.06.2024",
                          "--journal", str(cycle["journal"]))
    assert replied.returncode == 0, replied.stderr
    export = tmp_path / "статус.xlsx"
    result = run_letters("status", "--on", "16.06.2024", "--data", str(cycle["june_data"]), "--journal",
                         str(cycle["journal"]), "--export", str(export))
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(export).active
    header = [cell.value for cell in sheet[2]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=3, values_only=True)}
    for municipality, row in may.items():
        figures = expected(cycle, municipality)
        shown = rows[municipality]
        assert shown["Письмо №"] == row["number"] and shown["Дата"].date() == dt.date(2024, 5, 20)
        assert (shown["Ошибок в письме"], shown["Устранено"], shown["Осталось"], shown["Новых"]) == (
            figures["told"], figures["fixed"], figures["remaining"], figures["new"]), municipality
        assert bool(shown["Просрочено"]) == (municipality != cycle["fixed_all"]), municipality
    assert rows[cycle["fixed_all"]]["Ответ"] == "вх. № 12-345 от 10.06.2024"
    total = rows["Итого по региону"]
    assert total["Устранено"] == sum(expected(cycle, m)["fixed"] for m in may)
    assert sheet.freeze_panes == "A3" and sheet.print_title_rows in ("2:2", "$2:$2")
    assert sheet.page_setup.orientation == "landscape"
    terminal = run_letters("status", "--on", "16.06.2024", "--municipality", cycle["busiest"], "--data",
                           str(cycle["june_data"]), "--journal", str(cycle["journal"]),
                           env={**os.environ, "COLUMNS": "200"})  # a wide terminal: one line a municipality
    assert terminal.returncode == 0, terminal.stderr
    assert cycle["busiest"] in terminal.stdout and "ответа нет" in terminal.stdout
