"""What every browser test module shares: Debian's headless Chromium driven by Selenium through
Debian's chromedriver, and `registry serve` started over a store the module has filled, on a free
port of 127.0.0.1. Without chromium/chromedriver or selenium the tests skip, except under CI=true,
where they fail."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,1000")
SERVER_START_SECONDS = 30


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must not be skipped)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def site_environment(prefix: str) -> tuple[Path, int, dict[str, str]]:
    """A fresh home, a free port and the environment `registry serve` will read (SQLite, public
    URL on that port): fill the store through `open_registry(env)`, then `serving(...)`."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    env = {**os.environ, "REGISTRY_HOME": str(home / "data"), "REGISTRY_KEYS": str(home / "keys"),
           "REGISTRY_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    env.pop("REGISTRY_DATABASE_URL", None)
    env.pop("REGISTRY_KEYSTORE_PASSPHRASE", None)
    return home, port, env


@contextmanager
def serving(home: Path, port: int, env: dict[str, str], ready: str = "/pages") -> Iterator[str]:
    """`registry serve` over `env` until the block ends; its URL once `ready` answers 200. The
    home is removed afterwards."""
    log = (home / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "registry.cli", "serve", "--port", str(port),
                               "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                if httpx.get(f"{url}{ready}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"registry serve did not answer: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def chrome(*extra_flags: str, browser_log: bool = False) -> Iterator:
    """A headless Chromium with a fresh profile that fetches nothing of its own accord."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        unavailable(f"no Debian chromium/chromedriver ({CHROMIUM}, {CHROMEDRIVER}); "
                    "apt-get install chromium chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install selenium)")
    profile = tempfile.mkdtemp(prefix="registry-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # never let Selenium Manager fetch a browser
    for flag in (*CHROMIUM_FLAGS, *extra_flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if browser_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def by_css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def one(driver, selector: str):
    found = by_css(driver, selector)
    assert len(found) == 1, f"{len(found)} elements match {selector!r} on {driver.current_url}"
    return found[0]
