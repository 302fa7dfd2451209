"""Sign-in throttling, on a server of its own: five failures from one address lock that
address out for a while, which would lock out every other test's sign-in too."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, sign_in


def test_a_wrong_password_is_throttled_after_five_tries(page: Page, site: Site) -> None:
    email = site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support")
    for _ in range(5):
        sign_in(page, email, "not the password")
        expect(page.get_by_role("alert")).to_contain_text("do not match")
    sign_in(page, email)  # the right password, too late
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    expect(page).to_have_url(re.compile("/console/login"))
