import contextlib
import io
import os
import re
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


# --- the monitoring cycle: two real builds in one journal (test_followup, test_report_history) ---

MAY, JUNE = "20.05.2024", "17.06.2024"


def site_key(site: str) -> str:
    """The test's own normalisation of a site address (the sample writes them every way)."""
    site = re.sub(r"^https?://", "", str(site).strip().lower()).removeprefix("www.").rstrip("/")
    host, slash, path = site.partition("/")
    if "xn--" in host:  # a Cyrillic domain written in punycode is the same site
        host = host.encode("ascii").decode("idna")
    return host + slash + path


def read_audit(path: Path, encoding: str, skip: int):
    import pandas as pd

    return pd.read_csv(path, sep=";", encoding=encoding, skiprows=skip, dtype=str).fillna("")


@pytest.fixture(scope="module")
def cycle(tmp_path_factory, soffice):
    """The monitoring cycle (issue 15) on the sample, built for real in a journal of its own:
    the letters of 20.05.2024, then a second audit (10.06.2024) with the letters of 17.06.2024.
    Some of the busiest municipality's findings are fixed, one remains and one is new, one
    municipality fixed everything, and one site has left the registry."""
    import pandas as pd

    root = tmp_path_factory.mktemp("cycle")
    may_data, june_data, out, journal = root / "май", root / "июнь", root / "out", root / "journal.sqlite"
    shutil.copytree(SAMPLE, may_data)
    shutil.copytree(SAMPLE, june_data)
    organizations = pd.read_excel(SAMPLE / "organizations.ods", engine="odf", dtype=str).fillna("")
    organizations["key"] = organizations["Ссылка на сайт"].map(site_key)
    municipality_of = dict(zip(organizations["key"], organizations["Муниципальное образование"]))
    may = read_audit(SAMPLE / "audit.csv", "cp1251", 2)
    may["key"] = may["Ссылка на сайт"].map(site_key)
    may["municipality"] = may["key"].map(municipality_of)
    counts = may.groupby("municipality").size().sort_values()

    busiest = counts.index[-1]  # some fixed, some remain, one new
    fixed_all = counts.index[0]  # everything fixed
    sites_of = may.groupby("municipality")["key"].unique()
    leaving = next(m for m in counts.index[::-1] if m != busiest and len(sites_of[m]) >= 2)
    gone_site = sites_of[leaving][0]

    ours = may[may["municipality"] == busiest]
    june = may.drop(index=ours.index[:2])  # two of the busiest one's fixed
    june = june[(june["municipality"] != fixed_all) & (june["key"] != gone_site)]
    new_code = next(c for c in ("widget_missing", "needs_scroll", "size_changed", "below_first_screen", "wrong_lko")
                    if (ours.iloc[-1]["key"], c) not in set(zip(ours["key"], ours["Код ошибки"])))
    new_row = {"Ссылка на сайт": ours.iloc[-1]["Ссылка на сайт"], "Код ошибки": new_code, "Дата проверки": "10.06.2024",
               "Комментарий": "выявлено при повторной проверке"}
    june = pd.concat([june, pd.DataFrame([new_row])], ignore_index=True)
    june["Дата проверки"] = "10.06.2024"
    (june_data / "audit.csv").unlink()
    june[["Ссылка на сайт", "Код ошибки", "Дата проверки", "Комментарий"]].to_csv(
        june_data / "audit.csv", sep=";", index=False, encoding="utf-8")
    (june_data / "organizations.ods").unlink()
    organizations[organizations["key"] != gone_site].drop(columns=["key"]).to_csv(
        june_data / "organizations.csv", sep=";", index=False, encoding="utf-8")
    june["key"] = june["Ссылка на сайт"].map(site_key)
    june["municipality"] = june["key"].map(municipality_of)

    def build(data: Path, date: str, *options: str):
        result = run_letters("build", "--date", date, "--data", str(data), "--out", str(out), "--journal", str(journal),
                             *options)
        assert result.returncode == 0, result.stderr
        return result

    first = build(may_data, MAY)
    second = build(june_data, JUNE, "--deadline", "15.07.2024")
    return dict(root=root, out=out, journal=journal, organizations=organizations, may=may, june=june, busiest=busiest, fixed_all=fixed_all,
                leaving=leaving, gone_site=gone_site, first=first, second=second, build=build, june_data=june_data)
