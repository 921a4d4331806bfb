"""`letters mail`: every pack ready to send goes to each of its heads once and only once.

What is mailed is what `OUT/<date>/manifest.csv` lists, and of that only the letters whose
journal status is `issued` (or `sent`, for the heads of a letter by list still waiting);
`cancelled` and `replaced` ones are never mailed. A letter goes as one message per
delivery — its head, at the addresses the journal holds — so the heads of a letter by list
each get a message of their own and see nobody else's address. Without `--send` the
messages are written to `OUT/<date>/outbox/`; with it they go through SMTP.

The wing reads as three steps: `collect` (what to send, and why the rest is not sent),
`compose` (the messages, the outbox), `smtp` (the server).

Sent once and only once. For each message the journal records the attempt on its delivery
(its time and Message-ID) before the first byte goes to the server, and marks it sent in
one update as soon as the server has accepted it. So:
- the server surely did not take the message (refused it, or the connection broke before
  the message was complete): the attempt is cleared and the next run sends it;
- the server took it: it is sent, and no later run sends it again;
- nobody knows (the connection broke after the whole message was sent but before the
  server answered, or the program was killed in between): the attempt stays open, and the
  letter is reported and never sent again automatically. The clerk looks for it (the
  archive copy in `bcc`, the server's «Отправленные») by its Message-ID and says either
  `--confirm NUMBER` (it went: mark it sent) or `--retry NUMBER` (it did not: send it again,
  with the same Message-ID, so that a copy that did arrive is recognised as the same message).
A recipient the server refuses is recorded with the server's answer and reported on every
later run; `--retry NUMBER` sends the letter to the addresses it has not reached yet (after
the address is corrected in `municipalities` and the packs rebuilt), never to those it has.

The pipeline never prints: it returns what it did and the problems, and the CLI shows them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import dates, hints
from ..journal import journal_url, open_journal
from ..packs import MANIFEST
from ..problems import Problems
from ..settings import read_mail_settings, read_settings
from .collect import confirm, prepare
from .compose import OUTBOX, write_outbox
from .outcome import ALREADY, CONFIRMED, MAILED, WRITTEN, MailResult, Outcome
from .smtp import (
    PASSWORD_VARIABLE, Connection, MailUsageError, RateLimit, ServerError, SmtpServer, parse_smtp_url, send_all,
)

ATTACH = ("pdf", "docx")
Progress = Callable[[str, int, int], None]  # phase, done, total

__all__ = [
    "ALREADY", "ATTACH", "CONFIRMED", "MAILED", "OUTBOX", "PASSWORD_VARIABLE", "WRITTEN", "Connection", "MailRequest",
    "MailResult", "MailUsageError", "Outcome", "RateLimit", "ServerError", "SmtpServer", "mail", "parse_smtp_url",
]


@dataclass
class MailRequest:
    date: dt.date
    data: Path = Path("data")
    out: Path = Path("out")
    journal: str | None = None  # path or SQLAlchemy URL; see journal.location
    send: bool = False
    smtp: str | None = None  # default: [mail] smtp of letters.toml
    password: str | None = None  # from LETTERS_SMTP_PASSWORD, never from the command line
    only: tuple[str, ...] = ()
    attach: str = "pdf"
    rate: int | None = None  # messages a minute; default [mail] rate
    retry: tuple[str, ...] = ()  # numbers the clerk says may go again (see the package's doc)
    confirm: tuple[str, ...] = ()  # numbers the clerk says did go

    @property
    def journal_url(self) -> str:
        return journal_url(self.journal, self.data)

    @property
    def folder(self) -> Path:
        return self.out / self.date.isoformat()


def mail(request: MailRequest, progress: Progress | None = None, connect: Callable[[], Connection] | None = None) -> MailResult:
    """Write the outbox, or send; raises MailUsageError before doing anything for a wrong command."""
    progress = progress or (lambda *a: None)
    problems = Problems()
    settings = read_settings(request.data, problems)
    mail_settings = read_mail_settings(request.data, problems, settings) if settings else None
    if settings is None or mail_settings is None or problems.has_errors:
        return MailResult(problems)
    server = None
    if request.send and connect is None:
        url = request.smtp or mail_settings.smtp
        if not url:
            raise MailUsageError("для отправки нужен почтовый сервер: --smtp smtp://пользователь@сервер:порт "
                                 "(или smtp = \"…\" в разделе [mail] letters.toml)")
        server = parse_smtp_url(url)
        if server.user and not request.password:
            raise MailUsageError(f"не задан пароль почтового ящика {server.user}: задайте его в переменной окружения "
                                 f"{PASSWORD_VARIABLE} (в командной строке пароль не указывается)")
        connect = lambda: Connection.open(server, request.password)  # noqa: E731
    if request.attach not in ATTACH:
        raise MailUsageError(f"--attach: pdf или docx, а не «{request.attach}»")
    folder = request.folder
    if not (folder / MANIFEST).is_file():
        problems.error(f"в папке {folder} нет {MANIFEST}: сначала соберите письма: "
                       + hints.command("build", "--date", dates.numeric(request.date), request=request))
        return MailResult(problems)
    result = MailResult(problems, folder=folder, server=str(server or ""))
    journal = open_journal(request.journal, request.data, problems)
    with journal.build_lock():  # no build rewrites or cancels a pack while it is being mailed
        confirmed = confirm(request, journal, problems)
        plan = prepare(request, settings, mail_settings, journal, problems, progress)
        result.outcomes += [o for o in plan.already if o.number not in request.confirm] + confirmed
        if request.send:
            limit = RateLimit(request.rate or mail_settings.rate)
            result.outcomes += send_all(plan.ready, journal, connect, mail_settings, limit, problems, progress)
        else:
            try:
                result.outcomes += write_outbox(folder / OUTBOX, plan.ready, plan.idle)
            except OSError as exc:
                problems.error(f"не удалось записать письма в {folder / OUTBOX}: {exc.strerror or exc}")
    return result
