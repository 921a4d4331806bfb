"""Problems found in the input, reported as values: the pipeline never prints.

Each problem names the file, the row as the clerk sees it in the spreadsheet, the column
and what to do. The CLI shows them; tests read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Level(Enum):
    ERROR = "ошибка"  # stops the build: nothing is written
    WARNING = "предупреждение"  # suspicious, the build goes on
    NOTE = "замечание"  # for information only


@dataclass(frozen=True)
class Problem:
    message: str
    file: str = ""
    row: int | None = None
    column: str = ""
    level: Level = Level.ERROR

    @property
    def place(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"строка {self.row}")
        if self.column:  # a key of letters.toml is a «параметр», a table has columns
            parts.append(f"{'параметр' if self.file.endswith('.toml') else 'столбец'} «{self.column}»")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


@dataclass(frozen=True)
class ProblemGroup:
    """One message repeated over many rows of one column, shown once: the count and the
    first few rows (145 lines of the same warning hide the one line that matters)."""

    first: Problem
    rows: tuple[int, ...] = ()

    SHOWN = 5

    @property
    def level(self) -> Level:
        return self.first.level

    def __str__(self) -> str:
        if len(self.rows) < 2:
            return str(self.first)
        shown = ", ".join(map(str, self.rows[: self.SHOWN]))
        more = len(self.rows) - self.SHOWN
        rows = f"строки {shown}" + (f" и ещё {more} (всего {len(self.rows)})" if more > 0 else "")
        place = ", ".join(part for part in (self.first.file, rows,
                                            f"столбец «{self.first.column}»" if self.first.column else "") if part)
        return f"{place}: {self.first.message}"


class Problems(list):
    """A list of problems with the questions the pipeline asks of it.

    The same problem found twice (by two steps, or twice in one) is kept once: every
    message reaches the clerk once."""

    def __init__(self, problems=()):
        super().__init__()
        self._seen: set[Problem] = set()
        self.extend(problems)

    def append(self, problem: Problem) -> None:
        if problem not in self._seen:
            self._seen.add(problem)
            super().append(problem)

    def extend(self, problems) -> None:
        for problem in problems:
            self.append(problem)

    def error(self, message: str, file: str = "", row: int | None = None, column: str = "") -> None:
        self.append(Problem(message, file, row, column, Level.ERROR))

    def warning(self, message: str, file: str = "", row: int | None = None, column: str = "") -> None:
        self.append(Problem(message, file, row, column, Level.WARNING))

    def note(self, message: str, file: str = "", row: int | None = None, column: str = "") -> None:
        self.append(Problem(message, file, row, column, Level.NOTE))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self if p.level is Level.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self if p.level is Level.WARNING]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self if p.level is Level.NOTE]

    def grouped(self, level: Level) -> list[ProblemGroup]:
        """The problems of `level`, the same message in the same file and column once."""
        groups: dict[tuple, list[Problem]] = {}
        for problem in self:
            if problem.level is level:
                key = (problem.message, problem.file, problem.column) if problem.row is not None else (problem,)
                groups.setdefault(key, []).append(problem)
        return [ProblemGroup(group[0], tuple(p.row for p in group if p.row is not None)) for group in groups.values()]

    @property
    def has_errors(self) -> bool:
        return any(p.level is Level.ERROR for p in self)


class LettersError(Exception):
    """The one base of every error a clerk is told about: its message is Russian and says
    what to do, and it carries the exit code the command ends with. The CLI catches it
    once, in `main()`.

    Exit codes: 1 — the input or the state of the journal or of the folders is wrong (nothing
    was written); 2 — the command itself is wrong, or a program it needs is missing."""

    exit_code = 1

    def __init__(self, message: str = "", exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(LettersError):
    """A wrong command: an option missing or out of place. Exit code 2."""

    exit_code = 2
