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


def test_each_notification_names_its_thread_and_poll_linked(client):
    from datetime import timedelta

    from app.models import utcnow
    from app.services import polls

    group = GroupFactory(handle="garden")
    ann = member(group, role="admin", name="Ann Lee")
    bob = member(group, name="Bob Stone", email="bob@example.org")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost bins", body="")
    comment = discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="The north corner?")
    poll = polls.create_poll(actor_id=ann.id, poll_type="proposal", title="Bins by the shed", discussion_id=thread.id,
                             closing_at=utcnow() + timedelta(days=3))
    sign_in(client, bob)
    page = client.get("/notifications").get_data(as_text=True)
    commented = page.split("Ann Lee commented")[1].split("</li>")[0]
    assert f'<a href="/d/{thread.id}#c{comment.id}">Compost bins</a>' in commented
    started = page.split("Ann Lee asks for your vote")[1].split("</li>")[0]
    assert f'<a href="/p/{poll.id}">Bins by the shed</a> in <a href="/d/{thread.id}">Compost bins</a>' in started
