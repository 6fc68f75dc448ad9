"""GROUP_CREATION=site_admins: only site admins create groups; everyone else is told why."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Group
from tests.factories import UserFactory
from tests.helpers import post, sign_in


def test_anyone_may_create_a_group_by_default(client, config):
    sign_in(client, UserFactory())
    assert client.get("/groups/new").status_code == 200
    response = post(client, "/groups/new", {"name": "Allotment", "handle": "allotment", "privacy": "closed"})
    assert response.status_code == 303
    assert db.session.scalar(select(Group).where(Group.handle == "allotment")) is not None


def test_only_site_admins_create_groups_when_set(client, config, site_admin):
    config["GROUP_CREATION"] = "site_admins"
    sign_in(client, UserFactory())
    page = client.get("/groups/new")
    assert page.status_code == 403 and "only its administrators create new groups" in page.get_data(as_text=True)
    refused = post(client, "/groups/new", {"name": "Allotment", "handle": "allotment", "privacy": "closed"})
    assert refused.status_code == 403
    assert db.session.scalar(select(Group).where(Group.handle == "allotment")) is None

    sign_in(client, site_admin)
    assert client.get("/groups/new").status_code == 200
    assert post(client, "/groups/new", {"name": "Allotment", "handle": "allotment",
                                        "privacy": "closed"}).status_code == 303
    assert db.session.scalar(select(Group).where(Group.handle == "allotment")) is not None
