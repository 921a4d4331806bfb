"""Dates as clerks write them, and as letters print them."""

from __future__ import annotations

import datetime as dt
import re

from babel.dates import format_date

NBSP = "\u00a0"
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_date(value: object) -> dt.date:
    """A date cell, `DD.MM.YYYY`, an ISO date, or an Excel day number.

    Raises ValueError with a Russian explanation.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime().date()
    if isinstance(value, (int, float)) and 20000 <= value <= 80000 and float(value).is_integer():
        return _EXCEL_EPOCH + dt.timedelta(days=int(value))  # a date cell formatted as a number
    text = str(value).strip()
    text = text.split(" ")[0] if _ISO.match(text) else text  # «2024-05-13 00:00:00»
    for pattern, order in ((_DOTTED, (3, 2, 1)), (_ISO, (1, 2, 3))):
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(match.group(i)) for i in order)
            try:
                return dt.date(year, month, day)
            except ValueError:
                raise ValueError(f"такой даты нет в календаре: «{text}»") from None
    raise ValueError(f"«{text}» — не дата: напишите её как ДД.ММ.ГГГГ, например 20.05.2024")


def numeric(date: dt.date) -> str:
    """20.05.2024: leading zeros, no «г.», as in the letter's requisites."""
    return date.strftime("%d.%m.%Y")


def long(date: dt.date) -> str:
    """20 мая 2024 г., with non-breaking spaces so that it never breaks across lines."""
    return format_date(date, "d MMMM y", locale="ru").replace(" ", NBSP) + NBSP + "г."
