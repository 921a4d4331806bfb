"""The figures of `letters report` agree with a count made here, independently, straight from
the sample tables with pandas (not through the package's readers, matchers or model)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from urllib.parse import urlsplit

import pandas as pd
import pytest
from conftest import SAMPLE

from letters.problems import Problems
from letters.report.figures import GREEN, RED, YELLOW, count, percent, zone_of
from letters.validate import load_dataset


def _host_and_path(url: str) -> str:
    """The sample's sites as a person compares them: no scheme, no www., any case, no final /."""
    url = url.strip()
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = parts.hostname.encode("idna").decode().lower().removeprefix("www.")
    return host + parts.path.rstrip("/")


@pytest.fixture(scope="module")
def by_hand():
    municipalities = pd.read_excel(SAMPLE / "municipalities.xlsx", dtype=str, engine="calamine", header=2)
    organizations = pd.read_excel(SAMPLE / "organizations.ods", dtype=str, engine="calamine")
    audit = pd.read_csv(SAMPLE / "audit.csv", sep=";", encoding="cp1251", dtype=str, skiprows=2)
    site_to_mo = {_host_and_path(s): m for s, m in zip(organizations["Ссылка на сайт"], organizations["Муниципальное образование"])}
    audit["site"] = audit["Ссылка на сайт"].map(_host_and_path)
    assert audit["site"].isin(site_to_mo.keys()).all(), "every audit row is a site of the registry"
    audit = audit.drop_duplicates(["site", "Код ошибки"])  # one finding per site and error
    audit["mo"] = audit["site"].map(site_to_mo)
    return {
        "names": list(municipalities["Муниципальное образование"]),
        "registry": Counter(organizations["Муниципальное образование"]),
        "flagged": audit.groupby("mo")["site"].nunique().to_dict(),
        "codes": audit.groupby(["mo", "Код ошибки"]).size().to_dict(),
        "total_codes": audit["Код ошибки"].value_counts().to_dict(),
        "rows": len(audit),
        "latest": max(dt.datetime.strptime(d, "%d.%m.%Y").date() for d in audit["Дата проверки"]),
    }


@pytest.fixture(scope="module")
def figures():
    problems = Problems()
    dataset = load_dataset(SAMPLE, problems)
    assert dataset is not None, [str(p) for p in problems]
    return count(dataset)


def test_each_municipality_agrees_with_the_tables(figures, by_hand):
    assert [m.name for m in figures.municipalities] == by_hand["names"]
    for m in figures.municipalities:
        registry = by_hand["registry"][m.name]
        flagged = by_hand["flagged"].get(m.name, 0)
        assert (m.registry, m.with_findings, m.correct) == (registry, flagged, registry - flagged), m.name
        assert m.share == pytest.approx(100 * (registry - flagged) / registry), m.name
        expected = {code: n for (mo, code), n in by_hand["codes"].items() if mo == m.name}
        assert m.by_code == expected, m.name


def test_region_totals_agree_with_the_tables(figures, by_hand):
    region = figures.region
    assert region.registry == sum(by_hand["registry"].values()) == 164
    assert region.with_findings == sum(by_hand["flagged"].values())
    assert region.findings == by_hand["rows"]
    assert region.by_code == by_hand["total_codes"]
    assert region.share == pytest.approx(100 * region.correct / 164)
    assert figures.date == by_hand["latest"], "by default: the latest date of check"


def test_zones_follow_the_regions_slides():
    # seed 004: green 80–100 %, yellow from 20 %; 60–80 % is not green yet
    assert zone_of(100) is GREEN and zone_of(80) is GREEN
    assert zone_of(79.9) is YELLOW and zone_of(60) is YELLOW and zone_of(20) is YELLOW
    assert zone_of(19.9) is RED and zone_of(0) is RED
    assert zone_of(None) is None


def test_ranked_lowest_share_first(figures):
    shares = [m.share for m in figures.ranked]
    assert shares == sorted(shares)
    assert len(figures.ranked) == sum(1 for m in figures.municipalities if m.registry)


def test_percent_is_written_the_russian_way():
    assert percent(39.02439) == "39,0\u00a0%"
    assert percent(100) == "100,0\u00a0%"
    assert percent(None) == "—"
