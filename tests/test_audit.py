"""Tests of `letters audit`: the rules on their own, and the checker against fixture sites.

The fixture sites (tests/sites/, see its README) are served from 127.0.0.1 by a server this
module starts in a thread; Chromium maps every host name to 127.0.0.1, so nothing leaves
this machine. One browser run checks all sites at once; each test then looks at its site.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from letters.audit import (
    AUDIT_HEADERS,
    DESKTOP,
    PHONE,
    ScreenCheck,
    SiteCheck,
    SiteFinding,
    SiteProgress,
    WidgetBox,
    check_sites,
    group_by_site,
    inner_links,
    is_script_url,
    lko_verdict,
    screen_verdicts,
    site_verdicts,
    size_problem,
    widget_ids_in,
    write_audit_xlsx,
)
from letters.model import Organization
from letters.sites import site_key

SITES = Path(__file__).parent / "sites"
CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 4.0  # s per page load in the browser run; the `hang` site costs this much
TODAY = date(2024, 5, 20)
LKO = "100001"
LKO_VOTES = "100002"

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


# ---------------------------------------------------------------------------------------
# The fixture server
# ---------------------------------------------------------------------------------------


class World:
    """Ports and switches shared by the servers' request handlers."""

    def __init__(self) -> None:
        self.port = 0
        self.tls_port = 0
        self.tls = False
        self.stop = threading.Event()

    @property
    def pos(self) -> str:
        return f"http://pos.test:{self.port}"

    @property
    def secure_pos(self) -> str:
        """For pages served over https: an http script there is blocked as mixed content."""
        return f"https://pos.test:{self.tls_port}" if self.tls else self.pos

    @property
    def script_url(self) -> str:
        return f"{self.pos}/bin/script.min.js"

    def url(self, site: str) -> str:
        return f"http://{site}.test:{self.port}/"


class SiteHandler(BaseHTTPRequestHandler):
    server_version = "fixture"

    def do_GET(self) -> None:  # the name http.server calls
        world: World = self.server.world
        site = (self.headers.get("Host") or "").split(":")[0].removesuffix(".test")
        path = urlsplit(self.path).path
        if site == "pos":
            return self._script()
        if site == "unavailable":
            return self._send(503, b"<h1>Service Unavailable</h1>")
        if site == "hang":
            return self._hang()
        if site == "redirect-https" and not self.server.secure:
            scheme = "https" if world.tls else "http"
            return self._redirect(301, f"{scheme}://redirect-https.test:{world.tls_port}{path}")
        if site == "moved":
            return self._redirect(302, f"http://new-home.test:{world.port}/")
        return self._file(site, path)

    def _script(self) -> None:
        referer = urlsplit(self.headers.get("Referer") or "").hostname or ""
        if referer == "script-404.test" or urlsplit(self.path).path != "/bin/script.min.js":
            return self._send(404, b"not found", "text/plain")
        self._send(200, (SITES / "pos-script.js").read_bytes(), "application/javascript; charset=utf-8")

    def _hang(self) -> None:
        """Headers and the start of a page, then nothing until the tests are over."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write("<!doctype html><html><body><h1>Загрузка…".encode())
        self.wfile.flush()
        self.server.world.stop.wait(60)

    def _file(self, site: str, path: str) -> None:
        if path in ("/site.css",):
            return self._send(200, (SITES / "site.css").read_bytes(), "text/css; charset=utf-8")
        if not site or site in ("pos",) or not (SITES / site).is_dir():
            return self._send(404, b"unknown site", "text/plain")
        target = (SITES / site / path.lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(SITES.resolve()) or not target.is_file():
            return self._send(404, b"<h1>404</h1>")
        self._send(200, self._fill(target.read_text(encoding="utf-8")).encode())

    def _fill(self, text: str) -> str:
        world: World = self.server.world
        pos = world.secure_pos if self.server.secure else world.pos
        embed = (
            f'<script src="{pos}/bin/script.min.js"></script>\n'
            '<div id="js-show-iframe-wrapper"></div>\n'
            f'<script>Widget("https://pos.gosuslugi.ru/form", {LKO})</script>'
        )
        head = '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/site.css">'
        return (
            text.replace("{{HEAD}}", head)
            .replace("{{EMBED}}", embed)
            .replace("{{NEWS}}", (SITES / "news.html").read_text(encoding="utf-8"))
            .replace("{{POS}}", pos)
        )

    def _redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _server(world: World, context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SiteHandler)
    server.daemon_threads = True
    server.block_on_close = False
    server.world = world
    server.secure = context is not None
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _tls_context(folder: Path) -> ssl.SSLContext | None:
    """A throwaway self-signed certificate; None where openssl is missing (https is then
    simulated by plain http on the other port)."""
    if not shutil.which("openssl"):
        return None
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=redirect-https.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _organization(site: str, url: str) -> Organization:
    return Organization(
        name=f"Учреждение «{site}»",
        municipality="Тестовый муниципальный район",
        site=url,
        site_key=site_key(url),
        lko_messages=LKO,
        lko_votes=LKO_VOTES,
    )


needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"нет {CHROMIUM}: поставьте Debian-пакет chromium (его ставит Makefile)",
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = World()
    plain = _server(world)
    context = _tls_context(tmp_path_factory.mktemp("tls"))
    secure = _server(world, context)
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
    urls["refused"] = f"http://refused.test:{_closed_port()}/"
    organizations = [_organization(site, url) for site, url in urls.items()]
    progress: list[SiteProgress] = []
    started = time.monotonic()
    findings = check_sites(
        organizations,
        jobs=4,
        timeout=TIMEOUT,
        script_url=world.script_url,
        screenshots_dir=shots,
        today=TODAY,
        on_progress=progress.append,
        browser_args=["--host-resolver-rules=MAP * 127.0.0.1"],
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
        "seconds": time.monotonic() - started,
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
    assert "HTTP 404" in _one(run, "script-404", "script_error").details
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
def test_run_is_quick(run):
    # One browser for all sites, four at a time; the `hang` site alone takes TIMEOUT.
    assert run["seconds"] < 60


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


# ---------------------------------------------------------------------------------------
# The rules without a browser
# ---------------------------------------------------------------------------------------


def _box(**kw) -> WidgetBox:
    base = {
        "x": 24,
        "y": 120,
        "width": 1000,
        "height": 240,
        "layout_width": 1000,
        "layout_height": 240,
        "natural_height": 240,
        "visible_width": 1000,
        "visible_height": 240,
        "has_banner": True,
    }
    base.update(kw)
    return WidgetBox(**base)


def _screen(box, viewport=DESKTOP) -> ScreenCheck:
    return ScreenCheck(viewport, viewport.width, viewport.height, box)


def test_a_good_box_has_no_findings():
    assert screen_verdicts(_screen(_box())) == []


@pytest.mark.parametrize(
    "box, code",
    [
        (_box(displayed=False, hidden_by="div.x"), "widget_hidden"),
        (_box(opacity=0.0), "widget_hidden"),
        (_box(layout_height=0, height=0, visible_height=0), "widget_hidden"),
        (_box(covered_share=0.9, covered_by="div#cookie"), "widget_hidden"),
        (_box(y=1480), "below_first_screen"),
        (_box(y=600), "needs_scroll"),
        (_box(layout_height=90, height=90, visible_height=90), "size_changed"),
        (_box(layout_height=600, height=600, visible_height=600, y=100), "size_changed"),
        (_box(width=600), "size_changed"),
    ],
)
def test_screen_rules(box, code):
    assert [v.code for v in screen_verdicts(_screen(box))] == [code]


def test_size_rule_tolerates_small_differences():
    assert (
        size_problem(_box(layout_height=256, height=256, visible_height=256)) == ""
    )  # min-height 256 of one embed variant
    assert size_problem(_box(layout_width=293, width=293, visible_width=293)) == ""
    assert "меньше" in size_problem(_box(layout_width=292, width=292, visible_width=292))
    assert "больше" in size_problem(_box(layout_width=1500, width=1500, visible_width=1500))


def test_below_first_screen_excludes_hidden_and_scroll():
    verdicts = screen_verdicts(_screen(_box(y=900, opacity=0.0, covered_share=1.0)))
    assert [v.code for v in verdicts] == ["below_first_screen"]


def test_a_fixed_widget_is_never_below():
    assert screen_verdicts(_screen(_box(y=700, fixed=True))) == []


def test_precedence_of_absence():
    missing = SiteCheck("http://a.test/", has_script=False, has_container=False, inner_pages_checked=1)
    assert [v.code for v in site_verdicts(missing)] == ["widget_missing"]
    assert "1 внутренней странице" in site_verdicts(missing)[0].details
    inner = SiteCheck("http://a.test/", inner_page="http://a.test/pos/")
    assert [v.code for v in site_verdicts(inner)] == ["not_on_main_page"]
    down = SiteCheck("http://a.test/", unavailable="Главная страница не загрузилась за 20 с.")
    assert [v.code for v in site_verdicts(down)] == ["site_unavailable"]


def test_script_error_without_banner_is_not_also_hidden():
    check = SiteCheck(
        "http://a.test/",
        has_script=True,
        has_container=True,
        script_problems=("скрипт не загрузился",),
        desktop=_screen(_box(layout_height=0, height=0, visible_height=0, has_banner=False)),
    )
    assert [v.code for v in site_verdicts(check)] == ["script_error"]


def test_phone_and_computer_findings_of_one_code_are_merged():
    check = SiteCheck(
        "http://a.test/",
        has_script=True,
        has_container=True,
        desktop=_screen(_box(y=600)),
        phone=_screen(_box(y=700, width=342, layout_width=342, visible_width=342), PHONE),
    )
    [verdict] = site_verdicts(check)
    assert (
        verdict.code == "needs_scroll" and "компьютера" in verdict.details and "телефона" in verdict.details
    )


def test_lko_rule():
    org = _organization("a", "http://a.test/")
    seen = SiteCheck("http://a.test/", has_script=True, has_container=True)
    assert lko_verdict(SiteCheck(**{**seen.__dict__, "widget_ids": (LKO,)}), org) is None
    wrong = lko_verdict(SiteCheck(**{**seen.__dict__, "widget_ids": ("5",)}), org)
    assert wrong.code == "wrong_lko" and "5" in wrong.details
    assert lko_verdict(seen, org).code == "wrong_lko"  # no call at all
    no_lko = Organization("b", "m", "http://b.test/", "b.test")
    assert lko_verdict(seen, no_lko) is None


def test_widget_ids_in_page_text():
    text = """Widget("https://pos.gosuslugi.ru/form", 293443)
              Widget ( 'https://pos.gosuslugi.ru/form' , '12345' );"""
    assert widget_ids_in(text) == ["293443", "12345"]


def test_script_url_match_ignores_scheme_and_query():
    url = "https://pos.gosuslugi.ru/bin/script.min.js"
    assert is_script_url("//pos.gosuslugi.ru/bin/script.min.js?v=2", url)
    assert is_script_url("http://POS.gosuslugi.ru/bin/script.min.js", url)
    assert not is_script_url("https://pos.gosuslugi.ru/bin/other.js", url)


def test_inner_links_are_same_site_and_likely_first():
    links = [
        ("/novosti/", "Новости"),
        ("https://other.test/obratnaya-svyaz/", "Чужой сайт"),
        ("/docs/ustav.pdf", "Устав"),
        ("mailto:a@b.test", "Почта"),
        ("#top", "Наверх"),
        ("http://www.a.test/priemnaya/", "Интернет-приёмная"),
        ("/", "Главная"),
        ("/novosti/#x", "Новости ещё раз"),
    ]
    assert inner_links(links, "http://a.test/", "http://a.test/", 5) == [
        "http://www.a.test/priemnaya/",
        "http://a.test/novosti/",
    ]
    assert inner_links(links, "http://a.test/", "http://a.test/", 1) == ["http://www.a.test/priemnaya/"]


def test_inner_links_stay_in_the_portal_section():
    links = [("/school5/kontakty/", "Контакты"), ("/news/", "Новости портала")]
    assert inner_links(links, "http://portal.test/school5/", "portal.test/school5", 5) == [
        "http://portal.test/school5/kontakty/"
    ]


def test_organizations_sharing_a_site_are_checked_once():
    a = _organization("a", "http://a.test/")
    b = Organization("Другое", "m", "https://www.a.test", site_key("https://www.a.test"))
    assert group_by_site([a, b]) == [[a, b]]


def test_audit_table_format(tmp_path):
    org = _organization("a", "http://a.test/")
    shot = tmp_path / "снимки" / "a.test.png"
    shot.parent.mkdir()
    shot.write_bytes(b"png")
    findings = [
        SiteFinding(org, "below_first_screen", "Виджет начинается на высоте 1480 px.", TODAY, shot),
        SiteFinding(org, "wrong_lko", "ЛКО не тот.", TODAY, None),
    ]
    path = tmp_path / "audit.xlsx"
    write_audit_xlsx(findings, path)
    from openpyxl import load_workbook

    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows == [
        AUDIT_HEADERS,
        (
            "http://a.test/",
            "below_first_screen",
            "20.05.2024",
            "Виджет начинается на высоте 1480 px.",
            "снимки/a.test.png",
        ),
        ("http://a.test/", "wrong_lko", "20.05.2024", "ЛКО не тот.", None),
    ]
    assert sheet.cell(row=2, column=5).hyperlink.target == "снимки/a.test.png"
