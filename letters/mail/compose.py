"""`letters mail`, step 2: compose the message of each delivery, or write it to the outbox.

Built with the older `email.mime` API so that each attachment carries its name twice, as
Thunderbird sends it: RFC 2231 `filename*` on Content-Disposition (Thunderbird, Gmail,
Yandex, Mail.ru) and an RFC 2047 encoded word in Content-Type's `name` (Outlook, which
otherwise shows `ATT00001.dat`).
"""

from __future__ import annotations

import os
from email import message_from_bytes
from email.header import Header, decode_header, make_header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from ..model import MailSettings, Settings
from ..packs import safe_name
from .body import Body
from .body import context as text_context
from .outcome import WRITTEN, Outcome

OUTBOX = "outbox"
SENT_COPIES = "sent"  # a copy of every message that went, as it went
UNSENT = b"X-Unsent: 1\r\n"  # Outlook opens an outbox file as a draft to send, not as a message received
_SUBTYPES = {"pdf": "pdf", "docx": "vnd.openxmlformats-officedocument.wordprocessingml.document",
             "sig": "pkcs7-signature"}  # a detached signature (CAdES/PKCS#7), as КриптоАРМ saves it
CRLF = compat32.clone(linesep="\r\n")


def compose(*, number: str, date: str, municipality: str, addressee: str, to: tuple[str, ...], message_id: str,
            settings: Settings, mail_settings: MailSettings, attachments: list[tuple[str, bytes]],
            sheets: list[str], body: Body, greeting: str = "") -> MIMEMultipart:
    """The message: the text of `body` (plain and HTML) naming the letter and its appendices, and the files."""
    message = MIMEMultipart("mixed")
    message["From"] = _address_header(mail_settings.name, mail_settings.address)
    message["To"] = ", ".join(to)
    if mail_settings.reply_to:
        message["Reply-To"] = mail_settings.reply_to
    subject = mail_settings.subject.format(number=number, date=date, subject=settings.subject, municipality=municipality)
    message["Subject"] = Header(subject, "utf-8")
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id
    plain, rich = body.render(**text_context(
        settings=settings, sender_name=mail_settings.name, number=number, date=date, municipality=municipality,
        addressee=addressee, greeting=greeting, appendices=_appendices(settings, sheets),
        files=[name for name, _ in attachments]))
    alternative = MIMEMultipart("alternative")
    alternative.attach(_part(MIMEText(plain, "plain", "utf-8")))
    alternative.attach(_part(MIMEText(rich, "html", "utf-8")))
    message.attach(_part(alternative))
    for name, data in attachments:
        part = _part(MIMEApplication(data, _SUBTYPES[Path(name).suffix.lstrip(".")]))
        part.set_param("name", Header(name, "utf-8").encode(linesep=" "))
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        message.attach(part)
    return message


def _appendices(settings: Settings, sheets: list[str]) -> list[str]:
    """«1. Перечень выявленных ошибок — на 2 л.», as the letter lists them."""
    return [f"{i}. {title}" + (f" — на {sheets[i - 1]} л." if i <= len(sheets) and sheets[i - 1] else "")
            for i, title in enumerate(settings.appendix_titles, 1)]


def _part(part):
    del part["MIME-Version"]  # once, at the top, is enough
    return part


def _address_header(name: str, address: str) -> str:
    """One encoded word for the whole name, as Gmail writes it: split in several, the name
    gains spaces in some readers (Python's own parser among them)."""
    return formataddr((name, address), charset="utf-8") if name else address


def new_message_id(stem: str, address: str) -> str:
    return make_msgid(f"letters.{stem}", _domain(address))


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2]
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "letters.invalid"


def file_stem(number: str, municipality: str = "") -> str:
    """The outbox file of a delivery: «1337-24», or «1337-24 Город Ишим» for one head of a letter by list."""
    return safe_name(number.replace("/", "-") + (f" {municipality}" if municipality else ""))


def write_outbox(outbox: Path, letters: list, stale: set[str] = frozenset()) -> list[Outcome]:
    """One .eml per message, written whole or not at all; previews of letters that are not
    to be sent any more are removed, so that nobody sends them by hand."""
    outbox.mkdir(parents=True, exist_ok=True)
    done = []
    for item in letters:
        target = outbox / f"{item.stem}.eml"
        partial = target.with_name(f".{target.name}.writing")
        partial.write_bytes(UNSENT + item.data)
        os.replace(partial, target)
        done.append(Outcome(item.number, item.municipality, WRITTEN, item.to, item.message_id, target))
    for name in stale - {o.file.name for o in done}:
        (outbox / name).unlink(missing_ok=True)
    return done




def keep_sent(folder: Path, item) -> Path:
    """A copy of a message as it went, in `sent/` (a top-up to the addresses a letter had
    not reached gets a file of its own); its preview in the outbox goes, so that nobody
    sends it again by hand."""
    sent = folder / SENT_COPIES
    sent.mkdir(parents=True, exist_ok=True)
    target, n = sent / f"{item.stem}.eml", 1
    while target.exists():
        n += 1
        target = sent / f"{item.stem} ({n}).eml"
    partial = target.with_name(f".{target.name}.writing")
    partial.write_bytes(item.data)
    os.replace(partial, target)
    (folder / OUTBOX / f"{item.stem}.eml").unlink(missing_ok=True)
    return target


def test_copy(item, address: str, mail_address: str) -> bytes:
    """The message of `item` as a test sends it: to the clerk's own address only, marked
    «ПРОВЕРКА» in its subject, with a Message-ID of its own (the real one is kept for the
    real sending)."""
    message = message_from_bytes(item.data, policy=compat32)
    subject = str(make_header(decode_header(message["Subject"])))
    for name in ("To", "Subject", "Message-ID"):
        del message[name]
    message["To"] = address
    message["Subject"] = Header(f"ПРОВЕРКА: {subject}", "utf-8")
    message["Message-ID"] = new_message_id(f"test.{item.stem}", mail_address)
    return message.as_bytes(policy=CRLF)
