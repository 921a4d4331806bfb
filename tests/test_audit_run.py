"""`letters.audit.run` without a browser: the table it writes and what it removes."""

from __future__ import annotations

from datetime import date

from fixture_sites import organization
from openpyxl import load_workbook

from letters.audit.rules import CODES, TITLES
from letters.audit.run import (
    AUDIT_HEADERS, AuditResult, SiteFinding, remove_old_screenshots, screenshots_folder, screenshots_of, write_audit_xlsx,
)
from letters.problems import Problems

TODAY = date(2024, 5, 20)


def test_audit_table_format(tmp_path):
    org = organization("a", "http://a.test/")
    shot = tmp_path / "снимки" / "a.test.png"
    shot.parent.mkdir()
    shot.write_bytes(b"png")
    findings = [
        SiteFinding(org, "below_first_screen", "Виджет начинается на высоте 1480 px.", TODAY, shot),
        SiteFinding(org, "wrong_lko", "ЛКО не тот.", TODAY, None),
    ]
    path = tmp_path / "audit.xlsx"
    write_audit_xlsx(findings, path)
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows == [
        AUDIT_HEADERS,
        (
            "http://a.test/",
            "below_first_screen",
            "20.05.2024",
            "Виджет начинается на высоте 1480 px.",
            "снимки/a.test.png",
        ),
        ("http://a.test/", "wrong_lko", "20.05.2024", "ЛКО не тот.", None),
    ]
    assert sheet.cell(row=2, column=5).hyperlink.target == "снимки/a.test.png"


def test_only_the_tools_own_old_screenshots_are_removed(tmp_path):
    org = organization("a", "http://a.test/")
    table = tmp_path / "audit.xlsx"
    shots = screenshots_folder(table)
    shots.mkdir()
    old, new, clerks = (shots / name for name in ("old.test.png", "a.test.png", "мой снимок.png"))
    for path in (old, new, clerks):
        path.write_bytes(b"png")
    write_audit_xlsx([SiteFinding(org, "below_first_screen", "Ниже.", TODAY, old)], table)
    earlier = screenshots_of(table)
    assert earlier == {old.resolve()}
    remove_old_screenshots(earlier, [SiteFinding(org, "widget_hidden", "Скрыт.", TODAY, new)])
    assert not old.exists() and new.exists()
    assert clerks.exists(), "a file the tool did not write is never deleted"


def test_the_summary_names_errors_in_russian():
    org = organization("a", "http://a.test/")
    findings = [SiteFinding(org, "site_unavailable", "Не открылся.", TODAY), SiteFinding(org, "wrong_lko", "ЛКО.", TODAY)]
    result = AuditResult(Problems(), findings=findings)
    assert result.by_code == [("сайт недоступен", 1), ("не тот ЛКО в коде виджета", 1)]
    assert set(TITLES) == set(CODES)
