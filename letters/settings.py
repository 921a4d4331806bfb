"""Step 1b: read `letters.toml`, everything about the sender and the letter that is not a table."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from . import dates
from .model import DEFAULT_APPENDIX_TITLES, Executor, Person, Sender, Settings
from .problems import Problems

FILE = "letters.toml"
_REQUIRED = {
    "sender": ("name", "name_genitive", "address", "phone", "email"),
    "signer": ("position", "name"),
    "executor": ("name", "phone"),
    "letter": ("subject", "deadline"),
}


def read_settings(folder: Path, problems: Problems) -> Settings | None:
    path = folder / FILE
    if not path.is_file():
        problems.error(f"в папке данных {folder} нет файла {FILE} с реквизитами письма", file=FILE)
        return None
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        problems.error("файл не в кодировке UTF-8: сохраните его в UTF-8", file=FILE)
        return None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        problems.error(
            "ошибка в записи: проверьте кавычки, знак «=» и скобки [раздел] в этой строке",
            file=FILE, row=int(line.group(1)) if line else None,
        )
        return None
    before = len(problems.errors)
    values = {section: _section(raw, section, keys, problems) for section, keys in _REQUIRED.items()}
    letter = raw.get("letter", {}) if isinstance(raw.get("letter"), dict) else {}
    numbering = raw.get("numbering", {}) if isinstance(raw.get("numbering"), dict) else {}
    deadline = _date(values["letter"].get("deadline"), "letter", "deadline", problems)
    pattern = _text(numbering, "numbering", "pattern", problems, default="{seq}/{yy}")
    first = numbering.get("first", 1)
    if not isinstance(first, int) or isinstance(first, bool) or first < 1:
        problems.error("first: нужно целое число не меньше 1, например 1337", file=FILE, column="[numbering] first")
    if "{seq}" not in pattern:
        problems.error("pattern: в шаблоне номера нужен {seq}, например \"{seq}/{yy}\"", file=FILE, column="[numbering] pattern")
    titles = letter.get("appendix_titles", list(DEFAULT_APPENDIX_TITLES))
    if not (isinstance(titles, list) and len(titles) == 3 and all(isinstance(t, str) and t.strip() for t in titles)):
        problems.error("appendix_titles: нужен список из трёх названий приложений", file=FILE, column="[letter] appendix_titles")
    if len(problems.errors) > before:
        return None
    sender, signer, executor = values["sender"], values["signer"], values["executor"]
    return Settings(
        sender=Sender(
            name=sender["name"], name_genitive=sender["name_genitive"], address=sender["address"],
            phone=sender["phone"], email=sender["email"],
            fax=_text(raw.get("sender", {}), "sender", "fax", problems, default=""),
        ),
        signer=Person(signer["position"], signer["name"]),
        executor=Executor(executor["name"], executor["phone"]),
        subject=values["letter"]["subject"],
        deadline=deadline,
        number_pattern=pattern,
        first_number=first,
        incoming_number=_text(letter, "letter", "incoming_number", problems, default=""),
        incoming_date=_text(letter, "letter", "incoming_date", problems, default=""),
        appendix_titles=tuple(t.strip() for t in titles),
    )


def _section(raw: dict, section: str, keys: tuple[str, ...], problems: Problems) -> dict:
    table = raw.get(section)
    if not isinstance(table, dict):
        problems.error(f"нет раздела [{section}]: добавьте его (образец — в README)", file=FILE)
        return {}
    return {key: _text(table, section, key, problems) for key in keys}


def _text(table: dict, section: str, key: str, problems: Problems, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        problems.error(f"не заполнен ключ {key} в разделе [{section}]", file=FILE, column=f"[{section}] {key}")
        return ""
    if key == "deadline" and not isinstance(value, str):
        return value  # a TOML date; checked by _date
    if not isinstance(value, str):
        problems.error(f"{key}: нужен текст в кавычках", file=FILE, column=f"[{section}] {key}")
        return ""
    if default is None and not value.strip():
        problems.error(f"пустой ключ {key} в разделе [{section}]", file=FILE, column=f"[{section}] {key}")
    return value.strip()


def _date(value, section: str, key: str, problems: Problems):
    if value in (None, ""):
        return None  # already reported as missing
    try:
        return dates.parse_date(value)
    except ValueError as exc:
        problems.error(str(exc), file=FILE, column=f"[{section}] {key}")
        return None
