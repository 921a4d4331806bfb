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

from typing import TYPE_CHECKING

from .. import dates
from ..model import Dataset, ErrorType

if TYPE_CHECKING:
    from .history import History


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
HISTORY_MISSING = "Изменение с прошлой даты писем не показано: "  # and why, from the journal (report.history)
CHANGE_RULE = (
    "Изменение — в процентных пунктах против даты писем {date}, последней в журнале регистрации до даты "
    "отчёта. Учреждения с ошибками на дату писем — те, об ошибках которых сказано в письмах этой даты; МО без "
    "письма в эту дату ошибок тогда не имело. Доля на прошлые даты считается от реестра учреждений текущей папки "
    "данных: журнал не хранит прежних реестров."
)


def percent(value: float | None) -> str:
    """73.333 → «73,3 %» (a Russian decimal comma and a non-breaking space); None → «—»."""
    if value is None:
        return "—"
    return format_decimal(round(value, 1), "0.0", locale="ru") + "\u00a0%"


def points(change: float | None) -> str:
    """6.67 → «+6,7», −3.3 → «−3,3» (a true minus), None → «—»."""
    if change is None:
        return "—"
    text = format_decimal(abs(round(change, 1)), "0.0", locale="ru")
    return text if round(change, 1) == 0 else ("+" if change > 0 else "\u2212") + text


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
    earlier: int | None = None  # institutions with findings at the previous letter date; None: no history

    @property
    def correct(self) -> int:
        return self.registry - self.with_findings

    @property
    def share(self) -> float | None:
        """Of the registry's institutions, those with a correct widget, in %; None without any."""
        return 100.0 * self.correct / self.registry if self.registry else None

    @property
    def earlier_share(self) -> float | None:
        """The share at the previous letter date, of today's registry; None without history or institutions."""
        if self.earlier is None or not self.registry:
            return None
        return 100.0 * (self.registry - min(self.earlier, self.registry)) / self.registry

    @property
    def change(self) -> float | None:
        """Since the previous letter date, in percentage points (rounded as shown: «+6,7»)."""
        if self.share is None or self.earlier_share is None:
            return None
        return round(self.share - self.earlier_share, 1)

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
    why_no_history: str = ""  # without a previous letter date: why (report.history)
    previous: dt.date | None = None  # the previous letter date in the journal
    trend: tuple[tuple[dt.date, float], ...] = ()  # the region's share on each letter date, then on `date`

    @property
    def history(self) -> str:
        """What the report says about the change since the previous letters."""
        if self.previous is None:
            return HISTORY_MISSING + (self.why_no_history or "журнал регистрации не читался, поэтому отчёт — на одну дату.")
        return CHANGE_RULE.format(date=dates.numeric(self.previous))

    @property
    def change_line(self) -> str:
        """«Изменение с 20.05.2024: 30,0 % → 39,0 %, +9,0 п.п.»; without history, why there is none."""
        if self.previous is None:
            return self.history
        region = self.region
        return (f"Изменение с {dates.numeric(self.previous)}: доля по региону {percent(region.earlier_share)} → "
                f"{percent(region.share)}, {points(region.change)} п.п.")

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


def report_date(dataset: Dataset, date: dt.date | None = None) -> dt.date:
    """«По состоянию на»: `date`, or the latest date of check in the audit."""
    return date or max((f.checked_at for f in dataset.findings), default=dt.date.today())


def count(dataset: Dataset, date: dt.date | None = None, past: History | None = None) -> Figures:
    """The figures of the report. `date` defaults to the latest date of check in the audit;
    `past`, read from the journal (report.history), gives the change and the trend."""
    by_municipality = {m.name: m for m in dataset.municipalities}
    registry = Counter(org.municipality for org in dataset.organizations)
    flagged = {(f.organization.municipality, f.organization.site_key) for f in dataset.findings}
    with_findings = Counter(municipality for municipality, _ in flagged)
    codes: dict[str, Counter] = {name: Counter() for name in by_municipality}
    for finding in dataset.findings:
        codes[finding.organization.municipality][finding.error.code] += 1
    previous = past.previous if past else None

    def earlier(name: str) -> int | None:
        return None if previous is None else min(previous.with_findings.get(name, 0), registry[name])

    lines = tuple(
        Line(name, registry[name], with_findings[name], dict(codes[name]), earlier(name)) for name in by_municipality
    )
    region = Line(
        "Всего по региону",
        sum(line.registry for line in lines),
        sum(line.with_findings for line in lines),
        dict(sum((Counter(line.by_code) for line in lines), Counter())),
        None if previous is None else sum(line.earlier for line in lines),
    )
    when = report_date(dataset, date)
    trend: tuple[tuple[dt.date, float], ...] = ()
    if previous is not None and region.registry:
        for point in past.points:
            flagged_then = sum(min(point.with_findings.get(name, 0), registry[name]) for name in by_municipality)
            trend += ((point.date, 100.0 * (region.registry - flagged_then) / region.registry),)
        trend += ((when, region.share),)
    return Figures(when, dataset.settings.sender.name, tuple(dataset.errors), lines, region,
                   past.why_none if past else "", previous.date if previous else None, trend)
