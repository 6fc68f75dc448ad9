"""The offline HTML archive opens from disk in a real browser and makes no network request."""
from __future__ import annotations

import io
import zipfile

from app.stewardship.export import build_zip


def test_archive_opens_from_a_file_url_with_no_network_requests(rich_group, tmp_path, browser):
    # The session's one Chromium (tests/conftest.py): a second sync_playwright() in a worker that
    # already runs one fails ("Sync API inside the asyncio loop"), depending on test order.
    zipfile.ZipFile(io.BytesIO(build_zip(rich_group["group"]))).extractall(tmp_path)
    index = tmp_path / "archive.html"
    requests = []
    page = browser.new_page()
    try:
        page.on("request", lambda request: requests.append(request.url))
        page.goto(index.as_uri())
        page.wait_for_load_state("load")
        assert page.title() == "Allotment Society: Quorum archive"
        assert page.get_by_text("I can fix it on Saturday.").is_visible()
        assert page.get_by_role("heading", name="Shed roof").is_visible()
        # The attachment link points at the file beside the page.
        href = page.get_by_role("link", name="minutes 2026.pdf").get_attribute("href")
        assert (tmp_path / href).is_file()
    finally:
        page.close()
    assert requests == [index.as_uri()], f"the archive made other requests: {requests}"
