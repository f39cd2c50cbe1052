"""The browser set-up on its own: Debian's Chromium, driven headless, against a local page."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.browser import Page

pytest_plugins = ["pytester"]

PNG = b"\x89PNG\r\n\x1a\n"

_FORM = b"""<!doctype html><title>trivial</title>
<h1 id="greeting">hello from keel</h1>
<form action="/done" method="post"><button id="go" type="submit">go</button></form>"""
_DONE = b"""<!doctype html><title>done</title><p id="result">posted</p>"""


class _Trivial(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer(_FORM)

    def do_POST(self) -> None:
        self._answer(_DONE)

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def trivial_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trivial)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_chromium_renders_a_page_submits_a_form_and_keeps_numbered_screenshots(
    page: Page, trivial_site: str
) -> None:
    page.open(f"{trivial_site}/")
    assert page.text("#greeting") == "hello from keel"
    first = page.shot("the form")
    page.click("#go")
    assert page.text("#result") == "posted"
    second = page.shot("after posting")

    assert [first.name, second.name] == ["01-the-form.png", "02-after-posting.png"]
    assert first.parent == page.artifacts
    assert page.artifacts.parts[-3:] == ("screenshots", "test_browser", page.artifacts.name)
    for shot in (first, second):
        assert shot.read_bytes().startswith(PNG)


def test_a_failing_browser_test_leaves_a_failure_screenshot_and_its_html(
    pytester: pytest.Pytester, trivial_site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a test that opens a page and then fails, run by pytest with the browser plugin
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parents[2]))
    pytester.makepyfile(
        test_fails=f"""
        def test_opens_then_fails(page):
            page.open("{trivial_site}/")
            page.shot("opened")
            assert page.text("#greeting") == "something else"

        def test_opens_and_passes(page):
            page.open("{trivial_site}/")
        """
    )

    # When it runs
    result = pytester.runpytest_subprocess("-p", "tests.support.browser", "-p", "no:cacheprovider")

    # Then the failure left its screenshot and HTML beside the step's, and the pass left none
    result.assert_outcomes(passed=1, failed=1)
    folder = pytester.path / "test-artifacts" / "screenshots" / "test_fails"
    failing = folder / "test_opens_then_fails"
    assert sorted(p.name for p in failing.iterdir()) == [
        "01-opened.png",
        "failure.html",
        "failure.png",
    ]
    assert (failing / "failure.png").read_bytes().startswith(PNG)
    assert "hello from keel" in (failing / "failure.html").read_text()
    assert not (folder / "test_opens_and_passes").exists()
