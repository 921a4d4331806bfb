"""`letters mail`."""

from __future__ import annotations

import enum
import getpass
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import dates, hints
from .. import mail as mailing
from ..problems import Level
from .app import DataOption, DateOption, ExitCode, JournalOption, app, count, err, out, parse_date, progress, show


class Attach(str, enum.Enum):
    pdf = "pdf"
    docx = "docx"


@app.command("mail", epilog="""Подготовить письма в out/2024-05-20/outbox, ничего не отправляя:
  letters mail --date 20.05.2024
Отправить (пароль — в переменной окружения LETTERS_SMTP_PASSWORD):
  letters mail --date 20.05.2024 --send --smtp smtp://di@mail.72to.ru:587
Дослать письмо, которое не дошло:
  letters mail --date 20.05.2024 --send --retry 1337/24""")
def mail_command(
    date: DateOption,
    data: DataOption = Path("data"),
    out_dir: Annotated[Path, typer.Option("--out", metavar="ПАПКА", help="Папка со сборками (та же, что в build).")] = Path("out"),
    journal: JournalOption = None,
    send: Annotated[bool, typer.Option("--send", help="Отправить. Без него письма только записываются в OUT/<дата>/outbox/*.eml.")] = False,
    smtp: Annotated[Optional[str], typer.Option(
        "--smtp", envvar="LETTERS_SMTP", metavar="СЕРВЕР",
        help="Почтовый сервер: smtp://пользователь@сервер:587 (STARTTLS) или smtps://пользователь@сервер:465; "
             "пароль — только в переменной окружения LETTERS_SMTP_PASSWORD.")] = None,
    only: Annotated[Optional[list[str]], typer.Option("--only", metavar="МО", help="Только письма этим МО (можно повторять).")] = None,
    attach: Annotated[Attach, typer.Option("--attach", help="Что вкладывать: pdf (по умолчанию) или docx.")] = Attach.pdf,
    rate: Annotated[Optional[int], typer.Option("--rate", metavar="ЧИСЛО", min=1, help="Не больше стольких писем в минуту (по умолчанию \\[mail] rate, иначе 20).")] = None,
    retry: Annotated[Optional[list[str]], typer.Option(
        "--retry", metavar="НОМЕР", help="Номер письма, отправка которого не подтверждена и которое не дошло, или которое надо дослать "
                        "по адресам, куда оно не ушло (можно повторять).")] = None,
    confirm: Annotated[Optional[list[str]], typer.Option(
        "--confirm", metavar="НОМЕР", help="Номер письма, отправка которого не подтверждена, но оно дошло: отметить отправленным.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Отправлять, не спрашивая «Отправить … писем?».")] = False,
    test_to: Annotated[Optional[str], typer.Option(
        "--test-to", metavar="АДРЕС", help="Отправить письмо одного МО на этот (свой) адрес для проверки; в журнал ничего не записывается.")] = None,
) -> None:
    """Разослать письма главам: .eml в outbox или, с --send, через SMTP — каждое ровно один раз."""
    request = mailing.MailRequest(
        date=parse_date(date), data=data, out=out_dir, journal=journal, send=send, smtp=smtp,
        password=os.environ.get(mailing.PASSWORD_VARIABLE) or None, only=tuple(only or ()), attach=attach.value,
        rate=rate, retry=tuple(retry or ()), confirm=tuple(confirm or ()), test_to=test_to,
    )
    terminal, bar = sys.stdin.isatty(), progress()

    def paused(question):
        def asking(*args):
            with bar.paused():
                return question(*args)
        return asking

    ask = mailing.Questions(send=paused(_ask_send) if terminal and not yes else None,
                            password=paused(_ask_password) if terminal else None)
    with bar as report:
        try:
            result = mailing.mail(request, report, ask=ask)
        except KeyboardInterrupt:
            err.print("Рассылка прервана. Отправленные письма записаны в журнал; та же команда отправит только "
                      "оставшиеся (о письме, которое уходило в момент прерывания, она скажет, как его проверить).")
            raise typer.Exit(ExitCode.INVALID_INPUT) from None
    _show_mail(result, request)
    # a preview that wrote the outbox did its job; what it reports is for the sending
    done = not result.problems.has_errors or (result.prepared and not send and not test_to)
    raise typer.Exit(ExitCode.OK if done and not result.declined else ExitCode.INVALID_INPUT)


def _ask_send(messages: int, addresses: int) -> bool:
    """«Отправить 19 писем на 25 адресов? [y/N]»: sending cannot be undone, so the clerk says yes."""
    addressed = count(addresses, "адрес", "адреса", "адресов")
    question = f"Отправить {count(messages, 'письмо', 'письма', 'писем')} на {addressed}?"
    return typer.confirm(question, default=False, err=True)


def _ask_password(user: str) -> str | None:
    """The mailbox's password, typed without echo, when LETTERS_SMTP_PASSWORD is not set."""
    return getpass.getpass(f"Пароль почтового ящика {user} (не отображается при вводе): ") or None


def _show_mail(result: mailing.MailResult, request: mailing.MailRequest) -> None:
    show(result.problems, {Level.ERROR: "Не отправлено или требует внимания", Level.WARNING: "Предупреждения",
                           Level.NOTE: "Замечания"})

    def listing(outcomes, files: bool = False) -> None:
        for o in outcomes:
            to = ", ".join(o.recipients)
            out.print(f"  № {o.number}  {o.municipality} → {to}" + (f": {o.file.name}" if files and o.file else ""))

    if confirmed := result.of(mailing.CONFIRMED):
        out.print(f"Отмечены в журнале отправленными по вашему подтверждению: {count(len(confirmed), 'письмо', 'письма', 'писем')}")
        listing(confirmed)
    if already := result.of(mailing.ALREADY):
        out.print(f"Отправлены раньше (повторно не отправляются): {count(len(already), 'письмо', 'письма', 'писем')}")
        listing(already)
    if written := result.of(mailing.WRITTEN):
        out.print(f"Подготовлено к отправке: {count(len(written), 'письмо', 'письма', 'писем')} в папке "
                  f"{result.folder / mailing.OUTBOX} (ничего не отправлено; отправить: "
                  + hints.command("mail", "--date", dates.numeric(request.date), "--send", "--smtp",
                                  request.smtp or "smtp://…", request=request) + ")")
        listing(written, files=True)
    if mailed := result.of(mailing.MAILED):
        out.print(f"Отправлено через {result.server or 'почтовый сервер'}: {count(len(mailed), 'письмо', 'письма', 'писем')} "
                  "(записано в журнал)")
        listing(mailed)
        out.print(f"Копии отправленных писем: {result.folder / mailing.SENT_COPIES}")
    if tested := result.of(mailing.TESTED):
        out.print(f"Проверочное письмо отправлено на {tested[0].recipients[0]}: № {tested[0].number} "
                  f"({tested[0].municipality}). В журнал ничего не записано; главе оно не отправлялось.")
    if result.declined:
        out.print("Ничего не отправлено: вы ответили «нет».")
    elif not result.outcomes and not result.problems.has_errors:
        out.print("Отправлять нечего: писем, ждущих отправки, нет.")
