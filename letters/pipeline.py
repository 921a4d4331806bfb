"""The build, step by step: read → validate → number → render → convert → write packs.

The pipeline never prints: it returns what it did and the problems it found, and the
CLI shows them. It writes nothing unless every check has passed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import queue
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import dates, hints, overview
from .context import for_document
from .convert import (
    ConversionError, Converter, PdfError, SofficeNotFound, find_soffice, is_pdfa, names_folder, page_count, stabilise,
    stop_soffice,
)
from .draft import WHOLE_BATCH, DraftJournal, mark_file
from .draft import folder_name as draft_folder
from .failpoints import checkpoint
from .followup import Standing, standing, told_of
from .journal import (
    CANCELLED, ISSUED, REPLACED, RESERVED, SENT, Addressee, IssuedPack, Journal, JournalError, Letter, NewLetter,
    journal_url, new_build_id, open_journal,
)
from .kinds import EACH, KINDS, PERSONAL, Audience, Kind, all_templates
from .model import Dataset, Municipality
from .packs import (
    MANIFEST, Hashes, Kept, ManifestRow, PackFiles, Staging, link_or_copy, pack_files, pack_paths, read_manifest,
    recover_alone, row_paths,
    sha256, write_manifest,
)
from .problems import Problems
from .render import RenderError, Template, check_templates, load_templates, templates_folder
from .names import choose
from .validate import load_dataset

Progress = Callable[[str, int, int], None]  # phase, done, total


@dataclass
class Checked:
    problems: Problems
    dataset: Dataset | None = None
    templates: dict[str, Template] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems.has_errors and self.dataset is not None and self.templates is not None


@dataclass
class BuildRequest:
    date: dt.date
    data: Path = Path("data")
    templates: Path | None = None  # the clerk's templates; default: `templates` next to the data folder
    out: Path = Path("out")
    pdf: bool = True
    jobs: int = 2
    journal: str | None = None  # path or SQLAlchemy URL; default <data>/journal.sqlite
    only: tuple[str, ...] = ()
    reissue: bool = False
    pdfa: bool = False  # PDF/A-2b, for archiving
    timeout: float = 60.0  # seconds LibreOffice may spend on one document before it is restarted
    kind: str = PERSONAL.name  # kinds.KINDS: a letter to each head, or one by list (--circular)
    move: bool = False  # the date's packs live in another --out folder: move them here
    draft: bool = False  # no numbers, no journal: OUT/<date> проект/ for the director to read
    deadline: dt.date | None = None  # overrides [letter] deadline of letters.toml
    follow_up: bool = True  # a letter to a municipality told before cites that letter (--no-follow-up: no)
    duplex: bool = False  # к печати.pdf: each document starts on a front side

    @property
    def folder_name(self) -> str:
        return draft_folder(self.date) if self.draft else self.date.isoformat()

    @property
    def journal_url(self) -> str:
        return journal_url(self.journal, self.data)


@dataclass
class BuiltPack:
    number: str
    municipality: str  # or «по списку»
    folder: str
    findings: int
    letter_sheets: int
    appendix_sheets: tuple[int, ...]
    changed: bool = True
    kind: str = PERSONAL.name
    follows: str | None = None  # a follow-up: the earlier letter it cites


@dataclass
class BuildResult:
    problems: Problems
    packs: list[BuiltPack] = field(default_factory=list)
    folder: Path | None = None
    cancelled: list[str] = field(default_factory=list)  # numbers given up: no findings any more
    all_fixed: dict[str, str] = field(default_factory=dict)  # municipality → its earlier letter, all fixed since
    journal_changed: bool = False  # a failed build that reserved or gave up numbers all the same


def check(data: Path, templates: Path | None, date: dt.date | None = None, kinds: tuple[Kind, ...] = (),
          deadline: dt.date | None = None) -> Checked:
    """Everything `letters validate` checks (for every kind of letter, or for `kinds`);
    `build` runs the same first."""
    problems = Problems()
    kinds = kinds or tuple(KINDS.values())
    kinds = tuple(dict.fromkeys(k for kind in kinds for k in (kind, KINDS.get(kind.follow_up or "")) if k))
    dataset = load_dataset(data, problems, on=date, deadline=deadline)
    names = all_templates() if len(kinds) == len(KINDS) else tuple(dict.fromkeys(t for k in kinds for t in k.templates))
    loaded = load_templates(templates_folder(templates, data), problems, names)
    if loaded:
        for kind in kinds:  # each kind's templates with what that kind gives them
            check_templates({n: loaded[n] for n in kind.templates}, kind.sample(), problems)
    if dataset is not None and date is not None:
        for kind in kinds:
            kind.check(dataset.settings, problems)
    return Checked(problems, dataset, loaded)


def build(request: BuildRequest, progress: Progress | None = None) -> BuildResult:
    """Build every pack for `request.date`; raises SofficeNotFound before writing anything."""
    converter = _converter(request, early=True)
    try:
        return _build(request, progress, converter)
    finally:
        if converter:
            converter.close()


def _converter(request: BuildRequest, early: bool = False) -> Converter | None:
    """The build's LibreOffice. A first build of its date will convert every document, so
    LibreOffice starts at once, while the tables are read (a second on a small build); a
    re-run may convert nothing, and starts it at the first document that needs it. Early,
    a missing LibreOffice is None here: it is reported after the tables are checked."""
    try:
        soffice = find_soffice()
    except SofficeNotFound:
        if early:
            return None
        raise
    converter = Converter(soffice, jobs=max(1, request.jobs), pdfa=request.pdfa,
                          timeout_per_document=request.timeout, startup_timeout=request.timeout)
    if early and not (request.out / request.folder_name / MANIFEST).exists():
        converter.start_early()
    return converter


def _build(request: BuildRequest, progress: Progress | None, converter: Converter | None) -> BuildResult:
    kind = KINDS[request.kind]
    checked = check(request.data, request.templates, request.date, (kind,), request.deadline)
    problems = checked.problems
    if not checked.ok:
        return BuildResult(problems)
    dataset = checked.dataset
    recipients = _recipients(dataset, request.only, problems)
    if problems.has_errors:
        return BuildResult(problems)
    converter = converter or _converter(request)
    job = None
    try:
        journal = DraftJournal() if request.draft else open_journal(request.journal, request.data, problems)
        told = (standing(journal, dataset, request.date, kind.recorded, problems)
                if kind.follow_up and request.follow_up and not request.draft else Standing())
        audiences = [replace(a, earlier=told.earlier.get(a.key)) for a in kind.audiences(recipients)]
        job = _Build(request, kind, dataset, checked.templates, converter, journal, progress or (lambda *a: None),
                     problems, {m: e.cited for m, e in told.all_fixed.items()})
        with journal.build_lock():
            if not request.draft:
                _settle_home(request, journal, problems)
            with Staging(request.out, request.folder_name, _stop_soffice_in) as staging:
                try:
                    built, cancelled = job.run(audiences, staging)
                except OSError:
                    job.give_up(staging.final)  # a full disk: settle the numbers now, under the lock
                    raise
        for failure in job.failures:
            problems.error(str(failure), file=failure.file)
        _report_kept(job.kept, request.date.isoformat(), problems)
    except _Failed as failure:
        problems.error(str(failure) + (job.aftermath() if job else ""), file=failure.file)
        return BuildResult(problems, journal_changed=bool(job and job.touched))
    except JournalError as exc:
        problems.error(str(exc) + (job.aftermath() if job else ""))
        return BuildResult(problems, journal_changed=bool(job and job.touched))
    except OSError as exc:
        problems.error(_not_written(request, exc) + (job.aftermath() if job else ""))
        return BuildResult(problems, journal_changed=bool(job and job.touched))
    all_fixed = {m: e.cited for m, e in told.all_fixed.items() if not request.only or m in set(request.only)}
    return BuildResult(problems, built, request.out / request.folder_name, cancelled, all_fixed)


def _settle_home(request: BuildRequest, journal: Journal, problems: Problems) -> None:
    """A numbered pack lives in one folder: a date built into another --out would give a
    second, equally valid copy of the same numbers. So the date is built where its packs
    are, or, with --move, its folder is moved here first."""
    here, name = request.out.resolve(), request.date.isoformat()
    letters = journal.list(date=request.date)
    homes = {Path(letter.out_dir) for letter in letters
             if letter.status != CANCELLED and letter.out_dir and Path(letter.out_dir).resolve() != here}
    numbers = {letter.number for letter in letters}
    for home in sorted(homes):
        recover_alone(home / name)  # no build may be staging there
        if not any(row["number"] in numbers for row in read_manifest(home / name)):
            continue  # the packs are not there any more: nothing lives in two places
        if not request.move:
            raise _Failed(f"письма за {dates.numeric(request.date)} уже собраны в папке {home / name}: у пакета с "
                          f"номером одна папка. Соберите их туда же (--out {home}) или перенесите сюда: "
                          + hints.command("build", "--date", dates.numeric(request.date), "--move", request=request))
        if _holds_anything(request.out / name):
            raise _Failed(f"письма за {dates.numeric(request.date)} есть и в {home / name}, и в {request.out / name}: "
                          "перенести одну папку в другую нельзя. Оставьте одну из них")
        _move_folder(home / name, request.out / name)
        journal.relocate(request.date, str(home), str(here))
        problems.note(f"пакеты за {dates.numeric(request.date)} перенесены из {home / name} в {request.out / name}")


def _holds_anything(folder: Path) -> bool:
    """Whether a date folder holds a pack or any file but an empty manifest."""
    return folder.exists() and (bool(read_manifest(folder)) or any(e.name != MANIFEST for e in folder.iterdir()))


def _move_folder(source: Path, target: Path) -> None:
    """Move a date folder, also to another disk: a copy beside the target first, renamed
    into place when whole, and only then is the source removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # nothing in it but an empty manifest (checked by the caller)
        (target / MANIFEST).unlink(missing_ok=True)
        target.rmdir()
    try:
        os.replace(source, target)
        return
    except OSError:
        pass
    partial = target.with_name(f".{target.name}.moving")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, copy_function=shutil.copy2)
    os.replace(partial, target)
    shutil.rmtree(source)


def _report_kept(kept: list[Kept], folder: str, problems: Problems) -> None:
    for file in kept:
        path = f"{folder}/{file.path}"
        if file.edited:
            problems.warning(f"{path}: файл пакета был изменён после сборки (не совпадает с manifest.csv); пакет собран "
                             "заново, а изменённый файл сохранён под этим именем — сравните их")
        elif file.moved:
            problems.warning(f"{path}: этот файл положили в пакет, которого больше нет; он сохранён здесь")
        else:
            problems.note(f"{path}: файл не из сборки оставлен в пакете")


def _stop_soffice_in(folder: Path) -> None:
    """Stop a LibreOffice that a build killed midway left writing into `folder`."""
    stop_soffice(names_folder(folder))


_NO_ROOM = "на диске нет места", "освободите место на диске"
_NO_RIGHTS = "нет прав на запись", "дайте себе права на запись в эту папку"
_WHY_NOT_WRITTEN = {  # what happened, what to do
    errno.ENOSPC: _NO_ROOM, errno.EDQUOT: ("на диске кончилась квота пользователя", "освободите место на диске"),
    errno.EACCES: _NO_RIGHTS, errno.EPERM: _NO_RIGHTS, errno.EROFS: ("диск только для чтения", "выберите другую папку --out"),
}


def _not_written(request: BuildRequest, exc: OSError) -> str:
    why, what_to_do = _WHY_NOT_WRITTEN.get(exc.errno) or (exc.strerror or str(exc), "устраните причину")
    final = (request.out / request.folder_name).resolve()
    return (f"не удалось записать файлы в папку {request.out.resolve()}: {why}"
            + (f" ({exc.filename})" if exc.filename else "")
            + f". Временная папка сборки удалена, пакеты в {final} остались как были: {what_to_do} "
            "и запустите сборку снова")


def _recipients(dataset: Dataset, only: tuple[str, ...], problems: Problems) -> list[Municipality]:
    """The municipalities with findings, or those of them named by `--only`."""
    with_findings = dataset.municipalities_with_findings
    if not only:
        return with_findings
    chosen = set(choose(only, [m.name for m in dataset.municipalities], problems,
                        "такого муниципального образования нет в таблице municipalities"))
    for municipality in dataset.municipalities:
        if municipality.name in chosen and municipality not in with_findings:
            problems.warning(f"--only «{municipality.name}»: у учреждений этого муниципального образования нет ошибок, "
                             "письма не будет")
    return [m for m in with_findings if m.name in chosen]


class _Failed(Exception):
    def __init__(self, message: str, file: str = "", key: str = ""):
        super().__init__(message)
        self.file = file
        self.key = key  # the pack's municipality, or «по списку»


@dataclass(eq=False)  # packs are told apart by identity: sets of failed packs
class _Pack:
    audience: Audience
    letter: Letter  # its journal record
    files: PackFiles
    appendix_sheets: tuple[int, ...] = ()
    letter_sheets: int = 0
    docx_sha: list[str] = field(default_factory=list)
    reused: int = 0  # documents taken as they are, with their PDFs, from the live pack
    context: dict | None = None  # what its documents share
    kind: Kind = PERSONAL  # the build's kind, or its follow-up variant for this audience

    def __post_init__(self):
        self.appendix_sheets = self.appendix_sheets or (0,) * len(self.files.appendices)

    @property
    def number(self) -> str:
        return self.letter.number

    @property
    def key(self) -> str:
        """The municipality, or «по списку»."""
        return self.audience.key

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256("".join(self.docx_sha).encode()).hexdigest()


@dataclass
class _Build:
    request: BuildRequest
    kind: Kind
    dataset: Dataset
    templates: dict[str, Template]
    converter: Converter
    journal: Journal
    progress: Progress
    problems: Problems = field(default_factory=Problems)  # what was found so far: the overview shows the warnings
    all_fixed: dict[str, str] = field(default_factory=dict)  # municipality → its earlier letter, all fixed since

    def __post_init__(self):
        self.build_id = new_build_id()
        memo = "render-memo-draft.json" if self.request.draft else "render-memo.json"  # each the size of its build
        self.memo = RenderMemo(self.request.out / ".cache" / memo)
        self.failures: list[_Failed] = []  # packs LibreOffice could not make: left out, the rest go on
        self.kept: list[Kept] = []  # the clerk's files found in the packs, kept
        self.touched: list[str] = []  # numbers this build reserved, or marked reserved while their packs change
        self.settled: dict[str, str] = {}  # by give_up(): the status each touched number was left with
        self.swapped = False  # the new packs are live in out/

    def run(self, audiences: list[Audience], staging: Staging) -> tuple[list[BuiltPack], list[str]]:
        date = self.request.date
        live_rows = read_manifest(staging.final)
        self.journal.recover(_LiveManifests(staging.final, live_rows),
                             adopt={(date, self.kind.name, a.key) for a in audiences})
        active = self.journal.active(date, self.kind.name)
        self._check_sent(audiences, active)
        packs = self._number(audiences, active)
        checkpoint("reserved")
        with overview.Ahead(staging.path, staging.final) as ahead:  # made while LibreOffice converts
            reuse = _Reuse(staging.final, live_rows, self.request.pdfa, staging.hashes)
            packs = self._make_documents(packs, staging.path, reuse, ahead if self.request.pdf else None)
            checkpoint("converted")
            rows, kept, cancelled = self._write_records(packs, live_rows, staging, ahead)
        self._overview(staging, list(zip(packs, rows)), kept)
        checkpoint("staged")
        changed = self._go_live(packs, rows, cancelled, staging)
        built = [
            BuiltPack(p.number, p.key, p.files.folder, self._size(p), p.letter_sheets, p.appendix_sheets, p in changed,
                      self.kind.name, p.audience.earlier.cited if p.audience.earlier else None)
            for p in packs
        ]
        return built, [letter.number for letter in cancelled]

    def _go_live(self, packs: list[_Pack], rows: list[ManifestRow], cancelled: list[Letter],
                 staging: Staging) -> list[_Pack]:
        """Swap the staged folder in, with the journal's two steps around it (see
        Journal.begin_change and finish); the packs whose content changed."""
        changed = [p for p in packs if p.content_sha256 != p.letter.content_sha256]
        self.journal.begin_change(
            {**{p.letter.id: ISSUED for p in changed if p.letter.status != RESERVED},
             **{letter.id: CANCELLED for letter in cancelled}},
            self.build_id,
        )
        self.touched += [p.number for p in changed if p.letter.status != RESERVED and p.number not in self.touched]
        self.touched += [letter.number for letter in cancelled]
        checkpoint("marked")
        self.kept = staging.commit([p.files.folder for p in packs], between=lambda: checkpoint("swap"))
        self.swapped = True
        checkpoint("swapped")
        self.journal.finish(
            [self._record(p, row) for p, row in zip(packs, rows)],
            {letter.id: "при пересборке за эту дату ошибок не осталось: письмо не нужно" for letter in cancelled},
            self.build_id,
        )
        checkpoint("finished")
        with contextlib.suppress(OSError):  # a cache only: a full disk costs the next build some rendering
            self.memo.save()
        return changed

    def _write_records(self, packs: list[_Pack], live_rows, staging: Staging,
                       ahead: overview.Ahead) -> tuple[list[ManifestRow], list[dict], list[Letter]]:
        """The staged folder's manifest and print file, once its packs are made: the rows of
        the built packs, the live rows kept, and the letters given up."""
        rows = [self._manifest_row(p, staging.path) for p in packs]
        for pack in packs:
            if not self._with_pdf(pack):
                for docx in pack.files.documents:
                    (staging.path / PackFiles.pdf(docx)).unlink()
        kept, cancelled = self._others(packs, live_rows, staging, keep={f.key for f in self.failures})
        built = [r.as_dict() for r in rows]
        write_manifest(staging.path, built + kept)
        if self.request.draft:  # the packs only: the director reads what this build made
            overview.print_file(staging.path, staging.final, built, False, WHOLE_BATCH, ahead.blocks)
        else:
            overview.print_file(staging.path, staging.final, built + kept, self.request.duplex, blocks=ahead.blocks)
        return rows, kept, cancelled

    # --- the overview page ---

    def _overview(self, staging: Staging, built: list[tuple[_Pack, ManifestRow]], kept: list[dict]) -> None:
        """обзор.html: a card per pack of the date folder, the built ones and those kept."""
        date = dates.numeric(self.request.date)
        letters = {letter.number: letter for letter in self.journal.list(date=self.request.date)}
        shown = []  # (manifest row, card)
        for pack, row in built:
            row = row.as_dict()
            sheets = "+".join(map(str, (pack.letter_sheets, *pack.appendix_sheets)))
            note = f"в дополнение к: {pack.audience.earlier.cited}" if pack.audience.earlier else ""
            shown.append((row, overview.card(row, self._addressee_text(pack), sheets, note)))
        for row in kept:
            letter = letters.get(row["number"])
            if letter is not None:
                shown.append((row, overview.card(row, letter.addressee, letter.sheets)))
        cards = [card for _, card in shown]
        by_name, rest = overview.concerning([str(p) for p in self.problems.warnings], [c.municipality for c in cards])
        for row, card in shown:
            card.warnings = by_name[card.municipality]
            card.thumbnail = overview.thumbnail(staging.path, staging.final, row)
        title = f"Проект писем от {date} (без номеров)" if self.request.draft else f"Письма от {date}"
        overview.write(staging.path, staging.final, overview.Overview(title, cards, self._without_letter(cards), rest))

    def _without_letter(self, cards: list[overview.Card]) -> list[tuple[str, str]]:
        """The municipalities of the table that got no letter in this folder, and why."""
        if self.kind.addressing != EACH:
            return []
        lettered = {card.municipality for card in cards}
        chosen = set(self.request.only)
        reasons = []
        for municipality in self.dataset.municipalities:
            name = municipality.name
            if name in lettered:
                continue
            if name in self.all_fixed:
                why = f"все ошибки из {self.all_fixed[name].replace('письмо', 'письма', 1)} устранены, новых нет"
            elif not self.dataset.findings_of(name):
                why = "ошибок на сайтах его учреждений не найдено"
            elif chosen and name not in chosen:
                why = "не выбрано в --only"
            else:
                why = "письмо не собрано: см. ошибки сборки"
            reasons.append((name, why))
        return reasons

    # --- numbers ---

    def _check_sent(self, audiences: list[Audience], active: dict[str, Letter]) -> None:
        """A sent letter is never overwritten: its content must come out the same, or the
        clerk asks for a new letter with --reissue."""
        if self.request.reissue:
            return
        for audience in audiences:
            letter = active.get(audience.key)
            if letter is not None and letter.went_out and not self._unchanged_sent(audience, letter):
                raise _Failed(
                    f"письмо № {letter.number} для «{audience.key}» уже "
                    f"{'подписано' if letter.status != SENT and letter.signed_file else 'отправлено'}, а его содержание "
                    "теперь другое (изменились данные или шаблоны). Отправленное письмо не перезаписывается: "
                    "верните прежние данные, или соберите новое письмо с новым номером: "
                    + hints.command("build", "--date", dates.numeric(self.request.date), "--reissue", request=self.request)
                    + " (старое будет отмечено как заменённое)"
                )

    def _number(self, audiences: list[Audience], active: dict[str, Letter]) -> list[_Pack]:
        """Each audience's letter: the one it has, or a new number (all taken at once)."""
        settings = self.dataset.settings
        new: list[NewLetter] = []
        for audience in audiences:
            letter = active.get(audience.key)
            if letter is None or (letter.went_out and self.request.reissue and not self._unchanged_sent(audience, letter)):
                new.append(NewLetter(audience.key, letter.number if letter else None, _addressees(audience)))
        reserved = self.journal.reserve_all(self.request.date, new, settings.number_pattern,
                                            settings.first_number, self.build_id, out_dir=str(self.request.out.resolve()),
                                            kind=self.kind.name)
        if not self.request.draft:  # a draft's letters have no number
            self.touched += [letter.number for letter in reserved]
        letters = {**active, **{letter.municipality: letter for letter in reserved}}
        return [_Pack(a, letters[a.key], self._files(letters[a.key].number, a), kind=self._kind_for(a)) for a in audiences]

    def _kind_for(self, audience: Audience) -> Kind:
        """A follow-up when the audience had an earlier letter whose findings are still there."""
        return KINDS[self.kind.follow_up] if audience.earlier is not None and self.kind.follow_up else self.kind

    # --- when the build fails midway ---

    def give_up(self, final: Path) -> None:
        """Settle now what this build left reserved, by what is live in `final` (what the
        next build would do): a number without its pack is cancelled with the reason, a
        letter whose old pack is still live stays issued. If the journal cannot be reached
        either, the next build does it."""
        if not self.touched:
            return
        try:
            self.journal.recover(_LiveManifests(final, read_manifest(final)), adopt=set())
            self.settled = {n: letter.status for n in self.touched if (letter := self.journal.find(n))}
        except (JournalError, OSError):
            self.settled = {}

    def aftermath(self) -> str:
        """What a failed build leaves in the journal and in out/, for the clerk."""
        if not self.touched:
            return ""
        numbers = ", ".join(self.touched)
        date = dates.numeric(self.request.date)
        if self.settled:
            given_up = ", ".join(n for n, status in self.settled.items() if status == CANCELLED)
            kept = ", ".join(n for n, status in self.settled.items() if status != CANCELLED)
            return ((f". Номера {given_up}, взятые этой сборкой, аннулированы в журнале (их пакеты не записаны)"
                     if given_up else "")
                    + (f". Письма № {kept} остались в журнале с прежними пакетами" if kept else ""))
        if self.swapped:
            return (f". Новые пакеты уже в папке {(self.request.out / self.request.folder_name).resolve()}, "
                    f"но журнал не успел отметить их выданными ({numbers}): это сделает следующая сборка за {date}")
        return (f". В журнале остались зарезервированы номера {numbers} (их пакеты не записаны): следующая сборка "
                f"за {date} доведёт их до конца или аннулирует с причиной")

    def _files(self, number: str, audience: Audience) -> PackFiles:
        return pack_files(number, audience.key, self.dataset.settings.appendix_file_titles[:len(self.kind.appendices)],
                          tuple(e.title for e in self.kind.enclosures))

    def _unchanged_sent(self, audience: Audience, letter: Letter) -> bool:
        """Whether the letter that went out would come out the same now (rendered with the
        sheet counts it was sent with)."""
        sheets = [int(s) for s in letter.sheets.split("+")] if letter.sheets else []
        if len(sheets) != 1 + len(self.kind.appendices):
            return False
        pack = _Pack(audience, letter, self._files(letter.number, audience), tuple(sheets[1:]),
                     kind=self._kind_for(audience))
        documents = self._attachments(pack) + self._letter(pack)
        pack.docx_sha = [hashlib.sha256(self._render(t, c, pack)).hexdigest() for t, c, _ in documents]
        return pack.content_sha256 == letter.content_sha256

    def _others(self, packs: list[_Pack], live_rows, staging, keep: set[str]) -> tuple[list[dict], list[Letter]]:
        """The live packs this build does not write: kept as they are (other municipalities
        under --only, those whose new pack failed to convert; sent letters, also those
        replaced, for the archive) or given up (municipalities without findings any more)."""
        numbers = {p.number for p in packs}
        building = {p.key for p in packs}
        live = {row["number"]: row for row in live_rows}
        kept, cancelled = [], []
        for letter in self.journal.list(date=self.request.date):
            if letter.number in numbers or letter.status == CANCELLED:
                continue
            held = (letter.kind != self.kind.name  # a build makes one kind: the others' packs stay as they are
                    or letter.municipality in keep or (self.request.only and letter.municipality not in building))
            if letter.went_out or letter.status == REPLACED or held:
                row = live.get(letter.number)
                if row is not None:
                    for path in row_paths(row):
                        link_or_copy(staging.final / path, staging.path / path)
                    kept.append(row)
            elif letter.municipality not in building and letter.status != RESERVED:
                cancelled.append(letter)
        return kept, cancelled

    # --- documents ---

    def _attachments(self, pack: _Pack) -> list[tuple[str, dict, str]]:
        """The documents of the pack made before its letter: the appendices, whose sheet
        counts the letter cites, and the other documents (a distribution list)."""
        appendices = [
            (template, self._context(pack, appendix_number=i), target)
            for i, (template, target) in enumerate(zip(pack.kind.appendices, pack.files.appendices), 1)
        ]
        others = [(e.template, self._context(pack), target)
                  for e, target in zip(pack.kind.enclosures, pack.files.enclosures)]
        return appendices + others

    def _letter(self, pack: _Pack) -> list[tuple[str, dict, str]]:
        return [(pack.kind.letter, self._context(pack, sheets=pack.appendix_sheets), pack.files.letter)]

    def _context(self, pack: _Pack, sheets: tuple[int, ...] = (), appendix_number: int = 0) -> dict:
        if pack.context is None:  # sorting the findings and the rest, once for the pack's documents
            pack.context = pack.kind.context(self.dataset, pack.audience, pack.number, self.request.date)
        return for_document(pack.context, sheets or (0,) * len(pack.files.appendices), appendix_number)

    def _make_documents(self, packs: list[_Pack], folder: Path, reuse: _Reuse,
                        ahead: overview.Ahead | None) -> list[_Pack]:
        """Render and convert every pack's documents into `folder`, each pack's PDFs handed
        to `ahead` once made; the packs that came out whole (the others are left out and reported
        in `failures`)."""
        stream = _Stream(self, sorted(packs, key=self._size, reverse=True), folder, reuse, ahead)
        try:
            self.converter.convert(stream.documents(), stream.work / "pdf", on_result=stream.finished)
        except ConversionError:
            pass  # each document that failed has been reported to stream.finished
        shutil.rmtree(stream.work)
        for pack in stream.failed:
            shutil.rmtree(folder / pack.files.folder, ignore_errors=True)
        return [p for p in packs if p not in stream.failed]

    def _with_pdf(self, pack: _Pack) -> bool:
        """--no-pdf drops the PDFs it made itself, never those of an unchanged pack that a
        build with PDFs left: they are still right, and the clerk may have sent them."""
        return self.request.pdf or pack.reused == len(pack.files.documents)

    def _size(self, pack: _Pack) -> int:
        return sum(len(self.dataset.findings_of(m.name)) for m in pack.audience.municipalities)

    def _title(self, pack: _Pack, target: str) -> str:
        """What a PDF viewer shows as the document's title."""
        date = dates.numeric(self.request.date)
        if target == pack.files.letter:
            return f"Письмо № {pack.number} от {date} — {pack.key}" if pack.number else f"Проект письма — {pack.key}"
        if target in pack.files.enclosures:
            title = pack.kind.enclosures[pack.files.enclosures.index(target)].title
            return f"{title} к письму № {pack.number} от {date}"
        number = pack.files.appendices.index(target) + 1
        title = self.dataset.settings.appendix_titles[number - 1]
        return f"Приложение {number} к письму № {pack.number} от {date}: {title}"

    def _render(self, template: str, context: dict, pack: _Pack) -> bytes:
        try:
            return self.templates[template].render(context)
        except RenderError as exc:
            raise _Failed(f"{pack.key}: {exc}", file=f"{template}.docx") from exc

    # --- records ---

    def _manifest_row(self, pack: _Pack, folder: Path) -> ManifestRow:
        return ManifestRow(
            number=pack.number,
            date=dates.numeric(self.request.date),
            municipality=pack.key,
            emails=pack.audience.emails,
            files=pack.files,
            appendix_sheets=pack.appendix_sheets,
            findings=self._size(pack),
            sha256=[sha256(folder / p) for p in pack_paths(pack.files, self._with_pdf(pack))],
            kind=self.kind.name,
        )

    def _addressee_text(self, pack: _Pack) -> str:
        circular = self.dataset.settings.circular
        return (_addressee(pack.audience.municipalities[0]) if self.kind.addressing == EACH
                else f"{circular.addressee} {circular.by_list}")

    def _record(self, pack: _Pack, row: ManifestRow) -> IssuedPack:
        settings = self.dataset.settings
        addressee = self._addressee_text(pack)
        return IssuedPack(
            letter_id=pack.letter.id,
            out_dir=str(self.request.out.resolve()),
            pack=pack.files.folder,
            addressee=addressee,
            subject=settings.subject,
            signer=f"{settings.signer.position} {settings.signer.name}",
            executor=f"{settings.executor.name}, {settings.executor.phone}",
            sheets="+".join(map(str, (pack.letter_sheets, *pack.appendix_sheets))),
            findings=row.findings,
            content_sha256=pack.content_sha256,
            deadline=settings.deadline, case_file=settings.case_file,
            files=dict(zip(pack_paths(pack.files, self._with_pdf(pack)), row.sha256)),
            addressees=_addressees(pack.audience),
            told=tuple(t for m in pack.audience.municipalities for t in told_of(self.dataset.findings_of(m.name), m.name)),
            follows=pack.audience.earlier.number if pack.audience.earlier else None,
        )


def _addressee(municipality: Municipality) -> str:
    return f"{municipality.head_position_dative} {municipality.head_name_dative}".replace("\u00a0", " ")


def _addressees(audience: Audience) -> tuple[Addressee, ...]:
    """The journal's deliveries of a pack: each head it is addressed to, with the addresses."""
    return tuple(Addressee(m.name, _addressee(m), "; ".join(m.emails)) for m in audience.municipalities)


class _Stream:
    """A build's documents on their way through Word and LibreOffice, in one stream that
    keeps LibreOffice busy: every appendix first, the biggest packs first (a long appendix 1
    left to the end would keep one worker busy while the other waits), then each pack's
    letter as soon as the PDFs of its appendices give the sheet counts the letter cites.

    A document whose .docx is byte for byte one that is live in `out/` takes the live
    files instead of being converted. LibreOffice writes `<stem>.pdf` into one folder and
    every pack has files of the same names, so each document is converted under a unique
    name and its PDF moved back beside its .docx."""

    def __init__(self, build: _Build, packs: list[_Pack], folder: Path, reuse: _Reuse,
                 ahead: overview.Ahead | None):
        self.build, self.packs, self.folder, self.reuse, self.ahead = build, packs, folder, reuse, ahead
        self.work = folder / ".convert"
        self.work.mkdir()
        self.queue: dict[Path, tuple[_Pack, str]] = {}  # unique name → its pack and file
        self.appendices_left = {pack: len(pack.files.documents) - 1 for pack in packs}  # all but the letter
        self.ready: queue.Queue[_Pack] = queue.Queue()  # packs whose letter can be made (or that failed)
        self.released: set[_Pack] = set()
        self.failed: set[_Pack] = set()
        self.done = 0
        self.lock = threading.Lock()  # the workers report while the main thread renders

    def documents(self) -> Iterator[Path]:
        """The documents LibreOffice is to convert, rendered as they are asked for."""
        for pack in self.packs:
            for document in self.build._attachments(pack):
                yield from self._prepare(pack, *document)
        for _ in self.packs:
            pack = self._next_ready()
            if pack is None:  # a worker broke down: the converter reports why
                return
            if pack not in self.failed:
                for document in self.build._letter(pack):
                    yield from self._prepare(pack, *document)

    def finished(self, alias: Path, pdf: Path | None) -> None:
        """What a LibreOffice worker made of a document (None: no PDF even alone)."""
        pack, target = self.queue[alias]
        if pdf is None:
            self._fail(pack, f"{pack.key}: LibreOffice не смог сделать PDF из «{Path(target).name}» "
                             "(пробовал дважды); письмо этому МО не собрано, остальные собраны. Откройте документ "
                             "в Word, проверьте его и повторите сборку", target)
            return
        final = self.folder / PackFiles.pdf(target)
        os.replace(pdf, final)  # an OSError (a full disk) stops the build: it is the folder's, not this letter's
        try:
            pages = stabilise(final, self.build.request.date, self.build._title(pack, target))
            if self.build.request.draft:
                mark_file(final)
        except PdfError as exc:
            self._fail(pack, f"{pack.key}: не удалось записать PDF «{final.name}»: {exc}", target)
            return
        self._counted(pack, target, pages)
        if target == pack.files.letter and self.ahead:  # the pack's last PDF: all of them are made
            self.ahead.pack_made(final, [self.folder / PackFiles.pdf(d) for d in pack.files.documents])

    def _prepare(self, pack: _Pack, template: str, context: dict, target: str) -> Iterator[Path]:
        """Render a document, or take it from `out/`; yields it if LibreOffice is to convert it."""
        build, path = self.build, self.folder / target
        key = build.memo.key(build.templates[template], context)
        digest = build.memo.get(key)
        alias = None
        if digest is None or not self.reuse.take(digest, path):
            data = build._render(template, context, pack)
            digest = hashlib.sha256(data).hexdigest()
            if not self.reuse.take(digest, path):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                alias = self.work / f"{len(self.queue):05d}.docx"
                link_or_copy(path, alias)
                self.queue[alias] = (pack, target)
        build.memo.put(key, digest)  # the same inputs as a live document are not rendered again
        pack.docx_sha.append(digest)
        if alias is None:
            pack.reused += 1
            self._counted(pack, target, page_count(self.folder / PackFiles.pdf(target)))
        else:
            yield alias

    def _counted(self, pack: _Pack, target: str, pages: int) -> None:
        with self.lock:
            if pack in self.failed:
                return
            if target == pack.files.letter:
                pack.letter_sheets = pages
                self.done += 1
                self.build.progress("письма и приложения: Word → PDF", self.done, len(self.packs))
                return
            if target in pack.files.appendices:
                sheets = list(pack.appendix_sheets)
                sheets[pack.files.appendices.index(target)] = pages
                pack.appendix_sheets = tuple(sheets)
            self.appendices_left[pack] -= 1
            if not self.appendices_left[pack]:
                self._release(pack)

    def _fail(self, pack: _Pack, message: str, target: str) -> None:
        with self.lock:
            self.build.failures.append(_Failed(message, file=target, key=pack.key))
            self.failed.add(pack)
            self._release(pack)  # its letter is not made: nothing to wait for

    def _release(self, pack: _Pack) -> None:
        if pack not in self.released:
            self.released.add(pack)
            self.ready.put(pack)

    def _next_ready(self) -> _Pack | None:
        while True:
            try:
                return self.ready.get(timeout=1.0)
            except queue.Empty:
                if self.build.converter.broken:
                    return None


class _Reuse:
    """Files live in `out/<date>` that a new pack may take as they are.

    Rendering is deterministic, so a .docx with the same bytes as a live one is the same
    document: it takes the live .docx and its PDF instead of converting again. This is what
    makes an unchanged re-run convert nothing and keeps a sent pack byte for byte."""

    def __init__(self, live: Path, rows: list[dict[str, str]], pdfa: bool, hashes: Hashes):
        self.live = live
        self.by_docx: dict[str, str] = {}  # docx sha256 → its path in the live folder
        for row in rows:
            digests = dict(zip(row_paths(row), row["sha256"].split(";")))
            for path, digest in digests.items():
                pdf = PackFiles.pdf(path) if path.endswith(".docx") else None
                if pdf in digests and _intact(live / path, digest, hashes) and _intact(live / pdf, digests[pdf], hashes) \
                        and is_pdfa(live / pdf) == pdfa:  # a plain PDF does not serve a --pdfa build
                    self.by_docx[digest] = path

    def take(self, docx_sha: str, target: Path) -> bool:
        """Link the live .docx and its PDF to `target`, if the .docx is the same."""
        path = self.by_docx.get(docx_sha)
        if path is None:
            return False
        link_or_copy(self.live / path, target)
        link_or_copy(self.live / PackFiles.pdf(path), target.with_suffix(".pdf"))
        return True


def _intact(path: Path, digest: str, hashes: Hashes) -> bool:
    """A live file is reused only if it is still what the manifest says it is."""
    return path.is_file() and hashes.of(path) == digest


class RenderMemo:
    """Which .docx the same template and the same variables gave last time.

    Rendering is deterministic, so when a document's inputs are those of a live document,
    its bytes are known without rendering: an unchanged re-run renders nothing. A cache
    only: deleting `OUT/.cache` costs one slower build."""

    def __init__(self, path: Path):
        self.path = path
        self.used: dict[str, str] = {}
        try:
            self.known: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}

    @staticmethod
    def key(template: Template, context: dict) -> str:
        text = json.dumps(context, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(template.digest.encode() + text.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        return self.known.get(key)

    def put(self, key: str, digest: str) -> None:
        self.used[key] = digest

    def save(self) -> None:
        """Keep what this build used, so that the file stays the size of one build."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.used), encoding="utf-8")
        os.replace(temporary, self.path)


class _LiveManifests(dict):
    """Manifest rows by number for any `OUT/<date>` folder, read when first asked for
    (after settling what a killed build left beside it); the folder being built now is
    already settled and read."""

    def __init__(self, current: Path, rows: list[dict[str, str]]):
        super().__init__({str(current.resolve()): {row["number"]: row for row in rows}})

    def get(self, folder: str, default=None):
        if folder not in self:
            path = Path(folder)
            recover_alone(path)
            self[folder] = {row["number"]: row for row in read_manifest(path)}
        return super().get(folder, default)
