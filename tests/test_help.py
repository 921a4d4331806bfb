"""The help of every command is Russian, and its examples are commands that exist.

As sqlite-utils checks its documentation against `--help`, this walks the Typer application
itself: a command added tomorrow is checked without touching this file. A Latin word in the
help must be an option name, a path, an example command line or one of the names in
`ALLOWED` (program names, file formats, table names a clerk types).
"""

from __future__ import annotations

import gettext
import io
import re
import shlex

import pytest
from babel.messages.pofile import read_po
from conftest import run_in_process, run_letters

from letters.cli import app, russian  # before typer.main: it installs Typer's Russian words
import typer.main  # noqa: E402  (isort: skip)

# Latin words a clerk meets as they are: names of programs, formats, files, tables and values.
ALLOWED = {
    "letters", "toml", "docx", "pdf", "xlsx", "csv", "eml", "sha256", "manifest", "outbox", "templates", "data",
    "out", "municipalities", "organizations", "audit", "SQLite", "postgresql", "psycopg", "LibreOffice", "PDF",
    "SMTP", "STARTTLS", "smtp", "smtps", "OUT", "journal", "mail", "rate", "di", "ru", "Excel",
}
EXAMPLE = re.compile(r"^\s*letters(\s.*)?$")  # an example command line, or the usage's program name
ALLOWED_PIECES = (
    re.compile(r"--[a-z][a-z-]*"),  # option names
    re.compile(r"\b[a-z]+(?:\+[a-z]+)?://\S*"),  # addresses: smtp://…, postgresql+psycopg://…
    re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b"),  # environment variables: LETTERS_JOURNAL
    re.compile(r"\S*/\S*"),  # paths: out/2024-05-20, OUT/<дата>/outbox/*.eml
    re.compile(r"\S+\.(?:docx|pdf|xlsx|csv|toml|eml|sqlite)\b"),  # file names
    re.compile(r"PDF/A-2b"),
)
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")


def command_paths(command=None, path=()) -> list[tuple[str, ...]]:
    """Every command and subcommand of the application, as the words that call it."""
    command = command or typer.main.get_command(app)
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        paths += command_paths(sub, (*path, name))
    return paths


COMMANDS = command_paths()
NAMES = ALLOWED | {name for path in COMMANDS for name in path}  # «та же, что в build»


def english_words(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        line = line.strip(" │╭╮╰╯─")
        if "Запуск:" in line:
            line = line.split("Запуск:", 1)[1]
        if EXAMPLE.match(line):
            continue
        for piece in ALLOWED_PIECES:
            line = piece.sub(" ", line)
        found += [w for w in LATIN_WORD.findall(line) if w not in NAMES]
    return found


def test_every_command_is_walked():
    # a reader checks that the walk found the commands the README lists
    assert {(), ("build",), ("validate",), ("journal",), ("journal", "cancel"), ("mail",), ("verify",),
            ("audit",), ("version",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "letters")
def test_help_is_russian_with_an_example(path):
    shown = run_in_process(*path, "--help")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "Запуск: letters" in text and "Параметры" in text and "Показать эту справку и выйти." in text
    assert english_words(text) == [], text
    assert not re.search(r"<(?:str|int|float|path|bool|list)|<=|>=", text), text  # Typer's type names and ranges
    assert examples(path), f"в справке letters {' '.join(path)} нет примера"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "letters")
def test_examples_name_real_commands_and_options(path):
    for example in examples(path):
        words = shlex.split(example)[1:]
        command = typer.main.get_command(app)
        while words and words[0] in getattr(command, "commands", {}):
            command = command.commands[words.pop(0)]
        known = {opt for param in command.params for opt in param.opts}
        used = {w for w in words if w.startswith("--")}
        assert used <= known, f"{example}: нет таких параметров: {used - known}"


def examples(path) -> list[str]:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return [line.strip() for line in (command.epilog or "").splitlines() if line.strip().startswith("letters ")]


def test_the_walk_would_see_english():
    # the check itself: Typer's own words, had they stayed, are caught
    assert english_words("Usage: letters build [OPTIONS]\n  --help  Show this message and exit.") == [
        "Usage", "OPTIONS", "Show", "this", "message", "and", "exit"]
    assert english_words("│ --data ПАПКА  Папка с letters.toml. [по умолчанию: data] │") == []


def test_letters_alone_shows_the_commands_and_ends_well():
    shown = run_letters()
    assert shown.returncode == 0, shown.stderr
    assert "Команды" in shown.stdout and "build" in shown.stdout and "journal" in shown.stdout
    assert shown.stderr == ""


@pytest.mark.parametrize("args, said", [
    (("biuld",), "нет такой команды: biuld (возможно, build?). Справка: letters --help"),
    (("build", "--datee", "20.05.2024"), "нет такого параметра: --datee (возможно, --date?). Справка: letters build --help"),
    (("build", "--date", "20.05.2024", "--jobs", "0"),
     "неверное значение --jobs 0: нужно число не меньше 1. Справка: letters build --help"),
    (("audit", "--out", "a.xlsx", "--jobs", "17"), "неверное значение --jobs 17: нужно число не больше 16"),
    (("build", "--date", "20.05.2024", "--timeout", "скоро"), "неверное значение --timeout скоро: нужно число"),
    (("mail", "--date", "20.05.2024", "--attach", "zip"), "неверное значение --attach zip: возможные значения — pdf, docx"),
    (("build",), "не указан обязательный параметр --date"),
    (("version", "лишнее"), "лишние слова в команде: лишнее"),
])
def test_usage_errors_are_russian_and_suggest(args, said):
    shown = run_in_process(*args)
    assert shown.returncode == 2
    assert shown.stderr.startswith("Ошибка в команде: ") and said in shown.stderr, shown.stderr
    typed = shown.stderr
    for arg in args:  # what the clerk typed is repeated as typed
        typed = typed.replace(arg, " ")
    assert english_words(typed) == []


def test_the_catalogue_is_its_po_file_compiled_by_babel():
    po = russian.LOCALE / "ru" / "LC_MESSAGES" / f"{russian.DOMAIN}.po"
    with po.open("rb") as source:
        catalogue = read_po(source)
    installed = gettext.GNUTranslations(io.BytesIO(po.with_suffix(".mo").read_bytes()))
    stale = [m.id for m in catalogue if m.id and installed.gettext(m.id) != m.string]
    assert stale == [], "letters.mo устарел: .venv/bin/pybabel compile -D letters -d letters/cli/locale -l ru"
    assert len(catalogue) > 5


def test_the_words_typer_shows_are_the_catalogue_s():
    import typer.rich_utils

    assert (typer.rich_utils.OPTIONS_PANEL_TITLE, typer.rich_utils.REQUIRED_LONG_STRING) == ("Параметры", "[обязательно]")
