"""`letters build --draft`: the whole batch, for the director to read, before any number exists.

A draft takes no number and writes nothing to the journal: `DraftJournal` stands in for
the journal and forgets everything. Its packs go to `OUT/<YYYY-MM-DD> проект/`, with the
number left blank, «ПРОЕКТ» across every page of every PDF, and one PDF of the whole batch.
This is the preview of Word's mail merge."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
from pathlib import Path

import pikepdf

from .convert import write_pdf
from .journal import ISSUED, Letter

MARK = "ПРОЕКТ"
FOLDER_SUFFIX = " проект"
WHOLE_BATCH = "Все письма одним файлом (проект).pdf"


def folder_name(date: dt.date) -> str:
    return f"{date.isoformat()}{FOLDER_SUFFIX}"


class DraftJournal:
    """The journal's part in a build, for a draft: every letter is new and has no number."""

    url = "проект"

    def recover(self, live, adopt) -> None:
        pass

    def active(self, date: dt.date, kind: str = "personal") -> dict[str, Letter]:
        return {}

    def list(self, **_) -> list[Letter]:
        return []

    def reserve_all(self, date: dt.date, new: list, *_, kind: str = "personal", **__) -> list[Letter]:
        return [Letter(id=0, number="", year=date.year, seq=0, date=date, municipality=item.municipality, status=ISSUED,
                       pending=None, content_sha256=None, out_dir=None, pack=None, kind=kind) for item in new]

    def begin_change(self, *_) -> None:
        pass

    def finish(self, *_) -> None:
        pass

    def relocate(self, *_) -> None:
        pass

    @contextlib.contextmanager
    def build_lock(self):
        yield


def mark(pdf: pikepdf.Pdf) -> None:
    """«ПРОЕКТ» across every page, over the text, in a light colour that leaves it readable."""
    stamp = pikepdf.open(io.BytesIO(_stamp()))
    for page in pdf.pages:
        page.add_overlay(stamp.pages[0], pikepdf.Rectangle(page.trimbox), expand=True)


def mark_file(path: Path) -> None:
    with pikepdf.open(io.BytesIO(path.read_bytes())) as pdf:
        mark(pdf)
        write_pdf(pdf, path)  # a full disk is an OSError, not an abort


@functools.cache
def _stamp() -> bytes:
    """A one-page A4 PDF with the word, drawn once per process (matplotlib embeds the
    Cyrillic font, so every viewer shows it)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.27, 11.69))
    figure.patch.set_alpha(0)
    figure.text(0.5, 0.5, MARK, fontsize=110, fontfamily="DejaVu Sans", fontweight="bold", color="#d04040",
                alpha=0.28, rotation=55, ha="center", va="center")
    buffer = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        figure.savefig(buffer, format="pdf", transparent=True)
    return buffer.getvalue()
