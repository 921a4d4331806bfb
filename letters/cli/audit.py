"""`letters audit`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import audit as site_audit
from ..problems import Problems
from ..names import choose
from ..validate import load_registry
from .app import ExitCode, app, err, out, progress, show


@app.command("audit", epilog="""Проверить все сайты реестра:
  letters audit --out проверка/audit.xlsx
Только сайты одного МО, по четыре сразу, ждать каждый до 30 секунд:
  letters audit --out audit.xlsx --only "Город Ишим" --jobs 4 --timeout 30""")
def audit_command(
    out_file: Annotated[Path, typer.Option(
        "--out", metavar="ФАЙЛ", help="Таблица замечаний .xlsx (формат таблицы audit); снимки экрана — в папку «<имя>-снимки» рядом с ней.")],
    data: Annotated[Path, typer.Option("--data", metavar="ПАПКА", help="Папка с таблицами municipalities и organizations.")] = Path("data"),
    only: Annotated[Optional[list[str]], typer.Option("--only", metavar="МО", help="Проверить только сайты учреждений этого МО (можно повторять).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", metavar="ЧИСЛО", min=1, max=16, help="Сколько сайтов проверять одновременно.")] = 2,
    timeout: Annotated[float, typer.Option("--timeout", metavar="СЕКУНД", min=1, help="Сколько секунд ждать загрузки страницы сайта.")] = 20.0,
) -> None:
    """Проверить виджеты ПОС на сайтах учреждений в браузере: таблица замечаний и снимки экрана."""
    if out_file.suffix.lower() != ".xlsx":
        raise typer.BadParameter("таблица замечаний записывается в файл .xlsx, например --out audit.xlsx")
    problems = Problems()
    registry = load_registry(data, problems)
    organizations = _audit_organizations(registry, tuple(only or ()), problems)
    show(problems)
    if problems.has_errors:
        err.print("Сайты не проверены: исправьте ошибки и запустите проверку снова. Ничего не записано.")
        raise typer.Exit(ExitCode.INVALID_INPUT)
    shots = out_file.with_name(f"{out_file.stem}-снимки")
    failed: list[site_audit.SiteProgress] = []
    with progress() as report:

        def on_progress(site: site_audit.SiteProgress) -> None:
            if site.error:
                failed.append(site)
                err.print(f"Предупреждение: сайт {site.site} не проверен — сбой программы проверки ({site.error}); "
                          "проверьте его вручную или запустите проверку снова")
            if report is not None:
                report("проверка сайтов", site.done, site.total)

        if report is not None:  # the browser takes a moment to start: say what is coming
            report("проверка сайтов", 0, len(site_audit.group_by_site(organizations)))
        try:
            findings = site_audit.check_sites(
                organizations, jobs=jobs, timeout=timeout, screenshots_dir=shots, on_progress=on_progress)
        except KeyboardInterrupt:
            err.print("Проверка прервана. Таблица замечаний не записана.")
            raise typer.Exit(ExitCode.INVALID_INPUT) from None
    site_audit.write_audit_xlsx(findings, out_file)
    _remove_old_screenshots(shots, findings)
    _show_audit(organizations, findings, failed, out_file, shots)


def _audit_organizations(registry, only: tuple[str, ...], problems: Problems) -> list:
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


def _remove_old_screenshots(folder: Path, findings) -> None:
    """Screenshots of an earlier check that the new table does not name would only mislead."""
    if not folder.is_dir():
        return
    kept = {f.screenshot.resolve() for f in findings if f.screenshot}
    for path in folder.glob("*.png"):
        if path.resolve() not in kept:
            path.unlink(missing_ok=True)


def _show_audit(organizations, findings, failed, out_file: Path, shots: Path) -> None:
    sites = len(site_audit.group_by_site(organizations))
    rows = {(f.organization.site, f.code): f for f in findings}  # as the table has them
    with_findings = len({f.organization.site_key for f in findings})
    out.print(f"Проверено сайтов: {sites - len(failed)} из {sites}; с замечаниями: {with_findings}, "
              f"без замечаний: {sites - len(failed) - with_findings}.")
    if not rows:
        out.print(f"Замечаний нет: таблица {out_file} записана пустой, писем не будет.")
        return
    out.print(f"Замечаний: {len(rows)} — в таблице {out_file}:")
    for code in site_audit.CODES:
        n = sum(1 for _, c in rows if c == code)
        if n:
            out.print(f"  {code}: {n}")
    pictures = {f.screenshot for f in rows.values() if f.screenshot}
    missing = sum(1 for f in rows.values() if not f.screenshot)
    text = f"Снимки экрана: {len(pictures)} в папке {shots}"
    if missing:
        text += f" (без снимка замечаний: {missing} — браузер не смог его сделать)"
    out.print(text + ".")
    out.print(f"Письма: замените этой таблицей таблицу audit в папке данных (папку {shots.name} положите рядом) "
              "и запустите letters build.")
