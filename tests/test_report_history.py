"""`letters report` with history (issue 17): the change since the previous letter date in the
journal, per municipality and for the region, and the region's share over the letter dates.

The journal is a real one, made by two real builds (the monitoring cycle of conftest); the
expected figures are counted here from the two audits and the registry, not by the tool.
"""

from __future__ import annotations

import hashlib
import subprocess

import pikepdf
import pytest
from conftest import run_letters
from openpyxl import load_workbook

REPORT_DATE = "10.06.2024"  # the second audit's date of check: the report's own date by default


def _text(path, page: int) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(path), "-"],
                          capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _points(change: float) -> str:
    """The test's own writing of a change: «+6,7», «−3,3», «0,0»."""
    text = f"{abs(change):.1f}".replace(".", ",")
    return text if text == "0,0" else ("+" if change > 0 else "\u2212") + text


@pytest.fixture(scope="module")
def expected(cycle):
    """Per municipality: the registry (today's: June's, without the site that left), the
    institutions with findings in May's letters and in June's audit, the change in points."""
    organizations = cycle["organizations"]
    registry = organizations[organizations["key"] != cycle["gone_site"]]
    keys = set(registry["key"])
    size = registry.groupby("Муниципальное образование").size().to_dict()

    def flagged(audit) -> dict[str, int]:
        rows = audit[audit["key"].isin(keys)]
        return rows.groupby("municipality")["key"].nunique().to_dict()

    may, june = flagged(cycle["may"]), flagged(cycle["june"])
    lines = {}
    for name, n in size.items():
        then, now = 100 * (n - may.get(name, 0)) / n, 100 * (n - june.get(name, 0)) / n
        lines[name] = dict(registry=n, may=may.get(name, 0), june=june.get(name, 0), then=then, now=now,
                           change=round(now - then, 1))
    total = sum(size.values())
    region_then = 100 * (total - sum(may.values())) / total
    region_now = 100 * (total - sum(june.values())) / total
    return dict(lines=lines, region_then=region_then, region_now=region_now,
                region_change=round(region_now - region_then, 1))


@pytest.fixture(scope="module")
def reports(cycle, tmp_path_factory):
    folder = tmp_path_factory.mktemp("history-report")
    before = _digest(cycle["journal"])
    results = {}
    for suffix in (".pdf", ".xlsx"):
        path = folder / f"отчёт{suffix}"
        result = run_letters("report", "--data", str(cycle["june_data"]), "--journal", str(cycle["journal"]),
                             "--out", str(path))
        assert result.returncode == 0, result.stderr
        results[suffix] = (path, result)
    assert _digest(cycle["journal"]) == before, "the report only reads the journal"
    return results


def test_the_change_is_counted_against_the_may_letters(reports, expected, cycle):
    assert expected["lines"][cycle["fixed_all"]]["change"] > 0, "the municipality that fixed everything went up"
    path, result = reports[".xlsx"]
    book = load_workbook(path)
    assert book.sheetnames == ["Сводка", "По МО", "Ошибки", "Динамика"]
    sheet = book["По МО"]
    header = [c.value for c in sheet[1]]
    assert header[-2:] == ["Доля на 20.05.2024", "Изменение с 20.05.2024, п.п."]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    seen = set()
    for row in rows[:-1]:
        line = expected["lines"].get(row[1])
        if line is None:  # a municipality without institutions: nothing to compare
            assert row[-1] is None
            continue
        seen.add(row[1])
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row[-2:]), row
        assert row[-2] == pytest.approx(line["then"] / 100, abs=1e-4), row[1]
        assert row[-1] == pytest.approx(line["change"], abs=1e-9), row[1]
        assert row[3] == line["june"], row[1]
    assert seen == set(expected["lines"])
    total = rows[-1]
    assert total[1] == "Всего по региону"
    assert total[-1] == pytest.approx(expected["region_change"], abs=1e-9)
    assert sheet.cell(2, len(header)).number_format == "+0.0;-0.0;0.0"
    trend = list(book["Динамика"].iter_rows(min_row=2, max_row=3, values_only=True))
    assert [(r[0].date().isoformat(), r[1]) for r in trend] == [
        ("2024-05-20", pytest.approx(expected["region_then"] / 100, abs=1e-4)),
        ("2024-06-10", pytest.approx(expected["region_now"] / 100, abs=1e-4)),
    ]
    assert f"Изменение с 20.05.2024: доля по региону" in result.stdout
    assert f"{_points(expected['region_change'])} п.п." in result.stdout


def test_the_pdf_says_the_change_and_draws_the_trend(reports, expected, cycle):
    path, _ = reports[".pdf"]
    first = _text(path, 1)
    assert f"по состоянию на 10 июня 2024 г." in first
    assert f"Изменение доли с 20.05.2024 {_points(expected['region_change'])} п.п." in first
    assert "реестра учреждений текущей папки данных" in first, "the denominator is said"
    second = _text(path, 2)
    assert "Доля учреждений с верно размещённым виджетом по региону по датам писем" in second
    assert "20.05.2024" in second and "10.06.2024" in second
    with pikepdf.open(path) as document:
        pages = len(document.pages)
    tables = " ".join(_text(path, n) for n in range(3, pages + 1))
    assert "Изменение," in tables and "п.п." in tables
    for name in (cycle["fixed_all"], cycle["busiest"]):
        line = expected["lines"][name]
        shown = name if len(name) <= 46 else name[:45] + "…"
        assert f"{shown} {line['registry']} {line['june']} " in tables, name
        row = tables.rsplit(shown, 1)[1].split("%", 1)[1]  # the table comes last  # after its share: zone, findings, change
        assert _points(line["change"]) in row.split()[:4], (name, row[:80])


def test_a_date_after_the_june_letters_compares_with_them(cycle, tmp_path):
    """On 20.06 the previous letter date is 17.06, whose letters (follow-ups among them) told
    of exactly June's findings, and a municipality that got no letter then had none: no change."""
    path = tmp_path / "отчёт.xlsx"
    result = run_letters("report", "--data", str(cycle["june_data"]), "--journal", str(cycle["journal"]),
                         "--date", "20.06.2024", "--out", str(path))
    assert result.returncode == 0, result.stderr
    book = load_workbook(path)
    changes = [r[-1] for r in book["По МО"].iter_rows(min_row=2, values_only=True) if r[-1] is not None]
    assert changes and all(c == 0 for c in changes)
    dates = [r[0].date().isoformat() for r in book["Динамика"].iter_rows(min_row=2, values_only=True)
             if hasattr(r[0], "date")]
    assert dates == ["2024-05-20", "2024-06-17", "2024-06-20"]


def test_a_journal_that_does_not_exist_is_not_created(tmp_path, cycle):
    missing = tmp_path / "нет" / "journal.sqlite"
    result = run_letters("report", "--data", str(cycle["june_data"]), "--journal", str(missing),
                         "--out", str(tmp_path / "отчёт.pdf"))
    assert result.returncode == 0, result.stderr
    assert not missing.exists() and not missing.parent.exists()
    assert "ещё нет" in result.stdout and "на одну дату" in result.stdout
    assert "ещё нет" in _text(tmp_path / "отчёт.pdf", 1)
