"""Step 2: validate the tables into the typed model, collecting every problem at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from . import addresses, dates, declension
from .names import name_key
from .model import Dataset, ErrorType, Finding, Municipality, Organization, PlanItem
from .problems import Problems
from .settings import line_of, read_settings
from .sites import site_key
from .tables import Row, Table, read_table

# A comment longer than this does not fit on one page of appendix 1: its column is 35 mm
# wide at 11 pt, about 18 characters a line and 55 lines a page (measured with LibreOffice).
COMMENT_PAGE = 1000
EARLIEST_AUDIT = dt.date(2000, 1, 1)  # an earlier date is a typo in the year
_CYRILLIC = re.compile(r"[а-яё]", re.I)
_LATIN = re.compile(r"[aceopxyABCEHKMOPTX]")  # Latin letters that look Cyrillic


def load_dataset(
    folder: Path, problems: Problems, on: dt.date | None = None, today: dt.date | None = None,
    deadline: dt.date | None = None,
) -> Dataset | None:
    """Read and check the data folder; None when there is any error (all are in `problems`).

    `on` is the date of the letters: audit rows dated after it are suspicious, a deadline
    before it is an error. An audit dated after `today` (the computer's date) is an error.
    `deadline` (build --deadline) stands in for letters.toml's.
    """
    if not folder.is_dir():
        problems.error(f"папки данных {folder} нет: укажите папку с таблицами и letters.toml в --data")
        return None
    settings = read_settings(folder, problems)
    if settings is not None and deadline is not None:
        settings = dataclasses.replace(settings, deadline=deadline)
    tables = {name: read_table(folder, name, problems) for name in ("municipalities", "organizations", "audit", "errors", "plan")}
    municipalities = _municipalities(tables["municipalities"], problems)
    organizations = _organizations(tables["organizations"], municipalities, problems)
    errors = _errors(tables["errors"], problems)
    when = _Dates(on, today or dt.date.today())
    findings = _findings(tables["audit"], organizations, errors, when, problems, folder)
    plan = _plan(tables["plan"], problems)
    if settings is not None and on is not None and settings.deadline < on:
        problems.error(
            f"срок ответа {dates.numeric(settings.deadline)} раньше даты письма {dates.numeric(on)}: "
            + ("исправьте deadline в разделе [letter] или укажите новый срок: --deadline ДД.ММ.ГГГГ" if deadline is None
               else "исправьте --deadline"),
            **({"file": "letters.toml", "row": line_of(folder, "[letter] deadline"), "column": "[letter] deadline"}
               if deadline is None else {}),
        )
    _warn_without_email(tables["municipalities"], municipalities, findings, problems)
    if problems.has_errors or settings is None or None in tables.values():
        return None
    return Dataset(
        settings=settings,
        municipalities=[m for m, _ in municipalities.values()],
        organizations=[org for org, _ in organizations.values()],
        errors=list(errors.values()),
        findings=findings,
        plan=plan,
    )


class _Known(dict):
    """What a table defines, by key. `broken` holds the keys of its rows already reported
    as wrong: the rows of other tables that refer to them get no second message."""

    def __init__(self):
        super().__init__()
        self.broken: set[str] = set()


def _required(table: Table, row: Row, field: str, problems: Problems) -> str:
    value = " ".join(row.text(field).split())
    if not value:
        problems.error("пустая ячейка: заполните её", table.file, row.number, table.title(field))
    return value


def _municipalities(table: Table | None, problems: Problems) -> dict[str, tuple[Municipality, int]]:
    """Municipalities by name key, each with the row it came from."""
    found = _Known()
    first_row: dict[str, int] = {}
    for row in table.rows if table else []:
        name = _required(table, row, "municipality", problems)
        position = _required(table, row, "head_position", problems)
        head = _required(table, row, "head_name", problems)
        if not name:
            continue
        key = name_key(name)
        if key in found:
            problems.error(
                f"муниципальное образование «{name}» уже записано в строке {first_row[key]}: "
                "оставьте одну строку",
                table.file, row.number, table.title("municipality"),
            )
            continue
        addressee = _addressee(table, row, position, head, problems) if position and head else None
        if addressee is None:
            found.broken.add(key)
            continue
        first_row[key] = row.number
        municipality = Municipality(
            name=name,
            head_position=position,
            head_name=head,
            head_position_dative=addressee[0],
            head_name_dative=addressee[1],
            salutation=addressee[2],
            emails=_emails(table, row, problems),
            address=" ".join(row.text("address").split()),
        )
        found[key] = (municipality, row.number)
    return found


def _addressee(table: Table, row: Row, position: str, head: str, problems: Problems):
    """Dative position and name, and the salutation; the override columns win when filled."""
    position_dative = " ".join(row.text("head_position_dative").split())
    name_dative = " ".join(row.text("head_name_dative").split())
    try:
        position_dative = position_dative or declension.position_dative(position)
    except declension.DeclensionError as exc:
        problems.error(str(exc), table.file, row.number, table.title("head_position"))
        return None
    try:
        name_dative = name_dative or declension.name_dative(head)
        greeting = declension.salutation(head)
    except declension.DeclensionError as exc:
        problems.error(str(exc), table.file, row.number, table.title("head_name"))
        return None
    return position_dative, name_dative, greeting


def _emails(table: Table, row: Row, problems: Problems) -> tuple[str, ...]:
    found = tuple(addresses.split(row.text("email")))
    for address in found:
        if not addresses.is_email(address):
            problems.error(
                f"«{address}» — не адрес электронной почты (нужен вид name@example.ru); несколько "
                "адресов разделяйте «;»",
                table.file, row.number, table.title("email"),
            )
    return found


def _warn_without_email(table, municipalities, findings, problems: Problems) -> None:
    """A head who gets a letter but has no address: the letter has to go another way."""
    recipients = {name_key(f.organization.municipality) for f in findings}
    for key, (municipality, row) in municipalities.items():
        if key in recipients and not municipality.emails:
            problems.warning(
                f"у «{municipality.name}» нет адреса электронной почты, а письмо будет: впишите адрес "
                "или отправьте письмо иначе",
                table.file, row, table.title("email"),
            )


def _organizations(table: Table | None, municipalities: dict[str, tuple[Municipality, int]], problems: Problems):
    """Organizations by site key, each with the row it came from; `.broken` holds the site
    keys of rows already reported as wrong, so that their audit rows do not repeat the error."""
    found = _Known()
    for row in table.rows if table else []:
        name = _required(table, row, "name", problems)
        municipality = _required(table, row, "municipality", problems)
        site = _required(table, row, "site", problems)
        if not (name and municipality and site):
            found.broken.add(_key_or_blank(site))
            continue
        known = municipalities.get(name_key(municipality), (None, 0))[0]
        if known is None and (municipalities or municipalities.broken):
            if name_key(municipality) not in municipalities.broken:
                problems.error(
                    f"муниципального образования «{municipality}» нет в таблице municipalities: "
                    f"исправьте название или добавьте его туда{_latin_hint(municipality)}",
                    table.file, row.number, table.title("municipality"),
                )
            found.broken.add(_key_or_blank(site))
            continue
        try:
            key = site_key(site)
        except ValueError as exc:
            problems.error(f"{exc}: напишите адрес сайта, например https://school5.ru", table.file, row.number, table.title("site"))
            continue
        if key in found:
            other, other_row = found[key]
            if name_key(other.name) == name_key(name):
                problems.warning(f"организация «{name}» уже записана в строке {other_row}: строка учтена один раз", table.file, row.number)
            else:
                problems.error(
                    f"сайт {site} уже записан за «{other.name}» в строке {other_row}: у каждой "
                    "организации должен быть свой адрес сайта",
                    table.file, row.number, table.title("site"),
                )
            continue
        found[key] = (
            Organization(
                name=name,
                municipality=known.name if known else municipality,
                site=site,
                site_key=key,
                lko_messages=row.text("lko_messages"),
                lko_votes=row.text("lko_votes"),
            ),
            row.number,
        )
    return found


def _key_or_blank(site: str) -> str:
    try:
        return site_key(site)
    except ValueError:
        return ""


def _errors(table: Table | None, problems: Problems) -> dict[str, ErrorType]:
    found = _Known()
    for row in table.rows if table else []:
        code = _required(table, row, "error", problems)
        title = _required(table, row, "title", problems)
        recommendation = row.text("recommendation")
        if not recommendation:
            problems.error("нет текста рекомендаций: заполните ячейку", table.file, row.number, table.title("recommendation"))
        if not (code and title and recommendation):
            found.broken.add(code.casefold())
            continue
        if code.casefold() in found:
            problems.error(f"код ошибки «{code}» уже есть выше: коды не должны повторяться", table.file, row.number, table.title("error"))
            continue
        found[code.casefold()] = ErrorType(code, title, recommendation)
    return found


def _findings(table, organizations, errors, when, problems: Problems, folder: Path) -> list[Finding]:
    findings: dict[tuple[str, str], Finding] = {}
    first_row: dict[tuple[str, str], int] = {}
    for row in table.rows if table else []:
        site = _required(table, row, "site", problems)
        code = _required(table, row, "error", problems)
        organization = _organization_of(table, row, site, organizations, problems) if site else None
        error = _error_of(table, row, code, errors, problems) if code else None
        checked_at = _checked_at(table, row, when, problems)
        if organization is None or error is None or checked_at is None:
            continue
        key = (organization.site_key, error.code)
        if key in findings:
            problems.warning(
                f"та же ошибка того же сайта уже записана в строке {first_row[key]}: учтена один раз",
                table.file, row.number,
            )
            continue
        first_row[key] = row.number
        details = row.text("details")
        if len(details) > COMMENT_PAGE:
            problems.warning(
                f"комментарий длиной {len(details)} знаков займёт в приложении 1 больше страницы: "
                "сократите его, если это не нужно",
                table.file, row.number, table.title("details"),
            )
        findings[key] = Finding(organization, error, checked_at, details, _screenshot(table, row, folder, problems))
    return list(findings.values())


# What a picture in a .docx can be; `letters audit` writes PNG.
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _screenshot(table: Table, row: Row, folder: Path, problems: Problems) -> Path | None:
    """«Снимок экрана», as `letters audit` writes it: a path relative to the audit table's folder.

    A missing or unreadable picture is a warning, not an error: the letter is still right
    without it, and a clerk may have moved the folder of screenshots."""
    text = row.text("screenshot")
    if not text:
        return None
    path = Path(text.replace("\\", "/"))  # a path typed on Windows
    path = path if path.is_absolute() else folder / path
    try:
        with path.open("rb") as picture:
            start = picture.read(8)
    except OSError:
        problems.warning(
            f"снимка экрана {text} нет рядом с таблицей: в приложение 1 он не попадёт; положите папку "
            "со снимками рядом с таблицей audit или очистите ячейку",
            table.file, row.number, table.title("screenshot"),
        )
        return None
    if not start.startswith(_IMAGE_SIGNATURES):
        problems.warning(
            f"{text} — не картинка PNG или JPEG: в приложение 1 снимок не попадёт",
            table.file, row.number, table.title("screenshot"),
        )
        return None
    return path


def _organization_of(table, row, site, organizations, problems) -> Organization | None:
    try:
        key = site_key(site)
    except ValueError as exc:
        problems.error(f"{exc}: напишите адрес сайта, например https://school5.ru", table.file, row.number, table.title("site"))
        return None
    if key not in organizations:
        if organizations and key not in organizations.broken:
            problems.error(
                f"сайта {site} нет в реестре организаций (organizations): добавьте организацию "
                f"с этим сайтом в реестр или исправьте адрес{_same_host_hint(key, organizations)}",
                table.file, row.number, table.title("site"),
            )
        return None
    return organizations[key][0]


def _same_host_hint(key: str, organizations) -> str:
    """The registry may hold the same site with another path: say which, it is likely a typo."""
    host = key.split("/")[0]
    near = [org for k, (org, _) in organizations.items() if k.split("/")[0] == host]
    if not near:
        return ""
    return f"; в реестре этот сайт записан как {near[0].site} («{near[0].name}») — если это он, напишите адрес так же"


def _latin_hint(text: str) -> str:
    """Latin letters that look Cyrillic (a, c, e, o, p, x…) make two equal-looking names differ."""
    if _CYRILLIC.search(text) and _LATIN.search(text):
        latin = ", ".join(sorted(set(_LATIN.findall(text))))
        return f"; в названии есть латинские буквы ({latin}) среди русских — наберите их по-русски"
    return ""


def _cyrillic_hint(code: str) -> str:
    if _CYRILLIC.search(code):
        cyrillic = ", ".join(sorted(set(_CYRILLIC.findall(code))))
        return f"; в коде есть русские буквы ({cyrillic}) — наберите его латиницей"
    return ""


def _error_of(table, row, code, errors, problems) -> ErrorType | None:
    error = errors.get(code.casefold())
    if error is None and errors and code.casefold() not in errors.broken:
        known = ", ".join(e.code for e in errors.values())
        problems.error(
            f"неизвестный код ошибки «{code}»: возможные коды — {known} (их список в таблице errors)"
            f"{_cyrillic_hint(code)}",
            table.file, row.number, table.title("error"),
        )
    return error


@dataclass(frozen=True)
class _Dates:
    """What an audit date is checked against."""

    on: dt.date | None  # the date of the letters
    today: dt.date


def _checked_at(table, row, when: _Dates, problems) -> dt.date | None:
    value = row.cells.get("checked_at")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # «45425», not «45425.0», in a message
    if row.text("checked_at") == "":
        problems.error("не указана дата проверки: напишите её как ДД.ММ.ГГГГ", table.file, row.number, table.title("checked_at"))
        return None
    place = (table.file, row.number, table.title("checked_at"))
    try:
        checked_at = dates.parse_date(value)
    except ValueError as exc:
        problems.error(str(exc), *place)
        return None
    shown = dates.numeric(checked_at)
    if checked_at > when.today:
        problems.error(f"дата проверки {shown} ещё не наступила: исправьте её", *place)
        return None
    if checked_at < EARLIEST_AUDIT:
        problems.error(f"дата проверки {shown} слишком ранняя: проверьте год", *place)
        return None
    if when.on is not None and checked_at > when.on:
        # an error, not a warning: a wrong --date would otherwise take numbers for good
        problems.error(f"дата проверки позже даты письма {dates.numeric(when.on)}: письмо не может быть датировано "
                       "раньше проверки — проверьте дату письма (--date) или дату в таблице", *place)
    return checked_at


def _plan(table: Table | None, problems: Problems) -> list[PlanItem]:
    plan = []
    for row in table.rows if table else []:
        action = _required(table, row, "action", problems)
        due = _required(table, row, "due", problems)
        responsible = _required(table, row, "responsible", problems)
        if action and due and responsible:
            plan.append(PlanItem(action, due, responsible, row.text("result")))
    if table is not None and not plan and not problems.has_errors:
        problems.error("в плане мероприятий нет ни одной строки: заполните его", table.file)
    return plan


def load_registry(folder: Path, problems: Problems) -> tuple[list[Municipality], list[Organization]] | None:
    """Only the registry — `municipalities` and `organizations` — checked as `load_dataset`
    checks them; None when there is any error. `letters audit` needs nothing else: neither
    letters.toml nor the other tables."""
    if not folder.is_dir():
        problems.error(f"папки данных {folder} нет: укажите папку с таблицами в --data")
        return None
    tables = {name: read_table(folder, name, problems) for name in ("municipalities", "organizations")}
    municipalities = _municipalities(tables["municipalities"], problems)
    organizations = _organizations(tables["organizations"], municipalities, problems)
    if problems.has_errors or None in tables.values():
        return None
    return [m for m, _ in municipalities.values()], [org for org, _ in organizations.values()]
