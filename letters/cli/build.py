"""`letters build` and `letters validate`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import pipeline
from ..draft import WHOLE_BATCH
from ..overview import PAGE, PRINT
from ..kinds import CIRCULAR, PERSONAL
from .app import DataOption, DateOption, JournalOption, TemplatesOption, app, count, fail, out, parse_date, progress, show


@app.command(epilog="""Собрать письма от 20 мая 2024 года из папки data в папку out:
  letters build --date 20.05.2024
Из других папок:
  letters build --date 20.05.2024 --data данные --out письма
Только двум МО:
  letters build --date 20.05.2024 --only "Город Ишим" --only "Абатский район"
Одно письмо всем главам по списку:
  letters build --date 20.05.2024 --circular""")
def build(
    date: DateOption,
    data: DataOption = Path("data"),
    templates: TemplatesOption = None,
    out_dir: Annotated[Path, typer.Option("--out", metavar="ПАПКА", help="Куда писать пакеты писем.")] = Path("out"),
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Не сохранять PDF (листы всё равно считаются).")] = False,
    jobs: Annotated[int, typer.Option("--jobs", metavar="ЧИСЛО", min=1, max=64, help="Сколько процессов LibreOffice запускать сразу.")] = max(1, min(os.cpu_count() or 1, 8)),
    journal: JournalOption = None,
    only: Annotated[Optional[list[str]], typer.Option("--only", metavar="МО", help="Собрать письма только этим МО (можно повторять).")] = None,
    reissue: Annotated[bool, typer.Option("--reissue", help="Изменённое отправленное письмо — новым номером, старое — «заменено».")] = False,
    pdfa: Annotated[bool, typer.Option("--pdfa", help="PDF/A-2b для архивного хранения.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", metavar="СЕКУНД", min=1, help="Сколько секунд LibreOffice может делать один документ.")] = 60.0,
    duplex: Annotated[bool, typer.Option(
        "--duplex", help="В «к печати.pdf» каждый документ начинать с лицевой стороны листа.")] = False,
    draft: Annotated[bool, typer.Option(
        "--draft", help="Проект: собрать всё без номеров и без записи в журнал, в папку «ГГГГ-ММ-ДД проект», "
        "с пометкой «ПРОЕКТ» на каждой странице и одним PDF всех писем.")] = False,
    deadline: Annotated[Optional[str], typer.Option(
        "--deadline", metavar="ДД.ММ.ГГГГ", help="Срок ответа ДД.ММ.ГГГГ вместо указанного в letters.toml (для этого круга писем).")] = None,
    no_follow_up: Annotated[bool, typer.Option(
        "--no-follow-up", help="Не делать письма «в дополнение к письму…»: всем — обычное первое письмо.")] = False,
    move: Annotated[bool, typer.Option(
        "--move", help="Пакеты этой даты собраны в другой папке --out: перенести их сюда.")] = False,
    circular: Annotated[bool, typer.Option(
        "--circular", help="Одно письмо главам по списку (как письмо № 1337/24), а не письмо каждому главе.")] = False,
) -> None:
    """Собрать письма и приложения (.docx и .pdf) и manifest.csv."""
    request = pipeline.BuildRequest(
        date=parse_date(date), data=data, templates=templates, out=out_dir, pdf=not no_pdf, jobs=jobs,
        journal=journal, only=tuple(only or ()), reissue=reissue, pdfa=pdfa, timeout=timeout,
        kind=CIRCULAR.name if circular else PERSONAL.name, move=move, draft=draft, duplex=duplex,
        deadline=parse_date(deadline) if deadline else None, follow_up=not no_follow_up,
    )
    with progress() as report:
        result = pipeline.build(request, report)
    show(result.problems)
    if result.problems.has_errors and result.folder is None:
        # what the journal holds after a fault midway is said in the error itself
        nothing = "" if result.journal_changed else " Ничего не записано."
        raise fail(message=f"Письма не собраны: исправьте ошибки и запустите сборку снова.{nothing}")
    if draft:
        _show_draft(result)
        return
    changed = sum(p.changed for p in result.packs)
    out.print(
        f"Готово: {count(len(result.packs), 'письмо', 'письма', 'писем')} в папке {result.folder}"
        + (f" (изменилось: {changed})" if changed != len(result.packs) else "")
    )
    for pack in result.packs:
        sheets = "+".join(map(str, (pack.letter_sheets, *pack.appendix_sheets)))
        mark = "" if pack.changed else " — без изменений"
        follows = f" (в дополнение: {pack.follows})" if pack.follows else ""
        out.print(f"  № {pack.number}  {pack.municipality}{follows}: ошибок {pack.findings}, листов {sheets}{mark}")
    for municipality, cited in result.all_fixed.items():
        out.print(f"  {municipality}: все ошибки из {cited.replace('письмо', 'письма', 1)} устранены, новых нет — "
                  "письмо не нужно")
    out.print(f"Обзор сборки: {result.folder / PAGE}" + (
        f"; всё для печати одним файлом: {result.folder / PRINT}" if (result.folder / PRINT).is_file() else ""))
    for number in result.cancelled:
        out.print(f"  № {number} аннулирован: ошибок у этого МО больше нет, пакет удалён")
    if result.problems.has_errors:
        raise fail(message="Часть писем не собрана (см. ошибки выше): исправьте и запустите сборку снова.")


def _show_draft(result: pipeline.BuildResult) -> None:
    out.print(f"Проект: {count(len(result.packs), 'письмо', 'письма', 'писем')} в папке {result.folder}; "
              "номера не выданы, журнал не тронут.")
    for pack in result.packs:
        sheets = "+".join(map(str, (pack.letter_sheets, *pack.appendix_sheets)))
        out.print(f"  {pack.municipality}: ошибок {pack.findings}, листов {sheets}")
    if (result.folder / WHOLE_BATCH).is_file():
        out.print(f"Все письма одним файлом: {result.folder / WHOLE_BATCH}; обзор: {result.folder / PAGE}")
    else:
        out.print(f"Обзор: {result.folder / PAGE}; одного файла всех писем нет: проект собран без PDF (--no-pdf)")
    if result.problems.has_errors:
        raise fail(message="Часть писем не собрана (см. ошибки выше): исправьте и запустите сборку снова.")


@app.command(epilog="""Проверить папку data и шаблоны рядом с ней:
  letters validate
Другую папку и свои шаблоны:
  letters validate --data данные --templates мои-шаблоны""")
def validate(data: DataOption = Path("data"), templates: TemplatesOption = None) -> None:
    """Проверить таблицы, letters.toml и шаблоны, ничего не записывая."""
    checked = pipeline.check(data, templates)
    show(checked.problems)
    if not checked.ok:
        raise fail()
    dataset = checked.dataset
    out.print(
        f"Ошибок нет. Муниципальных образований: {len(dataset.municipalities)}, организаций: "
        f"{len(dataset.organizations)}, замечаний мониторинга: {len(dataset.findings)}, "
        f"писем будет: {len(dataset.municipalities_with_findings)}."
    )
