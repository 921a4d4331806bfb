"""`letters report`: the director's report on the region's indicator, a wing of its own.

Step by step: the data folder is read and validated as for `letters validate`
(`validate.load_dataset`), `history` reads the earlier letter dates from the journal (read
only), `figures` counts, and the writer registered for the output's
extension lays the figures out — `pdf` (A4, with `charts`) or `xlsx`. Like the build's
pipeline it never prints: `make()` returns a `ReportResult` with its problems.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..problems import Problems
from ..validate import load_dataset
from . import figures as counting
from . import history
from .figures import Figures

Writer = Callable[[Figures, Path], None]


def _pdf(figures: Figures, path: Path) -> None:
    from . import pdf  # matplotlib is loaded only for a PDF

    pdf.write(figures, path)


def _xlsx(figures: Figures, path: Path) -> None:
    from . import xlsx

    xlsx.write(figures, path)


# One definition per output format: the rest of the report never names a format.
FORMATS: dict[str, Writer] = {".pdf": _pdf, ".xlsx": _xlsx}


@dataclass(frozen=True)
class ReportRequest:
    out: Path
    data: Path = Path("data")
    date: dt.date | None = None  # «по состоянию на»; default: the latest date of check in the audit
    journal: str | None = None  # --journal; None: the journal `letters build` would use (journal.location)


@dataclass
class ReportResult:
    problems: Problems
    figures: Figures | None = None
    path: Path | None = None  # None: nothing written


def make(request: ReportRequest) -> ReportResult:
    """Count the figures of the data folder and write the report; bad input writes nothing."""
    problems = Problems()
    writer = FORMATS.get(request.out.suffix.lower())
    if writer is None:
        problems.error(f"отчёт записывается в файл .pdf или .xlsx, а не «{request.out.name}»: "
                       "например --out отчёт.pdf")
        return ReportResult(problems)
    dataset = load_dataset(request.data, problems)
    if dataset is None:
        return ReportResult(problems)
    when = counting.report_date(dataset, request.date)
    past = history.read(request.journal, request.data, dataset, when)  # read only: never a number, never a write
    figures = counting.count(dataset, when, past)
    try:
        _write_whole(writer, figures, request.out)
    except OSError as exc:
        problems.error(f"не удалось записать отчёт {request.out}: {exc.strerror or exc}; "
                       "закройте файл, если он открыт в другой программе, и повторите")
        return ReportResult(problems, figures)
    return ReportResult(problems, figures, request.out)


def _write_whole(writer: Writer, figures: Figures, path: Path) -> None:
    """A report cut short leaves no half-written file, and an earlier one stays as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.part{path.suffix}")
    try:
        writer(figures, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
