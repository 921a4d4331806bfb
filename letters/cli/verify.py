"""`letters verify OUT/<date>`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..packs import read_manifest
from ..verify import verify
from .app import DataOption, JournalOption, app, count, fail, out, show
from .journal import open_journal


@app.command("verify", epilog="""Сверить сборку 20 мая 2024 года:
  letters verify out/2024-05-20
Сборку в другой папке, с журналом, названным в данные/letters.toml:
  letters verify письма/2024-05-20 --data данные""")
def verify_command(
    folder: Annotated[Path, typer.Argument(metavar="ПАПКА", help="Папка сборки, например out/2024-05-20.")],
    journal: JournalOption = None,
    data: DataOption = Path("data"),
) -> None:
    """Сверить файлы пакетов с manifest.csv и журналом (sha256)."""
    problems = verify(folder, open_journal(journal, data))
    show(problems)
    if problems.has_errors:
        raise fail()
    rows = read_manifest(folder)
    out.print(f"Всё сходится: {count(len(rows), 'пакет', 'пакета', 'пакетов')}, файлы совпадают с manifest.csv и журналом.")
