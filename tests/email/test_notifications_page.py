"""The bell: a count in the navigation and a page listing what happened."""
from __future__ import annotations

from app.services import discussions
from tests.factories import GroupFactory, member
from tests.helpers import post, sign_in


def test_the_bell_counts_unread_notifications_and_the_page_lists_them(client, count_queries):
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin", name="Ann Lee")
    bob = member(group, name="Bob Stone", email="bob@example.org")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="")
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="What do you think, @bob?")
    sign_in(client, bob)

    page = client.get("/notifications")
    assert page.status_code == 200
    assert b'<span class="badge">2</span>' in page.data
    assert b"Ann Lee mentioned you" in page.data and b"Ann Lee started a thread" in page.data
    assert client.get("/notifications").status_code == 200  # reading the page (a GET) marks nothing

    response = post(client, "/notifications/read")
    assert response.status_code == 303
    assert b'<span class="badge">' not in client.get("/notifications").data


def test_the_notifications_page_needs_a_signed_in_member(client):
    response = client.get("/notifications")
    assert response.status_code in (302, 303, 401)
