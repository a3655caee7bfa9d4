"""Headless Debian Chromium through selenium, for the tests that look at pages as a person would.

One source for every browser test. Each browser gets its own profile folder: two Chromiums sharing
the default profile (xdist workers, a developer's own browser) fail at start with "DevToolsActivePort
file doesn't exist", which says nothing about the page under test.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any, Sequence

import pytest

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1200,1000")


def headless_chromium(extra_flags: Sequence[str] = (), logs: Sequence[str] = ("browser",)) -> Any:
    """A started webdriver (quit it when done), or a skip saying how to install Chromium."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (dev extra)")
    from selenium.webdriver.chrome.service import Service

    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Chromium is absent: `apt-get install -y chromium chromium-driver` (see .ci/install)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='slm-chromium-')}", *extra_flags):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {name: "ALL" for name in logs})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
