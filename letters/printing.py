"""One PDF of a whole batch: every pack in order, its letter, then its appendices and other
documents, for the director to read or the clerk to print in one go."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pikepdf


KEY = "/LettersMadeFrom"  # what a print file was made of: an unchanged re-run keeps it


def one_pdf(documents: list[list[Path]], target: Path, duplex: bool = False, key: str = "") -> int:
    """Join the PDFs of each pack (`documents`: a list per pack) into `target`; with
    `duplex`, a blank page after a document of an odd page count, so that each document
    starts on a front side. Returns the page count."""
    joined = pikepdf.new()
    with contextlib.ExitStack() as opened:  # qpdf reads the pages' streams when it saves
        for pack in documents:
            for path in pack:  # from memory: thousands of open files would pass the system's limit
                document = opened.enter_context(pikepdf.open(io.BytesIO(path.read_bytes())))
                joined.pages.extend(document.pages)
                if duplex and len(document.pages) % 2:
                    box = document.pages[-1].mediabox
                    joined.add_blank_page(page_size=(float(box[2]) - float(box[0]), float(box[3]) - float(box[1])))
        if key:
            joined.docinfo[KEY] = key
        partial = target.with_name(f".{target.name}.writing")
        with partial.open("wb") as stream:  # straight to disk, not held whole in memory (500 MB at 3,000
            joined.save(stream, deterministic_id=True)  # municipalities); through Python: a full disk is an OSError
    partial.replace(target)
    return len(joined.pages)
