"""`letters audit` as a clerk uses it: check the sites, then build letters whose appendix 1
shows the screenshots. Also the audit table's «Снимок экрана» column on its own.

The sites are the fixture sites of tests/test_audit.py, served from 127.0.0.1; Chromium maps
every host name there, so nothing leaves this machine.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import shutil
from pathlib import Path

import docx
import pikepdf
import pytest
from conftest import SAMPLE, SETTINGS, TEMPLATES, run_in_process, run_letters, write_data
from openpyxl import load_workbook
from fixture_sites import BROWSER_ARGS, World, needs_chromium, serve

from letters.audit import browser
from letters.audit import run as site_audit
from letters.context import _sample_png
from letters.problems import Problems
from letters.render import PICTURE_MAX_HEIGHT_MM, PICTURE_WIDTH_MM, Picture, Template
from letters.validate import load_dataset, load_registry

TODAY = dt.date.today()
TYUMEN = "Тюменский муниципальный район"
ISHIM = "Город Ишим"
# Fixture site → (organization, municipality, the code the checker finds there)
SITES = {
    "below": ("МАОУ СОШ № 10", TYUMEN, "below_first_screen"),
    "cookie": ("МАОУ СОШ № 9", TYUMEN, "widget_hidden"),
    "missing": ("Центральная библиотека", ISHIM, "widget_missing"),  # left out by --only
}


@pytest.fixture(scope="module")
def world():
    world = World()
    server = serve(world)
    world.port = server.server_port
    yield world
    world.stop.set()
    server.shutdown()
    server.server_close()


def _data_folder(folder: Path, world: World) -> Path:
    """The sample's letters.toml, errors and plan, with a registry of the fixture sites."""
    folder.mkdir(parents=True)
    deadline = (TODAY + dt.timedelta(days=30)).strftime("%d.%m.%Y")
    (folder / "letters.toml").write_text(SETTINGS.replace("14.06.2024", deadline), encoding="utf-8")
    for name in ("errors.xlsx", "plan.xlsx"):
        shutil.copy(SAMPLE / name, folder / name)
    municipalities = [
        "Муниципальное образование;Должность главы;ФИО главы;Электронная почта",
        f"{TYUMEN};Глава Тюменского муниципального района;Иванов Иван Иванович;glava@atmr.ru",
        f"{ISHIM};Глава города Ишима;Ким Мария Сергеевна;adm@ishim.ru",
    ]
    organizations = ["Наименование органа власти;Муниципальное образование;Ссылка на сайт;ЛКО для сообщений"]
    organizations += [f"{name};{mo};{world.url(site)};100001" for site, (name, mo, _) in SITES.items()]
    (folder / "municipalities.csv").write_text("\n".join(municipalities) + "\n", encoding="utf-8")
    (folder / "organizations.csv").write_text("\n".join(organizations) + "\n", encoding="utf-8")
    return folder


def _audit(*args: str):
    return run_in_process("audit", *args)


@pytest.fixture(scope="module")
def audited(world, tmp_path_factory):
    """`letters audit --only` run in this process, with the checker pointed at the fixture sites."""
    tmp = tmp_path_factory.mktemp("audit")
    data = _data_folder(tmp / "data", world)
    table = tmp / "проверка" / "audit.xlsx"
    # the fixture sites' ПОС script, as a clerk would name another one; host names mapped to 127.0.0.1
    check = functools.partial(site_audit.check_sites, browser_args=BROWSER_ARGS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(site_audit.SCRIPT_VARIABLE, world.script_url)
        patch.setattr(site_audit, "check_sites", check)
        result = _audit("--data", str(data), "--out", str(table), "--only", TYUMEN, "--timeout", "4")
    return {"data": data, "table": table, "result": result, "tmp": tmp}


@needs_chromium
def test_audit_command_writes_the_table_and_screenshots(audited):
    result, table = audited["result"], audited["table"]
    assert result.returncode == 0, result.stderr
    assert "Проверено сайтов: 2 из 2" in result.stdout
    assert "виджет за пределами первого экрана: 1" in result.stdout, result.stdout
    assert "виджет скрыт или перекрыт: 1" in result.stdout
    assert "below_first_screen" not in result.stdout and "widget_hidden" not in result.stdout
    assert "audit-снимки" in result.stdout
    rows = list(load_workbook(table).active.iter_rows(values_only=True))
    assert rows[0] == site_audit.AUDIT_HEADERS
    assert {(r[1], Path(r[4]).parent.name) for r in rows[1:]} == {
        ("below_first_screen", "audit-снимки"),
        ("widget_hidden", "audit-снимки"),
    }, "the site of the other municipality is not checked"
    assert all((table.parent / r[4]).is_file() for r in rows[1:])


@needs_chromium
def test_letters_show_the_screenshots(audited, soffice):
    data, table, tmp = audited["data"], audited["table"], audited["tmp"]
    # What a clerk does: the new table, with its folder of screenshots, goes into the data folder.
    shutil.copy(table, data / "audit.xlsx")
    shutil.copytree(table.parent / "audit-снимки", data / "audit-снимки")
    checked = run_letters("validate", "--data", str(data))
    assert checked.returncode == 0, checked.stderr
    assert "не читаются" not in checked.stderr, "«Снимок экрана» is a known column"

    out = tmp / "out"
    built = run_letters(
        "build", "--date", TODAY.strftime("%d.%m.%Y"), "--data", str(data), "--out", str(out),
        "--journal", str(tmp / "journal.sqlite"), "--jobs", "1",
    )
    assert built.returncode == 0, built.stderr
    [pack] = [p for p in (out / TODAY.isoformat()).iterdir() if p.is_dir() and not p.name.startswith(".")
              and p.name != "обзор"]
    assert TYUMEN in pack.name
    [appendix] = pack.glob("Приложение 1*.docx")
    document = docx.Document(appendix)
    assert len(document.inline_shapes) == 2
    assert all(abs(shape.width.mm - PICTURE_WIDTH_MM) < 1 for shape in document.inline_shapes)
    captions = [p.text for p in document.paragraphs if p.text.startswith("Рисунок ")]
    assert len(captions) == 2
    for site in ("below", "cookie"):
        name = SITES[site][0]
        assert any(name in c and f"{site}.test" in c for c in captions), captions
    with pikepdf.open(appendix.with_suffix(".pdf")) as pdf:
        images = sum(len(page.get_images()) for page in pdf.pages)
    assert images >= 2


def test_audit_command_unknown_municipality(world, tmp_path):
    data = _data_folder(tmp_path / "data", world)
    result = _audit("--data", str(data), "--out", str(tmp_path / "a.xlsx"), "--only", "Город Тобольск")
    assert result.returncode == 1
    assert "«Город Тобольск»: такого муниципального образования нет" in result.stderr
    assert not (tmp_path / "a.xlsx").exists()


def test_audit_command_without_a_browser(world, tmp_path, monkeypatch):
    def no_browser(*args, **kwargs):
        raise browser.AuditError("Не найден браузер Chromium (/usr/bin/chromium).")

    monkeypatch.setattr(site_audit, "check_sites", no_browser)
    data = _data_folder(tmp_path / "data", world)
    result = _audit("--data", str(data), "--out", str(tmp_path / "a.xlsx"))
    assert result.returncode == 2
    assert "Не найден браузер Chromium" in result.stderr


def test_audit_command_names_sites_the_checker_failed_on(world, tmp_path, monkeypatch):
    def checker_fails(organizations, *, on_progress, **kwargs):
        on_progress(site_audit.SiteProgress(1, 1, organizations[0].site, (), error="RuntimeError: сбой"))
        return []

    monkeypatch.setattr(site_audit, "check_sites", checker_fails)
    data = _data_folder(tmp_path / "data", world)
    result = _audit("--data", str(data), "--out", str(tmp_path / "a.xlsx"), "--only", ISHIM)
    assert result.returncode == 0, result.stderr
    assert f"сайт {world.url('missing')} не проверен" in result.stderr and "RuntimeError: сбой" in result.stderr
    assert "Проверено сайтов: 0 из 1" in result.stdout
    assert (tmp_path / "a.xlsx").is_file()


def test_registry_alone_is_enough_for_the_audit(world, tmp_path):
    data = _data_folder(tmp_path / "data", world)
    (data / "letters.toml").unlink()
    problems = Problems()
    municipalities, organizations = load_registry(data, problems)
    assert not problems.has_errors
    assert [m.name for m in municipalities] == [TYUMEN, ISHIM]
    assert [o.name for o in organizations] == [name for name, _, _ in SITES.values()]


# ---------------------------------------------------------------------------------------
# «Снимок экрана» in the audit table, without a browser
# ---------------------------------------------------------------------------------------


def _audit_lines(*screenshots: str) -> list[str]:
    lines = ["Ссылка на сайт;Код ошибки;Дата проверки;Комментарий;Снимок экрана"]
    rows = [("atmr.ru", "below_first_screen"), ("skazka-ishim.ru", "size_changed")]
    return lines + [f"{site};{code};13.05.2024;;{shot}" for (site, code), shot in zip(rows, screenshots)]


def test_screenshot_column_is_read_relative_to_the_table(tmp_path):
    data = write_data(tmp_path / "data", audit=_audit_lines("снимки/atmr.png", "снимки\\нет.png"))
    (data / "снимки").mkdir()
    (data / "снимки" / "atmr.png").write_bytes(_sample_png())
    problems = Problems()
    dataset = load_dataset(data, problems, on=dt.date(2024, 5, 20))
    assert dataset is not None, [str(p) for p in problems]
    shots = {f.organization.site_key: f.screenshot for f in dataset.findings}
    assert shots == {"atmr.ru": data / "снимки" / "atmr.png", "skazka-ishim.ru": None}
    [warning] = problems.warnings
    assert warning.row == 3 and "нет.png" in warning.message and warning.column == "Снимок экрана"
    assert not problems.notes, "the column is known"


def test_a_screenshot_that_is_not_a_picture_is_a_warning(tmp_path):
    data = write_data(tmp_path / "data", audit=_audit_lines("atmr.png"))
    (data / "atmr.png").write_text("<html>не картинка</html>", encoding="utf-8")
    problems = Problems()
    dataset = load_dataset(data, problems, on=dt.date(2024, 5, 20))
    assert dataset is not None and dataset.findings[0].screenshot is None
    assert "не картинка" in problems.warnings[0].message


def test_a_phone_screenshot_fits_the_page():
    picture = Picture.from_bytes(_sample_png(390, 844))
    context = {"picture": picture}
    template = Template("test.docx", _one_tag_template("{{ picture }}"))
    [shape] = docx.Document(io.BytesIO(template.render(context))).inline_shapes
    assert abs(shape.height.mm - PICTURE_MAX_HEIGHT_MM) < 1 and shape.width.mm < PICTURE_WIDTH_MM


def _one_tag_template(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_templates_check_the_screenshot_loop():
    # The sample context has a picture, so a wrong name inside the loop is found before a build.
    from letters.context import sample_context

    context = sample_context()
    assert context["screenshots"] and isinstance(context["screenshots"][0]["picture"], Picture)
    rendered = Template.load(TEMPLATES / "appendix1.docx").render(context)
    assert len(docx.Document(io.BytesIO(rendered)).inline_shapes) == 1
