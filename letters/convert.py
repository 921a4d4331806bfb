"""Step 5: convert .docx to PDF with LibreOffice and count the sheets.

One `soffice` process converting many files costs about a tenth of one process per
file (../shared/notes/measured-facts.md), so documents go in batches, one batch per
worker, each worker with its own profile (two processes sharing a profile silently
drop PDFs). Batch mode exits 0 whatever happens, so every expected PDF is checked,
and the ones missing are retried one by one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf

_INSTALL_HINT = (
    "Не найден LibreOffice (программа soffice): без него не получить PDF и число листов приложений.\n"
    "Установите его: на Debian или Ubuntu — «sudo apt-get install libreoffice-writer-nogui "
    "fonts-liberation2 fonts-crosextra-carlito» (или «make demo» в папке программы), "
    "на Windows — с сайта libreoffice.org.\n"
    "Если LibreOffice установлен в другую папку, укажите путь к soffice в переменной окружения LETTERS_SOFFICE."
)


class SofficeNotFound(Exception):
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


@dataclass
class Converter:
    soffice: Path
    jobs: int = 2
    timeout_per_document: float = 60.0
    startup_timeout: float = 60.0

    def convert(self, documents: list[Path], outdir: Path, on_done: Callable[[int], None] | None = None) -> dict[Path, Path]:
        """PDF path by .docx path; raises ConversionError naming what could not be converted.

        The documents' file names must be unique: LibreOffice writes `outdir/<stem>.pdf`.
        """
        stems = [d.stem for d in documents]
        if len(set(stems)) != len(stems):
            raise ValueError("documents to convert must have unique file names")
        outdir.mkdir(parents=True, exist_ok=True)
        expected = {d: outdir / f"{d.stem}.pdf" for d in documents}
        with tempfile.TemporaryDirectory(prefix="letters-soffice-") as profiles:
            batches = [documents[i :: self.jobs] for i in range(self.jobs)]
            workers = [self._start(batch, outdir, Path(profiles) / f"w{i}") for i, batch in enumerate(batches) if batch]
            for process, batch in workers:
                self._wait(process, self.startup_timeout + self.timeout_per_document * len(batch))
            missing = [d for d in documents if not _is_pdf(expected[d])]
            if on_done:
                on_done(len(documents) - len(missing))
            for document in missing:  # one by one, so that one bad document cannot hide others
                process, _ = self._start([document], outdir, Path(profiles) / "retry")
                self._wait(process, self.startup_timeout + self.timeout_per_document)
                if on_done and _is_pdf(expected[document]):
                    on_done(1)
        failed = [d for d in documents if not _is_pdf(expected[d])]
        if failed:
            raise ConversionError(failed)
        return expected

    def _start(self, batch: list[Path], outdir: Path, profile: Path):
        command = [
            str(self.soffice), "--headless", "--norestore", "--nolockcheck", "--nodefault",
            f"-env:UserInstallation={profile.resolve().as_uri()}",
            "--convert-to", "pdf", "--outdir", str(outdir), *map(str, batch),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            # its own session: on a timeout the whole group (soffice.bin too) is killed
            start_new_session=(sys.platform != "win32"),
        )
        return process, batch

    @staticmethod
    def _wait(process: subprocess.Popen, timeout: float) -> None:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
        except BaseException:  # Ctrl-C: leave no soffice behind holding its profile
            _kill(process)
            raise


def _kill(process: subprocess.Popen) -> None:
    if sys.platform == "win32":
        process.kill()
    else:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def _is_pdf(path: Path) -> bool:
    try:
        return page_count(path) > 0
    except (OSError, pikepdf.PdfError):
        return False


def page_count(pdf: Path) -> int:
    """The number of sheets as printed single-sided: the PDF's page count."""
    with pikepdf.open(pdf) as document:
        return len(document.pages)
