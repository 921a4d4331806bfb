"""The rules of `letters audit`: what was measured on a site → the findings of its organizations.

The browser (`letters.audit.browser`) measures each main page the way a citizen would see it
and fills a `SiteCheck`; the rules here turn it into `Verdict`s, as plain functions over plain
data, so they can be read and tested without a browser. The words of the findings live here
too, the browser's network errors and HTTP statuses said in Russian among them.

See docs/audit.md for what each check does, the order in which findings exclude each other,
and how a check can be wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from urllib.parse import urldefrag, urljoin, urlsplit

from letters.model import Organization

SCRIPT_URL = "https://pos.gosuslugi.ru/bin/script.min.js"
CHROMIUM = "/usr/bin/chromium"
CONTAINER_ID = "js-show-iframe-wrapper"

# The banner of the embed code is fluid: it takes the width of its place between these bounds.
FLUID_MIN_WIDTH = 293
FLUID_MAX_WIDTH = 1422
# Its height follows from its content at that width; a difference beyond this is the site's doing.
HEIGHT_TOLERANCE_PX = 8
HEIGHT_TOLERANCE_SHARE = 0.10
SCALE_TOLERANCE = 0.02  # transform: scale() of the widget or of a block around it
# Below this the widget is as good as invisible.
MIN_OPACITY = 0.1
MIN_SIZE_PX = 10
# Share of the widget's first-screen area covered by other elements that makes it hidden.
COVERED_SHARE = 0.25
# A widget cut by a block around it by more than this has had its size changed.
CLIPPED_SHARE = 0.05

CODES = (
    "site_unavailable",
    "widget_missing",
    "not_on_main_page",
    "widget_hidden",
    "below_first_screen",
    "needs_scroll",
    "size_changed",
    "wrong_lko",
    "script_error",
)

# What a clerk reads in the summary of a run, as the sample's error catalogue names them.
TITLES = {
    "site_unavailable": "сайт недоступен",
    "widget_missing": "виджет не размещён на сайте",
    "not_on_main_page": "виджет не на главной странице",
    "widget_hidden": "виджет скрыт или перекрыт",
    "below_first_screen": "виджет за пределами первого экрана",
    "needs_scroll": "виджет не виден без прокрутки",
    "size_changed": "изменены размеры виджета",
    "wrong_lko": "не тот ЛКО в коде виджета",
    "script_error": "ошибка скрипта виджета",
}


@dataclass(frozen=True)
class Viewport:
    name: str  # also the suffix of the screenshot file
    width: int
    height: int
    title: str  # as said in a comment: «на экране телефона 390×844»

    @property
    def size(self) -> str:
        return f"{self.width}×{self.height}"


DESKTOP = Viewport("desktop", 1366, 768, "на экране компьютера 1366×768")
PHONE = Viewport("phone", 390, 844, "на экране телефона 390×844")


# ---------------------------------------------------------------------------------------
# What the browser measured
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WidgetBox:
    """One `#js-show-iframe-wrapper` as laid out on one screen, page scrolled to the top.

    Coordinates are CSS px from the top left corner of the first screen.
    """

    displayed: bool = True  # False: display:none on it or on a block around it
    hidden_by: str = ""  # the element that has display:none
    visibility_hidden: bool = False
    opacity: float = 1.0  # its own opacity times that of every block around it
    opacity_by: str = ""
    fixed: bool = False  # position:fixed, so it stays on screen whatever the scroll
    x: float = 0.0  # box on screen, after transforms
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0
    layout_width: float = 0.0  # the CSS box, before transforms
    layout_height: float = 0.0
    natural_height: float = 0.0  # with the site's height, min-height, max-height and stretch lifted
    visible_width: float = 0.0  # what is left after blocks around it cut it (overflow)
    visible_height: float = 0.0
    clipped_by: str = ""
    content_clipped: bool = False  # its own overflow hides part of the banner
    has_banner: bool = False  # `.pos-banner-fluid` inside
    covered_share: float = 0.0  # of its part on the first screen, hidden under other elements
    covered_by: str = ""
    button_covered: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> WidgetBox:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def right(self) -> float:
        return self.x + self.width


@dataclass(frozen=True)
class ScreenCheck:
    viewport: Viewport
    view_width: float  # the visible area in CSS px (a phone zooms out a page made for 980 px)
    view_height: float
    widget: WidgetBox | None  # the best-placed container; None: no container on this screen


@dataclass
class SiteCheck:
    """Everything measured on one site; the input of the rules below."""

    url: str
    final_url: str = ""
    unavailable: str = ""  # why the main page did not open; empty when it did
    has_script: bool = False
    has_container: bool = False
    widget_ids: tuple[str, ...] = ()  # cabinet ids of the Widget(…) calls seen
    script_problems: tuple[str, ...] = ()
    inner_page: str = ""  # inner page holding the widget when the main page has none
    inner_pages_checked: int = 0
    desktop: ScreenCheck | None = None
    phone: ScreenCheck | None = None


@dataclass(frozen=True)
class Verdict:
    code: str
    details: str
    screen: str = DESKTOP.name  # which screenshot shows it


# ---------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------


def site_verdicts(check: SiteCheck) -> list[Verdict]:
    """The findings that do not depend on the organization, in the documented precedence."""
    if check.unavailable:
        return [Verdict("site_unavailable", check.unavailable)]
    if not (check.has_script and check.has_container):
        return [_absence_verdict(check)]
    verdicts: list[Verdict] = []
    if check.script_problems:
        verdicts.append(Verdict("script_error", _sentence("; ".join(check.script_problems))))
    for screen in (check.desktop, check.phone):
        if screen is not None:
            verdicts.extend(screen_verdicts(screen, script_failed=bool(check.script_problems)))
    return _merge_same_codes(verdicts)


def screen_verdicts(screen: ScreenCheck, *, script_failed: bool = False) -> list[Verdict]:
    """Visibility, placement and size of the widget on one screen."""
    box = screen.widget
    where = screen.viewport.title
    name = screen.viewport.name
    if box is None:
        # The main page has the code (checked on the computer screen) but this screen's
        # version of the page does not: a phone version without the widget.
        return [Verdict("widget_hidden", f"{_cap(where)} виджета на странице нет.", name)]
    if script_failed and not box.has_banner:
        return []  # the banner was never built: the script error says it all
    hidden = _display_problem(box)
    if hidden:
        return [Verdict("widget_hidden", f"{_cap(where)} {hidden}.", name)]

    verdicts: list[Verdict] = []
    below = box.y >= screen.view_height and not box.fixed
    if below and screen.viewport is DESKTOP:
        verdicts.append(Verdict("below_first_screen", _below_text(box, screen), name))
    elif below:
        # The first screen is defined at 1366×768; on a phone, out of sight is `needs_scroll`.
        verdicts.append(Verdict("needs_scroll", _scroll_problem(box, screen), name))
    else:
        seen = _see_through_problem(box) or _cover_problem(box)
        if seen:
            verdicts.append(Verdict("widget_hidden", f"{_cap(where)} {seen}.", name))
        scroll = _scroll_problem(box, screen)
        if scroll:
            verdicts.append(Verdict("needs_scroll", scroll, name))
    size = size_problem(box)
    if size:
        verdicts.append(Verdict("size_changed", f"{_cap(where)} {size}.", name))
    return verdicts


def needs_phone_check(desktop: ScreenCheck | None) -> bool:
    """The phone screen is worth loading only while the widget is placed well enough on the
    computer screen: below the first screen there, it is below on a phone too."""
    if desktop is None or desktop.widget is None:
        return False
    box = desktop.widget
    below = box.y >= desktop.view_height and not box.fixed
    return not (_display_problem(box) or below)


def size_problem(box: WidgetBox) -> str:
    """The rule for `size_changed`.

    The banner is fluid: any width from 293 to 1422 px is its own, and at a given width its
    height is whatever its content takes. So the width is checked against those bounds and
    the height against the height the same banner takes at the same width once the site's
    height rules are lifted, rather than against a fixed aspect ratio (which a fluid banner
    does not have). A scale transform and a block around it that cuts it change its size too.
    """
    if box.layout_width and abs(box.width / box.layout_width - 1) > SCALE_TOLERANCE:
        percent = round(box.width / box.layout_width * 100)
        return f"виджет масштабирован стилями сайта (transform) до {percent} % своего размера"
    width = round(box.layout_width)
    if width < FLUID_MIN_WIDTH:
        return (
            f"ширина виджета {width} px — меньше допустимых {FLUID_MIN_WIDTH} px "
            f"(баннер ПОС рассчитан на ширину {FLUID_MIN_WIDTH}–{FLUID_MAX_WIDTH} px)"
        )
    if width > FLUID_MAX_WIDTH:
        return (
            f"ширина виджета {width} px — больше допустимых {FLUID_MAX_WIDTH} px "
            f"(баннер ПОС рассчитан на ширину {FLUID_MIN_WIDTH}–{FLUID_MAX_WIDTH} px)"
        )
    natural = round(box.natural_height)
    height = round(box.layout_height)
    if natural and abs(height - natural) > max(HEIGHT_TOLERANCE_PX, HEIGHT_TOLERANCE_SHARE * natural):
        how = "сжат" if height < natural else "растянут"
        return (
            f"высота виджета {height} px вместо {natural} px, которые он занимает по коду "
            f"виджета при ширине {width} px: виджет {how} стилями сайта"
        )
    if box.content_clipped:
        return "содержимое виджета обрезано его собственной рамкой (overflow), часть баннера не видна"
    cut = _clipped_share(box)
    if cut > CLIPPED_SHARE:
        return (
            f"виджет обрезан блоком {box.clipped_by} (overflow): видно "
            f"{round(box.visible_width)}×{round(box.visible_height)} px "
            f"из {round(box.width)}×{round(box.height)} px"
        )
    return ""


def lko_verdict(check: SiteCheck, organization: Organization) -> Verdict | None:
    """`wrong_lko`: the cabinet id in Widget(…) is not the organization's «ЛКО для сообщений»."""
    complete = check.has_script and check.has_container
    if check.unavailable or not (complete or check.inner_page):
        return None  # no widget code to read the id from: `widget_missing` says enough
    expected = _digits(organization.lko_messages)
    if not expected:
        return None  # nothing to compare with: the registry does not say
    ids = [i for i in dict.fromkeys(_digits(i) for i in check.widget_ids) if i]
    if not ids:
        return Verdict(
            "wrong_lko",
            'На странице не найден вызов Widget("https://pos.gosuslugi.ru/form", ЛКО) — '
            f"форма обращения не откроется; ЛКО для сообщений по реестру — {expected}.",
        )
    if expected in ids:
        return None
    shown = ", ".join(ids)
    text = f"В коде виджета указан ЛКО {shown}, а ЛКО для сообщений по реестру — {expected}"
    if _digits(organization.lko_votes) in ids:
        text += " (указан ЛКО для голосований)"
    return Verdict("wrong_lko", text + ".")


def verdicts_for(
    check: SiteCheck, organizations: Sequence[Organization]
) -> list[tuple[Organization, list[Verdict]]]:
    """Findings of each organization that has this site."""
    common = site_verdicts(check)
    note = redirect_note(check)
    result = []
    for org in organizations:
        own = list(common)
        lko = lko_verdict(check, org)
        if lko is not None:
            own.append(lko)
        own.sort(key=lambda v: CODES.index(v.code))
        if note:
            own = [Verdict(v.code, f"{v.details} {note}", v.screen) for v in own]
        result.append((org, own))
    return result


def redirect_note(check: SiteCheck) -> str:
    """A site that moved to another host is checked where it went, and the comment says so."""
    if not check.final_url:
        return ""
    before, after = _host(check.url), _host(check.final_url)
    if before and after and before != after:
        return f"Сайт перенаправляет на {check.final_url}."
    return ""


def best_box(boxes: Sequence[WidgetBox]) -> WidgetBox | None:
    """Of several containers on a page (a copy for phones hidden on computers, say), the one a
    person is most likely to see: shown, not transparent, highest on the page."""
    if not boxes:
        return None
    return min(boxes, key=lambda b: (bool(_display_problem(b)), b.opacity < MIN_OPACITY, b.y))


def screenshot_name(site_key: str, viewport: Viewport) -> str:
    """`school5.example.ru` → `school5.example.ru.png`; the phone's gets `-phone`."""
    stem = re.sub(r"[^\w.-]+", "_", site_key).strip("._") or "site"
    suffix = "" if viewport is DESKTOP else f"-{viewport.name}"
    return f"{stem}{suffix}.png"


# --- pieces of the rules -------------------------------------------------------------------


def _absence_verdict(check: SiteCheck) -> Verdict:
    if check.inner_page:
        return Verdict(
            "not_on_main_page",
            f"Виджет размещён только на внутренней странице {check.inner_page}, на главной странице его нет.",
        )
    if check.has_container:
        what = f"есть контейнер {CONTAINER_ID}, но не подключён скрипт ПОС (script.min.js)"
    elif check.has_script:
        what = f"скрипт ПОС подключён, но нет контейнера виджета {CONTAINER_ID}"
    else:
        what = f"нет ни скрипта ПОС (script.min.js), ни контейнера {CONTAINER_ID}"
    text = f"На главной странице нет виджета ПОС: {what}."
    if check.inner_pages_checked:
        text += f" На {_pages(check.inner_pages_checked)} по ссылкам с главной виджета тоже нет."
    return Verdict("widget_missing", text)


def _display_problem(box: WidgetBox) -> str:
    """Hidden whatever the screen: not displayed, invisible, no size, cut away, off the page."""
    if not box.displayed:
        by = f" у блока {box.hidden_by}" if box.hidden_by else ""
        return f"виджет скрыт: display: none{by}"
    if box.visibility_hidden:
        return "виджет скрыт: visibility: hidden"
    if box.layout_width < MIN_SIZE_PX or box.layout_height < MIN_SIZE_PX:
        return f"виджет имеет нулевой размер ({round(box.layout_width)}×{round(box.layout_height)} px)"
    if box.visible_width < MIN_SIZE_PX or box.visible_height < MIN_SIZE_PX:
        by = f" блоком {box.clipped_by}" if box.clipped_by else ""
        return f"виджет целиком обрезан{by} (overflow)"
    if box.right <= 0 or box.bottom <= 0:
        return f"виджет вынесен за пределы страницы (x = {round(box.x)} px, y = {round(box.y)} px)"
    return ""


def _see_through_problem(box: WidgetBox) -> str:
    if box.opacity < MIN_OPACITY:
        by = f" (opacity у блока {box.opacity_by})" if box.opacity_by else ""
        return f"виджет прозрачен: непрозрачность {box.opacity:.0%}{by}"
    return ""


def _cover_problem(box: WidgetBox) -> str:
    if box.covered_share < COVERED_SHARE and not box.button_covered:
        return ""
    by = box.covered_by or "другим элементом"
    text = f"виджет закрыт элементом {by}: закрыто {round(box.covered_share * 100)} % его площади на первом экране"
    if box.button_covered:
        text += ", включая кнопку"
    return text


def _below_text(box: WidgetBox, screen: ScreenCheck) -> str:
    return (
        f"Виджет начинается на высоте {round(box.y)} px при высоте первого экрана "
        f"{round(screen.view_height)} px ({screen.viewport.title})."
    )


def _scroll_problem(box: WidgetBox, screen: ScreenCheck) -> str:
    """Part of the widget is on the first screen, part needs scrolling (down or sideways)."""
    if box.fixed:
        return ""
    where = screen.viewport.title
    height, top, bottom = round(box.height), round(box.y), round(box.bottom)
    view_h, view_w = round(screen.view_height), round(screen.view_width)
    if top >= view_h:
        return f"{_cap(where)} виджет начинается на высоте {top} px, ниже первого экрана ({view_h} px)."
    if bottom > view_h + 1:
        return (
            f"{_cap(where)} виджет занимает по высоте {top}–{bottom} px при высоте первого экрана "
            f"{view_h} px: без прокрутки видно {max(view_h - top, 0)} px из {height}."
        )
    if round(box.right) > view_w + 1:
        return f"{_cap(where)} виджет выходит за правый край экрана на {round(box.right) - view_w} px."
    return ""


def _clipped_share(box: WidgetBox) -> float:
    full = box.width * box.height
    if full <= 0:
        return 0.0
    return 1 - (box.visible_width * box.visible_height) / full


def _merge_same_codes(verdicts: list[Verdict]) -> list[Verdict]:
    """One finding per code: what the phone adds goes into the same comment."""
    merged: dict[str, Verdict] = {}
    for v in verdicts:
        if v.code in merged:
            first = merged[v.code]
            merged[v.code] = Verdict(v.code, f"{first.details} {v.details}", first.screen)
        else:
            merged[v.code] = v
    return list(merged.values())


def _digits(text: str) -> str:
    digits = re.sub(r"\D", "", text or "")
    return digits.lstrip("0") or ("0" if digits else "")


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = _cap(text.strip())
    return text if text.endswith(".") else text + "."


def _pages(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} внутренней странице"
    return f"{n} внутренних страницах"


# ---------------------------------------------------------------------------------------
# Reading the page's code
# ---------------------------------------------------------------------------------------

_WIDGET_CALL = re.compile(r"""\bWidget\s*\(\s*(['"`])[^'"`]*\1\s*,\s*(['"`]?)\s*(\d+)\s*\2""")


def widget_ids_in(source: str) -> list[str]:
    """Cabinet ids of the `Widget("https://pos.gosuslugi.ru/form", 123456)` calls in a text."""
    return [m.group(3) for m in _WIDGET_CALL.finditer(source)]


def script_key(url: str) -> str:
    """Host name and path, lower case: the script counts whether linked as https, http or `//`,
    on whatever port, with or without a query string."""
    parts = urlsplit(url if "//" in url else "//" + url)
    return f"{(parts.hostname or '').lower()}{parts.path}"


def is_script_url(url: str, script_url: str) -> bool:
    return bool(url) and script_key(url) == script_key(script_url)


_NOT_PAGES = re.compile(
    r"\.(pdf|docx?|xlsx?|pptx?|odt|ods|rtf|zip|rar|7z|jpe?g|png|gif|webp|svg|mp3|mp4|avi|sig)$", re.IGNORECASE
)
# Words of the links under which sites usually put the widget when it is not on the main page.
_LIKELY = (
    "обратн",
    "обращени",
    "приемн",
    "приёмн",
    "связ",
    "вопрос",
    "пос",
    "госуслуг",
    "feedback",
    "obrat",
    "obrash",
    "priem",
    "svyaz",
    "contact",
    "kontakt",
    "pos",
)


def inner_links(links: Iterable[tuple[str, str]], page_url: str, site_url: str, limit: int) -> list[str]:
    """Same-site pages linked from the main page, most likely widget places first, at most `limit`.

    `links` are (href, text) pairs as found on the page. A link counts as same-site when it is
    on the same host (with or without www.) and, when the registry gives the site as a section
    of a portal, within that section.
    """
    host = _host(page_url)
    section = urlsplit(site_url if "://" in site_url else "http://" + site_url).path.rstrip("/")
    here = urldefrag(page_url)[0].rstrip("/")
    seen: dict[str, int] = {}
    for order, (href, text) in enumerate(links):
        url = urldefrag(urljoin(page_url, href.strip()))[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or _host(url) != host:
            continue
        if section and not parts.path.startswith(section):
            continue
        if url.rstrip("/") == here or _NOT_PAGES.search(parts.path) or url in seen:
            continue
        words = f"{text} {parts.path}".lower()
        likely = any(w in words for w in _LIKELY)
        seen[url] = order - (100_000 if likely else 0)
    return sorted(seen, key=seen.__getitem__)[: max(limit, 0)]


# ---------------------------------------------------------------------------------------
# Sites and screenshots
# ---------------------------------------------------------------------------------------


def group_by_site(organizations: Iterable[Organization]) -> list[list[Organization]]:
    """Organizations grouped by normalised site, in registry order; those without a site left out."""
    groups: dict[str, list[Organization]] = {}
    for org in organizations:
        key = org.site_key or org.site.strip()
        if key:
            groups.setdefault(key, []).append(org)
    return list(groups.values())


# ---------------------------------------------------------------------------------------
# What the browser says, in Russian
# ---------------------------------------------------------------------------------------

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
# Chromium's Opaque Response Blocking drops a script from another site that comes back as an
# HTML page (an error page, a stub): the code names the browser's rule, not what went wrong.
BLOCKED_AS_PAGE = "ERR_BLOCKED_BY_ORB"

HTTP_STATUSES = {
    400: "неверный запрос",
    401: "нужен вход по паролю",
    403: "доступ запрещён",
    404: "не найдено",
    410: "удалено",
    429: "слишком много запросов",
    500: "внутренняя ошибка сервера",
    502: "ошибка шлюза",
    503: "сервис временно недоступен",
    504: "шлюз не дождался ответа",
}


def describe_http_status(status: int) -> str:
    """404 → «сервер ответил HTTP 404 (не найдено)»."""
    name = HTTP_STATUSES.get(status)
    return f"сервер ответил HTTP {status}" + (f" ({name})" if name else "")


def describe_net_error(message: str, status: int | None = None) -> str:
    """`net::ERR_CONNECTION_REFUSED at http://…` → «сервер отклонил соединение (net::ERR_CONNECTION_REFUSED)».

    `status` is the HTTP status the server answered with, when the browser dropped the answer
    itself (ORB): then the status is what matters, and the browser's code is not shown.
    """
    if (message or "").startswith("mixed-content"):
        return "заблокирован браузером: страница открыта по https, а скрипт подключён по http (mixed content)"
    match = re.search(r"net::(ERR_[A-Z0-9_]+)", message or "")
    if not match:
        return (message or "неизвестная ошибка").splitlines()[0]
    code = match.group(1)
    if code == BLOCKED_AS_PAGE:
        if status and status >= 400:
            return describe_http_status(status)
        return "сервер прислал вместо скрипта веб-страницу"
    text = NET_ERRORS.get(code)
    return f"{text} (net::{code})" if text else f"ошибка сети (net::{code})"
