"""обзор.html and к печати.pdf of a build (issue 17, points 2 and 3), looked at in a real Chromium."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import unquote, urlparse

import pikepdf
import pytest
from conftest import ROOT, TABLES, TEMPLATES, run_letters, write_data
from playwright.sync_api import sync_playwright

from letters import pipeline
from letters.packs import read_manifest, row_paths
from letters.printing import Blocks

DATE, FOLDER = "20.05.2024", "2024-05-20"


@pytest.fixture(scope="module")
def built(tmp_path_factory, soffice):
    root = tmp_path_factory.mktemp("overview")
    data, out = write_data(root / "data"), root / "out"
    result = run_letters("build", "--date", DATE, "--data", str(data), "--out", str(out), "--journal",
                         str(root / "journal.sqlite"), "--duplex")
    assert result.returncode == 0, result.stderr
    return root, out / FOLDER, result


@pytest.fixture(scope="module")
def page(built):
    _, folder, _ = built
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        tab = context.new_page()
        tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        tab.on("requestfailed", lambda request: errors.append(f"{request.url}: {request.failure}"))
        tab.goto((folder / "обзор.html").as_uri())
        tab.wait_for_load_state("load")
        yield tab, errors
        browser.close()


def test_the_page_opens_from_disk_with_no_errors_and_every_link_resolves(built, page):
    _, folder, _ = built
    tab, errors = page
    assert errors == []
    links = tab.locator("a").evaluate_all("links => links.map(a => a.href)")
    images = tab.locator("img").evaluate_all("images => images.map(i => [i.src, i.naturalWidth])")
    for url in links + [src for src, _ in images]:
        path = Path(unquote(urlparse(url).path))
        assert path.is_file() and folder in path.parents, url
    assert len(images) == 2 and all(width > 100 for _, width in images)
    expected = {p for row in read_manifest(folder) for p in row_paths(row)}
    assert {Path(unquote(urlparse(u).path)).relative_to(folder).as_posix() for u in links} == expected


def test_a_card_per_pack_with_what_a_clerk_checks(built, page):
    _, folder, _ = built
    tab, _ = page
    cards = tab.locator(".card")
    assert cards.count() == 2
    first = cards.nth(0).inner_text()
    assert "№ 1337/24 · Тюменский муниципальный район" in first
    assert "Главе Тюменского муниципального района И.И. Иванову" in first
    row = read_manifest(folder)[0]
    sheets = [len(pikepdf.open(folder / p).pages) for p in row_paths(row) if p.endswith(".pdf")]
    assert f"Листов: {'+'.join(map(str, sheets))} · ошибок: 3" in first
    top = tab.locator("#without-letter").inner_text()
    assert "Уватский муниципальный район — ошибок на сайтах его учреждений не найдено" in top
    tab.screenshot(path=str(built[0] / "overview.png"), full_page=True)


def test_the_print_file_holds_every_pack_each_document_on_a_front_side(built):
    _, folder, _ = built
    pages = []
    for row in read_manifest(folder):
        for path in row_paths(row):
            if path.endswith(".pdf"):
                with pikepdf.open(folder / path) as document:
                    pages.append(len(document.pages))
    with pikepdf.open(folder / "к печати.pdf") as printed:
        assert len(printed.pages) == sum(n + n % 2 for n in pages)  # --duplex: a blank back after an odd one


def test_an_unchanged_rerun_keeps_the_print_file_and_the_thumbnails(built):
    root, folder, _ = built
    before = {p.name: p.stat().st_ino for p in [folder / "к печати.pdf", *(folder / "обзор").iterdir()]}
    again = run_letters("build", "--date", DATE, "--data", str(root / "data"), "--out", str(folder.parent),
                        "--journal", str(root / "journal.sqlite"), "--duplex")
    assert again.returncode == 0, again.stderr
    after = {p.name: p.stat().st_ino for p in [folder / "к печати.pdf", *(folder / "обзор").iterdir()]}
    assert after == before  # the same files, linked into the new folder, not made again
    assert run_letters("verify", str(folder), "--journal", str(root / "journal.sqlite")).returncode == 0


def test_the_print_file_of_packs_joined_in_blocks_has_each_page_of_each_pack_in_order(tmp_path, soffice, monkeypatch):
    # a build joins finished packs in the background (blocks of printing.Blocks.SIZE documents,
    # 100 in a real build); here blocks of 5, so that 12 packs go through several of them
    monkeypatch.setattr(Blocks, "SIZE", 5)
    heads = [f"Город {i};Глава города {i};Ким Мария Сергеевна;adm{i}@city{i}.ru" for i in range(12)]
    sites = [f"Школа № {i};Город {i};https://school{i}.ru;10000{i:02d}" for i in range(12)]
    audit = [f"school{i}.ru;widget_missing;15.05.2024;" for i in range(12)]
    data = write_data(tmp_path / "data", municipalities=TABLES["municipalities"][:1] + heads,
                      organizations=TABLES["organizations"][:1] + sites, audit=TABLES["audit"][:1] + audit)
    result = pipeline.build(pipeline.BuildRequest(date=dt.date(2024, 5, 20), data=data, out=tmp_path / "out",
                                                  templates=TEMPLATES, duplex=True))
    assert not result.problems.has_errors and len(result.packs) == 12
    folder = tmp_path / "out" / FOLDER
    expected = []  # each page's content, as the packs' own PDFs have it, a blank back after an odd document
    for row in read_manifest(folder):
        for path in (p for p in row_paths(row) if p.endswith(".pdf")):
            with pikepdf.open(folder / path) as document:
                expected += [page.Contents.read_bytes() for page in document.pages]
                expected += [b""] * (len(document.pages) % 2)
    with pikepdf.open(folder / "к печати.pdf") as printed:
        assert [page.Contents.read_bytes() if "/Contents" in page else b"" for page in printed.pages] == expected
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no blocks left behind
