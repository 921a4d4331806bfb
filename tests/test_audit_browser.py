"""The checker against the fixture sites (tests/fixture_sites.py): one browser run over
every site, four at a time; each test then looks at its site. Real Chromium, no mocks.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import date
from pathlib import Path

import pytest
from fixture_sites import BROWSER_ARGS, LKO, LKO_VOTES, World, closed_port, needs_chromium, organization, serve, tls_context

from letters.audit.browser import card_html
from letters.audit.run import AUDIT_HEADERS, SiteFinding, SiteProgress, check_sites, write_audit_xlsx

TIMEOUT = 8.0  # s per page load and per walk; the `hang` site costs this much (4 s was too tight beside a second test process)
TODAY = date(2024, 5, 20)

# Site (host name without .test) → the exact set of error codes the checker must find.
EXPECTED: dict[str, set[str]] = {
    "good": set(),
    "late": set(),  # the widget is added by a script 0.7 s after load
    "lazy": set(),  # the ПОС script is loaded when its place comes into view
    "lazy-below": {"below_first_screen"},  # … which is far down: found by scrolling
    "redirect-https": set(),  # http → https on another port, self-signed certificate
    "missing": {"widget_missing"},
    "inner": {"not_on_main_page"},
    "hidden": {"widget_hidden"},
    "transparent": {"widget_hidden"},
    "cookie": {"widget_hidden"},
    "below": {"below_first_screen"},
    "scroll": {"needs_scroll"},
    "phone-scroll": {"needs_scroll"},  # fine on a computer, pushed down on a phone
    "squeezed": {"size_changed"},
    "narrow": {"size_changed"},
    "wrong-lko": {"wrong_lko"},
    "script-error": {"script_error"},  # Widget(…) called before the script is loaded
    "script-404": {"script_error"},
    "unavailable": {"site_unavailable"},
    "hang": {"site_unavailable"},
    "refused": {"site_unavailable"},
    "moved": {"below_first_screen"},  # redirects to new-home.test, checked there
    "several": {"below_first_screen", "size_changed", "wrong_lko"},
}




@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = World()
    plain = serve(world)
    context = tls_context(tmp_path_factory.mktemp("tls"))
    secure = serve(world, context)
    world.port, world.tls_port, world.tls = plain.server_port, secure.server_port, context is not None
    yield world
    world.stop.set()
    for server in (plain, secure):
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def run(world, tmp_path_factory):
    """One browser run over every fixture site."""
    shots = tmp_path_factory.mktemp("audit") / "снимки"
    urls = {site: world.url(site) for site in EXPECTED}
    urls["refused"] = f"http://refused.test:{closed_port()}/"
    organizations = [organization(site, url) for site, url in urls.items()]
    progress: list[SiteProgress] = []
    findings = check_sites(
        organizations,
        jobs=4,
        timeout=TIMEOUT,
        script_url=world.script_url,
        screenshots_dir=shots,
        today=TODAY,
        on_progress=progress.append,
        browser_args=BROWSER_ARGS,
    )
    by_site: dict[str, list[SiteFinding]] = {site: [] for site in urls}
    name_of = {org.site: site for site, org in zip(urls, organizations)}
    for finding in findings:
        by_site[name_of[finding.organization.site]].append(finding)
    return {
        "by_site": by_site,
        "findings": findings,
        "progress": progress,
        "shots": shots,
    }


def _one(run, site: str, code: str) -> SiteFinding:
    [finding] = [f for f in run["by_site"][site] if f.code == code]
    return finding

# ---------------------------------------------------------------------------------------
# The checker against the fixture sites
# ---------------------------------------------------------------------------------------


@needs_chromium
@pytest.mark.parametrize("site", list(EXPECTED))
def test_site_findings(run, site):
    found = run["by_site"][site]
    assert {f.code for f in found} == EXPECTED[site], [(f.code, f.details) for f in found]
    assert len(found) == len({f.code for f in found}), "one finding per code"
    for finding in found:
        assert finding.checked_at == TODAY
        assert finding.details and not finding.details.isascii(), "a comment in Russian"
        assert finding.screenshot is not None and finding.screenshot.is_file(), finding
        assert finding.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_chromium
def test_no_screenshots_for_sites_without_findings(run):
    names = {p.name for p in run["shots"].iterdir()}
    assert not any(n.startswith(("good.", "late.", "lazy.test", "redirect-https.")) for n in names), names


@needs_chromium
def test_comments_are_concrete(run):
    assert re.fullmatch(
        r"Виджет начинается на высоте 1\d{3} px при высоте первого экрана 768 px "
        r"\(на экране компьютера 1366×768\)\.",
        _one(run, "below", "below_first_screen").details,
    )
    assert "HTTP 503" in _one(run, "unavailable", "site_unavailable").details
    assert f"не загрузилась за {TIMEOUT:g} с" in _one(run, "hang", "site_unavailable").details
    assert "ERR_CONNECTION_REFUSED" in _one(run, "refused", "site_unavailable").details
    assert "/obratnaya-svyaz/" in _one(run, "inner", "not_on_main_page").details
    assert "2 внутренних страницах" in _one(run, "missing", "widget_missing").details
    lko = _one(run, "wrong-lko", "wrong_lko").details
    assert LKO_VOTES in lko and LKO in lko and "голосований" in lko
    assert "cookie-consent" in _one(run, "cookie", "widget_hidden").details
    assert "display: none" in _one(run, "hidden", "widget_hidden").details
    assert "прозрачен" in _one(run, "transparent", "widget_hidden").details
    assert "сжат" in _one(run, "squeezed", "size_changed").details
    assert "меньше допустимых 293 px" in _one(run, "narrow", "size_changed").details
    assert "60 %" in _one(run, "several", "size_changed").details
    assert "Widget is not defined" in _one(run, "script-error", "script_error").details
    script_404 = _one(run, "script-404", "script_error").details
    assert "сервер ответил HTTP 404 (не найдено)" in script_404, script_404
    assert "ORB" not in script_404 and "net::" not in script_404
    assert "new-home.test" in _one(run, "moved", "below_first_screen").details


@needs_chromium
def test_phone_only_finding_has_the_phone_screenshot(run):
    finding = _one(run, "phone-scroll", "needs_scroll")
    assert "телефона 390×844" in finding.details
    assert finding.screenshot.name.endswith("-phone.png")
    assert not _one(run, "scroll", "needs_scroll").screenshot.name.endswith("-phone.png")


@needs_chromium
def test_progress_is_told_for_every_site(run):
    progress = run["progress"]
    assert [p.done for p in progress] == list(range(1, len(EXPECTED) + 1))
    assert all(p.total == len(EXPECTED) and not p.error for p in progress)
    assert sum(len(p.findings) for p in progress) == len(run["findings"])


@needs_chromium
def test_sites_are_checked_side_by_side(run, world):
    # Four at a time in one browser: the next site after `hang` is asked for while it still
    # hangs, not TIMEOUT later as one at a time would. (How long a run takes is for bench/.)
    hang = world.first_asked["hang"]
    later = [asked - hang for asked in world.first_asked.values() if asked > hang]
    assert later and min(later) < TIMEOUT


@needs_chromium
def test_audit_table(run, tmp_path):
    path = tmp_path / "audit.xlsx"
    write_audit_xlsx(run["findings"], path)
    from openpyxl import load_workbook

    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == AUDIT_HEADERS
    assert len(rows) - 1 == len(run["findings"])
    for site_url, code, checked, comment, shot in rows[1:]:
        assert site_url.startswith("http://") and code and comment
        assert checked == "20.05.2024"
        assert shot and not Path(shot).is_absolute() and (tmp_path / shot).resolve().is_file()


# The card of a site that did not open (browser.card_html), as browser.card draws it
CARD_RED = (0xD0, 0x00, 0x00)


@needs_chromium
@pytest.mark.parametrize("site", ["refused", "hang", "unavailable"])
def test_a_site_that_did_not_open_is_shown_by_the_card(run, site):
    from PIL import Image

    finding = _one(run, site, "site_unavailable")
    with Image.open(finding.screenshot) as picture:
        assert picture.size == (1366, 768)
        rgb = picture.convert("RGB")
        # the card's red top band, where Chromium's error page is white
        assert rgb.getpixel((683, 62)) == CARD_RED
        assert rgb.getpixel((20, 20)) != (255, 255, 255)


def test_the_card_says_what_where_and_when_in_russian():
    when = dt.datetime(2024, 5, 20, 10, 41, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    html = card_html("http://школа<5>.рф/", "Главная страница не открывается: сервер отклонил соединение.", when)
    assert "Сайт не открылся" in html
    assert "http://школа&lt;5&gt;.рф/" in html and "<5>" not in html
    assert "сервер отклонил соединение" in html
    assert "20.05.2024 в 10:41 (UTC+05:00)" in html
    text = re.sub(r"<style>.*?</style>|<!--.*?-->|<[^>]+>", " ", html, flags=re.S)
    latin = set(re.findall(r"\b[A-Za-z]{3,}\b", text)) - {"Chromium", "UTC", "http"}
    assert not latin, latin



def test_every_script_the_browser_runs_is_package_data():
    from letters.audit import browser

    source = Path(browser.__file__).read_text(encoding="utf-8")
    names = set(re.findall(r'script\("(\w+)"\)', source))
    assert len(names) == 7, names
    for name in names:
        assert browser.script(name).strip(), name
