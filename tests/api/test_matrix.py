"""Who may do what, through the API: role × privacy × action, every cell checked over HTTP with a
write token, the same rules as the web's matrix (tests/web/test_policy_matrix.py), plus bots."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import Membership, utcnow
from app.services import bots, discussions
from app.services import polls as poll_service
from tests.api.conftest import Api, later, token_for
from tests.factories import GroupFactory, UserFactory, member

ROLES = ["operator", "non_member", "no_token", "member", "admin", "removed", "bot", "other_groups_bot"]
PRIVACIES = ["open", "closed", "secret"]
ACTIONS = ["see_group", "list_threads", "view_thread", "list_comments", "comment", "reply", "start_thread",
           "view_poll", "vote", "create_poll", "close_others_poll", "invite", "list_members", "see_in_search"]
INSIDERS = {"member", "admin", "bot"}


def expected(role: str, privacy: str, action: str) -> bool:
    if role in ("no_token", "other_groups_bot"):
        return False  # 401; and a bot's other groups do not exist for it
    if action == "see_group":
        return privacy != "secret" or role in INSIDERS
    if action in ("list_threads", "view_thread", "list_comments", "view_poll", "see_in_search"):
        return privacy == "open" or role in INSIDERS
    if action in ("comment", "reply", "start_thread", "vote", "create_poll"):
        return role in INSIDERS
    return role == "admin"  # close someone else's poll, invite (members may not), list the members


def _allowed(response) -> bool:
    assert response.status_code != 500
    return response.status_code in (200, 201)


@pytest.mark.parametrize("privacy", PRIVACIES)
@pytest.mark.parametrize("role", ROLES)
def test_role_privacy_action_matrix_through_the_api(client, clean_app, db_session, outbox, role, privacy):
    group = GroupFactory(handle="club", name="Club", privacy=privacy)
    admin = member(group, role="admin", email="admin@example.org")
    author = member(group, email="author@example.org")
    thread = discussions.start_thread(actor_id=author.id, group_id=group.id, title="Quokka plans", body="quokka")
    comment = discussions.post_comment(actor_id=author.id, discussion_id=thread.id, body="Author's comment")
    poll = poll_service.create_poll(actor_id=author.id, group_id=group.id, poll_type="proposal", title="Agree?",
                                    closing_at=utcnow() + timedelta(days=2))
    person, token = None, None
    if role == "operator":
        person = UserFactory(is_site_admin=True)
    elif role == "non_member":
        person = UserFactory()
    elif role in ("member", "admin"):
        person = member(group, role=role)
    elif role == "removed":
        person = member(group)
        db_session.query(Membership).filter_by(user_id=person.id).delete()
        db_session.commit()
    elif role == "bot":
        _, token = bots.create_bot(actor_id=admin.id, group_id=group.id, name="Helper")
    elif role == "other_groups_bot":
        other = GroupFactory(handle="other", privacy="open")
        _, token = bots.create_bot(actor_id=member(other, role="admin").id, group_id=other.id, name="Stranger")
    if person is not None:
        token = token_for(person, "write")
    api = Api(client, token)

    checks = {
        "see_group": lambda: _allowed(api.get("/groups/club")),
        "list_threads": lambda: _allowed(api.get("/groups/club/threads")),
        "view_thread": lambda: _allowed(api.get(f"/threads/{thread.id}")),
        "list_comments": lambda: _allowed(api.get(f"/threads/{thread.id}/comments")),
        "comment": lambda: _allowed(api.post(f"/threads/{thread.id}/comments", {"body": "hello"})),
        "reply": lambda: _allowed(api.post(f"/comments/{comment.id}/replies", {"body": "hello"})),
        "start_thread": lambda: _allowed(api.post("/groups/club/threads", {"title": "Mine"})),
        "view_poll": lambda: _allowed(api.get(f"/polls/{poll.id}")),
        "vote": lambda: _allowed(api.post(f"/polls/{poll.id}/votes", {"text": "agree"})),
        "create_poll": lambda: _allowed(api.post("/groups/club/polls", {"poll_type": "check", "title": "OK?",
                                                                        "closing_at": later()})),
        "close_others_poll": lambda: _allowed(api.post(f"/polls/{poll.id}/close")),
        "invite": lambda: _allowed(api.post("/groups/club/invitations", {"emails": ["new@example.org"]})),
        "list_members": lambda: _allowed(api.get("/groups/club/members")),
        "see_in_search": lambda: any(h["thread_id"] == thread.id
                                     for h in (api.get("/search?q=quokka").json or {}).get("items", [])),
    }
    got = {action: checks[action]() for action in ACTIONS}
    want = {action: expected(role, privacy, action) for action in ACTIONS}
    assert got == want


@pytest.mark.parametrize("privacy", PRIVACIES)
def test_a_refusal_hides_a_secret_group_and_explains_elsewhere(api_as, clean_app, privacy):
    group = GroupFactory(handle="club", privacy=privacy)
    author = member(group)
    thread = discussions.start_thread(actor_id=author.id, group_id=group.id, title="Inside", body="")
    got = api_as(UserFactory()).post(f"/threads/{thread.id}/comments", {"body": "hi"})
    if privacy == "open":
        assert got.status_code == 403 and got.json["detail"] == "Only members of this group can comment here."
    else:
        assert got.status_code == 404  # not yours to see: the same answer as nothing there
