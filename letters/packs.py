"""Step 6: write the packs and the manifest, all or nothing.

A build writes `OUT/.<date>.building/` and only when every pack in it is complete
swaps it in place of `OUT/<date>/`. A crash, Ctrl-C or a full disk midway leaves the
previous `OUT/<date>/` as it was, and the next build clears the leftovers; so a pack
is there complete or not at all, and `manifest.csv` describes exactly the packs present.
"""

from __future__ import annotations

import csv
import ctypes
import errno
import hashlib
import io
import os
import re
import shutil
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = (
    "number", "date", "municipality", "email", "letter", "appendices", "appendix_sheets", "findings", "sha256",
    "kind", "other_documents",  # since 0.7.0: the kind of letter, the pack's documents that are not appendices
)
# Windows forbids <>:"/\|?* and control characters; «;» separates the paths in manifest.csv.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*;\x00-\x1f\x7f]+')
_RESERVED = {
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
    *(f"{port}{n}" for port in ("COM", "LPT") for n in (*"0123456789", "¹", "²", "³")),
}
_MAX_BYTES = 240  # Linux allows 255 bytes in a name, and «.docx» is added to it
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_name(text: str, limit: int = 80) -> str:
    """A readable file or folder name that Windows, Linux and zip archives all accept.

    Path separators and the characters Windows forbids become spaces, so a name can never
    leave its folder; invisible characters (zero-width, right-to-left marks) go, and so do
    leading dots, the «= + - @» a spreadsheet would take for a formula, and trailing dots
    and spaces; reserved device names (CON, NUL, …) get a «_»; long names are cut at a
    word boundary, and to 240 bytes for Linux.
    """
    visible = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    name = " ".join(_FORBIDDEN.sub(" ", visible).split())
    name = name.lstrip(".=+-@ ").rstrip(". ")
    if len(name) > limit:
        cut = name[:limit]
        name = (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2 :] else cut).rstrip(". ")
    while len(name.encode("utf-8")) > _MAX_BYTES:
        name = name[:-1].rstrip(". ")
    stem, dot, rest = name.partition(".")
    if stem.rstrip(" ").upper() in _RESERVED:  # Windows: «CON.txt» and «CON .txt» are the device too
        name = f"{stem}_{dot}{rest}"
    return name or "_"


def spreadsheet_safe(text: str) -> str:
    """A CSV cell that Excel and LibreOffice show as text and never run as a formula.

    A cell starting with = + - @ (or a tab or a line break, which they skip before looking)
    gets a leading apostrophe, as OWASP advises for CSV files. A cell that already starts
    with an apostrophe gets one more, so a program reading the file always drops exactly
    one leading apostrophe: see `from_spreadsheet`. Paths, numbers, dates and hashes never
    start with these characters, so they are written unchanged.
    """
    return "'" + text if text.startswith((*_FORMULA_START, "'")) else text


def from_spreadsheet(text: str) -> str:
    """The value `spreadsheet_safe` was given."""
    return text[1:] if text.startswith("'") else text


@dataclass
class PackFiles:
    """The files of one pack, by role, relative to the date folder."""

    folder: str
    letter: str
    appendices: tuple[str, ...]
    enclosures: tuple[str, ...] = ()  # documents outside the appendix mark: a distribution list

    @property
    def documents(self) -> list[str]:
        return [self.letter, *self.appendices, *self.enclosures]

    @staticmethod
    def pdf(docx: str) -> str:
        return docx[: -len(".docx")] + ".pdf"


# A whole appendix title fits («Приложение 3. План мероприятий по повышению значений показателей
# оперативного рейтинга» is 86 characters); a longer one is cut at a word.
TITLE_LIMIT = 120


def pack_files(number: str, municipality: str, appendix_titles: tuple[str, ...],
               enclosures: tuple[str, ...] = ()) -> PackFiles:
    """The pack of letter `number` to `municipality` (or «по списку»): its folder, the letter,
    «Приложение N. <title>» for each appendix, and each other document by its title."""
    folder = safe_name(f"{number} {municipality}".replace("/", "-"))
    letter = f"{folder}/{safe_name('Письмо ' + number.replace('/', '-'))}.docx"
    appendices = tuple(
        f"{folder}/{safe_name(f'Приложение {i}. {title}', limit=TITLE_LIMIT)}.docx"
        for i, title in enumerate(appendix_titles, 1)
    )
    others = tuple(f"{folder}/{safe_name(title, limit=TITLE_LIMIT)}.docx" for title in enclosures)
    return PackFiles(folder, letter, appendices, others)


@dataclass
class ManifestRow:
    number: str
    date: str
    municipality: str
    emails: tuple[str, ...]
    files: PackFiles
    appendix_sheets: tuple[int, ...]
    findings: int
    sha256: list[str] = field(default_factory=list)
    kind: str = "personal"

    def as_dict(self) -> dict[str, str]:
        values = [
            self.number, self.date, self.municipality, ";".join(self.emails), self.files.letter,
            ";".join(self.files.appendices), ";".join(map(str, self.appendix_sheets)),
            str(self.findings), ";".join(self.sha256), self.kind, ";".join(self.files.enclosures),
        ]
        return dict(zip(MANIFEST_COLUMNS, values))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Hashes:
    """The sha256 of live files, each read once in a build: what may be reused and what the
    clerk changed ask about the same files. A file is read again when it is no longer the
    one read (another inode, size or modification time): a clerk may save it meanwhile."""

    def __init__(self):
        self._known: dict[Path, tuple[tuple[int, int, int], str]] = {}

    def of(self, path: Path) -> str:
        stat = path.stat()
        mark = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        known = self._known.get(path)
        if known is None or known[0] != mark:
            known = self._known[path] = (mark, sha256(path))
        return known[1]


def pack_paths(files: PackFiles, with_pdf: bool) -> list[str]:
    """Every file of a pack, in the order of the manifest's sha256 column: the .docx files
    (letter, appendices 1–3, other documents), then their PDFs in the same order."""
    docs = files.documents
    return docs + [PackFiles.pdf(d) for d in docs] if with_pdf else docs


def write_manifest(folder: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows([spreadsheet_safe(row.get(c, "")) for c in MANIFEST_COLUMNS] for row in rows)
    (folder / MANIFEST).write_text(buffer.getvalue(), encoding="utf-8")


def read_manifest(folder: Path) -> list[dict[str, str]]:
    """The rows of `folder/manifest.csv`; none when there is no manifest."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return []
    older = {"kind": "personal", "other_documents": ""}  # a manifest written before 0.7.0 has neither
    with manifest.open(encoding="utf-8", newline="") as handle:
        return [{**older, **{k: from_spreadsheet(v or "") for k, v in row.items() if k}} for row in csv.DictReader(handle)]


def row_paths(row: dict[str, str]) -> list[str]:
    """Every file of a manifest row, in the order of its sha256 column."""
    others = row.get("other_documents") or ""
    docs = [row["letter"], *row["appendices"].split(";"), *(others.split(";") if others else ())]
    pdfs = [PackFiles.pdf(d) for d in docs]
    digests = row["sha256"].split(";")
    return docs + pdfs if len(digests) == 2 * len(docs) else docs


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows it: no second copy, and the source stays."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


class Staging:
    """`OUT/.<date>.building`, swapped in place of `OUT/<date>` when complete.

    One build at a time writes into `OUT`: it holds a lock on the folder while staging is
    open (a lost journal lock must not let a second build clear a staging folder the first
    is still writing), and `stop_writers(folder)` first stops what a killed build left
    writing into it."""

    def __init__(self, out: Path, date_folder: str, stop_writers: Callable[[Path], None] = lambda folder: None):
        self.final = out / date_folder
        self.path = out / f".{date_folder}.building"
        self._old = out / f".{date_folder}.old"
        self._stop_writers = stop_writers
        self._lock: int | None = None
        self.hashes = Hashes()  # of the files in `final`, for the build and for carrying them over

    def __enter__(self) -> Staging:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_folder(self.final.parent)
        try:
            self._stop_writers(self.path)
            recover(self.final)
            self.path.mkdir()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            remove(self.path)  # nothing if committed
        finally:
            self._unlock()

    def _unlock(self) -> None:
        _unlock_folder(self.final.parent, self._lock)
        self._lock = None

    def commit(self, packs: list[str], between=lambda: None) -> list[Kept]:
        """Replace `OUT/<date>` with the staged one. What the old folder holds that the
        build did not write (an outbox, a clerk's scan in a pack, a generated file edited
        by hand) is carried over as hard links, so that the old folder stays whole until
        the last moment; the files so kept are returned, to be reported."""
        if not self.final.exists():
            os.replace(self.path, self.final)
            return []
        kept = self._carry_over(packs)
        if exchange(self.path, self.final):
            between()  # killed here: the new folder is in place, the old one is cleared next time
            remove(self.path)
            return kept
        os.replace(self.final, self._old)
        between()
        os.replace(self.path, self.final)
        remove(self._old)
        return kept

    def _carry_over(self, packs: list[str]) -> list[Kept]:
        rows = read_manifest(self.final)
        ours = set(packs) | {MANIFEST} | {row["letter"].split("/")[0] for row in rows}
        for entry in self.final.iterdir():
            if entry.name in ours or (self.path / entry.name).exists():
                continue
            if entry.is_dir():
                shutil.copytree(entry, self.path / entry.name, copy_function=_link)
            else:
                link_or_copy(entry, self.path / entry.name)
        return keep_clerks_files(self.final, rows, self.path, self.hashes)


@dataclass(frozen=True)
class Kept:
    """A file of a pack folder that the build did not write, kept: where it is now, and why."""

    path: str  # relative to OUT/<date>
    edited: bool = False  # a generated file changed after the build, kept beside the new one
    moved: bool = False  # its pack is gone: it waits in DISPLACED


# Where the clerk's files of a pack that is gone (cancelled, given up) wait.
DISPLACED = "Файлы не из сборки"


def clerks_files(folder: Path, rows: list[dict[str, str]], hashes: Hashes | None = None) -> list[tuple[str, bool]]:
    """The files inside the pack folders of `rows` that the build did not write as they
    are now: (path relative to `folder`, whether it is a generated file edited since)."""
    hashes = hashes or Hashes()
    found = []
    for row in rows:
        digests = dict(zip(row_paths(row), row["sha256"].split(";")))
        pack = folder / row["letter"].split("/")[0]
        for file in sorted(p for p in pack.rglob("*") if p.is_file()) if pack.is_dir() else ():
            relative = file.relative_to(folder).as_posix()
            if relative not in digests:
                found.append((relative, False))
            elif hashes.of(file) != digests[relative]:
                found.append((relative, True))
    return found


def keep_clerks_files(final: Path, rows: list[dict[str, str]], target: Path,
                      hashes: Hashes | None = None) -> list[Kept]:
    """Carry the clerk's files of `final`'s packs into `target` (a staged date folder, or
    `final` itself when its packs are removed): into the same pack if it is still there,
    else into DISPLACED; a generated file edited by hand gets «(изменён после сборки)»
    in its name, beside the new one."""
    kept = []
    for relative, edited in clerks_files(final, rows, hashes):
        path = Path(relative)
        if edited:
            path = path.with_name(f"{path.stem} (изменён после сборки){path.suffix}")
        moved = not (target / path.parts[0]).is_dir() or target == final
        if moved:
            path = Path(DISPLACED) / path
        destination = _free(target / path)
        if destination != final / relative:
            link_or_copy(final / relative, destination)
        kept.append(Kept(destination.relative_to(target).as_posix(), edited, moved))
    return kept


def remove_packs(final: Path, numbers: set[str]) -> list[Kept]:
    """Take the packs of `numbers` out of the date folder `final` (their letters were
    cancelled): the clerk's files in them are kept in DISPLACED first, the manifest then
    stops listing them, and only then do their folders go."""
    rows = read_manifest(final)
    gone = [row for row in rows if row["number"] in numbers]
    kept = keep_clerks_files(final, gone, final)
    write_manifest(final, [row for row in rows if row["number"] not in numbers])
    for row in gone:
        shutil.rmtree(final / row["letter"].split("/")[0], ignore_errors=True)
    return kept


def _free(path: Path) -> Path:
    """`path`, or `path` with « (2)», « (3)»… when a file of that name is there already."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
    return candidate


def exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux renameat2 with RENAME_EXCHANGE), so that
    `OUT/<date>` is never missing, not even for an instant. False where the system cannot."""
    if sys.platform != "linux":
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EPERM):  # an old kernel or a file system without it
        return False
    raise OSError(code, os.strerror(code), str(b))


def recover(final: Path) -> None:
    """Finish or undo what a build killed midway left beside `final` (OUT/<date>)."""
    staged = final.parent / f".{final.name}.building"
    old = final.parent / f".{final.name}.old"
    if not final.exists() and old.exists():
        # killed between the two renames of commit(): the staged folder was complete
        os.replace(staged if staged.exists() else old, final)
    remove(old)
    remove(staged)


def recover_alone(final: Path) -> None:
    """`recover(final)` once no other build is writing beside it: a build that lost its
    journal lock may still be staging there, and its staging folder is not a leftover yet."""
    if final.parent.resolve() in _HELD:  # our own staging is beside it: nobody else writes there
        recover(final)
        return
    try:
        lock = _lock_folder(final.parent)
    except FileNotFoundError:
        return  # no such out folder: nothing to recover
    try:
        recover(final)
    finally:
        _unlock_folder(final.parent, lock)


def remove(folder: Path, seconds: float = 10.0) -> None:
    """Remove a folder of the build's own, wholly: a file appearing meanwhile (a dying
    LibreOffice finishing a PDF) is removed on the next pass; raises OSError if it cannot
    be done, rather than leave half a folder that the next build would take for its own."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            shutil.rmtree(folder)
            return
        except OSError:
            if not folder.exists():
                return
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def _lock_folder(folder: Path) -> int | None:
    """An open descriptor of `folder` holding its exclusive lock (waiting for it): a lock on
    the folder itself, so that no lock file lies beside the packs; None where folders cannot
    be locked (Windows). The lock dies with the process."""
    if sys.platform == "win32":
        return None
    import fcntl

    descriptor = os.open(folder, os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    _HELD.add(folder.resolve())
    return descriptor


def _unlock_folder(folder: Path, descriptor: int | None) -> None:
    if descriptor is not None:
        _HELD.discard(folder.resolve())
        os.close(descriptor)  # closing it releases the lock


# The folders whose lock this process holds: a second lock of its own would wait for ever.
_HELD: set[Path] = set()


def _link(source, target) -> None:
    link_or_copy(Path(source), Path(target))
