"""E-mail addresses: one pattern for what an address is, wherever one is read."""

from __future__ import annotations

import re

# An address starts with a letter or a digit: «=…@…» or «+…@…» would be a formula in Excel.
EMAIL = re.compile(r"[^\W_][\w.+'-]*@[^\W_][\w-]*(\.[\w-]+)+")
_SEPARATORS = re.compile(r"[;,\s]+")


def is_email(text: str) -> bool:
    return EMAIL.fullmatch(text) is not None


def split(text: str) -> list[str]:
    """The addresses of a cell, «;», «,» or spaces between them."""
    return [a for a in _SEPARATORS.split(text) if a]


def for_smtp(text: str) -> tuple[tuple[str, ...], list[str]]:
    """The addresses as SMTP carries them (the domain in ASCII), and what is wrong with the others."""
    good, bad = [], []
    for address in split(text):
        local, _, domain = address.rpartition("@")
        if not is_email(address):
            bad.append(f"«{address}» — не адрес электронной почты")
        elif not local.isascii():
            bad.append(f"«{address}»: русские буквы до «@» принимают не все почтовые серверы, нужен адрес латиницей")
        else:
            try:
                good.append(f"{local}@{domain.encode('idna').decode('ascii').lower()}")
            except UnicodeError:
                bad.append(f"«{address}»: такого имени домена не бывает")
    return tuple(dict.fromkeys(good)), bad
