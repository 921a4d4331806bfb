"""What `letters audit` does, from the data folder to the table: read the registry, choose the
sites (`--only`), check them in the browser, write the findings as the contract's `audit`
table, and remove the tool's own screenshots of an earlier run that the new table no longer
names. Like the build's pipeline it never prints: `audit()` returns an `AuditResult` whose
problems and figures the CLI shows.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from letters.model import Organization
from letters.names import choose
from letters.problems import Problems
from letters.validate import load_registry

from . import browser
from .browser import AuditError
from .rules import CHROMIUM, CODES, SCRIPT_URL, TITLES, group_by_site

__all__ = [
    "AUDIT_HEADERS", "AuditError", "AuditRequest", "AuditResult", "SiteFinding", "SiteProgress", "audit",
    "check_sites", "screenshots_folder", "write_audit_xlsx",
]

AUDIT_HEADERS = ("Ссылка на сайт", "Код ошибки", "Дата проверки", "Комментарий", "Снимок экрана")
# An environment variable names another ПОС script for every run (the contract's LETTERS_POS_SCRIPT).
SCRIPT_VARIABLE = "LETTERS_POS_SCRIPT"


@dataclass(frozen=True)
class SiteFinding:
    """One row of the audit table: one error of one organization's site."""

    organization: Organization
    code: str
    details: str
    checked_at: date
    screenshot: Path | None = None


@dataclass(frozen=True)
class SiteProgress:
    """Told to `on_progress` before the first site (`done` 0) and after each site. `error` is
    set when the checker itself failed on the site (not the site's fault): the site is then
    left without findings."""

    done: int
    total: int
    site: str
    findings: tuple[SiteFinding, ...]
    error: str = ""


@dataclass(frozen=True)
class AuditRequest:
    out: Path  # the table, .xlsx
    data: Path = Path("data")
    only: tuple[str, ...] = ()
    jobs: int = 2
    timeout: float = 20.0


@dataclass
class AuditResult:
    problems: Problems
    table: Path | None = None  # None: nothing written
    screenshots: Path | None = None
    sites: int = 0  # sites chosen for the check
    failed: tuple[str, ...] = ()  # sites the checker failed on
    findings: list[SiteFinding] = field(default_factory=list)

    @property
    def rows(self) -> list[SiteFinding]:
        """The findings as the table has them: one row per site and code."""
        return list({(f.organization.site, f.code): f for f in self.findings}.values())

    @property
    def sites_with_findings(self) -> int:
        return len({f.organization.site_key for f in self.findings})

    @property
    def by_code(self) -> list[tuple[str, int]]:
        """(Russian title, rows) in the catalogue's order, codes without rows left out."""
        counts = Counter(f.code for f in self.rows)
        return [(TITLES[code], counts[code]) for code in CODES if counts[code]]

    @property
    def pictures(self) -> int:
        return len({f.screenshot for f in self.rows if f.screenshot})

    @property
    def without_picture(self) -> int:
        return sum(1 for f in self.rows if not f.screenshot)


def screenshots_folder(table: Path) -> Path:
    """`проверка/audit.xlsx` → `проверка/audit-снимки`."""
    return table.with_name(f"{table.stem}-снимки")


def audit(request: AuditRequest, on_progress: Callable[[SiteProgress], None] | None = None) -> AuditResult:
    """Check the sites of the registry (or of the `--only` municipalities) and write the table.

    Bad input (registry, `--only`) writes nothing. Raises AuditError when the browser cannot
    run. The ПОС script looked for is LETTERS_POS_SCRIPT's, else the real one.
    """
    problems = Problems()
    registry = load_registry(request.data, problems)
    organizations = _chosen(registry, request.only, problems)
    if problems.has_errors:
        return AuditResult(problems)
    failed: list[str] = []

    def site_done(site: SiteProgress) -> None:
        if site.error:
            failed.append(site.site)
            problems.warning(f"сайт {site.site} не проверен — сбой программы проверки ({site.error}); "
                             "проверьте его вручную или запустите проверку снова")
        if on_progress is not None:
            on_progress(site)

    shots = screenshots_folder(request.out)
    earlier = screenshots_of(request.out)  # before the table is overwritten
    if on_progress is not None:  # the browser takes a moment to start: say what is coming
        on_progress(SiteProgress(0, len(group_by_site(organizations)), "", ()))
    findings = check_sites(
        organizations, jobs=request.jobs, timeout=request.timeout, screenshots_dir=shots, on_progress=site_done,
        script_url=os.environ.get(SCRIPT_VARIABLE, "").strip() or SCRIPT_URL,
    )
    write_audit_xlsx(findings, request.out)
    remove_old_screenshots(earlier, findings)
    return AuditResult(problems, request.out, shots, len(group_by_site(organizations)), tuple(failed), findings)


def _chosen(registry, only: tuple[str, ...], problems: Problems) -> list[Organization]:
    """The registry's organizations, or those of the municipalities named by `--only`."""
    if registry is None:
        return []
    municipalities, organizations = registry
    if not only:
        return organizations
    chosen = choose(only, [m.name for m in municipalities], problems,
                    "такого муниципального образования нет в таблице municipalities")
    for municipality in chosen:
        if not any(org.municipality == municipality for org in organizations):
            problems.warning(f"--only «{municipality}»: у этого муниципального образования нет учреждений в таблице organizations")
    return [org for org in organizations if org.municipality in chosen]


def check_sites(
    organizations: Iterable[Organization],
    *,
    jobs: int = 2,
    timeout: float = 20.0,
    script_url: str = SCRIPT_URL,
    screenshots_dir: Path | None = None,
    today: date | None = None,
    on_progress: Callable[[SiteProgress], None] | None = None,
    max_inner_pages: int = 10,
    chromium: str = CHROMIUM,
    browser_args: Sequence[str] = (),
) -> list[SiteFinding]:
    """Check every organization's site; return the findings in registry order.

    Organizations that share a site are checked once. `timeout` is per page load, in seconds;
    a site that does not load in time becomes `site_unavailable`. With `screenshots_dir`, the
    first screen of each site with a finding is saved there as PNG, the widget outlined.
    `browser_args` are extra Chromium switches (the tests map every host to 127.0.0.1).
    Raises AuditError when Chromium or Playwright is missing. Never prints.
    """
    groups = group_by_site(organizations)
    if not groups:
        return []
    checked_at = today or date.today()
    if screenshots_dir is not None:
        screenshots_dir.mkdir(parents=True, exist_ok=True)
    findings_by_site: dict[int, list[SiteFinding]] = {}

    def site_done(index: int, outcome: browser.SiteOutcome) -> None:
        site = [
            SiteFinding(org, v.code, v.details, checked_at, outcome.screenshots.get(v.screen))
            for org, verdicts in outcome.verdicts
            for v in verdicts
        ]
        findings_by_site[index] = site
        if on_progress is not None:
            on_progress(SiteProgress(len(findings_by_site), len(groups), groups[index][0].site, tuple(site), outcome.error))

    browser.run(
        [(orgs[0].site, orgs) for orgs in groups],
        on_site_done=site_done,
        jobs=jobs,
        timeout=timeout,
        script_url=script_url,
        screenshots_dir=screenshots_dir,
        max_inner_pages=max_inner_pages,
        chromium=chromium,
        browser_args=browser_args,
    )
    return [f for i in range(len(groups)) for f in findings_by_site.get(i, [])]


def write_audit_xlsx(findings: Iterable[SiteFinding], path: Path) -> None:
    """Write the findings as the contract's `audit` table, ready for `letters build`.

    Extra column «Снимок экрана»: the screenshot's path relative to the table, as a link.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    path = Path(path)
    book = Workbook()
    sheet = book.active
    sheet.title = "Аудит"
    sheet.append(AUDIT_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    seen: set[tuple[str, str, str]] = set()
    for f in findings:
        row_key = (f.organization.site, f.code, f.details)
        if row_key in seen:  # organizations sharing a site: the table is keyed by site
            continue
        seen.add(row_key)
        shot = _relative(f.screenshot, path.parent) if f.screenshot else ""
        sheet.append([f.organization.site, f.code, f.checked_at.strftime("%d.%m.%Y"), f.details, shot])
        if shot:
            link = sheet.cell(row=sheet.max_row, column=5)
            link.hyperlink = shot
            link.font = Font(color="0563C1", underline="single")
    for column, width in zip("ABCDE", (40, 20, 14, 90, 40)):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")  # a run cut short leaves no half-written table
    book.save(partial)
    os.replace(partial, path)


def screenshots_of(table: Path) -> set[Path]:
    """The screenshots an earlier run wrote, as its table names them (nothing when there is no
    such table, or it cannot be read): the only pictures a new run may remove."""
    from openpyxl import load_workbook

    if not table.is_file():
        return set()
    try:
        sheet = load_workbook(table, read_only=True).active
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
    except Exception:  # noqa: BLE001 - not a table of ours: then nothing of it is removed
        return set()
    named = {str(row[4]) for row in rows if len(row) > 4 and row[4]}
    return {(table.parent / name).resolve() for name in named if name.lower().endswith(".png")}


def remove_old_screenshots(earlier: Iterable[Path], findings: Iterable[SiteFinding]) -> None:
    """Screenshots of an earlier check that the new table does not name would only mislead.
    Only what the tool wrote itself goes: the pictures its earlier table named, never a file
    a clerk put into the folder."""
    kept = {f.screenshot.resolve() for f in findings if f.screenshot}
    for path in earlier:
        if path not in kept:
            path.unlink(missing_ok=True)


def _relative(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(target, start)).as_posix()
    except ValueError:  # another drive on Windows
        return str(target)
