"""`letters journal`: the registration journal on screen, exported, and its corrections."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .. import dates
from ..cancel import cancel_date, to_cancel
from ..journal import life, register
from ..journal import STATUS_NAMES, Journal
from ..journal import open_journal as _open
from ..names import closest, name_key
from ..problems import Problems
from . import russian
from .app import DataOption, JournalOption, app, ask, count, err, fail, out, parse_date, show

journal_app = russian.Typer(help="Журнал регистрации исходящих писем.", invoke_without_command=True, epilog="""Показать весь журнал:
  letters journal
Выданные в 2024 году письма МО, в названии которых есть «ишим»:
  letters journal --year 2024 --status выдан --municipality ишим
Выгрузить журнал в Excel:
  letters journal --export журнал.xlsx
Аннулировать номер:
  letters journal cancel 1340/24 --why "письмо не нужно: ошибки исправлены"
""")
app.add_typer(journal_app, name="journal")


def open_journal(journal: str | None, data: Path) -> Journal:
    """The journal the clerk means (letters.journal.location), with its note shown."""
    problems = Problems()
    opened = _open(journal, data, problems)
    show(problems)
    return opened


@journal_app.callback()
def journal_list(
    ctx: typer.Context,
    journal: JournalOption = None,
    data: DataOption = Path("data"),
    year: Annotated[Optional[int], typer.Option("--year", metavar="ГОД", help="Только за этот год.")] = None,
    date: Annotated[Optional[str], typer.Option("--date", metavar="ДД.ММ.ГГГГ", help="Только письма этой даты, ДД.ММ.ГГГГ.")] = None,
    municipality: Annotated[Optional[str], typer.Option("--municipality", metavar="ТЕКСТ", help="Только МО, в названии которых есть этот текст.")] = None,
    status: Annotated[Optional[str], typer.Option("--status", metavar="СТАТУС", help="Только письма с этим статусом: зарезервирован, выдан, отправлен, аннулирован или заменён.")] = None,
    export: Annotated[Optional[Path], typer.Option("--export", metavar="ФАЙЛ", help="Сохранить в файл .xlsx или .csv.")] = None,
) -> None:
    """Показать журнал (с отбором) или выгрузить его в .xlsx или .csv."""
    ctx.ensure_object(dict)["journal"], ctx.obj["data"] = journal, data
    if ctx.invoked_subcommand is not None:
        return
    status = status and _status(status, ctx)
    if export and export.suffix.lower() not in (".xlsx", ".csv"):
        raise typer.BadParameter("выгрузка возможна в файл .xlsx или .csv")
    letters = open_journal(journal, data).list(
        year=year, date=parse_date(date) if date else None, municipality=municipality, status=status
    )
    if export:
        register.export(letters, export)
        out.print(f"Журнал выгружен: {export} ({count(len(letters), 'запись', 'записи', 'записей')})")
        return
    columns = (*register.COLUMNS[:3], "Листов", "Статус", "Ответ (вх. № и дата)", "Примечание")
    table = Table(*(c.split(" (")[0] for c in columns), box=None)
    for row in register.register_rows(letters):
        table.add_row(*(row[c] for c in columns))
    out.print(table)
    out.print(f"Всего: {count(len(letters), 'запись', 'записи', 'записей')}")


def _status(text: str, ctx: typer.Context) -> str:
    """The status a clerk names, as the journal shows it («выдан») or as it stores it («issued»),
    whatever the case, the spaces and «ё»."""
    by_key = {name_key(k): k for k in STATUS_NAMES} | {name_key(v): k for k, v in STATUS_NAMES.items()}
    found = by_key.get(name_key(text))
    if found is None:
        guess = closest(text, STATUS_NAMES.values())
        hint = f" (возможно, «{guess}»?)" if guess else ""
        raise typer.BadParameter(f"статус «{text}» неизвестен{hint}; возможные: {', '.join(STATUS_NAMES.values())}",
                                 ctx=ctx, param_hint="--status")
    return found


@journal_app.command("cancel", epilog="""Аннулировать один номер:
  letters journal cancel 1340/24 --why "письмо не нужно: ошибки исправлены"
Аннулировать все неотправленные письма 20 мая 2024 года и убрать их пакеты:
  letters journal cancel --date 20.05.2024 --why "собраны по неверной таблице"
Номер остаётся в журнале с причиной и больше никогда не выдаётся.""")
def journal_cancel(
    ctx: typer.Context,
    number: Annotated[Optional[str], typer.Argument(metavar="НОМЕР", help="Регистрационный номер, например 1337/24.")] = None,
    why: Annotated[str, typer.Option("--why", metavar="ПРИЧИНА", help="Причина аннулирования (записывается в журнал).")] = "",
    date: Annotated[Optional[str], typer.Option(
        "--date", metavar="ДД.ММ.ГГГГ",
        help="Аннулировать все неотправленные письма этой даты и убрать их пакеты.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Не переспрашивать.")] = False,
    journal: JournalOption = None,
    data: Annotated[Optional[Path], typer.Option("--data", metavar="ПАПКА", help="Папка с таблицами и letters.toml.")] = None,
) -> None:
    """Аннулировать номер или все неотправленные письма одной даты (номера больше никогда не будут выданы)."""
    if not why.strip():
        raise typer.BadParameter("укажите причину аннулирования в --why")
    if (number is None) == (date is None):
        raise typer.BadParameter("укажите номер письма или --date ДД.ММ.ГГГГ (что-то одно)")
    opened = open_journal(journal or ctx.obj["journal"], data or ctx.obj["data"])
    if date is not None:
        _cancel_date(opened, parse_date(date), why.strip(), yes)
        return
    letter = opened.cancel(number, why.strip())
    out.print(f"Номер {letter.number} ({letter.municipality}) аннулирован: {letter.reason}")


def _cancel_date(opened: Journal, date, why: str, yes: bool) -> None:
    plan = to_cancel(opened, date)
    for letter in plan.refused:
        err.print(f"  № {letter.number} ({letter.municipality}) уже отправлено — не аннулируется; если оно ошибочно, "
                  "пошлите новое письмо с новым номером")
    if not plan.cancelled:
        out.print(f"За {dates.numeric(date)} аннулировать нечего: неотправленных писем нет.")
        return
    question = (f"Аннулировать {count(len(plan.cancelled), 'письмо', 'письма', 'писем')} от {dates.numeric(date)} "
                f"({', '.join(letter.number for letter in plan.cancelled)}) и убрать их пакеты?")
    if not yes and err.is_terminal and not ask(question):
        raise fail(message="Ничего не аннулировано.")
    done = cancel_date(opened, date, why)
    for letter in done.cancelled:
        out.print(f"  № {letter.number} ({letter.municipality}) аннулирован")
    for folder, kept in done.kept:
        err.print(f"  Файл не из сборки сохранён: {folder / kept.path}")
    out.print(f"Аннулировано: {count(len(done.cancelled), 'письмо', 'письма', 'писем')}; причина: {why}")


def _opened(ctx: typer.Context, journal: str | None, data: Path | None) -> Journal:
    return open_journal(journal or ctx.obj["journal"], data or ctx.obj["data"])


@journal_app.command("sent", epilog="""Письма ушли заказной почтой 21 мая:
  letters journal sent 1339/24 1341/24 --by почта --on 21.05.2024 --note "список № 12"
Вручено лично:
  letters journal sent 1340/24 --by лично --on 22.05.2024""")
def journal_sent(
    ctx: typer.Context,
    numbers: Annotated[list[str], typer.Argument(metavar="НОМЕР...", help="Регистрационные номера, например 1339/24 1341/24.")],
    by: Annotated[str, typer.Option("--by", metavar="КАК", help=f"Как отправлено: {', '.join(life.ROUTES)}.")],
    on: Annotated[str, typer.Option("--on", metavar="ДД.ММ.ГГГГ", help="Когда отправлено, ДД.ММ.ГГГГ.")],
    note: Annotated[str, typer.Option("--note", metavar="ТЕКСТ", help="Примечание: почтовый идентификатор, номер в СЭД, кому вручено.")] = "",
    journal: JournalOption = None,
    data: Annotated[Optional[Path], typer.Option("--data", metavar="ПАПКА", help="Папка с таблицами и letters.toml.")] = None,
) -> None:
    """Отметить письма отправленными почтой, курьером, через СЭД, факсом или лично."""
    sent = life.record_sent(_opened(ctx, journal, data), numbers, by, parse_date(on), note)
    for letter in sent:
        out.print(f"№ {letter.number} ({letter.municipality}): отправлено — {life.route_named(by)} {on}"
                  + (f" ({note.strip()})" if note.strip() else ""))
    out.print("Отправленное письмо больше не перезаписывается сборкой, и letters mail его не отправляет.")


@journal_app.command("signed", epilog="""Положить скан подписанного письма и его подпись:
  letters journal signed 1337/24 --file скан.pdf --sig скан.pdf.sig""")
def journal_signed(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(metavar="НОМЕР", help="Регистрационный номер, например 1337/24.")],
    file: Annotated[Path, typer.Option("--file", metavar="ФАЙЛ", help="Скан подписанного письма, PDF.")],
    sig: Annotated[Optional[Path], typer.Option("--sig", metavar="ФАЙЛ", help="Файл откреплённой электронной подписи скана.")] = None,
    journal: JournalOption = None,
    data: Annotated[Optional[Path], typer.Option("--data", metavar="ПАПКА", help="Папка с таблицами и letters.toml.")] = None,
) -> None:
    """Положить скан подписанного письма (и его подпись) в пакет; letters mail отправит его вместо неподписанного."""
    letter = life.record_signed(_opened(ctx, journal, data), number, file, sig)
    out.print(f"№ {letter.number} ({letter.municipality}): подписанный скан в пакете — {letter.signed_file}"
              + (f", подпись — {letter.signature_file}" if letter.signature_file else ""))


@journal_app.command("reply", epilog="""Ответ МО пришёл 3 июня:
  letters journal reply 1337/24 --number 01-12/345 --date 03.06.2024 --file ответ.pdf""")
def journal_reply(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(metavar="НОМЕР", help="Регистрационный номер нашего письма, например 1337/24.")],
    reply_number: Annotated[str, typer.Option("--number", metavar="НОМЕР", help="Входящий номер ответа, как его зарегистрировали.")],
    date: Annotated[str, typer.Option("--date", metavar="ДД.ММ.ГГГГ", help="Дата ответа, ДД.ММ.ГГГГ.")],
    file: Annotated[Optional[Path], typer.Option("--file", metavar="ФАЙЛ", help="Файл ответа (скан, PDF или другой): кладётся в пакет письма.")] = None,
    journal: JournalOption = None,
    data: Annotated[Optional[Path], typer.Option("--data", metavar="ПАПКА", help="Папка с таблицами и letters.toml.")] = None,
) -> None:
    """Связать с письмом ответ муниципального образования."""
    opened = _opened(ctx, journal, data)
    before = opened.find(number.strip())
    letter = life.record_reply(opened, number, reply_number, parse_date(date), file)
    if before is not None and before.reply_number and before.reply_number != letter.reply_number:
        out.print(f"Прежняя запись об ответе (вх. № {before.reply_number}) заменена.")
    out.print(f"№ {letter.number} ({letter.municipality}): ответ вх. № {letter.reply_number} от {date}"
              + (f", файл — {letter.reply_file}" if letter.reply_file else ""))
