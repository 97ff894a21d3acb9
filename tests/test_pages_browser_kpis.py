"""The KPI pages in a real browser (Debian's headless Chromium through Selenium, helpers from
tests/test_pages_browser.py), against `registry serve` over an SQLite store holding a year of
awards: the charts are SVG with text alternatives (role="img", <title>, <desc>) and a table with the
same numbers, in English and Dutch, and a 390 px wide phone scrolls no page sideways. Screenshots
are saved under test-artifacts/screenshots/ (kpis-*.png)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from browser_harness import SCREENSHOTS, by_css, one, serving, site_environment
from test_pages_browser import browser  # noqa: F401

from registry.bootstrap import open_registry
from registry.commands import Actor, Award

OPERATOR = Actor("test")
# Awards of the first module per month, oldest first: the chart's bars, in the last 12 months.
PER_MONTH = (3, 5, 4, 8, 6, 9, 12, 7, 10, 14, 11, 6)


@dataclass(frozen=True)
class KpiSite:
    url: str
    pathway_id: str
    issued_per_month: dict[str, int]  # YYYY-MM -> credentials issued that month (all organisations)
    window: list[str]  # the last twelve months, oldest first


def definition(name: str) -> dict:
    return {"name": name, "description": f"The holder shows {name.lower()}.",
            "criteria": {"narrative": f"Assessed on {name.lower()}."}}


def month_start(now: datetime, back: int) -> datetime:
    year, month = now.year, now.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, 9, tzinfo=timezone.utc)


def load(registry, now: datetime, stamp) -> tuple[str, dict[str, int]]:
    """A college with a pathway of three modules, an employer issuing its own badge, and endorsers
    of every kind; awards spread over the last twelve months (events stamped at those times)."""
    c = registry.commands
    stamp(month_start(now, 12))
    for slug, name, kind in (("rivierland", "ROC Rivierland", "education"), ("delta", "Bouwbedrijf Delta", "employer"),
                             ("techwerk", "TechWerk", "employer"), ("zuid", "Gemeente Zuid", "government"),
                             ("samen", "Stichting Samen", "civil-society"), ("club", "Digital Club", None)):
        c.issuers.register(slug=slug, name=name, kind=kind, actor=OPERATOR)
    modules = [c.achievements.define(issuer="rivierland", definition=definition(n), actor=OPERATOR).id
               for n in ("Teamwork", "Communication", "Planning")]
    pathway = c.achievements.define(issuer="rivierland", definition=definition("Soft skills pathway"),
                                    requires=modules, actor=OPERATOR).id
    safety = c.achievements.define(issuer="delta", definition=definition("Site safety"), actor=OPERATOR).id
    awards: list[tuple[datetime, str, str]] = []
    for back, count in zip(range(11, -1, -1), PER_MONTH, strict=True):
        start = month_start(now, back)
        for j in range(count):
            learner = f"m{back}-{j}@example.org"
            first = start + timedelta(days=j % 20, hours=j)
            awards.append((first, learner, modules[0]))
            if j % 3 == 0 and back >= 2:  # some go on through the pathway, taking weeks to months
                awards.append((first + timedelta(days=6 + j), learner, modules[1]))
                awards.append((first + timedelta(days=12 + 2 * j), learner, modules[2]))
                awards.append((first + timedelta(days=20 + 3 * j + back), learner, pathway))
            if j % 4 == 1:
                awards.append((start + timedelta(days=3 + j % 20), learner, safety))
    awards = [a for a in awards if a[0] <= now]
    issued = []
    for when, learner, achievement in sorted(awards):
        stamp(when)
        issued.append(c.credentials.issue(Award(recipient=learner, achievement=achievement), actor=OPERATOR).id)
    stamp(now - timedelta(hours=1))
    for credential in issued[5:60:11]:
        c.credentials.revoke(credential, reason="issued in error", actor=OPERATOR)
    c.credentials.suspend(issued[-3], reason="under review", actor=OPERATOR)
    for by, subject in (("delta", "rivierland"), ("techwerk", "rivierland"), ("delta", pathway),
                        ("techwerk", pathway), ("delta", modules[0]), ("zuid", "rivierland"), ("zuid", pathway),
                        ("samen", pathway), ("club", "rivierland"), ("rivierland", "delta")):
        c.endorsements.endorse(by=by, subject=subject, comment=f"{by} vouches for it", actor=OPERATOR)
    per_month: dict[str, int] = {}
    for when, _, _ in awards:
        per_month[f"{when:%Y-%m}"] = per_month.get(f"{when:%Y-%m}", 0) + 1
    return pathway, per_month


@pytest.fixture(scope="module")
def kpi_site() -> Iterator[KpiSite]:
    home, port, env = site_environment("registry-kpi-pages-")
    import eventsourcing.domain as library

    real = library.datetime_now_with_tzinfo
    now = datetime.now(timezone.utc)
    stamped = {"at": now}
    library.datetime_now_with_tzinfo = lambda: stamped["at"]  # events take their time from here
    registry = open_registry(env)
    try:
        pathway, per_month = load(registry, now, lambda when: stamped.update(at=when))
    finally:
        library.datetime_now_with_tzinfo = real
        registry.close()
    with serving(home, port, env, ready="/pages/kpis") as url:
        yield KpiSite(url, pathway, per_month, [f"{month_start(now, back):%Y-%m}" for back in range(11, -1, -1)])


def shoot(driver, name: str, width: int = 1280) -> Path:
    """The whole page at a width (a phone: 390 CSS px at twice the pixels)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": min(max(height, 700), 6000), "deviceScaleFactor": 2 if width < 600 else 1,
        "mobile": width < 600})
    path = SCREENSHOTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot saved at {path}"
    return path


def phone(driver) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})


def desktop(driver) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.set_window_size(1280, 1000)


def charts(driver) -> dict[str, dict]:
    """Each chart's text alternative, as the accessibility tree gets it."""
    found = {}
    for svg in by_css(driver, "svg[data-chart]"):
        labelled = svg.get_attribute("aria-labelledby").split()
        texts = [driver.execute_script("return document.getElementById(arguments[0]).textContent", i)
                 for i in labelled]
        found[svg.get_attribute("data-chart")] = {
            "role": svg.get_attribute("role"), "labels": [t.strip() for t in texts],
            "tags": [driver.execute_script("return arguments[0].firstElementChild.tagName", svg)],
            "width": svg.rect["width"]}
    return found


def table(driver, name: str) -> list[tuple[str, str]]:
    rows = by_css(driver, f"table[data-table='{name}'] tbody tr")
    return [(driver.execute_script("return arguments[0].cells[0].textContent", r).strip(),
             driver.execute_script("return arguments[0].cells[1].textContent", r).strip()) for r in rows]


def test_the_registry_kpis_are_svg_charts_with_text_alternatives_and_the_same_numbers(kpi_site, browser):
    desktop(browser)
    browser.get(f"{kpi_site.url}/pages?lang=en")
    one(browser, ".kpi-link a").click()
    assert one(browser, "html").get_attribute("lang") == "en"
    assert one(browser, "h1").text == "Key figures of the registry"
    assert one(browser, "nav a[aria-current='page']").text == "Key figures"
    found = charts(browser)
    assert set(found) == {"issued", "revocation", "endorsements"}
    for name, chart in found.items():
        assert chart["role"] == "img" and all(chart["labels"]) and len(chart["labels"]) == 2, name
        assert chart["tags"] == ["title"], name  # the title is the svg's first child
    assert found["issued"]["labels"][0] == "Credentials issued per month, last 12 months"
    # The hidden table says what the bars show: twelve months, zeros included, same numbers.
    months = table(browser, "issued")
    assert len(months) == 12
    expected = [kpi_site.issued_per_month.get(m, 0) for m in kpi_site.window]
    assert [int(n.replace(",", "")) for _, n in months] == expected
    bars = by_css(browser, "svg[data-chart='issued'] rect.bar")
    assert len(bars) == sum(1 for n in expected if n)
    heights = [float(b.get_attribute("height")) for b in bars]
    assert heights.index(max(heights)) == [n for n in expected if n].index(max(expected))
    assert f"{sum(expected)} credentials issued in the last 12 months" in found["issued"]["labels"][1]
    kinds = dict(table(browser, "endorsements"))
    assert kinds == {"Education": "1", "Employer": "5", "Government": "2", "Civil society": "1", "Other": "0",
                     "Not stated": "1"}
    figures = {f.get_attribute("data-figure"): f.find_element("css selector", "dd").text
               for f in by_css(browser, ".figure")}
    assert figures["revoked"] == "5" and figures["suspended"].startswith("1 ")
    assert re.fullmatch(r"\d+\.\d%", figures["revocation-rate"])
    assert figures["completions"] != "0" and "days" in figures["median"]
    shoot(browser, "kpis-registry-en")
    desktop(browser)


def test_an_organisation_and_a_pathway_in_dutch(kpi_site, browser):
    desktop(browser)
    browser.get(f"{kpi_site.url}/pages/issuers/rivierland?lang=nl")
    one(browser, ".kpi-link a").click()
    assert one(browser, "html").get_attribute("lang") == "nl"
    assert one(browser, "h1").text == "Kerncijfers: ROC Rivierland"
    found = charts(browser)
    assert found["issued"]["labels"][0] == "Uitgegeven credentials per maand, laatste 12 maanden"
    assert found["endorsements"]["labels"][0] == "Ontvangen onderschrijvingen, naar soort onderschrijver"
    axis = [t.text for t in by_css(browser, "svg[data-chart='issued'] text.axis:not(.year)")]
    assert len(axis) == 12 and set(axis) <= set("jan feb mrt apr mei jun jul aug sep okt nov dec".split())
    kinds = dict(table(browser, "endorsements"))
    assert kinds == {"Onderwijs": "0", "Werkgever": "5", "Overheid": "2", "Maatschappelijk": "1", "Anders": "0",
                     "Niet opgegeven": "1"}
    assert "dagen" in one(browser, ".figure[data-figure='median'] dd").text
    shoot(browser, "kpis-issuer-nl")
    one(browser, "table[data-table='pathways'] a").click()
    assert one(browser, "h1").text == "Kerncijfers: Soft skills pathway"
    assert "Mediaan" in one(browser, "main").text
    assert dict(table(browser, "endorsements"))["Werkgever"] == "2"
    shoot(browser, "kpis-pathway-nl")
    desktop(browser)


@pytest.mark.parametrize("path", ["/pages/kpis?lang=en", "/pages/issuers/rivierland/kpis?lang=nl&months=24",
                                  "PATHWAY"])
def test_a_phone_never_scrolls_sideways_and_reads_the_charts(kpi_site, browser, path):
    path = f"/pages/achievements/{kpi_site.pathway_id}/kpis?lang=en" if path == "PATHWAY" else path
    phone(browser)
    try:
        browser.get(f"{kpi_site.url}{path}")
        width = browser.execute_script("return window.innerWidth")
        assert width == 390
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        for name, chart in charts(browser).items():
            assert 300 <= chart["width"] <= width, name
        # Nor does any table need scrolling of its own.
        for frame in by_css(browser, ".scroll"):
            assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", frame)
        # Chart text stays readable once scaled down to the phone's width.
        smallest = min(t.rect["height"] for t in by_css(browser, "svg[data-chart] text.axis") if t.text)
        assert smallest >= 9
        name = "kpis-phone-" + ("registry" if path.startswith("/pages/kpis") else
                                "issuer-24" if "rivierland" in path else "pathway")
        shoot(browser, name, width=390)
    finally:
        desktop(browser)
