"""Step 1 of the director's report: the figures, counted from the validated data folder.

Pure counting over `model.Dataset`, nothing read or drawn here. An institution «with a correct
widget» is one of the registry with no finding in the audit; the share is that of the
registry's institutions (the Rating's indicator «Внедрение Платформы обратной связи» counts
institutions, seed 000). The zone is the one the region's slides use (seed 004).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from babel.numbers import format_decimal

from ..model import Dataset, ErrorType


@dataclass(frozen=True)
class Zone:
    name: str  # «зелёная зона»
    low: float  # from this share, in %, up
    color: str  # as the charts draw it


# Seed 004 puts a region in the green zone at 80–100 % and in the yellow one at 20–60 %; it
# names no zone for 60–80 %, which is not green yet, so it counts as yellow here. Below 20 % red.
GREEN = Zone("зелёная зона", 80.0, "#2e7d32")
YELLOW = Zone("жёлтая зона", 20.0, "#f2b705")
RED = Zone("красная зона", 0.0, "#c62828")
ZONES = (GREEN, YELLOW, RED)

TITLE = "О внедрении виджетов Платформы обратной связи (ПОС) на сайтах учреждений"
INDICATOR = "показатель Рейтинга «Внедрение Платформы обратной связи»"
HISTORY_MISSING = (
    "Изменение с прошлой даты писем не показано: журнал пока не хранит результаты прошлых "
    "проверок, поэтому отчёт — на одну дату."
)


def percent(value: float | None) -> str:
    """73.333 → «73,3 %» (a Russian decimal comma and a non-breaking space); None → «—»."""
    if value is None:
        return "—"
    return format_decimal(round(value, 1), "0.0", locale="ru") + "\u00a0%"


def zone_of(share: float | None) -> Zone | None:
    if share is None:
        return None
    return next(zone for zone in ZONES if share >= zone.low)


@dataclass(frozen=True)
class Line:
    """One municipality, or the whole region."""

    name: str
    registry: int  # institutions in the registry
    with_findings: int  # of them, with at least one finding
    by_code: dict[str, int] = field(default_factory=dict)  # error code → findings

    @property
    def correct(self) -> int:
        return self.registry - self.with_findings

    @property
    def share(self) -> float | None:
        """Of the registry's institutions, those with a correct widget, in %; None without any."""
        return 100.0 * self.correct / self.registry if self.registry else None

    @property
    def findings(self) -> int:
        return sum(self.by_code.values())

    @property
    def zone(self) -> Zone | None:
        return zone_of(self.share)


@dataclass(frozen=True)
class Figures:
    date: dt.date  # «по состоянию на»
    sender: str  # the department, as on its letterhead
    errors: tuple[ErrorType, ...]  # the catalogue, in its order
    municipalities: tuple[Line, ...]  # in the order of the municipalities table
    region: Line
    history: str = HISTORY_MISSING  # what is said about the change since the previous letters

    @property
    def codes(self) -> tuple[str, ...]:
        """The catalogue's codes that have findings, in its order."""
        return tuple(e.code for e in self.errors if self.region.by_code.get(e.code))

    def title_of(self, code: str) -> str:
        return next((e.title for e in self.errors if e.code == code), code)

    @property
    def ranked(self) -> list[Line]:
        """Municipalities with institutions, lowest share first (ties: more institutions first)."""
        lines = [m for m in self.municipalities if m.registry]
        return sorted(lines, key=lambda m: (m.share, -m.registry, m.name))

    @property
    def without_registry(self) -> list[str]:
        return [m.name for m in self.municipalities if not m.registry]

    def zone_counts(self) -> list[tuple[Zone, int]]:
        counts = Counter(m.zone for m in self.municipalities if m.zone is not None)
        return [(zone, counts[zone]) for zone in ZONES]


def count(dataset: Dataset, date: dt.date | None = None) -> Figures:
    """The figures of the report. `date` defaults to the latest date of check in the audit."""
    by_municipality = {m.name: m for m in dataset.municipalities}
    registry = Counter(org.municipality for org in dataset.organizations)
    flagged = {(f.organization.municipality, f.organization.site_key) for f in dataset.findings}
    with_findings = Counter(municipality for municipality, _ in flagged)
    codes: dict[str, Counter] = {name: Counter() for name in by_municipality}
    for finding in dataset.findings:
        codes[finding.organization.municipality][finding.error.code] += 1
    lines = tuple(
        Line(name, registry[name], with_findings[name], dict(codes[name])) for name in by_municipality
    )
    region = Line(
        "Всего по региону",
        sum(line.registry for line in lines),
        sum(line.with_findings for line in lines),
        dict(sum((Counter(line.by_code) for line in lines), Counter())),
    )
    when = date or max((f.checked_at for f in dataset.findings), default=dt.date.today())
    return Figures(when, dataset.settings.sender.name, tuple(dataset.errors), lines, region)
