"""Step 4: render the .docx templates with docxtpl.

Autoescaping is on, so `&`, `<` and quotes in the tables appear in Word exactly as
written; an undefined variable is an error that names the template and the variable,
never a silent blank.
"""

from __future__ import annotations

import functools
import gc
import html
import hashlib
import io
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from docx.image.exceptions import InvalidImageStreamError, UnexpectedEndOfFileError, UnrecognizedImageError
from docx.image.image import Image
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from lxml import etree

from .problems import Problems

NAMES = ("letter", "appendix1", "appendix2", "appendix3")  # a letter to one head (kinds.PERSONAL)
# The templates shipped with the program: what a template missing from the clerk's folder falls back to.
PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
# A picture takes the text's width less a margin (the text is 180 mm wide), unless it is so
# tall (a phone's screen) that the page and its caption would not hold it.
PICTURE_WIDTH_MM = 170
PICTURE_MAX_HEIGHT_MM = 200


class RenderError(Exception):
    """A template that cannot be rendered; the message is for the clerk, in Russian."""


@dataclass(frozen=True)
class Picture:
    """A picture in the context. docxtpl's InlineImage needs the document being rendered, which
    exists only inside `Template.render`; there each Picture becomes one.

    `digest` is the picture's sha256: it is in the context's text, so the render memo of a
    re-run sees a new screenshot under the same name."""

    path: Path | None
    digest: str
    data: bytes = field(default=b"", repr=False)  # used instead of `path` (the sample context)

    @classmethod
    def from_file(cls, path: Path) -> Picture:
        return cls(path, hashlib.sha256(path.read_bytes()).hexdigest())

    @classmethod
    def from_bytes(cls, data: bytes) -> Picture:
        return cls(None, hashlib.sha256(data).hexdigest(), data)

    def source(self):
        return io.BytesIO(self.data) if self.path is None else str(self.path)


@dataclass(frozen=True)
class Template:
    name: str  # file name, for messages
    data: bytes  # read once: docxtpl re-parses its input on every render anyway

    @classmethod
    def load(cls, path: Path) -> Template:
        return cls(path.name, path.read_bytes())

    @functools.cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def render(self, context: dict) -> bytes:
        """The rendered .docx as bytes."""
        data = self._render(context)
        # python-docx's package and its parts refer to each other, so every rendered document
        # (its XML trees: megabytes for a long appendix) waits for Python's cycle collector,
        # which rarely looks at them: 1,200 documents left 200 MB behind. They are still in
        # the young generations, and collecting those now costs nothing measurable.
        gc.collect(1)
        return data

    def _render(self, context: dict) -> bytes:
        try:
            document = _Docx(io.BytesIO(self.data))
            document.render(_with_images(context, document), _environment(), autoescape=True)
        except jinja2.UndefinedError as exc:
            raise RenderError(_undefined_message(self.name, exc)) from exc
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(_syntax_message(self.name, self.data, exc)) from exc
        except _PictureError as exc:
            raise RenderError(f"шаблон {self.name}: {exc}") from exc
        except (zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as exc:
            raise RenderError(
                f"шаблон {self.name} не открывается как документ Word (.docx): сохраните его "
                "в Word заново в формате «Документ Word (*.docx)»"
            ) from exc
        except (jinja2.TemplateError, TypeError, ArithmeticError, AttributeError) as exc:
            # an expression that parses but cannot be computed: {{ municipality + 1 }}
            raise RenderError(
                f"шаблон {self.name}: тег не удалось вычислить: в тегах {{{{ }}}} пишите только имена "
                "переменных (список — в README, раздел «Переменные шаблонов»), без вычислений"
            ) from exc
        out = io.BytesIO()
        document.save(out)
        return stable_zip(out.getvalue())


class _PictureError(Exception):
    pass


class _Docx(DocxTemplate):
    """docxtpl cleans the template's XML with some thirty regular expressions on every
    render (`patch_xml`, which depends on the XML alone); the XML is the same each time,
    so the cleaned text is kept (a seventh of the rendering time)."""

    def patch_xml(self, src_xml: str) -> str:
        return _patched(src_xml)


@functools.lru_cache(maxsize=64)
def _patched(src_xml: str) -> str:
    return DocxTemplate.patch_xml(None, src_xml)


def _with_images(value, document: DocxTemplate):
    """The context with every Picture, however deep, made into an InlineImage of `document`."""
    if isinstance(value, Picture):
        return _inline_image(value, document)
    if isinstance(value, dict):
        return {key: _with_images(item, document) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_with_images(item, document) for item in value)
    return value


def _inline_image(picture: Picture, document: DocxTemplate) -> InlineImage:
    try:
        image = Image.from_file(picture.source())
    except (OSError, InvalidImageStreamError, UnexpectedEndOfFileError, UnrecognizedImageError) as exc:
        raise _PictureError(f"снимок экрана {picture.path} не читается как картинка PNG или JPEG") from exc
    height_mm = PICTURE_WIDTH_MM * image.px_height / max(image.px_width, 1)
    if height_mm > PICTURE_MAX_HEIGHT_MM:
        return InlineImage(document, picture.source(), height=Mm(PICTURE_MAX_HEIGHT_MM))
    return InlineImage(document, picture.source(), width=Mm(PICTURE_WIDTH_MM))


def templates_folder(given: Path | None, data: Path) -> Path | None:
    """The clerk's templates: the folder given with --templates, else a folder `templates`
    next to the data folder; None when there is none (the program's own are used)."""
    if given is not None:
        return given
    beside = data.resolve().parent / "templates"
    return beside if beside.is_dir() else None


def load_templates(folder: Path | None, problems: Problems, names=NAMES) -> dict[str, Template] | None:
    """The templates `names`, each from the clerk's folder, or the program's own where the
    folder has none (a clerk who edited the letter need not copy every template of every
    kind; the note says which were taken from the program)."""
    if folder is not None and not folder.is_dir():
        problems.error(f"папки шаблонов {folder} нет: укажите в --templates папку с шаблонами .docx")
        return None
    templates, borrowed = {}, []
    for name in names:
        path = folder / f"{name}.docx" if folder is not None else None
        if path is None or not path.is_file():
            if folder is not None:
                borrowed.append(f"{name}.docx")
            path = PACKAGE_TEMPLATES / f"{name}.docx"
        if not path.is_file():
            problems.error(f"нет шаблона {name}.docx ни в папке шаблонов, ни в программе: переустановите программу",
                           file=f"{name}.docx")
            continue
        templates[name] = Template.load(path)
    if borrowed:
        problems.note(f"в папке шаблонов {folder} нет {', '.join(borrowed)}: взяты шаблоны программы "
                      f"({PACKAGE_TEMPLATES}); свой шаблон положите в {folder}")
    return templates if len(templates) == len(names) else None


def check_templates(templates: dict[str, Template], sample: dict, problems: Problems) -> None:
    """Render every template once with a sample context, to find errors before a build.

    A tag broken so that Jinja does not see it (`{ {` with a space, one brace) would be
    printed in every letter as is: the sample has no braces, so any left in the result
    came from the template."""
    for template in templates.values():
        try:
            rendered = template.render(sample)
        except RenderError as exc:
            problems.error(str(exc), file=template.name)
            continue
        leftover = next((_LEFTOVER.search(t) for t in document_paragraphs(rendered) if _LEFTOVER.search(t)), None)
        if leftover:
            problems.error(
                f"шаблон {template.name}: в тексте остался «{_fragment(leftover.string, leftover.start())}» — это "
                "похоже на испорченный тег, и в письме он будет напечатан как есть: напишите его как "
                "{{ имя }} или {% … %}, без пробелов между скобками",
                file=template.name,
            )


def stable_zip(data: bytes) -> bytes:
    """The same .docx bytes for the same content: python-docx stamps every zip entry with
    the current time; the stamps are set to 1980-01-01 in the local headers and in the
    central directory, in place (rewriting the archive would compress it all again).
    A re-run compares these bytes to know what changed."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            struct.pack_into("<HH", out, info.header_offset + 10, 0, _DOS_1980)
    end = out.rfind(b"PK\x05\x06")
    count, _size, offset = struct.unpack_from("<HII", out, end + 10)
    for _ in range(count):
        struct.pack_into("<HH", out, offset + 12, 0, _DOS_1980)
        names, extra, comment = struct.unpack_from("<HHH", out, offset + 28)
        offset += 46 + names + extra + comment
    return bytes(out)


_DOS_1980 = (0 << 9) | (1 << 5) | 1  # 1980-01-01 as a zip (MS-DOS) date


class _Environment(jinja2.Environment):
    """docxtpl compiles the template's XML on every render; the XML is the same each time,
    so the compiled template is kept (about a fifth of the rendering time)."""

    @functools.lru_cache(maxsize=64)
    def from_string(self, source, globals=None, template_class=None):  # noqa: A002 (jinja's name)
        return super().from_string(source, globals, template_class)


@functools.cache
def _environment() -> jinja2.Environment:
    return _Environment(undefined=jinja2.StrictUndefined, autoescape=True)


# Text left in a rendered document that looks like a tag: «{ {», «{%», «}}», «{name}».
_LEFTOVER = re.compile(r"\{\s*[{%#]|[}%#]\s*\}|\{\s*[A-Za-z_][\w.]*\s*\}")
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
_BLOCKS = {"for": "endfor", "if": "endif", "with": "endwith", "macro": "endmacro", "call": "endcall",
           "filter": "endfilter", "raw": "endraw", "autoescape": "endautoescape"}
_SINGLE = {"else", "elif", "set", "colspan", "cellbg", "vm", "hm", "include", "import"}


def document_paragraphs(data: bytes) -> list[str]:
    """The text of every paragraph of a .docx, headers and footers included, as Word shows it."""
    paragraphs = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", name):
                xml = archive.read(name).decode("utf-8", errors="replace")
                for p in re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.S):
                    paragraphs.append(html.unescape("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", p))))
    return paragraphs


def _syntax_message(template: str, data: bytes, exc: jinja2.TemplateSyntaxError) -> str:
    """Name the broken tag as the clerk can find it in Word (Ctrl+F), not Jinja's line in the XML."""
    try:
        where = _broken_tag(document_paragraphs(data))
    except (zipfile.BadZipFile, KeyError):
        where = None
    what = where or _reason(exc.message or "")
    return (
        f"шаблон {template}: ошибка в теге — {what}; откройте шаблон в Word и исправьте тег "
        "(пары {{ }} и {% %}, команды for/endfor, if/endif)"
    )


def _broken_tag(paragraphs: list[str]) -> str | None:
    """The first broken tag of a template, described in Russian; None when not found."""
    env = _environment()
    open_blocks: list[tuple[str, str]] = []  # (command, the tag as written)
    for text in paragraphs:
        rest = _TAG.sub(" ", text)
        for mark in ("{{", "{%", "}}", "%}"):
            if mark in rest:
                start = rest.index(mark)
                return f"тег «{_fragment(rest, start)}» не закрыт или не открыт: у {{{{ должна быть пара }}}}, у {{% — пара %}}"
        for match in _TAG.finditer(text):
            tag = match.group(0)
            problem = _check_tag(env, tag, open_blocks)
            if problem:
                return problem
    if open_blocks:
        command, tag = open_blocks[-1]
        return f"«{tag}» не закрыт: добавьте после него {{% {_BLOCKS[command]} %}}"
    return None


def _check_tag(env: jinja2.Environment, tag: str, open_blocks: list[tuple[str, str]]) -> str | None:
    # docxtpl's {%p …%}, {%tr …%}, {%tc …%}, {{r …}} are Jinja tags with a prefix
    inner = re.sub(r"^\{[{%#](?:(?:p|tr|tc|r)\s+|\s*)", "", tag)[:-2].strip()
    if tag.startswith("{{"):
        try:
            env.from_string("{{ " + inner + " }}")
        except jinja2.TemplateSyntaxError as exc:
            return f"тег «{tag}» записан неверно ({_reason(exc.message or '')})"
        return None
    if tag.startswith("{#"):
        return None
    command = inner.split()[0] if inner.split() else ""
    if command in _BLOCKS:
        try:
            env.from_string("{% " + inner + " %}{% " + _BLOCKS[command] + " %}")
        except jinja2.TemplateSyntaxError as exc:
            return f"тег «{tag}» записан неверно ({_reason(exc.message or '')})"
        open_blocks.append((command, tag))
    elif command in _BLOCKS.values():
        if not open_blocks:
            return f"лишний «{tag}»: перед ним нет открывающего тега"
        opened, opening = open_blocks.pop()
        if _BLOCKS[opened] != command:
            return f"«{tag}» стоит там, где должен закрываться «{opening}» (нужен {{% {_BLOCKS[opened]} %}})"
    elif command not in _SINGLE:
        return f"неизвестная команда «{tag}»: в шаблонах бывают {{% for %}}, {{% if %}}, {{% else %}} и их {{% endfor %}}, {{% endif %}}"
    return None


def _reason(message: str) -> str:
    """Jinja's English reason, as a clerk can act on it."""
    known = (
        ("Unexpected end of template", "не закрыт блок {% for %} или {% if %}"),
        ("unknown tag", "неизвестная команда в {% %}"),
        ("No filter named", "неизвестный фильтр после «|»"),
        ("unexpected '}'", "лишняя или одиночная скобка }"),
        ("unexpected end of print", "пустой тег {{ }}"),
        ("expected token", "выражение в теге записано неверно"),
    )
    return next((russian for english, russian in known if english.lower() in message.lower()), "тег записан неверно")


def _fragment(text: str, start: int, width: int = 60) -> str:
    """The tag at `start`, up to its closing brace or the end of the words around it."""
    end = text.find("}", start + 1)
    end = len(text) if end < 0 else min(len(text), end + 2 if text[end + 1 : end + 2] == "}" else end + 1)
    return text[start:end][:width].strip()


def _undefined_message(template: str, exc: jinja2.UndefinedError) -> str:
    text = str(exc)
    match = re.search(r"has no attribute '([^']+)'", text) or re.search(r"'([^']+)' is undefined", text)
    name = match.group(1) if match else text
    return (
        f"шаблон {template} использует переменную «{name}», которой программа не знает: "
        "исправьте её имя в шаблоне (список переменных — в README, раздел «Переменные шаблонов»)"
    )
