"""Rough edges a browser shows (the rest is in test_rough_edges.py): the API documentation renders
offline, from the registry's own assets only; every page fits a phone's 390 px without scrolling
sideways. Debian's headless Chromium through Selenium, as in test_pages_browser.py, against
`registry serve` over the demo; the browser can resolve no host but the registry's own. Screenshots
go to test-artifacts/screenshots/ (phone-*.png, docs-*.png).

Without chromium/chromedriver the tests skip, except under CI=true, where they fail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from browser_harness import SCREENSHOTS, chrome, serving, site_environment

from registry.bootstrap import open_registry
from registry.commands import Actor
from registry.demo import build
from registry.domain import Credential

# No host resolves but the registry's: a page that needs anything from elsewhere shows it here.
ONLY_LOCAL = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
DESKTOP = {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
OPERATOR = Actor("test")


@dataclass(frozen=True)
class Site:
    url: str
    credential: str  # a valid credential's JSON text
    achievement: str  # an achievement with endorsements
    credential_id: str


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    home, port, env = site_environment("registry-edges-")
    registry = open_registry(env)
    try:
        build(registry)
        issued = [registry.queries.credential(str(e.originator_id))
                  for e in registry.store.events_of(Credential.Issued)]
        valid = next(c for c in reversed(issued) if c.status == "active")
        endorsed = next(e.subject_id for e in registry.queries.endorsements().items
                        if e.subject_kind == "achievement")
        # A key history with a compromise: techbouw rotates, then reports its old key.
        [old] = registry.queries.keys("techbouw")
        registry.commands.issuers.rotate_key("techbouw", actor=OPERATOR)
        registry.commands.issuers.report_compromise("techbouw", verification_method=old.verification_method,
                                                    since=datetime.fromisoformat(old.added_at), actor=OPERATOR)
    finally:
        registry.close()
    with serving(home, port, env) as url:
        yield Site(url, valid.document, endorsed, valid.id)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chrome(ONLY_LOCAL, browser_log=True) as driver:
        yield driver


def wait_for(driver, condition, seconds: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def full_page(driver, name: str, metrics: dict) -> Path:
    """A screenshot of the whole page at the given device metrics (the viewport grown to the
    document's height, then put back)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": min(max(height, 600), 8000)})
    path = SCREENSHOTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot saved at {path}"
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    return path


# --- the API documentation, offline ---------------------------------------------------------------


def test_swagger_ui_and_redoc_render_the_api_offline(site, browser):
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.get(f"{site.url}/schema/swagger")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 10)
    operations = browser.find_elements(By.CSS_SELECTOR, ".opblock .opblock-summary-path")
    assert "/credentials/{credential_id}/status" in {o.text.replace("\u200b", "") for o in operations}
    assert browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title")
    full_page(browser, "docs-swagger", DESKTOP)

    browser.get(f"{site.url}/schema")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-section-id^='operation/']")) > 10)
    assert "badge-registry" in browser.find_element(By.CSS_SELECTOR, "h1").text
    # Nothing the pages asked for failed to load (the browser resolves no other host).
    failed = [entry["message"] for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE" and "redoc.ly/redoc/logo" not in entry["message"]]
    assert not failed, failed
    full_page(browser, "docs-redoc", DESKTOP)


# --- every page on a phone ------------------------------------------------------------------------


def fits(browser) -> tuple[int, int]:
    return browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")


def widest(browser) -> list[str]:
    """The elements that stick out past the phone's width (outside scrolling boxes), for the message."""
    return browser.execute_script("""
        const out = [];
        for (const e of document.querySelectorAll('body *')) {
          if (e.closest('.scroll')) continue;
          const r = e.getBoundingClientRect();
          if (r.right > arguments[0] + 1) out.push(e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(r.right));
        }
        return out.slice(0, 8);""", PHONE["width"])


def test_every_page_fits_a_phone_without_scrolling_sideways(site, browser):
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        pages = {
            "home": "/pages?lang=en", "issuer": "/pages/issuers/softskills4eu?lang=en",
            "issuer-nl": "/pages/issuers/europees-jongerenwerk?lang=nl",
            "issuer-compromised": "/pages/issuers/techbouw?lang=en",
            "achievement": f"/pages/achievements/{site.achievement}?lang=en", "network": "/pages/network?lang=en",
            "verify": "/pages/verify?lang=en", "events": "/pages/events?lang=en",
            "events-filtered": "/pages/events?lang=nl&issuer=techbouw", "audit": "/pages/audit?lang=en",
            "error": "/pages/issuers/no-such-organisation?lang=en",
            "credential": f"/credentials/{site.credential_id}?lang=en", "kpis": "/pages/kpis?lang=en",
            "kpis-issuer": "/pages/issuers/softskills4eu/kpis?lang=nl",
        }
        wide = {}
        for name, path in pages.items():
            browser.get(f"{site.url}{path}")
            # A page wider than the phone widens the layout viewport too (the phone zooms out).
            width, viewport = fits(browser)
            if max(width, viewport) > PHONE["width"]:
                wide[name] = (width, viewport, widest(browser))
            full_page(browser, f"phone-{name}", PHONE)
            if name == "issuer-compromised":  # the key history says each thing once
                steps = [li.get_attribute("class") for li in browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")]
                assert steps == ["key_added", "key_retired", "key_added", "key_compromise_reported"], steps
                assert browser.find_element(By.CSS_SELECTOR, "ol.timeline .since").text.startswith("distrusted from ")
        assert not wide, f"pages wider than a {PHONE['width']} px phone: {wide}"
        # A verification report, from pasted text.
        browser.get(f"{site.url}/pages/verify?lang=en")
        browser.execute_script("document.getElementById('document').value = arguments[0]", site.credential)
        browser.find_element(By.CSS_SELECTOR, "form.verify button[type=submit]").click()
        wait_for(browser, lambda d: d.find_elements(By.ID, "verdict"))
        assert browser.find_element(By.ID, "verdict").text == "VALID"
        width, viewport = fits(browser)
        assert max(width, viewport) <= PHONE["width"], ("verify report", width, viewport, widest(browser))
        full_page(browser, "phone-verify-report", PHONE)
        # Still a desktop page on a desktop.
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", DESKTOP)
        for name in ("home", "issuer", "events", "network"):
            browser.get(f"{site.url}{pages[name]}")
            width, viewport = fits(browser)
            assert width <= viewport == DESKTOP["width"], (name, width, viewport)
            if name == "events":
                assert browser.find_element(By.CSS_SELECTOR, "table.events thead").is_displayed()
            full_page(browser, f"desktop-{name}", DESKTOP)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
