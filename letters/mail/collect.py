"""`letters mail`, step 1: what this run sends — each delivery of each letter of the
manifest that is issued and has not gone, and what the clerk asked for with --retry —
and why every other one is not sent.

The addresses are the journal's (the build records them on each delivery); a manifest
whose addresses disagree with the journal is refused. Every attachment is read once and
checked against its sha256 in the manifest and in the journal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .. import dates, hints
from ..addresses import for_smtp, split
from ..journal import CANCELLED, EMAIL, REPLACED, RESERVED, STATUS_NAMES, Delivery, Journal, Letter
from ..model import MailSettings, Settings
from ..names import choose
from ..packs import MANIFEST, PackFiles, read_manifest, row_paths
from ..problems import Problems
from .body import Body
from .compose import CRLF, compose, file_stem, new_message_id
from .outcome import ALREADY, CONFIRMED, Outcome

MAX_RECIPIENTS = 35  # Yandex's limit per message, and Mail.ru's is no higher


@dataclass
class Outgoing:
    """One message ready to go: one delivery of a letter."""

    number: str
    municipality: str  # the head it goes to
    delivery_id: int
    to: tuple[str, ...]  # as the envelope and the header carry them (IDN domains in ASCII)
    message_id: str
    data: bytes  # the whole message, CRLF line ends
    stem: str  # its file in the outbox, without «.eml»
    reached: tuple[str, ...] = ()  # a delivery that went: whom it has reached already
    retry: bool = False
    again: str = "letters mail …"  # this mailing's command, for the hints (letters.hints)

    @property
    def title(self) -> str:
        return f"{self.number} ({self.municipality})"


@dataclass
class Plan:
    ready: list[Outgoing] = field(default_factory=list)  # to send now
    already: list[Outcome] = field(default_factory=list)  # sent before, to every address
    idle: set[str] = field(default_factory=set)  # outbox files of deliveries not to be sent


@dataclass
class _Letter:
    """A manifest row with its journal record and the deliveries chosen for this run."""

    row: dict[str, str]
    letter: Letter
    deliveries: list[Delivery]


def prepare(request, settings: Settings, mail_settings: MailSettings, journal: Journal, problems: Problems,
            progress, body: Body, greetings: dict[str, str]) -> Plan:
    """What to send now; `greetings` by municipality («Уважаемая Мария Сергеевна!»)."""
    letters = _letters(request, journal, problems)
    numbers = {item.row["number"] for item in letters}
    for number in request.retry:
        if number not in numbers:
            problems.error(f"--retry {number}: такого письма в {request.folder / MANIFEST} нет"
                           + (" (или оно не выбрано в --only)" if request.only else ""))
    plan = Plan()
    for done, item in enumerate(letters, 1):
        progress("подготовка", done, len(letters))
        files = None
        for delivery in item.deliveries:
            several = len(item.letter.deliveries) > 1
            stem = file_stem(item.letter.number, delivery.municipality if several else "")
            plan.idle.add(f"{stem}.eml")
            outgoing = _outgoing(request, item, delivery, stem, mail_settings, plan, problems)
            if outgoing is None:
                continue
            if mail_settings.signed_only and not item.letter.signed_file:
                problems.error(f"№ {item.letter.number} ({delivery.municipality}): письмо не подписано, а в letters.toml "
                               "[mail] signed_only = true — отправляются только подписанные. Добавьте скан подписанного "
                               f"письма: letters journal signed {item.letter.number} --file скан.pdf")
                break
            files = files if files is not None else _attachments(item.row, item.letter, request, journal, problems)
            if files is False:
                break
            message = compose(
                number=item.letter.number, date=item.row["date"], municipality=delivery.municipality,
                addressee=delivery.addressee, to=outgoing.to, message_id=outgoing.message_id, settings=settings,
                mail_settings=mail_settings, attachments=files, sheets=item.row["appendix_sheets"].split(";"),
                body=body, greeting=greetings.get(delivery.municipality)
                or (settings.circular.greeting if len(item.letter.deliveries) > 1 else ""),
            )
            outgoing.data = message.as_bytes(policy=CRLF)
            plan.ready.append(outgoing)
            plan.idle.discard(f"{stem}.eml")
    return plan


def _letters(request, journal: Journal, problems: Problems) -> list[_Letter]:
    """The letters of the manifest that may be mailed, each with the deliveries `--only` chose."""
    found: list[_Letter] = []
    rebuild = _rebuild_hint(request)
    for row, letter, heads in _chosen(request, journal, problems):
        number, municipality = row["number"], row["municipality"]
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
                           f"соберите письма ({rebuild}) и повторите")
            continue
        if _addresses_agree(row, letter, rebuild, problems):
            found.append(_Letter(row, letter, [d for d in letter.deliveries if d.municipality in heads]))
    return found


def _chosen(request, journal: Journal, problems: Problems) -> list[tuple[dict, Letter | None, set[str]]]:
    """Each manifest row with its journal record and the heads it goes to that `--only`
    chose (every head without `--only`); rows that go to none of them are left out."""
    rows = []
    for row in read_manifest(request.folder):
        letter = journal.find(row["number"])
        heads = [d.municipality for d in letter.deliveries] if letter and letter.deliveries else [row["municipality"]]
        rows.append((row, letter, heads))
    if not request.only:
        return [(row, letter, set(heads)) for row, letter, heads in rows]
    known = list(dict.fromkeys(h for _, _, heads in rows for h in heads))
    chosen = set(choose(request.only, known, problems,
                        f"письма этому муниципальному образованию в {request.folder / MANIFEST} нет"))
    return [(row, letter, chosen & set(heads)) for row, letter, heads in rows if chosen & set(heads)]


def _addresses_agree(row: dict, letter: Letter, rebuild: str, problems: Problems) -> bool:
    """The addresses are the journal's; a manifest that says otherwise was edited."""
    journal = {a.casefold() for d in letter.deliveries for a in d.address_list}
    manifest = {a.casefold() for a in split(row["email"])}
    if journal == manifest:
        return True
    title = f"№ {row['number']} ({row['municipality']})"
    if not journal and letter.deliveries:
        problems.error(f"{title}: в журнале ещё нет адресов этого письма (журнал записан прежней версией программы): "
                       f"пересоберите письма ({rebuild}: пакеты не изменятся) и повторите рассылку", file=MANIFEST)
    else:
        problems.error(f"{title}: адреса в manifest.csv ({row['email'] or 'нет'}) не совпадают с журналом регистрации "
                       f"({'; '.join(sorted(journal)) or 'нет'}): manifest.csv изменён после сборки. Письмо не "
                       f"отправлено; пересоберите письма ({rebuild}) и повторите", file=MANIFEST)
    return False


def _outgoing(request, item: _Letter, delivery: Delivery, stem: str, mail_settings: MailSettings, plan: Plan,
              problems: Problems) -> Outgoing | None:
    """The message of one delivery, not yet composed; None when it is not to go now (why is
    reported, or it went already)."""
    number, municipality = item.letter.number, delivery.municipality
    title = f"№ {number} ({municipality})"
    again = hints.command("mail", "--date", dates.numeric(request.date), request=request)
    rebuild = _rebuild_hint(request)
    retry = number in request.retry
    addresses, bad = for_smtp(delivery.addresses)
    reached: tuple[str, ...] = ()
    if delivery.attempt_at is not None and not retry:
        problems.error(_unconfirmed(number, delivery, again))
        return None
    if delivery.sent_at is not None:
        reached = delivery.reached_list
        if delivery.route != EMAIL:  # it went by post, by courier…: nothing to mail
            plan.already.append(Outcome(number, municipality, ALREADY, (delivery.route or "",), delivery.message_id or ""))
            return None
        known = {a.casefold() for a in reached}
        addresses = tuple(a for a in addresses if a.casefold() not in known)
        if not addresses and not bad:
            if delivery.attempt_at is None:
                plan.already.append(Outcome(number, municipality, ALREADY, reached, delivery.message_id or ""))
            if retry and delivery.attempt_at is None:
                problems.warning(f"--retry {number}: письмо уже отправлено всем адресам ({', '.join(reached)}); "
                                 "дважды одному адресату оно не отправляется")
            elif retry:  # an open attempt of a top-up whose addresses were since removed
                problems.error(_unconfirmed(number, delivery, again))
            return None
        if not retry:
            refused = f" (сервер их не принял: {delivery.refused})" if delivery.refused else ""
            problems.warning(
                f"{title} отправлено на {', '.join(reached)}, но не на {', '.join([*addresses, *bad])}{refused}. "
                f"Если адрес неверен, исправьте его в таблице municipalities и пересоберите ({rebuild}); "
                f"дослать по оставшимся адресам: {again} --send --retry {number}"
            )
            return None
    if bad:
        problems.error(f"{title}: {'; '.join(bad)} — исправьте адрес в столбце «Электронная почта» таблицы "
                       f"municipalities, пересоберите ({rebuild}: пакет не изменится) и повторите", file=MANIFEST)
        return None
    if not addresses:
        problems.error(
            f"{title}: нет адреса электронной почты — письмо не отправлено. Впишите адрес главы в столбец "
            "«Электронная почта» таблицы municipalities (несколько адресов — через «;»), пересоберите "
            f"({rebuild}: пакет не изменится) и повторите рассылку; или отправьте это письмо иначе и отметьте это в "
            f"журнале: letters journal sent {number} --by почта --on ДД.ММ.ГГГГ", file=MANIFEST,
        )
        return None
    if len(addresses) + len(mail_settings.bcc) > MAX_RECIPIENTS:
        problems.error(f"{title}: адресов {len(addresses) + len(mail_settings.bcc)}, а почтовые службы принимают не "
                       f"больше {MAX_RECIPIENTS} на одно письмо: оставьте в таблице меньше адресов")
        return None
    message_id = delivery.message_id or new_message_id(stem, mail_settings.address)
    return Outgoing(number, municipality, delivery.id, addresses, message_id, b"", stem, reached, retry, again)


def _attachments(row: dict, letter: Letter, request, journal: Journal,
                 problems: Problems) -> list[tuple[str, bytes]] | bool:
    """The letter and its appendices, read once and checked against the manifest and the
    journal; False when one of them is missing or changed (reported). The pack's other
    documents stay home: a distribution list names every head's address."""
    paths = row_paths(row)
    digests = dict(zip(paths, row["sha256"].split(";")))
    recorded = journal.files_of(letter.id)
    wanted = [row["letter"], *row["appendices"].split(";")]
    rebuild = _rebuild_hint(request)
    if request.attach == "pdf":
        wanted = [PackFiles.pdf(p) for p in wanted]
        if any(p not in digests for p in wanted):
            problems.error(f"№ {row['number']} ({row['municipality']}): пакет собран без PDF (--no-pdf): пересоберите "
                           "без --no-pdf или отправьте .docx: --attach docx")
            return False
    files = []
    for path in wanted:
        try:
            data = (request.folder / path).read_bytes()
        except OSError:
            problems.error(f"№ {row['number']}: файла нет: {path} — письмо не отправлено; пересоберите пакет "
                           f"({rebuild})", file=MANIFEST)
            return False
        digest = hashlib.sha256(data).hexdigest()
        if digest != digests[path] or recorded.get(path, digest) != digest:
            problems.error(
                f"№ {row['number']}: файл изменён после сборки (sha256 не совпадает с "
                f"{'manifest.csv' if digest != digests[path] else 'журналом'}): {path} — письмо не отправлено. "
                f"Отправляется только то, что собрала программа: верните файл или пересоберите пакет ({rebuild})",
                file=MANIFEST,
            )
            return False
        files.append((Path(path).name, data))
    if letter.signed_file:  # the signed scan (and its signature) goes in place of the generated letter
        signed = _signed(letter, request, problems)
        if signed is False:
            return False
        files[0:1] = signed
    return files


def _signed(letter: Letter, request, problems: Problems) -> list[tuple[str, bytes]] | bool:
    """The signed scan and its signature as `letters journal signed` put them in the pack."""
    files = []
    for path, digest in ((letter.signed_file, letter.signed_sha256), (letter.signature_file, letter.signature_sha256)):
        if not path:
            continue
        try:
            data = (request.folder / path).read_bytes()
        except OSError:
            problems.error(f"№ {letter.number}: подписанного скана нет: {path} — письмо не отправлено; положите его "
                           f"снова: letters journal signed {letter.number} --file скан.pdf", file=MANIFEST)
            return False
        if hashlib.sha256(data).hexdigest() != digest:
            problems.error(f"№ {letter.number}: файл изменён после того, как записан в журнал (sha256): {path} — "
                           f"письмо не отправлено; положите скан снова: letters journal signed {letter.number} "
                           "--file скан.pdf", file=MANIFEST)
            return False
        files.append((Path(path).name, data))
    return files


def _rebuild_hint(request) -> str:
    return hints.command("build", "--date", dates.numeric(request.date), request=request)


def _unconfirmed(number: str, delivery: Delivery, again: str) -> str:
    stamp = delivery.attempt_at.astimezone().strftime("%d.%m.%Y %H:%M")
    return (
        f"№ {number} ({delivery.municipality}): отправка начата {stamp}, но подтверждения от почтового сервера "
        f"нет (связь оборвалась или программа была прервана) — письмо могло уйти, поэтому само оно повторно не "
        f"отправляется. Найдите его по Message-ID {delivery.message_id} в архивной копии или в «Отправленных» "
        f"почтового ящика. Если письмо ушло: {again} --confirm {number}; "
        f"если нет: {again} --send --retry {number}"
    )


def confirm(request, journal: Journal, problems: Problems) -> list[Outcome]:
    """--confirm: the clerk found the message of an open attempt, so the delivery went."""
    done = []
    for number in request.confirm:
        letter = journal.find(number)
        open_ = [d for d in letter.deliveries if d.attempt_at is not None] if letter else []
        if not open_:
            problems.error(f"--confirm {number}: у этого письма нет отправки без подтверждения"
                           + (f" (оно {STATUS_NAMES[letter.status]}о)" if letter else " (номера нет в журнале)"))
            continue
        for delivery in open_:
            reached = list(delivery.reached_list)
            known = {a.casefold() for a in reached}
            reached += [a for a in for_smtp(delivery.addresses)[0] if a.casefold() not in known]
            journal.end_mail(delivery.id, delivery.message_id, "; ".join(reached), sent_at=delivery.attempt_at)
            done.append(Outcome(number, delivery.municipality, CONFIRMED, tuple(reached), delivery.message_id or ""))
    return done
