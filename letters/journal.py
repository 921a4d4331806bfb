"""Step 3: number the letters.

A number is the pattern of `letters.toml` (default `{seq}/{yy}`) filled with a sequence
number that starts at `[numbering] first`. For now the numbers are given in the order of
the municipalities table on every run; the persistent journal that never gives a number
twice comes with issue 5.
"""

from __future__ import annotations

import datetime as dt

from .model import Municipality, Settings


def format_number(pattern: str, seq: int, date: dt.date) -> str:
    return pattern.format(seq=seq, yy=date.strftime("%y"), yyyy=date.strftime("%Y"))


def assign_numbers(municipalities: list[Municipality], settings: Settings, date: dt.date) -> dict[str, str]:
    """Registration numbers by municipality name, in table order."""
    return {
        m.name: format_number(settings.number_pattern, settings.first_number + i, date)
        for i, m in enumerate(municipalities)
    }
