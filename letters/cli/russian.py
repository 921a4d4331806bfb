"""Typer in Russian, through its own hooks: nothing installed is patched or copied.

- The panel titles and the «[default: …]», «[required]» of the help are marked with gettext in
  typer/rich_utils.py and looked up once, when that module is imported. So the catalogue
  `locale/ru/LC_MESSAGES/letters.po` (compiled by babel into letters.mo) is installed for
  the moment of that import, before anything else imports typer; then gettext is left as
  it was, so that no other program started from here (LibreOffice, Chromium) sees a
  changed language.
- «Usage: » and «Show this message and exit.» are written into Typer's vendored Click:
  the help formatter of our context and the help option of our commands say them in Russian.
- Usage errors (a wrong option, a value out of range) come as English exceptions; `explain`
  says them in Russian, with Click's own suggestion for a mistyped command or option.

This module imports typer itself: import it before anything else that does.
"""

from __future__ import annotations

import gettext
import os
import re
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

LOCALE = Path(__file__).parent / "locale"
DOMAIN = "letters"


@contextmanager
def _russian_gettext():
    """gettext answers in Russian from our catalogue, for the time of the block only."""
    domain, language = gettext.textdomain(), os.environ.get("LANGUAGE")
    gettext.bindtextdomain(DOMAIN, str(LOCALE))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = "ru"  # gettext takes the language from the environment only
    try:
        yield
    finally:
        gettext.textdomain(domain)
        if language is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = language


if "typer.rich_utils" in sys.modules:  # imported already: its words are fixed in English
    warnings.warn("letters.cli.russian is imported after typer.rich_utils: the help keeps Typer's English words",
                  stacklevel=2)
with _russian_gettext():
    import typer
    import typer.core
    import typer.rich_utils  # noqa: F401 — its strings are looked up now

OPTIONS = "[ПАРАМЕТРЫ]"
COMMAND = "КОМАНДА [ПАРАМЕТРЫ]..."
HELP = "Показать эту справку и выйти."


class Formatter(typer.Context.formatter_class):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "Запуск: " if prefix is None else prefix)


class Context(typer.Context):
    formatter_class = Formatter


class _Argument(typer.core.TyperArgument):
    """An argument is shown by its Russian name (its metavar) alone, without «<path>» beside it."""

    def display_type_rich(self, ctx):
        return None


class _Option(typer.core.TyperOption):
    """An option whose allowed range reads «[1–64]» or «[от 1]», not «[1<=x<=64]»."""

    def _get_number_range_help_str(self):
        low, high = _number(self.min), _number(self.max)
        if low is not None and high is not None:
            return f"{low}–{high}"
        if low is not None:
            return f"от {low}"
        return None if high is None else f"до {high}"


class _Russian:
    """What our command and group classes share: their context, their help option, and
    parameters shown without Typer's English type names («<bool>», «<path>»)."""

    context_class = Context

    def __init__(self, *args, **settings):
        super().__init__(*args, **settings)
        for param in self.params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""  # a flag takes no value
            # Typer makes the parameters; we only choose how they are shown
            if type(param) is typer.core.TyperArgument:
                param.__class__ = _Argument
            elif type(param) is typer.core.TyperOption:
                param.__class__ = _Option

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help, option.metavar = HELP, ""
        return option


class Command(_Russian, typer.core.TyperCommand):
    pass


class Group(_Russian, typer.core.TyperGroup):
    def parse_args(self, ctx, args):
        """`letters` alone shows its commands, as `letters --help` does, and ends well."""
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().parse_args(ctx, args)


class Typer(typer.Typer):
    """A Typer whose commands and groups speak Russian (see the module's docstring)."""

    def __init__(self, **settings):
        settings.setdefault("cls", Group)
        settings.setdefault("options_metavar", OPTIONS)
        settings.setdefault("subcommand_metavar", COMMAND)
        settings.setdefault("add_completion", False)
        # help in Rich markup, as the catalogue's words are: a «[section]» of letters.toml is
        # written «\\[section]» in a help text
        settings.setdefault("rich_markup_mode", "rich")
        super().__init__(**settings)

    def command(self, *args, cls=None, **settings):
        return super().command(*args, cls=cls or Command, **settings)


# --- usage errors ---

# What pydantic says about a value (the type of its error), in Russian.
_VALUES = {
    "greater_than_equal": "нужно число не меньше {ge}",
    "greater_than": "нужно число больше {gt}",
    "less_than_equal": "нужно число не больше {le}",
    "less_than": "нужно число меньше {lt}",
    "int_parsing": "нужно целое число",
    "int_from_float": "нужно целое число",
    "float_parsing": "нужно число",
    "bool_parsing": "нужно да или нет",
}

# Typer's own English messages a clerk can meet.
_MESSAGES = (
    (re.compile(r"Missing option '([^']+)'.*", re.S), r"не указан обязательный параметр \1"),
    (re.compile(r"Missing (?:argument|parameter):? '?([^'.]+)'?.*", re.S), r"не указан обязательный параметр \1"),
    (re.compile(r"No such command '([^']+)'\. Did you mean '([^']+)'.*", re.S), r"нет такой команды: \1 (возможно, \2?)"),
    (re.compile(r"No such command '([^']+)'.*", re.S), r"нет такой команды: \1"),
    (re.compile(r"Missing command\.?", re.S), "не указана команда"),
    (re.compile(r"Option '([^']+)' requires an argument.*", re.S), r"после \1 нужно значение"),
    (re.compile(r"Option '([^']+)' does not take a value.*", re.S), r"после \1 значение не пишется"),
    (re.compile(r"Invalid value for '?([^':]+)'?: (.*)", re.S), r"неверное значение \1: \2"),
    (re.compile(r"Invalid value: (.*)", re.S), r"неверное значение: \1"),
    (re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", re.S), r"лишние слова в команде: \1"),
)


def explain(error: typer.TyperException) -> str:
    """A usage error in Russian, with what the clerk probably meant and where the help is."""
    ctx = getattr(error, "ctx", None)
    where = f"{ctx.command_path} --help" if ctx is not None else "letters --help"
    return f"Ошибка в команде: {_message(error)}. Справка: {where}"


def _message(error: typer.TyperException) -> str:
    if hasattr(error, "possibilities"):  # Click's NoSuchOption, with its own close matches, best first
        guesses = error.possibilities or ()
        hint = f" (возможно, {guesses[0]}?)" if guesses else ""
        return f"нет такого параметра: {error.option_name}{hint}"
    value = _value_message(error)
    if value:
        return value
    text = error.format_message().strip()
    for pattern, russian in _MESSAGES:
        if pattern.fullmatch(text):
            return pattern.sub(russian, text)
    return text


def _value_message(error: typer.TyperException) -> str | None:
    """A value pydantic refused («Input should be greater than or equal to 1»), named by its option."""
    cause = error.__cause__
    param = getattr(error, "param", None)
    if param is None or not hasattr(cause, "errors"):
        return None
    problem = cause.errors()[0]
    name, value = "/".join(param.opts) or param.name, problem.get("input")
    choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
    if choices:
        known = ", ".join(str(getattr(c, "value", c)) for c in choices)
        return f"неверное значение {name} {value}: возможные значения — {known}"
    russian = _VALUES.get(problem.get("type"))
    if russian is None:
        return None
    limits = {k: _number(v) for k, v in problem.get("ctx", {}).items()}
    return f"неверное значение {name} {value}: {russian.format(**limits)}"


def _number(limit):
    """1.0 is said «1»."""
    return int(limit) if isinstance(limit, float) and limit.is_integer() else limit
