"""Real Chromium (Debian's package) driven by Playwright against a live server on loopback."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tsunagu.engine.clock import system_clock
from tsunagu.engine.config import Settings
from tsunagu.engine.db import make_engine, make_session_factory
from tsunagu.processes.demo import load_demo
from tsunagu.web import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("TSUNAGU_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(database_url, tmp_path):
    """The app with the demo municipality, served on a free loopback port in a thread."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        load_demo(session, system_clock, PROJECT_ROOT / "bpmn")
    engine.dispose()
    settings = Settings(database_url=database_url, secret_key="browser-test", instance_dir=str(tmp_path / "i"))
    server = make_server("127.0.0.1", 0, create_app({"SETTINGS": settings}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ja-JP")
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Keep a picture of what the user saw, for people reviewing a change."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
