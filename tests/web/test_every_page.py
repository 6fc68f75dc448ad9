"""Every page of the URL map (one URL per GET rule, as tests/security/test_every_route.py builds
them), signed out and signed in: no two elements share an id (a label or an error link would
point at the wrong field), and the favicon every browser asks for on a first visit is there."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.helpers import sign_in
from tests.security.test_every_route import _tokens, every_get_url
from tests.stewardship.conftest import rich_group  # noqa: F401  (a group with something in every table)

ID = re.compile(rb"""\sid=["']([^"']+)["']""")


@pytest.mark.parametrize("who", ["signed_out", "bea", "admin"])
def test_no_page_repeats_an_id(rich_group, clean_app, who):  # noqa: F811
    urls = every_get_url(clean_app, rich_group, _tokens(rich_group))
    client = clean_app.test_client()
    if who != "signed_out":
        sign_in(client, rich_group[who])
    repeated = {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        twice = [i.decode() for i, n in Counter(ID.findall(response.get_data())).items() if n > 1]
        if twice:
            repeated[url] = twice
    assert not repeated, repeated


def test_the_favicon_is_served_small_and_cached_for_a_year(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in ("image/x-icon", "image/vnd.microsoft.icon")
    assert len(response.get_data()) < 1024
    assert "max-age=31536000" in response.headers["Cache-Control"]
