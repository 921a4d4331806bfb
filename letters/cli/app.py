"""What every command shares: the Typer application, the consoles, the common options,
and `main()`, which turns every error into a Russian message and an exit code.

Every message is in Russian; a clerk never sees a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Annotated, Optional

from . import russian  # first: it installs the Russian words of Typer before typer is imported
import typer
from babel import Locale
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn,
                           TimeRemainingColumn)
from rich.text import Text

from .. import __version__, dates
from ..problems import Level, LettersError, Problems


class ExitCode(enum.IntEnum):
    OK = 0
    INVALID_INPUT = 1  # nothing was written
    USAGE = 2  # a wrong option, or LibreOffice missing


app = russian.Typer(
    help="Письма главам муниципальных образований по итогам мониторинга виджетов ПОС.",
    epilog="""Порядок работы:
  letters validate                  проверить таблицы и letters.toml
  letters build --date 20.05.2024   собрать письма
  letters mail --date 20.05.2024    подготовить рассылку
Справка по команде: letters build --help""",
    no_args_is_help=True,
)
_RUSSIAN = Locale("ru")
# markup off: messages carry clerks' data, and «[sender]» or «Район [/b]» must print as written
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

DataOption = Annotated[Path, typer.Option("--data", metavar="ПАПКА", help="Папка с таблицами и letters.toml.")]
JournalOption = Annotated[
    Optional[str],
    typer.Option("--journal", envvar="LETTERS_JOURNAL", metavar="ЖУРНАЛ",
                 help="Журнал регистрации: путь к файлу SQLite или адрес postgresql+psycopg://… "
                      "(по умолчанию — \\[journal] в letters.toml, иначе журнал пользователя)."),
]
TemplatesOption = Annotated[Optional[Path], typer.Option(
    "--templates", metavar="ПАПКА", help="Папка со своими шаблонами .docx (по умолчанию — папка templates рядом с папкой данных; "
                        "шаблона, которого там нет, берётся шаблон программы).")]
DateOption = Annotated[str, typer.Option("--date", metavar="ДД.ММ.ГГГГ", help="Дата писем, ДД.ММ.ГГГГ.")]


def parse_date(text: str) -> dt.date:
    try:
        return dates.parse_date(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def count(n: int, one: str, few: str, many: str) -> str:
    """«1 письмо», «22 письма», «25 писем»: babel knows the Russian plural rules."""
    form = _RUSSIAN.plural_form(n)
    return f"{n} {one if form == 'one' else few if form == 'few' else many}"


def show(problems: Problems, headings: dict[Level, str] | None = None) -> None:
    """Errors first, then warnings, then notes; each group once, every problem on a line."""
    headings = headings or {
        Level.ERROR: "Ошибки (сборка невозможна, пока они есть)",
        Level.WARNING: "Предупреждения (сборка идёт, но проверьте)",
        Level.NOTE: "Замечания",
    }
    for level, heading in headings.items():
        groups = problems.grouped(level)
        if groups:
            err.print(f"{heading}: {sum(max(1, len(g.rows)) for g in groups)}")
            for group in groups:
                err.print(f"  • {group}", soft_wrap=True)


def ask(question: str) -> bool:
    """A yes-or-no question on the terminal, in Russian («да»/«нет»; «y» works too); no answer is «нет»."""
    answer = err.input(f"{question} (да/нет): ", markup=False)
    return answer.strip().casefold() in ("да", "д", "y", "yes")


def fail(code: ExitCode = ExitCode.INVALID_INPUT, message: str = "") -> typer.Exit:
    """The exit of a command that did not do its job; `raise fail(…)`."""
    if message:
        err.print(message)
    return typer.Exit(code)


class _Counted(ProgressColumn):
    """A column shown once the step knows how many things it has to do: until then the
    spinner and the step's name say that work goes on, and no «0/?» is shown."""

    def __init__(self, column: ProgressColumn):
        super().__init__()
        self.column = column

    def render(self, task):
        return self.column.render(task) if task.total is not None else Text("")


class progress:
    """A Rich progress bar on a terminal; nothing when the output is a file or a pipe."""

    def __enter__(self):
        if not err.is_terminal:
            return None
        self._bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}", markup=False),
            *(_Counted(c) for c in (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())),
            console=err, transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("проверка данных", total=None)
        return self.update

    def update(self, phase: str, done: int, total: int) -> None:
        self._bar.update(self._task, description=phase, completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if err.is_terminal:
            self._bar.stop()

    @contextlib.contextmanager
    def paused(self):
        """The bar off the screen while the clerk answers a question."""
        if err.is_terminal and hasattr(self, "_bar"):
            self._bar.stop()
            try:
                yield
            finally:
                self._bar.start()
        else:
            yield


def main() -> None:
    """The entry point: Russian messages for usage errors, a log file instead of a traceback."""
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except LettersError as exc:
        err.print(str(exc))
        code = exc.exit_code
    except typer.Abort:
        err.print("Прервано.")
        code = ExitCode.INVALID_INPUT
    except KeyboardInterrupt:
        err.print("Прервано. Незаконченные пакеты не записаны.")
        code = ExitCode.INVALID_INPUT
    except typer.TyperException as exc:  # a usage error: a wrong option or value
        err.print(russian.explain(exc))
        code = ExitCode.USAGE
    except Exception:
        log = _write_log()
        err.print(
            "Непредвиденная ошибка программы. Ничего не записано. Подробности для разработчиков — "
            f"в файле {log}; пришлите его вместе с описанием, что вы делали."
        )
        code = ExitCode.INVALID_INPUT
    sys.exit(code if isinstance(code, int) else 0)


def _write_log() -> Path:
    handle, name = tempfile.mkstemp(prefix="letters-error-", suffix=".log")
    with os.fdopen(handle, "w", encoding="utf-8") as log:
        log.write(f"letters {__version__}\n{' '.join(sys.argv)}\n\n")
        traceback.print_exc(file=log)
    return Path(name)

