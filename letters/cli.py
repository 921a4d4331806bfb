"""The command line: parses options, calls the pipeline, shows what it returned.

Every message is in Russian; a clerk never sees a traceback.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import re
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer
from babel import Locale
from rich.console import Console
from rich.table import Table
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from . import __version__, dates, pipeline, register
from .convert import SofficeNotFound
from .journal import STATUS_NAMES, Journal, JournalError, location_url
from .packs import read_manifest
from .verify import verify
from .problems import Level, Problems


class ExitCode(enum.IntEnum):
    OK = 0
    INVALID_INPUT = 1  # nothing was written
    USAGE = 2  # a wrong option, or LibreOffice missing


app = typer.Typer(
    help="Письма главам муниципальных образований по итогам мониторинга виджетов ПОС.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)
_RUSSIAN = Locale("ru")
# markup off: messages carry clerks' data, and «[sender]» or «Район [/b]» must print as written
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

DataOption = Annotated[Path, typer.Option("--data", help="Папка с таблицами и letters.toml.")]
JournalOption = Annotated[
    Optional[str],
    typer.Option("--journal", envvar="LETTERS_JOURNAL",
                 help="Журнал регистрации: путь к файлу SQLite или адрес postgresql+psycopg://… "
                      "(по умолчанию <папка данных>/journal.sqlite)."),
]
TemplatesOption = Annotated[Path, typer.Option("--templates", help="Папка с шаблонами .docx.")]


def _parse_date(text: str) -> dt.date:
    try:
        return dates.parse_date(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def build(
    date: Annotated[str, typer.Option("--date", help="Дата писем, ДД.ММ.ГГГГ.")],
    data: DataOption = Path("data"),
    templates: TemplatesOption = Path("templates"),
    out_dir: Annotated[Path, typer.Option("--out", help="Куда писать пакеты писем.")] = Path("out"),
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Не сохранять PDF (листы всё равно считаются).")] = False,
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=64, help="Сколько процессов LibreOffice запускать сразу.")] = max(1, min(os.cpu_count() or 1, 8)),
    journal: JournalOption = None,
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Собрать письма только этим МО (можно повторять).")] = None,
    reissue: Annotated[bool, typer.Option("--reissue", help="Изменённое отправленное письмо — новым номером, старое — «заменено».")] = False,
    pdfa: Annotated[bool, typer.Option("--pdfa", help="PDF/A-2b для архивного хранения.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Сколько секунд LibreOffice может делать один документ.")] = 60.0,
) -> None:
    """Собрать письма и приложения (.docx и .pdf) и manifest.csv."""
    request = pipeline.BuildRequest(
        date=_parse_date(date), data=data, templates=templates, out=out_dir, pdf=not no_pdf, jobs=jobs,
        journal=journal, only=tuple(only or ()), reissue=reissue, pdfa=pdfa, timeout=timeout,
    )
    with _progress() as report:
        try:
            result = pipeline.build(request, report)
        except SofficeNotFound as exc:
            err.print(str(exc))
            raise typer.Exit(ExitCode.USAGE) from None
    _show(result.problems)
    if result.problems.has_errors and result.folder is None:
        err.print("Письма не собраны: исправьте ошибки и запустите сборку снова. Ничего не записано.")
        raise typer.Exit(ExitCode.INVALID_INPUT)
    changed = sum(p.changed for p in result.packs)
    out.print(
        f"Готово: {_count(len(result.packs), 'письмо', 'письма', 'писем')} в папке {result.folder}"
        + (f" (изменилось: {changed})" if changed != len(result.packs) else "")
    )
    for pack in result.packs:
        sheets = "+".join(map(str, (pack.letter_sheets, *pack.appendix_sheets)))
        mark = "" if pack.changed else " — без изменений"
        out.print(f"  № {pack.number}  {pack.municipality}: ошибок {pack.findings}, листов {sheets}{mark}")
    for number in result.cancelled:
        out.print(f"  № {number} аннулирован: ошибок у этого МО больше нет, пакет удалён")
    if result.problems.has_errors:
        err.print("Часть писем не собрана (см. ошибки выше): исправьте и запустите сборку снова.")
        raise typer.Exit(ExitCode.INVALID_INPUT)


@app.command()
def validate(data: DataOption = Path("data"), templates: TemplatesOption = Path("templates")) -> None:
    """Проверить таблицы, letters.toml и шаблоны, ничего не записывая."""
    checked = pipeline.check(data, templates)
    _show(checked.problems)
    if not checked.ok:
        raise typer.Exit(ExitCode.INVALID_INPUT)
    dataset = checked.dataset
    out.print(
        f"Ошибок нет. Муниципальных образований: {len(dataset.municipalities)}, организаций: "
        f"{len(dataset.organizations)}, замечаний мониторинга: {len(dataset.findings)}, "
        f"писем будет: {len(dataset.municipalities_with_findings)}."
    )


journal_app = typer.Typer(help="Журнал регистрации исходящих писем.", invoke_without_command=True, rich_markup_mode=None)
app.add_typer(journal_app, name="journal")


def _open_journal(journal: str | None, data: Path) -> Journal:
    try:
        return Journal(location_url(journal or data / "journal.sqlite"))
    except JournalError as exc:
        err.print(str(exc))
        raise typer.Exit(ExitCode.INVALID_INPUT) from None


@journal_app.callback()
def journal_list(
    ctx: typer.Context,
    journal: JournalOption = None,
    data: DataOption = Path("data"),
    year: Annotated[Optional[int], typer.Option("--year", help="Только за этот год.")] = None,
    date: Annotated[Optional[str], typer.Option("--date", help="Только письма этой даты, ДД.ММ.ГГГГ.")] = None,
    municipality: Annotated[Optional[str], typer.Option("--municipality", help="Только МО, в названии которых есть этот текст.")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="reserved, issued, sent, cancelled или replaced.")] = None,
    export: Annotated[Optional[Path], typer.Option("--export", help="Сохранить в файл .xlsx или .csv.")] = None,
) -> None:
    """Показать журнал (с отбором) или выгрузить его в .xlsx или .csv."""
    ctx.ensure_object(dict)["journal"], ctx.obj["data"] = journal, data
    if ctx.invoked_subcommand is not None:
        return
    if status and status not in STATUS_NAMES:
        raise typer.BadParameter(f"статус «{status}» неизвестен; возможные: {', '.join(STATUS_NAMES)}")
    if export and export.suffix.lower() not in (".xlsx", ".csv"):
        raise typer.BadParameter("выгрузка возможна в файл .xlsx или .csv")
    letters = _open_journal(journal, data).list(
        year=year, date=_parse_date(date) if date else None, municipality=municipality, status=status
    )
    if export:
        register.export(letters, export)
        out.print(f"Журнал выгружен: {export} ({_count(len(letters), 'запись', 'записи', 'записей')})")
        return
    table = Table(*register.COLUMNS[:3], "Листов", "Статус", "Примечание", box=None)
    for row in register.register_rows(letters):
        table.add_row(*(row[c] for c in (*register.COLUMNS[:3], "Листов", "Статус", "Примечание")))
    out.print(table)
    out.print(f"Всего: {_count(len(letters), 'запись', 'записи', 'записей')}")


@journal_app.command("cancel")
def journal_cancel(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Регистрационный номер, например 1337/24.")],
    why: Annotated[str, typer.Option("--why", help="Причина аннулирования (записывается в журнал).")],
    journal: JournalOption = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Папка с таблицами и letters.toml.")] = None,
) -> None:
    """Аннулировать номер (он больше никогда не будет выдан)."""
    if not why.strip():
        raise typer.BadParameter("укажите причину аннулирования в --why")
    journal = _open_journal(journal or ctx.obj["journal"], data or ctx.obj["data"])
    try:
        letter = journal.cancel(number, why.strip())
    except JournalError as exc:
        err.print(str(exc))
        raise typer.Exit(ExitCode.INVALID_INPUT) from None
    out.print(f"Номер {letter.number} ({letter.municipality}) аннулирован: {letter.reason}")


@app.command("verify")
def verify_command(
    folder: Annotated[Path, typer.Argument(help="Папка сборки, например out/2024-05-20.")],
    journal: JournalOption = None,
    data: DataOption = Path("data"),
) -> None:
    """Сверить файлы пакетов с manifest.csv и журналом (sha256)."""
    problems = verify(folder, _open_journal(journal, data))
    _show(problems)
    if problems.has_errors:
        raise typer.Exit(ExitCode.INVALID_INPUT)
    rows = read_manifest(folder)
    out.print(f"Всё сходится: {_count(len(rows), 'пакет', 'пакета', 'пакетов')}, файлы совпадают с manifest.csv и журналом.")


# --- letters mail: one block, beside its command ---

from . import mail as mailing  # noqa: E402


class Attach(str, enum.Enum):
    pdf = "pdf"
    docx = "docx"


@app.command("mail")
def mail_command(
    date: Annotated[str, typer.Option("--date", help="Дата писем, ДД.ММ.ГГГГ.")],
    data: DataOption = Path("data"),
    out_dir: Annotated[Path, typer.Option("--out", help="Папка со сборками (та же, что в build).")] = Path("out"),
    journal: JournalOption = None,
    send: Annotated[bool, typer.Option("--send", help="Отправить. Без него письма только записываются в OUT/<дата>/outbox/*.eml.")] = False,
    smtp: Annotated[Optional[str], typer.Option(
        "--smtp", envvar="LETTERS_SMTP",
        help="Почтовый сервер: smtp://пользователь@сервер:587 (STARTTLS) или smtps://пользователь@сервер:465; "
             "пароль — только в переменной окружения LETTERS_SMTP_PASSWORD.")] = None,
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Только письма этим МО (можно повторять).")] = None,
    attach: Annotated[Attach, typer.Option("--attach", help="Что вкладывать: pdf (по умолчанию) или docx.")] = Attach.pdf,
    rate: Annotated[Optional[int], typer.Option("--rate", min=1, help="Не больше стольких писем в минуту (по умолчанию [mail] rate, иначе 20).")] = None,
    retry: Annotated[Optional[list[str]], typer.Option(
        "--retry", help="Номер письма, отправка которого не подтверждена и которое не дошло, или которое надо дослать "
                        "по адресам, куда оно не ушло (можно повторять).")] = None,
    confirm: Annotated[Optional[list[str]], typer.Option(
        "--confirm", help="Номер письма, отправка которого не подтверждена, но оно дошло: отметить отправленным.")] = None,
) -> None:
    """Разослать письма главам: .eml в outbox или, с --send, через SMTP — каждое ровно один раз."""
    request = mailing.MailRequest(
        date=_parse_date(date), data=data, out=out_dir, journal=journal, send=send, smtp=smtp,
        password=os.environ.get(mailing.PASSWORD_VARIABLE) or None, only=tuple(only or ()), attach=attach.value,
        rate=rate, retry=tuple(retry or ()), confirm=tuple(confirm or ()),
    )
    with _progress() as report:
        try:
            result = mailing.mail(request, report)
        except mailing.MailUsageError as exc:
            err.print(f"Ошибка в команде: {exc}. Справка: letters mail --help")
            raise typer.Exit(ExitCode.USAGE) from None
        except KeyboardInterrupt:
            err.print("Рассылка прервана. Отправленные письма записаны в журнал; та же команда отправит только "
                      "оставшиеся (о письме, которое уходило в момент прерывания, она скажет, как его проверить).")
            raise typer.Exit(ExitCode.INVALID_INPUT) from None
    _show_mail(result, request)
    raise typer.Exit(ExitCode.INVALID_INPUT if result.problems.has_errors else ExitCode.OK)


def _show_mail(result: mailing.MailResult, request: mailing.MailRequest) -> None:
    headings = {Level.ERROR: "Не отправлено или требует внимания", Level.WARNING: "Предупреждения", Level.NOTE: "Замечания"}
    for level, heading in headings.items():
        group = [p for p in result.problems if p.level is level]
        if group:
            err.print(f"{heading}: {len(group)}")
            for problem in group:
                err.print(f"  • {problem}", soft_wrap=True)

    def listing(outcomes, files: bool = False) -> None:
        for o in outcomes:
            to = ", ".join(o.recipients)
            out.print(f"  № {o.number}  {o.municipality} → {to}" + (f": {o.file.name}" if files and o.file else ""))

    if confirmed := result.of(mailing.CONFIRMED):
        out.print(f"Отмечены в журнале отправленными по вашему подтверждению: {_count(len(confirmed), 'письмо', 'письма', 'писем')}")
        listing(confirmed)
    if already := result.of(mailing.ALREADY):
        out.print(f"Отправлены раньше (повторно не отправляются): {_count(len(already), 'письмо', 'письма', 'писем')}")
        listing(already)
    if written := result.of(mailing.WRITTEN):
        out.print(f"Подготовлено к отправке: {_count(len(written), 'письмо', 'письма', 'писем')} в папке "
                  f"{result.folder / mailing.OUTBOX} (ничего не отправлено; отправить: "
                  f"letters mail --date {dates.numeric(request.date)} --send --smtp smtp://…)")
        listing(written, files=True)
    if mailed := result.of(mailing.MAILED):
        out.print(f"Отправлено через {result.server or 'почтовый сервер'}: {_count(len(mailed), 'письмо', 'письма', 'писем')} "
                  "(записано в журнал)")
        listing(mailed)
    if not result.outcomes and not result.problems.has_errors:
        out.print("Отправлять нечего: писем, ждущих отправки, нет.")


# --- letters audit: one block, beside its command ---

from . import audit as site_audit  # noqa: E402
from .validate import load_registry, name_key  # noqa: E402


@app.command("audit")
def audit_command(
    out_file: Annotated[Path, typer.Option(
        "--out", help="Таблица замечаний .xlsx (формат таблицы audit); снимки экрана — в папку «<имя>-снимки» рядом с ней.")],
    data: Annotated[Path, typer.Option("--data", help="Папка с таблицами municipalities и organizations.")] = Path("data"),
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Проверить только сайты учреждений этого МО (можно повторять).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=16, help="Сколько сайтов проверять одновременно.")] = 2,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Сколько секунд ждать загрузки страницы сайта.")] = 20.0,
) -> None:
    """Проверить виджеты ПОС на сайтах учреждений в браузере: таблица замечаний и снимки экрана."""
    if out_file.suffix.lower() != ".xlsx":
        raise typer.BadParameter("таблица замечаний записывается в файл .xlsx, например --out audit.xlsx")
    problems = Problems()
    registry = load_registry(data, problems)
    organizations = _audit_organizations(registry, tuple(only or ()), problems)
    _show(problems)
    if problems.has_errors:
        err.print("Сайты не проверены: исправьте ошибки и запустите проверку снова. Ничего не записано.")
        raise typer.Exit(ExitCode.INVALID_INPUT)
    shots = out_file.with_name(f"{out_file.stem}-снимки")
    failed: list[site_audit.SiteProgress] = []
    with _progress() as report:

        def on_progress(site: site_audit.SiteProgress) -> None:
            if site.error:
                failed.append(site)
                err.print(f"Предупреждение: сайт {site.site} не проверен — сбой программы проверки ({site.error}); "
                          "проверьте его вручную или запустите проверку снова")
            if report is not None:
                report("проверка сайтов", site.done, site.total)

        if report is not None:  # the browser takes a moment to start: say what is coming
            report("проверка сайтов", 0, len(site_audit.group_by_site(organizations)))
        try:
            findings = site_audit.check_sites(
                organizations, jobs=jobs, timeout=timeout, screenshots_dir=shots, on_progress=on_progress)
        except site_audit.AuditError as exc:
            err.print(str(exc))
            raise typer.Exit(ExitCode.USAGE) from None
        except KeyboardInterrupt:
            err.print("Проверка прервана. Таблица замечаний не записана.")
            raise typer.Exit(ExitCode.INVALID_INPUT) from None
    site_audit.write_audit_xlsx(findings, out_file)
    _remove_old_screenshots(shots, findings)
    _show_audit(organizations, findings, failed, out_file, shots)


def _audit_organizations(registry, only: tuple[str, ...], problems: Problems) -> list:
    """The registry's organizations, or those of the municipalities named by `--only`."""
    if registry is None:
        return []
    municipalities, organizations = registry
    if not only:
        return organizations
    known = {name_key(m.name): m.name for m in municipalities}
    chosen = set()
    for name in only:
        municipality = known.get(name_key(name))
        if municipality is None:
            problems.error(f"--only «{name}»: такого муниципального образования нет в таблице municipalities")
            continue
        if not any(org.municipality == municipality for org in organizations):
            problems.warning(f"--only «{name}»: у этого муниципального образования нет учреждений в таблице organizations")
        chosen.add(municipality)
    return [org for org in organizations if org.municipality in chosen]


def _remove_old_screenshots(folder: Path, findings) -> None:
    """Screenshots of an earlier check that the new table does not name would only mislead."""
    if not folder.is_dir():
        return
    kept = {f.screenshot.resolve() for f in findings if f.screenshot}
    for path in folder.glob("*.png"):
        if path.resolve() not in kept:
            path.unlink(missing_ok=True)


def _show_audit(organizations, findings, failed, out_file: Path, shots: Path) -> None:
    sites = len(site_audit.group_by_site(organizations))
    rows = {(f.organization.site, f.code): f for f in findings}  # as the table has them
    with_findings = len({f.organization.site_key for f in findings})
    out.print(f"Проверено сайтов: {sites - len(failed)} из {sites}; с замечаниями: {with_findings}, "
              f"без замечаний: {sites - len(failed) - with_findings}.")
    if not rows:
        out.print(f"Замечаний нет: таблица {out_file} записана пустой, писем не будет.")
        return
    out.print(f"Замечаний: {len(rows)} — в таблице {out_file}:")
    for code in site_audit.CODES:
        count = sum(1 for _, c in rows if c == code)
        if count:
            out.print(f"  {code}: {count}")
    pictures = {f.screenshot for f in rows.values() if f.screenshot}
    missing = sum(1 for f in rows.values() if not f.screenshot)
    text = f"Снимки экрана: {len(pictures)} в папке {shots}"
    if missing:
        text += f" (без снимка замечаний: {missing} — браузер не смог его сделать)"
    out.print(text + ".")
    out.print(f"Письма: замените этой таблицей таблицу audit в папке данных (папку {shots.name} положите рядом) "
              "и запустите letters build.")


@app.command()
def version() -> None:
    """Показать версию программы."""
    out.print(f"letters {__version__}")


def _count(n: int, one: str, few: str, many: str) -> str:
    """«1 письмо», «22 письма», «25 писем»: babel knows the Russian plural rules."""
    form = _RUSSIAN.plural_form(n)
    return f"{n} {one if form == 'one' else few if form == 'few' else many}"


def _show(problems: Problems) -> None:
    """Errors first, then warnings, then notes; each group once, every problem on a line."""
    headings = {
        Level.ERROR: "Ошибки (сборка невозможна, пока они есть)",
        Level.WARNING: "Предупреждения (сборка идёт, но проверьте)",
        Level.NOTE: "Замечания",
    }
    for level, heading in headings.items():
        group = [p for p in problems if p.level is level]
        if group:
            err.print(f"{heading}: {len(group)}")
            for problem in group:
                err.print(f"  • {problem}", soft_wrap=True)


class _progress:
    """A Rich progress bar on a terminal; nothing when the output is a file or a pipe."""

    def __enter__(self):
        if not err.is_terminal:
            return None
        self._bar = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
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


# Typer's own messages are English; these are the ones a clerk can meet.
_USAGE_MESSAGES = (
    (re.compile(r"Missing option '([^']+)'.*", re.S), r"не указан обязательный параметр \1"),
    (re.compile(r"Missing (?:argument|parameter):? '?([^'.]+)'?.*", re.S), r"не указан обязательный параметр \1"),
    (re.compile(r"No such option: (\S+).*", re.S), r"нет такого параметра: \1"),
    (re.compile(r"No such command '([^']+)'.*", re.S), r"нет такой команды: \1"),
    (re.compile(r"Option '([^']+)' requires an argument.*", re.S), r"после \1 нужно значение"),
    (re.compile(r"Invalid value for '([^']+)': (.*)", re.S), r"неверное значение \1: \2"),
    (re.compile(r"Invalid value: (.*)", re.S), r"неверное значение: \1"),
    (re.compile(r"Got unexpected extra argument.*\((.*)\)", re.S), r"лишние слова в команде: \1"),
)


def main() -> None:
    """The entry point: Russian messages for usage errors, a log file instead of a traceback."""
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        err.print("Прервано.")
        code = ExitCode.INVALID_INPUT
    except KeyboardInterrupt:
        err.print("Прервано. Незаконченные пакеты не записаны.")
        code = ExitCode.INVALID_INPUT
    except typer.TyperException as exc:  # a usage error: a wrong option or value
        err.print(f"Ошибка в команде: {_usage_message(exc.format_message())}. Справка: letters --help")
        code = ExitCode.USAGE
    except Exception:
        log = _write_log()
        err.print(
            "Непредвиденная ошибка программы. Ничего не записано. Подробности для разработчиков — "
            f"в файле {log}; пришлите его вместе с описанием, что вы делали."
        )
        code = ExitCode.INVALID_INPUT
    sys.exit(code if isinstance(code, int) else 0)


def _usage_message(message: str) -> str:
    for pattern, russian in _USAGE_MESSAGES:
        if pattern.fullmatch(message.strip()):
            return pattern.sub(russian, message.strip())
    return message


def _write_log() -> Path:
    handle, name = tempfile.mkstemp(prefix="letters-error-", suffix=".log")
    with os.fdopen(handle, "w", encoding="utf-8") as log:
        log.write(f"letters {__version__}\n{' '.join(sys.argv)}\n\n")
        traceback.print_exc(file=log)
    return Path(name)


if __name__ == "__main__":
    main()
