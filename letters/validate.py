"""Step 2: validate the tables into the typed model, collecting every problem at once."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from . import dates, declension
from .model import Dataset, ErrorType, Finding, Municipality, Organization, PlanItem
from .problems import Problems
from .settings import read_settings
from .sites import site_key
from .tables import Row, Table, read_table

_EMAIL = re.compile(r"[^@\s;,<>]+@[^@\s;,<>]+\.[^@\s;,<>]+")


def load_dataset(folder: Path, problems: Problems, on: dt.date | None = None) -> Dataset | None:
    """Read and check the data folder; None when there is any error (all are in `problems`).

    `on` is the date of the letters: audit rows dated after it are suspicious.
    """
    settings = read_settings(folder, problems)
    tables = {name: read_table(folder, name, problems) for name in ("municipalities", "organizations", "audit", "errors", "plan")}
    municipalities = _municipalities(tables["municipalities"], problems)
    organizations = _organizations(tables["organizations"], municipalities, problems)
    errors = _errors(tables["errors"], problems)
    findings = _findings(tables["audit"], organizations, errors, on, problems)
    plan = _plan(tables["plan"], problems)
    if problems.has_errors or settings is None or None in tables.values():
        return None
    return Dataset(
        settings=settings,
        municipalities=list(municipalities.values()),
        organizations=[org for org, _ in organizations.values()],
        errors=list(errors.values()),
        findings=findings,
        plan=plan,
    )


def name_key(text: str) -> str:
    """Names match whatever the case, the spaces and «ё»."""
    return " ".join(text.split()).casefold().replace("ё", "е")


def _required(table: Table, row: Row, field: str, problems: Problems) -> str:
    value = " ".join(row.text(field).split())
    if not value:
        problems.error("пустая ячейка: заполните её", table.file, row.number, table.title(field))
    return value


def _municipalities(table: Table | None, problems: Problems) -> dict[str, Municipality]:
    found: dict[str, Municipality] = {}
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
        if not (position and head):
            continue
        addressee = _addressee(table, row, position, head, problems)
        if addressee is None:
            continue
        first_row[key] = row.number
        found[key] = Municipality(
            name=name,
            head_position=position,
            head_name=head,
            head_position_dative=addressee[0],
            head_name_dative=addressee[1],
            salutation=addressee[2],
            emails=_emails(table, row, problems),
            address=" ".join(row.text("address").split()),
        )
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
    raw = row.text("email")
    addresses = tuple(a.strip() for a in re.split(r"[;,\s]+", raw) if a.strip())
    for address in addresses:
        if not _EMAIL.fullmatch(address):
            problems.error(
                f"«{address}» — не адрес электронной почты; несколько адресов разделяйте «;»",
                table.file, row.number, table.title("email"),
            )
    return addresses


def _organizations(table: Table | None, municipalities: dict[str, Municipality], problems: Problems):
    """Organizations by site key, each with the row it came from."""
    found: dict[str, tuple[Organization, int]] = {}
    for row in table.rows if table else []:
        name = _required(table, row, "name", problems)
        municipality = _required(table, row, "municipality", problems)
        site = _required(table, row, "site", problems)
        if not (name and municipality and site):
            continue
        known = municipalities.get(name_key(municipality))
        if known is None and municipalities:
            problems.error(
                f"муниципального образования «{municipality}» нет в таблице municipalities: "
                "исправьте название или добавьте его туда",
                table.file, row.number, table.title("municipality"),
            )
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


def _errors(table: Table | None, problems: Problems) -> dict[str, ErrorType]:
    found: dict[str, ErrorType] = {}
    for row in table.rows if table else []:
        code = _required(table, row, "error", problems)
        title = _required(table, row, "title", problems)
        recommendation = row.text("recommendation")
        if not recommendation:
            problems.error("нет текста рекомендаций: заполните ячейку", table.file, row.number, table.title("recommendation"))
        if not (code and title and recommendation):
            continue
        if code.casefold() in found:
            problems.error(f"код ошибки «{code}» уже есть выше: коды не должны повторяться", table.file, row.number, table.title("error"))
            continue
        found[code.casefold()] = ErrorType(code, title, recommendation)
    return found


def _findings(table, organizations, errors, on, problems: Problems) -> list[Finding]:
    findings: dict[tuple[str, str], Finding] = {}
    first_row: dict[tuple[str, str], int] = {}
    for row in table.rows if table else []:
        site = _required(table, row, "site", problems)
        code = _required(table, row, "error", problems)
        organization = _organization_of(table, row, site, organizations, problems) if site else None
        error = _error_of(table, row, code, errors, problems) if code else None
        checked_at = _checked_at(table, row, on, problems)
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
        findings[key] = Finding(organization, error, checked_at, details)
    return list(findings.values())


def _organization_of(table, row, site, organizations, problems) -> Organization | None:
    try:
        key = site_key(site)
    except ValueError as exc:
        problems.error(f"{exc}: напишите адрес сайта, например https://school5.ru", table.file, row.number, table.title("site"))
        return None
    if key not in organizations:
        if organizations:
            problems.error(
                f"сайта {site} нет в реестре организаций (organizations): добавьте организацию "
                "с этим сайтом в реестр или исправьте адрес",
                table.file, row.number, table.title("site"),
            )
        return None
    return organizations[key][0]


def _error_of(table, row, code, errors, problems) -> ErrorType | None:
    error = errors.get(code.casefold())
    if error is None and errors:
        known = ", ".join(e.code for e in errors.values())
        problems.error(
            f"неизвестный код ошибки «{code}»: возможные коды — {known} (их список в таблице errors)",
            table.file, row.number, table.title("error"),
        )
    return error


def _checked_at(table, row, on, problems) -> dt.date | None:
    value = row.cells.get("checked_at")
    if row.text("checked_at") == "":
        problems.error("не указана дата проверки: напишите её как ДД.ММ.ГГГГ", table.file, row.number, table.title("checked_at"))
        return None
    try:
        checked_at = dates.parse_date(value)
    except ValueError as exc:
        problems.error(str(exc), table.file, row.number, table.title("checked_at"))
        return None
    if on is not None and checked_at > on:
        problems.warning(
            f"дата проверки {dates.numeric(checked_at)} позже даты письма {dates.numeric(on)}: проверьте её",
            table.file, row.number, table.title("checked_at"),
        )
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
