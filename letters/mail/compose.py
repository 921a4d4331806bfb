"""`letters mail`, step 2: compose the message of each delivery, or write it to the outbox.

Built with the older `email.mime` API so that each attachment carries its name twice, as
Thunderbird sends it: RFC 2231 `filename*` on Content-Disposition (Thunderbird, Gmail,
Yandex, Mail.ru) and an RFC 2047 encoded word in Content-Type's `name` (Outlook, which
otherwise shows `ATT00001.dat`).
"""

from __future__ import annotations

import html
import os
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from ..model import MailSettings, Settings
from ..packs import safe_name
from .outcome import WRITTEN, Outcome

OUTBOX = "outbox"
_SUBTYPES = {"pdf": "pdf", "docx": "vnd.openxmlformats-officedocument.wordprocessingml.document",
             "sig": "pkcs7-signature"}  # a detached signature (CAdES/PKCS#7), as КриптоАРМ saves it
CRLF = compat32.clone(linesep="\r\n")


def compose(*, number: str, date: str, municipality: str, addressee: str, to: tuple[str, ...], message_id: str,
            settings: Settings, mail_settings: MailSettings, attachments: list[tuple[str, bytes]],
            sheets: list[str]) -> MIMEMultipart:
    """The message: plain text and HTML naming the letter and its appendices, and the files."""
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
        partial.write_bytes(item.data)
        os.replace(partial, target)
        done.append(Outcome(item.number, item.municipality, WRITTEN, item.to, item.message_id, target))
    for name in stale - {o.file.name for o in done}:
        (outbox / name).unlink(missing_ok=True)
    return done


