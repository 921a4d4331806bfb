import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "data"
TEMPLATES = ROOT / "letters" / "templates"

SETTINGS = """\
[sender]
name = "ДЕПАРТАМЕНТ ИНФОРМАТИЗАЦИИ ТЮМЕНСКОЙ ОБЛАСТИ"
name_genitive = "Департамента информатизации Тюменской области"
address = "ул. Советская, д. 61, г. Тюмень, 625000"
phone = "(3452) 427-900"
fax = "426-266"
email = "di@72to.ru"

[signer]
position = "Директор"
name = "С.И. Логинов"

[executor]
name = "Петрова Анна Сергеевна"
phone = "(3452) 427-915"

[letter]
subject = "О размещении виджетов ПОС на сайтах учреждений"
deadline = "14.06.2024"

[numbering]
pattern = "{seq}/{yy}"
first = 1337
"""

TABLES = {
    "municipalities": [
        "Муниципальное образование;Должность главы;ФИО главы;Электронная почта",
        "Тюменский муниципальный район;Глава Тюменского муниципального района;Иванов Иван Иванович;glava@atmr.ru",
        "Город Ишим;Глава города Ишима;Ким Мария Сергеевна;\"adm@ishim.ru; mayor@ishim.ru\"",
        "Уватский муниципальный район;Глава Уватского муниципального района;Черных Ольга Викторовна;",
    ],
    "organizations": [
        "Наименование органа власти;Муниципальное образование;Ссылка на сайт;ЛКО для сообщений",
        "Администрация Тюменского района;Тюменский муниципальный район;https://atmr.ru;1000001",
        "МАОУ СОШ № 1;Тюменский муниципальный район;http://www.school1-tmr.ru/;1000002",
        "МДОУ «Сказка» & ясли <корпус 2>;Город Ишим;https://skazka-ishim.ru;1000003",
        "Администрация Уватского района;Уватский муниципальный район;https://uvat.ru;1000004",
    ],
    "audit": [
        "Ссылка на сайт;Код ошибки;Дата проверки;Комментарий",
        "atmr.ru;below_first_screen;13.05.2024;Виджет на высоте 1480 px",
        "https://school1-tmr.ru;widget_missing;14.05.2024;",
        "https://atmr.ru/;wrong_lko;13.05.2024;ID 1 вместо 1000001",
        "skazka-ishim.ru;size_changed;15.05.2024;Ширина 200 px",
    ],
    "errors": [
        "Код ошибки;Наименование ошибки;Рекомендации по устранению",
        "widget_missing;Виджет не размещён;Разместите код виджета из личного кабинета ПОС.",
        "below_first_screen;Виджет не на первом экране;Перенесите виджет на первый экран.",
        "size_changed;Размер виджета изменён;Уберите правила CSS, меняющие размер.",
        "wrong_lko;Неверный ЛКО;Вставьте код виджета из своего личного кабинета.",
    ],
    "plan": [
        "Мероприятие;Срок;Ответственный;Ожидаемый результат",
        "Устранить ошибки размещения виджетов;до 14.06.2024;Руководители учреждений;Виджеты размещены верно",
    ],
}


# What a build writes beside the packs, made from all of them (the overview and the print file).
BATCH = ("обзор.html", "к печати.pdf", "обзор")


def pack_files(folder: Path) -> list[Path]:
    """The files of a date folder's packs and its manifest, without the batch's own."""
    return [p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] not in BATCH]


def write_data(folder: Path, **replace: list[str]) -> Path:
    """A small valid data folder; `replace` swaps a table's lines (None drops the table)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "letters.toml").write_text(SETTINGS, encoding="utf-8")
    for name, lines in {**TABLES, **replace}.items():
        if lines is not None:
            (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def small_data(tmp_path) -> Path:
    return write_data(tmp_path / "data")


def run_letters(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command, as a clerk runs it (with the test's own per-user folder, even
    when `env` replaces the environment)."""
    if env is not None and "XDG_DATA_HOME" in os.environ:
        env = {"XDG_DATA_HOME": os.environ["XDG_DATA_HOME"], **env}
    return subprocess.run(
        [sys.executable, "-m", "letters", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600
    )


def libreoffice_of(cache: Path) -> list[str]:
    """The command lines of the processes that name a profile under `cache`."""
    marks = (str(cache), cache.as_uri())
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            except OSError:
                continue
            if state != "Z" and any(mark in args for mark in marks):
                found.append(f"{entry.name}: {args}")
    return found


def gone_within(cache: Path, seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := libreoffice_of(cache)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def run_in_process(*args: str) -> subprocess.CompletedProcess:
    """`letters *args` through the entry point of the installed script."""
    from letters import cli

    stdout, stderr, argv = io.StringIO(), io.StringIO(), sys.argv
    sys.argv = ["letters", *args]
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            cli.main()
    except SystemExit as exit:
        code = exit.code
    else:
        code = 0
    finally:
        sys.argv = argv
    return subprocess.CompletedProcess(["letters", *args], code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="session")
def soffice() -> str:
    path = shutil.which("soffice")
    if path is None:
        pytest.fail("LibreOffice (soffice) is not installed: run `make test`, which installs it")
    return path


@pytest.fixture(autouse=True, scope="session")
def no_real_journal(tmp_path_factory):
    """The tests never take numbers from the journal a clerk uses for real letters: the
    per-user data folder (where the default journal lives) is one of the test run's own,
    for this process and every command it starts."""
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("user-data"))


@pytest.fixture(autouse=True)
def own_user_journal(tmp_path_factory, monkeypatch):
    """And each test has a per-user journal of its own: numbers never leak between tests."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("user-data")))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A throwaway PostgreSQL cluster (pg_virtualenv from postgresql-common), for this test run."""
    if shutil.which("pg_virtualenv") is None:
        pytest.fail("PostgreSQL is not installed: run `make test`, which installs it")
    folder = tmp_path_factory.mktemp("postgres")
    env_file, keep = folder / "env", folder / "keep"
    keep.touch()
    script = f'env > "{env_file}.tmp" && mv "{env_file}.tmp" "{env_file}"; while [ -e "{keep}" ]; do sleep 0.2; done'
    # -t: the cluster's files in a folder of its own even as root, and a free port of its own,
    # so that two test runs on one machine do not meet
    server = subprocess.Popen(
        ["pg_virtualenv", "-t", "sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True, env={**os.environ, "PGPORT": str(free_port())},
    )
    deadline = time.monotonic() + 120
    while not env_file.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"pg_virtualenv did not start: {server.stderr.read().decode(errors='replace')}")
        time.sleep(0.2)
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    # PG_CLUSTER_CONF_ROOT lets a test stop and start the server (pg_ctlcluster 15 regress …)
    yield {k: env[k] for k in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PG_CLUSTER_CONF_ROOT")}
    keep.unlink()
    server.wait(timeout=120)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new empty database on the test server for each test."""
    import psycopg

    name = f"letters_{uuid.uuid4().hex[:12]}"
    s = postgres_server
    with psycopg.connect(host=s["PGHOST"], port=s["PGPORT"], user=s["PGUSER"], password=s["PGPASSWORD"],
                         dbname="postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{s['PGUSER']}:{s['PGPASSWORD']}@{s['PGHOST']}:{s['PGPORT']}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request, tmp_path) -> str:
    """Each journal test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "journal.sqlite")
    return request.getfixturevalue("postgres_url")
