"""`letters mail`: every pack ready to send, sent once and only once.

The packs are built once for the module with the real `letters build`; each test works on
a copy of them and of the journal (SQLite, and PostgreSQL where the journal is what is
tested), and sends to a real SMTP server (aiosmtpd) started on 127.0.0.1 by the test:
one that takes everything, one that refuses an address, one that drops the connection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import os
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, replace
from email import policy
from email.header import decode_header, make_header
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from conftest import TABLES, run_letters, write_data

from letters import mail as mailing
from letters.journal import ISSUED, SENT, Journal, deliveries, files, letters, location_url
from letters.mail import MailRequest, MailUsageError, RateLimit, parse_smtp_url
from letters.packs import PackFiles, read_manifest
from letters.problems import Problems
from letters.settings import read_mail_settings, read_settings

DATE, FOLDER = "20.05.2024", "2024-05-20"
SUBJECT = "О размещении виджетов ПОС на сайтах учреждений"
TYUMEN, ISHIM, UVAT, TOBOLSK = "Тюменский муниципальный район", "Город Ишим", "Уватский муниципальный район", "Город Тобольск"
WITH_EMAIL = (TYUMEN, ISHIM, TOBOLSK)  # Уватский has findings and no address
ARCHIVE = "archive@72to.ru"
FAST = 60000  # messages a minute: the tests do not wait


# --- the packs, built once ---

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Four letters: 1337/24 Тюменский, 1338/24 Ишим (two addresses), 1339/24 Уватский
    (no address), 1340/24 Тобольск; letters.toml asks for an archive copy."""
    root = tmp_path_factory.mktemp("built")
    tables = {
        "municipalities": TABLES["municipalities"] + [f"{TOBOLSK};Глава города Тобольска;Петров Пётр Петрович;tob@tobolsk.ru"],
        "organizations": TABLES["organizations"] + [f"Администрация Тобольска;{TOBOLSK};https://tobolsk.ru;1000005"],
        "audit": TABLES["audit"] + ["tobolsk.ru;widget_missing;15.05.2024;", "uvat.ru;widget_missing;15.05.2024;"],
    }
    data = write_data(root / "data", **tables)
    with (data / "letters.toml").open("a", encoding="utf-8") as handle:
        handle.write(f'\n[mail]\nbcc = "{ARCHIVE}"\n')
    result = run_letters("build", "--date", DATE, "--data", str(data), "--out", str(root / "out"),
                         "--journal", str(root / "journal.sqlite"))
    assert result.returncode == 0, result.stderr
    return root


@dataclass
class Case:
    data: Path
    out: Path
    journal: str

    @property
    def folder(self) -> Path:
        return self.out / FOLDER

    def request(self, **options) -> MailRequest:
        return MailRequest(date=dt.date(2024, 5, 20), data=self.data, out=self.out, journal=self.journal,
                           rate=FAST, **options)

    def cli(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return run_letters("mail", "--date", DATE, "--data", str(self.data), "--out", str(self.out),
                           "--journal", self.journal, *args, env={**os.environ, **(env or {})})

    def letter(self, number: str):
        return Journal(location_url(self.journal)).find(number)

    def delivery(self, number: str):
        """The one delivery of a letter to one head: whom it went to, its Message-ID."""
        (delivery,) = self.letter(number).deliveries
        return delivery

    def numbers(self) -> dict[str, str]:
        return {row["municipality"]: row["number"] for row in read_manifest(self.folder)}


def _copy(built: Path, target: Path, journal_url: str) -> Case:
    shutil.copytree(built / "data", target / "data")
    shutil.copytree(built / "out", target / "out")
    if "://" in journal_url:
        _copy_journal(built / "journal.sqlite", journal_url)
    else:
        shutil.copyfile(built / "journal.sqlite", journal_url)
    engine = sa.create_engine(location_url(journal_url))
    with engine.begin() as connection:  # the copy's packs are the copy's: `journal signed` writes there
        connection.execute(letters.update().values(out_dir=str((target / "out").resolve())))
    engine.dispose()
    return Case(target / "data", target / "out", journal_url)


def _copy_journal(source: Path, url: str) -> None:
    Journal(url)  # the schema
    target = sa.create_engine(url)
    with sa.create_engine(location_url(source)).connect() as reading, target.begin() as writing:
        for table in (letters, files, deliveries):
            rows = [dict(row._mapping) for row in reading.execute(sa.select(table))]
            writing.execute(table.insert(), rows)
            writing.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), {len(rows) + 1000})"))
    target.dispose()


@pytest.fixture
def case(built, tmp_path) -> Case:
    """A copy of the built packs and their SQLite journal."""
    return _copy(built, tmp_path, str(tmp_path / "journal.sqlite"))


@pytest.fixture
def any_journal(built, tmp_path, journal_url) -> Case:
    """The same on SQLite and on PostgreSQL."""
    return _copy(built, tmp_path, journal_url)


# --- SMTP servers on 127.0.0.1 ---

@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)


class Mailbox:
    """An aiosmtpd handler that keeps what it receives. `refuse`: addresses answered 550.
    `drop_after`: once it holds that many messages it drops the connection — at RCPT
    (the message surely not taken) or after the whole message came (`at="data"`, the
    answer never sent; `keep` stores the message first) — `times` times."""

    def __init__(self, refuse=(), drop_after: int | None = None, at: str = "rcpt", keep: bool = False, times: int = 99):
        self.messages: list[Received] = []
        self.refuse, self.drop_after, self.at, self.keep, self.times = set(refuse), drop_after, at, keep, times
        self.sessions: list = []

    def _drop_now(self, at: str) -> bool:
        if self.at == at and self.drop_after is not None and self.times > 0 and len(self.messages) >= self.drop_after:
            self.times -= 1
            return True
        return False

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self._drop_now("rcpt"):
            server.transport.close()
            return "421 closing"
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        if self._drop_now("data"):
            if self.keep:
                self.messages.append(received)
            server.transport.close()
            return "250 OK"
        self.messages.append(received)
        self.sessions.append((session.ssl is not None, session.authenticated))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.recipients]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server(mailbox: Mailbox, scheme: str = "smtp", user: str = "", **options):
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield f"{scheme}://{user + '@' if user else ''}127.0.0.1:{port}"
    finally:
        controller.stop()


def errors(result) -> str:
    return "\n".join(str(p) for p in result.problems.errors)


def warnings(result) -> str:
    return "\n".join(str(p) for p in result.problems.warnings)


def send(case: Case, url: str, **options) -> mailing.MailResult:
    options.setdefault("only", WITH_EMAIL)
    return mailing.mail(case.request(send=True, smtp=url, **options))


# --- without --send: the outbox ---

def test_outbox_has_one_message_per_letter_that_any_mail_reader_opens(case):
    result = case.cli()
    assert result.returncode == 0, result.stderr  # all it did was prepare the outbox; Уватский has no address
    assert "letters journal sent 1339/24 --by почта" in result.stderr
    assert "1339/24" in result.stderr and UVAT in result.stderr and "«Электронная почта»" in result.stderr
    assert "municipalities" in result.stderr
    rows = {row["number"]: row for row in read_manifest(case.folder)}
    outbox = case.folder / "outbox"
    assert sorted(p.name for p in outbox.iterdir()) == ["1337-24.eml", "1338-24.eml", "1340-24.eml"]
    for path in outbox.iterdir():
        number = path.stem.replace("-", "/")
        row, raw = rows[number], path.read_bytes()
        message = email.message_from_bytes(raw, policy=policy.default)
        assert message["X-Unsent"] == "1"  # Outlook opens it as a draft to send
        assert str(message["From"]) == "Департамент информатизации Тюменской области <di@72to.ru>"
        assert [a.addr_spec for a in message["To"].addresses] == row["email"].split(";")
        assert message["Subject"] == f"Исх. № {number} от {DATE} — {SUBJECT}"
        assert message["Message-ID"].endswith("@72to.ru>") and "Bcc" not in message
        text = message.get_body(("plain",)).get_content()
        assert f"№ {number}" in text and "1. Перечень выявленных ошибок — на 1 л." in text
        greeting = {"1337/24": "Уважаемый Иван Иванович!", "1338/24": "Уважаемая Мария Сергеевна!",
                    "1340/24": "Уважаемый Пётр Петрович!"}[number]
        assert text.split("\r\n\r\n")[1] == greeting  # after the addressee, as a letter greets
        assert "Просим подтвердить получение письма" in text
        assert "Департамент информатизации Тюменской области\r\n" in text
        assert "3. План мероприятий по повышению значений показателей оперативного рейтинга" in text
        expected = [PackFiles.pdf(p) for p in (row["letter"], *row["appendices"].split(";"))]
        attachments = list(message.iter_attachments())
        assert [a.get_filename() for a in attachments] == [Path(p).name for p in expected]
        assert attachments[0].get_filename() == f"Письмо {number.replace('/', '-')}.pdf"
        assert attachments[1].get_filename() == "Приложение 1. Перечень выявленных ошибок.pdf"
        for attachment, relative in zip(attachments, expected):
            assert attachment.get_content_type() == "application/pdf"
            assert attachment.get_content() == (case.folder / relative).read_bytes()
        # both forms of the name: RFC 2231 for most readers, an encoded word for Outlook
        old = email.message_from_bytes(raw)
        parts = [p for p in old.walk() if p.get_content_maintype() == "application"]
        for part, relative in zip(parts, expected):
            assert "filename*=utf-8''" in part["Content-Disposition"]
            assert part.get_param("name").startswith("=?utf-8?b?")
            assert str(make_header(decode_header(part.get_param("name")))) == Path(relative).name
        assert max(len(line) for line in raw.split(b"\r\n")) < 998 and b"\n" not in raw.replace(b"\r\n", b"")
    for number in rows:  # nothing was sent, nothing recorded
        letter = case.letter(number)
        assert letter.status == ISSUED and letter.sent_at is None and case.delivery(number).message_id is None


def test_attach_docx_and_a_subject_of_ones_own(case):
    with (case.data / "letters.toml").open("a", encoding="utf-8") as handle:
        handle.write('from = "Департамент информатизации <di@72to.ru>"\nsubject = "{subject} (исх. № {number})"\n'
                     'reply_to = "petrova@72to.ru"\n')
    result = mailing.mail(case.request(attach="docx", only=(TYUMEN,)))
    assert not result.problems.has_errors, errors(result)
    message = email.message_from_bytes((case.folder / "outbox" / "1337-24.eml").read_bytes(), policy=policy.default)
    assert str(message["From"]) == "Департамент информатизации <di@72to.ru>"
    assert message["Subject"] == f"{SUBJECT} (исх. № 1337/24)" and message["Reply-To"] == "petrova@72to.ru"
    names = [a.get_filename() for a in message.iter_attachments()]
    assert names[0] == "Письмо 1337-24.docx" and all(n.endswith(".docx") for n in names) and len(names) == 4
    assert {a.get_content_subtype() for a in message.iter_attachments()} == {
        "vnd.openxmlformats-officedocument.wordprocessingml.document"}


# --- with --send ---

def test_send_records_each_letter_and_a_second_send_sends_nothing(any_journal):
    case, mailbox = any_journal, Mailbox()
    only = [arg for name in WITH_EMAIL for arg in ("--only", name)]
    with smtp_server(mailbox) as url:
        first = case.cli("--send", "--smtp", url, "--rate", str(FAST), *only)
        assert first.returncode == 0, first.stderr
        assert "Отправлено" in first.stdout and "1338/24" in first.stdout
        second = case.cli("--send", "--smtp", url, "--rate", str(FAST), *only)
    assert second.returncode == 0, second.stderr
    assert "Отправлены раньше" in second.stdout and "Отправлено через" not in second.stdout
    assert len(mailbox.messages) == 3  # one each, and none the second time
    rows = {row["number"]: row for row in read_manifest(case.folder)}
    for received in mailbox.messages:
        message = received.message
        number = message["Subject"].split()[2]
        to = rows[number]["email"].split(";")
        assert received.sender == "di@72to.ru"
        assert received.recipients == [*to, ARCHIVE]  # the archive copy goes in the envelope only
        assert [a.addr_spec for a in message["To"].addresses] == to and "Bcc" not in message
        letter = case.letter(number)
        assert letter.status == SENT and letter.sent_at is not None
        delivery = case.delivery(number)
        assert delivery.message_id == message["Message-ID"] and delivery.reached == "; ".join(to)
        attachment = list(message.iter_attachments())[2]
        assert attachment.get_content() == (case.folder / PackFiles.pdf(rows[number]["appendices"].split(";")[1])).read_bytes()
    assert case.letter("1339/24").status == ISSUED  # not chosen, not sent


def test_a_refused_recipient_is_reported_recorded_and_can_be_sent_again(any_journal):
    case, mailbox = any_journal, Mailbox(refuse={"mayor@ishim.ru"})
    with smtp_server(mailbox) as url:
        first = send(case, url)
        again = send(case, url)
    assert "mayor@ishim.ru" in errors(first) and "550" in errors(first) and "1338/24" in errors(first)
    letter, delivery = case.letter("1338/24"), case.delivery("1338/24")
    assert letter.status == SENT and delivery.reached == "adm@ishim.ru"
    assert "mayor@ishim.ru (550" in delivery.refused
    assert len(mailbox.messages) == 3 and mailbox.to("adm@ishim.ru")
    # later runs send nothing, and still say who has not had it
    assert not again.problems.has_errors and not again.of(mailing.MAILED)
    assert "mayor@ishim.ru" in warnings(again) and "--retry 1338/24" in warnings(again)
    # the clerk asks for it: only the address it has not reached gets it, as the same message
    good = Mailbox()
    with smtp_server(good) as url:
        retried = send(case, url, retry=("1338/24",))
    assert not retried.problems.has_errors, errors(retried)
    assert [m.recipients for m in good.messages] == [["mayor@ishim.ru", ARCHIVE]]
    assert good.messages[0].message["Message-ID"] == delivery.message_id
    delivery = case.delivery("1338/24")
    assert delivery.reached == "adm@ishim.ru; mayor@ishim.ru" and not delivery.refused


def test_an_interrupted_run_resumes_where_it_stopped(any_journal):
    case, dropping = any_journal, Mailbox(drop_after=1)  # drops every connection after the first message
    with smtp_server(dropping) as url:
        first = send(case, url)
    assert [m.message["Subject"].split()[2] for m in dropping.messages] == ["1337/24"]
    assert "1338/24" in errors(first) and "1340/24" in errors(first)
    assert [case.letter(n).status for n in ("1337/24", "1338/24", "1340/24")] == [SENT, ISSUED, ISSUED]
    good = Mailbox()
    with smtp_server(good) as url:
        second = send(case, url)
        third = send(case, url)
    assert not second.problems.has_errors, errors(second)
    assert sorted(m.message["Subject"].split()[2] for m in good.messages) == ["1338/24", "1340/24"]
    assert not third.of(mailing.MAILED) and len(good.messages) == 2
    assert all(case.letter(n).status == SENT for n in ("1337/24", "1338/24", "1340/24"))


def test_a_connection_lost_after_the_message_went_is_never_resent_without_the_clerk(any_journal):
    # the server takes the whole of Ишим's letter and drops the line instead of answering:
    # it may have gone, so it is not sent again; the next letter goes on a new connection
    case, mailbox = any_journal, Mailbox(drop_after=1, at="data", times=1)
    with smtp_server(mailbox) as url:
        first = send(case, url)
    assert "1338/24" in errors(first) and "Message-ID" in errors(first)
    assert sorted(m.message["Subject"].split()[2] for m in mailbox.messages) == ["1337/24", "1340/24"]
    attempted = case.delivery("1338/24")
    assert case.letter("1338/24").status == ISSUED and attempted.message_id
    good = Mailbox()
    with smtp_server(good) as url:
        second = send(case, url)
        assert not good.messages and not second.of(mailing.MAILED)
        assert "--confirm 1338/24" in errors(second) and "--retry 1338/24" in errors(second)
        assert attempted.message_id in errors(second)
        # the clerk found it did not arrive: it goes again, as the same message
        third = send(case, url, retry=("1338/24",))
    assert not third.problems.has_errors, errors(third)
    assert [m.message["Message-ID"] for m in good.messages] == [attempted.message_id]
    assert case.letter("1338/24").status == SENT


def test_killed_after_the_server_took_the_message_it_is_never_sent_twice(case):
    mailbox = Mailbox()
    with smtp_server(mailbox) as url:
        killed = case.cli("--send", "--smtp", url, "--only", TYUMEN, env={"LETTERS_KILL_AT": "mail-accepted"})
        assert killed.returncode == -9
        assert len(mailbox.messages) == 1 and case.letter("1337/24").status == ISSUED
        again = case.cli("--send", "--smtp", url, "--only", TYUMEN)
    assert again.returncode == 1 and len(mailbox.messages) == 1
    assert "--confirm 1337/24" in again.stderr and mailbox.messages[0].message["Message-ID"] in again.stderr
    confirmed = case.cli("--only", TYUMEN, "--confirm", "1337/24")
    assert confirmed.returncode == 0, confirmed.stderr
    letter, delivery = case.letter("1337/24"), case.delivery("1337/24")
    assert letter.status == SENT and delivery.message_id == mailbox.messages[0].message["Message-ID"]
    assert delivery.reached == "glava@atmr.ru" and letter.sent_at is not None and delivery.sent_at is not None


def test_a_letter_without_an_address_is_listed_with_what_to_fill_in(case):
    with smtp_server(Mailbox()) as url:
        result = send(case, url, only=())
    assert len(result.of(mailing.MAILED)) == 3
    (problem,) = result.problems.errors
    assert "1339/24" in problem.message and UVAT in problem.message
    assert "«Электронная почта» таблицы municipalities" in problem.message and "letters build" in problem.message


def test_a_changed_file_is_refused_and_the_others_go(case):
    row = next(r for r in read_manifest(case.folder) if r["municipality"] == TOBOLSK)
    changed = case.folder / PackFiles.pdf(row["appendices"].split(";")[0])
    changed.write_bytes(changed.read_bytes() + b"\n% edited")
    mailbox = Mailbox()
    with smtp_server(mailbox) as url:
        result = send(case, url)
    assert "1340/24" in errors(result) and "sha256" in errors(result) and changed.name in errors(result)
    assert len(mailbox.messages) == 2 and case.letter("1340/24").status == ISSUED


def test_cancelled_and_replaced_letters_are_never_mailed(case):
    Journal(location_url(case.journal)).cancel("1337/24", "направлено ошибочно")
    mailbox = Mailbox()
    with smtp_server(mailbox) as url:
        result = send(case, url)
    assert not result.problems.has_errors, errors(result)
    assert sorted(m.message["Subject"].split()[2] for m in mailbox.messages) == ["1338/24", "1340/24"]
    assert any("1337/24" in p.message and "аннулировано" in p.message for p in result.problems.notes)


def test_starttls_and_the_password_from_the_environment(case, tmp_path, monkeypatch):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this certificate only
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, data):
        return AuthResult(success=(data.login, data.password) == (b"clerk", b"secret"), handled=False)  # → 535

    mailbox = Mailbox()
    with smtp_server(mailbox, user="clerk", tls_context=tls, require_starttls=True, auth_required=True,
                     authenticator=authenticator) as url:
        wrong = send(case, url, password="guess", only=(TYUMEN,))
        right = send(case, url, password="secret", only=(TYUMEN,))
    assert "пароль" in errors(wrong) and "1337/24" in errors(wrong) and case.letter("1338/24").status == ISSUED
    assert not right.problems.has_errors, errors(right)
    assert mailbox.sessions == [(True, True)]  # encrypted and logged in
    # a server that offers no encryption never gets the password
    plain = Mailbox()
    with smtp_server(plain, user="clerk", auth_require_tls=False, authenticator=authenticator) as url:
        refused = send(case, url, password="secret", only=(ISHIM,))
    assert "STARTTLS" in errors(refused) and not plain.messages


# --- usage, settings, the rate ---

def test_usage_errors_are_exit_2_and_the_password_never_on_the_command_line(case):
    result = case.cli("--send")
    assert result.returncode == 2 and "--smtp" in result.stderr
    with pytest.raises(MailUsageError, match="LETTERS_SMTP_PASSWORD"):
        mailing.mail(case.request(send=True, smtp="smtp://clerk:secret@127.0.0.1:2525"))
    with pytest.raises(MailUsageError, match="LETTERS_SMTP_PASSWORD"):
        mailing.mail(case.request(send=True, smtp="smtp://clerk@127.0.0.1:2525"))
    with pytest.raises(MailUsageError, match="неверно"):
        mailing.mail(case.request(send=True, smtp="http://127.0.0.1"))


def test_smtp_urls():
    assert parse_smtp_url("smtp://di@72to.ru@smtp.yandex.ru") == mailing.SmtpServer("smtp.yandex.ru", 587, "di@72to.ru")
    assert parse_smtp_url("smtps://di%4072to.ru@smtp.mail.ru") == mailing.SmtpServer("smtp.mail.ru", 465, "di@72to.ru", True)
    assert parse_smtp_url("smtp://127.0.0.1:2525") == mailing.SmtpServer("127.0.0.1", 2525)


def test_mail_settings(small_data):
    problems = Problems()
    settings = read_settings(small_data, problems)
    defaults = read_mail_settings(small_data, problems, settings)
    assert defaults == replace(defaults, address="di@72to.ru", name="Департамент информатизации Тюменской области",
                               subject="Исх. № {number} от {date} — {subject}", rate=20, bcc=(), reply_to="", smtp="")
    with (small_data / "letters.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[mail]\nfrom = "почта"\nsubject = "{numbr}"\nrate = 0\nbcc = ["archive@72to.ru", "нет"]\nrat = 5\n')
    problems = Problems()
    assert read_mail_settings(small_data, problems, settings) is None
    columns = {p.column for p in problems.errors}
    assert columns == {"[mail] from", "[mail] subject", "[mail] rate", "[mail] bcc"}
    assert "может быть, rate?" in problems.warnings[0].message


def test_the_rate_spaces_the_messages():
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limit = RateLimit(20, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limit.wait()
        now[0] += 0.5  # sending takes half a second
    assert slept == [2.5, 2.5]  # 20 a minute: one every 3 s


# --- the signed copy ---

def a_pdf(path: Path) -> Path:
    import pikepdf

    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(595, 842))
        pdf.save(path)
    return path


def sign(case: Case, number: str, *files: Path) -> subprocess.CompletedProcess:
    args = ["--file", str(files[0])] + (["--sig", str(files[1])] if len(files) > 1 else [])
    return run_letters("journal", "signed", number, *args, "--journal", case.journal)


def test_the_signed_scan_and_its_signature_go_in_place_of_the_generated_letter(case, tmp_path):
    empty, text = tmp_path / "пустой.pdf", tmp_path / "не скан.pdf"
    empty.write_bytes(b"")
    text.write_text("это не PDF", encoding="utf-8")
    for bad, says in ((empty, "пустой"), (text, "не PDF"), (tmp_path / "нет.pdf", "не найден")):
        refused = sign(case, "1337/24", bad)
        assert refused.returncode == 1 and says in refused.stderr and "Traceback" not in refused.stderr, refused.stderr
    assert case.letter("1337/24").signed_file is None
    scan, signature = a_pdf(tmp_path / "scan.pdf"), tmp_path / "scan.pdf.sig"
    signature.write_bytes(bytes.fromhex("3082") + b"detached CMS signature")
    signed = sign(case, "1337/24", scan, signature)
    assert signed.returncode == 0, signed.stderr
    letter = case.letter("1337/24")
    kept = case.folder / letter.signed_file
    assert kept.name == "Письмо 1337-24 (подписано).pdf" and kept.read_bytes() == scan.read_bytes()
    assert (case.folder / letter.signature_file).read_bytes() == signature.read_bytes()
    assert run_letters("verify", str(case.folder), "--journal", case.journal).returncode == 0
    mailbox = Mailbox()
    with smtp_server(mailbox) as url:
        result = send(case, url, only=(TYUMEN,))
    assert not result.problems.has_errors, errors(result)
    (message,) = mailbox.to("glava@atmr.ru")
    attached = {part.get_filename(): part.get_content() for part in message.message.iter_attachments()}
    assert list(attached)[:2] == ["Письмо 1337-24 (подписано).pdf", "Письмо 1337-24 (подписано).pdf.sig"]
    assert "Письмо 1337-24.pdf" not in attached and len(attached) == 5  # + appendices 1–3
    assert attached["Письмо 1337-24 (подписано).pdf"] == scan.read_bytes()
    assert attached["Письмо 1337-24 (подписано).pdf.sig"] == signature.read_bytes()
    again = sign(case, "1337/24", scan)
    assert again.returncode == 1 and "отправлено с этим сканом" in again.stderr


def test_a_changed_scan_is_caught_by_verify_and_never_mailed(case, tmp_path):
    assert sign(case, "1338/24", a_pdf(tmp_path / "scan.pdf")).returncode == 0
    kept = case.folder / case.letter("1338/24").signed_file
    kept.write_bytes(kept.read_bytes() + b"%")
    checked = run_letters("verify", str(case.folder), "--journal", case.journal)
    assert checked.returncode == 1 and kept.name in checked.stderr and "записан в журнал" in checked.stderr
    mailbox = Mailbox()
    with smtp_server(mailbox) as url:
        result = send(case, url, only=(ISHIM,))
    assert "1338/24" in errors(result) and kept.name in errors(result) and not mailbox.messages


def test_signed_only_refuses_letters_that_are_not_signed(case, tmp_path):
    with (case.data / "letters.toml").open("a", encoding="utf-8") as handle:
        handle.write("signed_only = true\n")  # under [mail]
    assert sign(case, "1340/24", a_pdf(tmp_path / "scan.pdf")).returncode == 0
    mailbox = Mailbox()
    with smtp_server(mailbox) as url:
        result = send(case, url)
    assert [m.message["Subject"].split()[2] for m in mailbox.messages] == ["1340/24"]
    assert "1337/24" in errors(result) and "1338/24" in errors(result) and "signed_only" in errors(result)
    assert "letters journal signed 1337/24" in errors(result)
    assert case.letter("1337/24").status == ISSUED


# --- mail as a clerk expects it ---

def on_terminal(case: Case, *args: str, answers: dict[str, str] = {}, env: dict | None = None) -> tuple[int, str]:
    """`letters mail …` on a real terminal (a pseudo-terminal): each prompt that appears is
    answered as `answers` says; returns the exit code and everything the terminal showed."""
    import pty
    import sys
    import time

    argv = [sys.executable, "-m", "letters", "mail", "--date", DATE, "--data", str(case.data), "--out", str(case.out),
            "--journal", case.journal, *args]
    environment = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "LETTERS_SMTP_PASSWORD"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its stdin, stdout and stderr, and its /dev/tty
        os.chdir(Path(__file__).parent.parent)
        os.execve(sys.executable, argv, environment)
    shown, pending, deadline = b"", dict(answers), time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        text = shown.decode("utf-8", "replace")
        for prompt in [p for p in pending if p in text]:
            os.write(fd, pending.pop(prompt).encode() + b"\r")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_on_a_terminal_send_asks_first_and_yes_skips_the_question(case):
    mailbox = Mailbox()
    only = [arg for name in WITH_EMAIL for arg in ("--only", name)]
    question = "Отправить 3 письма на 4 адреса? [y/N]"
    with smtp_server(mailbox) as url:
        code, shown = on_terminal(case, "--send", "--smtp", url, "--rate", str(FAST), *only, answers={question: "n"})
        assert question in shown and "Ничего не отправлено" in shown and code == 1, shown
        assert not mailbox.messages and case.letter("1337/24").status == ISSUED
        code, shown = on_terminal(case, "--send", "--smtp", url, "--rate", str(FAST), "--only", TYUMEN, "--yes")
        assert code == 0 and "Отправить" not in shown and "Отправлено" in shown, shown
        code, shown = on_terminal(case, "--send", "--smtp", url, "--rate", str(FAST), *only, answers={
            "Отправить 2 письма на 3 адреса? [y/N]": "y"})
        assert code == 0 and "Отправлено" in shown, shown
    assert sorted(m.message["Subject"].split()[2] for m in mailbox.messages) == ["1337/24", "1338/24", "1340/24"]


def test_the_password_is_asked_without_echo_when_the_environment_has_none(case, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, data):
        return AuthResult(success=(data.login, data.password) == (b"clerk", b"secret"), handled=False)

    mailbox = Mailbox()
    with smtp_server(mailbox, user="clerk", tls_context=tls, require_starttls=True, auth_required=True,
                     authenticator=authenticator) as url:
        code, shown = on_terminal(case, "--send", "--smtp", url, "--rate", str(FAST), "--only", TYUMEN, "--yes",
                                  answers={"Пароль почтового ящика clerk": "secret"}, env={"SSL_CERT_FILE": str(cert)})
    assert code == 0, shown
    assert "secret" not in shown  # typed without echo
    assert len(mailbox.messages) == 1 and mailbox.sessions == [(True, True)]


def test_test_to_sends_one_letter_to_the_clerk_and_records_nothing(case):
    mailbox = Mailbox()
    with smtp_server(mailbox) as url:
        result = mailing.mail(case.request(smtp=url, test_to="petrova@72to.ru", only=(ISHIM,)))
        wrong = case.cli("--test-to", "не адрес", "--smtp", url)
    assert not result.problems.has_errors, errors(result)
    (received,) = mailbox.messages
    assert received.recipients == ["petrova@72to.ru"]  # not the heads, not the archive
    message = received.message
    assert message["To"] == "petrova@72to.ru" and message["Subject"].startswith("ПРОВЕРКА: Исх. № 1338/24 от")
    assert [a.get_filename() for a in message.iter_attachments()][0] == "Письмо 1338-24.pdf"
    letter = case.letter("1338/24")
    assert letter.status == ISSUED and case.delivery("1338/24").message_id is None
    assert not (case.folder / mailing.SENT_COPIES).exists() and not (case.folder / mailing.OUTBOX).exists()
    assert wrong.returncode == 2 and "--test-to" in wrong.stderr


def test_a_copy_of_every_message_sent_is_kept_and_its_preview_goes(case):
    assert case.cli().returncode == 0
    assert (case.folder / "outbox" / "1337-24.eml").exists()
    mailbox = Mailbox()
    with smtp_server(mailbox) as url:
        result = send(case, url, only=(TYUMEN, ISHIM))
    assert not result.problems.has_errors, errors(result)
    sent = case.folder / mailing.SENT_COPIES
    assert sorted(p.name for p in sent.iterdir()) == ["1337-24.eml", "1338-24.eml"]
    for copy in sent.iterdir():
        message = email.message_from_bytes(copy.read_bytes(), policy=policy.default)
        (received,) = [m for m in mailbox.messages if m.message["Message-ID"] == message["Message-ID"]]
        assert copy.read_bytes() == received.raw and "X-Unsent" not in message
    assert sorted(p.name for p in (case.folder / "outbox").iterdir()) == ["1340-24.eml"]  # not sent yet
    assert run_letters("verify", str(case.folder), "--journal", case.journal).returncode == 0


def test_the_body_is_the_clerks_own_template_when_there_is_one(case):
    own = case.data.parent / "templates" / "mail.txt"
    own.parent.mkdir()
    own.write_text("{{ greeting }}\n\nНаправляем письмо № {{ number }}, просим подтвердить получение.\n\n{{ sender.name }}\n",
                   encoding="utf-8")
    assert case.cli("--only", TYUMEN).returncode == 0
    message = email.message_from_bytes((case.folder / "outbox" / "1337-24.eml").read_bytes(), policy=policy.default)
    assert message.get_body(("plain",)).get_content() == (
        "Уважаемый Иван Иванович!\r\n\r\nНаправляем письмо № 1337/24, просим подтвердить получение.\r\n\r\n"
        "Департамент информатизации Тюменской области\r\n")
    assert "<p>Направляем письмо № 1337/24, просим подтвердить получение.</p>" in message.get_body(("html",)).get_content()
    own.write_text("{{ greeting }}\n\nПисьмо № {{ numbr }}\n", encoding="utf-8")
    broken = case.cli("--only", TYUMEN)
    assert broken.returncode == 1 and "mail.txt" in broken.stderr and "numbr" in broken.stderr
