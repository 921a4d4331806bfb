"""The rules of `letters audit` without a browser: what was measured → findings."""

from __future__ import annotations

import pytest
from fixture_sites import LKO, LKO_VOTES, organization

from letters.audit.rules import (
    DESKTOP,
    PHONE,
    ScreenCheck,
    SiteCheck,
    WidgetBox,
    describe_http_status,
    describe_net_error,
    group_by_site,
    inner_links,
    is_script_url,
    lko_verdict,
    screen_verdicts,
    site_verdicts,
    size_problem,
    widget_ids_in,
)
from letters.model import Organization
from letters.sites import site_key


def _box(**kw) -> WidgetBox:
    base = {
        "x": 24,
        "y": 120,
        "width": 1000,
        "height": 240,
        "layout_width": 1000,
        "layout_height": 240,
        "natural_height": 240,
        "visible_width": 1000,
        "visible_height": 240,
        "has_banner": True,
    }
    base.update(kw)
    return WidgetBox(**base)


def _screen(box, viewport=DESKTOP) -> ScreenCheck:
    return ScreenCheck(viewport, viewport.width, viewport.height, box)


def test_a_good_box_has_no_findings():
    assert screen_verdicts(_screen(_box())) == []


@pytest.mark.parametrize(
    "box, code",
    [
        (_box(displayed=False, hidden_by="div.x"), "widget_hidden"),
        (_box(opacity=0.0), "widget_hidden"),
        (_box(layout_height=0, height=0, visible_height=0), "widget_hidden"),
        (_box(covered_share=0.9, covered_by="div#cookie"), "widget_hidden"),
        (_box(y=1480), "below_first_screen"),
        (_box(y=600), "needs_scroll"),
        (_box(layout_height=90, height=90, visible_height=90), "size_changed"),
        (_box(layout_height=600, height=600, visible_height=600, y=100), "size_changed"),
        (_box(width=600), "size_changed"),
    ],
)
def test_screen_rules(box, code):
    assert [v.code for v in screen_verdicts(_screen(box))] == [code]


def test_size_rule_tolerates_small_differences():
    assert (
        size_problem(_box(layout_height=256, height=256, visible_height=256)) == ""
    )  # min-height 256 of one embed variant
    assert size_problem(_box(layout_width=293, width=293, visible_width=293)) == ""
    assert "меньше" in size_problem(_box(layout_width=292, width=292, visible_width=292))
    assert "больше" in size_problem(_box(layout_width=1500, width=1500, visible_width=1500))


def test_below_first_screen_excludes_hidden_and_scroll():
    verdicts = screen_verdicts(_screen(_box(y=900, opacity=0.0, covered_share=1.0)))
    assert [v.code for v in verdicts] == ["below_first_screen"]


def test_a_fixed_widget_is_never_below():
    assert screen_verdicts(_screen(_box(y=700, fixed=True))) == []


def test_precedence_of_absence():
    missing = SiteCheck("http://a.test/", has_script=False, has_container=False, inner_pages_checked=1)
    assert [v.code for v in site_verdicts(missing)] == ["widget_missing"]
    assert "1 внутренней странице" in site_verdicts(missing)[0].details
    inner = SiteCheck("http://a.test/", inner_page="http://a.test/pos/")
    assert [v.code for v in site_verdicts(inner)] == ["not_on_main_page"]
    down = SiteCheck("http://a.test/", unavailable="Главная страница не загрузилась за 20 с.")
    assert [v.code for v in site_verdicts(down)] == ["site_unavailable"]


def test_script_error_without_banner_is_not_also_hidden():
    check = SiteCheck(
        "http://a.test/",
        has_script=True,
        has_container=True,
        script_problems=("скрипт не загрузился",),
        desktop=_screen(_box(layout_height=0, height=0, visible_height=0, has_banner=False)),
    )
    assert [v.code for v in site_verdicts(check)] == ["script_error"]


def test_phone_and_computer_findings_of_one_code_are_merged():
    check = SiteCheck(
        "http://a.test/",
        has_script=True,
        has_container=True,
        desktop=_screen(_box(y=600)),
        phone=_screen(_box(y=700, width=342, layout_width=342, visible_width=342), PHONE),
    )
    [verdict] = site_verdicts(check)
    assert (
        verdict.code == "needs_scroll" and "компьютера" in verdict.details and "телефона" in verdict.details
    )


def test_lko_rule():
    org = organization("a", "http://a.test/")
    seen = SiteCheck("http://a.test/", has_script=True, has_container=True)
    assert lko_verdict(SiteCheck(**{**seen.__dict__, "widget_ids": (LKO,)}), org) is None
    wrong = lko_verdict(SiteCheck(**{**seen.__dict__, "widget_ids": ("5",)}), org)
    assert wrong.code == "wrong_lko" and "5" in wrong.details
    assert lko_verdict(seen, org).code == "wrong_lko"  # no call at all
    no_lko = Organization("b", "m", "http://b.test/", "b.test")
    assert lko_verdict(seen, no_lko) is None


def test_widget_ids_in_page_text():
    text = """Widget("https://pos.gosuslugi.ru/form", 293443)
              Widget ( 'https://pos.gosuslugi.ru/form' , '12345' );"""
    assert widget_ids_in(text) == ["293443", "12345"]


def test_script_url_match_ignores_scheme_and_query():
    url = "https://pos.gosuslugi.ru/bin/script.min.js"
    assert is_script_url("//pos.gosuslugi.ru/bin/script.min.js?v=2", url)
    assert is_script_url("http://POS.gosuslugi.ru/bin/script.min.js", url)
    assert not is_script_url("https://pos.gosuslugi.ru/bin/other.js", url)


def test_inner_links_are_same_site_and_likely_first():
    links = [
        ("/novosti/", "Новости"),
        ("https://other.test/obratnaya-svyaz/", "Чужой сайт"),
        ("/docs/ustav.pdf", "Устав"),
        ("mailto:a@b.test", "Почта"),
        ("#top", "Наверх"),
        ("http://www.a.test/priemnaya/", "Интернет-приёмная"),
        ("/", "Главная"),
        ("/novosti/#x", "Новости ещё раз"),
    ]
    assert inner_links(links, "http://a.test/", "http://a.test/", 5) == [
        "http://www.a.test/priemnaya/",
        "http://a.test/novosti/",
    ]
    assert inner_links(links, "http://a.test/", "http://a.test/", 1) == ["http://www.a.test/priemnaya/"]


def test_inner_links_stay_in_the_portal_section():
    links = [("/school5/kontakty/", "Контакты"), ("/news/", "Новости портала")]
    assert inner_links(links, "http://portal.test/school5/", "portal.test/school5", 5) == [
        "http://portal.test/school5/kontakty/"
    ]


def test_organizations_sharing_a_site_are_checked_once():
    a = organization("a", "http://a.test/")
    b = Organization("Другое", "m", "https://www.a.test", site_key("https://www.a.test"))
    assert group_by_site([a, b]) == [[a, b]]




def test_a_script_dropped_by_orb_is_told_by_its_http_status():
    # Chromium's ORB drops a 404 page served for a script before Playwright sees the answer
    assert describe_net_error("net::ERR_BLOCKED_BY_ORB", 404) == "сервер ответил HTTP 404 (не найдено)"
    assert describe_net_error("net::ERR_BLOCKED_BY_ORB", 200) == "сервер прислал вместо скрипта веб-страницу"
    assert describe_net_error("net::ERR_BLOCKED_BY_ORB") == "сервер прислал вместо скрипта веб-страницу"


def test_network_errors_and_statuses_in_russian():
    assert describe_net_error("net::ERR_CONNECTION_REFUSED at http://a.test/") == (
        "сервер отклонил соединение (net::ERR_CONNECTION_REFUSED)"
    )
    assert describe_net_error("net::ERR_QUIC_PROTOCOL_ERROR") == "ошибка сети (net::ERR_QUIC_PROTOCOL_ERROR)"
    assert describe_http_status(503) == "сервер ответил HTTP 503 (сервис временно недоступен)"
    assert describe_http_status(418) == "сервер ответил HTTP 418"
