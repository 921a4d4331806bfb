"""Step 5: convert .docx to PDF with LibreOffice and count the sheets.

One `soffice` process converting many files costs about a tenth of one process per
file (../shared/notes/measured-facts.md), so documents go in batches, one batch per
worker, each worker with its own profile (two processes sharing a profile silently
drop PDFs). Batch mode exits 0 whatever happens, so every expected PDF is checked,
and the ones missing are retried one by one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from .problems import LettersError

PdfError = pikepdf.PdfError  # a PDF pikepdf cannot read or write

_INSTALL_HINT = (
    "Не найден LibreOffice (программа soffice): без него не получить PDF и число листов приложений.\n"
    "Установите его: на Debian или Ubuntu — «sudo apt-get install libreoffice-writer-nogui "
    "fonts-liberation2 fonts-crosextra-carlito» (или «make demo» в папке программы), "
    "на Windows — с сайта libreoffice.org.\n"
    "Если LibreOffice установлен в другую папку, укажите путь к soffice в переменной окружения LETTERS_SOFFICE."
)


class SofficeNotFound(LettersError):
    """LibreOffice is missing or cannot be started: exit code 2."""

    exit_code = 2

    def __init__(self, detail: str = ""):
        super().__init__((detail + "\n" if detail else "") + _INSTALL_HINT)


class ConversionError(Exception):
    """Documents that LibreOffice could not convert even one by one."""

    def __init__(self, failed: list[Path]):
        super().__init__(", ".join(p.name for p in failed))
        self.failed = failed


def find_soffice() -> Path:
    """`LETTERS_SOFFICE`, then PATH, then the usual install folders of Linux and Windows."""
    configured = os.environ.get("LETTERS_SOFFICE", "").strip()
    if configured:
        path = Path(configured)
        if path.is_file():
            return path
        raise SofficeNotFound(f"В переменной LETTERS_SOFFICE указан путь {configured}, но такого файла нет.")
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return Path(found)
    for candidate in _install_folders():
        if candidate.is_file():
            return candidate
    raise SofficeNotFound()


def _install_folders() -> list[Path]:
    if sys.platform == "win32":
        roots = [os.environ.get(v, "") for v in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432")]
        return [Path(r) / "LibreOffice" / "program" / "soffice.exe" for r in roots if r]
    candidates = [
        Path("/usr/lib/libreoffice/program/soffice"),
        Path("/usr/local/bin/soffice"),
        Path("/snap/bin/libreoffice"),
        Path("/Applications/LibreOffice.app/Contents/MacOS/soffice"),
    ]
    candidates += sorted(Path("/opt").glob("libreoffice*/program/soffice"))
    return candidates


PDF_FILTER = "pdf"
# PDF/A-2b for archiving; LibreOffice 7.4 ignores the older «SelectPdfVersion=2» form silently
PDFA_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'


# LibreOffice 7.4 silently ignores the file arguments of one call after about the 250th
# (measured: 247 of 400 converted, exit code 0), so a call gets at most this many.
MOST_PER_CALL = 200
# Documents a worker waits for before it starts LibreOffice (about half a second to start).
LEAST_PER_CALL = 40

# What a worker says of each document: its finished PDF, or None when LibreOffice could not
# convert it even alone after a restart.
OnResult = Callable[[Path, "Path | None"], None]


@dataclass
class Converter:
    """LibreOffice kept busy: `jobs` workers, each with its own profile, take chunks of
    documents from one queue. A worker that stops producing PDFs for `timeout_per_document`
    seconds is killed and restarted on the rest of its chunk; the document it was stuck on
    is tried once more on its own before it is reported as failed."""

    soffice: Path
    jobs: int = 2
    timeout_per_document: float = 60.0
    startup_timeout: float = 60.0
    pdfa: bool = False
    broken: BaseException | None = field(default=None, repr=False)  # what stopped a worker, if anything did
    _running: set = field(default_factory=set, repr=False)
    _early: list = field(default_factory=list, repr=False)  # (profile, office) started by start_early()
    _held: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)  # their profiles

    def start_early(self) -> None:
        """Start the workers' LibreOffice now, while the caller reads and checks its tables;
        `convert()` takes them over, `close()` stops them if it never comes."""
        if KEEP_RUNNING and not self._early:
            self._early = self._workers(self._held)
            for _, office in self._early:
                office.start()

    def _workers(self, stack: contextlib.ExitStack) -> list[tuple[Path, "_Office | None"]]:
        """Each worker's profile, held until `stack` closes, and the LibreOffice it keeps running."""
        workers = []
        for index in range(self.jobs):
            profile = stack.enter_context(_profile(index))
            workers.append((profile, _Office(self.soffice, profile, self.startup_timeout) if KEEP_RUNNING else None))
        return workers

    def close(self) -> None:
        for _, office in self._early:
            office.stop()
        self._early = []
        self._held.close()

    def convert(self, documents: Iterable[Path], outdir: Path, on_result: OnResult | None = None) -> dict[Path, Path]:
        """PDF path by .docx path; raises ConversionError naming what could not be converted.

        `documents` may be a generator that renders them: the workers start converting as
        soon as the first ones are there, so LibreOffice does not wait for Python, and the
        generator may wait for `on_result` of earlier documents before it yields the next
        (a letter waits for its appendices' page counts). `on_result` is called from the
        workers, one call at a time, as soon as each PDF is finished; it may move the PDF.
        The file names must be unique: LibreOffice writes `outdir/<stem>.pdf`.
        """
        outdir.mkdir(parents=True, exist_ok=True)
        feed, expected, failed, pdfs = _Feed(self.jobs), {}, [], set()
        lock = threading.Lock()
        self.broken = None

        def finish(document: Path, pdf: Path | None) -> None:
            feed.finished()
            with lock:
                if pdf is None:
                    failed.append(document)
                if on_result:
                    on_result(document, pdf)

        def worker(profile: Path, office: _Office | None) -> None:
            try:
                if office and (office.up() or feed.wait_for_first()):  # LibreOffice starts while the rest
                    office.start()                                      # is rendered, and the first chunk is
                    office.ready()  # taken once it is up: the fair share of what is there by then
                while not self.broken and (chunk := feed.take(*self._chunk_sizes(office))) is not None:
                    self._convert_chunk(chunk, expected, profile, finish, office)
            except BaseException as exc:  # noqa: BLE001 — handed to the caller after the join
                self.broken = self.broken or exc
                feed.close()
                self._stop_all()
            finally:
                if office:
                    office.stop()

        with contextlib.ExitStack() as stack:
            workers, self._early = self._early or self._workers(stack), []
            threads = [threading.Thread(target=worker, args=w, daemon=True) for w in workers]
            for thread in threads:
                thread.start()
            try:
                for document in documents:
                    if self.broken:
                        break
                    pdf = outdir / f"{document.stem}.pdf"
                    if pdf in pdfs:
                        raise ValueError("documents to convert must have unique file names")
                    pdfs.add(pdf)
                    expected[document] = pdf
                    feed.put(document)
            except BaseException:
                feed.close()
                self._stop_all()
                raise
            finally:
                feed.close()
                for thread in threads:
                    thread.join()
        if self.broken:
            raise self.broken
        if failed:
            raise ConversionError(sorted(failed, key=list(expected).index))
        return expected

    @staticmethod
    def _chunk_sizes(office: "_Office | None") -> tuple[int, int]:
        """(least, most) documents a call takes: a call to a running LibreOffice costs a tenth
        of a second, so it takes whatever is there; one that starts LibreOffice waits for more."""
        return (1 if office and office.listening() else LEAST_PER_CALL), MOST_PER_CALL

    def _convert_chunk(self, chunk: list[Path], expected, profile: Path, finish, office: "_Office | None" = None) -> None:
        """Convert a chunk; a document LibreOffice stops on is tried once more alone."""
        remaining = list(chunk)
        while remaining:
            made = self._run(remaining, expected, profile, finish, office)
            left = [d for d in remaining if d not in made]
            if not left:
                return
            # LibreOffice converts in order: the first one left is the one it stopped on
            stuck, remaining = left[0], left[1:]
            if not self._run([stuck], expected, profile, finish, office):
                _check_space(expected[stuck].parent)  # a full disk stops the build, not one letter
                finish(stuck, None)

    def _run(self, batch: list[Path], expected, profile: Path, finish, office: "_Office | None" = None) -> set[Path]:
        """One soffice process over `batch`, killed when it stops making progress; the
        documents whose PDFs it made, each handed to `finish` as soon as it is complete.
        With a LibreOffice kept running on the profile, the process hands `batch` over to it."""
        outdir = expected[batch[0]].parent
        option = _profile_option(profile)
        if not (office and office.ready()):
            # A LibreOffice left on this profile (by a build killed alone, not with its group) would
            # take our documents over its pipe and lose them: it goes first.
            stop_soffice(lambda args: option in args)
        # absolute paths: a later build finds a LibreOffice left writing here by its command line
        command = [
            str(self.soffice), "--headless", "--norestore", "--nolockcheck", "--nodefault", option,
            "--convert-to", PDFA_FILTER if self.pdfa else PDF_FILTER, "--outdir", str(outdir.resolve()),
            *(str(d.resolve()) for d in batch),
        ]
        try:
            process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                # On Linux it stays in the build's process group, so that whatever kills the build's
                # group (kill -9, Ctrl-C, a closed terminal) kills soffice.bin too: oosplash starts it
                # as a child of its own that outlives it. A timeout kills it by its process tree.
                # Elsewhere it gets a session of its own, whose group a timeout kills.
                start_new_session=sys.platform not in ("win32", "linux"),
            )
        except OSError as exc:  # not a program, or not allowed to run
            raise SofficeNotFound(f"Не удалось запустить LibreOffice ({self.soffice}): {exc.strerror or exc}.") from exc
        self._running.add(process)
        unseen = list(batch)  # documents whose PDF has not appeared yet, in conversion order
        appeared: list[Path] = []
        made: set[Path] = set()
        tried: set[Path] = set()

        def settle(documents: list[Path]) -> None:
            for document in documents:
                if document not in tried:
                    tried.add(document)
                    if _is_pdf(expected[document]):
                        made.add(document)
                        finish(document, expected[document])

        deadline = time.monotonic() + self.startup_timeout + self.timeout_per_document
        try:
            while process.poll() is None:
                time.sleep(0.1)
                # LibreOffice goes in order; looking a few ahead steps over one it skipped
                new = [d for d in unseen[:8] if expected[d].is_file()]
                if new:
                    unseen = [d for d in unseen if d not in new]
                    appeared += new
                    deadline = time.monotonic() + self.timeout_per_document
                    settle(appeared[:-1])  # the newest PDF may still be being written
                elif time.monotonic() > deadline:
                    _kill(process)
                    if office:  # the one stuck on the document, when the process handed it over
                        office.stop()
                    break
        except BaseException:  # Ctrl-C: leave no soffice behind holding its profile
            _kill(process)
            raise
        self._running.discard(process)
        settle(appeared + [d for d in unseen if expected[d].is_file()])
        return made

    def _stop_all(self) -> None:
        """The build is abandoned (an error, Ctrl-C): no LibreOffice is left running."""
        for process in list(self._running):
            _kill(process)


class _Feed:
    """Documents as they are rendered, for the workers to take in chunks: big enough that
    starting LibreOffice stays a small part of a chunk, taken as soon as that many are
    there, or when no more have come for a moment (the renderer waits for PDFs), or when
    they only trickle in (letters whose appendices the other worker is converting); never
    more than a fair share of the work left, so that the workers finish together instead
    of one converting a long last chunk while the other waits."""

    PATIENCE = 0.5  # seconds without a new document after which a short chunk is taken
    LONGEST_WAIT = 1.0  # seconds a worker waits for a full chunk while documents trickle in

    def __init__(self, jobs: int = 1):
        self._jobs = jobs
        self._items: list[Path] = []
        self._in_flight = 0  # taken by a worker and not finished yet
        self._closed = False
        self._ready = threading.Condition()

    def put(self, item: Path) -> None:
        with self._ready:
            self._items.append(item)
            self._ready.notify_all()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def finished(self, count: int = 1) -> None:
        """Documents of a taken chunk that are done with (converted or given up)."""
        with self._ready:
            self._in_flight -= count

    def wait_for_first(self) -> bool:
        """Wait until a document is there (True) or none will come (False)."""
        with self._ready:
            while not self._items and not self._closed:
                self._ready.wait()
            return bool(self._items)

    def take(self, least: int, most: int) -> list[Path] | None:
        """A chunk of documents; None when there are no more and none will come."""
        with self._ready:
            deadline = time.monotonic() + self.LONGEST_WAIT
            while len(self._items) < least and not self._closed:
                before = len(self._items)
                self._ready.wait(self.PATIENCE)
                if self._items and (len(self._items) == before or time.monotonic() > deadline):
                    break
            if not self._items:
                return None
            share = -(-(len(self._items) + self._in_flight) // self._jobs)
            size = max(1, min(most, share))
            chunk, self._items = self._items[:size], self._items[size:]
            self._in_flight += len(chunk)
            return chunk


# Keep one LibreOffice running per worker on Linux (elsewhere each call starts its own).
KEEP_RUNNING = sys.platform == "linux" and os.environ.get("LETTERS_SOFFICE_KEEP", "1") != "0"


class _Office:
    """A LibreOffice kept running on a worker's profile for the whole build.

    A `soffice --convert-to` started on a profile that a LibreOffice is already running on
    hands its documents over the profile's pipe, waits until they are converted and exits:
    0.13 s for two letters against 1.3 s for a LibreOffice of its own (measured), so each call
    no longer pays a start, and the first start is paid while the documents are rendered.
    With no document open a LibreOffice quits after its first such call, so it holds a text
    file open; the lock file LibreOffice makes beside it says it is up and listening. If it
    does not come up, or dies, the calls start LibreOffice of their own, as before."""

    STARTS = 3  # a LibreOffice that keeps dying is not started again: the calls go alone
    LONGEST_START = 15.0  # seconds; it takes one or two, and a call can always start its own

    def __init__(self, soffice: Path, profile: Path, startup_timeout: float):
        self.soffice, self.profile, self.startup_timeout = soffice, profile, startup_timeout
        self.folder = profile.with_name(profile.name + "-open")
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.started_at = 0.0

    @property
    def _text(self) -> Path:
        return self.folder / "open.txt"

    @property
    def _lock(self) -> Path:
        return self.folder / ".~lock.open.txt#"

    def start(self) -> None:
        if self.up() or self.starts >= self.STARTS:
            return
        self.starts += 1
        option = _profile_option(self.profile)
        stop_soffice(lambda args: option in args)  # one left by a killed build would lose our documents
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock.unlink(missing_ok=True)  # left by a LibreOffice that was killed
        self._text.write_text("letters\n", encoding="utf-8")
        try:  # in the build's process group, as the calls are: whatever kills the build kills it too
            self.process = subprocess.Popen(
                [str(self.soffice), "--headless", "--norestore", "--nodefault", option, str(self._text.resolve())],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        except OSError:
            self.process = None  # the calls will say why LibreOffice cannot be started
        self.started_at = time.monotonic()

    def up(self) -> bool:
        """Started and not dead (it may still be starting)."""
        return self.process is not None and self.process.poll() is None

    def listening(self) -> bool:
        return self.up() and self._lock.exists()

    def ready(self) -> bool:
        """Up and listening: wait for it if it is still starting; start it again if it died."""
        if self.process is not None and not self.up():
            self.stop()
            self.start()
        while self.up() and not self._lock.exists():
            if time.monotonic() - self.started_at > min(self.startup_timeout, self.LONGEST_START):
                self.stop()
                return False
            time.sleep(0.02)
        return self.up()

    def stop(self) -> None:
        if self.process is not None:
            _kill(self.process)
            self.process = None
        self._lock.unlink(missing_ok=True)


@contextlib.contextmanager
def _profile(index: int):
    """A LibreOffice profile kept between builds (a new one costs seconds at first start),
    locked while in use: two processes on one profile silently lose PDFs."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "letters" / "soffice"
    for slot in range(index, index + 32, 1):
        try:
            root.mkdir(parents=True, exist_ok=True)
            handle = open(root / f"w{slot}.lock", "a+b")
        except OSError:
            break
        if _try_lock(handle):
            try:
                yield root / f"w{slot}"
            finally:
                handle.close()  # closing the file releases the lock
            return
        handle.close()
    with tempfile.TemporaryDirectory(prefix="letters-soffice-") as folder:  # no cache folder to use
        yield Path(folder)


def _try_lock(handle) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def stabilise(pdf: Path, date: dt.date, title: str) -> int:
    """The same PDF bytes for the same document: LibreOffice stamps the time of conversion
    and a random document ID; put the letter's date and an ID made from the content
    instead, and a title a reader sees in the viewer. Returns the page count.

    (`write_pdf`: the file is read whole before it is written over.)"""
    stamp = dt.datetime.combine(date, dt.time(), dt.timezone.utc)
    with pikepdf.open(io.BytesIO(pdf.read_bytes())) as document:
        for key in ("/DocChecksum", "/ID"):  # LibreOffice's, made from the time of conversion
            if key in document.trailer:  # (qpdf keeps an /ID it finds, and makes a new one from the content)
                del document.trailer[key]
        document.docinfo["/CreationDate"] = f"D:{stamp:%Y%m%d%H%M%S}Z"
        document.docinfo["/Title"] = title
        if "/Metadata" in document.Root:  # PDF/A: the XMP must say the same as the info dictionary
            with document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
                meta["xmp:CreateDate"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
                meta["dc:title"] = title
        write_pdf(document, pdf, fix_metadata_version=False)
        return len(document.pages)


def write_pdf(document: pikepdf.Pdf, path: Path, **options) -> None:
    """Save a PDF (with a deterministic ID) into memory and write it with Python: qpdf
    writing onto a full disk throws a C++ exception that aborts the whole program (exit 134,
    in English), where Python's write raises an OSError the build reports."""
    made = io.BytesIO()
    document.save(made, deterministic_id=True, **options)
    path.write_bytes(made.getvalue())


def is_pdfa(pdf: Path) -> bool:
    with pikepdf.open(pdf) as document:
        if "/Metadata" not in document.Root:
            return False
        return document.open_metadata().get("pdfaid:part") == "2"


def _kill(process: subprocess.Popen) -> None:
    """Kill a LibreOffice with everything it started (soffice.bin) and wait until they are gone."""
    if sys.platform == "win32":
        process.kill()
    elif sys.platform == "linux":
        tree = _freeze(process.pid)
        _kill_all(tree)
        process.wait()
        _wait_gone(tree[1:])
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# --- processes, read from Linux's /proc ---

def _profile_option(profile: Path) -> str:
    return f"-env:UserInstallation={profile.resolve().as_uri()}"


def stop_soffice(uses: Callable[[list[str]], bool]) -> None:
    """Kill every LibreOffice whose command line `uses` something of ours (a profile, a
    staging folder), as a build killed midway leaves it, and wait until it is gone."""
    if sys.platform != "linux":
        return
    strays = [pid for pid, _, args in _processes()
              if pid != os.getpid() and any(a.startswith("-env:UserInstallation=") for a in args) and uses(args)]
    _kill_all(strays)
    _wait_gone(strays)


def names_folder(folder: Path) -> Callable[[list[str]], bool]:
    """Whether a command line names `folder` or a file inside it."""
    inside = str(folder.resolve())
    return lambda args: any(a == inside or a.startswith(inside + os.sep) for a in args)


def _processes() -> Iterator[tuple[int, int, list[str]]]:
    """(pid, parent pid, arguments) of each live process; zombies, already dead, are left out."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat, open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                fields, args = stat.read().rpartition(b")")[2].split(), cmdline.read()
        except OSError:  # gone meanwhile
            continue
        if fields[0] != b"Z":
            yield int(entry.name), int(fields[1]), [os.fsdecode(a) for a in args.split(b"\0") if a]


def _freeze(pid: int) -> list[int]:
    """Stop `pid` and all its descendants (SIGSTOP), so that none starts another while they
    are being found; the stopped tree, the process itself first."""
    stopped: list[int] = []
    new = [pid]
    while new:
        for each in new:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(each, signal.SIGSTOP)
        stopped += new
        new = [d for d in _descendants(pid) if d not in stopped]
    return stopped


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, parent, _ in _processes():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _wait_gone(pids: list[int], seconds: float = 10.0) -> None:
    """A killed soffice.bin takes a moment to die, and must not meet the next one on its profile."""
    deadline = time.monotonic() + seconds
    while pids and time.monotonic() < deadline:
        alive = {pid for pid, _, _ in _processes()}
        pids = [pid for pid in pids if pid in alive]
        if pids:
            time.sleep(0.05)


# LibreOffice says nothing when it cannot write a PDF; this little room left means it could not.
_LEAST_FREE = 1 << 20


def _check_space(folder: Path) -> None:
    """Raise the OSError of a full disk when the disk of `folder` is (nearly) full."""
    try:
        stat = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return
    if stat.f_bavail * stat.f_frsize < _LEAST_FREE:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))


def _is_pdf(path: Path) -> bool:
    try:
        return page_count(path) > 0
    except (OSError, pikepdf.PdfError):
        return False


def page_count(pdf: Path) -> int:
    """The number of sheets as printed single-sided: the PDF's page count."""
    with pikepdf.open(pdf) as document:
        return len(document.pages)
