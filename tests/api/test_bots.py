"""Bots: a group's admins make one at /g/<handle>/bots; it belongs to that group only (every other
group, open ones too, does not exist for it), is labelled a bot wherever its name shows, and stops
at once when retired."""
from __future__ import annotations

import re

from app.extensions import db
from app.models import AuditLog, User
from app.services import discussions
from tests.api.conftest import Api
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import post, sign_in


def _make_bot(client, handle="club", name="Release notes"):
    made = post(client, f"/g/{handle}/bots", {"name": name, "scope": "write"})
    assert made.status_code == 200, made.get_data(as_text=True)
    assert made.headers["Cache-Control"] == "no-store"
    return re.search(r"Token: <code>(qat_[\w-]+)</code>", made.get_data(as_text=True)).group(1)


def test_an_admin_makes_a_bot_that_posts_in_its_group_labelled_a_bot(client, clean_app, outbox):
    group = GroupFactory(handle="club", name="Club", privacy="closed")
    admin = member(group, role="admin")
    sign_in(client, admin)
    token = _make_bot(client)
    bot = db.session.query(User).filter(User.bot_group_id == group.id).one()
    assert bot.email is None and bot.display_name == "Release notes (bot)"
    assert db.session.query(AuditLog).filter_by(action="bot_created").count() == 1

    api = Api(client, token)
    assert api.get("/me").json["bot_group"] == "club"
    made = api.post("/groups/club/threads", {"title": "Version 2 is out"})
    assert made.status_code == 201 and made.json["author"] == {"id": bot.id, "name": "Release notes (bot)", "bot": True}
    page = client.get(f"/d/{made.json['id']}").get_data(as_text=True)
    assert "Release notes (bot)" in page  # the web names it a bot too
    assert "Release notes (bot)" in client.get("/g/club/members").get_data(as_text=True)
    mails = [m for m in outbox.messages() if "Version 2 is out" in (m.subject or "")]
    assert mails and all("Release notes (bot)" in m.text + (m.header("From") or "") for m in mails)  # and in mail


def test_a_bot_is_confined_to_its_group_even_open_ones_elsewhere(client, clean_app):
    group = GroupFactory(handle="club", privacy="closed")
    elsewhere = GroupFactory(handle="town", name="Town", privacy="open")
    neighbour = member(elsewhere)
    thread = discussions.start_thread(actor_id=neighbour.id, group_id=elsewhere.id, title="Town quokka", body="")
    sign_in(client, member(group, role="admin"))
    api = Api(client, _make_bot(client))
    assert [g["handle"] for g in api.get("/groups").json["items"]] == ["club"]
    assert api.get("/groups/town").status_code == 404
    assert api.get(f"/threads/{thread.id}").status_code == 404
    assert api.post("/groups/town/threads", {"title": "Spam"}).status_code == 404
    assert api.post(f"/threads/{thread.id}/comments", {"body": "Spam"}).status_code == 404
    assert api.get("/search?q=quokka").json["items"] == []
    # A person with the same token scope reads the open group fine.
    assert Api(client, _person_token(UserFactory())).get(f"/threads/{thread.id}").status_code == 200


def _person_token(user):
    from tests.api.conftest import token_for

    return token_for(user, "read")


def test_only_the_groups_admins_see_its_bots_page(client, clean_app):
    group = GroupFactory(handle="club", privacy="open")
    sign_in(client, member(group))
    assert client.get("/g/club/bots").status_code == 404
    assert post(client, "/g/club/bots", {"name": "Sneaky"}).status_code == 404
    assert db.session.query(User).filter(User.bot_group_id.is_not(None)).count() == 0


def test_a_retired_bot_stops_at_once_and_keeps_its_name_on_what_it_wrote(client, clean_app):
    group = GroupFactory(handle="club", privacy="closed")
    admin = member(group, role="admin")
    sign_in(client, admin)
    token = _make_bot(client)
    api = Api(client, token)
    thread = api.post("/groups/club/threads", {"title": "Build green"}).json
    bot = db.session.query(User).filter(User.bot_group_id == group.id).one()
    assert post(client, f"/g/club/bots/{bot.id}/retire").status_code == 303
    assert api.get("/me").status_code == 401
    assert "Build green" in client.get("/g/club").get_data(as_text=True)
    assert "Release notes (bot)" in client.get(f"/d/{thread['id']}").get_data(as_text=True)


def test_a_bot_cannot_make_its_own_personal_tokens(clean_app):
    import pytest

    from app.services import api_tokens, bots
    from app.services.errors import NotAllowed

    group = GroupFactory(handle="club")
    admin = member(group, role="admin")
    bot, _ = bots.create_bot(actor_id=admin.id, group_id=group.id, name="Helper")
    with pytest.raises(NotAllowed):
        api_tokens.issue_token(user_id=bot.id, name="mine", scope="write")
