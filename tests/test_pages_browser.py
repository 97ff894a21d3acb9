"""The public pages in a real browser: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver, against `registry serve` running over an SQLite store loaded with the demo.
Each test does what a person would (follows links, switches language, submits the verify form with
a file or pasted text, filters the log) and checks the text the browser shows. A screenshot of
each page is saved under test-artifacts/screenshots/.

Without chromium/chromedriver the tests skip, except under CI=true, where they fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_harness import SCREENSHOTS, by_css, chrome, one, serving, site_environment

from registry.bootstrap import open_registry
from registry.demo import build
from registry.domain import Credential


@dataclass(frozen=True)
class Site:
    url: str
    valid_credential: str  # JSON text, exactly as the registry issued it
    consortium_excellent_id: str  # an achievement with levels
    super_badge_id: str
    ladder_credential: str = ""  # a module credential issued by score, at level Excellent
    automatic_credential: str = ""  # the Super Badge, awarded by the registry when the fifth module was reached


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    home, port, env = site_environment("registry-pages-")
    # Module-scoped (one server for every test), so not the per-test `open_registry` fixture: the
    # composition root itself, over the same environment `registry serve` reads below.
    registry = open_registry(env)
    try:
        build(registry)
        issued = [registry.queries.credential(str(e.originator_id))
                  for e in registry.store.events_of(Credential.Issued)]
        valid = next(c for c in reversed(issued) if c.status == "active")  # signed after the key rotation
        listed = registry.queries.achievements(issuer="softskills4eu", limit=1000)
        assert listed.next_cursor is None
        achievements = {a.name: a.id for a in listed.items}
        by_achievement = {}
        for event in registry.store.events_of(Credential.Issued):
            by_achievement.setdefault(str(event.achievement_id), []).append(event)
        [automatic] = by_achievement[achievements["SoftSkills4EU Super Badge"]]
        ladder = next(e for e in by_achievement[achievements["Co-operative skills"]]
                      if e.document.count("#excellent") == 2 and str(e.originator_id) != str(automatic.caused_by))
    finally:
        registry.close()
    with serving(home, port, env) as url:
        yield Site(url, valid.document, achievements["Co-operative skills"],
                   achievements["SoftSkills4EU Super Badge"], str(ladder.originator_id), str(automatic.originator_id))


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chrome() as driver:
        yield driver


# --- what a person does and sees ---------------------------------------------------------------------


def screenshot(driver, name: str) -> Path:
    """The whole page: the window grows to the document's height first."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 800), 6000))
    path = SCREENSHOTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot saved at {path}"
    driver.set_window_size(1280, 1000)
    return path


def navigate_by(driver, element) -> None:
    """Click a link or submit button and wait for the next page: the old one goes stale."""
    from selenium.webdriver.support.ui import WebDriverWait

    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    old = one(driver, "html")
    element.click()

    def gone(_) -> bool:
        # Stale once the next page replaced it. Chromium sometimes says so with an inspector error
        # ("Node with given id does not belong to the document") instead of a stale reference.
        try:
            old.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise

    WebDriverWait(driver, 15).until(gone)
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def click_link(driver, text: str) -> None:
    from selenium.webdriver.common.by import By

    navigate_by(driver, driver.find_element(By.LINK_TEXT, text))


def looks_like_a_page(driver, lang: str) -> str:
    """The landmarks and the one h1 every page has; returns the h1's text."""
    assert one(driver, "html").get_attribute("lang") == lang
    for landmark in ("header", "nav", "main", "footer"):
        assert by_css(driver, landmark), f"no <{landmark}> on {driver.current_url}"
    return one(driver, "h1").text


def test_home_shows_the_key_figures_and_switches_to_dutch(site, browser):
    browser.get(f"{site.url}/")  # the registry's address leads to the pages
    assert looks_like_a_page(browser, "en") == "Open Badges registry"
    figures = {f.get_attribute("data-figure"): f.find_element("css selector", "dd").text
               for f in by_css(browser, ".figure")}
    assert figures == {"issuers": "6", "achievements": "13", "issued": "46", "revoked": "1",
                       "endorsements": "10", "withdrawn": "1"}
    assert "Credentials revoked" in one(browser, "main").text
    screenshot(browser, "home-en")
    click_link(browser, "Nederlands")
    assert looks_like_a_page(browser, "nl") == "Open Badges-register"
    main = one(browser, "main").text
    assert "Credentials ingetrokken" in main and "Kerncijfers" in main and "Per maand" in main
    screenshot(browser, "home-nl")


def test_an_organisation_shows_its_key_history_achievements_and_endorsements(site, browser):
    browser.get(f"{site.url}/pages?lang=en")
    click_link(browser, "SoftSkills4EU Consortium")
    assert looks_like_a_page(browser, "en") == "SoftSkills4EU Consortium"
    timeline = [item.text for item in by_css(browser, "ol.timeline li")]
    assert len(timeline) == 3, timeline  # added, retired at the rotation, the new one added
    assert [t.split(" UTC ")[1].split(" z6Mk")[0] for t in timeline] == ["Key added", "Key retired", "Key added"]
    assert len(by_css(browser, "section[aria-labelledby=achievements] tbody tr")) == 8
    received = one(browser, "section[aria-labelledby=received]").text
    for partner in ("Techbouw B.V.", "Gemeente Rivierstad", "Stichting Samen Vrijwillig", "Leerhuis Oost",
                    "Europees Jongerenwerk Netwerk"):
        assert partner in received
    assert "withdrawn" in received and "the course was discontinued" in received
    assert "@example.org" not in browser.page_source  # recipients never appear in plain
    screenshot(browser, "issuer-en")
    click_link(browser, "Nederlands")
    assert "Sleutelgeschiedenis" in one(browser, "main").text
    screenshot(browser, "issuer-nl")


def test_an_achievement_shows_criteria_levels_and_endorsements(site, browser):
    browser.get(f"{site.url}/pages/achievements/{site.consortium_excellent_id}?lang=en")
    assert looks_like_a_page(browser, "en") == "Co-operative skills"
    assert "the score decides the level" in one(browser, ".criteria").text
    levels = [row.text for row in by_css(browser, "table.ladder tbody tr")]
    assert levels == ["Sufficient 60 to below 71 A score of 60% or more.", "Good 71 to below 85 A score of 71% or more.",
                      "Excellent 85 to 100 A score of 85% or more."]
    screenshot(browser, "achievement-levels-en")
    browser.get(f"{site.url}/pages/achievements/{site.super_badge_id}?lang=nl")
    assert looks_like_a_page(browser, "nl") == "SoftSkills4EU Super Badge"
    required = [item.text for item in by_css(browser, "section[aria-labelledby=requires] li")]
    assert len(required) == 5 and "Personal skills op niveau Excellent of hoger" in required
    assert "automatisch toe" in one(browser, "section[aria-labelledby=requires]").text
    endorsements = one(browser, "section[aria-labelledby=endorsements]").text
    assert "Europees Jongerenwerk Netwerk" in endorsements and "door de onderschrijver zelf ondertekend" in endorsements
    screenshot(browser, "achievement-super-badge-nl")


def test_the_network_is_a_picture_with_the_same_links_as_text(site, browser):
    browser.get(f"{site.url}/pages/network?lang=en")
    assert looks_like_a_page(browser, "en") == "Endorsement network"
    svg = one(browser, "figure.network svg")
    assert svg.size["width"] > 600 and svg.size["height"] > 350  # drawn, not collapsed
    assert len(by_css(browser, "svg circle")) == 6
    arrows = by_css(browser, "svg path.edge")
    links = [item.text for item in by_css(browser, "ul.links li")]
    assert len(arrows) == len(links) == 6  # every partner stands behind the consortium, one behind the institute
    assert "Techbouw B.V. endorses SoftSkills4EU Consortium: the organisation (1), 1 of its achievements" in links
    screenshot(browser, "network-en")


def test_the_verify_form_reports_a_real_credential_valid_and_a_tampered_one_invalid(site, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(f"{site.url}/pages/verify?lang=en")
    assert looks_like_a_page(browser, "en") == "Verify a credential"
    upload = tmp_path / "credential.json"
    upload.write_text(site.valid_credential, encoding="utf-8")
    browser.find_element(By.ID, "file").send_keys(str(upload))  # choose the file, as a person would
    navigate_by(browser, one(browser, "form.verify button[type=submit]"))
    assert one(browser, "#verdict").text == "VALID"
    outcomes = {row.get_attribute("data-check"): row.find_element(By.CSS_SELECTOR, ".badge").text
                for row in by_css(browser, "table.checks tbody tr")}
    assert outcomes["proof"] == "pass" and outcomes["status"] == "pass" and "fail" not in outcomes.values()
    screenshot(browser, "verify-valid-en")

    tampered = json.loads(site.valid_credential)
    tampered["credentialSubject"]["achievement"]["name"] += " (edited)"
    browser.get(f"{site.url}/pages/verify?lang=nl")
    browser.find_element(By.ID, "document").send_keys(json.dumps(tampered))  # paste
    navigate_by(browser, one(browser, "form.verify button[type=submit]"))
    assert one(browser, "#verdict").text == "ONGELDIG"
    failed = [row.get_attribute("data-check") for row in by_css(browser, "table.checks tbody tr.outcome-fail")]
    assert failed == ["proof"]
    assert "Handtekening" in one(browser, "table.checks").text
    screenshot(browser, "verify-invalid-nl")

    browser.get(f"{site.url}/pages/verify?lang=en")
    browser.find_element(By.ID, "document").send_keys("{not json")
    navigate_by(browser, one(browser, "form.verify button[type=submit]"))
    assert "This is not JSON" in one(browser, "#verify-problem").text
    screenshot(browser, "verify-not-json-en")


def test_the_event_log_pages_and_filters(site, browser):
    from selenium.webdriver.support.ui import Select

    browser.get(f"{site.url}/pages/events?lang=en")
    assert looks_like_a_page(browser, "en") == "Event log"
    positions = [int(row.text) for row in by_css(browser, "table.events tbody th")]
    assert positions == list(range(1, 51))
    screenshot(browser, "events-en")
    click_link(browser, "Next events")
    assert [int(r.text) for r in by_css(browser, "table.events tbody th")][:1] == [51]

    browser.get(f"{site.url}/pages/events?lang=nl")
    Select(one(browser, "select#issuer")).select_by_visible_text("Techbouw B.V.")
    Select(one(browser, "select#type")).select_by_visible_text("Onderschrijving gegeven")
    navigate_by(browser, one(browser, "form.filter button[type=submit]"))
    rows = by_css(browser, "table.events tbody tr")
    assert [r.get_attribute("data-type") for r in rows] == ["Endorsement.Endorsed"] * 2
    assert all("techbouw" in r.text for r in rows) and "Gebeurtenissenlog" in one(browser, "h1").text
    screenshot(browser, "events-filtered-nl")


def test_a_ladder_credential_shows_its_level_and_the_pathway_it_completed(site, browser):
    """Issued by score (87 on Co-operative skills: Excellent); the Super Badge the registry awarded
    when the fifth module reached Excellent says so, and links the award that completed it."""
    browser.get(f"{site.url}/credentials/{site.ladder_credential}?lang=en")
    assert looks_like_a_page(browser, "en") == "Co-operative skills"
    assert one(browser, ".result-level").text == "Excellent"
    assert int(one(browser, ".result-value").text) >= 85
    screenshot(browser, "credential-ladder-en")
    browser.get(f"{site.url}/credentials/{site.automatic_credential}?lang=nl")
    assert looks_like_a_page(browser, "nl") == "SoftSkills4EU Super Badge"
    note = one(browser, ".awarded-automatically")
    assert note.text.startswith("Automatisch toegekend door het register")
    cause = note.find_element("css selector", "a").get_attribute("href")
    assert cause.endswith("/credentials/" + cause.rsplit("/", 1)[1]) and "/credentials/" in cause
    screenshot(browser, "credential-automatic-nl")
