"""Operators see a private group's name and size, never its content, unless a group admin grants
time-limited support access; every page they then view is in the access log the admins read."""
from __future__ import annotations

import re
from datetime import timedelta

from app.extensions import db
from app.models import AccessLog, SupportGrant, utcnow
from app.stewardship.grants import log_access
from tests.helpers import post, sign_in


def group_pages(app, ctx) -> list[str]:
    """Every GET page of the app that belongs to one group, thread or poll."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not re.match(r"^/(g/<[^>]*handle>|d/<|p/<)", rule.rule):
            continue
        if any("token" in arg for arg in rule.arguments):
            continue  # signed one-click links check their own token, not who is signed in
        values = {}
        for arg in rule.arguments:
            if "handle" in arg:
                values[arg] = ctx["group"].handle
            elif rule.rule.startswith("/d/") and arg == sorted(rule.arguments)[0]:
                values[arg] = ctx["thread"].id
            elif rule.rule.startswith("/p/") and arg == sorted(rule.arguments)[0]:
                values[arg] = ctx["open_poll"].id
            else:
                values[arg] = 1
        url = rule.rule
        for arg, value in values.items():
            url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(value), url)
        urls.append(url)
    return urls


def test_without_a_grant_every_page_of_a_secret_group_is_404_for_an_operator(rich_group, client, clean_app):
    sign_in(client, rich_group["operator"])
    pages = group_pages(clean_app, rich_group)
    assert "/g/allotments/export" in pages and "/g/allotments/support" in pages
    for url in pages:
        assert client.get(url).status_code == 404, url
    assert db.session.scalar(db.select(db.func.count(AccessLog.id))) == 1  # only the fixture's old entry


def test_the_operator_sees_name_and_size_but_no_content(rich_group, client):
    sign_in(client, rich_group["operator"])
    page = client.get("/operator/groups")
    assert page.status_code == 200
    assert "Allotment Society" in page.text and "<td>4</td>" in page.text
    assert "Shed roof" not in page.text and 'href="/g/allotments"' not in page.text
    sign_in(client, rich_group["bea"])
    assert client.get("/operator/groups").status_code == 404


def test_a_group_admin_grants_access_and_reads_the_operators_views(rich_group, client, clean_app):
    admin, operator = rich_group["admin"], rich_group["operator"]
    sign_in(client, admin)
    refused = post(client, "/g/allotments/support", {"reason": "", "days": "3"})
    assert refused.status_code == 422 and "Say why" in refused.text
    response = post(client, "/g/allotments/support", {"reason": "Digest emails look wrong", "days": "3",
                                                      "operator_id": str(operator.id)})
    assert response.status_code == 303
    grant = db.session.scalar(db.select(SupportGrant).where(SupportGrant.revoked_at.is_(None),
                                                            SupportGrant.expires_at > utcnow()))
    assert grant.expires_at - grant.created_at == timedelta(days=3)

    operator_client = clean_app.test_client()
    sign_in(operator_client, operator)
    viewed = []
    for url in group_pages(clean_app, rich_group):
        if operator_client.get(url).status_code == 200:
            viewed.append(url)
    # Whatever content pages exist, each one viewed is logged; the content is visible under the grant.
    logged = [row.path for row in db.session.scalars(db.select(AccessLog).where(AccessLog.grant_id == grant.id))]
    assert viewed, "the group's content pages should open under a grant"
    assert sorted(logged) == sorted(viewed)
    assert log_access(operator, rich_group["group"], "/d/%d" % rich_group["thread"].id) is not None

    page = client.get("/g/allotments/support")
    assert "Opal Operator" in page.text and f"/d/{rich_group['thread'].id}" in page.text
    assert "Digest emails look wrong" in page.text and "support granted" in page.text

    post(client, f"/g/allotments/support/{grant.id}/revoke")
    assert log_access(operator, rich_group["group"], "/d/1") is None
    for url in group_pages(clean_app, rich_group):
        assert operator_client.get(url).status_code == 404, url


def test_members_views_are_never_logged(rich_group, client, clean_app):
    sign_in(client, rich_group["bea"])
    for url in group_pages(clean_app, rich_group):
        client.get(url)
    assert db.session.scalar(db.select(db.func.count(AccessLog.id))) == 1
