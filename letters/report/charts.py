"""Step 2 of the director's report: the charts, drawn with matplotlib into given axes.

No pyplot and no screen: figures are plain `matplotlib.figure.Figure`s drawn by the Agg and PDF
backends. Text is set in Liberation Sans (DejaVu Sans where it is missing; matplotlib ships
that one), both with Cyrillic, and a PDF embeds the fonts as TrueType (`pdf.fonttype` 42), so
the report prints the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib
import matplotlib.ticker
from .. import dates
from .figures import GREEN, RED, YELLOW, ZONES, Figures, Line, percent

matplotlib.use("Agg")  # never a window, whatever the environment says

STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": ["Liberation Sans", "DejaVu Sans"],
    "font.size": 9,
    "pdf.fonttype": 42,  # TrueType, embedded (subset): Cyrillic prints as it was drawn
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "svg.fonttype": "none",
}
# Colours of the error codes in the stacked chart, in the catalogue's order (colour-blind safe).
CODE_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
BAR_SLOT_IN = 0.24  # inches of page per bar: the names stay readable


@contextmanager
def style() -> Iterator[None]:
    """Everything the report draws and saves is done inside this."""
    with matplotlib.rc_context(STYLE):
        yield


def wrap(text: str, width: int = 34) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def share_chart(ax, lines: Sequence[Line]) -> None:
    """The share of institutions with a correct widget per municipality, highest at the top,
    bars coloured by zone over bands of the zones, with the zones' thresholds drawn."""
    ordered = sorted(lines, key=lambda m: (m.share, m.registry))  # barh draws from the bottom
    names = [wrap(m.name, 38) for m in ordered]
    y = range(len(ordered))
    for zone, high in ((RED, YELLOW.low), (YELLOW, GREEN.low), (GREEN, 100.0)):
        ax.axvspan(zone.low, high, color=zone.color, alpha=0.10, lw=0)
    ax.barh(y, [m.share for m in ordered], color=[m.zone.color for m in ordered], height=0.7)
    for threshold in (YELLOW.low, GREEN.low):
        ax.axvline(threshold, color="#333333", lw=1, ls="--")
        ax.text(threshold, len(ordered) - 0.3, f" {threshold:g} %", va="bottom", ha="left", fontsize=8)
    for i, m in zip(y, ordered):
        ax.text(min(m.share, 100) + 1, i, f"{percent(m.share)}  ({m.correct} из {m.registry})", va="center", fontsize=7.5)
    ax.set_yticks(list(y), names, fontsize=7.5)
    ax.set_xlim(0, 118)
    ax.set_ylim(-0.6, len(ordered) - 0.4 + 0.8)
    ax.set_xticks([0, 20, 40, 60, 80, 100], ["0", "20", "40", "60", "80", "100 %"])
    ax.set_xlabel("Доля учреждений с верно размещённым виджетом ПОС, % от учреждений реестра")


def trend_chart(ax, trend: Sequence[tuple[dt.date, float]]) -> None:
    """The region's share over the letter dates (and the report's own date, last), over bands of
    the zones with their thresholds drawn; each point labelled with its share."""
    xs = [date for date, _ in trend]
    ys = [share for _, share in trend]
    for zone, high in ((RED, YELLOW.low), (YELLOW, GREEN.low), (GREEN, 100.0)):
        ax.axhspan(zone.low, high, color=zone.color, alpha=0.10, lw=0)
    for threshold in (YELLOW.low, GREEN.low):
        ax.axhline(threshold, color="#333333", lw=1, ls="--")
        ax.text(1.0, threshold, f" {threshold:g} %", transform=ax.get_yaxis_transform(), va="center", ha="left",
                fontsize=8)
    ax.plot(xs, ys, color="#1f4e79", lw=2, marker="o", ms=6, zorder=3)
    for x, y in zip(xs, ys):
        ax.annotate(percent(y), (x, y), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8.5,
                    weight="bold")
    ax.set_ylim(0, 105)
    ax.set_yticks([0, 20, 40, 60, 80, 100], ["0", "20", "40", "60", "80", "100 %"])
    ax.set_xticks(xs, [dates.numeric(x) for x in xs], rotation=45 if len(xs) > 6 else 0, ha="right" if len(xs) > 6 else "center")
    if len(xs) > 1:
        span = (xs[-1] - xs[0]) * 0.06 or dt.timedelta(days=1)
        ax.set_xlim(xs[0] - span, xs[-1] + span)
    ax.set_ylabel("Доля учреждений с верно размещённым виджетом, %")
    ax.grid(axis="y", color="#dddddd", lw=0.5)


def findings_chart(ax, figures: Figures, lines: Sequence[Line]) -> None:
    """Findings per municipality, stacked by error code (the catalogue's colours), most at the top."""
    ordered = sorted(lines, key=lambda m: (m.findings, m.name), reverse=True)[::-1]
    y = list(range(len(ordered)))
    left = [0] * len(ordered)
    for n, code in enumerate(figures.codes):
        values = [m.by_code.get(code, 0) for m in ordered]
        ax.barh(y, values, left=left, height=0.7, color=CODE_COLORS[n % len(CODE_COLORS)],
                label=wrap(figures.title_of(code), 48))
        left = [a + b for a, b in zip(left, values)]
    for i, total in zip(y, left):
        ax.text(total + 0.2, i, str(total), va="center", fontsize=7.5)
    ax.set_yticks(y, [wrap(m.name, 38) for m in ordered], fontsize=7.5)
    ax.set_xlabel("Число выявленных ошибок")
    ax.margins(x=0.08)
    ax.legend(loc="lower right", fontsize=7, frameon=True, title="Вид ошибки", title_fontsize=7.5)


def zones_chart(ax, figures: Figures) -> None:
    """How many municipalities are in each zone."""
    counts = figures.zone_counts()
    names = [f"{zone.name}\n(от {zone.low:g} %)" if zone.low else f"{zone.name}\n(ниже {YELLOW.low:g} %)" for zone, _ in counts]
    ax.barh(range(len(counts)), [n for _, n in counts], color=[zone.color for zone, _ in counts], height=0.6)
    for i, (_, n) in enumerate(counts):
        ax.text(n + 0.2, i, str(n), va="center")
    ax.set_yticks(range(len(counts)), names)
    ax.invert_yaxis()
    ax.margins(x=0.15)
    ax.set_title("Муниципальные образования по зонам")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


def codes_chart(ax, figures: Figures) -> None:
    """The region's findings by error code, the catalogue's order and colours."""
    codes = figures.codes
    values = [figures.region.by_code[c] for c in codes]
    colors = [CODE_COLORS[n % len(CODE_COLORS)] for n in range(len(codes))]
    ax.barh(range(len(codes)), values, color=colors, height=0.6)
    for i, v in enumerate(values):
        ax.text(v + 0.2, i, str(v), va="center")
    ax.set_yticks(range(len(codes)), [wrap(figures.title_of(c), 40) for c in codes], fontsize=8)
    ax.invert_yaxis()
    ax.margins(x=0.12)
    ax.set_title("Ошибки по видам, всего по региону")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


__all__ = ["ZONES", "codes_chart", "findings_chart", "percent", "share_chart", "style", "trend_chart", "zones_chart"]
