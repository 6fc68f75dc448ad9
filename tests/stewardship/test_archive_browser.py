"""The offline HTML archive opens from disk in a real browser and makes no network request."""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from app.stewardship.export import build_zip

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


def test_archive_opens_from_a_file_url_with_no_network_requests(rich_group, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium): browser check skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    zipfile.ZipFile(io.BytesIO(build_zip(rich_group["group"]))).extractall(tmp_path)
    index = tmp_path / "archive.html"
    requests = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.goto(index.as_uri())
        page.wait_for_load_state("load")
        assert page.title() == "Allotment Society: Quorum archive"
        assert page.get_by_text("I can fix it on Saturday.").is_visible()
        assert page.get_by_role("heading", name="Shed roof").is_visible()
        # The attachment link points at the file beside the page.
        href = page.get_by_role("link", name="minutes 2026.pdf").get_attribute("href")
        assert (tmp_path / href).is_file()
        browser.close()
    assert requests == [index.as_uri()], f"the archive made other requests: {requests}"
