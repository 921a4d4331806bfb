"""The browser half of `letters audit`: open each site in Chromium and measure the widget.

One browser serves all sites; each site gets fresh browser contexts (no cookies shared between
sites), at most `jobs` sites at a time. What is measured goes into `rules.SiteCheck`; the rules
that turn it into findings are in `letters.audit.rules`. The JavaScript run in the pages is in
`js/*.js`; a site that does not open is shown by a card the checker draws (`card.html`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import re
import string
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Self

from letters.model import Organization
from letters.problems import LettersError

from .rules import (
    BLOCKED_AS_PAGE,
    CONTAINER_ID,
    DESKTOP,
    PHONE,
    ScreenCheck,
    SiteCheck,
    Verdict,
    Viewport,
    WidgetBox,
    best_box,
    describe_http_status,
    describe_net_error,
    inner_links,
    is_script_url,
    needs_phone_check,
    screenshot_name,
    script_key,
    verdicts_for,
    widget_ids_in,
)

# As root, Chromium must run without its sandbox; the rest keep it from calling home, which a
# closed network answers with refused connections (and a slow start).
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WIDGET_WAIT = 3.0  # s to wait for a widget that a script adds after the page has loaded
SETTLE = 0.3  # s for the layout to settle once the widget is there
LAZY_SCREENS = 8  # screens scrolled through to wake a widget that loads when scrolled to
CRAWL_WAIT = 1.0  # s to wait for the widget on each inner page
CLOSE_WAIT = 10.0  # s; closing a context should be instant, but never hang the run on it

class AuditError(LettersError):
    """The check cannot run at all (no browser, no Playwright). The message is for a clerk; exit code 2."""

    exit_code = 2


@cache
def script(name: str) -> str:
    """The text of `js/<name>.js` (package data), run in the pages."""
    return resources.files(__package__).joinpath("js", f"{name}.js").read_text(encoding="utf-8")


@dataclass
class SiteOutcome:
    check: SiteCheck
    verdicts: list[tuple[Organization, list[Verdict]]]
    screenshots: dict[str, Path] = field(default_factory=dict)  # viewport name -> PNG
    error: str = ""  # the checker's own failure on this site


@dataclass(frozen=True)
class Options:
    timeout: float
    script_url: str
    screenshots_dir: Path | None
    max_inner_pages: int

    @property
    def site_limit(self) -> float:
        """Hard limit for one site, whatever hangs: main page, inner pages, phone, screenshots."""
        return 3 * self.timeout + 4 * WIDGET_WAIT + 10


def run(
    sites: Sequence[tuple[str, Sequence[Organization]]],
    *,
    on_site_done: Callable[[int, SiteOutcome], None],
    jobs: int,
    timeout: float,
    script_url: str,
    screenshots_dir: Path | None,
    max_inner_pages: int,
    chromium: str,
    browser_args: Sequence[str] = (),
) -> None:
    """Check the sites, calling `on_site_done(index, outcome)` as each one is finished."""
    try:
        from playwright.async_api import async_playwright  # noqa: F401
    except ImportError as error:
        raise AuditError("Не установлен пакет playwright: проверка сайтов невозможна.") from error
    if not Path(chromium).exists():
        raise AuditError(f"Не найден браузер Chromium ({chromium}). Установите его: apt-get install chromium")
    options = Options(timeout, script_url, screenshots_dir, max_inner_pages)
    asyncio.run(_run_all(sites, on_site_done, max(1, jobs), options, chromium, list(browser_args)))


async def _run_all(
    sites, on_site_done, jobs: int, options: Options, chromium: str, browser_args: list[str]
) -> None:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(
                executable_path=chromium, headless=True, args=[*LAUNCH_ARGS, *browser_args]
            )
        except PlaywrightError as error:
            raise AuditError(f"Chromium не запустился: {str(error).splitlines()[0]}") from error
        limit = asyncio.Semaphore(jobs)

        async def one(index: int, url: str, organizations: Sequence[Organization]) -> None:
            async with limit:
                outcome = await _check_within_limit(browser, url, organizations, options)
            on_site_done(index, outcome)

        try:
            await asyncio.gather(*(one(i, url, orgs) for i, (url, orgs) in enumerate(sites)))
        finally:
            with suppress(PlaywrightError):
                await browser.close()


async def _check_within_limit(browser, url: str, organizations, options: Options) -> SiteOutcome:
    try:
        return await asyncio.wait_for(_check_site(browser, url, organizations, options), options.site_limit)
    except TimeoutError:
        check = SiteCheck(
            _with_scheme(url),
            unavailable=f"Проверка сайта не завершилась за {options.site_limit:g} с: страница не отвечает.",
        )
        verdicts = verdicts_for(check, organizations)
        async with Tab(browser, DESKTOP, options) as tab:
            shots = await _screenshots(verdicts, check, {DESKTOP.name: (tab, None)}, organizations[0].site_key or url, options)
        return SiteOutcome(check, verdicts, shots)
    except Exception as error:  # noqa: BLE001 - the checker's own failure must not stop the others
        return SiteOutcome(
            SiteCheck(url),
            [],
            error=f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
        )


async def _check_site(
    browser, url: str, organizations: Sequence[Organization], options: Options
) -> SiteOutcome:
    check = SiteCheck(url=_with_scheme(url))
    async with AsyncExitStack() as stack:
        desktop = await stack.enter_async_context(Tab(browser, DESKTOP, options))
        check.unavailable = await desktop.open(check.url)
        check.final_url = desktop.page.url if desktop.page.url.startswith("http") else ""
        if not check.unavailable:
            await _inspect_main_page(desktop, check, options)
        phone = None
        if not check.unavailable and needs_phone_check(check.desktop):
            phone = await stack.enter_async_context(Tab(browser, PHONE, options))
            check.phone = await _inspect_phone(phone, check.final_url or check.url)
        verdicts = verdicts_for(check, organizations)
        shots = await _screenshots(
            verdicts,
            check,
            {DESKTOP.name: (desktop, check.desktop), PHONE.name: (phone, check.phone)},
            organizations[0].site_key or url,
            options,
        )
        return SiteOutcome(check, verdicts, shots)


async def _inspect_main_page(tab: Tab, check: SiteCheck, options: Options) -> None:
    presence = await tab.wait_for_widget(WIDGET_WAIT)
    if not presence.complete:
        presence = await tab.wake_lazy_widget()
    check.has_script, check.has_container = presence.has_script, presence.has_container
    check.widget_ids = presence.widget_ids
    if presence.complete:
        check.desktop = await tab.measure()
        check.script_problems = tab.script_problems(presence)
    else:
        await _look_inside(tab, check, options)


async def _inspect_phone(tab: Tab, url: str) -> ScreenCheck | None:
    if await tab.open(url):
        return None  # the phone load failed where the computer's did not: say nothing about it
    presence = await tab.wait_for_widget(WIDGET_WAIT)
    if not presence.has_container:
        await tab.wake_lazy_widget()
    return await tab.measure()


async def _look_inside(tab: Tab, check: SiteCheck, options: Options) -> None:
    """Follow the main page's same-site links, a bounded number, looking for the widget."""
    links = await tab.evaluate(script("links"))
    urls = inner_links(
        [(link["href"], link["text"]) for link in links or []],
        tab.page.url,
        check.url,
        options.max_inner_pages,
    )
    deadline = time.monotonic() + options.timeout  # the whole walk, not each page
    for url in urls:
        left = deadline - time.monotonic()
        if left < 0.5:
            break
        presence = await tab.peek(url, left)
        check.inner_pages_checked += 1
        if presence is not None and presence.complete:
            check.inner_page = presence.url
            check.widget_ids = presence.widget_ids
            return


async def _screenshots(verdicts, check: SiteCheck, screens: dict, site_key: str, options: Options) -> dict[str, Path]:
    """The first screen of each screen size that shows a finding, the widget outlined; for a
    site that did not open, the checker's own card saying why."""
    if options.screenshots_dir is None:
        return {}
    wanted = {v.screen for _, site_verdicts in verdicts for v in site_verdicts}
    shots: dict[str, Path] = {}
    for name in (DESKTOP.name, PHONE.name):
        tab, screen = screens.get(name, (None, None))
        if name not in wanted or tab is None:
            continue
        path = options.screenshots_dir / screenshot_name(site_key, tab.viewport)
        if check.unavailable:
            done = await tab.card(path, card_html(check.url, check.unavailable, tab.opened_at))
        else:
            done = await tab.screenshot(path, screen)
        if done:
            shots[name] = path
    return shots


def card_html(url: str, reason: str, when: dt.datetime) -> str:
    """The card that stands for the screenshot of a site that did not open: Chromium's own error
    page is in English (Debian's Chromium has only the en-US interface) and says nothing of the
    check. The card says, in Russian, what went wrong, at which address, and when."""
    template = string.Template(resources.files(__package__).joinpath("card.html").read_text(encoding="utf-8"))
    offset = when.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "время компьютера проверки"
    return template.substitute(
        url=html.escape(url),
        reason=html.escape(reason),
        date=when.strftime("%d.%m.%Y"),
        time=when.strftime("%H:%M"),
        zone=zone,
        screen=html.escape(DESKTOP.title),
    )


def _with_scheme(url: str) -> str:
    url = url.strip()
    return url if "://" in url else "http://" + url


# ---------------------------------------------------------------------------------------
# One browser tab: a fresh context with one page, and what it saw about the ПОС script
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Presence:
    url: str
    has_script: bool
    has_container: bool
    widget_ids: tuple[str, ...]
    widget_defined: bool

    @property
    def complete(self) -> bool:
        return self.has_script and self.has_container


class Tab:
    def __init__(self, browser, viewport: Viewport, options: Options):
        self.browser = browser
        self.viewport = viewport
        self.options = options
        self.key = script_key(options.script_url)
        self.pending: dict = {}  # requests for the script not answered yet → when asked
        self.problems: list[str] = []
        self.blocked: list[str] = []  # script URLs whose answer Chromium dropped (ORB)
        self.statuses: dict[str, int] = {}  # CDP request id → HTTP status, as the network saw it
        self.urls: dict[str, str] = {}  # CDP request id → URL, for the script's requests
        self.opened_at = dt.datetime.now().astimezone()

    async def __aenter__(self) -> Self:
        self.context = await self.browser.new_context(**_context_options(self.viewport, self.browser.version))
        await self.context.add_init_script(script=script("init").replace("__SCRIPT_KEY__", json.dumps(self.key)))
        self.page = await self.context.new_page()
        self._listen(self.page)
        await self._listen_network(self.page)
        return self

    async def __aexit__(self, *exc) -> None:
        with suppress(Exception):
            await asyncio.wait_for(self.context.close(), CLOSE_WAIT)

    async def open(self, url: str) -> str:
        """Load the page; return why it did not open, or "" when it did."""
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        timeout = self.options.timeout
        started = time.monotonic()
        self.opened_at = dt.datetime.now().astimezone()
        try:
            response = await self.page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        except PlaywrightTimeout:
            return f"Главная страница не загрузилась за {timeout:g} с."
        except PlaywrightError as error:
            return f"Главная страница не открывается: {describe_net_error(str(error))}."
        if response is not None and response.status >= 400:
            return f"Главная страница не открывается: {describe_http_status(response.status)}."
        # A picture or a counter that never arrives keeps `load` from firing; a person still sees
        # the page, so what has loaded by then is checked.
        left = timeout - (time.monotonic() - started)
        with suppress(PlaywrightError):
            await self.page.wait_for_load_state("load", timeout=max(left, 1.0) * 1000)
        return ""

    async def wait_for_widget(self, seconds: float) -> Presence:
        """Give a widget that a script adds after load the time to appear."""
        from playwright.async_api import Error as PlaywrightError

        with suppress(PlaywrightError):
            await self.page.wait_for_function(
                script("widget_ready"), arg=CONTAINER_ID, timeout=seconds * 1000, polling=200
            )
        await asyncio.sleep(SETTLE)
        return await self.presence()

    async def wake_lazy_widget(self) -> Presence:
        """Scroll through the page as a reader would, for widgets loaded when scrolled to."""
        await self.evaluate(script("scroll_through"), {"id": CONTAINER_ID, "screens": LAZY_SCREENS})
        return await self.wait_for_widget(1.0)

    async def presence(self) -> Presence:
        found = await self.evaluate(script("presence"), {"id": CONTAINER_ID, "key": self.key}) or {}
        called = tuple(found.get("calls") or ())
        # A call seen running is the truth; the page's text is read only when none was (the
        # script failed, or the call ran before it could be watched).
        ids = called or tuple(widget_ids_in("\n".join(found.get("inline") or ())))
        return Presence(
            url=self.page.url,
            has_script=bool(found.get("hasScript")),
            has_container=bool(found.get("hasContainer")),
            widget_ids=ids,
            widget_defined=bool(found.get("widgetDefined")),
        )

    async def measure(self) -> ScreenCheck:
        found = await self.evaluate(script("measure"), {"id": CONTAINER_ID}) or {}
        boxes = [WidgetBox.from_dict(b) for b in found.get("boxes") or ()]
        return ScreenCheck(
            viewport=self.viewport,
            view_width=float(found.get("viewWidth") or self.viewport.width),
            view_height=float(found.get("viewHeight") or self.viewport.height),
            widget=best_box(boxes),
        )

    def script_problems(self, presence: Presence) -> tuple[str, ...]:
        problems = list(self.problems)
        for url in self.blocked:  # by now the network has told the status of each
            why = describe_net_error(f"net::{BLOCKED_AS_PAGE}", self._status_of(url))
            problems.append(f"скрипт {url} не загрузился: {why}")
        problems.sort(key=lambda text: not text.startswith("скрипт "))  # the cause before what it caused
        for request, asked in self.pending.items():
            problems.append(f"скрипт {request.url} не загрузился за {time.monotonic() - asked:.0f} с")
        if not problems and presence.has_script and not presence.widget_defined:
            problems.append("скрипт ПОС загрузился, но функция Widget не определена")
        return tuple(dict.fromkeys(problems))

    async def peek(self, url: str, seconds: float) -> Presence | None:
        """Open an inner page in a second tab, pictures not loaded, and look for the widget."""
        from playwright.async_api import Error as PlaywrightError

        page = await self.context.new_page()
        await page.route("**/*", _skip_heavy)
        try:
            await page.goto(
                url, wait_until="domcontentloaded", timeout=min(self.options.timeout, seconds) * 1000
            )
            with suppress(PlaywrightError):
                await page.wait_for_function(
                    script("widget_ready"), arg=CONTAINER_ID, timeout=CRAWL_WAIT * 1000, polling=200
                )
            found = await page.evaluate(script("presence"), {"id": CONTAINER_ID, "key": self.key})
        except PlaywrightError:
            return None
        finally:
            with suppress(PlaywrightError):
                await page.close()
        called = tuple(found.get("calls") or ())
        return Presence(
            page.url,
            bool(found.get("hasScript")),
            bool(found.get("hasContainer")),
            called or tuple(widget_ids_in("\n".join(found.get("inline") or ()))),
            True,
        )

    async def screenshot(self, path: Path, screen: ScreenCheck | None) -> bool:
        from playwright.async_api import Error as PlaywrightError

        if screen is not None and screen.widget is not None:
            with suppress(PlaywrightError):
                await self.page.evaluate(script("outline"), _outline(screen))
        for attempt in range(2):
            try:
                await self.page.screenshot(path=str(path), timeout=self.options.timeout * 1000)
                return True
            except PlaywrightError as error:
                # Chromium answers so while the page changes renderers (a late redirect, an
                # error page); a moment later the same screenshot works.
                if attempt or "Unable to capture screenshot" not in str(error):
                    return False
                await asyncio.sleep(0.5)
        return False

    async def card(self, path: Path, content: str) -> bool:
        """Save the checker's card (`card_html`) as the screenshot, drawn in a page of its own."""
        from playwright.async_api import Error as PlaywrightError

        page = await self.context.new_page()
        try:
            await page.set_content(content, timeout=self.options.timeout * 1000)
            await page.screenshot(path=str(path), timeout=self.options.timeout * 1000)
            return True
        except PlaywrightError:
            return False
        finally:
            with suppress(PlaywrightError):
                await page.close()

    async def evaluate(self, script: str, arg=None):
        """Evaluate in the page; a page that navigates by itself (a script or meta redirect)
        is given the time to load and asked again."""
        from playwright.async_api import Error as PlaywrightError

        for attempt in range(3):
            try:
                return await self.page.evaluate(script, arg)
            except PlaywrightError as error:
                navigated = "context was destroyed" in str(error) or "navigat" in str(error)
                if attempt == 2 or not navigated:
                    raise
                with suppress(PlaywrightError):
                    await self.page.wait_for_load_state("load", timeout=self.options.timeout * 1000)
        return None

    # --- what the page says about the ПОС script ---------------------------------------

    def _listen(self, page) -> None:
        page.on("request", self._on_request)
        page.on("requestfinished", lambda request: self.pending.pop(request, None))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        page.on("pageerror", self._on_page_error)
        page.on("console", self._on_console)

    async def _listen_network(self, page) -> None:
        """Chromium's ORB drops a script from another site that comes back as an HTML page (a
        404 page, say) before Playwright's `response` event, so Playwright knows only
        «net::ERR_BLOCKED_BY_ORB». The network layer has seen the status by then: read it from
        the DevTools protocol's record of the request."""
        session = await self.context.new_cdp_session(page)
        session.on("Network.requestWillBeSent", self._on_cdp_request)
        session.on("Network.responseReceivedExtraInfo", self._on_cdp_answer)
        await session.send("Network.enable")

    def _on_cdp_request(self, event: dict) -> None:
        url = (event.get("request") or {}).get("url", "")
        if self._is_script(url):
            self.urls[event.get("requestId", "")] = url

    def _on_cdp_answer(self, event: dict) -> None:
        # may come before the request's own event: kept for every request, a number each
        if isinstance(event.get("statusCode"), int):
            self.statuses[event.get("requestId", "")] = event["statusCode"]

    def _status_of(self, url: str) -> int | None:
        found = [self.statuses[i] for i, u in self.urls.items() if u == url and i in self.statuses]
        return found[-1] if found else None

    def _is_script(self, url: str) -> bool:
        return is_script_url(url, self.options.script_url)

    def _on_request(self, request) -> None:
        if self._is_script(request.url):
            self.pending[request] = time.monotonic()

    def _on_request_failed(self, request) -> None:
        self.pending.pop(request, None)
        failure = request.failure or ""
        # ERR_ABORTED: the page itself went elsewhere or was closed, not the script's fault.
        if not self._is_script(request.url) or "ERR_ABORTED" in failure:
            return
        if BLOCKED_AS_PAGE in failure:
            self.blocked.append(request.url)  # described once the status is known
        else:
            self.problems.append(f"скрипт {request.url} не загрузился: {describe_net_error(failure)}")

    def _on_response(self, response) -> None:
        if self._is_script(response.url) and response.status >= 400:
            self.problems.append(f"скрипт {response.url} не загрузился: {describe_http_status(response.status)}")

    def _on_page_error(self, error) -> None:
        stack = (getattr(error, "stack", "") or "").lower()
        message = getattr(error, "message", "") or str(error)
        if self.key in stack or re.search(r"\bWidget\b", message):
            name = getattr(error, "name", "") or "Error"
            text = f"ошибка JavaScript: {name}: {message.splitlines()[0]}"
            if "Widget is not defined" in message:
                text += " (вызов Widget стоит раньше подключения скрипта ПОС, или скрипт не загрузился)"
            self.problems.append(text)

    def _on_console(self, message) -> None:
        if message.type != "error" or message.text.startswith("Failed to load resource"):
            return  # failed loads are told by the request events, with the status
        if self._is_script((message.location or {}).get("url", "")):
            self.problems.append(f"ошибка в консоли: {message.text.splitlines()[0]}")


async def _skip_heavy(route) -> None:
    if route.request.resource_type in ("image", "media", "font"):
        await route.abort()
    else:
        await route.continue_()


def _context_options(viewport: Viewport, version: str) -> dict:
    major = (version or "120").split(".")[0]
    if viewport is PHONE:
        agent = (
            f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Mobile Safari/537.36"
        )
        device = {"is_mobile": True, "has_touch": True}
    else:
        # Headless Chromium says so in its user agent, and some sites turn such visitors away.
        agent = (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36"
        )
        device = {}
    return {
        "viewport": {"width": viewport.width, "height": viewport.height},
        "screen": {"width": viewport.width, "height": viewport.height},
        "device_scale_factor": 1,
        "user_agent": agent,
        # Many municipal sites use the Russian national CA, which Chromium does not trust;
        # citizens' browsers (Yandex Browser, Gosuslugi's own) do, so certificates are not judged.
        "ignore_https_errors": True,
        "locale": "ru-RU",
        "timezone_id": "Asia/Yekaterinburg",
        "service_workers": "block",
        **device,
    }


def _outline(screen: ScreenCheck) -> dict:
    box = screen.widget
    below = box.y >= screen.view_height and not box.fixed
    if not box.displayed or box.width <= 0 or box.height <= 0:
        label = "▲ виджет ПОС скрыт"
    elif below:
        label = f"▼ виджет ПОС ниже, на высоте {round(box.y)} px"
    else:
        label = "виджет ПОС"
    return {
        "x": box.x,
        "y": box.y,
        "width": box.width,
        "height": box.height,
        "frame": box.displayed and not below and box.width > 0 and box.height > 0,
        "label": label,
        "below": below,
        "viewHeight": screen.view_height,
    }
