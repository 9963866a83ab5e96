"""Fixtures of the browser tests: the web chat page served on loopback, the assistant with CORS
for that page, and Debian's Chromium driven by Playwright.

Playwright's own browser downloads (`playwright install`) are never used: the tests launch the
Chromium of the Debian package (scripts/install_browser.sh installs it).
"""
from __future__ import annotations

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from tests.conversation.harness import ROOT, RunningAssistant

WEBCHAT_DIR = ROOT / "webchat"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 480, "height": 1000}
DEFAULT_TIMEOUT_MS = 20_000


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_chromium() -> Optional[str]:
    """Debian's Chromium (or CHROMIUM_PATH), if it is installed."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), DEFAULT_CHROMIUM, shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


class StaticServer:
    """webchat/ over HTTP on a free loopback port (what `python -m http.server` does in make run)."""

    def __init__(self, directory: Path):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "StaticServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebchatAssistant(RunningAssistant):
    """The conversation tests' assistant, with the Rasa server allowing the page's origin."""

    def __init__(self, workdir: Path, cors_origin: str):
        super().__init__(workdir)
        self.cors_origin = cors_origin

    def start_process(self, name: str) -> None:
        if name == "rasa" and "--cors" not in self.commands[name]:
            self.commands[name] = [*self.commands[name], "--cors", self.cors_origin]
        super().start_process(name)


@pytest.fixture(scope="module")
def webchat() -> Iterator[StaticServer]:
    with StaticServer(WEBCHAT_DIR) as server:
        yield server


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, webchat) -> Iterator[WebchatAssistant]:
    # Module scope: stopped before the next directory's tests start their own assistant.
    running = WebchatAssistant(tmp_path_factory.mktemp("webchat-assistant"), cors_origin=webchat.origin)
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser():
    chromium = find_chromium()
    if chromium is None:
        pytest.fail(f"Chromium not found at {DEFAULT_CHROMIUM} (or CHROMIUM_PATH): run scripts/install_browser.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser):
    """A fresh tab (own sessionStorage, so its own sender id); fails the test on a JavaScript error."""
    context = browser.new_context(viewport=VIEWPORT, locale="id-ID")
    tab = context.new_page()
    tab.set_default_timeout(DEFAULT_TIMEOUT_MS)
    errors: List[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
