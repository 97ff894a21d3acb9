"""A credential's page in a real browser (Debian's headless Chromium through chromedriver, the
helpers of test_pages_browser.py), against `registry serve` over an SQLite store with the demo
and an achievement that has an image of its own: the badge image loads, the status, the QR code
and the Open Graph tags are there, the baked PNG and SVG download and verify VALID with `registry
verify`, a revoked credential says so with date and reason, the page reads in Dutch, and at 390 px
wide nothing scrolls sideways. Screenshots go to test-artifacts/screenshots/credential-*.png."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import zxingcpp
from browser_harness import SCREENSHOTS, by_css, one, serving, site_environment
from PIL import Image
from test_pages_browser import browser  # noqa: F401

from registry import artwork
from registry.bootstrap import open_registry
from registry.commands import Actor, Award
from registry.demo import build
from registry.domain import Credential

OPERATOR = Actor("browser-test")
EMAIL = "grace.hopper@example.org"
LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


@dataclass(frozen=True)
class Site:
    url: str
    env: dict
    pictured: str  # a credential whose achievement has an image of its own (PNG)
    emailed: str  # one issued to an e-mail address
    revoked: str
    revoked_reason: str
    image_path: str  # /images/<sha256>.png


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    home, port, env = site_environment("registry-credential-pages-")
    registry = open_registry(env)
    try:
        build(registry)
        image = registry.commands.images.add(artwork.badge_png("Data Steward: Gold", "browser"), OPERATOR)
        achievement = registry.commands.achievements.define(
            issuer="softskills4eu", actor=OPERATOR, definition={
                "name": "Data Steward", "description": "Looks after data with care: its quality, its privacy and its use.",
                "criteria": {"narrative": "Completed the data stewardship programme and its final assessment."},
                "image": {"id": image.url, "type": "Image"}})
        pictured = registry.commands.credentials.issue(Award(LEARNER_DID, achievement.id), actor=OPERATOR).id
        emailed = registry.commands.credentials.issue(Award(EMAIL, achievement.id), actor=OPERATOR).id
        issued = [registry.queries.credential(str(e.originator_id)) for e in registry.store.events_of(Credential.Issued)]
        revoked = next(c for c in issued if c.status == "revoked")
    finally:
        registry.close()
    with serving(home, port, env) as url:
        yield Site(url, env, pictured, emailed, revoked.id, revoked.reason or "",
                   f"/images/{image.sha256}.png")


def screenshot(driver, name: str, width: int = 1280) -> Path:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height + 140, 800), 6000))
    path = SCREENSHOTS / f"credential-{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot saved at {path}"
    driver.set_window_size(1280, 1000)
    return path


def meta(driver, key: str) -> str:
    found = by_css(driver, f'meta[property="{key}"], meta[name="{key}"]')
    assert len(found) == 1, key
    return found[0].get_attribute("content")


def test_a_credential_page_shows_the_badge_status_qr_code_and_sharing_tags(site, browser):
    browser.get(f"{site.url}/credentials/{site.pictured}")
    assert one(browser, "h1").text == "Data Steward"
    badge = one(browser, ".credential-badge img")
    assert badge.get_attribute("src").endswith(site.image_path)
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", badge) == 400
    assert one(browser, "#credential-status").text.startswith("Valid")
    assert "SoftSkills4EU Consortium" in one(browser, ".awarded-by").text
    qr = one(browser, "figure.qr-code svg.qr")
    assert qr.size["width"] >= 150 and qr.size["width"] == qr.size["height"]  # square, large enough to scan
    url = f"{site.url}/credentials/{site.pictured}"
    # What a phone's camera reads off the screen: the page's own address.
    figure = one(browser, "figure.qr-code")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", figure)
    shot = Image.open(io.BytesIO(figure.screenshot_as_png))
    assert [found.text for found in zxingcpp.read_barcodes(shot)] == [url]
    assert meta(browser, "og:title") == "Data Steward"
    assert meta(browser, "og:url") == url
    assert meta(browser, "og:image") == f"{url}/baked.png"
    assert meta(browser, "twitter:card") == "summary"
    assert httpx.get(meta(browser, "og:image")).headers["content-type"] == "image/png"
    linkedin = one(browser, "#linkedin").get_attribute("href")
    assert linkedin.startswith("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=Data+Steward")
    checks = {li.get_attribute("data-check"): li.text for li in by_css(browser, "ul.checks-list li")}
    assert checks["proof"].startswith("pass") and checks["status"].startswith("pass")
    screenshot(browser, "valid-en")


def test_the_baked_png_and_svg_download_and_verify_valid(site, browser, tmp_path):
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.get(f"{site.url}/credentials/{site.pictured}")
    for link in ("#download-png", "#download-svg"):
        one(browser, link).click()
    deadline = time.monotonic() + 15
    names = {f"badge-{site.pictured}.png", f"badge-{site.pictured}.svg"}
    while {p.name for p in tmp_path.iterdir()} != names:
        assert time.monotonic() < deadline, f"downloads: {sorted(p.name for p in tmp_path.iterdir())}"
        time.sleep(0.2)
    files = [str(tmp_path / name) for name in sorted(names)]
    result = subprocess.run([sys.executable, "-m", "registry.cli", "verify", *files], env=site.env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["VALID", "VALID"]
    # A badge image without a credential is a clear one-line refusal, not a traceback.
    plain = tmp_path / "plain.png"
    plain.write_bytes(httpx.get(site.url + site.image_path).content)
    result = subprocess.run([sys.executable, "-m", "registry.cli", "verify", str(plain)], env=site.env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "holds no credential" in result.stdout and "Traceback" not in result.stderr


def test_a_revoked_credential_says_so_with_date_and_reason(site, browser):
    browser.get(f"{site.url}/credentials/{site.revoked}?lang=en")
    status = one(browser, "#credential-status").text
    assert status.startswith("Revoked") and "since 20" in status and site.revoked_reason in status
    assert one(browser, "article.credential").get_attribute("data-state") == "revoked"
    assert not by_css(browser, "#linkedin")
    assert one(browser, ".verdict").get_attribute("data-verdict") == "INVALID"
    screenshot(browser, "revoked-en")


def test_the_page_reads_in_dutch(site, browser):
    browser.get(f"{site.url}/credentials/{site.pictured}?lang=nl")
    assert one(browser, "html").get_attribute("lang") == "nl"
    main = one(browser, "main").text
    for words in ("Toegekend door", "Geldig", "Delen en downloaden", "Toevoegen aan LinkedIn-profiel",
                  "Scan om deze pagina te openen", "Wat deze badge bevestigt"):
        assert words in main, words
    browser.get(f"{site.url}/credentials/{site.revoked}?lang=nl")
    assert one(browser, "#credential-status").text.startswith("Ingetrokken")
    screenshot(browser, "revoked-nl")


def test_a_390px_wide_phone_scrolls_no_page_sideways(site, browser):
    browser.set_window_size(390, 844)
    try:
        for credential, name in ((site.pictured, "phone-valid"), (site.emailed, "phone-email"),
                                 (site.revoked, "phone-revoked")):
            browser.get(f"{site.url}/credentials/{credential}?lang=nl")
            width, inner = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]")
            assert width <= inner, (name, width, inner)
            screenshot(browser, name, width=390)
            browser.set_window_size(390, 844)
    finally:
        browser.set_window_size(1280, 1000)


def test_an_email_recipient_is_never_on_the_page(site, browser):
    for lang in ("en", "nl"):
        browser.get(f"{site.url}/credentials/{site.emailed}?lang={lang}")
        source = browser.page_source
        assert "grace.hopper" not in source and "@example.org" not in source
        assert "sha256$" in one(browser, ".credential-facts").text
    document = httpx.get(f"{site.url}/credentials/{site.emailed}").json()
    assert "grace" not in json.dumps(document)
