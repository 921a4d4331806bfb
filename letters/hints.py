"""The commands the tool tells the clerk to run next («letters build --date 20.05.2024 …»).

A hint repeats the folders and the journal the clerk gave (`--data`, `--out`, `--journal`,
`--templates`) and the kind of letter (`--circular`), so that a hint copied into the terminal works on the same data and the same
journal as the command that printed it. What the clerk left at its default is left out.
"""

from __future__ import annotations

from pathlib import Path

from .kinds import CIRCULAR

DEFAULTS = {"data": Path("data"), "out": Path("out"), "journal": None, "templates": None}


def command(name: str, *words: str, request=None) -> str:
    """`letters <name> <words…>` and the folders of `request` (a BuildRequest, MailRequest…)."""
    return " ".join(["letters", name, *map(_quoted, words), *given(request)])


def given(request) -> list[str]:
    """The folder and journal options of `request` that differ from their defaults, and
    `--circular` for a letter by list."""
    words = []
    for attribute, default in DEFAULTS.items():
        value = getattr(request, attribute, None)
        if value is not None and value != default:
            words += [f"--{attribute}", _quoted(str(value))]
    if getattr(request, "kind", None) == CIRCULAR.name:
        words.append("--circular")
    return words


def _quoted(word: str) -> str:
    """A folder with a space in its name stays one word in any shell, Windows' too."""
    return f'"{word}"' if any(c.isspace() for c in word) and not word.startswith('"') else word
