"""The templates, rendered with docxtpl: literal text, strict variables."""

import dataclasses
import datetime as dt
import io
import shutil
from pathlib import Path

import docx
import pytest

from letters.context import pack_context, sample_context
from letters.model import Finding
from letters.problems import Problems
from letters.render import RenderError, Template, check_templates, load_templates
from letters.validate import load_dataset

ROOT = Path(__file__).parent.parent
TEMPLATES = ROOT / "letters" / "templates"
HOSTILE = "МДОУ «Сказка» & ясли <корпус 2>"


def document_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_shipped_templates_use_only_known_variables():
    problems = Problems()
    templates = load_templates(TEMPLATES, problems)
    check_templates(templates, sample_context(), problems)
    assert problems == []


def test_special_characters_are_shown_literally_never_evaluated():
    context = sample_context()
    context["findings"][0]["organization"] = HOSTILE
    context["findings"][0]["details"] = "{{ 7*7 }} {% if %} ]]>"
    text = document_text(Template.load(TEMPLATES / "appendix1.docx").render(context))
    assert HOSTILE in text
    assert "{{ 7*7 }} {% if %} ]]>" in text
    assert "49" not in text


def add_paragraph(source: Path, target: Path, text: str) -> Path:
    document = docx.Document(source)
    document.add_paragraph(text)
    document.save(target)
    return target


def test_unknown_variable_names_the_template_and_the_variable(tmp_path):
    template = Template.load(add_paragraph(TEMPLATES / "letter.docx", tmp_path / "letter.docx", "{{ head_fio }}"))
    with pytest.raises(RenderError) as error:
        template.render(sample_context())
    assert "шаблон letter.docx использует переменную «head_fio»" in str(error.value)


def test_unknown_attribute_is_named_too(tmp_path):
    template = Template.load(add_paragraph(TEMPLATES / "letter.docx", tmp_path / "letter.docx", "{{ signer.phone }}"))
    with pytest.raises(RenderError, match="переменную «phone»"):
        template.render(sample_context())


def test_broken_tag_is_reported_by_validation(tmp_path):
    for name in ("letter", "appendix1", "appendix2", "appendix3"):
        shutil.copy(TEMPLATES / f"{name}.docx", tmp_path)
    add_paragraph(tmp_path / "appendix2.docx", tmp_path / "appendix2.docx", "{% if deadline %}без конца")
    problems = Problems()
    check_templates(load_templates(tmp_path, problems), sample_context(), problems)
    assert [p.file for p in problems.errors] == ["appendix2.docx"]
    assert "ошибка в теге" in problems.errors[0].message


def test_a_template_missing_from_the_clerks_folder_is_the_programs_own_and_the_note_says_so(tmp_path):
    own = add_paragraph(TEMPLATES / "letter.docx", tmp_path / "letter.docx", "Своя приписка")
    problems = Problems()
    templates = load_templates(tmp_path, problems)
    assert templates["letter"].data == own.read_bytes()
    assert templates["appendix2"].data == (TEMPLATES / "appendix2.docx").read_bytes()
    assert not problems.errors and not problems.warnings
    (note,) = problems.notes
    assert "appendix1.docx, appendix2.docx, appendix3.docx" in note.message and str(tmp_path) in note.message
    assert "letter.docx" not in note.message


def test_a_templates_folder_that_is_not_there_is_an_error(tmp_path):
    problems = Problems()
    assert load_templates(tmp_path / "нет", problems) is None
    assert "папки шаблонов" in problems.errors[0].message and "--templates" in problems.errors[0].message


@pytest.mark.parametrize(
    "text, named",
    [
        ("{% if deadline %}без конца", "«{% if deadline %}» не закрыт: добавьте после него {% endif %}"),
        ("{{ municipality }", "тег «{{ municipality }» не закрыт или не открыт"),
        ("{{ municipality | }}", "тег «{{ municipality | }}» записан неверно"),
        ("{{ municipality|upperr }}", "тег «{{ municipality|upperr }}» записан неверно (неизвестный фильтр после «|»)"),
        ("{% endfor %}", "лишний «{% endfor %}»: перед ним нет открывающего тега"),
        ("{% municipality %}", "неизвестная команда «{% municipality %}»"),
    ],
)
def test_a_broken_tag_is_named_as_the_clerk_finds_it_in_word(tmp_path, text, named):
    template = Template.load(add_paragraph(TEMPLATES / "letter.docx", tmp_path / "letter.docx", text))
    with pytest.raises(RenderError) as error:
        template.render(sample_context())
    assert str(error.value).startswith(f"шаблон letter.docx: ошибка в теге — {named}")


@pytest.mark.parametrize("text, left", [("{ { municipality }}", "{ { municipality }}"), ("до {deadline}", "{deadline}")])
def test_a_tag_jinja_cannot_see_is_found_before_it_is_printed_in_letters(tmp_path, text, left):
    for name in ("letter", "appendix1", "appendix2", "appendix3"):
        shutil.copy(TEMPLATES / f"{name}.docx", tmp_path)
    add_paragraph(tmp_path / "letter.docx", tmp_path / "letter.docx", text)
    problems = Problems()
    check_templates(load_templates(tmp_path, problems), sample_context(), problems)
    assert [p.message.split(" — ")[0] for p in problems] == [f"шаблон letter.docx: в тексте остался «{left}»"]


def test_an_expression_that_cannot_be_computed_is_a_clean_error(tmp_path):
    template = Template.load(add_paragraph(TEMPLATES / "letter.docx", tmp_path / "letter.docx", "{{ municipality + 1 }}"))
    with pytest.raises(RenderError, match="тег не удалось вычислить"):
        template.render(sample_context())


# --- a long appendix 1 comes as several tables ---

def _long_dataset(sites: int, per_site: int):
    sample = load_dataset(ROOT / "data", Problems())
    municipality = sample.municipalities[0]
    organizations = [
        dataclasses.replace(sample.organizations[0], name=f"Школа № {i}", site=f"https://school{i}.ru",
                            site_key=f"school{i}.ru", municipality=municipality.name)
        for i in range(sites)
    ]
    findings = [Finding(o, e, dt.date(2024, 5, 13), "") for o in organizations for e in sample.errors[:per_site]]
    return dataclasses.replace(sample, organizations=organizations, findings=findings), municipality


def test_a_long_appendix_1_is_tables_of_at_most_200_rows_cut_between_institutions():
    dataset, municipality = _long_dataset(sites=70, per_site=6)  # 420 findings
    context = pack_context(dataset, municipality, "1/24", dt.date(2024, 5, 20), appendix_number=1)
    document = docx.Document(io.BytesIO(Template.load(TEMPLATES / "appendix1.docx").render(context)))
    tables = document.tables
    assert [len(t.rows) - 1 for t in tables] == [198, 198, 24]  # 33 schools of 6 rows fit in 200
    numbers = [int(r.cells[0].text) for t in tables for r in t.rows[1:]]
    assert numbers == list(range(1, 421))  # one numbering through all of them
    for table in tables:
        assert [c.text for c in table.rows[0].cells][:2] == ["№", "Учреждение"]  # each with its header
    firsts = [t.rows[1].cells[1].text for t in tables]
    lasts = [t.rows[-1].cells[1].text for t in tables]
    assert not set(firsts[1:]) & set(lasts[:-1])  # no school is cut between two tables


def test_an_ordinary_appendix_1_is_one_table():
    dataset, municipality = _long_dataset(sites=20, per_site=9)
    context = pack_context(dataset, municipality, "1/24", dt.date(2024, 5, 20), appendix_number=1)
    document = docx.Document(io.BytesIO(Template.load(TEMPLATES / "appendix1.docx").render(context)))
    assert len(dataset.errors) == 9
    assert len(document.tables) == 1 and len(document.tables[0].rows) == 1 + 180
