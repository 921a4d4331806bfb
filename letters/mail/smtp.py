"""`letters mail`, step 3: hand the messages to an SMTP server, each once and only once.

The message is handed over step by step (MAIL, RCPT, DATA) so that the moment after which
it may have been taken is known exactly: the final «.». Around that moment the journal
records the attempt on the delivery before the first byte goes, and marks it sent as soon
as the server has accepted it (see the package's doc for what follows from that).

The rate: at most `rate` messages a minute (20 by default). Yandex lets one mailbox send
about 500 messages a day to at most 35 recipients each and Mail.ru is similar; both take a
sudden burst from a mailbox for spam and block it for a while. 20 a minute sends a region's
26 letters in under a minute and a half and stays far below those limits.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..failpoints import checkpoint
from ..journal import Journal, JournalError
from ..model import MailSettings
from ..problems import Problems, UsageError
from .collect import Outgoing
from .compose import test_copy
from .outcome import MAILED, TESTED, Outcome

PASSWORD_VARIABLE = "LETTERS_SMTP_PASSWORD"
Progress = Callable[[str, int, int], None]  # phase, done, total


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
class ServerAnswer:
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

    def deliver(self, sender: str, to: tuple[str, ...], bcc: tuple[str, ...], data: bytes) -> ServerAnswer:
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
                return ServerAnswer([], refused)
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
        return ServerAnswer(accepted, refused)

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


def send_all(letters: list[Outgoing], journal: Journal, connect: Callable[[], Connection], mail_settings: MailSettings,
             limit: RateLimit, problems: Problems, progress: Progress,
             keep: Callable[[Outgoing], object] = lambda item: None) -> list[Outcome]:
    """Send each message once; `keep` is given each one the server took (its copy in `sent/`)."""
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
                _keep(keep, item, problems)
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


def _keep(keep: Callable[[Outgoing], object], item: Outgoing, problems: Problems) -> None:
    try:
        keep(item)
    except OSError as exc:  # the letter went and is recorded: a missing copy is no reason to stop
        problems.warning(f"№ {item.title}: отправлено, но копию письма в папку sent сохранить не удалось "
                         f"({exc.strerror or exc})")


def send_test(item: Outgoing, address: str, connect: Callable[[], Connection], mail_settings: MailSettings,
              problems: Problems) -> list[Outcome]:
    """One letter's message to the clerk's own address; nothing is recorded."""
    try:
        connection = connect()
    except ServerError as exc:
        problems.error(f"проверочное письмо не отправлено: {exc}")
        return []
    try:
        answer = connection.deliver(mail_settings.address, (address,), (), test_copy(item, address, mail_settings.address))
    except (NotSent, Unconfirmed) as exc:
        problems.error(f"проверочное письмо на {address} не отправлено: {exc}")
        return []
    finally:
        connection.close()
    if address in answer.refused:
        problems.error(f"проверочное письмо не отправлено: сервер не принял адрес {address} ({answer.refused[address]})")
        return []
    return [Outcome(item.number, item.municipality, TESTED, (address,), "")]


def _left(letters: list[Outgoing], why: str, problems: Problems) -> None:
    numbers = ", ".join(f"№ {item.title}" for item in letters)
    problems.error(f"{why}. Не отправлены: {numbers}. Отправленные записаны в журнал; повторите ту же команду "
                   "позже — она отправит только оставшиеся")


def _send_one(item: Outgoing, connection: Connection, journal: Journal, mail_settings: MailSettings,
              problems: Problems) -> tuple[Outcome | None, bool]:
    """Send one message with its journal records around it; returns what was sent and
    whether the connection was lost."""
    title = f"№ {item.title}"
    if not journal.begin_mail(item.delivery_id, item.message_id, retry=item.retry):
        problems.error(f"{title}: не отправлено — письмо в журнале уже не ждёт отправки (его отправил или собрал "
                       "заново другой запуск letters); запустите рассылку ещё раз, чтобы увидеть его состояние")
        return None, False
    checkpoint("mail-attempted")
    bcc = tuple(a for a in mail_settings.bcc if a.casefold() not in {t.casefold() for t in item.to})
    try:
        delivery = connection.deliver(mail_settings.address, item.to, bcc, item.data)
    except KeyboardInterrupt:  # Ctrl-C: before the message was handed over it surely did not go
        if not connection.handed_over:
            journal.abandon_mail(item.delivery_id, item.message_id)
        raise
    except NotSent as exc:
        journal.abandon_mail(item.delivery_id, item.message_id)
        problems.error(f"{title}: не отправлено — {exc}. Следующий запуск рассылки попробует снова")
        return None, exc.connection_lost
    except Unconfirmed as exc:
        problems.error(f"{title}: {exc}. Письмо могло уйти, поэтому само оно повторно не отправляется: при следующем "
                       f"запуске будет сказано, как это проверить (Message-ID {item.message_id})")
        return None, True
    to_refused = {a: why for a, why in delivery.refused.items() if a in item.to}
    if len(to_refused) == len(item.to):
        journal.abandon_mail(item.delivery_id, item.message_id)
        problems.error(f"{title}: не отправлено — сервер не принял ни одного адреса: "
                       + "; ".join(f"{a} ({why})" for a, why in to_refused.items())
                       + ". Проверьте адреса в таблице municipalities")
        return None, False
    checkpoint("mail-accepted")
    accepted = [a for a in item.to if a not in to_refused]
    refused = "; ".join(f"{a} ({why})" for a, why in to_refused.items())
    try:
        journal.end_mail(item.delivery_id, item.message_id, "; ".join([*item.reached, *accepted]), refused)
    except JournalError as exc:
        problems.error(f"{title}: письмо принято сервером, но записать это в журнал не удалось ({exc}). Оно не будет "
                       f"отправлено повторно; отметьте его отправленным: {item.again} --confirm {item.number}")
        return None, False
    if to_refused:
        problems.error(f"{title}: отправлено на {', '.join(accepted)}, но сервер не принял {refused}. Исправьте адрес в "
                       f"таблице municipalities, пересоберите пакеты и дошлите: {item.again} --send --retry {item.number}")
    for address, why in delivery.refused.items():
        if address not in item.to:
            problems.warning(f"{title}: архивная копия на {address} не принята сервером ({why}); письмо отправлено")
    return Outcome(item.number, item.municipality, MAILED, tuple(accepted), item.message_id), False
