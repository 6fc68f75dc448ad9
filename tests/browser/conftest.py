"""Browser tests: the session app served on a free local port, driven by Debian's Chromium via Playwright.

One browser per session; each test gets fresh contexts (cookies), with JavaScript on or off.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import linked_to, serving

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def _server(app):
    with serving(app, "127.0.0.1") as url:
        yield url


@pytest.fixture
def live_server(clean_app, _server):
    """The live address, with BASE_URL pointing at it so emailed links open in the browser."""
    with linked_to(clean_app, _server) as url:
        yield url


@pytest.fixture
def new_page(browser, live_server):
    """Make pages in fresh contexts: `new_page(js=False)` for a browser with JavaScript off."""
    contexts = []

    def make(*, js: bool = True, bypass_csp: bool = False):
        context = browser.new_context(base_url=live_server, java_script_enabled=js, bypass_csp=bypass_csp)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page(js=True)


@pytest.fixture
def nojs_page(new_page):
    return new_page(js=False)


@pytest.fixture
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip("node_modules/axe-core/axe.min.js is absent (npm install --no-save axe-core@4): "
                    "accessibility checks skipped")
    return AXE.read_text()


def sign_in_by_email(page, outbox, email: str) -> None:
    """Sign in as a person does: ask for a link, open it from the outbox, press the button."""
    page.goto("/login")
    page.get_by_label("Email address").first.fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_url("**/login/code**")
    link = next(link for link in outbox.last_to(email).links() if "/login/link/" in link)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def walk_pages(browser, live_server, scene, app, outbox, *, email: str = "ada@example.org", **context_options):
    """Every HTML page of the URL map (one URL per GET rule, as tests/security/test_every_route.py
    builds them), opened in Chromium signed in as `email`: yields (url, page) for each one that
    answers 200 with HTML. Downloads (an export, a CSV, an .ics) and refusals are passed over."""
    from tests.security.test_every_route import _tokens, every_get_url

    urls = every_get_url(app, scene, _tokens(scene))
    context = browser.new_context(base_url=live_server, **context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in_by_email(page, outbox, email)
    try:
        for url in urls:
            try:
                response = page.goto(url)
            except Exception as error:  # noqa: BLE001 - a download is not a page
                if "Download is starting" in str(error):
                    continue
                raise
            if response is not None and response.status == 200 and "text/html" in response.headers.get("content-type", ""):
                yield url, page
    finally:
        context.close()
