"""`letters report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import report
from ..problems import Level
from .app import DataOption, JournalOption, app, fail, out, parse_date, show
from ..report.figures import percent


@app.command("report", epilog="""Отчёт для печати:
  letters report --out отчёт.pdf --date 20.05.2024
Те же цифры таблицами Excel:
  letters report --out отчёт.xlsx""")
def report_command(
    out_file: Annotated[Path, typer.Option("--out", metavar="ФАЙЛ", help="Файл отчёта: .pdf (для печати) или .xlsx (таблицы).")],
    date: Annotated[Optional[str], typer.Option(
        "--date", metavar="ДД.ММ.ГГГГ", help="Дата «по состоянию на», ДД.ММ.ГГГГ (по умолчанию — последняя дата проверки в таблице audit).")] = None,
    data: DataOption = Path("data"),
    journal: JournalOption = None,
) -> None:
    """Отчёт для руководителя: доля учреждений с верным виджетом ПОС по МО и по региону, зона, ошибки по видам."""
    if out_file.suffix.lower() not in report.FORMATS:
        raise typer.BadParameter("отчёт записывается в файл .pdf или .xlsx, например --out отчёт.pdf", param_hint="--out")
    request = report.ReportRequest(out=out_file, data=data, date=parse_date(date) if date else None,
                                    journal=journal)
    result = report.make(request)
    show(result.problems, {
        Level.ERROR: "Ошибки (отчёт невозможен, пока они есть)",
        Level.WARNING: "Предупреждения (отчёт записан, но проверьте)",
        Level.NOTE: "Замечания",
    })
    if result.path is None:
        raise fail(message="Отчёт не записан: исправьте ошибки и запустите снова.")
    region = result.figures.region
    zone = region.zone.name if region.zone else "—"
    out.print(f"Отчёт записан: {result.path}")
    out.print(f"По региону: учреждений {region.registry}, с верным виджетом {region.correct} "
              f"({percent(region.share)}), {zone}.")
    out.print(result.figures.change_line)
