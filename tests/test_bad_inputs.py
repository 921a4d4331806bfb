"""The corpus of bad inputs (tests/bad_inputs/): each case ends in its exact messages.

A case is a folder holding only what differs from the small valid data folder of
conftest.py (`write_data`) and the shipped templates:

- `<table>.<ext>` replaces that table (whatever the base's format), `letters.toml` the
  settings, `templates/<name>.docx` a template;
- `expected.txt`: the lines the clerk must see — each problem as the CLI lists it, then
  what the command prints on stdout; `<data>` and `<templates>` stand for the folders,
  `<package>` for the templates shipped with the program;
- `case.toml` (optional): `command` ("build" by default, with --date 20.05.2024, or
  "validate"), `exit` (1 by default), `remove` (base files to delete), `keep` (base
  files a replacement must not delete), `remove_templates`, and `[template]` with `file`
  and `add`: a paragraph added to that template, or a list of its runs (as Word splits text).

Every case runs the real command: `letters.cli.main`, what the `letters` script calls, with
its arguments, output and exit code — in this process, because starting Python and importing
the program costs a second a case; a few cases run as a process of their own too, and must
say exactly the same. A build that fails must exit 1, show no traceback and write nothing:
no out folder, no file added to or changed in the data folder.
`make_cases.py` writes the binary files of the corpus.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest

from letters.render import PACKAGE_TEMPLATES
from conftest import ROOT, TABLES, TEMPLATES, run_in_process, run_letters, write_data

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.txt").is_file())
BULLET = "  • "


def cli_shows_brackets() -> bool:
    """Rich takes «[sender]» or «[/b]» in a message for its markup unless the CLI prints
    with markup off: the text is lost, or the output crashes (see the report of issue 7)."""
    from letters import cli

    with contextlib.redirect_stderr(io.StringIO()) as shown:
        try:
            cli.err.print("[/b] [sender]")
        except Exception:
            return False
    return "[/b] [sender]" in shown.getvalue()


def corpus_params() -> list:
    markup_lost = pytest.mark.xfail(
        not cli_shows_brackets(), strict=True, reason="cli.py prints problems as Rich markup: needs markup=False"
    )
    return [
        pytest.param(name, marks=markup_lost) if "[" in (CORPUS / name / "expected.txt").read_text(encoding="utf-8") else name
        for name in CASES
    ]


@dataclass
class Outcome:
    result: subprocess.CompletedProcess
    data: Path
    templates: Path
    out: Path
    data_before: dict[str, bytes]

    @property
    def shown(self) -> list[str]:
        problems = [line[len(BULLET):] for line in self.result.stderr.splitlines() if line.startswith(BULLET)]
        return problems + [line for line in self.result.stdout.splitlines() if line.strip()]


def settings_of(name: str) -> dict:
    path = CORPUS / name / "case.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def prepare(name: str, root: Path) -> tuple[Path, Path]:
    """The base data folder and templates with the case laid over them."""
    case, settings = CORPUS / name, settings_of(name)
    data = write_data(root / "data")
    templates = TEMPLATES
    for path in sorted(case.iterdir()):
        if path.name in ("expected.txt", "case.toml", "templates"):
            continue
        if path.stem in TABLES:
            for old in data.glob(f"{path.stem}.*"):
                if old.name not in settings.get("keep", ()):
                    old.unlink()
        shutil.copy(path, data / path.name)
    for file in settings.get("remove", ()):
        (data / file).unlink()
    if (case / "templates").is_dir() or "template" in settings or "remove_templates" in settings:
        templates = root / "templates"
        shutil.copytree(TEMPLATES, templates)
        if (case / "templates").is_dir():
            shutil.copytree(case / "templates", templates, dirs_exist_ok=True)
        for file in settings.get("remove_templates", ()):
            (templates / file).unlink()
        if "template" in settings:
            add_to_template(templates / settings["template"]["file"], settings["template"]["add"])
    return data, templates


def add_to_template(path: Path, add: str | list[str]) -> None:
    """A paragraph at the end of the template; a list makes each piece a run of its own,
    every other one bold, the way Word splits a tag it has corrected or formatted."""
    document = docx.Document(path)
    paragraph = document.add_paragraph()
    for i, text in enumerate([add] if isinstance(add, str) else add):
        paragraph.add_run(text).bold = bool(i % 2)
    document.save(path)


def run_case(name: str, root: Path, run=None) -> Outcome:
    data, templates = prepare(name, root)
    out = root / "out"
    before = snapshot(data)
    if settings_of(name).get("command", "build") == "build":
        args = ("build", "--date", "20.05.2024", "--out", str(out))
    else:
        args = ("validate",)
    result = (run or run_in_process)(*args, "--data", str(data), "--templates", str(templates))
    return Outcome(result, data, templates, out, before)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", corpus_params())
def test_bad_input_ends_in_its_messages_and_writes_nothing(name, tmp_path):
    outcome = run_case(name, tmp_path)
    settings = settings_of(name)
    result = outcome.result
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == settings.get("exit", 1), result.stderr + result.stdout
    expected = (CORPUS / name / "expected.txt").read_text(encoding="utf-8").splitlines()
    expected = [
        line.replace("<data>", str(outcome.data)).replace("<templates>", str(outcome.templates))
        .replace("<package>", str(PACKAGE_TEMPLATES))
        for line in expected if line.strip()
    ]
    assert outcome.shown == expected
    assert not outcome.out.exists()
    assert snapshot(outcome.data) == outcome.data_before


@pytest.mark.parametrize("name", ["09-audit-without-date", "62-template-unclosed-if", "88-accepted-sites-written-every-way"])
def test_the_command_in_a_process_of_its_own_says_exactly_the_same(name, tmp_path):
    alone = run_case(name, tmp_path / "alone", run=run_letters)
    here = run_case(name, tmp_path / "here")
    assert alone.result.returncode == here.result.returncode
    assert alone.shown == [line.replace(str(tmp_path / "here"), str(tmp_path / "alone")) for line in here.shown]
    assert alone.result.stderr.count("\n") == here.result.stderr.count("\n")
    # nothing but the grouped problems: no library warning, no traceback
    headings = ("Ошибки (", "Предупреждения (", "Замечания: ", "Письма не собраны")
    assert all(line.startswith((BULLET, *headings)) for line in alone.result.stderr.splitlines() if line.strip())


def test_the_corpus_covers_at_least_40_broken_inputs():
    broken = [name for name in CASES if settings_of(name).get("exit", 1) == 1]
    assert len(broken) >= 40
    assert all(name[:2].isdigit() and name[2] == "-" for name in CASES)


def test_an_unexpected_error_shows_a_short_russian_message_and_a_log_not_a_traceback(tmp_path, small_data):
    """A bug of the program, not of the data: the clerk gets a sentence and a log file."""
    crash = (
        "import sys, letters.validate as v\n"
        "def broken(*a, **k): raise RuntimeError('a bug in the program')\n"
        "v.load_dataset = broken\n"
        "import letters.pipeline as p; p.load_dataset = broken\n"
        "from letters.cli import main\n"
        f"sys.argv = ['letters', *sys.argv[1:]]\n"
        "main()\n"
    )
    for command in (["validate"], ["build", "--date", "20.05.2024", "--out", str(tmp_path / "out")]):
        result = subprocess.run(
            [sys.executable, "-c", crash, *command, "--data", str(small_data)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr + result.stdout
        assert "Непредвиденная ошибка программы" in result.stderr
        log = Path(result.stderr.split("в файле ")[1].split(";")[0])
        assert "RuntimeError: a bug in the program" in log.read_text(encoding="utf-8")
        log.unlink()
        assert not (tmp_path / "out").exists()
