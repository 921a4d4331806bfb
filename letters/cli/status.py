"""`letters status`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .. import dates, status
from ..problems import Problems
from .app import DataOption, JournalOption, app, fail, out, parse_date, show


@app.command("status", epilog="""Что с письмами всех МО на сегодня:
  letters status
Одного МО, в файл Excel:
  letters status --municipality Ишим --export статус.xlsx""")
def status_command(
    municipality: Annotated[Optional[list[str]], typer.Option(
        "--municipality", metavar="МО", help="Только МО, в названии которых есть этот текст (можно повторять).")] = None,
    export: Annotated[Optional[Path], typer.Option("--export", metavar="ФАЙЛ", help="Сохранить в файл .xlsx.")] = None,
    on: Annotated[Optional[str], typer.Option("--on", metavar="ДД.ММ.ГГГГ", help="На какую дату, ДД.ММ.ГГГГ (по умолчанию — сегодня).")] = None,
    data: DataOption = Path("data"),
    journal: JournalOption = None,
) -> None:
    """Что с письмами каждого МО: последнее письмо, срок, отправка, ответ; сколько ошибок устранено, осталось, новых; что просрочено."""
    if export and export.suffix.lower() != ".xlsx":
        raise typer.BadParameter("выгрузка возможна в файл .xlsx", param_hint="--export")
    problems = Problems()
    when = parse_date(on) if on else dt.date.today()
    result = status.read(data, journal, when, tuple(municipality or ()), problems)
    show(problems)
    if result is None:
        raise fail(message="Состояние не показано: исправьте ошибки в таблицах и запустите снова.")
    if export:
        status.export(result, export)
        out.print(f"Состояние выгружено: {export}")
        return
    out.print(_table(result))
    out.print(f"Итого: писем {result.letters}; ошибок в письмах {result.total('told')}, устранено "
              f"{result.total('fixed')}, осталось {result.total('remaining')}, новых {result.total('new')}; "
              f"просрочено: {result.overdue}")


def _table(result: status.Status) -> Table:
    # short headings: eleven columns must fit a terminal of 80; the export has the long ones
    table = Table(box=None, title=f"Состояние на {dates.numeric(result.on)}")
    table.add_column("МО", min_width=14)
    for heading in ("Письмо", "Дата", "Срок", "Отправлено", "Ответ", "Было", "Устр.", "Ост.", "Нов.", "Просрочено"):
        table.add_column(heading, overflow="fold")
    for row in result.rows:
        table.add_row(
            row.municipality, row.number or "писем не было", _date(row.date), _date(row.deadline), row.sent, row.reply,
            *(("—" if value is None else str(value)) for value in (row.told, row.fixed, row.remaining)),
            str(row.new), row.overdue,
        )
    return table


def _date(value: dt.date | None) -> str:
    return dates.numeric(value) if value else ""
