"""`letters mail`: every pack ready to send goes to its municipality once and only once.

What is mailed is what `OUT/<date>/manifest.csv` lists, and of that only the letters whose
journal status is `issued`; `sent` ones are skipped, `cancelled` and `replaced` ones are
never mailed. Every attachment is checked against its sha256 in the manifest (and in the
journal) before anything goes. Without `--send` the messages are written to
`OUT/<date>/outbox/<number>.eml`; with it they go through SMTP.

Sent once and only once. For each message the journal records the attempt (its time, the
Message-ID and the recipients) before the first byte goes to the server, and marks the
letter sent in one update as soon as the server has accepted it. So:
- the server surely did not take the message (refused it, or the connection broke before
  the message was complete): the attempt is cleared and the next run sends the letter;
- the server took it: the letter is sent, and no later run sends it again;
- nobody knows (the connection broke after the whole message was sent but before the
  server answered, or the program was killed in between): the attempt stays open, and the
  letter is reported and never sent again automatically. The clerk looks for it (the
  archive copy in `bcc`, the server's «Отправленные») by its Message-ID and says either
  `--confirm NUMBER` (it went: mark it sent) or `--retry NUMBER` (it did not: send it again,
  with the same Message-ID, so that a copy that did arrive is recognised as the same message).
A recipient the server refuses is recorded with the server's answer and reported on every
later run; `--retry NUMBER` sends the letter to the addresses it has not reached yet (after
the address is corrected in `municipalities` and the packs rebuilt), never to those it has.

The rate: at most `rate` messages a minute (20 by default). Yandex lets one mailbox send
about 500 messages a day to at most 35 recipients each and Mail.ru is similar; both take a
sudden burst from a mailbox for spam and block it for a while. 20 a minute sends a region's
26 letters in under a minute and a half and stays far below those limits.

The pipeline never prints: it returns what it did and the problems, and the CLI shows them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import dates
from .failpoints import checkpoint
from .journal import CANCELLED, REPLACED, RESERVED, SENT, STATUS_NAMES, Journal, JournalError, Letter, journal_url
from .model import MailSettings, Settings
from .packs import MANIFEST, PackFiles, read_manifest, row_paths, safe_name
from .problems import Problems, UsageError
from .settings import read_mail_settings, read_settings
from .addresses import for_smtp
from .names import choose

ATTACH = ("pdf", "docx")
MAX_RECIPIENTS = 35  # Yandex's limit per message, and Mail.ru's is no higher
OUTBOX = "outbox"
PASSWORD_VARIABLE = "LETTERS_SMTP_PASSWORD"
_SUBTYPES = {"pdf": "pdf", "docx": "vnd.openxmlformats-officedocument.wordprocessingml.document"}
_CRLF = compat32.clone(linesep="\r\n")

Progress = Callable[[str, int, int], None]  # phase, done, total

# what became of a letter
WRITTEN, MAILED, ALREADY, CONFIRMED = "written", "sent", "already", "confirmed"


class MailUsageError(UsageError):
    """A wrong command (no server, a password on the command line): exit code 2."""

    def __str__(self) -> str:
        return f"Ошибка в команде: {super().__str__()}. Справка: letters mail --help"


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    user: str = ""
    tls: bool = False  # smtps://: TLS from the start; smtp:// uses STARTTLS when offered

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{'smtps' if self.tls else 'smtp'}://{user}{self.host}:{self.port}"


def parse_smtp_url(text: str) -> SmtpServer:
    """`smtp://user@host:port` (port 587 by default) or `smtps://user@host:port` (465)."""
    example = "smtp://di@72to.ru@smtp.yandex.ru:587 или smtps://smtp.mail.ru:465"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise MailUsageError(f"адрес почтового сервера «{text}» записан неверно; пример: {example}") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailUsageError(f"адрес почтового сервера «{text}» записан неверно; пример: {example}")
    if parts.password is not None:
        raise MailUsageError(
            f"пароль не пишется в адресе сервера (его видно в истории команд и в letters.toml): "
            f"уберите его и задайте переменную окружения {PASSWORD_VARIABLE}"
        )
    tls = parts.scheme == "smtps"
    return SmtpServer(parts.hostname, port or (465 if tls else 587), unquote(parts.username or ""), tls)


@dataclass
class MailRequest:
    date: dt.date
    data: Path = Path("data")
    out: Path = Path("out")
    journal: str | None = None  # path or SQLAlchemy URL; default <data>/journal.sqlite
    send: bool = False
    smtp: str | None = None  # default: [mail] smtp of letters.toml
    password: str | None = None  # from LETTERS_SMTP_PASSWORD, never from the command line
    only: tuple[str, ...] = ()
    attach: str = "pdf"
    rate: int | None = None  # messages a minute; default [mail] rate
    retry: tuple[str, ...] = ()  # numbers the clerk says may go again (see the module's doc)
    confirm: tuple[str, ...] = ()  # numbers the clerk says did go

    @property
    def journal_url(self) -> str:
        return journal_url(self.journal, self.data)

    @property
    def folder(self) -> Path:
        return self.out / self.date.isoformat()


@dataclass
class Outcome:
    number: str
    municipality: str
    state: str  # WRITTEN, MAILED, ALREADY or CONFIRMED
    recipients: tuple[str, ...] = ()
    message_id: str = ""
    file: Path | None = None  # the .eml written


@dataclass
class MailResult:
    problems: Problems
    outcomes: list[Outcome] = field(default_factory=list)
    folder: Path | None = None
    server: str = ""

    def of(self, state: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.state == state]


@dataclass
class Outgoing:
    """One message ready to go."""

    number: str
    municipality: str
    to: tuple[str, ...]  # as the envelope and the header carry them (IDN domains in ASCII)
    message_id: str
    data: bytes  # the whole message, CRLF line ends
    reached: tuple[str, ...] = ()  # a sent letter: whom it has reached already
    retry: bool = False


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
    rate = request.rate or mail_settings.rate
    folder = request.folder
    if not (folder / MANIFEST).is_file():
        problems.error(f"в папке {folder} нет {MANIFEST}: сначала соберите письма: letters build --date "
                       f"{dates.numeric(request.date)}")
        return MailResult(problems)
    result = MailResult(problems, folder=folder, server=str(server or ""))
    try:
        journal = Journal(request.journal_url)
        with journal.build_lock():  # no build rewrites or cancels a pack while it is being mailed
            confirmed = _confirm(request, journal, problems)
            plan = _prepare(request, settings, mail_settings, journal, problems, progress)
            result.outcomes += [o for o in plan.already if o.number not in request.confirm] + confirmed
            if request.send:
                result.outcomes += _send_all(plan.ready, journal, connect, mail_settings, RateLimit(rate), problems, progress)
            else:
                try:
                    result.outcomes += write_outbox(folder / OUTBOX, plan.ready, plan.idle)
                except OSError as exc:
                    problems.error(f"не удалось записать письма в {folder / OUTBOX}: {exc.strerror or exc}")
    except JournalError as exc:
        problems.error(str(exc))
    return result


# --- choosing and composing ---

def _rows(request: MailRequest, problems: Problems) -> list[dict[str, str]]:
    rows = read_manifest(request.folder)
    if not request.only:
        return rows
    chosen = set(choose(request.only, [row["municipality"] for row in rows], problems,
                        f"письма этому муниципальному образованию в {request.folder / MANIFEST} нет"))
    return [row for row in rows if row["municipality"] in chosen]


@dataclass
class _Plan:
    ready: list[Outgoing] = field(default_factory=list)  # to send now
    already: list[Outcome] = field(default_factory=list)  # sent before, to every address
    idle: set[str] = field(default_factory=set)  # outbox files of letters not to be sent


def _prepare(request: MailRequest, settings: Settings, mail_settings: MailSettings, journal: Journal,
             problems: Problems, progress: Progress) -> _Plan:
    """The messages this run sends: each letter of the manifest that is issued and not yet
    mailed, and what the clerk asked for with --retry; every other letter is reported."""
    rows = _rows(request, problems)
    numbers = {row["number"] for row in rows}
    for number in request.retry:
        if number not in numbers:
            problems.error(f"--retry {number}: такого письма в {request.folder / MANIFEST} нет"
                           + (" (или оно не выбрано в --only)" if request.only else ""))
    again = f"letters mail --date {dates.numeric(request.date)}"
    plan = _Plan()
    for done, row in enumerate(rows, 1):
        progress("подготовка", done, len(rows))
        number, municipality = row["number"], row["municipality"]
        plan.idle.add(f"{_file_stem(number)}.eml")
        letter = journal.find(number)
        if letter is None or letter.municipality != municipality:
            problems.error(f"№ {number} ({municipality}): такого письма нет в журнале регистрации: "
                           "эта папка собрана с другим журналом (--journal)?", file=MANIFEST)
            continue
        if letter.status in (CANCELLED, REPLACED):
            why = f" письмом № {letter.replaced_by}" if letter.replaced_by else f" ({letter.reason})" if letter.reason else ""
            problems.note(f"№ {number} ({municipality}) {STATUS_NAMES[letter.status]}о{why} и не отправляется")
            continue
        if letter.status == RESERVED:
            problems.error(f"№ {number} ({municipality}): пакет ещё не готов (сборка идёт или была прервана): "
                           f"соберите письма (letters build --date {dates.numeric(request.date)}) и повторите")
            continue
        attempt = journal.mail_attempt(number)
        retry = number in request.retry
        addresses, bad = for_smtp(row["email"])
        if attempt.started_at is not None and not retry:
            problems.error(_unconfirmed(letter, attempt.started_at, again))
            continue
        if letter.status == SENT:
            reached = tuple(a for a in (letter.recipients or "").split("; ") if a)
            known = {a.casefold() for a in reached}
            addresses = tuple(a for a in addresses if a.casefold() not in known)
            if not addresses and not bad:
                if attempt.started_at is None:
                    plan.already.append(Outcome(number, municipality, ALREADY, reached, letter.message_id or ""))
                if retry and attempt.started_at is None:
                    problems.warning(f"--retry {number}: письмо уже отправлено всем адресам ({', '.join(reached)}); "
                                     "дважды одному адресату оно не отправляется")
                elif retry:  # an open attempt of a top-up whose addresses were since removed
                    problems.error(_unconfirmed(letter, attempt.started_at, again))
                continue
            if not retry:
                refused = f" (сервер их не принял: {attempt.refused})" if attempt.refused else ""
                problems.warning(
                    f"№ {number} ({municipality}) отправлено на {', '.join(reached)}, но не на {', '.join([*addresses, *bad])}"
                    f"{refused}. Если адрес неверен, исправьте его в таблице municipalities и пересоберите "
                    f"(letters build --date {dates.numeric(request.date)}); дослать по оставшимся адресам: "
                    f"{again} --send --retry {number}"
                )
                continue
        else:
            reached = ()
        if bad:
            problems.error(f"№ {number} ({municipality}): {'; '.join(bad)} — исправьте адрес в столбце «Электронная "
                           f"почта» таблицы municipalities, пересоберите (letters build --date "
                           f"{dates.numeric(request.date)}: пакет не изменится) и повторите", file=MANIFEST)
            continue
        if not addresses:
            problems.error(
                f"№ {number} ({municipality}): нет адреса электронной почты — письмо не отправлено. Впишите адрес "
                "главы в столбец «Электронная почта» таблицы municipalities (несколько адресов — через «;»), "
                f"пересоберите (letters build --date {dates.numeric(request.date)}: пакет не изменится) и повторите "
                "рассылку; или отправьте это письмо иначе", file=MANIFEST,
            )
            continue
        if len(addresses) + len(mail_settings.bcc) > MAX_RECIPIENTS:
            problems.error(f"№ {number} ({municipality}): адресов {len(addresses) + len(mail_settings.bcc)}, а почтовые "
                           f"службы принимают не больше {MAX_RECIPIENTS} на одно письмо: оставьте в таблице меньше адресов")
            continue
        files = _attachments(row, letter, request, journal, problems)
        if files is None:
            continue
        message_id = letter.message_id or make_msgid(f"letters.{_file_stem(number)}", _domain(mail_settings.address))
        message = compose(
            number=number, date=row["date"], municipality=municipality, addressee=letter.addressee, to=addresses,
            message_id=message_id, settings=settings, mail_settings=mail_settings, attachments=files,
            sheets=row["appendix_sheets"].split(";"),
        )
        plan.ready.append(Outgoing(number, municipality, addresses, message_id, message.as_bytes(policy=_CRLF), reached, retry))
        plan.idle.discard(f"{_file_stem(number)}.eml")
    return plan


def _attachments(row: dict, letter: Letter, request: MailRequest, journal: Journal,
                 problems: Problems) -> list[tuple[str, bytes]] | None:
    """The letter and its appendices, read once and checked against the manifest and the journal."""
    paths = row_paths(row)
    digests = dict(zip(paths, row["sha256"].split(";")))
    recorded = journal.files_of(letter.id)
    wanted = [row["letter"], *row["appendices"].split(";")]
    if request.attach == "pdf":
        wanted = [PackFiles.pdf(p) for p in wanted]
        if any(p not in digests for p in wanted):
            problems.error(f"№ {row['number']} ({row['municipality']}): пакет собран без PDF (--no-pdf): пересоберите "
                           "без --no-pdf или отправьте .docx: --attach docx")
            return None
    files = []
    for path in wanted:
        try:
            data = (request.folder / path).read_bytes()
        except OSError:
            problems.error(f"№ {row['number']}: файла нет: {path} — письмо не отправлено; пересоберите пакет "
                           f"(letters build --date {dates.numeric(request.date)})", file=MANIFEST)
            return None
        digest = hashlib.sha256(data).hexdigest()
        if digest != digests[path] or recorded.get(path, digest) != digest:
            problems.error(
                f"№ {row['number']}: файл изменён после сборки (sha256 не совпадает с "
                f"{'manifest.csv' if digest != digests[path] else 'журналом'}): {path} — письмо не отправлено. "
                "Отправляется только то, что собрала программа: верните файл или пересоберите пакет "
                f"(letters build --date {dates.numeric(request.date)})", file=MANIFEST,
            )
            return None
        files.append((Path(path).name, data))
    return files


def compose(*, number: str, date: str, municipality: str, addressee: str, to: tuple[str, ...], message_id: str,
            settings: Settings, mail_settings: MailSettings, attachments: list[tuple[str, bytes]],
            sheets: list[str]) -> MIMEMultipart:
    """The message: plain text and HTML naming the letter and its appendices, and the files.

    Built with the older `email.mime` API so that each attachment carries its name twice, as
    Thunderbird sends it: RFC 2231 `filename*` on Content-Disposition (Thunderbird, Gmail,
    Yandex, Mail.ru) and an RFC 2047 encoded word in Content-Type's `name` (Outlook, which
    otherwise shows `ATT00001.dat`)."""
    message = MIMEMultipart("mixed")
    message["From"] = _address_header(mail_settings.name, mail_settings.address)
    message["To"] = ", ".join(to)
    if mail_settings.reply_to:
        message["Reply-To"] = mail_settings.reply_to
    subject = mail_settings.subject.format(number=number, date=date, subject=settings.subject, municipality=municipality)
    message["Subject"] = Header(subject, "utf-8")
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id
    plain, rich = _body(number, date, addressee, settings, [name for name, _ in attachments], sheets)
    body = MIMEMultipart("alternative")
    body.attach(_part(MIMEText(plain, "plain", "utf-8")))
    body.attach(_part(MIMEText(rich, "html", "utf-8")))
    message.attach(_part(body))
    for name, data in attachments:
        part = _part(MIMEApplication(data, _SUBTYPES[Path(name).suffix.lstrip(".")]))
        part.set_param("name", Header(name, "utf-8").encode(linesep=" "))
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        message.attach(part)
    return message


def _part(part):
    del part["MIME-Version"]  # once, at the top, is enough
    return part


def _address_header(name: str, address: str) -> str:
    """One encoded word for the whole name, as Gmail writes it: split in several, the name
    gains spaces in some readers (Python's own parser among them)."""
    return formataddr((name, address), charset="utf-8") if name else address


def _body(number: str, date: str, addressee: str, settings: Settings, names: list[str], sheets: list[str]) -> tuple[str, str]:
    """«Направляем письмо … с приложениями: 1. … — на 2 л.; …», the files, the executor."""
    appendices = [
        f"{i}. {title}" + (f" — на {sheets[i - 1]} л." if i <= len(sheets) and sheets[i - 1] else "")
        for i, title in enumerate(settings.appendix_titles, 1)
    ]
    intro = (f"Направляем письмо {settings.sender.name_genitive} от {date} № {number} "
             f"«{settings.subject}» с приложениями:")
    files = f"Во вложении: {', '.join(names)}."
    sender = settings.sender
    signature = [
        f"Исполнитель: {settings.executor.name}, тел. {settings.executor.phone}",
        sender.name, f"{sender.address}, тел. {sender.phone}, {sender.email}",
    ]
    head = [addressee.replace("\u00a0", " ")] if addressee else []
    listed = [f"{a};" for a in appendices[:-1]] + [appendices[-1].rstrip(".") + "."]
    plain = "\r\n".join([*head, *([""] if head else []), intro, *listed, "", files, "", *signature, ""])
    e = html.escape
    rich = (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>"
        + (f"<p>{e(head[0])}</p>" if head else "")
        + f"<p>{e(intro)}</p><p>" + "<br>".join(e(x) for x in listed) + "</p>"
        + f"<p>{e(files)}</p><p>" + "<br>".join(e(x) for x in signature) + "</p></body></html>"
    )
    return plain, rich


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2]
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "letters.invalid"


def _file_stem(number: str) -> str:
    return safe_name(number.replace("/", "-"))


def _unconfirmed(letter: Letter, started: dt.datetime, again: str) -> str:
    stamp = started.astimezone().strftime("%d.%m.%Y %H:%M")
    return (
        f"№ {letter.number} ({letter.municipality}): отправка начата {stamp}, но подтверждения от почтового сервера "
        f"нет (связь оборвалась или программа была прервана) — письмо могло уйти, поэтому само оно повторно не "
        f"отправляется. Найдите его по Message-ID {letter.message_id} в архивной копии или в «Отправленных» "
        f"почтового ящика. Если письмо ушло: {again} --confirm {letter.number}; "
        f"если нет: {again} --send --retry {letter.number}"
    )


# --- the journal's side: confirmations and what was sent before ---

def _confirm(request: MailRequest, journal: Journal, problems: Problems) -> list[Outcome]:
    """--confirm: the clerk found the message of an open attempt, so the letter went."""
    done = []
    for number in request.confirm:
        letter, attempt = journal.find(number), journal.mail_attempt(number)
        if letter is None or attempt is None or attempt.started_at is None:
            problems.error(f"--confirm {number}: у этого письма нет отправки без подтверждения"
                           + (f" (оно {STATUS_NAMES[letter.status]}о)" if letter else " (номера нет в журнале)"))
            continue
        reached = [a for a in (letter.recipients or "").split("; ") if a]
        if letter.status == SENT:  # a top-up: the addresses of the pack that it had not reached
            row = next((r for r in read_manifest(request.folder) if r["number"] == number), None)
            known = {a.casefold() for a in reached}
            reached += [a for a in (for_smtp(row["email"])[0] if row else ()) if a.casefold() not in known]
        journal.end_mail(number, letter.message_id, "; ".join(reached), sent_at=attempt.started_at)
        done.append(Outcome(number, letter.municipality, CONFIRMED, tuple(reached), letter.message_id))
    return done


# --- the outbox ---

def write_outbox(outbox: Path, letters: list[Outgoing], stale: set[str] = frozenset()) -> list[Outcome]:
    """One .eml per message, written whole or not at all; previews of letters that are not
    to be sent any more are removed, so that nobody sends them by hand."""
    outbox.mkdir(parents=True, exist_ok=True)
    done = []
    for item in letters:
        target = outbox / f"{_file_stem(item.number)}.eml"
        partial = target.with_name(f".{target.name}.writing")
        partial.write_bytes(item.data)
        os.replace(partial, target)
        done.append(Outcome(item.number, item.municipality, WRITTEN, item.to, item.message_id, target))
    for name in stale - {o.file.name for o in done}:
        (outbox / name).unlink(missing_ok=True)
    return done


# --- sending ---

class RateLimit:
    """At most `per_minute` messages a minute: each starts 60/per_minute s after the one before."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 60.0 / per_minute
        self.clock, self.sleep = clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        if self._last is not None:
            delay = self._last + self.interval - self.clock()
            if delay > 0:
                self.sleep(delay)
        self._last = self.clock()


class NotSent(Exception):
    """The server surely did not take the message."""

    def __init__(self, reason: str, connection_lost: bool = False):
        super().__init__(reason)
        self.connection_lost = connection_lost


class Unconfirmed(Exception):
    """The whole message went to the server, and its answer never came."""


class ServerError(Exception):
    """The server cannot be reached or does not let us in; the message is for the clerk."""


@dataclass
class Delivery:
    accepted: list[str]
    refused: dict[str, str]  # address → the server's answer


class Connection:
    """One SMTP session. The message is handed over step by step (MAIL, RCPT, DATA) so that
    the moment after which it may have been taken is known exactly: the final «.»."""

    def __init__(self, smtp: smtplib.SMTP):
        self.smtp = smtp
        self.handed_over = False  # the final «.» of the message being delivered may have gone

    @classmethod
    def open(cls, server: SmtpServer, password: str | None, timeout: float = 120) -> Connection:
        context = ssl.create_default_context()
        where = f"{server.host}:{server.port}"
        try:
            if server.tls:
                smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
            else:
                smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
            smtp.ehlo()
            if not server.tls and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            encrypted = server.tls or isinstance(smtp.sock, ssl.SSLSocket)
            if server.user:
                if not encrypted:
                    smtp.close()
                    raise ServerError(f"сервер {where} не предлагает шифрование (STARTTLS): пароль по открытому каналу "
                                      "не отправляется; укажите сервер с шифрованием, например smtps://…:465")
                smtp.login(server.user, password or "")
        except ServerError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise ServerError(f"сервер {where} не принял имя {server.user} и пароль из {PASSWORD_VARIABLE} "
                              f"({_answer(exc.smtp_code, exc.smtp_error)}); в Яндекс Почте и Почте Mail.ru "
                              "нужен «пароль приложения», а не пароль от ящика") from None
        except smtplib.SMTPNotSupportedError:
            raise ServerError(f"сервер {where} не поддерживает вход по имени и паролю: уберите имя из адреса сервера") from None
        except ssl.SSLError as exc:
            raise ServerError(f"не удалось установить защищённое соединение с {where}: {exc.reason or exc} "
                              "(сертификат сервера не подтверждён, или порт не тот: smtps — 465, smtp — 587)") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ServerError(f"не удалось подключиться к почтовому серверу {where}: {_reason(exc)}") from None
        return cls(smtp)

    def deliver(self, sender: str, to: tuple[str, ...], bcc: tuple[str, ...], data: bytes) -> Delivery:
        """Hand the message over; raises NotSent or Unconfirmed. The message goes only if at
        least one of `to` is accepted (`bcc` alone is the department's own copy)."""
        smtp = self.smtp
        refused: dict[str, str] = {}
        self.handed_over = False
        try:
            code, answer = smtp.mail(sender)
            if code != 250:
                self._reset()
                raise NotSent(f"сервер не принял отправителя {sender}: {_answer(code, answer)}")
            for address in (*to, *bcc):
                code, answer = smtp.rcpt(address)
                if code not in (250, 251):
                    refused[address] = _answer(code, answer)
            accepted = [a for a in (*to, *bcc) if a not in refused]
            if not any(a in accepted for a in to):
                self._reset()
                return Delivery([], refused)
            code, answer = smtp.docmd("DATA")
            if code != 354:
                self._reset()
                raise NotSent(f"сервер не начал приём письма: {_answer(code, answer)}")
            payload = re.sub(rb"(?m)^\.", b"..", data)
            self.handed_over = True
            smtp.send(payload + (b"" if payload.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        except NotSent:
            raise
        except (smtplib.SMTPException, OSError) as exc:  # before the final «.»: the server cannot have taken it
            self.close()
            raise NotSent(f"связь с почтовым сервером прервалась: {_reason(exc)}", connection_lost=True) from None
        # the whole message is with the server: from here until its answer nobody knows
        try:
            code, answer = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise Unconfirmed(f"связь прервалась, когда письмо было уже передано серверу ({_reason(exc)})") from None
        if code != 250:
            raise NotSent(f"сервер не принял письмо: {_answer(code, answer)}")
        return Delivery(accepted, refused)

    def _reset(self) -> None:
        try:
            self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()
            raise NotSent("связь с почтовым сервером прервалась", connection_lost=True) from None

    def close(self) -> None:
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()


def _answer(code: int, answer) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return f"{code} {' '.join(text.split())}".strip()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return "такого сервера не найдено (проверьте имя сервера и подключение к сети)"
    if isinstance(exc, ConnectionRefusedError):
        return "сервер не принимает соединения на этом порту"
    if isinstance(exc, TimeoutError):
        return "сервер не отвечает"
    return str(exc) or type(exc).__name__


def _send_all(letters: list[Outgoing], journal: Journal, connect: Callable[[], Connection], mail_settings: MailSettings,
              limit: RateLimit, problems: Problems, progress: Progress) -> list[Outcome]:
    sent: list[Outcome] = []
    connection: Connection | None = None
    lost = 0  # connections lost in a row
    try:
        for done, item in enumerate(letters):
            progress("отправка", done, len(letters))
            if lost >= 2:
                _left(letters[done:], "связь с почтовым сервером дважды подряд прервалась", problems)
                break
            limit.wait()
            if connection is None:
                try:
                    connection = connect()
                except ServerError as exc:
                    _left(letters[done:], str(exc), problems)
                    break
            outcome, lost_now = _send_one(item, connection, journal, mail_settings, problems)
            if outcome is not None:
                sent.append(outcome)
            if lost_now:
                connection, lost = None, lost + 1
            else:
                lost = 0
        else:
            progress("отправка", len(letters), len(letters))
    finally:
        if connection is not None:
            connection.close()
    return sent


def _left(letters: list[Outgoing], why: str, problems: Problems) -> None:
    numbers = ", ".join(f"№ {item.number}" for item in letters)
    problems.error(f"{why}. Не отправлены: {numbers}. Отправленные записаны в журнал; повторите ту же команду "
                   "позже — она отправит только оставшиеся")


def _send_one(item: Outgoing, connection: Connection, journal: Journal, mail_settings: MailSettings,
              problems: Problems) -> tuple[Outcome | None, bool]:
    """Send one message with its journal records around it; returns what was sent and
    whether the connection was lost."""
    title = f"№ {item.number} ({item.municipality})"
    if not journal.begin_mail(item.number, item.message_id, "; ".join(item.to), retry=item.retry):
        problems.error(f"{title}: не отправлено — письмо в журнале уже не ждёт отправки (его отправил или собрал "
                       "заново другой запуск letters); запустите рассылку ещё раз, чтобы увидеть его состояние")
        return None, False
    checkpoint("mail-attempted")
    bcc = tuple(a for a in mail_settings.bcc if a.casefold() not in {t.casefold() for t in item.to})
    try:
        delivery = connection.deliver(mail_settings.address, item.to, bcc, item.data)
    except KeyboardInterrupt:  # Ctrl-C: before the message was handed over it surely did not go
        if not connection.handed_over:
            journal.abandon_mail(item.number, item.message_id)
        raise
    except NotSent as exc:
        journal.abandon_mail(item.number, item.message_id)
        problems.error(f"{title}: не отправлено — {exc}. Следующий запуск рассылки попробует снова")
        return None, exc.connection_lost
    except Unconfirmed as exc:
        problems.error(f"{title}: {exc}. Письмо могло уйти, поэтому само оно повторно не отправляется: при следующем "
                       f"запуске будет сказано, как это проверить (Message-ID {item.message_id})")
        return None, True
    to_refused = {a: why for a, why in delivery.refused.items() if a in item.to}
    if len(to_refused) == len(item.to):
        journal.abandon_mail(item.number, item.message_id)
        problems.error(f"{title}: не отправлено — сервер не принял ни одного адреса: "
                       + "; ".join(f"{a} ({why})" for a, why in to_refused.items())
                       + ". Проверьте адреса в таблице municipalities")
        return None, False
    checkpoint("mail-accepted")
    accepted = [a for a in item.to if a not in to_refused]
    refused = "; ".join(f"{a} ({why})" for a, why in to_refused.items())
    try:
        journal.end_mail(item.number, item.message_id, "; ".join([*item.reached, *accepted]), refused)
    except JournalError as exc:
        problems.error(f"{title}: письмо принято сервером, но записать это в журнал не удалось ({exc}). Оно не будет "
                       f"отправлено повторно; отметьте его отправленным: letters mail … --confirm {item.number}")
        return None, False
    if to_refused:
        problems.error(f"{title}: отправлено на {', '.join(accepted)}, но сервер не принял {refused}. Исправьте адрес в "
                       f"таблице municipalities, пересоберите пакеты и дошлите: letters mail … --send --retry {item.number}")
    for address, why in delivery.refused.items():
        if address not in item.to:
            problems.warning(f"{title}: архивная копия на {address} не принята сервером ({why}); письмо отправлено")
    return Outcome(item.number, item.municipality, MAILED, tuple(accepted), item.message_id), False
