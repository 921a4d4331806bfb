"""The build, step by step: read → validate → number → render → convert → write packs.

The pipeline never prints: it returns what it did and the problems it found, and the
CLI shows them. It writes nothing unless every check has passed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import dates
from .context import pack_context, sample_context
from .convert import ConversionError, Converter, find_soffice, page_count
from .journal import assign_numbers
from .model import Dataset, Municipality
from .packs import ManifestRow, PackFiles, Staging, pack_files, pack_paths, sha256, write_manifest
from .problems import Problems
from .render import RenderError, Template, check_templates, load_templates
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
    templates: Path = Path("templates")
    out: Path = Path("out")
    pdf: bool = True
    jobs: int = 2


@dataclass
class BuiltPack:
    number: str
    municipality: str
    folder: str
    findings: int
    letter_sheets: int
    appendix_sheets: tuple[int, int, int]


@dataclass
class BuildResult:
    problems: Problems
    packs: list[BuiltPack] = field(default_factory=list)
    folder: Path | None = None


def check(data: Path, templates: Path, date: dt.date | None = None) -> Checked:
    """Everything `letters validate` checks; `build` runs the same first."""
    problems = Problems()
    dataset = load_dataset(data, problems, on=date)
    loaded = load_templates(templates, problems)
    if loaded:
        check_templates(loaded, sample_context(), problems)
    return Checked(problems, dataset, loaded)


def build(request: BuildRequest, progress: Progress | None = None) -> BuildResult:
    """Build every pack for `request.date`; raises SofficeNotFound before writing anything."""
    checked = check(request.data, request.templates, request.date)
    if not checked.ok:
        return BuildResult(checked.problems)
    converter = Converter(find_soffice(), jobs=max(1, request.jobs))
    dataset = checked.dataset
    recipients = dataset.municipalities_with_findings
    numbers = assign_numbers(recipients, dataset.settings, request.date)
    packs = [
        _Pack(m, numbers[m.name], pack_files(numbers[m.name], m.name, dataset.settings.appendix_titles))
        for m in recipients
    ]
    job = _Build(request, dataset, checked.templates, converter, progress or (lambda *a: None))
    try:
        with Staging(request.out, request.date.isoformat()) as staging:
            built = job.run(packs, staging.path)
            staging.commit([p.files.folder for p in packs])
    except _Failed as failure:
        checked.problems.error(str(failure), file=failure.file)
        return BuildResult(checked.problems)
    except OSError as exc:
        checked.problems.error(f"не удалось записать файлы в {request.out}: {exc.strerror or exc}; ничего не записано")
        return BuildResult(checked.problems)
    return BuildResult(checked.problems, built, request.out / request.date.isoformat())


@dataclass
class _Pack:
    municipality: Municipality
    number: str
    files: PackFiles
    appendix_sheets: tuple[int, int, int] = (0, 0, 0)
    letter_sheets: int = 0


class _Failed(Exception):
    def __init__(self, message: str, file: str = ""):
        super().__init__(message)
        self.file = file


@dataclass
class _Build:
    request: BuildRequest
    dataset: Dataset
    templates: dict[str, Template]
    converter: Converter
    progress: Progress

    def run(self, packs: list[_Pack], folder: Path) -> list[BuiltPack]:
        # the appendices first: their page counts are printed in the letters
        self._render_and_convert(packs, folder, "appendices", self._appendices)
        for pack in packs:
            pack.appendix_sheets = tuple(page_count(folder / PackFiles.pdf(a)) for a in pack.files.appendices)
        self._render_and_convert(packs, folder, "letters", self._letter)
        for pack in packs:
            pack.letter_sheets = page_count(folder / PackFiles.pdf(pack.files.letter))
        if not self.request.pdf:
            for pack in packs:
                for docx in pack.files.documents:
                    (folder / PackFiles.pdf(docx)).unlink()
        write_manifest(folder, [self._manifest_row(p, folder) for p in packs])
        return [
            BuiltPack(p.number, p.municipality.name, p.files.folder, len(self.dataset.findings_of(p.municipality.name)),
                      p.letter_sheets, p.appendix_sheets)
            for p in packs
        ]

    def _appendices(self, pack: _Pack) -> list[tuple[str, dict, str]]:
        return [
            (f"appendix{i}", self._context(pack, appendix_number=i), pack.files.appendices[i - 1])
            for i in (1, 2, 3)
        ]

    def _letter(self, pack: _Pack) -> list[tuple[str, dict, str]]:
        return [("letter", self._context(pack, sheets=pack.appendix_sheets), pack.files.letter)]

    def _context(self, pack: _Pack, sheets=(0, 0, 0), appendix_number: int = 0) -> dict:
        return pack_context(self.dataset, pack.municipality, pack.number, self.request.date, sheets, appendix_number)

    def _render_and_convert(self, packs: list[_Pack], folder: Path, phase: str, documents) -> None:
        """Render each pack's documents, then convert them all in one batch.

        LibreOffice writes `<stem>.pdf` into one folder, and every pack has files of the
        same names, so each document is converted under a unique name and moved back."""
        work = folder / f".convert-{phase}"
        work.mkdir()
        queue: dict[Path, tuple[_Pack, str]] = {}
        total = sum(len(documents(p)) for p in packs)
        for pack in packs:
            (folder / pack.files.folder).mkdir(exist_ok=True)
            for template, context, target in documents(pack):
                data = self._render(template, context, pack)
                (folder / target).write_bytes(data)
                alias = work / f"{len(queue):05d}.docx"
                _link_or_copy(folder / target, alias)
                queue[alias] = (pack, target)
                self.progress(f"{phase}: docx", len(queue), total)
        done = 0

        def converted(count: int) -> None:
            nonlocal done
            done += count
            self.progress(f"{phase}: pdf", done, total)

        try:
            pdfs = self.converter.convert(list(queue), work / "pdf", on_done=converted)
        except ConversionError as exc:
            names = "; ".join(f"{queue[d][0].municipality.name}: {Path(queue[d][1]).name}" for d in exc.failed)
            raise _Failed(
                f"LibreOffice не смог сделать PDF ({names}); ничего не записано. Откройте этот документ "
                "в Word, проверьте шаблон и повторите сборку", file=queue[exc.failed[0]][1],
            ) from exc
        for alias, pdf in pdfs.items():
            os.replace(pdf, folder / PackFiles.pdf(queue[alias][1]))
        shutil.rmtree(work)

    def _render(self, template: str, context: dict, pack: _Pack) -> bytes:
        try:
            return self.templates[template].render(context)
        except RenderError as exc:
            raise _Failed(f"{pack.municipality.name}: {exc}", file=f"{template}.docx") from exc

    def _manifest_row(self, pack: _Pack, folder: Path) -> ManifestRow:
        return ManifestRow(
            number=pack.number,
            date=dates.numeric(self.request.date),
            municipality=pack.municipality.name,
            emails=pack.municipality.emails,
            files=pack.files,
            appendix_sheets=pack.appendix_sheets,
            findings=len(self.dataset.findings_of(pack.municipality.name)),
            sha256=[sha256(folder / p) for p in pack_paths(pack.files, self.request.pdf)],
        )


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
