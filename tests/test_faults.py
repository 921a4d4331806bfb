"""Faults from outside, as they were measured: kill -9 of the build's process group at any
moment, a full disk, the PostgreSQL server killed mid-build. After each, no LibreOffice of
that build is left running, the clerk is told the truth in Russian, and the next build
succeeds with every number in one place."""

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from conftest import ROOT, TABLES, gone_within, libreoffice_of, run_in_process, write_data

from letters.journal import CANCELLED, RESERVED, Journal, location_url
from letters.packs import read_manifest

DATE = "20.05.2024"
FOLDER = "2024-05-20"


def command(data: Path, out: Path, journal: str, date: str = DATE) -> list[str]:
    return [sys.executable, "-m", "letters", "build", "--date", date, "--data", str(data), "--out", str(out),
            "--journal", journal, "--jobs", "2"]


def environment(cache: Path) -> dict:
    """The LibreOffice profiles of these builds in a folder of the test's own, to find them by."""
    return {**os.environ, "XDG_CACHE_HOME": str(cache)}


def build(data: Path, out: Path, journal: str, cache: Path, date: str = DATE) -> subprocess.CompletedProcess:
    return subprocess.run(command(data, out, journal, date), cwd=ROOT, capture_output=True, text=True,
                          env=environment(cache), timeout=600)


def start(data: Path, out: Path, journal: str, cache: Path, date: str = DATE) -> subprocess.Popen:
    """A build in a process group of its own, as a terminal or a service manager starts it."""
    return subprocess.Popen(command(data, out, journal, date), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environment(cache), start_new_session=True)


def verify(out: Path, journal: str, folder: str = FOLDER) -> subprocess.CompletedProcess:
    return run_in_process("verify", str(out / folder), "--journal", journal)


def open_journal(url: str) -> Journal:
    return Journal(location_url(url))


def assert_numbers_in_one_place(url: str, first: int = 1337) -> None:
    """Every number once, none left reserved, every gap explained by a cancelled letter."""
    letters = open_journal(url).list()
    seqs = sorted(letter.seq for letter in letters)
    assert seqs == list(range(first, first + len(seqs)))
    assert not [letter.number for letter in letters if letter.status == RESERVED]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- kill -9 of the build's process group ---

def change_one_pack(data: Path, turn: int) -> None:
    """Tyumen's findings say something new: a re-run converts its pack again and swaps the folder."""
    audit = list(TABLES["audit"])
    audit[1] = f"atmr.ru;below_first_screen;13.05.2024;Виджет на высоте {1480 + turn} px"
    write_data(data, audit=audit)


@pytest.mark.slow
def test_kill_9_of_the_build_group_at_random_moments_leaves_no_libreoffice_and_the_next_build_succeeds(tmp_path, soffice):
    seed = int(os.environ.get("LETTERS_KILL_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    data, out, cache, url = write_data(tmp_path / "data"), tmp_path / "out", tmp_path / "cache", str(tmp_path / "j.sqlite")
    kills = {"first build": 0, "re-run": 0}
    took = {"first build": 12.0, "re-run": 6.0}  # seconds each takes here: from each one that ran to its end
    assert build(data, out, url, cache).returncode == 0  # the date the re-runs go over
    for turn in range(1, 40):
        if min(kills.values()) >= 5:
            break
        for what in kills:
            if kills[what] >= 5:
                continue
            if what == "re-run":
                change_one_pack(data, turn)
                date = DATE
            else:  # a date not built yet
                date = (dt.date(2024, 5, 20) + dt.timedelta(days=turn)).strftime("%d.%m.%Y")
            moment = rng.uniform(0.3, 0.9 * took[what])
            began = time.monotonic()
            killed = start(data, out, url, cache, date)
            time.sleep(moment)
            if killed.poll() is None:
                os.killpg(killed.pid, signal.SIGKILL)
                kills[what] += 1
            else:
                took[what] = time.monotonic() - began  # it was quicker than that: aim earlier
            killed.communicate()
            context = f"seed {seed}, {what} of {date} killed after {moment:.1f} s"
            assert not gone_within(cache, 5), f"LibreOffice outlived the killed build ({context})"
            again = build(data, out, url, cache, date)
            assert again.returncode == 0, f"{context}: {again.stderr}"
            checked = verify(out, url, dt.datetime.strptime(date, "%d.%m.%Y").date().isoformat())
            assert checked.returncode == 0, f"{context}: {checked.stdout}{checked.stderr}"
    assert min(kills.values()) >= 5, (seed, kills)
    assert_numbers_in_one_place(url)
    assert not list(out.glob(".*.building")) and not list(out.glob(".*.old"))


def test_a_build_beside_what_a_killed_build_of_another_date_left_settles_it_without_waiting_for_itself(tmp_path, soffice):
    """The next build recovers the other date's folder in the out folder it holds the lock of."""
    data, out, cache, url = write_data(tmp_path / "data"), tmp_path / "out", tmp_path / "cache", str(tmp_path / "j.sqlite")
    killed = subprocess.run(command(data, out, url, "21.05.2024"), cwd=ROOT, capture_output=True,
                            env={**environment(cache), "LETTERS_KILL_AT": "reserved"}, timeout=300)
    assert killed.returncode == -9
    result = subprocess.run(command(data, out, url), cwd=ROOT, capture_output=True, text=True, env=environment(cache),
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert verify(out, url).returncode == 0
    assert_numbers_in_one_place(url)
    assert {letter.number for letter in open_journal(url).list(status=CANCELLED)} == {"1337/24", "1338/24"}


def test_a_libreoffice_left_on_a_profile_is_stopped_before_the_next_build_uses_it(tmp_path, soffice):
    """A build killed alone (not its group) leaves LibreOffice running on its profile: the next
    build stops it first, for two on one profile lose PDFs."""
    data, out, cache, url = write_data(tmp_path / "data"), tmp_path / "out", tmp_path / "cache", str(tmp_path / "j.sqlite")
    profile = cache / "letters" / "soffice" / "w0"
    documents = tmp_path / "docs"
    documents.mkdir()
    for i in range(40):
        shutil.copy(ROOT / "letters" / "templates" / "appendix3.docx", documents / f"{i}.docx")
    left = subprocess.Popen([soffice, "--headless", "--norestore", "--nolockcheck", "--nodefault",
                             f"-env:UserInstallation={profile.as_uri()}", "--convert-to", "pdf",
                             "--outdir", str(tmp_path / "pdf"), *map(str, sorted(documents.iterdir()))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not any("soffice.bin" in line for line in libreoffice_of(cache)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert libreoffice_of(cache), "LibreOffice did not start"
        result = build(data, out, url, cache)
        assert result.returncode == 0, result.stderr
        assert not libreoffice_of(cache)
        assert verify(out, url).returncode == 0
    finally:
        try:
            os.killpg(left.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        left.wait()


# --- a full disk ---

@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system of the test's own (tmpfs), to fill up."""
    if os.geteuid() != 0:
        pytest.skip("нужны права root, чтобы смонтировать tmpfs / mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"tmpfs не монтируется / cannot mount a tmpfs: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk, leaving about `leave` bytes free."""
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))
    return filler


@pytest.mark.slow
def test_a_full_disk_is_exit_1_in_russian_and_leaves_the_previous_packs_and_no_number_reserved(small_disk, tmp_path, soffice):
    data, out, cache, url = write_data(tmp_path / "data"), small_disk / "out", tmp_path / "cache", str(tmp_path / "j.sqlite")
    assert build(data, out, url, cache).returncode == 0
    before = snapshot(out / FOLDER)
    # a re-run with a changed pack and a new one, and a first build of another date
    write_data(data, audit=TABLES["audit"][:1] + [TABLES["audit"][1] + " (повторно)", *TABLES["audit"][2:],
                                                  "uvat.ru;widget_missing;16.05.2024;"])
    # no room for the first document, for some of them, for the PDFs
    for leave, date, folder in ((0, DATE, FOLDER), (40_000, "21.05.2024", "2024-05-21"), (150_000, DATE, FOLDER),
                                (150_000, "21.05.2024", "2024-05-21")):
        filler = fill(small_disk, leave)
        result = build(data, out, url, cache, date)
        context = f"{leave} bytes free, {date}"
        assert result.returncode == 1, f"{context}: {result.returncode} {result.stderr}"
        assert f"не удалось записать файлы в папку {out}: на диске нет места" in result.stderr, context
        assert "Traceback" not in result.stderr and "Непредвиденная" not in result.stderr, context
        assert "No space" not in result.stderr.split("(")[0], context
        # numbers were taken, and given up at once: the message says which
        assert "взятые этой сборкой, аннулированы в журнале" in result.stderr, context
        assert "Ничего не записано" not in result.stderr, context
        assert snapshot(out / FOLDER) == before, context
        if folder != FOLDER:
            assert not (out / folder).exists(), context
        assert not list(out.glob(".*.building")), context
        assert not open_journal(url).list(status=RESERVED), context
        filler.unlink()
    assert not libreoffice_of(cache)
    # with room again, the next builds succeed, and every number is in one place
    for date, folder in ((DATE, FOLDER), ("21.05.2024", "2024-05-21")):
        result = build(data, out, url, cache, date)
        assert result.returncode == 0, result.stderr
        assert verify(out, url, folder).returncode == 0
    assert_numbers_in_one_place(url)
    cancelled = open_journal(url).list(status=CANCELLED)
    assert cancelled and all("прервана" in letter.reason for letter in cancelled)


# --- the PostgreSQL server killed mid-build ---

class Server:
    """The test PostgreSQL cluster, to kill and start again."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.env = {**os.environ, "PG_CLUSTER_CONF_ROOT": settings["PG_CLUSTER_CONF_ROOT"]}
        root = Path(settings["PG_CLUSTER_CONF_ROOT"])
        self.version, self.cluster = next((v.name, c.name) for v in root.iterdir() for c in v.iterdir())
        with self.connect() as connection:
            self.data = Path(connection.execute("SHOW data_directory").fetchone()[0])

    def connect(self):
        s = self.settings
        return psycopg.connect(host=s["PGHOST"], port=s["PGPORT"], user=s["PGUSER"], password=s["PGPASSWORD"],
                               dbname="postgres", autocommit=True, connect_timeout=5)

    def kill(self) -> None:
        """kill -9 of the postmaster; its backends end on their own when they notice."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with self.connect():
                    pass
            except psycopg.OperationalError:
                return
            time.sleep(0.1)

    def start(self) -> None:
        deadline = time.monotonic() + 60
        while True:  # the old backends may still hold the shared memory for a moment
            started = subprocess.run(["pg_ctlcluster", self.version, self.cluster, "start"], env=self.env,
                                     capture_output=True, text=True)
            if started.returncode == 0 or self.running():
                return
            assert time.monotonic() < deadline, started.stderr
            time.sleep(0.5)

    def running(self) -> bool:
        try:
            with self.connect():
                return True
        except psycopg.OperationalError:
            return False


@pytest.fixture
def server(postgres_server):
    server = Server(postgres_server)
    yield server
    if not server.running():  # the other tests of the run share it
        server.start()


def wait_for_reserved_numbers(out: Path, build: subprocess.Popen, folder: str = FOLDER) -> None:
    """Until the build is writing its packs: it has its numbers and LibreOffice is at work."""
    deadline = time.monotonic() + 120
    while not list((out / f".{folder}.building").glob("*/*.docx")):
        assert build.poll() is None, build.communicate()
        assert time.monotonic() < deadline, "the build wrote no document"
        time.sleep(0.05)


def test_the_server_killed_mid_build_is_told_truly_and_the_next_build_settles_it(server, postgres_url, tmp_path, soffice):
    data, out, cache = write_data(tmp_path / "data"), tmp_path / "out", tmp_path / "cache"
    running = start(data, out, postgres_url, cache)
    wait_for_reserved_numbers(out, running)
    server.kill()
    _, stderr = running.communicate(timeout=300)
    assert running.returncode == 1, stderr
    assert "перестал отвечать во время работы" in stderr
    assert "В журнале остались зарезервированы номера 1337/24, 1338/24" in stderr
    assert "следующая сборка за 20.05.2024 доведёт их до конца или аннулирует с причиной" in stderr
    assert "Ничего не записано" not in stderr and "Непредвиденная" not in stderr and "Traceback" not in stderr
    assert not (out / FOLDER).exists() and not list(out.glob(".*.building"))
    assert not gone_within(cache, 5)
    server.start()
    again = build(data, out, postgres_url, cache)
    assert again.returncode == 0, again.stderr
    assert "1337/24" in again.stdout and "1338/24" in again.stdout  # the reserved numbers, brought to the end
    assert verify(out, postgres_url).returncode == 0
    assert_numbers_in_one_place(postgres_url)


def test_a_build_whose_lock_died_with_the_server_numbers_no_more_beside_the_next_build(server, postgres_url, tmp_path, soffice):
    """The server restarts while build A converts, and build B (another date, another folder)
    takes the lock that died with A's session. A must stop at its next step in the journal,
    not number on beside B."""
    data, cache = write_data(tmp_path / "data"), tmp_path / "cache"
    out_a, out_b = tmp_path / "out-a", tmp_path / "out-b"
    first = start(data, out_a, postgres_url, cache)
    wait_for_reserved_numbers(out_a, first)
    server.kill()
    server.start()
    second = start(data, out_b, postgres_url, cache, "21.05.2024")
    _, stderr_a = first.communicate(timeout=300)
    _, stderr_b = second.communicate(timeout=300)
    assert second.returncode == 0, stderr_b
    assert first.returncode == 1, stderr_a
    assert "перестал отвечать во время работы" in stderr_a, stderr_a
    assert not (out_a / FOLDER).exists()
    assert verify(out_b, postgres_url, "2024-05-21").returncode == 0
    again = build(data, out_a, postgres_url, cache)
    assert again.returncode == 0, again.stderr
    assert verify(out_a, postgres_url).returncode == 0
    assert_numbers_in_one_place(postgres_url)
    numbers = [row["number"] for folder in (out_a / FOLDER, out_b / "2024-05-21") for row in read_manifest(folder)]
    assert len(numbers) == len(set(numbers)) == 4
