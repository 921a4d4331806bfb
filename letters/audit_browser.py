"""The browser half of `letters audit`: open each site in Chromium and measure the widget.

One browser serves all sites; each site gets fresh browser contexts (no cookies shared between
sites), at most `jobs` sites at a time. What is measured goes into `letters.audit.SiteCheck`;
the rules that turn it into findings are in `letters.audit`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from letters.audit import (
    CONTAINER_ID,
    DESKTOP,
    PHONE,
    AuditError,
    ScreenCheck,
    SiteCheck,
    Verdict,
    Viewport,
    WidgetBox,
    best_box,
    inner_links,
    is_script_url,
    needs_phone_check,
    screenshot_name,
    script_key,
    verdicts_for,
    widget_ids_in,
)
from letters.model import Organization

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
ERROR_PAGE_WAIT = 5.0  # s for Chromium to show its own error page after a failed load

NET_ERRORS = {
    "ERR_NAME_NOT_RESOLVED": "имя сайта не найдено в DNS",
    "ERR_NAME_RESOLUTION_FAILED": "имя сайта не найдено в DNS",
    "ERR_CONNECTION_REFUSED": "сервер отклонил соединение",
    "ERR_CONNECTION_TIMED_OUT": "сервер не ответил на соединение",
    "ERR_CONNECTION_RESET": "сервер сбросил соединение",
    "ERR_CONNECTION_CLOSED": "сервер закрыл соединение",
    "ERR_EMPTY_RESPONSE": "сервер закрыл соединение, ничего не ответив",
    "ERR_TOO_MANY_REDIRECTS": "сайт бесконечно перенаправляет сам на себя",
    "ERR_ADDRESS_UNREACHABLE": "адрес сервера недоступен",
    "ERR_SSL_PROTOCOL_ERROR": "ошибка протокола HTTPS",
    "ERR_SSL_VERSION_OR_CIPHER_MISMATCH": "сервер использует устаревшее шифрование HTTPS",
    "ERR_INVALID_RESPONSE": "сервер прислал некорректный ответ",
    "ERR_TIMED_OUT": "время ожидания истекло",
    "ERR_INTERNET_DISCONNECTED": "нет подключения к интернету на компьютере проверки",
}


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
            url,
            unavailable=f"Проверка сайта не завершилась за {options.site_limit:g} с: страница не отвечает.",
        )
        return SiteOutcome(check, verdicts_for(check, organizations))
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
    links = await tab.evaluate(LINKS_JS)
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


async def _screenshots(verdicts, screens: dict, site_key: str, options: Options) -> dict[str, Path]:
    """The first screen of each screen size that shows a finding, the widget outlined."""
    if options.screenshots_dir is None:
        return {}
    wanted = {v.screen for _, site_verdicts in verdicts for v in site_verdicts}
    shots: dict[str, Path] = {}
    for name in (DESKTOP.name, PHONE.name):
        tab, screen = screens[name]
        if name not in wanted or tab is None:
            continue
        path = options.screenshots_dir / screenshot_name(site_key, tab.viewport)
        if await tab.screenshot(path, screen):
            shots[name] = path
    return shots


def _with_scheme(url: str) -> str:
    url = url.strip()
    return url if "://" in url else "http://" + url


def describe_net_error(message: str) -> str:
    """`net::ERR_CONNECTION_REFUSED at http://…` → «сервер отклонил соединение (net::ERR_CONNECTION_REFUSED)»."""
    if (message or "").startswith("mixed-content"):
        return "заблокирован браузером: страница открыта по https, а скрипт подключён по http (mixed content)"
    match = re.search(r"net::(ERR_[A-Z0-9_]+)", message or "")
    if not match:
        return (message or "неизвестная ошибка").splitlines()[0]
    code = match.group(1)
    text = NET_ERRORS.get(code)
    return f"{text} (net::{code})" if text else f"net::{code}"


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

    async def __aenter__(self) -> Self:
        self.context = await self.browser.new_context(**_context_options(self.viewport, self.browser.version))
        await self.context.add_init_script(script=INIT_JS.replace("__SCRIPT_KEY__", json.dumps(self.key)))
        self.page = await self.context.new_page()
        self._listen(self.page)
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
        try:
            response = await self.page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        except PlaywrightTimeout:
            return f"Главная страница не загрузилась за {timeout:g} с."
        except PlaywrightError as error:
            await self._wait_for_error_page()
            return f"Главная страница не открывается: {describe_net_error(str(error))}."
        if response is not None and response.status >= 400:
            reason = f" {response.status_text}" if response.status_text else ""
            return f"Главная страница не открывается: сервер ответил HTTP {response.status}{reason}."
        # A picture or a counter that never arrives keeps `load` from firing; a person still sees
        # the page, so what has loaded by then is checked.
        left = timeout - (time.monotonic() - started)
        with suppress(PlaywrightError):
            await self.page.wait_for_load_state("load", timeout=max(left, 1.0) * 1000)
        return ""

    async def _wait_for_error_page(self) -> None:
        """Playwright reports a failed load as soon as the request fails, but Chromium shows its
        error page (chrome-error://chromewebdata/, in a renderer process of its own) a moment
        later. A screenshot taken in between races with that switch of renderers and fails with
        «Unable to capture screenshot», so the error page is waited for. Some failures show none
        (an aborted load): then the wait just ends."""
        from playwright.async_api import Error as PlaywrightError

        with suppress(PlaywrightError):
            await self.page.wait_for_url(
                lambda url: url.startswith("chrome-error:"), timeout=ERROR_PAGE_WAIT * 1000
            )

    async def wait_for_widget(self, seconds: float) -> Presence:
        """Give a widget that a script adds after load the time to appear."""
        from playwright.async_api import Error as PlaywrightError

        with suppress(PlaywrightError):
            await self.page.wait_for_function(
                WIDGET_READY_JS, arg=CONTAINER_ID, timeout=seconds * 1000, polling=200
            )
        await asyncio.sleep(SETTLE)
        return await self.presence()

    async def wake_lazy_widget(self) -> Presence:
        """Scroll through the page as a reader would, for widgets loaded when scrolled to."""
        await self.evaluate(SCROLL_THROUGH_JS, {"id": CONTAINER_ID, "screens": LAZY_SCREENS})
        return await self.wait_for_widget(1.0)

    async def presence(self) -> Presence:
        found = await self.evaluate(PRESENCE_JS, {"id": CONTAINER_ID, "key": self.key}) or {}
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
        found = await self.evaluate(MEASURE_JS, {"id": CONTAINER_ID}) or {}
        boxes = [WidgetBox.from_dict(b) for b in found.get("boxes") or ()]
        return ScreenCheck(
            viewport=self.viewport,
            view_width=float(found.get("viewWidth") or self.viewport.width),
            view_height=float(found.get("viewHeight") or self.viewport.height),
            widget=best_box(boxes),
        )

    def script_problems(self, presence: Presence) -> tuple[str, ...]:
        problems = list(self.problems)
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
                    WIDGET_READY_JS, arg=CONTAINER_ID, timeout=CRAWL_WAIT * 1000, polling=200
                )
            found = await page.evaluate(PRESENCE_JS, {"id": CONTAINER_ID, "key": self.key})
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
                await self.page.evaluate(OUTLINE_JS, _outline(screen))
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

    def _is_script(self, url: str) -> bool:
        return is_script_url(url, self.options.script_url)

    def _on_request(self, request) -> None:
        if self._is_script(request.url):
            self.pending[request] = time.monotonic()

    def _on_request_failed(self, request) -> None:
        self.pending.pop(request, None)
        failure = request.failure or ""
        # ERR_ABORTED: the page itself went elsewhere or was closed, not the script's fault.
        if self._is_script(request.url) and "ERR_ABORTED" not in failure:
            self.problems.append(f"скрипт {request.url} не загрузился: {describe_net_error(failure)}")

    def _on_response(self, response) -> None:
        if self._is_script(response.url) and response.status >= 400:
            self.problems.append(
                f"скрипт {response.url} не загрузился: сервер ответил HTTP {response.status}"
            )

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


# ---------------------------------------------------------------------------------------
# JavaScript run in the pages
# ---------------------------------------------------------------------------------------

# Runs before any script of the page. The ПОС script declares `function Widget(src, id)`; a
# declaration cannot be trapped, so right after the script has run (its `load` event, caught
# at the document before the page's next script runs) Widget is wrapped to note its arguments.
INIT_JS = """
(() => {
  const KEY = __SCRIPT_KEY__;
  const calls = [];
  Object.defineProperty(window, '__lettersWidgetCalls', { value: calls });
  const norm = (u) => { try { const x = new URL(u, location.href); return (x.hostname + x.pathname).toLowerCase(); } catch (e) { return ''; } };
  const wrap = () => {
    const original = window.Widget;
    if (typeof original !== 'function' || original.__lettersWrapped) return;
    const wrapped = function (...args) {
      calls.push(String(args[1]));
      return original.apply(this, args);
    };
    wrapped.__lettersWrapped = true;
    try { window.Widget = wrapped; } catch (e) { /* not writable: the page's text is read instead */ }
  };
  document.addEventListener('load', (event) => {
    const el = event.target;
    if (el && el.tagName === 'SCRIPT' && norm(el.src) === KEY) wrap();
  }, true);
})();
"""

WIDGET_READY_JS = """
(id) => {
  const c = document.getElementById(id);
  return !!c && (!!c.querySelector('.pos-banner-fluid') || c.getBoundingClientRect().height > 0);
}
"""

PRESENCE_JS = """
({ id, key }) => {
  const norm = (u) => { try { const x = new URL(u, location.href); return (x.hostname + x.pathname).toLowerCase(); } catch (e) { return ''; } };
  const scripts = [...document.scripts];
  const loaded = performance.getEntriesByType('resource').some((e) => norm(e.name) === key);
  return {
    hasScript: loaded || scripts.some((s) => s.src && norm(s.src) === key),
    hasContainer: !!document.getElementById(id),
    inline: scripts.filter((s) => !s.src && s.textContent.includes('Widget')).map((s) => s.textContent.slice(0, 50000)),
    calls: window.__lettersWidgetCalls || [],
    widgetDefined: typeof window.Widget === 'function',
  };
}
"""

SCROLL_THROUGH_JS = """
async ({ id, screens }) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const step = Math.max(window.innerHeight * 0.8, 200);
  for (let i = 1; i <= screens && !document.getElementById(id); i++) {
    window.scrollTo({ top: step * i, left: 0, behavior: 'instant' });
    await sleep(150);
    if (window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2) break;
  }
  await sleep(200);
  window.scrollTo({ top: 0, left: 0, behavior: 'instant' });
}
"""

LINKS_JS = """
() => [...document.querySelectorAll('a[href]')].slice(0, 2000)
  .map((a) => ({ href: a.getAttribute('href') || '', text: (a.textContent || '').trim().slice(0, 200) }))
"""

# Everything about every container, with the page scrolled to the top. Coordinates are CSS px
# of the visible area (a phone's visual viewport).
MEASURE_JS = """
async ({ id }) => {
  window.scrollTo({ top: 0, left: 0, behavior: 'instant' });
  if (document.fonts && document.fonts.ready) {
    await Promise.race([document.fonts.ready, new Promise((r) => setTimeout(r, 1000))]);
  }
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const vv = window.visualViewport;
  const viewWidth = vv ? vv.width : document.documentElement.clientWidth;
  const viewHeight = vv ? vv.height : window.innerHeight;

  const style = (e) => getComputedStyle(e);
  const chain = (e) => { const out = []; for (; e && e.nodeType === 1; e = e.parentElement) out.push(e); return out; };
  const describe = (e) => {
    if (!e || e.nodeType !== 1) return '';
    let s = e.tagName.toLowerCase();
    if (e.id) return s + '#' + e.id;
    const cls = typeof e.className === 'string' ? e.className.trim().split(/\\s+/).filter(Boolean).slice(0, 2) : [];
    return cls.length ? s + '.' + cls.join('.') : s;
  };
  // The element to name when something covers the widget: the outermost positioned block
  // (a cookie banner, a sticky header) rather than the word that happened to be hit.
  const coverName = (hit) => {
    let best = hit;
    for (const e of chain(hit)) {
      if (e === document.body || e === document.documentElement) break;
      if (['fixed', 'sticky', 'absolute'].includes(style(e).position)) best = e;
    }
    return describe(best);
  };

  const visibleRect = (c, r) => {
    let l = r.left, t = r.top, rt = r.right, b = r.bottom, by = '';
    for (const e of chain(c.parentElement)) {
      if (e === document.body || e === document.documentElement) break;
      const s = style(e);
      if (s.overflowX !== 'visible' || s.overflowY !== 'visible') {
        const er = e.getBoundingClientRect();
        const before = Math.max(0, rt - l) * Math.max(0, b - t);
        if (s.overflowX !== 'visible') { l = Math.max(l, er.left); rt = Math.min(rt, er.right); }
        if (s.overflowY !== 'visible') { t = Math.max(t, er.top); b = Math.min(b, er.bottom); }
        if (!by && Math.max(0, rt - l) * Math.max(0, b - t) < before - 1) by = describe(e);
      }
      if (s.position === 'fixed') break;
    }
    return { l, t, r: rt, b, by };
  };

  const cover = (c, vis) => {
    const l = Math.max(vis.l, 0), t = Math.max(vis.t, 0);
    const r = Math.min(vis.r, viewWidth), b = Math.min(vis.b, viewHeight);
    const result = { share: 0, by: '', button: false };
    if (r - l < 2 || b - t < 2) return result;
    const isOver = (hit) => hit && !c.contains(hit) && !hit.contains(c);
    const counts = {};
    let covered = 0, total = 0;
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 5; j++) {
        const hit = document.elementFromPoint(l + (r - l) * (i + 0.5) / 8, t + (b - t) * (j + 0.5) / 5);
        total++;
        if (isOver(hit)) { covered++; const n = coverName(hit); counts[n] = (counts[n] || 0) + 1; }
      }
    }
    result.share = covered / total;
    result.by = Object.keys(counts).sort((a, z) => counts[z] - counts[a])[0] || '';
    const btn = c.querySelector('.pos-banner-btn_2');
    if (btn) {
      const br = btn.getBoundingClientRect();
      const x = br.left + br.width / 2, y = br.top + br.height / 2;
      // Only where the button can be seen: one cut away by the widget's own frame is a size problem.
      if (br.width > 0 && x >= l && y >= t && x < r && y < b) {
        const hit = document.elementFromPoint(x, y);
        result.button = isOver(hit);
        if (result.button && !result.by) result.by = coverName(hit);
      }
    }
    return result;
  };

  const clipsOwn = (e) => {
    if (!e) return false;
    const s = style(e);
    return (s.overflowY !== 'visible' && e.scrollHeight > e.clientHeight + 2)
        || (s.overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 2);
  };

  // The height the banner takes at this width by its own code: lift the site's height rules
  // (and a flex or grid parent's stretching) for a moment, measure, put everything back.
  const naturalHeight = (c, banner) => {
    const els = [c, banner].filter(Boolean);
    const saved = els.map((e) => e.getAttribute('style'));
    for (const e of els) {
      e.style.setProperty('height', 'auto', 'important');
      e.style.setProperty('min-height', '0px', 'important');
      e.style.setProperty('max-height', 'none', 'important');
    }
    c.style.setProperty('align-self', 'flex-start', 'important');
    const parent = c.parentElement ? style(c.parentElement) : null;
    if (parent && parent.display.includes('flex') && parent.flexDirection.startsWith('column')) {
      c.style.setProperty('flex-grow', '0', 'important');
      c.style.setProperty('flex-basis', 'auto', 'important');
    }
    const h = c.offsetHeight;
    els.forEach((e, i) => (saved[i] === null ? e.removeAttribute('style') : e.setAttribute('style', saved[i])));
    return h;
  };

  const measure = (c) => {
    const hiddenBy = chain(c).find((e) => style(e).display === 'none');
    let opacity = 1, opacityBy = '', lowest = 1;
    for (const e of chain(c)) {
      const o = parseFloat(style(e).opacity);
      if (o < 1) { opacity *= o; if (o < lowest) { lowest = o; opacityBy = describe(e); } }
    }
    const r = c.getBoundingClientRect();
    const banner = c.querySelector('.pos-banner-fluid');
    const vis = visibleRect(c, r);
    const displayed = !hiddenBy && c.getClientRects().length > 0;
    const cov = displayed ? cover(c, vis) : { share: 0, by: '', button: false };
    return {
      displayed,
      hidden_by: hiddenBy ? describe(hiddenBy) : '',
      visibility_hidden: style(c).visibility !== 'visible',
      opacity,
      opacity_by: opacityBy,
      fixed: chain(c).some((e) => style(e).position === 'fixed'),
      x: r.left, y: r.top, width: r.width, height: r.height,
      layout_width: c.offsetWidth, layout_height: c.offsetHeight,
      visible_width: Math.max(0, vis.r - vis.l), visible_height: Math.max(0, vis.b - vis.t),
      clipped_by: vis.by,
      content_clipped: clipsOwn(c) || clipsOwn(banner),
      has_banner: !!banner,
      covered_share: cov.share, covered_by: cov.by, button_covered: cov.button,
      natural_height: displayed ? naturalHeight(c, banner) : 0,
    };
  };

  const boxes = [...document.querySelectorAll('[id="' + id + '"]')].map(measure);
  return { viewWidth, viewHeight, boxes };
}
"""

# Drawn over the page just before the screenshot, never before measuring.
OUTLINE_JS = """
(o) => {
  window.scrollTo({ top: 0, left: 0, behavior: 'instant' });
  const add = (css, text) => {
    const d = document.createElement('div');
    d.setAttribute('data-letters-audit', '');
    d.style.cssText = 'position:fixed;z-index:2147483647;pointer-events:none;box-sizing:border-box;' + css;
    if (text) d.textContent = text;
    document.documentElement.appendChild(d);
  };
  // Large enough to read on paper, where the 1366 px screen is printed 170 mm wide.
  const label = 'background:#d00000;color:#fff;font:bold 24px/32px Arial,sans-serif;padding:2px 10px;max-width:calc(100vw - 16px);';
  if (o.frame) {
    add(`left:${o.x - 4}px;top:${o.y - 4}px;width:${o.width + 8}px;height:${o.height + 8}px;border:4px solid #d00000;`);
    const top = o.y >= 38 ? o.y - 40 : o.y + o.height + 6;
    add(`${label}left:${Math.max(o.x, 0)}px;top:${top}px;`, o.label);
  } else {
    add(`${label}left:8px;${o.below ? 'bottom:8px' : 'top:8px'};`, o.label);
  }
}
"""
