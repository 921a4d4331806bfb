"""One PDF of a whole batch: every pack in order, its letter, then its appendices and other
documents, for the director to read or the clerk to print in one go."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pikepdf

KEY = "/LettersMadeFrom"  # what a print file was made of: an unchanged re-run keeps it


@dataclass(frozen=True)
class _Joined:
    """Where a document's pages are in a block, and what the file was when it was joined."""

    block: str
    first: int  # its first page in the block, from 1
    count: int
    last_size: tuple[float, float]  # of its last page: a duplex blank after it has this size
    stat: tuple[int, int]  # size and mtime of the document's file


class Blocks:
    """The packs of a build joined in the background into blocks of the print file, as
    each pack's PDFs are made, while LibreOffice converts the rest; `one_pdf` then takes
    their pages from the blocks.

    qpdf spends most of a join on the number of files, not on their pages: 1,200 documents
    took 2.1 s to join, the same pages from 12 blocks 0.5 s, with the same bytes out. Only
    a head start: a block that fails leaves its documents to be joined from their files."""

    SIZE = 100  # documents a block

    def __init__(self, folder: Path) -> None:
        self._work = tempfile.TemporaryDirectory(dir=folder, prefix=".print-blocks-")
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="print")
        self._lock = threading.Lock()  # `add` is called from LibreOffice's workers
        self._waiting: list[Path] = []
        self._blocks = 0
        self._joined: dict[str, _Joined] = {}

    def add(self, pdfs: list[Path]) -> None:
        """A pack's PDFs, final: nothing writes them again in this build."""
        with self._lock:
            self._waiting += pdfs
            if len(self._waiting) >= self.SIZE:
                self._pool.submit(self._join, self._waiting, self._blocks)
                self._waiting, self._blocks = [], self._blocks + 1

    def _join(self, pdfs: list[Path], number: int) -> None:
        with contextlib.suppress(Exception):  # see the class
            block = str(Path(self._work.name) / f"{number}.pdf")
            joined, first = {}, 1
            for pdf in pdfs:
                stat = os.stat(pdf)
                count, size = _measure(pdf)
                joined[os.path.abspath(pdf)] = _Joined(block, first, count, size, (stat.st_size, stat.st_mtime_ns))
                first += count
            pikepdf.Job({"inputFile": str(pdfs[0]), "outputFile": block, "pages": [{"file": str(p)} for p in pdfs]}).run()
            with self._lock:
                self._joined.update(joined)

    def joined(self, pdf: Path) -> _Joined | None:
        """Where `pdf` is in a block, if it is, as it is now (call after `wait`)."""
        found = self._joined.get(os.path.abspath(pdf))
        if found is None:
            return None
        stat = os.stat(pdf)
        return found if found.stat == (stat.st_size, stat.st_mtime_ns) else None

    def wait(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Blocks:
        return self

    def __exit__(self, failed, *_) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._work.cleanup()


def one_pdf(documents: list[list[Path]], target: Path, duplex: bool = False, key: str = "",
            blocks: Blocks | None = None) -> None:
    """Join the PDFs of each pack (`documents`: a list per pack) into `target`; with
    `duplex`, a blank page after a document of an odd page count, so that each document
    starts on a front side. The pages of a document already in one of `blocks` are taken
    from there.

    qpdf's own page merging does it (pikepdf.Job, as `qpdf --empty --pages …`): it keeps
    only some of the files open at a time, and its time is linear in the documents, where
    `Pdf.pages.extend` took 6 s for 3,600 documents and 24 s for 7,200. The document-level
    part (the Info with `key`, the blank pages) comes from a small first file of our own."""
    if blocks is not None:
        blocks.wait()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".print-") as work:
        first = Path(work) / "first.pdf"
        pages = _pages(documents, first, duplex, key, blocks)
        partial = target.with_name(f".{target.name}.writing")
        # qpdf writes the file itself; a full disk is an OSError ("Pl_StdioFile::write")
        pikepdf.Job({"inputFile": str(first), "outputFile": str(partial), "deterministicId": "", "pages": pages}).run()
    partial.replace(target)


def _pages(documents: list[list[Path]], first: Path, duplex: bool, key: str,
           blocks: Blocks | None) -> list[dict[str, str]]:
    """The job's list of pages, and the first file: the Info, and a blank page of each size needed."""
    head, blanks, pages = pikepdf.new(), {}, []
    for path in (path for pack in documents for path in pack):
        joined = blocks.joined(path) if blocks is not None else None
        if joined is not None:
            pages.append({"file": joined.block, "range": f"{joined.first}-{joined.first + joined.count - 1}"})
            count, size = joined.count, joined.last_size
        else:
            pages.append({"file": os.path.abspath(path)})
            count, size = _measure(path) if duplex else (0, (0.0, 0.0))
        if duplex and count % 2:
            if size not in blanks:
                head.add_blank_page(page_size=size)
                blanks[size] = len(head.pages)
            pages.append({"file": str(first), "range": str(blanks[size])})
    if key:
        head.docinfo[KEY] = key
    head.save(first, deterministic_id=True)  # the joined file keeps the first half of its /ID
    return pages


def _measure(pdf: Path) -> tuple[int, tuple[float, float]]:
    """A PDF's page count and the size of its last page."""
    with pikepdf.open(pdf) as document:
        box = document.pages[-1].mediabox
        return len(document.pages), (float(box[2]) - float(box[0]), float(box[3]) - float(box[1]))
