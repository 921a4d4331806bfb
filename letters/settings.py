"""Step 1b: read `letters.toml`, everything about the sender and the letter that is not a table."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import string
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import dates
from .addresses import is_email, split
from .model import DEFAULT_APPENDIX_TITLES, CircularWording, Executor, Person, Sender, Settings
from .problems import Problems
from .tables import clean_text

FILE = "letters.toml"
_REQUIRED = {
    "sender": ("name", "name_genitive", "address", "phone", "email"),
    "signer": ("position", "name"),
    "executor": ("name", "phone"),
    "letter": ("subject", "deadline"),
}
_OPTIONAL = {
    "sender": ("fax",),
    "letter": ("incoming_number", "incoming_date", "appendix_titles", "appendix_files", "case_file"),
    "numbering": ("pattern", "first"),
    "circular": ("addressee", "by_list", "greeting", "region"),
}
_PLACEHOLDERS = {"seq", "yy", "yyyy"}
_HEADER = re.compile(r"\s*\[([^\]]*)\]")  # [letter], and [[x]] as "[x"
_KEY = re.compile(r"\s*([\w-]+)\s*=")  # a bare key: deadline = …
# tomllib's reasons, in English, and what to tell the clerk instead
_TOML_REASONS = (
    ("Unterminated string", "не закрыта кавычка: поставьте \" в конце текста"),
    ("Illegal character '\\n'", "не закрыта кавычка: поставьте \" в конце текста"),
    ("Illegal character", "в тексте недопустимый знак: удалите его"),
    ("Invalid value", "значение записано неверно: текст и даты пишутся в кавычках (\"14.06.2024\"), числа — без кавычек"),
    ("Expected newline", "после значения лишний текст: текст и даты пишутся в кавычках (\"14.06.2024\")"),
    ("Expected '='", "после имени параметра нужны знак «=» и значение, например phone = \"(3452) 427-900\""),
    ("twice", "раздел записан дважды: оставьте один"),
    ("overwrite", "параметр записан дважды: оставьте один"),
    ("Unescaped", "знак \\ в тексте: напишите его дважды (\\\\) или возьмите текст в одинарные кавычки '…'"),
    ("Expected ']'", "не закрыта скобка в названии раздела: пишите [раздел]"),
)


def read_settings(folder: Path, problems: Problems) -> Settings | None:
    with _placed(folder, problems) as found:
        return _read_settings(folder, found)


def _read_settings(folder: Path, problems: Problems) -> Settings | None:
    path = folder / FILE
    if not path.is_file():
        problems.error(f"в папке данных {folder} нет файла {FILE} с реквизитами письма", file=FILE)
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
        raw = tomllib.loads(text)
    except UnicodeDecodeError:
        problems.error("файл не в кодировке UTF-8: сохраните его в UTF-8 (в Блокноте: «Сохранить как» → кодировка UTF-8)", file=FILE)
        return None
    except OSError:
        problems.error("файл не открывается: если он открыт в другой программе, закройте его и повторите", file=FILE)
        return None
    except tomllib.TOMLDecodeError as exc:
        message, row = _toml_problem(text, exc)
        problems.error(message, file=FILE, row=row)
        return None
    _warn_unknown_keys(raw, problems)
    before = len(problems.errors)
    values = {section: _section(raw, section, keys, problems) for section, keys in _REQUIRED.items()}
    letter = raw.get("letter", {}) if isinstance(raw.get("letter"), dict) else {}
    numbering = raw.get("numbering", {}) if isinstance(raw.get("numbering"), dict) else {}
    deadline = _date(values["letter"].get("deadline"), "letter", "deadline", problems)
    pattern = _text(numbering, "numbering", "pattern", problems, default="{seq}/{yy}")
    first = numbering.get("first", 1)
    if not isinstance(first, int) or isinstance(first, bool) or first < 1:
        problems.error("first: нужно целое число не меньше 1, например 1337", file=FILE, column="[numbering] first")
    _check_pattern(pattern, problems)
    titles = letter.get("appendix_titles", list(DEFAULT_APPENDIX_TITLES))
    if not (isinstance(titles, list) and len(titles) == 3 and all(isinstance(t, str) and t.strip() for t in titles)):
        problems.error("appendix_titles: нужен список из трёх названий приложений", file=FILE, column="[letter] appendix_titles")
    files = letter.get("appendix_files", [])
    if not (isinstance(files, list) and len(files) <= 3 and all(isinstance(f, str) for f in files)):
        problems.error("appendix_files: нужен список до трёх коротких имён файлов приложений, например "
                       "appendix_files = [\"Ошибки\", \"Рекомендации\", \"План\"] (пустое имя — по названию)",
                       file=FILE, column="[letter] appendix_files")
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
        appendix_titles=tuple(clean_text(t).strip() for t in titles),
        appendix_files=tuple(clean_text(f).strip() for f in files),
        circular=_circular(raw, problems),
        case_file=_text(letter, "letter", "case_file", problems, default=""),
    )


@contextmanager
def _placed(folder: Path, problems: Problems):
    """A problem with a key of letters.toml gets the line the key is on, or the line of its
    section when the key is missing: the clerk opens the file there."""
    found = Problems()
    try:
        yield found
    finally:
        lines = _key_lines(folder / FILE)
        for problem in found:
            if problem.file == FILE and problem.row is None and problem.column:
                problem = dataclasses.replace(problem, row=_line(lines, problem.column))
            problems.append(problem)


def line_of(folder: Path, key: str) -> int | None:
    """The line of letters.toml where `key` («[letter] deadline») is written, or its section."""
    return _line(_key_lines(folder / FILE), key)


def _line(lines: dict[str, int], key: str) -> int | None:
    return lines.get(key) or lines.get(key.split("]")[0] + "]")


def _key_lines(path: Path) -> dict[str, int]:
    """{"[letter]": 17, "[letter] deadline": 19, …}: where each section and key is written."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return {}
    lines: dict[str, int] = {}
    section = ""
    for number, header, key in _toml_lines(text):
        if header is None:
            lines.setdefault(f"[{section}] {key}", number)
        elif "[" not in header:  # [[x]] or a broken [a[b] is no section a message points to
            section = header.strip()
            lines.setdefault(f"[{section}]", number)
    return lines


def _toml_lines(text: str) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, header, key) for each line of letters.toml that opens a section or sets a
    bare key, the other of the two None. The header is what stands between the first «[» and
    the first «]»: "letter" for [letter], "[x" for [[x]]; a comment or a quoted key is neither."""
    for number, line in enumerate(text.splitlines(), 1):
        if header := _HEADER.match(line):
            yield number, header.group(1), None
        elif key := _KEY.match(line):
            yield number, None, key.group(1)


def _circular(raw: dict, problems: Problems) -> CircularWording:
    """`[circular]`: the wording of a letter by list; every key may be left out."""
    section = raw.get("circular", {})
    if not isinstance(section, dict):
        problems.error("circular должен быть разделом: строка [circular], а под ней параметры вида addressee = \"…\"",
                       file=FILE, column="[circular]")
        return CircularWording()
    defaults = CircularWording()
    return CircularWording(**{
        key: _text(section, "circular", key, problems, default=getattr(defaults, key))
        for key in _OPTIONAL["circular"]
    })


def _toml_problem(text: str, exc: tomllib.TOMLDecodeError) -> tuple[str, int | None]:
    """A Russian reason and the line; «at end of document» means the last line written."""
    reason = next((r for english, r in _TOML_REASONS if english in str(exc)), "")
    line = re.search(r"line (\d+)", str(exc))
    lines = [n for n, t in enumerate(text.splitlines(), 1) if t.strip()]
    row = int(line.group(1)) if line else (lines[-1] if lines else None)
    if "overwrite" in str(exc):
        row = _repeated_key_line(text) or row
    general = "ошибка в записи: проверьте кавычки, знак «=» и скобки [раздел] в этой строке"
    return (f"ошибка в записи — {reason}" if reason else general), row


def _repeated_key_line(text: str) -> int | None:
    seen: set[tuple[str, str]] = set()
    section = ""
    for number, header, key in _toml_lines(text):
        if header is not None:
            section = header.strip()
        elif (section, key) in seen:
            return number
        else:
            seen.add((section, key))
    return None


def _warn_unknown_keys(raw: dict, problems: Problems) -> None:
    """A misspelt optional key would be silently ignored (a letter without its fax):
    say so. Sections the letters do not use are left to the other commands."""
    for section in ("sender", "signer", "executor", "letter", "numbering", "circular"):
        table = raw.get(section)
        if not isinstance(table, dict):
            continue
        known = _REQUIRED.get(section, ()) + _OPTIONAL.get(section, ())
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" — может быть, {close[0]}?" if close else f"; возможные параметры: {', '.join(known)}"
                problems.warning(
                    f"параметра {key} в разделе [{section}] программа не знает и не читает{hint}",
                    file=FILE, column=f"[{section}] {key}",
                )


def _check_pattern(pattern: str, problems: Problems) -> None:
    """The pattern is filled with str.format: only {seq}, {yy} and {yyyy}, and {seq} must be there."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
        number = pattern.format(seq=1, yy="24", yyyy="2024")
    except (ValueError, KeyError, IndexError, AttributeError):
        fields, number = {"?"}, ""
    if "seq" not in fields or not fields <= _PLACEHOLDERS or "\n" in number:
        problems.error(
            "pattern: в шаблоне номера нужен {seq}, а кроме него можно только {yy} и {yyyy}, "
            "например \"{seq}/{yy}\"",
            file=FILE, column="[numbering] pattern",
        )
    elif number.startswith(("=", "+", "-", "@", "'")):
        problems.error(
            "pattern: номер не может начинаться со знаков = + - @ ' — Excel примет его за формулу",
            file=FILE, column="[numbering] pattern",
        )


def _section(raw: dict, section: str, keys: tuple[str, ...], problems: Problems) -> dict:
    table = raw.get(section)
    if section in raw and not isinstance(table, dict):
        problems.error(
            f"{section} должен быть разделом: строка [{section}], а под ней параметры вида name = \"…\"",
            file=FILE, column=f"[{section}]",
        )
        return {}
    if not isinstance(table, dict):
        problems.error(f"нет раздела [{section}]: добавьте его (образец — в README)", file=FILE)
        return {}
    return {key: _text(table, section, key, problems) for key in keys}


def _text(table: dict, section: str, key: str, problems: Problems, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        problems.error(f"не заполнен параметр {key} в разделе [{section}]", file=FILE, column=f"[{section}] {key}")
        return ""
    if key == "deadline" and isinstance(value, dt.date):
        return value  # a TOML date; checked by _date
    if not isinstance(value, str):
        example = '"14.06.2024"' if key == "deadline" else '"…"'
        problems.error(f"{key}: нужен текст в кавычках, например {key} = {example}", file=FILE, column=f"[{section}] {key}")
        return ""
    if default is None and not value.strip():
        problems.error(f"пустой параметр {key} в разделе [{section}]", file=FILE, column=f"[{section}] {key}")
    return clean_text(value).strip()


def _date(value, section: str, key: str, problems: Problems):
    if value in (None, ""):
        return None  # already reported as missing
    try:
        return dates.parse_date(value)
    except ValueError as exc:
        problems.error(str(exc), file=FILE, column=f"[{section}] {key}")
        return None


# --- [mail]: how `letters mail` sends the packs (every key may be left out) ---

_MAIL_KEYS = ("from", "subject", "rate", "reply_to", "bcc", "smtp", "signed_only")
_MAIL_PLACEHOLDERS = {"number", "date", "subject", "municipality"}


def read_mail_settings(folder: Path, problems: Problems, settings: Settings) -> MailSettings | None:
    """The `[mail]` section of letters.toml; None when it has errors (they are reported).
    A letters.toml that cannot be read at all is reported by `read_settings`."""
    with _placed(folder, problems) as found:
        return _read_mail_settings(folder, found, settings)


def _read_mail_settings(folder: Path, problems: Problems, settings: Settings) -> MailSettings | None:
    from email.utils import parseaddr

    from .model import DEFAULT_MAIL_RATE, DEFAULT_MAIL_SUBJECT, MailSettings

    try:
        raw = tomllib.loads((folder / FILE).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    section = raw.get("mail", {})
    if not isinstance(section, dict):
        problems.error("mail должен быть разделом: строка [mail], а под ней параметры вида from = \"…\"", file=FILE, column="[mail]")
        return None
    before = len(problems.errors)
    for key in section:
        if key not in _MAIL_KEYS:
            close = difflib.get_close_matches(key, _MAIL_KEYS, n=1)
            hint = f" — может быть, {close[0]}?" if close else f"; возможные параметры: {', '.join(_MAIL_KEYS)}"
            problems.warning(f"параметра {key} в разделе [mail] программа не знает и не читает{hint}", file=FILE, column=f"[mail] {key}")

    name, address = parseaddr(_text(section, "mail", "from", problems, default=settings.sender.email))
    if not is_email(address):
        problems.error(
            "from: нужен адрес отправителя, например from = \"di@72to.ru\" или "
            "from = \"Департамент информатизации <di@72to.ru>\"", file=FILE, column="[mail] from",
        )
    if "from" not in section:
        name = readable_name(settings.sender.name, settings.sender.name_genitive)
    subject = _text(section, "mail", "subject", problems, default=DEFAULT_MAIL_SUBJECT)
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(subject) if f is not None}
        subject.format(number="1/24", date="01.01.2024", subject="", municipality="")
    except (ValueError, KeyError, IndexError, AttributeError):
        fields = {"?"}
    if not fields <= _MAIL_PLACEHOLDERS:
        problems.error(
            "subject: в теме письма можно только {number}, {date}, {subject} и {municipality}, "
            f"например subject = \"{DEFAULT_MAIL_SUBJECT}\"", file=FILE, column="[mail] subject",
        )
    rate = section.get("rate", DEFAULT_MAIL_RATE)
    if not isinstance(rate, int) or isinstance(rate, bool) or rate < 1:
        problems.error("rate: нужно целое число писем в минуту, не меньше 1, например rate = 20", file=FILE, column="[mail] rate")
    reply_to = _text(section, "mail", "reply_to", problems, default="")
    if reply_to and not is_email(parseaddr(reply_to)[1]):
        problems.error("reply_to: нужен адрес электронной почты, например reply_to = \"petrova@72to.ru\"",
                       file=FILE, column="[mail] reply_to")
    bcc = section.get("bcc", [])
    if isinstance(bcc, str):
        bcc = split(bcc)
    if not isinstance(bcc, list) or not all(isinstance(a, str) and is_email(a.strip()) for a in bcc):
        problems.error("bcc: нужен адрес (или список адресов) для архивной копии, например bcc = \"archive@72to.ru\"",
                       file=FILE, column="[mail] bcc")
        bcc = []
    smtp = _text(section, "mail", "smtp", problems, default="")
    signed_only = section.get("signed_only", False)
    if not isinstance(signed_only, bool):
        problems.error("signed_only: true (отправлять только подписанные письма) или false, без кавычек",
                       file=FILE, column="[mail] signed_only")
    if len(problems.errors) > before:
        return None
    return MailSettings(
        address=address, name=clean_text(name).strip(), subject=subject, rate=rate, reply_to=reply_to,
        bcc=tuple(a.strip() for a in bcc), smtp=smtp, signed_only=signed_only,
    )


def readable_name(name: str, genitive: str) -> str:
    """A name the letterhead writes in capitals, as a person writes it: «ДЕПАРТАМЕНТ
    ИНФОРМАТИЗАЦИИ ТЮМЕНСКОЙ ОБЛАСТИ» → «Департамент информатизации Тюменской области».
    The capital letters of proper names come from the genitive form letters.toml also
    holds («Департамента информатизации Тюменской области»); a name not in capitals is
    left as written."""
    if not name.isupper():
        return name
    cases = {word.casefold()[:5]: word[0].isupper() for word in genitive.split()}
    words = []
    for n, word in enumerate(name.split()):
        lower = word.lower()
        capital = n == 0 or cases.get(lower[:5], False)
        words.append(lower[:1].upper() + lower[1:] if capital else lower)
    return " ".join(words)
