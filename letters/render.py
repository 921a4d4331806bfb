"""Step 4: render the .docx templates with docxtpl.

Autoescaping is on, so `&`, `<` and quotes in the tables appear in Word exactly as
written; an undefined variable is an error that names the template and the variable,
never a silent blank.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jinja2
from docxtpl import DocxTemplate

from .problems import Problems

NAMES = ("letter", "appendix1", "appendix2", "appendix3")


class RenderError(Exception):
    """A template that cannot be rendered; the message is for the clerk, in Russian."""


@dataclass(frozen=True)
class Template:
    name: str  # file name, for messages
    data: bytes  # read once: docxtpl re-parses its input on every render anyway

    @classmethod
    def load(cls, path: Path) -> Template:
        return cls(path.name, path.read_bytes())

    def render(self, context: dict) -> bytes:
        """The rendered .docx as bytes."""
        try:
            document = DocxTemplate(io.BytesIO(self.data))
            document.render(context, _environment(), autoescape=True)
        except jinja2.UndefinedError as exc:
            raise RenderError(_undefined_message(self.name, exc)) from exc
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(
                f"шаблон {self.name}: ошибка в теге ({exc.message}); откройте шаблон в Word и "
                "проверьте парные скобки {{ }} и {% %} и команды for/endfor, if/endif"
            ) from exc
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise RenderError(
                f"шаблон {self.name} не открывается как документ Word (.docx): сохраните его "
                "в Word заново в формате «Документ Word (*.docx)»"
            ) from exc
        out = io.BytesIO()
        document.save(out)
        return stable_zip(out.getvalue())


def load_templates(folder: Path, problems: Problems) -> dict[str, Template] | None:
    templates = {}
    for name in NAMES:
        path = folder / f"{name}.docx"
        if not path.is_file():
            problems.error(f"нет шаблона {name}.docx в папке шаблонов {folder}", file=f"{name}.docx")
            continue
        templates[name] = Template.load(path)
    return templates if len(templates) == len(NAMES) else None


def check_templates(templates: dict[str, Template], sample: dict, problems: Problems) -> None:
    """Render every template once with a sample context, to find errors before a build."""
    for template in templates.values():
        try:
            template.render(sample)
        except RenderError as exc:
            problems.error(str(exc), file=template.name)


def stable_zip(data: bytes) -> bytes:
    """The same .docx bytes for the same content: python-docx stamps every zip entry with
    the current time, so entries are rewritten with a fixed one (order kept: Word wants
    [Content_Types].xml first). A re-run compares these bytes to know what changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(entry.filename))
    return out.getvalue()


def _environment() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)


def _undefined_message(template: str, exc: jinja2.UndefinedError) -> str:
    text = str(exc)
    match = re.search(r"has no attribute '([^']+)'", text) or re.search(r"'([^']+)' is undefined", text)
    name = match.group(1) if match else text
    return (
        f"шаблон {template} использует переменную «{name}», которой программа не знает: "
        "исправьте её имя в шаблоне (список переменных — в README, раздел «Переменные шаблонов»)"
    )
