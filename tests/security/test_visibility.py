"""Review findings 7 and 8: a poll's visibility follows its thread (moved into a secret group, or
deleted), and a removed member's notifications and one-click vote pages show no secret titles."""
from __future__ import annotations

from app.email import links
from app.extensions import db
from app.models import Poll
from app.services import discussions, memberships
from app.services import polls as service
from app.services.errors import NotAllowed, NotFound
from tests.decisions.support import make_poll
from tests.factories import GroupFactory, MembershipFactory, member
from tests.helpers import sign_in

import pytest


@pytest.fixture
def scene(clean_app):
    open_group = GroupFactory(handle="town", name="Town", privacy="open")
    secret = GroupFactory(handle="board", name="Board", privacy="secret")
    ann = member(open_group, role="admin", name="Ann")
    MembershipFactory(group=secret, user=ann, role="admin")
    carl = member(open_group, name="Carl")  # in the open group only
    thread = discussions.start_thread(actor_id=ann.id, group_id=open_group.id, title="Quiet merger talks", body="")
    poll = make_poll("proposal", ann, open_group, discussion_id=thread.id, title="Approve the merger?")
    return dict(open_group=open_group, secret=secret, ann=ann, carl=carl, thread=thread, poll=poll)


def test_a_thread_moved_into_a_secret_group_takes_its_polls(scene, client):
    s = scene
    discussions.move_discussion(actor_id=s["ann"].id, discussion_id=s["thread"].id, to_group_id=s["secret"].id)
    db.session.expire_all()
    assert db.session.get(Poll, s["poll"].id).group_id == s["secret"].id
    sign_in(client, s["carl"])
    assert client.get(f"/p/{s['poll'].id}").status_code == 404
    with pytest.raises((NotFound, NotAllowed)):
        service.cast_vote(actor_id=s["carl"].id, poll_id=s["poll"].id, choices={s["poll"].options[0].id: 1})
    assert "Quiet merger talks" not in client.get("/search?q=merger").text


def test_a_poll_in_a_deleted_thread_is_gone(scene, client):
    s = scene
    discussions.delete_discussion(actor_id=s["ann"].id, discussion_id=s["thread"].id)
    sign_in(client, s["ann"])
    assert client.get(f"/p/{s['poll'].id}").status_code == 404
    with pytest.raises((NotFound, NotAllowed)):
        service.cast_vote(actor_id=s["ann"].id, poll_id=s["poll"].id, choices={s["poll"].options[0].id: 1})


def test_a_removed_member_no_longer_sees_a_secret_groups_titles(clean_app, client):
    secret = GroupFactory(handle="board", name="Board", privacy="secret")
    ann = member(secret, role="admin", name="Ann")
    bob = member(secret, name="Bob")
    thread = discussions.start_thread(actor_id=ann.id, group_id=secret.id, title="Layoff plan", body="")
    poll = make_poll("proposal", ann, secret, discussion_id=thread.id, title="Close the branch?")
    token = links.make("vote", bob, poll_id=poll.id, option_id=poll.options[0].id)
    sign_in(client, bob)
    before = client.get("/notifications").text
    assert "Layoff plan" in before or "Close the branch?" in before, "Bob was notified while a member"
    assert "Close the branch?" in client.get(f"/p/{poll.id}/vote/{token}").text

    memberships.remove_member(actor_id=ann.id, group_id=secret.id, user_id=bob.id)
    page = client.get("/notifications").text
    assert "Layoff plan" not in page and "Close the branch?" not in page
    one_click = client.get(f"/p/{poll.id}/vote/{token}")
    assert one_click.status_code == 404 and "Close the branch?" not in one_click.text
    signed_out = clean_app.test_client()
    assert "Close the branch?" not in signed_out.get(f"/p/{poll.id}/vote/{token}").text
