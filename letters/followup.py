"""Step 3a: what each municipality was told before, beside what is found now.

A finding matches one an earlier letter told of when its site (normalised, as the audit
table is matched to the registry) and its error code agree. A municipality whose earlier
letter (issued or sent, not cancelled or replaced, on the same subject) told of findings
that are still found gets a follow-up letter that cites it; one whose earlier findings are
all fixed and that has no new ones gets no letter at all. A site that has left the
registry since counts as neither fixed nor remaining.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import dates
from .journal import ISSUED, SENT, Journal, Letter, Told
from .model import Dataset, Finding
from .problems import Problems

Key = tuple[str, str]  # (site_key, error code)


@dataclass(frozen=True)
class Earlier:
    """A municipality's earlier letter, and how its findings stand now."""

    number: str
    date: dt.date
    told: tuple[Told, ...]
    remaining: frozenset[Key]  # told then, found now
    fixed: int  # told then, not found now, the site still in the registry
    gone: tuple[str, ...] = ()  # sites told of that have left the registry
    new: int = 0  # found now, not told then

    @property
    def cited(self) -> str:
        """«письмо от 20.05.2024 № 1339/24»"""
        return f"письмо от {dates.numeric(self.date)} № {self.number}"

    def still_there(self, finding: Finding) -> bool:
        return key(finding) in self.remaining


@dataclass
class Standing:
    """The follow-ups of a build, and the municipalities that need no letter any more."""

    earlier: dict[str, Earlier] = field(default_factory=dict)  # municipality → its earlier letter
    all_fixed: dict[str, Earlier] = field(default_factory=dict)


def key(finding: Finding) -> Key:
    return (finding.organization.site_key, finding.error.code)


def told_of(findings: list[Finding], municipality: str) -> tuple[Told, ...]:
    """What a letter tells its municipality of, as the journal keeps it."""
    return tuple(
        Told(municipality, f.organization.name, f.organization.site, f.organization.site_key, f.error.code, f.details,
             f.checked_at)
        for f in findings
    )


def last_letters(journal: Journal, before: dt.date, subject: str, kind: str) -> dict[str, Letter]:
    """Each municipality's latest letter of `kind` dated before `before` on `subject`,
    that stands (issued or sent: not cancelled, not replaced)."""
    latest: dict[str, Letter] = {}
    for letter in journal.list():
        if (letter.kind == kind and letter.date < before and letter.status in (ISSUED, SENT)
                and not letter.replaced_by and letter.subject == subject):
            current = latest.get(letter.municipality)
            if current is None or (letter.date, letter.seq) > (current.date, current.seq):
                latest[letter.municipality] = letter
    return latest


def compared(journal: Journal, dataset: Dataset, before: dt.date, kind: str) -> dict[str, tuple[Letter, Earlier]]:
    """Each municipality's last letter before `before`, and how what it told of stands in
    `dataset` (a letter from a journal older than the history has nothing to compare)."""
    letters = last_letters(journal, before, dataset.settings.subject, kind)
    told = journal.told([letter.id for letter in letters.values()])
    registry = {o.site_key for o in dataset.organizations}
    return {municipality: (letter, _compare(letter, tuple(told[letter.id]), dataset.findings_of(municipality), registry))
            for municipality, letter in letters.items() if told.get(letter.id)}


def standing(journal: Journal, dataset: Dataset, date: dt.date, kind: str, problems: Problems) -> Standing:
    """How each municipality's earlier findings stand on `date`."""
    result = Standing()
    for municipality, (letter, earlier) in compared(journal, dataset, date, kind).items():
        for site in earlier.gone:
            problems.warning(f"{municipality}: сайта {site} из письма № {letter.number} больше нет в таблице "
                             "organizations — его ошибки не считаются ни устранёнными, ни оставшимися")
        if earlier.remaining:
            result.earlier[municipality] = earlier
        elif not dataset.findings_of(municipality):
            result.all_fixed[municipality] = earlier
    return result


def _compare(letter: Letter, told: tuple[Told, ...], now: list[Finding], registry: set[str]) -> Earlier:
    found = {key(f) for f in now}
    then = {(t.site_key, t.code) for t in told}
    gone = tuple(dict.fromkeys(t.site for t in told if t.site_key not in registry))
    fixed = {k for k in then - found if k[0] in registry}
    return Earlier(letter.number, letter.date, told, frozenset(then & found), len(fixed), gone, len(found - then))
