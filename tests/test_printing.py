"""One PDF of a batch (letters/printing.py), on more documents than qpdf keeps open at once."""

from __future__ import annotations

import pikepdf

from letters.printing import KEY, Blocks, one_pdf


def _document(path, width: int, pages: int):
    """A PDF of `pages` blank pages, `width` points wide: the width tells the pages apart."""
    document = pikepdf.new()
    for page in range(pages):
        document.add_blank_page(page_size=(width, 842))
        document.pages[-1].Contents = document.make_stream(f"0 0 {width} {page + 1} re f".encode())
    document.save(path, compress_streams=True)
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


def _packs(tmp_path, count: int) -> list[list]:
    return [[_document(tmp_path / f"{i}-{j}.pdf", 300 + 2 * i + j, 1 + (i * 7 + j) % 3) for j in range(2)]
            for i in range(count)]


def test_packs_joined_ahead_in_blocks_give_the_same_bytes(tmp_path, monkeypatch):
    # a build hands each pack over as its PDFs are made, in any order; blocks of 5 documents
    monkeypatch.setattr(Blocks, "SIZE", 5)
    packs = _packs(tmp_path, 23)
    for duplex in (False, True):
        one_pdf(packs, tmp_path / "files.pdf", duplex, key="k")
        with Blocks(tmp_path) as blocks:
            for pack in packs[::-2] + packs[-2::-2]:
                blocks.add(pack)
            one_pdf(packs, tmp_path / "blocks.pdf", duplex, key="k", blocks=blocks)
        assert (tmp_path / "blocks.pdf").read_bytes() == (tmp_path / "files.pdf").read_bytes()
    assert not list(tmp_path.glob(".print-*"))  # the blocks are gone with them


def test_a_document_changed_after_its_block_is_taken_from_its_file(tmp_path, monkeypatch):
    monkeypatch.setattr(Blocks, "SIZE", 2)
    packs = _packs(tmp_path, 4)
    with Blocks(tmp_path) as blocks:
        for pack in packs:
            blocks.add(pack)
        blocks.wait()
        _document(packs[1][0], 999, 2)  # written again, another size
        one_pdf(packs, tmp_path / "all.pdf", blocks=blocks)
    assert _widths(tmp_path / "all.pdf")[len(_widths(packs[0][0])) + len(_widths(packs[0][1])):][:2] == [999, 999]


def test_a_block_that_cannot_be_made_leaves_its_documents_to_their_files(tmp_path, monkeypatch):
    monkeypatch.setattr(Blocks, "SIZE", 2)
    packs = _packs(tmp_path, 3)
    (tmp_path / "broken.pdf").write_bytes(b"not a PDF")
    with Blocks(tmp_path) as blocks:
        blocks.add([tmp_path / "broken.pdf", packs[0][0]])
        for pack in packs[1:]:
            blocks.add(pack)
        one_pdf(packs, tmp_path / "all.pdf", blocks=blocks)
    one_pdf(packs, tmp_path / "files.pdf")
    assert (tmp_path / "all.pdf").read_bytes() == (tmp_path / "files.pdf").read_bytes()
