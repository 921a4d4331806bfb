"""Names as clerks type them: one rule for when two names are the same, and one for what
`--only` chooses (build, mail and audit all take it)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .problems import Problems


def name_key(text: str) -> str:
    """Names match whatever the case, the spaces and «ё»."""
    return " ".join(text.split()).casefold().replace("ё", "е")


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name a mistyped one most likely meant, or None."""
    by_key = {name_key(k): k for k in known}
    match = difflib.get_close_matches(name_key(name), list(by_key), n=1, cutoff=0.6)
    return by_key[match[0]] if match else None


def choose(wanted: Iterable[str], known: Iterable[str], problems: Problems, missing: str) -> list[str]:
    """The known names that `--only` names, in the order of `known`. A name that is not
    there is an error: «--only «…»: `missing`», with the closest known name as a hint."""
    known = list(known)
    by_key = {name_key(k): k for k in known}
    chosen = set()
    for name in wanted:
        found = by_key.get(name_key(name))
        if found is None:
            guess = closest(name, known)
            hint = f" (возможно, «{guess}»?)" if guess else ""
            problems.error(f"--only «{name}»: {missing}{hint}")
        else:
            chosen.add(found)
    return [k for k in known if k in chosen]
