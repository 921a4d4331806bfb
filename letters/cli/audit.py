"""`letters audit`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Optional

import typer

from .. import hints
from ..audit import run as site_audit
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
    request = site_audit.AuditRequest(out=out_file, data=data, only=tuple(only or ()), jobs=jobs, timeout=timeout)
    with progress() as report:

        def on_progress(site: site_audit.SiteProgress) -> None:
            if report is not None:
                report("проверка сайтов", site.done, site.total)

        try:
            result = site_audit.audit(request, on_progress)
        except KeyboardInterrupt:
            err.print("Проверка прервана. Таблица замечаний не записана.")
            raise typer.Exit(ExitCode.INVALID_INPUT) from None
    show(result.problems)
    if result.table is None:
        err.print("Сайты не проверены: исправьте ошибки и запустите проверку снова. Ничего не записано.")
        raise typer.Exit(ExitCode.INVALID_INPUT)
    _show_audit(result, data)


def _show_audit(result: site_audit.AuditResult, data: Path) -> None:
    checked = result.sites - len(result.failed)
    out.print(f"Проверено сайтов: {checked} из {result.sites}; с замечаниями: {result.sites_with_findings}, "
              f"без замечаний: {checked - result.sites_with_findings}.")
    if not result.rows:
        out.print(f"Замечаний нет: таблица {result.table} записана пустой, писем не будет.")
        return
    out.print(f"Замечаний: {len(result.rows)} — в таблице {result.table}:")
    for title, n in result.by_code:
        out.print(f"  {title}: {n}")
    text = f"Снимки экрана: {result.pictures} в папке {result.screenshots}"
    if result.without_picture:
        text += f" (без снимка замечаний: {result.without_picture} — браузер не смог его сделать)"
    out.print(text + ".")
    build = hints.command("build", "--date", "ДД.ММ.ГГГГ", request=SimpleNamespace(data=data))  # the clerk's data folder
    out.print(f"Письма: замените этой таблицей таблицу audit в папке данных (папку {result.screenshots.name} "
              f"положите рядом) и запустите {build}")
