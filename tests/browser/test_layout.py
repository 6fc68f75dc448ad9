"""Every page of the URL map (one URL per GET rule, as tests/security/test_every_route.py builds them),
in Chromium at a phone's 375 px and a laptop's 1280 px, signed in as a group admin: no page is
wider than the screen. A few key pages are saved as screenshots in .artifacts/screens/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import walk_pages
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
    thread = f"/d/{rich_group['thread'].id}"
    poll = f"/p/{rich_group['open_poll'].id}"
    wide, seen = {}, 0
    for url, page in walk_pages(browser, live_server, rich_group, clean_app, outbox,
                                viewport={"width": width, "height": 800}):
        seen += 1
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            wide[url] = (scroll, page.evaluate(WIDEST))
        if url in (*SHOTS, thread, poll):
            SCREENS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^a-z0-9]+", "-", url.strip("/").lower()) or "home"
            page.screenshot(path=str(SCREENS / f"{width}-{name}.png"), full_page=False)
    assert seen > 30  # the crawl reached the pages, not only refusals
    assert not wide, f"pages wider than {width} px: {wide}"
