"""A real headless Chromium for tests, with screenshots kept as test artifacts.

    def test_x(page: Page) -> None:
        page.open("http://127.0.0.1:8000/")
        page.shot("home")                       # test-artifacts/screenshots/test_x/01-home.png
        page.click("#replay")
        assert "done" in page.text("#replay-result")

Debian's `chromium` and `chromium-driver` (installed by `make install`) are one build, so
selenium drives the browser through that chromedriver and never fetches a driver of its own.
Each test gets a fresh browser with a fresh profile; a failing test leaves `failure.png` (and
the page's HTML) beside its steps' screenshots, under the gitignored test-artifacts/.
"""

import os
import re
import shutil
import tempfile
from collections.abc import Generator, Iterator
from functools import partial
from pathlib import Path
from typing import Literal

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path("test-artifacts") / "screenshots"
DOC_SCREENSHOTS = "KEEL_TEST_DOC_SCREENSHOTS"
WAIT = 30.0  # seconds an element may take to appear on a slow, shared machine

# Headless as root, and quiet on a closed network: Chromium's background calls (updates, sync,
# safe browsing, QUIC probes) would otherwise stall or fill the log with refusals.
_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--window-size=1280,900",
)

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def chromium_options(profile: Path) -> webdriver.ChromeOptions:
    """The flags above, Debian's binary, and `profile` as a fresh user-data directory."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return options


def start_chromium(profile: Path) -> webdriver.Chrome:
    """A headless Chromium driven through Debian's chromedriver; fails if either is missing."""
    for needed in (CHROMIUM, CHROMEDRIVER):
        if not needed.exists():
            raise RuntimeError(f"{needed} is missing: `make install` installs it")
    return webdriver.Chrome(chromium_options(profile), Service(str(CHROMEDRIVER)))


class Page:
    """One browser tab for one test: open, find, click, type, wait, and screenshot by step."""

    def __init__(self, driver: webdriver.Chrome, artifacts: Path) -> None:
        self.driver = driver
        self.artifacts = artifacts
        self._steps = 0

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str, timeout: float = WAIT) -> WebElement:
        """The first element matching `css`, once it is on the page."""
        located = expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        waiting = WebDriverWait(self.driver, timeout)
        element: WebElement = waiting.until(located, f"no {css} after {timeout}s")
        return element

    def all(self, css: str) -> list[WebElement]:
        """Every element matching `css` now (an empty list if none)."""
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str, timeout: float = WAIT) -> str:
        return self.find(css, timeout).text

    def click(self, css: str, timeout: float = WAIT) -> None:
        """Click `css`, which leaves the page (a link or a form), and wait for the next page.

        Without the wait, a read right after the click can find the page being left: its
        element goes stale under the read, or holds the old page's text.
        """
        waiting = WebDriverWait(self.driver, timeout)
        leaving = waiting.until(
            partial(_click, css), f"nothing clickable at {css} after {timeout}s"
        )
        left = expected_conditions.staleness_of(leaving)
        waiting.until(left, f"still on the same page {timeout}s after clicking {css}")

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def choose(self, css: str, value: str) -> None:
        """Pick the option whose value is `value` in the `<select>` matching `css`."""
        Select(self.find(css)).select_by_value(value)

    def back(self) -> None:
        self.driver.back()

    def body(self) -> str:
        """The text of the whole page, as a reader sees it."""
        return self.driver.find_element(By.TAG_NAME, "body").text

    def shot(self, step: str, doc: str | None = None) -> Path:
        """Save the viewport as `NN-step.png`, numbered in the order the test takes them.

        A step named `doc` is also the picture docs/console.md shows: with
        KEEL_TEST_DOC_SCREENSHOTS set to a folder (`make console-screenshots`), it is copied
        there as `doc.png`.
        """
        self._steps += 1
        saved = self.save(f"{self._steps:02d}-{_slug(step)}.png")
        docs = os.environ.get(DOC_SCREENSHOTS)
        if doc is not None and docs:
            Path(docs).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(saved, Path(docs) / f"{doc}.png")
        return saved

    def save(self, name: str) -> Path:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / name
        if not self.driver.save_screenshot(str(path)):
            raise RuntimeError(f"Chromium saved no screenshot to {path}")
        return path

    def save_failure(self) -> None:
        """The page as the failing test left it: a screenshot and its HTML."""
        self.save("failure.png")
        (self.artifacts / "failure.html").write_text(self.driver.page_source)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "step"


def artifacts_of(item: pytest.Item) -> Path:
    """test-artifacts/screenshots/<module>/<test>/ under the repository's root."""
    module = Path(str(item.path)).stem
    return item.config.rootpath / ARTIFACTS / module / _slug(item.name)


def failed(item: pytest.Item) -> bool:
    """Whether the test's set-up or body failed (known by the time its fixtures tear down)."""
    reports = item.stash.get(_REPORTS, {})
    return any(report.failed for report in reports.values())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, for `failed` to read in the fixture's teardown."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh headless Chromium; its screenshots land in the test's artifacts folder, which
    starts empty, and a failure adds `failure.png` there."""
    artifacts = artifacts_of(request.node)
    shutil.rmtree(artifacts, ignore_errors=True)
    profile = Path(tempfile.mkdtemp(prefix="keel-chromium-"))
    driver = start_chromium(profile)
    opened = Page(driver, artifacts)
    try:
        yield opened
        if failed(request.node):
            opened.save_failure()
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# What chromedriver says when a node it found is gone from the document by the time it clicks.
_DETACHED = "does not belong to the document"


def _click(css: str, driver: webdriver.Chrome) -> WebElement | Literal[False]:
    """Click `css` if it can be clicked now: the `<html>` of the page clicked on, or False.

    False asks `WebDriverWait` to try again: nothing is clickable yet, or the page replaced its
    document between the find and the click (a navigation still landing), so the click never
    reached a page.
    """
    page = driver.find_element(By.TAG_NAME, "html")
    target = expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, css))(driver)
    if not target:
        return False
    try:
        target.click()
    except StaleElementReferenceException:
        return False
    except WebDriverException as error:
        if _DETACHED not in str(error.msg):
            raise
        return False
    return page
