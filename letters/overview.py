"""Step 6a: `OUT/<date>/обзор.html`, the page a clerk reads to look the batch over before it
goes for signature, and `к печати.pdf`, the batch in one file to print.

The page opens from disk in any browser, with no server, no internet and no JavaScript:
one card per pack (number, municipality, addressee, sheets, findings, the warnings that
name it, a thumbnail of the letter's first page, links to every file), and at the top the
totals and the municipalities that got no letter, with the reason. The thumbnails are
files in `обзор/` beside it, rendered once per letter (pypdfium2) and kept while the
letter's PDF stays the same."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import jinja2
import pikepdf

from .packs import PackFiles, link_or_copy, row_paths
from .printing import KEY, Blocks, one_pdf

PAGE = "обзор.html"
THUMBNAILS = "обзор"
PRINT = "к печати.pdf"
_PDFIUM = threading.Lock()  # pdfium is not thread-safe
_TEMPLATE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent), autoescape=True, keep_trailing_newline=True,
).get_template("overview.html")


@dataclass
class Card:
    number: str
    municipality: str
    addressee: str
    sheets: str  # «2+1+3+2»
    findings: int
    files: list[tuple[str, list[tuple[str, str]]]]  # each document: its name, and (format, link) of its files
    letter: str  # link to the letter: its PDF, or its .docx without PDFs
    thumbnail: str = ""  # link, or none without PDFs
    warnings: list[str] = field(default_factory=list)
    note: str = ""  # «в дополнение к письму …»


@dataclass
class Overview:
    title: str  # «Письма от 20.05.2024»
    cards: list[Card]
    without_letter: list[tuple[str, str]]  # (municipality, why)
    warnings: list[str]  # the batch's warnings that name no pack

    @property
    def sheets(self) -> int:
        return sum(sum(int(n) for n in card.sheets.split("+") if n) for card in self.cards)


def card(row: dict[str, str], addressee: str, sheets: str, note: str = "") -> Card:
    """A pack's card, from its manifest row."""
    paths = row_paths(row)
    files = []
    for path in (p for p in paths if p.endswith(".docx")):
        formats = [("PDF", _link(PackFiles.pdf(path)))] if PackFiles.pdf(path) in paths else []
        files.append((path.split("/", 1)[1].removesuffix(".docx"), formats + [("Word", _link(path))]))
    pdf = PackFiles.pdf(row["letter"])
    letter = _link(pdf if pdf in paths else row["letter"])
    return Card(row["number"], row["municipality"], addressee, sheets, int(row["findings"] or 0), files, letter,
                note=note)


def thumbnail(folder: Path, live: Path, row: dict[str, str]) -> str:
    """The link to the thumbnail of the letter's first page: kept from the live folder when
    the letter's PDF is the same, else rendered (unless `Ahead` made it already)."""
    pdf = folder / PackFiles.pdf(row["letter"])
    if not pdf.is_file():
        return ""
    name = _made(folder, live, pdf)
    return _link(name)


def _made(folder: Path, live: Path, pdf: Path) -> str:
    """Make the thumbnail of `pdf` in `folder` if it is not there; its name."""
    name = f"{THUMBNAILS}/{hashlib.sha256(pdf.read_bytes()).hexdigest()[:16]}.png"
    target = folder / name
    if target.is_file():
        return name
    target.parent.mkdir(parents=True, exist_ok=True)
    if (live / name).is_file():
        link_or_copy(live / name, target)
    else:
        _render(pdf, target)
    return name


class Ahead:
    """What the page and the print file can make in the background while LibreOffice
    converts the rest: each letter's thumbnail as soon as its PDF is made (at the end of a
    build `thumbnail` finds it there), and the finished packs joined into blocks of the
    print file (printing.Blocks). Only a head start: a thumbnail that fails here is
    rendered (and reported) by `thumbnail`, a block that fails is joined from the files."""

    def __init__(self, folder: Path, live: Path) -> None:
        self.folder, self.live = folder, live
        self._thumbnails = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="thumbnails")
        self.blocks = Blocks(folder)

    def pack_made(self, letter: Path, pdfs: list[Path]) -> None:
        """A pack whose PDFs are all made: `letter` is its letter's, `pdfs` all of them."""
        self._thumbnails.submit(self._thumbnail, letter)
        self.blocks.add(pdfs)

    def _thumbnail(self, pdf: Path) -> None:
        with contextlib.suppress(Exception):  # see the class: `thumbnail` tries again
            _made(self.folder, self.live, pdf)

    def __enter__(self) -> Ahead:
        self.blocks.__enter__()
        return self

    def __exit__(self, failed, *rest) -> None:
        try:
            self._thumbnails.shutdown(wait=True, cancel_futures=failed is not None)
        finally:
            self.blocks.__exit__(failed, *rest)


def _render(pdf: Path, target: Path) -> None:
    import pypdfium2

    with _PDFIUM:
        document = pypdfium2.PdfDocument(pdf)
        try:
            image = document[0].render(scale=0.3).to_pil()
        finally:
            document.close()
    partial = target.with_name(f".{target.name}.writing")
    image.save(partial, format="PNG", compress_level=1)  # half the time of the default 6, a few KB more
    os.replace(partial, target)


def print_file(folder: Path, live: Path, rows: list[dict[str, str]], duplex: bool, name: str = PRINT,
               blocks: Blocks | None = None) -> None:
    """`к печати.pdf` (or `name`: a draft's one file of all its letters): every pack's PDFs
    in the manifest's order, letter first; none without PDFs. Made again only when a PDF in
    it changed (the sha256 of the manifest say so): an unchanged re-run keeps the live one.
    `blocks`: the packs an `Ahead` joined already."""
    documents = [[folder / p for p in row_paths(row) if p.endswith(".pdf")] for row in rows]
    if not rows or not all(documents):
        return  # --no-pdf: nothing to print
    key = hashlib.sha256(repr((duplex, [row["sha256"] for row in rows])).encode()).hexdigest()
    if made_from(live / name) == key:
        link_or_copy(live / name, folder / name)
        return
    one_pdf(documents, folder / name, duplex, key, blocks)


def made_from(pdf: Path) -> str | None:
    """The key of the PDFs a print file was made from (kept in the file itself)."""
    try:
        with pikepdf.open(pdf) as document:
            return str(document.docinfo.get(KEY, "")) or None
    except (OSError, pikepdf.PdfError):
        return None


def write(folder: Path, live: Path, overview: Overview) -> None:
    """The page; the live one as it is when it would come out the same (an unchanged
    re-run writes nothing)."""
    text = _TEMPLATE.render(page=overview)
    try:
        if (live / PAGE).read_text(encoding="utf-8") == text:
            link_or_copy(live / PAGE, folder / PAGE)
            return
    except (OSError, UnicodeDecodeError):
        pass
    partial = folder / f".{PAGE}.writing"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, folder / PAGE)


def concerning(warnings: list[str], names: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """The warnings that name a pack's municipality, by municipality, and the rest."""
    by_name: dict[str, list[str]] = {name: [] for name in names}
    rest = []
    for warning in warnings:
        named = [name for name in names if name in warning]
        for name in named:
            by_name[name].append(warning)
        if not named:
            rest.append(warning)
    return by_name, rest


def _link(path: str) -> str:
    """A relative link that works from disk, whatever the names hold (spaces, «№», «#»)."""
    return "/".join(quote(part) for part in path.split("/"))
