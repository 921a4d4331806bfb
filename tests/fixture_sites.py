"""The fixture sites of tests/sites/ (see its README), served from 127.0.0.1 for the audit tests.

Chromium maps every host name to 127.0.0.1 (`BROWSER_ARGS`), so nothing leaves this machine.
The ПОС script is served by the same server under the host `pos.test`.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from letters.model import Organization
from letters.sites import site_key

SITES = Path(__file__).parent / "sites"
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--host-resolver-rules=MAP * 127.0.0.1"]
LKO = "100001"
LKO_VOTES = "100002"


class World:
    """Ports and switches shared by the servers' request handlers."""

    def __init__(self) -> None:
        self.port = 0
        self.tls_port = 0
        self.tls = False
        self.stop = threading.Event()
        self.first_asked: dict[str, float] = {}  # site → when its first request came (time.monotonic)

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
        world.first_asked.setdefault(site, time.monotonic())
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
        if referer == "script-404.test":
            # as real servers answer: an HTML error page, which Chromium's ORB drops unseen
            return self._send(404, "<h1>Страница не найдена</h1>".encode())
        if urlsplit(self.path).path != "/bin/script.min.js":
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


def serve(world: World, context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SiteHandler)
    server.daemon_threads = True
    server.block_on_close = False
    server.world = world
    server.secure = context is not None
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def tls_context(folder: Path) -> ssl.SSLContext | None:
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


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def organization(site: str, url: str) -> Organization:
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


