"""Step 4a: what the templates see (README, «Переменные шаблонов», lists it for clerks)."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import struct
import zlib
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from . import dates
from .model import Dataset, ErrorType, Finding, Municipality
from .render import Picture


def pack_context(
    dataset: Dataset,
    municipality: Municipality,
    number: str,
    date: dt.date,
    sheets: tuple[int, ...] = (0, 0, 0),
    appendix_number: int = 0,
) -> dict:
    """Variables for the letter to one head and its appendices; `sheets` are known only for
    the letter, which is rendered after its appendices have been converted and counted."""
    findings = sort_findings(dataset.findings_of(municipality.name), dataset.errors)
    rows = [_finding(n, f) for n, f in enumerate(findings, 1)]
    context = {
        **_letter_context(dataset, number, date),
        "municipality": municipality.name,
        "addressee": {
            "position": municipality.head_position_dative,
            "name": municipality.head_name_dative,
            "position_nominative": municipality.head_position,
            "name_nominative": municipality.head_name,
        },
        "salutation": municipality.salutation,
        "findings": rows,
        "finding_tables": table_parts(findings, rows),
        **_findings_context(findings, dataset.errors),
    }
    return for_document(context, sheets, appendix_number)


def follow_up_context(dataset: Dataset, municipality: Municipality, number: str, date: dt.date, earlier) -> dict:
    """The letter to one head that cites the earlier letter (`followup.Earlier`): each
    finding marked as still there since that letter or found for the first time, and how
    many of the earlier ones were fixed since."""
    context = pack_context(dataset, municipality, number, date)
    findings = sort_findings(dataset.findings_of(municipality.name), dataset.errors)
    for finding, row in zip(findings, context["findings"]):  # the same dicts as in finding_tables
        row["state"] = f"не устранена ({earlier.cited})" if earlier.still_there(finding) else "выявлена впервые"
    remaining = sum(earlier.still_there(f) for f in findings)
    context["earlier"] = {
        "number": earlier.number,
        "date": dates.numeric(earlier.date),
        "told": len(earlier.told),
        "remaining": remaining,
        "fixed": earlier.fixed,
        "new": len(findings) - remaining,
    }
    return context


def circular_context(
    dataset: Dataset,
    municipalities: tuple[Municipality, ...],
    number: str,
    date: dt.date,
    sheets: tuple[int, ...] = (0, 0, 0),
    appendix_number: int = 0,
) -> dict:
    """Variables for one letter to the heads of `municipalities`, by list (seed 000): the
    addressee and the greeting are the region's wording in letters.toml, appendix 1 holds
    the findings of them all, grouped by municipality in the table's order, and the
    distribution list names each head."""
    wording = dataset.settings.circular
    groups = [(m.name, sort_findings(dataset.findings_of(m.name), dataset.errors)) for m in municipalities]
    findings = [f for _, group in groups for f in group]
    rows = [_finding(n, f) for n, f in enumerate(findings, 1)]
    by_group, start = [], 0
    for name, group in groups:
        by_group.append((name, group, rows[start:start + len(group)]))
        start += len(group)
    context = {
        **_letter_context(dataset, number, date),
        "municipality": wording.region,
        "addressee": {"position": wording.addressee, "name": wording.by_list,
                      "position_nominative": "", "name_nominative": ""},
        "salutation": wording.greeting,
        "findings": rows,
        "finding_tables": group_parts(by_group),
        **_findings_context(findings, dataset.errors),
        "distribution": [
            {"n": n, "municipality": m.name, "position": m.head_position_dative, "name": m.head_name_dative,
             "emails": ", ".join(m.emails)}
            for n, m in enumerate(municipalities, 1)
        ],
    }
    return for_document(context, sheets, appendix_number)


def _letter_context(dataset: Dataset, number: str, date: dt.date) -> dict:
    """What every kind of letter says the same way: the sender, the requisites, the plan."""
    settings = dataset.settings
    return {
        "sender": asdict(settings.sender),
        "number": number,
        "date": dates.numeric(date),
        "date_long": dates.long(date),
        "incoming": {"number": settings.incoming_number, "date": settings.incoming_date},
        "subject": settings.subject,
        "deadline": dates.numeric(settings.deadline),
        "signer": asdict(settings.signer),
        "executor": asdict(settings.executor),
        "appendices": [
            {"number": i + 1, "title": title, "sheets": 0, "copies": 1}
            for i, title in enumerate(settings.appendix_titles)
        ],
        "plan": [
            {"n": n, "action": p.action, "due": p.due, "responsible": p.responsible, "result": p.result}
            for n, p in enumerate(dataset.plan, 1)
        ],
    }


def _findings_context(findings: list[Finding], catalogue: list[ErrorType]) -> dict:
    return {
        "screenshots": _screenshots(findings),
        "findings_count": len(findings),
        "organizations_count": len({f.organization.site_key for f in findings}),
        "recommendations": _recommendations(findings, catalogue),
    }


# LibreOffice lays out one long table in a time that grows with the square of its length
# (bench/RESULTS.md: 3,465 rows took 41 s as one table, 7 s as tables of 200 rows), so
# appendix 1 gives its rows as tables of at most this many, cut between institutions.
ROWS_PER_TABLE = 200


def table_parts(findings: list[Finding], rows: list[dict], most: int = ROWS_PER_TABLE) -> list[list[dict]]:
    """`rows` (one per finding, in order) as consecutive tables of at most `most` rows; an
    institution's rows stay in one table unless it alone has more."""
    parts: list[list[dict]] = []
    current: list[dict] = []
    for group in _runs(findings, rows):
        if current and len(current) + len(group) > most:
            parts.append(current)
            current = []
        while len(group) > most:
            parts.append(group[:most])
            group = group[most:]
        current += group
    return parts + [current] if current else parts


def group_parts(groups: list[tuple[str, list[Finding], list[dict]]], most: int = ROWS_PER_TABLE) -> list[list[dict]]:
    """A letter by list's appendix 1: each municipality's rows under its name, as consecutive
    tables of at most `most` findings cut between institutions. A municipality cut between
    two tables is named again at the top of the next one, `continued`."""
    parts: list[list[dict]] = []
    current: list[dict] = []
    size = 0
    for name, findings, rows in groups:
        group = None
        for run in _runs(findings, rows):
            while run:
                if size and size + len(run) > most:
                    parts.append(current)
                    current, size, group = [], 0, None
                chunk, run = run[:most], run[most:]
                if group is None:
                    group = {"municipality": name, "continued": any(g["municipality"] == name for p in parts for g in p),
                             "findings": []}
                    current.append(group)
                group["findings"] += chunk
                size += len(chunk)
    return parts + [current] if current else parts


def _runs(findings: list[Finding], rows: list[dict]) -> list[list[dict]]:
    """The rows in runs of one institution's site each."""
    runs = itertools.groupby(zip(findings, rows), key=lambda pair: pair[0].organization.site_key)
    return [[row for _, row in run] for _, run in runs]


def for_document(context: dict, sheets: tuple[int, ...], appendix_number: int) -> dict:
    """A pack's context for one of its documents: they differ only in these two."""
    appendices = [dict(a, sheets=n) for a, n in zip(context["appendices"], sheets)]
    return {**context, "appendices": appendices, "appendix_number": appendix_number}


def sort_findings(findings: list[Finding], catalogue: list[ErrorType]) -> list[Finding]:
    """By organization, then site, then the catalogue's order of errors: each
    institution's rows stay together, so a head can forward them."""
    order = {e.code: i for i, e in enumerate(catalogue)}
    return sorted(
        findings,
        key=lambda f: (f.organization.name.casefold(), f.organization.site_key, order[f.error.code]),
    )


def _finding(n: int, finding: Finding) -> dict:
    return {
        "n": n,
        "organization": finding.organization.name,
        "site": finding.organization.site,
        "error": finding.error.title,
        "code": finding.error.code,
        "checked_at": dates.numeric(finding.checked_at),
        "details": finding.details,
        "screenshot": _picture(finding.screenshot) or "",
        "state": "",  # a follow-up letter's mark: «не устранена (письмо от …)» or «выявлена впервые»
    }


def _screenshots(findings: list[Finding]) -> list[dict]:
    """Appendix 1's figures: one per site and picture, in the order of the findings, with the
    titles of the errors it shows (a site checked on a phone too may have a second picture)."""
    figures: dict[tuple[str, Path], dict] = {}
    for finding in findings:
        picture = _picture(finding.screenshot)
        if picture is None:
            continue
        key = (finding.organization.site_key, finding.screenshot)
        if key not in figures:
            figures[key] = {
                "n": len(figures) + 1,
                "organization": finding.organization.name,
                "site": finding.organization.site,
                "titles": [],
                "picture": picture,
            }
        figures[key]["titles"].append(finding.error.title)
    for figure in figures.values():
        figure["errors"] = "; ".join(figure.pop("titles"))
    return list(figures.values())


def _picture(path: Path | None) -> Picture | None:
    if path is None:
        return None
    try:
        stat = path.stat()
        return _picture_of(path, stat.st_mtime_ns, stat.st_size)
    except OSError:  # removed since the check: the letter goes without it
        return None


@functools.lru_cache(maxsize=1024)
def _picture_of(path: Path, mtime_ns: int, size: int) -> Picture:
    # Read once per file version: every document of a pack gets the same context.
    return Picture.from_file(path)


def _recommendations(findings: list[Finding], catalogue: list[ErrorType]) -> list[dict]:
    """One per error code present, in catalogue order, with the institutions that have it."""
    result = []
    for error in catalogue:
        names = sorted({f.organization.name for f in findings if f.error.code == error.code}, key=str.casefold)
        if names:
            result.append({
                "n": len(result) + 1,
                "code": error.code,
                "title": error.title,
                "paragraphs": error.paragraphs,
                "organizations": names,
            })
    return result


def sample_context(build: Callable[..., dict] | None = None) -> dict:
    """A context with every variable and one item in every list, to try templates on
    before a build (a loop over an empty list would hide a wrong name inside it).
    `build` is a kind of letter's context (`kinds.Kind.context`); the letter to one head
    by default."""
    dataset = sample_dataset()
    build = build or (lambda data, heads, number, date: pack_context(data, heads[0], number, date))
    context = for_document(build(dataset, tuple(dataset.municipalities), "1/24", dt.date(2024, 5, 20)), (1, 1, 1), 1)
    # The screenshot of a `letters audit` table is a file; the sample's picture is made here.
    picture = Picture.from_bytes(_sample_png())
    context["findings"][0]["screenshot"] = picture  # the same row is in finding_tables
    organization, error = dataset.organizations[0], dataset.errors[0]
    context["screenshots"] = [
        {"n": 1, "organization": organization.name, "site": organization.site, "errors": error.title, "picture": picture}
    ]
    return context


def sample_dataset() -> Dataset:
    """One municipality with one institution and one finding, and settings with every key."""
    from .model import CircularWording, Executor, Organization, Person, PlanItem, Sender, Settings

    error = ErrorType("widget_missing", "Виджет не размещён", "Разместите виджет.\n\nПроверьте.")
    organization = Organization("Школа", "Район", "https://school.ru", "school.ru", "123", "")
    municipality = Municipality("Район", "Глава района", "Иванов Иван Иванович", "Главе района", "И.И. Иванову",
                                "Уважаемый Иван Иванович!", ("glava@raion.ru",))
    settings = Settings(
        sender=Sender("ДЕПАРТАМЕНТ", "Департамента", "адрес", "телефон", "e@mail.ru", "факс"),
        signer=Person("Директор", "С.И. Логинов"),
        executor=Executor("Исполнитель", "телефон"),
        subject="О размещении",
        deadline=dt.date(2024, 6, 14),
        circular=CircularWording("Главам муниципальных образований", region="Муниципальные образования"),
    )
    return Dataset(
        settings=settings, municipalities=[municipality], organizations=[organization], errors=[error],
        findings=[Finding(organization, error, dt.date(2024, 5, 13), "комментарий")],
        plan=[PlanItem("Мероприятие", "до 14.06.2024", "Ответственный", "Результат")],
    )


def _sample_png(width: int = 16, height: int = 9) -> bytes:
    """A small grey PNG, written by hand so that no imaging library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = b"".join(b"\x00" + b"\xc0" * width for _ in range(height))  # filter 0, then the pixels
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
