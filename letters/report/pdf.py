"""Step 3a of the director's report: the PDF, A4 portrait, one page of summary first.

Page 1 is what the director reads: the department's name as on its letterhead, the title and
date, the region's figures and zone, and two small charts. Then the share per municipality,
the findings by error code per municipality, and the table of every municipality. Long lists
continue on further pages, so the charts stay readable for a region of any size.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import itertools
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import pikepdf
from matplotlib.artist import Artist
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .. import dates
from . import charts
from .figures import INDICATOR, TITLE, YELLOW, Figures, Line, percent, points

A4 = (8.27, 11.69)  # inches, portrait
ROWS_PER_PAGE = 40  # bars of a chart on one page
CHART_LIMIT = 2 * ROWS_PER_PAGE  # a bigger region's charts show those that need attention most


def write(figures: Figures, path: Path) -> None:
    """Write the report as a PDF at `path` (the caller makes it appear whole)."""
    created = dt.datetime.combine(figures.date, dt.time(), dt.timezone.utc)  # the same file for the same data
    metadata = {"Title": f"{TITLE}, на {dates.numeric(figures.date)}", "Author": figures.sender,
                "Subject": INDICATOR, "Creator": "letters", "CreationDate": created}
    tables = _table_count(figures)
    split = tables // 2 if tables >= PARALLEL_FROM else tables  # a big region's second half of the table…
    worker = None
    if split < tables:  # …is drawn by a second process meanwhile (the drawing is most of the time)
        rest = path.with_name(f".{path.stem}.tables{path.suffix}")
        worker = concurrent.futures.ProcessPoolExecutor(max_workers=1)
        done = worker.submit(_write_pages, figures, rest, split, _front_count(figures) + split + 1)
    try:
        with charts.style(), PdfPages(path, metadata=metadata) as pdf:
            pages = itertools.chain([_summary(figures)], _trend_pages(figures), _share_pages(figures),
                                    _findings_pages(figures), _table_pages(figures, 0, split))
            _save(pdf, pages, 1)
        if worker is not None:
            done.result()
            with pikepdf.open(path, allow_overwriting_input=True) as document, pikepdf.open(rest) as second:
                document.pages.extend(second.pages)
                document.save(path, deterministic_id=True)
    finally:
        if worker is not None:
            worker.shutdown(cancel_futures=True)
            rest.unlink(missing_ok=True)


PARALLEL_FROM = 12  # table pages (600 municipalities) from which a second process draws half of them


def _save(pdf: PdfPages, pages: Iterator[Figure], first: int) -> None:
    for number, page in enumerate(pages, first):  # one page at a time: a big region's pages never all in memory
        page.text(0.5, 0.025, f"{number}", ha="center", fontsize=8, color="#555555")
        pdf.savefig(page)


def _write_pages(figures: Figures, path: Path, start: int, number: int) -> None:
    """In the second process: the table's pages from chunk `start` on, numbered from `number`."""
    with charts.style(), PdfPages(path) as pdf:
        _save(pdf, _table_pages(figures, start), number)


def _front_count(figures: Figures) -> int:
    """The pages before the table: the summary, the trend, the share and the findings charts."""
    findings = sum(1 for m in figures.municipalities if m.findings)
    return (1 + (len(figures.trend) >= 2) + len(_chunks(figures.ranked[:CHART_LIMIT]))
            + (len(_chunks(list(range(min(findings, CHART_LIMIT))))) if findings else 0))


def _table_count(figures: Figures) -> int:
    return max(1, -(-len(figures.municipalities) // TABLE_ROWS))


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
        page.text(0.08, 0.828, "\n".join(textwrap.wrap(subtitle, 80)), ha="left", va="top", fontsize=11, weight="bold")


def _summary(figures: Figures) -> Figure:
    page = _page()
    _heading(page, figures)
    region = figures.region
    rows = [
        ("Учреждений в реестре", str(region.registry)),
        ("из них с ошибками размещения виджета ПОС", str(region.with_findings)),
        ("из них с верно размещённым виджетом", str(region.correct)),
        ("Доля учреждений с верно размещённым виджетом", percent(region.share)),
        *([(f"Изменение доли с {dates.numeric(figures.previous)}",
            f"{points(region.change)} п.п. (было {percent(region.earlier_share)})")] if figures.previous else []),
        ("Выявлено ошибок", str(region.findings)),
        ("Муниципальных образований", f"{len(figures.municipalities)}, с ошибками — "
                                      f"{sum(1 for m in figures.municipalities if m.with_findings)}"),
    ]
    y = 0.805
    step = 0.026 if len(rows) <= 6 else 0.0225
    for label, value in rows:
        page.text(0.10, y, label, fontsize=10.5)
        page.text(0.70, y, value, fontsize=10.5, weight="bold")
        y -= step
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


def _trend_pages(figures: Figures) -> Iterator[Figure]:
    """Once the journal has history: the region's share over the letter dates, with the zones."""
    if len(figures.trend) < 2:
        return
    page = _page()
    _heading(page, figures, "Доля учреждений с верно размещённым виджетом по региону по датам писем")
    charts.trend_chart(page.add_axes((0.12, 0.42, 0.80, 0.36)), figures.trend)
    text = ("Точки — даты писем в журнале регистрации и дата отчёта. " + figures.history)
    page.text(0.08, 0.36, "\n".join(textwrap.wrap(text, 110)), fontsize=8.5, va="top", color="#333333", linespacing=1.4)
    yield page


def _chunks(lines: Sequence[Line]) -> list[Sequence[Line]]:
    return [lines[i:i + ROWS_PER_PAGE] for i in range(0, len(lines), ROWS_PER_PAGE)] or [[]]


def _chart_axes(page: Figure, bars: int):
    """Axes as tall as their bars need, under the heading."""
    height = min(0.70, max(0.15, bars * charts.BAR_SLOT_IN / A4[1]))
    return page.add_axes((0.40, 0.79 - height, 0.50, height))


def _share_pages(figures: Figures) -> Iterator[Figure]:
    ranked = figures.ranked
    shown = ranked[:CHART_LIMIT][::-1]  # highest first, so that the pages read from the best down
    chunks = _chunks(shown)
    for n, chunk in enumerate(chunks, 1):
        page = _page()
        more = f" (стр. {n} из {len(chunks)})" if len(chunks) > 1 else ""
        _heading(page, figures, "Доля учреждений с верно размещённым виджетом по муниципальным образованиям" + more)
        if chunk:
            charts.share_chart(_chart_axes(page, len(chunk)), chunk)
        notes = []
        if len(ranked) > len(shown):
            notes.append(f"Показаны {len(shown)} МО с наименьшей долей из {len(ranked)}; все МО — в таблице в конце отчёта.")
        if figures.without_registry:
            notes.append("Нет учреждений в реестре: " + ", ".join(figures.without_registry))
        if notes and n == len(chunks):
            page.text(0.08, 0.07, "\n".join(textwrap.wrap(" ".join(notes), 110)[:4]), fontsize=8, va="top")
        yield page


def _findings_pages(figures: Figures) -> Iterator[Figure]:
    with_findings = sorted((m for m in figures.municipalities if m.findings), key=lambda m: (-m.findings, m.name))
    if not with_findings:
        return
    chunks = _chunks(with_findings[:CHART_LIMIT])
    for n, chunk in enumerate(chunks, 1):
        page = _page()
        more = f" (стр. {n} из {len(chunks)})" if len(chunks) > 1 else ""
        _heading(page, figures, "Ошибки по видам в муниципальных образованиях" + more)
        charts.findings_chart(_chart_axes(page, len(chunk)), figures, chunk)
        if len(with_findings) > CHART_LIMIT and n == len(chunks):
            page.text(0.08, 0.07, f"Показаны {CHART_LIMIT} МО с наибольшим числом ошибок из {len(with_findings)}; "
                                  "все МО — в таблице в конце отчёта.", fontsize=8, va="top")
        yield page


TABLE_HEADER = ("№", "Муниципальное образование", "Учреждений\nв реестре", "С ошибками", "С верным\nвиджетом",
                "Доля", "Зона", "Ошибок", "Изменение,\nп.п.")
TABLE_WIDTHS = (0.05, 0.33, 0.09, 0.09, 0.09, 0.08, 0.10, 0.07, 0.10)
NAME_CHARS = 46  # what fits the name column at 7.2 pt
TABLE_ROWS = 50  # a row is 4.4 mm: 50 rows and the header fill the page under the heading
ROW_IN = 0.175  # inches


def _table_pages(figures: Figures, start: int = 0, stop: int | None = None) -> Iterator[Figure]:
    """Every municipality, the region's total last (pages `start` to `stop` of the table). Drawn
    as plain text in the cells, which is several times faster than matplotlib's table for a
    region of thousands."""
    lines = list(figures.municipalities)
    chunks = [lines[i:i + TABLE_ROWS] for i in range(0, len(lines), TABLE_ROWS)] or [[]]
    for n, chunk in enumerate(chunks, 1):
        if n <= start or (stop is not None and n > stop):
            continue
        page = _page()
        more = f" (стр. {n} из {len(chunks)})" if len(chunks) > 1 else ""
        _heading(page, figures, "Показатели муниципальных образований" + more)
        first = (n - 1) * TABLE_ROWS + 1
        rows = [(str(first + i), m) for i, m in enumerate(chunk)]
        if n == len(chunks):
            rows.append(("", figures.region))
        _table(page, rows, total=n == len(chunks))
        yield page


def _table(page: Figure, rows: list[tuple[str, Line]], total: bool) -> None:
    height = (len(rows) + 2) * ROW_IN / A4[1]
    ax = page.add_axes((0.06, 0.80 - height, 0.88, height))
    ax.set_xlim(0, 1)
    ax.set_ylim(len(rows) + 2, 0)  # row r spans r..r+1, the header two rows
    ax.axis("off")
    edges = [sum(TABLE_WIDTHS[:i]) for i in range(len(TABLE_WIDTHS) + 1)]
    ax.add_patch(Rectangle((0, 0), 1, 2, color="#e8e8e8", lw=0))
    zoned = [(r, m.zone) for r, (_, m) in enumerate(rows) if m.zone is not None]
    if zoned:  # one call colours every zone cell
        ax.barh([r + 2.5 for r, _ in zoned], TABLE_WIDTHS[6], left=edges[6], height=1,
                color=[zone.color for _, zone in zoned], alpha=0.35, lw=0)
    ax.hlines(range(2, len(rows) + 3), 0, 1, color="#999999", lw=0.4)
    ax.hlines([0], 0, 1, color="#999999", lw=0.4)
    ax.vlines(edges, 0, len(rows) + 2, color="#999999", lw=0.4)
    for c, title in enumerate(TABLE_HEADER):
        ax.text((edges[c] + edges[c + 1]) / 2, 1, title, ha="center", va="center", fontsize=6.8, weight="bold")
    cells = [_row(number, m) for number, m in rows]
    for c in range(len(TABLE_HEADER)):
        x, align = (edges[1] + 0.008, "left") if c == 1 else ((edges[c] + edges[c + 1]) / 2, "center")
        ax.add_artist(_Column(ax.transData, x, 2, [row[c] for row in cells], align, bold_last=total))


TABLE_FONT = 7.2  # points
_WIDTHS: dict[float, dict[tuple[str, bool], float]] = {}  # pixels per point → (text, bold) → width


class _Column(Artist):
    """One column of the table: a line of text per row, each centred on its row.

    A matplotlib Text per cell costs a region of thousands of municipalities a minute (the
    artist's own work, not the drawing of the letters); this draws the same text straight
    through the renderer, as Text.draw itself does, with the same fonts."""

    def __init__(self, transform, x: float, top: float, lines: list[str], align: str, bold_last: bool):
        super().__init__()
        self.set_transform(transform)
        self.x, self.top, self.lines, self.align, self.bold_last = x, top, lines, align, bold_last

    def draw(self, renderer) -> None:
        if not self.get_visible() or not self.lines:
            return
        normal = FontProperties(size=TABLE_FONT)
        bold = FontProperties(size=TABLE_FONT, weight="bold")
        _, digit, _ = renderer.get_text_width_height_descent("0", normal, ismath=False)
        gc = renderer.new_gc()
        gc.set_foreground("black")
        transform = self.get_transform()
        last = len(self.lines) - 1
        widths = _WIDTHS.setdefault(renderer.points_to_pixels(1.0), {})  # «10», «0,0», «жёлтая» repeat
        for r, line in enumerate(self.lines):
            if not line:
                continue
            font = bold if self.bold_last and r == last else normal
            x, y = transform.transform((self.x, self.top + r + 0.5))
            if self.align == "center":
                key = (line, font is bold)
                if key not in widths:
                    widths[key] = renderer.get_text_width_height_descent(line, font, ismath=False)[0]
                x -= widths[key] / 2
            renderer.draw_text(gc, x, y - digit / 2, line, font, 0.0)
        gc.restore()
        self.stale = False


def _row(number: str, m: Line) -> list[str]:
    zone = m.zone.name.replace(" зона", "") if m.zone else "—"
    name = m.name if len(m.name) <= NAME_CHARS else m.name[:NAME_CHARS - 1] + "…"
    return [number, name, str(m.registry), str(m.with_findings), str(m.correct), percent(m.share), zone,
            str(m.findings), points(m.change)]
