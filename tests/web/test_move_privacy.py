"""Moving a thread never quietly widens who can read it: into a more public group (secret <
closed < open) only with an explicit confirm_wider=1; narrower or equal moves need nothing."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Discussion
from app.services import discussions
from app.services.errors import Invalid
from tests.factories import GroupFactory, MembershipFactory, member
from tests.helpers import post, sign_in


@pytest.fixture
def groups(clean_app):
    """Ann administers a secret, a closed and an open group; a thread sits in the secret one."""
    secret = GroupFactory(handle="board", name="Board", privacy="secret")
    closed = GroupFactory(handle="garden", name="Garden", privacy="closed")
    public = GroupFactory(handle="town", name="Town", privacy="open")
    ann = member(secret, role="admin", email="ann@example.org", name="Ann")
    for group in (closed, public):
        MembershipFactory(group=group, user=ann, role="admin")
    thread = discussions.start_thread(actor_id=ann.id, group_id=secret.id, title="Budget 2027", body="Draft figures.")
    return {"secret": secret, "closed": closed, "open": public, "ann": ann, "thread": thread}


def _group_of(thread) -> int:
    db.session.expire_all()
    return db.session.get(Discussion, thread.id).group_id


@pytest.mark.parametrize("source, target", [("secret", "closed"), ("secret", "open"), ("closed", "open")])
def test_a_wider_move_is_refused_without_confirmation(groups, source, target):
    thread, ann = groups["thread"], groups["ann"]
    if source != "secret":
        thread = discussions.start_thread(actor_id=ann.id, group_id=groups[source].id, title="Plans", body="")
    with pytest.raises(Invalid) as refused:
        discussions.move_discussion(actor_id=ann.id, discussion_id=thread.id, to_group_id=groups[target].id)
    assert refused.value.field == "confirm_wider" and "was not moved" in refused.value.message
    db.session.rollback()
    assert _group_of(thread) == groups[source].id
    discussions.move_discussion(actor_id=ann.id, discussion_id=thread.id, to_group_id=groups[target].id,
                                confirm_wider=True)
    assert _group_of(thread) == groups[target].id


@pytest.mark.parametrize("source, target", [("open", "closed"), ("closed", "secret"), ("open", "secret")])
def test_a_narrower_move_needs_no_confirmation(groups, source, target):
    ann = groups["ann"]
    thread = discussions.start_thread(actor_id=ann.id, group_id=groups[source].id, title="Plans", body="")
    discussions.move_discussion(actor_id=ann.id, discussion_id=thread.id, to_group_id=groups[target].id)
    assert _group_of(thread) == groups[target].id


def test_an_equally_private_move_needs_no_confirmation(groups):
    ann = groups["ann"]
    other = GroupFactory(handle="treasury", name="Treasury", privacy="secret")
    MembershipFactory(group=other, user=ann, role="admin")
    discussions.move_discussion(actor_id=ann.id, discussion_id=groups["thread"].id, to_group_id=other.id)
    assert _group_of(groups["thread"]) == other.id


def test_the_move_form_refuses_with_a_clear_message_until_the_box_is_ticked(groups, client):
    thread, ann, public = groups["thread"], groups["ann"], groups["open"]
    sign_in(client, ann)
    page = client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert "Town (open)" in page and 'name="confirm_wider" value="1"' in page
    response = post(client, f"/d/{thread.id}/move", {"group_id": public.id})
    assert response.status_code == 303
    shown = client.get(response.location).get_data(as_text=True)
    assert "was not moved" in shown and "anyone, even without an account" in shown
    assert _group_of(thread) == groups["secret"].id
    # Someone who is not signed in still cannot read it.
    anonymous = client.application.test_client()
    assert anonymous.get(f"/d/{thread.id}").status_code in (302, 303, 403, 404)

    response = post(client, f"/d/{thread.id}/move", {"group_id": public.id, "confirm_wider": "1"})
    assert response.status_code == 303 and "Thread moved to Town" in client.get(response.location).get_data(as_text=True)
    assert _group_of(thread) == public.id
