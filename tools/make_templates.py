"""Write the four Word templates of `letters`: the letter and its three appendices.

    python tools/make_templates.py [OUTDIR]        # default: letters/templates/, the package's own

The templates are ordinary Word documents (A4, Times New Roman, named styles) with Jinja tags
for docxtpl. Clerks are expected to edit them in Word; this script only makes the first version.
The variables they use are listed in README.md, «Переменные шаблонов».

Rules kept here (see shared/spec/letter-format.md, ГОСТ Р 7.0.97):
- margins 20/10/20/20 mm (left/right/top/bottom), body 14 pt justified, first line 1.25 cm;
- requisites single spaced without indent; tables 11 pt;
- page numbers from the second page, centred in the header;
- every Jinja tag sits inside one run, so docxtpl sees it whole; `{%p %}` / `{%tr %}` tags
  are alone in their paragraph / row.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from letters.render import stable_zip  # noqa: E402

FONT = "Times New Roman"
NBSP = "\u00a0"
ZWSP = "\u200b"  # invisible line-break opportunity (inside long URLs)

# Page geometry (mm).
PAGE_W, PAGE_H = 210, 297
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 20, 10, 20, 20
TEXT_W = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT  # 180 mm

# Letterhead: the left column is 7.5 cm; the addressee starts 9 cm from the left margin.
HEAD_LEFT_W, ADDRESSEE_FROM = 75, 90
# Appendix corner block starts this far from the left margin (a zone of 8.5 cm).
APPENDIX_BLOCK_FROM = 95

BODY_PT, REQUISITE_PT, SMALL_PT, TABLE_PT, CORNER_PT = 14, 14, 10, 11, 12


# --------------------------------------------------------------------------- document & styles

def new_document():
    """An empty A4 document with the project's styles and a page-numbered header."""
    doc = Document()
    _set_doc_defaults(doc)
    _define_styles(doc)
    _setup_page(doc)
    _page_number_header(doc)
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):  # the default template's empty paragraph
        body.remove(p)
    props = doc.core_properties
    props.author = ""
    props.last_modified_by = ""
    props.comments = ""
    return doc


def _set_doc_defaults(doc):
    """Times New Roman 14 pt, Russian, single spacing for everything not said otherwise."""
    styles = doc.styles.element
    rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for child in list(rpr):
        rpr.remove(child)
    rpr.append(_rfonts())
    rpr.append(_el("w:sz", val=str(BODY_PT * 2)))
    rpr.append(_el("w:szCs", val=str(BODY_PT * 2)))
    rpr.append(_el("w:lang", val="ru-RU", eastAsia="ru-RU", bidi="ar-SA"))
    ppr = styles.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    for child in list(ppr):
        ppr.remove(child)
    ppr.append(_el("w:spacing", after="0", line="240", lineRule="auto"))


def _rfonts():
    return _el("w:rFonts", ascii=FONT, hAnsi=FONT, cs=FONT, eastAsia=FONT)


def _el(tag, **attrs):
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    return el


def _paragraph_style(doc, style_id, name, *, base="Normal", size=None, bold=None, italic=None,
                     align=None, first_line=None, left=None, before=0, after=0,
                     line=1.0, keep_next=False):
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = style_id
    style.base_style = doc.styles[base]
    style.quick_style = True
    font = style.font
    font.name = FONT
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if italic is not None:
        font.italic = italic
    fmt = style.paragraph_format
    if align is not None:
        fmt.alignment = align
    if first_line is not None:
        fmt.first_line_indent = first_line
    if left is not None:
        fmt.left_indent = left
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    if line == 1.0:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        fmt.line_spacing = line
    fmt.keep_with_next = keep_next
    fmt.widow_control = True
    return style


def _define_styles(doc):
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    old = rpr.find(qn("w:rFonts"))
    if old is not None:
        rpr.remove(old)
    rpr.insert(0, _rfonts())
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE

    J, L, C = WD_ALIGN_PARAGRAPH.JUSTIFY, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.CENTER
    # Text
    _paragraph_style(doc, "LetterText", "Текст письма", size=BODY_PT, align=J,
                     first_line=Cm(1.25))
    _paragraph_style(doc, "LetterList", "Перечисление", base="Текст письма")
    _paragraph_style(doc, "Salutation", "Обращение", size=BODY_PT, align=C, before=18, after=12)
    # Requisites
    _paragraph_style(doc, "Requisite", "Реквизит", size=REQUISITE_PT, align=L)
    _paragraph_style(doc, "SenderName", "Наименование организации", base="Реквизит",
                     bold=True, align=C)
    _paragraph_style(doc, "SenderInfo", "Справочные данные", base="Реквизит", size=SMALL_PT,
                     align=C)
    _paragraph_style(doc, "DateNumber", "Дата и номер", base="Реквизит", size=12, align=C)
    _paragraph_style(doc, "Subject", "Заголовок к тексту", base="Реквизит", align=L)
    _paragraph_style(doc, "Addressee", "Адресат", base="Реквизит", align=L,
                     left=Mm(ADDRESSEE_FROM - HEAD_LEFT_W))
    # The appendix mark, the signature and the executor keep together on one page.
    _paragraph_style(doc, "AppendixMark", "Отметка о приложении", base="Реквизит", align=L,
                     keep_next=True)
    sign = _paragraph_style(doc, "Signature", "Подпись", base="Реквизит", align=L, before=36,
                            keep_next=True)
    sign.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_W), WD_TAB_ALIGNMENT.RIGHT)
    _paragraph_style(doc, "Executor", "Исполнитель", base="Реквизит", size=SMALL_PT, align=L,
                     keep_next=True)
    # Appendices
    _paragraph_style(doc, "AppendixCorner", "Гриф приложения", base="Реквизит", size=CORNER_PT,
                     align=L, left=Mm(APPENDIX_BLOCK_FROM))
    _paragraph_style(doc, "AppendixTitle", "Заголовок приложения", base="Реквизит", bold=True,
                     align=C, keep_next=True)
    _paragraph_style(doc, "ItemHeading", "Заголовок пункта", base="Текст письма", bold=True,
                     before=12, keep_next=True)
    _paragraph_style(doc, "ItemNote", "Примечание к пункту", base="Текст письма", italic=True,
                     before=6)
    # Tables
    _paragraph_style(doc, "TableText", "Таблица", base="Реквизит", size=TABLE_PT, align=L)
    _paragraph_style(doc, "TableCentered", "Таблица по центру", base="Таблица", align=C)
    _paragraph_style(doc, "TableHeader", "Таблица — шапка", base="Таблица", bold=True, align=C)
    # Header (page number)
    header = doc.styles["Header"]
    header.font.name = FONT
    header.font.size = Pt(12)
    header.paragraph_format.alignment = C
    header.paragraph_format.tab_stops.clear_all()


def _setup_page(doc):
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
    section.left_margin, section.right_margin = Mm(MARGIN_LEFT), Mm(MARGIN_RIGHT)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP), Mm(MARGIN_BOTTOM)
    section.header_distance = section.footer_distance = Mm(10)
    section.start_type = WD_SECTION.NEW_PAGE


def _page_number_header(doc):
    """Number pages from the second one: empty first-page header, PAGE field in the others."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False
    section.header.is_linked_to_previous = False
    paragraph = section.header.paragraphs[0]
    paragraph.style = doc.styles["Header"]
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"),
                       ("end", None)):
        if kind:
            run._r.append(_el("w:fldChar", fldCharType=kind))
        elif text.strip() == "PAGE":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            t = OxmlElement("w:t")
            t.text = text
            run._r.append(t)


# --------------------------------------------------------------------------- helpers

def para(container, text="", style="Текст письма"):
    """A paragraph whose text is one run (so any Jinja tag in it stays whole)."""
    p = container.add_paragraph(style=style)
    if text:
        p.add_run(text)
    return p


def runs(container, parts, style="Текст письма"):
    """A paragraph of several runs: parts are (text, bold) pairs; each tag stays in one run."""
    p = container.add_paragraph(style=style)
    for text, bold in parts:
        run = p.add_run(text)
        if bold:
            run.bold = True
    return p


LINK = re.compile(r"https?://[^\s()«»]*[^\s().,;«»]|[\w.-]+@[\w-]+(?:\.[\w-]+)+")


def linked_para(container, text, style="Текст письма"):
    """A paragraph of plain text whose URLs and e-mail addresses are clickable links.

    The text is typographic: a non-breaking space before each dash «—».
    """
    text = text.replace(" — ", f"{NBSP}— ")
    p = container.add_paragraph(style=style)
    pos = 0
    for match in LINK.finditer(text):
        if match.start() > pos:
            p.add_run(text[pos:match.start()])
        hyperlink(p, match.group())
        pos = match.end()
    if pos < len(text):
        p.add_run(text[pos:])
    return p


def hyperlink(paragraph, address):
    """An external link that looks like the text around it (as printed letters have them).

    A long URL gets invisible break opportunities after the «/» and «_» of its path, so it can
    wrap instead of leaving a justified line with huge gaps before it.
    """
    target = address if "://" in address else f"mailto:{address}"
    r_id = paragraph.part.relate_to(target, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    shown = address
    if "://" in address:
        scheme, rest = address.split("://", 1)
        host, slash, path = rest.partition("/")
        path = re.sub(r"([/_])", r"\1" + ZWSP, slash + path).rstrip(ZWSP)
        shown = f"{scheme}://{host}{path}"
    t.text = shown
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def first_paragraph(cell, style):
    p = cell.paragraphs[0]
    p.style = style
    return p


def layout_table(doc, widths_mm, rows=1, borders=False):
    """A fixed-width table; borderless ones have no cell padding at the sides."""
    table = doc.add_table(rows=rows, cols=len(widths_mm))
    if borders:
        table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False  # w:tblLayout fixed
    tbl_pr = table._tbl.tblPr
    tbl_w = tbl_pr.find(qn("w:tblW"))
    tbl_w.set(qn("w:type"), "dxa")
    tbl_w.set(qn("w:w"), str(int(Mm(sum(widths_mm)).twips)))
    if not borders:
        edges = _el("w:tblBorders")
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            edges.append(_el(f"w:{edge}", val="nil"))
        tbl_pr.append(edges)
    side = 0 if not borders else 57  # twips: none / 1 mm
    mar = _el("w:tblCellMar")
    for edge, value in (("top", 0 if not borders else 28), ("left", side),
                        ("bottom", 0 if not borders else 28), ("right", side)):
        mar.append(_el(f"w:{edge}", w=str(value), type="dxa"))
    tbl_pr.append(mar)
    _reorder_tbl_pr(tbl_pr)
    grid = table._tbl.tblGrid
    for col, width in zip(grid.iterchildren(qn("w:gridCol")), widths_mm):
        col.set(qn("w:w"), str(int(Mm(width).twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm):
            cell.width = Mm(width)
    return table


_TBL_PR_ORDER = ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize",
                 "tblStyleColBandSize", "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders",
                 "shd", "tblLayout", "tblCellMar", "tblLook"]


def _reorder_tbl_pr(tbl_pr):
    """Keep tblPr children in schema order (Word refuses files that don't)."""
    order = {qn(f"w:{name}"): i for i, name in enumerate(_TBL_PR_ORDER)}
    children = sorted(tbl_pr, key=lambda el: order.get(el.tag, len(order)))
    for child in children:
        tbl_pr.remove(child)
        tbl_pr.append(child)


def row_props(row, header=False):
    """Rows never split across pages; a header row repeats on every page."""
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(_el("w:cantSplit"))
    if header:
        tr_pr.append(_el("w:tblHeader"))


def fill_row(row, texts, style):
    for cell, text in zip(row.cells, texts):
        p = first_paragraph(cell, style)
        if text:
            p.add_run(text)


def data_table(doc, columns, cells, loop_tag, endloop_tag, centered=()):
    """A bordered table: repeated header row, `{%tr for %}` row, data row, `{%tr endfor %}` row.

    columns: (title, width_mm) pairs; cells: the data row's texts; centered: indexes of the
    columns whose data is centred.
    """
    table = layout_table(doc, [w for _, w in columns], rows=4, borders=True)
    header, loop_row, data, end_row = table.rows
    fill_row(header, [t for t, _ in columns], "Таблица — шапка")
    row_props(header, header=True)
    for cell in header.cells:
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    fill_row(loop_row, [loop_tag] + [""] * (len(columns) - 1), "Таблица")
    for i, (cell, text) in enumerate(zip(data.cells, cells)):
        p = first_paragraph(cell, "Таблица по центру" if i in centered else "Таблица")
        p.add_run(text)
    row_props(data)
    fill_row(end_row, [endloop_tag] + [""] * (len(columns) - 1), "Таблица")
    return table


# --------------------------------------------------------------------------- letter blocks

def letterhead(doc):
    """Corner letterhead: sender block, date and number, heading left; addressee right."""
    table = layout_table(doc, [HEAD_LEFT_W, TEXT_W - HEAD_LEFT_W])
    left, right = table.rows[0].cells
    for cell in (left, right):
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP

    first_paragraph(left, "Наименование организации").add_run("{{ sender.name }}")
    p = para(left, "{{ sender.address }}", "Справочные данные")
    p.paragraph_format.space_before = Pt(6)
    para(left, "тел. {{ sender.phone }}{% if sender.fax %}, факс {{ sender.fax }}{% endif %}",
         "Справочные данные")
    para(left, "e-mail: {{ sender.email }}", "Справочные данные")
    para(left, "", "Дата и номер")
    para(left, f"{{{{ date }}}} №{NBSP}{{{{ number }}}}", "Дата и номер")
    p = para(left, f'На №{NBSP}{{{{ incoming.number or "_____" }}}} '
                   f'от {{{{ incoming.date or "_____" }}}}', "Дата и номер")
    p.paragraph_format.space_before = Pt(6)
    para(left, "", "Заголовок к тексту")
    para(left, "{{ subject }}", "Заголовок к тексту")

    first_paragraph(right, "Адресат").add_run("{{ addressee.position }}")
    para(right, "{{ addressee.name }}", "Адресат")


def salutation(doc):
    para(doc, "{{ salutation }}", "Обращение")


BODY = [
    "В соответствии с пунктом 10.1 Плана мероприятий по повышению значений показателей "
    "оперативного рейтинга выполнения показателей эффективности и результативности "
    "руководителей цифровой трансформации федерального и регионального уровней (далее — "
    "Рейтинг) Тюменской области, утвержденного протоколом регионального совещания "
    "с руководителями цифровой трансформации исполнительных органов государственной власти "
    "и органов местного самоуправления Тюменской области (далее — РЦТ), исполнительные органы "
    "государственной власти, органы местного самоуправления Тюменской области, подведомственные "
    "им учреждения на постоянной основе осуществляют работы по обеспечению установки на сайтах "
    "подведомственных организаций виджетов Платформы обратной связи (далее — ПОС) в целях "
    "достижения целевого значения показателя Рейтинга «Внедрение Платформы обратной связи» "
    "(далее — Показатель).",

    "Обучающие и методические материалы, инструкции и регламенты Минцифры России по размещению "
    "и функционированию виджетов, по работе в личном кабинете Федеральной государственной "
    "информационной системы «Единый портал государственных и муниципальных услуг (функций)» "
    "при осуществлении приема, маршрутизации и обработки сообщений (обращений), проведении "
    "общественных обсуждений, голосований и опросов опубликованы в сети Интернет по адресу "
    "https://pos.gosuslugi.ru/docs. При размещении виджетов на сайтах организаций необходимо "
    "руководствоваться инструкцией Минцифры России, размещенной в сети Интернет по адресу "
    "https://pos.gosuslugi.ru/docs/docs/instrukciya_po_razmesheniyu_el_formi_edino_go_portala.pdf.",

    "Ссылки на материалы и требования к размещению виджетов дополнительно опубликованы на сайте "
    "ГКУ ТО «ЦИТТО» в разделе «Направления деятельности» "
    "(https://citto.ru/directions/feedback_platform).",

    "В случае возникновения вопросов по размещению и (или) функционированию виджетов на сайтах "
    "необходимо обращаться в службу технической поддержки Минцифры России по электронной почте "
    "sd@sc.minsvyaz.ru.",

    "В целях обеспечения единого стандарта подачи обращений граждан в органы власти "
    "и организации Минцифры России осуществляется регулярный автоматизированный мониторинг "
    "корректности размещения виджетов на сайтах органов и организаций.",

    "В соответствии с методическими рекомендациями Минцифры России требованиями к корректному "
    "размещению виджетов на сайтах являются:",
]

REQUIREMENTS = [
    "– размещение на первом экране главной страницы сайта;",
    "– отображение без прокрутки содержимого страницы;",
    "– неизменность размеров виджета.",
]

AFTER_REQUIREMENTS = (
    "В случае несоответствия требованиям размещение виджетов на сайтах организаций Минцифры "
    "России не засчитывается. Пример корректного размещения виджета — https://dito.admtyumen.ru/."
)


def body(doc):
    for text in BODY:
        linked_para(doc, text)
    for text in REQUIREMENTS:
        linked_para(doc, text, "Перечисление")
    linked_para(doc, AFTER_REQUIREMENTS)
    runs(doc, [
        ("В связи с вышеизложенным просим обеспечить устранение выявленных ошибок размещения "
         "виджетов на сайтах подведомственных учреждений (приложение 1) в соответствии "
         "с рекомендациями (приложение 2) и планом мероприятий (приложение 3) и сообщить "
         "о проделанной работе ", False),
        (f"в{NBSP}срок{NBSP}до{NBSP}{{{{ deadline }}}}", True),
        (".", False),
    ])


def appendix_mark(doc):
    """«Приложение:» on the left, the numbered list of appendices in the right cell."""
    para(doc, "", "Реквизит")
    table = layout_table(doc, [33, TEXT_W - 33])
    left, right = table.rows[0].cells
    first_paragraph(left, "Отметка о приложении").add_run("Приложение:")
    first_paragraph(right, "Отметка о приложении").add_run("{%p for a in appendices %}")
    para(right,
         f"{{{{ a.number }}}}. {{{{ a.title }}}} на{NBSP}{{{{ a.sheets }}}}{NBSP}л. "
         f"в{NBSP}{{{{ a.copies }}}}{NBSP}экз.{{% if not loop.last %}};{{% endif %}}",
         "Отметка о приложении")
    para(right, "{%p endfor %}", "Отметка о приложении")


def signature(doc):
    para(doc, "{{ signer.position }}\t{{ signer.name }}", "Подпись")


def executor(doc):
    p = para(doc, "Исп. {{ executor.name }}", "Исполнитель")
    p.paragraph_format.space_before = Pt(48)
    para(doc, "тел. {{ executor.phone }}", "Исполнитель")


def make_letter():
    doc = new_document()
    letterhead(doc)
    salutation(doc)
    body(doc)
    appendix_mark(doc)
    signature(doc)
    executor(doc)
    return doc


# --------------------------------------------------------------------------- appendix blocks

def appendix_corner(doc):
    """«Приложение N / к письму … / от … № …» in the top right corner of the first page."""
    para(doc, "Приложение {{ appendix_number }}", "Гриф приложения")
    para(doc, "к письму {{ sender.name_genitive }}", "Гриф приложения")
    para(doc, f"от {{{{ date }}}} №{NBSP}{{{{ number }}}}", "Гриф приложения")


def appendix_title(doc, *lines):
    for i, text in enumerate(lines):
        p = para(doc, text, "Заголовок приложения")
        if i == 0:
            p.paragraph_format.space_before = Pt(24)
    p.paragraph_format.space_after = Pt(12)


FINDINGS_COLUMNS = [("№", 9), ("Учреждение", 40), ("Сайт", 34), ("Ошибка", 40),
                    ("Дата проверки", 22), ("Комментарий", 35)]

PLAN_COLUMNS = [("№ п/п", 11), ("Мероприятие", 58), ("Срок", 27), ("Ответственный", 40),
                ("Ожидаемый результат", 44)]


def make_appendix1():
    doc = new_document()
    appendix_corner(doc)
    appendix_title(doc,
                   "Перечень ошибок размещения виджетов ПОС, выявленных на сайтах учреждений",
                   "{{ municipality }}")
    # a long list comes as several tables (finding_tables; LibreOffice is slow on one very long
    # table); the hairline paragraph between them keeps Word and LibreOffice from joining them
    _paragraph_style(doc, "TableSeparator", "Между таблицами", size=1, line=Pt(1))
    para(doc, "{%p for part in finding_tables %}", "Текст письма")
    data_table(doc, FINDINGS_COLUMNS,
               ["{{ f.n }}", "{{ f.organization }}", "{{ f.site }}", "{{ f.error }}",
                "{{ f.checked_at }}", "{{ f.details }}"],
               "{%tr for f in part %}", "{%tr endfor %}", centered=(0, 4))
    para(doc, "", "Между таблицами")
    para(doc, "{%p endfor %}", "Текст письма")
    screenshots_section(doc)
    return doc


def make_appendix1_circular():
    """Appendix 1 of a letter by list: the findings of every municipality addressed, a group
    heading row per municipality (named again, «продолжение», at the top of a table that
    continues it), its institutions under it."""
    doc = new_document()
    appendix_corner(doc)
    appendix_title(doc,
                   "Перечень ошибок размещения виджетов ПОС, выявленных на сайтах учреждений",
                   "{{ municipality }}")
    _paragraph_style(doc, "TableSeparator", "Между таблицами", size=1, line=Pt(1))
    _paragraph_style(doc, "TableGroup", "Таблица — группа", base="Таблица", bold=True, keep_next=True)
    para(doc, "{%p for part in finding_tables %}", "Текст письма")
    columns = len(FINDINGS_COLUMNS)
    table = layout_table(doc, [w for _, w in FINDINGS_COLUMNS], rows=7, borders=True)
    header, groups, heading, loop, data, end_loop, end_groups = table.rows
    fill_row(header, [t for t, _ in FINDINGS_COLUMNS], "Таблица — шапка")
    row_props(header, header=True)
    for cell in header.cells:
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    for row, tag in ((groups, "{%tr for g in part %}"), (loop, "{%tr for f in g.findings %}"),
                     (end_loop, "{%tr endfor %}"), (end_groups, "{%tr endfor %}")):
        fill_row(row, [tag] + [""] * (columns - 1), "Таблица")
    merged = heading.cells[0].merge(heading.cells[-1])
    first_paragraph(merged, "Таблица — группа").add_run(
        "{{ g.municipality }}{% if g.continued %} (продолжение){% endif %}")
    row_props(heading)
    texts = ["{{ f.n }}", "{{ f.organization }}", "{{ f.site }}", "{{ f.error }}", "{{ f.checked_at }}",
             "{{ f.details }}"]
    for i, (cell, text) in enumerate(zip(data.cells, texts)):
        first_paragraph(cell, "Таблица по центру" if i in (0, 4) else "Таблица").add_run(text)
    row_props(data)
    para(doc, "", "Между таблицами")
    para(doc, "{%p endfor %}", "Текст письма")
    screenshots_section(doc)
    return doc


def follow_up_body(doc):
    """The follow-up letter's own wording: it cites the earlier letter and says what is left."""
    runs(doc, [
        ("В дополнение к письму {{ sender.name_genitive }} от {{ earlier.date }} "
         f"№{NBSP}{{{{ earlier.number }}}} сообщаем, что по результатам повторной проверки "
         "по состоянию на {{ date }} на сайтах подведомственных учреждений не устранены "
         "ошибки размещения виджетов ПОС: {{ earlier.remaining }} из {{ earlier.told }} "
         "(устранено {{ earlier.fixed }}){% if earlier.new %}, а также выявлены новые "
         "ошибки ({{ earlier.new }}){% endif %}. Перечень ошибок с отметкой о каждой приведён "
         "в приложении 1.", False),
    ])
    linked_para(doc, "Напоминаем, что требованиями к корректному размещению виджетов на сайтах являются:")
    for text in REQUIREMENTS:
        linked_para(doc, text, "Перечисление")
    linked_para(doc, AFTER_REQUIREMENTS)
    runs(doc, [
        ("Повторно просим обеспечить устранение ошибок размещения виджетов на сайтах "
         "подведомственных учреждений (приложение 1) в соответствии с рекомендациями "
         "(приложение 2) и планом мероприятий (приложение 3) и сообщить о проделанной работе ", False),
        (f"в{NBSP}срок{NBSP}до{NBSP}{{{{ deadline }}}}", True),
        (".", False),
    ])


def make_letter_followup():
    doc = new_document()
    letterhead(doc)
    salutation(doc)
    follow_up_body(doc)
    appendix_mark(doc)
    signature(doc)
    executor(doc)
    return doc


FOLLOW_UP_COLUMNS = [("№", 8), ("Учреждение", 33), ("Сайт", 29), ("Ошибка", 32),
                     ("Дата проверки", 20), ("Комментарий", 28), ("Отметка", 30)]


def make_appendix1_followup():
    """Appendix 1 of a follow-up: each finding marked «не устранена (письмо от … № …)» or
    «выявлена впервые», and how many of the earlier letter's findings were fixed since."""
    doc = new_document()
    appendix_corner(doc)
    appendix_title(doc,
                   "Перечень ошибок размещения виджетов ПОС, выявленных на сайтах учреждений",
                   "{{ municipality }}",
                   "по состоянию на {{ date }}")
    para(doc, "Из {{ earlier.told }} ошибок, указанных в письме от {{ earlier.date }} "
              f"№{NBSP}{{{{ earlier.number }}}}, устранено {{{{ earlier.fixed }}}}, не устранено "
              "{{ earlier.remaining }}; выявлено впервые: {{ earlier.new }}.", "Текст письма")
    _paragraph_style(doc, "TableSeparator", "Между таблицами", size=1, line=Pt(1))
    para(doc, "{%p for part in finding_tables %}", "Текст письма")
    data_table(doc, FOLLOW_UP_COLUMNS,
               ["{{ f.n }}", "{{ f.organization }}", "{{ f.site }}", "{{ f.error }}",
                "{{ f.checked_at }}", "{{ f.details }}", "{{ f.state }}"],
               "{%tr for f in part %}", "{%tr endfor %}", centered=(0, 4))
    para(doc, "", "Между таблицами")
    para(doc, "{%p endfor %}", "Текст письма")
    screenshots_section(doc)
    return doc


def make_distribution():
    """The distribution list of a letter by list: a document of its pack, not an appendix."""
    doc = new_document()
    appendix_title(doc, "Список рассылки", f"к письму от {{{{ date }}}} №{NBSP}{{{{ number }}}}")
    columns = [("№", 10), ("Муниципальное образование", 55), ("Адресат", 70), ("Электронная почта", 45)]
    table = layout_table(doc, [w for _, w in columns], rows=4, borders=True)
    header, loop_row, data, end_row = table.rows
    fill_row(header, [t for t, _ in columns], "Таблица — шапка")
    row_props(header, header=True)
    fill_row(loop_row, ["{%tr for d in distribution %}", "", "", ""], "Таблица")
    first_paragraph(data.cells[0], "Таблица по центру").add_run("{{ d.n }}")
    first_paragraph(data.cells[1], "Таблица").add_run("{{ d.municipality }}")
    first_paragraph(data.cells[2], "Таблица").add_run("{{ d.position }}")
    para(data.cells[2], "{{ d.name }}", "Таблица")
    first_paragraph(data.cells[3], "Таблица").add_run("{{ d.emails }}")
    row_props(data)
    fill_row(end_row, ["{%tr endfor %}", "", "", ""], "Таблица")
    return doc


def screenshots_section(doc):
    """After the table, the first screen of each site with an error, when the audit came from
    `letters audit`: a picture the width of the text (the renderer sizes it), its caption kept
    on the same page. A picture is never split; one that does not fit starts a new page."""
    _paragraph_style(doc, "Figure", "Рисунок", size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER,
                     before=12, keep_next=True)
    _paragraph_style(doc, "FigureCaption", "Подпись к рисунку", size=CORNER_PT,
                     align=WD_ALIGN_PARAGRAPH.CENTER, before=6, after=6)
    para(doc, "{%p if screenshots %}", "Текст письма")
    heading = para(doc, "Снимки экрана главных страниц", "Заголовок приложения")
    heading.paragraph_format.space_before = Pt(18)
    para(doc, "{%p for s in screenshots %}", "Текст письма")
    para(doc, "{{ s.picture }}", "Рисунок")
    para(doc, "Рисунок {{ s.n }}. {{ s.organization }}, {{ s.site }}: {{ s.errors }}",
         "Подпись к рисунку")
    para(doc, "{%p endfor %}", "Текст письма")
    para(doc, "{%p endif %}", "Текст письма")


def make_appendix2():
    doc = new_document()
    appendix_corner(doc)
    appendix_title(doc, "Рекомендации по устранению ошибок размещения виджетов ПОС")
    para(doc, "{%p for r in recommendations %}", "Текст письма")
    para(doc, "{{ r.n }}. {{ r.title }}", "Заголовок пункта")
    para(doc, "{%p for p in r.paragraphs %}", "Текст письма")
    para(doc, "{{ p }}", "Текст письма")
    para(doc, "{%p endfor %}", "Текст письма")
    para(doc, 'Выявлено на сайтах: {{ r.organizations|join(", ") }}.', "Примечание к пункту")
    para(doc, "{%p endfor %}", "Текст письма")
    return doc


def make_appendix3():
    doc = new_document()
    appendix_corner(doc)
    appendix_title(doc, "План мероприятий по повышению значений показателей оперативного "
                        "рейтинга")
    data_table(doc, PLAN_COLUMNS,
               ["{{ p.n }}", "{{ p.action }}", "{{ p.due }}", "{{ p.responsible }}",
                "{{ p.result }}"],
               "{%tr for p in plan %}", "{%tr endfor %}", centered=(0, 2))
    return doc


# --------------------------------------------------------------------------- main

TEMPLATES = {
    "letter.docx": make_letter,
    "appendix1.docx": make_appendix1,
    "appendix2.docx": make_appendix2,
    "appendix3.docx": make_appendix3,
    "appendix1_circular.docx": make_appendix1_circular,
    "distribution.docx": make_distribution,
    "letter_followup.docx": make_letter_followup,
    "appendix1_followup.docx": make_appendix1_followup,
}


_STYLE_REFERENCES = ("w:pStyle", "w:rStyle", "w:tblStyle", "w:numStyleLink", "w:styleLink")
_STYLE_LINKS = ("w:basedOn", "w:link", "w:next")
_UNUSED_PARTS = ("/word/stylesWithEffects.xml",)


def slim(doc):
    """python-docx's default template carries 186 styles (350 KB) and a Word 2010 copy of them
    (stylesWithEffects.xml, 440 KB): every document of a build would read, write and convert
    them all. Keep the styles in use, the defaults and what they are based on, and drop the
    copy. A clerk's Word adds what it needs when the template is edited."""
    package = doc.part.package
    used = {"Normal", "DefaultParagraphFont", "TableNormal", "NoList"}
    for part in package.iter_parts():
        if part.partname.endswith(".xml") and hasattr(part, "element"):
            for tag in _STYLE_REFERENCES:
                used |= {e.get(qn("w:val")) for e in part.element.iter(qn(tag))}
    styles = doc.styles.element
    by_id = {s.get(qn("w:styleId")): s for s in styles.iterchildren(qn("w:style"))}
    todo = list(used)
    while todo:  # and the styles those are based on, linked to or followed by
        style = by_id.get(todo.pop())
        for tag in _STYLE_LINKS:
            link = style.find(qn(tag)) if style is not None else None
            if link is not None and link.get(qn("w:val")) not in used:
                used.add(link.get(qn("w:val")))
                todo.append(link.get(qn("w:val")))
    for style_id, style in by_id.items():
        if style_id not in used:
            styles.remove(style)
    for rel_id, rel in list(doc.part.rels.items()):
        if not rel.is_external and rel.target_part.partname in _UNUSED_PARTS:
            doc.part.drop_rel(rel_id)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    outdir = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "letters" / "templates"
    outdir.mkdir(parents=True, exist_ok=True)
    for name, make in TEMPLATES.items():
        doc = make()
        doc.core_properties.title = name.removesuffix(".docx")
        slim(doc)
        buffer = io.BytesIO()
        doc.save(buffer)
        (outdir / name).write_bytes(stable_zip(buffer.getvalue()))  # the same bytes every time
        print(outdir / name)


if __name__ == "__main__":
    main()
