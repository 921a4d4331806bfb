"""The small typed model that the tables are validated into.

Everything after validation works on these objects only, never on raw table rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class Municipality:
    name: str
    head_position: str
    head_name: str
    head_position_dative: str = ""
    head_name_dative: str = ""
    salutation: str = ""
    emails: tuple[str, ...] = ()
    address: str = ""


@dataclass(frozen=True)
class Organization:
    name: str
    municipality: str
    site: str  # as written in the registry
    site_key: str  # normalised, for matching audit rows
    lko_messages: str = ""
    lko_votes: str = ""


@dataclass(frozen=True)
class ErrorType:
    code: str
    title: str
    recommendation: str

    @property
    def paragraphs(self) -> list[str]:
        """Blank lines split the recommendation into paragraphs."""
        parts = [p.strip() for p in self.recommendation.replace("\r\n", "\n").split("\n\n")]
        return [" ".join(p.split("\n")) for p in parts if p]


@dataclass(frozen=True)
class Finding:
    organization: Organization
    error: ErrorType
    checked_at: dt.date
    details: str = ""
    screenshot: Path | None = None  # «Снимок экрана» of a `letters audit` table, checked to exist


@dataclass(frozen=True)
class PlanItem:
    action: str
    due: str
    responsible: str
    result: str = ""


@dataclass(frozen=True)
class Sender:
    name: str
    name_genitive: str
    address: str
    phone: str
    email: str
    fax: str = ""


@dataclass(frozen=True)
class Person:
    position: str
    name: str


@dataclass(frozen=True)
class Executor:
    name: str
    phone: str


DEFAULT_APPENDIX_TITLES = (
    "Перечень выявленных ошибок",
    "Рекомендации по устранению ошибок",
    "План мероприятий по повышению значений показателей оперативного рейтинга",
)


@dataclass(frozen=True)
class CircularWording:
    """The `[circular]` section of letters.toml: how a letter by list (seed 000) addresses its
    heads. Only a letter by list needs `addressee`."""

    addressee: str = ""  # «Главам муниципальных образований Тюменской области»
    by_list: str = "(по списку)"
    greeting: str = "Уважаемые коллеги!"
    region: str = ""  # under the title of appendix 1: «Муниципальные образования Тюменской области»


@dataclass(frozen=True)
class Settings:
    """What `letters.toml` says about the sender and the letter."""

    sender: Sender
    signer: Person
    executor: Executor
    subject: str
    deadline: dt.date
    number_pattern: str = "{seq}/{yy}"
    first_number: int = 1
    incoming_number: str = ""
    incoming_date: str = ""
    appendix_titles: tuple[str, str, str] = DEFAULT_APPENDIX_TITLES
    appendix_files: tuple[str, ...] = ()  # [letter] appendix_files: short names for the file names
    circular: CircularWording = CircularWording()
    case_file: str = ""  # the register's «Дело»: the file of the nomenclature the letters are kept in

    @property
    def appendix_file_titles(self) -> tuple[str, ...]:
        """What the appendices' files are called after «Приложение N.»: the short name the
        clerk set, or else the whole title."""
        return tuple(short or title for short, title in zip(self.appendix_files or ("",) * 3, self.appendix_titles))


@dataclass
class Dataset:
    """A validated data folder."""

    settings: Settings
    municipalities: list[Municipality]
    organizations: list[Organization]
    errors: list[ErrorType]
    findings: list[Finding]
    plan: list[PlanItem]

    def findings_of(self, municipality: str) -> list[Finding]:
        return self._findings_by_municipality.get(municipality, [])

    @property
    def municipalities_with_findings(self) -> list[Municipality]:
        return [m for m in self.municipalities if m.name in self._findings_by_municipality]

    @cached_property
    def _findings_by_municipality(self) -> dict[str, list[Finding]]:
        # built once: a region's build asks for each municipality's findings several times
        index: dict[str, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            index[finding.organization.municipality].append(finding)
        return dict(index)



DEFAULT_MAIL_SUBJECT = "Исх. № {number} от {date} — {subject}"
DEFAULT_MAIL_RATE = 20  # messages a minute; see letters/mail.py for why


@dataclass(frozen=True)
class MailSettings:
    """The `[mail]` section of `letters.toml`: how `letters mail` sends the packs."""

    address: str  # the From address, e.g. di@72to.ru
    name: str = ""  # the name shown with it
    subject: str = DEFAULT_MAIL_SUBJECT  # {number}, {date}, {subject}, {municipality}
    rate: int = DEFAULT_MAIL_RATE
    reply_to: str = ""
    bcc: tuple[str, ...] = ()  # the department's own archive copy
    smtp: str = ""  # smtp://user@host:port or smtps://…; the password never here
    signed_only: bool = False  # mail only letters whose signed scan is in the journal
