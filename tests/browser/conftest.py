"""The console in a real browser: Debian's Chromium driven by Playwright, against a real
`creditflow serve` process on a SQLite file.

Every test signs in afresh (a new browser context: no cookies carried over). Screenshots of
each page, at desktop and phone widths, go to build/screenshots/ (ignored by git) for people to
look at; the assertions are on what the pages say and do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from creditflow.engine import Engine
from tests.e2e.server import Server, creditflow_command

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


# Package scope, not session: the sync API keeps an event loop running in this thread until it
# stops, and tests after this package call asyncio.run().
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests, but Debian's chromium is not installed")
        pytest.skip("no chromium here (apt-get install chromium)")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@dataclass
class Site:
    """A running server, its database for the test to look into, and the staff it has."""

    server: Server
    engine: Engine
    db: Path
    cwd: Path

    @property
    def url(self) -> str:
        return self.server.url

    def api(self) -> httpx.Client:
        return self.server.client()

    def staff(self, email: str, role: str) -> str:
        """A staff member made by the real command; their email."""
        subprocess.run(
            creditflow_command(
                "staff", "create", email, "--role", role, "--password-stdin", "--db", str(self.db)
            ),
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
            cwd=self.cwd,
        )
        return email


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("console")
    db = folder / "creditflow.db"
    server = Server(
        f"sqlite:///{db}",
        cwd=folder,
        env={"CREDITFLOW_MAIL_DIR": str(folder / "mail"), "CREDITFLOW_DATA_DIR": str(folder)},
    ).wait_ready()
    engine = Engine(database_url=f"sqlite:///{db}", data_dir=folder, environ={})
    try:
        yield Site(server=server, engine=engine, db=db, cwd=folder)
    finally:
        engine.close()
        server.stop()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(base_url=site.url, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, email: str, password: str = PASSWORD, *, go: bool = True) -> None:
    """Fill in the sign-in form (on the page already shown when `go` is False)."""
    if go:
        page.goto("/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """Save the page as it looks at desktop width and at phone width."""

    def take(page: Page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        size = page.viewport_size or DESKTOP
        page.screenshot(path=str(SCREENSHOTS / f"{slug}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(SCREENSHOTS / f"{slug}-phone.png"), full_page=True)
        page.set_viewport_size(size)

    return take


def post_json(client: httpx.Client, path: str, body: Any = None) -> dict[str, Any]:
    answer = client.post(path, json=body)
    assert answer.status_code in (200, 201), answer.text
    result: dict[str, Any] = answer.json()
    return result


__all__ = ["PASSWORD", "Site", "expect", "post_json", "sign_in"]
