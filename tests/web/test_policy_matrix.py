"""Who may do what, through the browser: role × privacy × action, every cell checked over HTTP."""
from __future__ import annotations

import pytest

from app import policy
from app.models import Membership, utcnow
from app.services import discussions
from tests.factories import GroupFactory, MembershipFactory, UserFactory, member
from tests.helpers import post, sign_in

ROLES = ["operator", "non_member", "signed_out", "member", "admin", "removed"]
PRIVACIES = ["open", "closed", "secret"]
ACTIONS = ["see_group", "view_thread", "comment", "start_thread", "react", "edit_others_comment", "invite",
           "see_in_search", "read_feed", "read_thread_feed", "download_mbox",
           "manage_webhooks",
           "manage_templates", "find_poll_in_search"]
INSIDERS = {"member", "admin"}
ACTIONS += ["manage_bots"]  # the group's bots page (admins only, like its webhooks)
# Invited by email into the thread only (services/guests), and such a guest once removed.
GUEST_ROLES = ["guest", "removed_guest"]


def expected(role: str, privacy: str, action: str, archived: bool = False) -> bool:
    if archived:  # read-only, and only its members know it exists (its admins still export it)
        if action in ("comment", "start_thread", "react", "edit_others_comment", "invite"):
            return False
        if action in ("see_group", "view_thread", "see_in_search", "read_feed", "read_thread_feed",
                      "find_poll_in_search"):
            return role in INSIDERS
        return role == "admin"
    if role in GUEST_ROLES:
        return expected_for_guest(role, privacy, action)
    if action in ("see_group",):
        return privacy != "secret" or role in INSIDERS
    if action in ("view_thread", "see_in_search", "read_feed", "read_thread_feed", "find_poll_in_search"):
        return privacy == "open" or role in INSIDERS
    if action in ("comment", "start_thread", "react"):
        return role in INSIDERS
    return role == "admin"  # edit others' comment (flag on), invite (members may not), download the mbox, webhooks


def expected_for_guest(role: str, privacy: str, action: str) -> bool:
    """A guest takes part in their one thread (and finds it in search) and nothing else; removed, they
    are anyone: only what an open group shows everyone."""
    if action == "see_group":
        return privacy != "secret"
    if role == "guest" and action in ("view_thread", "see_in_search", "comment", "react"):
        return True
    if action in ("view_thread", "see_in_search", "read_feed", "read_thread_feed", "find_poll_in_search"):
        return privacy == "open"
    return False


def _allowed(response) -> bool:
    return response.status_code in (200, 303) and not (response.location or "").startswith("/login")


@pytest.mark.parametrize("archived", [False, True], ids=["live", "archived"])
@pytest.mark.parametrize("privacy", PRIVACIES)
@pytest.mark.parametrize("role", ROLES + GUEST_ROLES)
def test_role_privacy_action_matrix(client, clean_app, db_session, role, privacy, archived):
    group = GroupFactory(handle="club", name="Club", privacy=privacy, admins_can_edit_others_comments=True)
    author = member(group, email="author@example.org")
    thread = discussions.start_thread(actor_id=author.id, group_id=group.id, title="Quokka plans", body="quokka")
    comment = discussions.post_comment(actor_id=author.id, discussion_id=thread.id, body="Author's comment")
    from datetime import timedelta

    from app.models import utcnow
    from app.services.polls import create_poll

    create_poll(actor_id=author.id, group_id=group.id, poll_type="proposal", title="Wallaby budget",
                closing_at=utcnow() + timedelta(days=2), process="consent")
    person = None
    if role == "operator":
        person = UserFactory(is_site_admin=True)
    elif role == "non_member":
        person = UserFactory()
    elif role in INSIDERS:
        person = member(group, role=role)
    elif role == "removed":
        person = member(group)
        db_session.query(Membership).filter_by(user_id=person.id).delete()
        db_session.commit()
    elif role in GUEST_ROLES:
        from app.models import User
        from app.services import guests

        guests.invite_guests(actor_id=author.id, discussion_id=thread.id, emails="guest@elsewhere.example")
        person = db_session.query(User).filter_by(email="guest@elsewhere.example").one()
        if role == "removed_guest":
            guests.remove_guest(actor_id=author.id, discussion_id=thread.id, user_id=person.id)
    if person is not None:
        sign_in(client, person)
    if archived:
        group.archived_at = utcnow()
        db_session.commit()

    checks = {
        "see_group": lambda: _allowed(client.get("/g/club")),
        "view_thread": lambda: _allowed(client.get(f"/d/{thread.id}")),
        "comment": lambda: _allowed(post(client, f"/d/{thread.id}/comments", {"body": "hello"})),
        "start_thread": lambda: _allowed(post(client, "/g/club/d/new", {"title": "Mine", "body": ""})),
        "react": lambda: _allowed(post(client, f"/d/{thread.id}/react", {"emoji": "👍"})),
        "edit_others_comment": lambda: _allowed(post(client, f"/c/{comment.id}/edit", {"body": "changed"})),
        "invite": lambda: _allowed(post(client, "/g/club/invitations", {"emails": "new@example.org"})),
        "see_in_search": lambda: "Quokka plans" in client.get("/search?q=quokka").get_data(as_text=True),
        "read_feed": lambda: "Quokka plans" in client.get("/g/club/feed.atom").get_data(as_text=True),
        "read_thread_feed": lambda: _allowed(client.get(f"/d/{thread.id}/feed.atom")),
        "download_mbox": lambda: _allowed(post(client, "/g/club/threads.mbox")),
        "manage_webhooks": lambda: _allowed(client.get("/g/club/webhooks")),
        "manage_templates": lambda: _allowed(client.get("/g/club/templates")),
        "find_poll_in_search": lambda: "Wallaby budget" in client.get("/search?q=wallaby").get_data(as_text=True),
        "manage_bots": lambda: _allowed(client.get("/g/club/bots")),
    }
    got = {action: checks[action]() for action in ACTIONS}
    want = {action: expected(role, privacy, action, archived) for action in ACTIONS}
    assert got == want

    # The policy module (which templates ask too) agrees with what the pages did.
    from flask_login import AnonymousUserMixin

    who = person or AnonymousUserMixin()
    with clean_app.test_request_context():
        db_session.expire_all()
        fresh_group = db_session.get(type(group), group.id)
        fresh_thread = db_session.get(type(thread), thread.id)
        assert policy.can_see_group(who, fresh_group) == want["see_group"]
        assert policy.can_view_discussion(who, fresh_thread) == want["view_thread"]
        assert policy.can_invite(who, fresh_group) == want["invite"]
        assert policy.can_read_feed(who, fresh_group) == want["read_feed"]
        assert policy.can_read_thread_feed(who, fresh_thread) == want["read_thread_feed"]
        assert policy.can_export(who, fresh_group) == want["download_mbox"]
        assert policy.can_manage_webhooks(who, fresh_group) == want["manage_webhooks"]
        assert policy.can_manage_templates(who, fresh_group) == want["manage_templates"]
        assert policy.can_manage_bots(who, fresh_group) == want["manage_bots"]


def test_secret_groups_are_not_counted_for_outsiders(client, clean_app):
    secret = GroupFactory(handle="hush", name="Hush", privacy="secret")
    insider = member(secret)
    discussions.start_thread(actor_id=insider.id, group_id=secret.id, title="Hush thread", body="")
    outsider = UserFactory()
    sign_in(client, outsider)
    home = client.get("/").get_data(as_text=True)
    assert "Hush" not in home and "No threads yet" in home
    assert "0 results" in client.get("/search?q=hush").get_data(as_text=True)
