"""One PDF of a batch (letters/printing.py), on more documents than qpdf keeps open at once."""

from __future__ import annotations

import pikepdf

from letters.printing import KEY, one_pdf


def _document(path, width: int, pages: int):
    """A PDF of `pages` blank pages, `width` points wide: the width tells the pages apart."""
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page(page_size=(width, 842))
    document.save(path)
    return path


def _widths(path) -> list[int]:
    with pikepdf.open(path) as document:
        return [int(page.mediabox[2]) for page in document.pages]


def test_every_page_in_order_from_more_files_than_are_kept_open(tmp_path):
    # 260 documents in 130 packs: past the 200 files above which qpdf closes and reopens them
    packs = [[_document(tmp_path / f"{i}-{j}.pdf", 300 + 2 * i + j, 1 + (i + j) % 3) for j in range(2)] for i in range(130)]
    one_pdf(packs, tmp_path / "all.pdf", key="made from these")
    expected = [300 + 2 * i + j for i in range(130) for j in range(2) for _ in range(1 + (i + j) % 3)]
    assert _widths(tmp_path / "all.pdf") == expected
    with pikepdf.open(tmp_path / "all.pdf") as document:
        assert str(document.docinfo[KEY]) == "made from these"


def test_duplex_puts_a_blank_of_the_same_size_after_an_odd_document(tmp_path):
    packs = [[_document(tmp_path / "a.pdf", 400, 3), _document(tmp_path / "b.pdf", 500, 2)],
             [_document(tmp_path / "c.pdf", 600, 1)]]
    one_pdf(packs, tmp_path / "all.pdf", duplex=True)
    assert _widths(tmp_path / "all.pdf") == [400, 400, 400, 400, 500, 500, 600, 600]  # a's 4th and c's 2nd: blank


def test_the_same_documents_give_the_same_bytes(tmp_path):
    packs = [[_document(tmp_path / f"{i}.pdf", 300 + i, 2)] for i in range(5)]
    one_pdf(packs, tmp_path / "one.pdf", key="k")
    one_pdf(packs, tmp_path / "two.pdf", key="k")
    assert (tmp_path / "one.pdf").read_bytes() == (tmp_path / "two.pdf").read_bytes()
