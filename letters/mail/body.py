"""`letters mail`: the text of each message, from an editable template.

The template is `mail.txt` in the clerk's templates folder (next to the data folder, as
for the letters' .docx templates), or the program's own (`letters/templates/mail.txt`).
It is Jinja2 text; a blank line starts a paragraph, so the HTML part is made from the
same words and both parts always say the same.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from pathlib import Path

import jinja2

from ..model import Settings
from ..problems import Problems
from ..render import PACKAGE_TEMPLATES, templates_folder

NAME = "mail.txt"
DEFAULT_GREETING = "Добрый день!"


@dataclass(frozen=True)
class Body:
    template: jinja2.Template
    source: Path

    def render(self, **context) -> tuple[str, str]:
        """Plain text (CRLF line ends) and HTML of the same words."""
        text = self.template.render(**context).strip()
        paragraphs = [p.strip("\n") for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        plain = "\r\n\r\n".join(p.replace("\n", "\r\n") for p in paragraphs) + "\r\n"
        rich = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>"
                + "".join("<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>" for p in paragraphs)
                + "</body></html>")
        return plain, rich


def load_body(data: Path, problems: Problems) -> Body | None:
    """The clerk's `mail.txt`, else the program's; None (reported) when it cannot be used."""
    folder = templates_folder(None, data)
    path = folder / NAME if folder is not None and (folder / NAME).is_file() else PACKAGE_TEMPLATES / NAME
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        template = environment.from_string(path.read_text(encoding="utf-8-sig"))
        body = Body(template, path)
        body.render(**sample_context())
    except (OSError, UnicodeDecodeError) as exc:
        problems.error(f"шаблон текста письма {path} не читается ({exc}): сохраните его в кодировке UTF-8", file=NAME)
        return None
    except jinja2.TemplateSyntaxError as exc:
        problems.error(f"ошибка в шаблоне текста письма, строка {exc.lineno}: {exc.message}; исправьте {path}",
                       file=NAME, row=exc.lineno)
        return None
    except jinja2.UndefinedError as exc:
        problems.error(f"в шаблоне текста письма {path} неизвестное поле ({exc.message}); возможные: "
                       f"{', '.join(sorted(sample_context()))}", file=NAME)
        return None
    return body


def context(*, settings: Settings, sender_name: str, number: str, date: str, municipality: str, addressee: str,
            greeting: str, appendices: list[str], files: list[str]) -> dict:
    return {
        "greeting": greeting or DEFAULT_GREETING, "addressee": addressee.replace("\u00a0", " "),
        "number": number, "date": date, "subject": settings.subject, "municipality": municipality,
        "sender": {**asdict(settings.sender), "name": sender_name or settings.sender.name},
        "executor": asdict(settings.executor), "appendices": appendices, "files": files,
    }


def sample_context() -> dict:
    """Every field a template may use, to find a misspelt one before anything is written."""
    sender = {"name": "Департамент", "name_genitive": "Департамента", "address": "адрес", "phone": "1", "email": "a@b.ru",
              "fax": ""}
    return {"greeting": DEFAULT_GREETING, "addressee": "Главе", "number": "1/24", "date": "01.01.2024",
            "subject": "О", "municipality": "МО", "sender": sender, "executor": {"name": "И", "phone": "1"},
            "appendices": ["1. Приложение — на 1 л."], "files": ["Письмо 1-24.pdf"]}
