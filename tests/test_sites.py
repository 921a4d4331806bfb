"""Site addresses written differently in the registry and the audit still match."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letters.sites import site_key


@pytest.mark.parametrize(
    "written",
    ["https://school5.ru", "http://school5.ru/", "HTTP://WWW.School5.RU/", "school5.ru", "www.school5.ru",
     " https://school5.ru\u00a0", "https://school5.ru./"],
)
def test_scheme_www_case_and_trailing_slash_are_ignored(written):
    assert site_key(written) == "school5.ru"


def test_cyrillic_domain_equals_its_punycode():
    assert site_key("https://школа5.рф/") == site_key("http://" + "школа5.рф".encode("idna").decode())


def test_path_is_kept_so_sections_of_one_portal_differ():
    assert site_key("https://edu.tyumen.ru/school5/") == "edu.tyumen.ru/school5"
    assert site_key("https://edu.tyumen.ru/school5") != site_key("https://edu.tyumen.ru/school6")


@pytest.mark.parametrize("bad", ["", "   ", "школа", "http://", "https:///path"])
def test_no_host_is_a_clean_error(bad):
    with pytest.raises(ValueError):
        site_key(bad)


@given(st.text(max_size=80))
def test_any_text_gives_a_key_or_a_clean_error(text):
    try:
        key = site_key(text)
    except ValueError:
        return
    assert key == site_key(key)  # normalising twice changes nothing


@pytest.mark.parametrize(
    "written, message",
    [
        ("info@school5.ru", "похоже на адрес почты"),
        ("school5.ru, school6.ru", "лишние знаки"),
        ("http://school5.ru:port", "не адрес сайта"),
        ("http://[::1", "не адрес сайта"),
    ],
)
def test_what_is_not_one_site_address_is_told_in_russian(written, message):
    with pytest.raises(ValueError, match=message):
        site_key(written)
