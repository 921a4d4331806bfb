"""Step 3a of the director's report: the PDF, A4 portrait, one page of summary first.

Page 1 is what the director reads: the department's name as on its letterhead, the title and
date, the region's figures and zone, and two small charts. Then the share per municipality,
the findings by error code per municipality, and the table of every municipality. Long lists
continue on further pages, so the charts stay readable for a region of any size.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .. import dates
from . import charts
from .figures import INDICATOR, TITLE, YELLOW, Figures, Line, percent

A4 = (8.27, 11.69)  # inches, portrait
ROWS_PER_PAGE = 40  # bars of a chart or rows of the table on one page


def write(figures: Figures, path: Path) -> None:
    """Write the report as a PDF at `path` (the caller makes it appear whole)."""
    created = dt.datetime.combine(figures.date, dt.time(), dt.timezone.utc)  # the same file for the same data
    metadata = {"Title": f"{TITLE}, на {dates.numeric(figures.date)}", "Author": figures.sender,
                "Subject": INDICATOR, "Creator": "letters", "CreationDate": created}
    with charts.style(), PdfPages(path, metadata=metadata) as pdf:
        pages = [_summary(figures), *_share_pages(figures), *_findings_pages(figures), *_table_pages(figures)]
        for number, page in enumerate(pages, 1):
            page.text(0.5, 0.025, f"{number}", ha="center", fontsize=8, color="#555555")
            pdf.savefig(page)


def _page() -> Figure:
    return Figure(figsize=A4)


def _heading(page: Figure, figures: Figures, subtitle: str = "") -> None:
    """The department's name as on its letterhead, a rule under it, the title and the date."""
    page.text(0.5, 0.962, figures.sender, ha="center", va="top", fontsize=10.5, weight="bold")
    page.add_artist(Line2D([0.08, 0.92], [0.938, 0.938], color="#222222", lw=0.8))
    page.text(0.5, 0.915, "\n".join(textwrap.wrap(TITLE, 60)), ha="center", va="top", fontsize=12.5,
              weight="bold", linespacing=1.3)
    page.text(0.5, 0.862, f"по состоянию на {dates.long(figures.date)}", ha="center", va="top", fontsize=10.5)
    if subtitle:
        page.text(0.08, 0.825, subtitle, ha="left", va="top", fontsize=11, weight="bold")


def _summary(figures: Figures) -> Figure:
    page = _page()
    _heading(page, figures)
    region = figures.region
    rows = [
        ("Учреждений в реестре", str(region.registry)),
        ("из них с ошибками размещения виджета ПОС", str(region.with_findings)),
        ("из них с верно размещённым виджетом", str(region.correct)),
        ("Доля учреждений с верно размещённым виджетом", percent(region.share)),
        ("Выявлено ошибок", str(region.findings)),
        ("Муниципальных образований", f"{len(figures.municipalities)}, с ошибками — "
                                      f"{sum(1 for m in figures.municipalities if m.with_findings)}"),
    ]
    y = 0.805
    for label, value in rows:
        page.text(0.10, y, label, fontsize=10.5)
        page.text(0.70, y, value, fontsize=10.5, weight="bold")
        y -= 0.026
    zone = region.zone
    if zone is not None:
        page.add_artist(Rectangle((0.10, 0.625), 0.80, 0.034, color=zone.color, alpha=0.9))
        dark = zone is YELLOW
        page.text(0.12, 0.636, f"Регион — {zone.name}: {percent(region.share)}", fontsize=11, weight="bold",
                  color="#222222" if dark else "white")
    notes = [
        (f"{INDICATOR[0].upper()}{INDICATOR[1:]}: доля учреждений реестра с верно размещённым виджетом. "
         "Зоны — как в материалах региона: зелёная — от 80 %, жёлтая — от 20 %, ниже 20 % — красная.", "normal"),
        (figures.history, "italic"),
    ]
    y = 0.605
    for text, font_style in notes:
        lines = textwrap.wrap(text, 100)
        page.text(0.10, y, "\n".join(lines), fontsize=8.5, style=font_style, va="top", color="#333333",
                  linespacing=1.4)
        y -= 0.017 * len(lines) + 0.008
    charts.zones_chart(page.add_axes((0.33, 0.36, 0.57, 0.11)), figures)
    if figures.codes:
        charts.codes_chart(page.add_axes((0.45, 0.07, 0.45, 0.24)), figures)
    return page


def _chunks(lines: Sequence[Line]) -> list[Sequence[Line]]:
    return [lines[i:i + ROWS_PER_PAGE] for i in range(0, len(lines), ROWS_PER_PAGE)] or [[]]


def _chart_axes(page: Figure, bars: int):
    """Axes as tall as their bars need, under the heading."""
    height = min(0.70, max(0.15, bars * charts.BAR_SLOT_IN / A4[1]))
    return page.add_axes((0.40, 0.79 - height, 0.50, height))


def _share_pages(figures: Figures) -> list[Figure]:
    ranked = figures.ranked[::-1]  # highest first, so that the pages read from the best down
    chunks = _chunks(ranked)
    pages = []
    for n, chunk in enumerate(chunks, 1):
        page = _page()
        more = f" (стр. {n} из {len(chunks)})" if len(chunks) > 1 else ""
        _heading(page, figures, "Доля учреждений с верно размещённым виджетом по муниципальным образованиям" + more)
        if chunk:
            charts.share_chart(_chart_axes(page, len(chunk)), chunk)
        if figures.without_registry and n == len(chunks):
            page.text(0.08, 0.06, "Нет учреждений в реестре: " + ", ".join(figures.without_registry), fontsize=8)
        pages.append(page)
    return pages


def _findings_pages(figures: Figures) -> list[Figure]:
    with_findings = sorted((m for m in figures.municipalities if m.findings), key=lambda m: (-m.findings, m.name))
    if not with_findings:
        return []
    chunks = _chunks(with_findings)
    pages = []
    for n, chunk in enumerate(chunks, 1):
        page = _page()
        more = f" (стр. {n} из {len(chunks)})" if len(chunks) > 1 else ""
        _heading(page, figures, "Ошибки по видам в муниципальных образованиях" + more)
        charts.findings_chart(_chart_axes(page, len(chunk)), figures, chunk)
        pages.append(page)
    return pages


TABLE_HEADER = ("№", "Муниципальное образование", "Учреждений\nв реестре", "С ошибками", "С верным\nвиджетом",
                "Доля", "Зона", "Ошибок")
TABLE_WIDTHS = (0.05, 0.37, 0.10, 0.10, 0.10, 0.09, 0.11, 0.08)


def _table_pages(figures: Figures) -> list[Figure]:
    lines = list(figures.municipalities)
    chunks = _chunks(lines)
    pages = []
    first = 1
    for n, chunk in enumerate(chunks, 1):
        page = _page()
        more = f" (стр. {n} из {len(chunks)})" if len(chunks) > 1 else ""
        _heading(page, figures, "Показатели муниципальных образований" + more)
        rows = [_row(str(first + i), m) for i, m in enumerate(chunk)]
        if n == len(chunks):
            rows.append(_row("", figures.region))
        first += len(chunk)
        height = min(0.74, 0.018 * (len(rows) + 2))
        ax = page.add_axes((0.06, 0.80 - height, 0.88, height))
        ax.axis("off")
        table = ax.table(cellText=rows, colLabels=TABLE_HEADER, colWidths=TABLE_WIDTHS, loc="upper center",
                         cellLoc="center", bbox=(0, 0, 1, 1))
        table.auto_set_font_size(False)
        table.set_fontsize(7.5)
        for column in range(len(TABLE_HEADER)):
            table[0, column].set_fontsize(6.8)
        _lay_out(table, chunk, figures, total=n == len(chunks))
        pages.append(page)
    return pages


def _row(number: str, m: Line) -> list[str]:
    zone = m.zone.name.replace(" зона", "") if m.zone else "—"
    return [number, m.name, str(m.registry), str(m.with_findings), str(m.correct), percent(m.share), zone,
            str(m.findings)]


def _lay_out(table, chunk: Sequence[Line], figures: Figures, total: bool) -> None:
    for (row, column), cell in table.get_celld().items():
        cell.set_linewidth(0.4)
        if row == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#e8e8e8")
        elif column == 1:
            cell.set_text_props(ha="left")
            cell.PAD = 0.02
        line = chunk[row - 1] if 0 < row <= len(chunk) else figures.region if total and row else None
        if line is not None and column == 6 and line.zone is not None:
            cell.set_facecolor(line.zone.color)
            cell.set_alpha(0.35)
        if total and row == len(chunk) + 1:
            cell.set_text_props(weight="bold")
