"""Every page of the URL map (one URL per GET rule, as tests/security/test_every_route.py builds them),
in Chromium at a phone's 375 px and a laptop's 1280 px, signed in as a group admin: no page is
wider than the screen. A few key pages are saved as screenshots in .artifacts/screens/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import sign_in_by_email
from tests.security.test_every_route import _tokens, every_get_url
from tests.stewardship.conftest import rich_group  # noqa: F401  (a group with something in every table)

SCREENS = Path(__file__).resolve().parents[2] / ".artifacts" / "screens"
# The element that sticks out furthest to the right: what to fix.
WIDEST = """() => { let worst = null, right = 0;
  for (const el of document.querySelectorAll('main *')) { const r = el.getBoundingClientRect().right;
    if (r > right) { right = r; worst = el; } }
  return worst ? `${worst.tagName.toLowerCase()}.${worst.className} (${Math.round(right)} px): ${worst.outerHTML.slice(0, 120)}` : ''; }"""
SHOTS = ("/", "/g/allotments", "/g/allotments/members", "/groups", "/account", "/login")


@pytest.mark.parametrize("width", [375, 1280])
def test_no_page_is_wider_than_the_screen(browser, live_server, clean_app, rich_group, outbox, width):  # noqa: F811
    urls = every_get_url(clean_app, rich_group, _tokens(rich_group))
    thread = f"/d/{rich_group['thread'].id}"
    poll = f"/p/{rich_group['open_poll'].id}"
    context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in_by_email(page, outbox, "ada@example.org")
    wide, seen = {}, 0
    for url in urls:
        try:
            response = page.goto(url)
        except Exception as error:  # noqa: BLE001 - a download (an export, a CSV, an .ics) is not a page
            if "Download is starting" in str(error):
                continue
            raise
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        seen += 1
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            wide[url] = (scroll, page.evaluate(WIDEST))
        if url in (*SHOTS, thread, poll):
            SCREENS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^a-z0-9]+", "-", url.strip("/").lower()) or "home"
            page.screenshot(path=str(SCREENS / f"{width}-{name}.png"), full_page=False)
    context.close()
    assert seen > 30  # the crawl reached the pages, not only refusals
    assert not wide, f"pages wider than {width} px: {wide}"
