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

What the clerk sees: the outbox files carry `X-Unsent: 1` (Outlook opens them as drafts);
every message that went is kept as it went in `OUT/<date>/sent/`; the text is the template
`mail.txt` (`body`); a letter signed in the journal goes as its signed scan and signature;
`--test-to` sends one message to the clerk alone and records nothing.

The pipeline never prints and never asks: it returns what it did and the problems, and the
CLI shows them; the two questions (send? the password) are the CLI's answers in `Questions`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .. import dates, hints
from ..addresses import for_smtp
from ..journal import journal_url, open_journal
from ..packs import MANIFEST
from ..problems import Problems
from ..settings import read_mail_settings, read_settings
from .collect import confirm, prepare
from ..validate import load_registry
from .body import load_body
from .compose import OUTBOX, SENT_COPIES, keep_sent, write_outbox
from .outcome import ALREADY, CONFIRMED, MAILED, TESTED, WRITTEN, MailResult, Outcome
from .smtp import (
    PASSWORD_VARIABLE, Connection, MailUsageError, RateLimit, ServerError, SmtpServer, parse_smtp_url, send_all,
    send_test,
)

ATTACH = ("pdf", "docx")
Progress = Callable[[str, int, int], None]  # phase, done, total

__all__ = [
    "ALREADY", "ATTACH", "CONFIRMED", "MAILED", "OUTBOX", "PASSWORD_VARIABLE", "SENT_COPIES", "TESTED", "WRITTEN",
    "Connection", "MailRequest", "Questions",
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
    test_to: str | None = None  # send one letter's message to this address only, and record nothing

    @property
    def journal_url(self) -> str:
        return journal_url(self.journal, self.data)

    @property
    def folder(self) -> Path:
        return self.out / self.date.isoformat()


@dataclass
class Questions:
    """What `mail` may ask the clerk, on a terminal (the CLI answers; the pipeline never asks
    itself). None: do not ask — send without the question, fail without the password."""

    send: Callable[[int, int], bool] | None = None  # «Отправить 19 писем на 25 адресов?» (messages, addresses)
    password: Callable[[str], str | None] | None = None  # the mailbox's password, for this user


def mail(request: MailRequest, progress: Progress | None = None, connect: Callable[[], Connection] | None = None,
         ask: Questions | None = None) -> MailResult:
    """Write the outbox, or send; raises MailUsageError before doing anything for a wrong command."""
    progress, ask = progress or (lambda *a: None), ask or Questions()
    problems = Problems()
    settings = read_settings(request.data, problems)
    mail_settings = read_mail_settings(request.data, problems, settings) if settings else None
    body = load_body(request.data, problems) if settings else None
    if settings is None or mail_settings is None or body is None or problems.has_errors:
        return MailResult(problems)
    if request.attach not in ATTACH:
        raise MailUsageError(f"--attach: pdf или docx, а не «{request.attach}»")
    if request.test_to is not None:
        good, bad = for_smtp(request.test_to)
        if len(good) != 1 or bad:
            raise MailUsageError(f"--test-to: нужен один адрес электронной почты, ваш собственный"
                                 + (f" ({'; '.join(bad)})" if bad else ""))
        request = replace(request, test_to=good[0])
    server = None
    if (request.send or request.test_to) and connect is None:
        server, connect = _server(request, mail_settings, ask)
    folder = request.folder
    if not (folder / MANIFEST).is_file():
        problems.error(f"в папке {folder} нет {MANIFEST}: сначала соберите письма: "
                       + hints.command("build", "--date", dates.numeric(request.date), request=request))
        return MailResult(problems)
    result = MailResult(problems, folder=folder, server=str(server or ""))
    journal = open_journal(request.journal, request.data, problems)
    with journal.build_lock():  # no build rewrites or cancels a pack while it is being mailed
        confirmed = confirm(request, journal, problems) if not request.test_to else []
        plan = prepare(request, settings, mail_settings, journal, problems, progress, body, _greetings(request.data))
        if request.test_to:
            result.outcomes += _test(plan, request, connect, mail_settings, problems)
            return result
        result.outcomes += [o for o in plan.already if o.number not in request.confirm] + confirmed
        if request.send:
            addresses = sum(len(item.to) for item in plan.ready)
            if plan.ready and ask.send is not None and not ask.send(len(plan.ready), addresses):
                result.declined = True
                return result
            limit = RateLimit(request.rate or mail_settings.rate)
            result.outcomes += send_all(plan.ready, journal, connect, mail_settings, limit, problems, progress,
                                        keep=lambda item: keep_sent(folder, item))
            result.prepared = True
        else:
            try:
                result.outcomes += write_outbox(folder / OUTBOX, plan.ready, plan.idle)
                result.prepared = True
            except OSError as exc:
                problems.error(f"не удалось записать письма в {folder / OUTBOX}: {exc.strerror or exc}")
    return result


def _server(request: MailRequest, mail_settings, ask: Questions) -> tuple[SmtpServer, Callable[[], Connection]]:
    url = request.smtp or mail_settings.smtp
    if not url:
        raise MailUsageError("для отправки нужен почтовый сервер: --smtp smtp://пользователь@сервер:порт "
                             "(или smtp = \"…\" в разделе [mail] letters.toml)")
    server = parse_smtp_url(url)
    password = request.password
    if server.user and not password and ask.password is not None:
        password = ask.password(server.user)
    if server.user and not password:
        raise MailUsageError(f"не задан пароль почтового ящика {server.user}: задайте его в переменной окружения "
                             f"{PASSWORD_VARIABLE} (в командной строке пароль не указывается)")
    return server, lambda: Connection.open(server, password)


def _greetings(data: Path) -> dict[str, str]:
    """«Уважаемая Мария Сергеевна!» for each municipality of the tables, as its letter greets
    the head; a municipality the tables no longer have is greeted by the template's default."""
    found = load_registry(data, Problems())  # the build has reported the tables' problems
    return {m.name: m.salutation for m in found[0] if m.salutation} if found else {}


def _test(plan, request: MailRequest, connect, mail_settings, problems: Problems) -> list[Outcome]:
    if not plan.ready:
        problems.error("для проверки нужно письмо, которое ждёт отправки, а таких нет"
                       + (" среди выбранных в --only" if request.only else ""))
        return []
    return send_test(plan.ready[0], request.test_to, connect, mail_settings, problems)
