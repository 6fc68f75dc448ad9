"""The thread page reuses each comment's rendered markup: whatever changes a comment, or who looks
at it, must show at once, and no reader ever gets another's CSRF token."""
from __future__ import annotations

import re

import pytest

from app.services import discussions
from tests.factories import GroupFactory, member
from tests.helpers import sign_in


@pytest.fixture
def group(clean_app):
    return GroupFactory(handle="garden", name="Garden", privacy="closed")


def _article(html: str, comment_id: int) -> str:
    return re.search(rf'<article class="comment[^"]*" id="c{comment_id}">.*?</article>', html, re.S).group(0)


def _tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', html))


def test_cached_comments_follow_every_change_and_every_reader(app, group):
    ann = member(group, role="admin", email="ann@example.org", name="Ann", time_zone="Europe/Berlin")
    bob = member(group, email="bob@example.org", name="Bob", time_zone="UTC")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="Where?")
    mine = discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="By the *shed*")
    theirs = discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Or the gate")
    ids = (thread.id, mine.id, theirs.id, bob.id, ann.id)
    bob_client, ann_client = app.test_client(), app.test_client()
    sign_in(bob_client, bob)
    sign_in(ann_client, ann)
    thread_id, mine_id, theirs_id, bob_id, ann_id = ids

    def page(client) -> str:
        response = client.get(f"/d/{thread_id}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    first = page(bob_client)
    assert page(bob_client).count("<article") == first.count("<article") == 2
    # Each reader gets their own token in every form, cached markup or not.
    ann_page = page(ann_client)
    assert len(_tokens(first)) == 1 and len(_tokens(ann_page)) == 1 and _tokens(first) != _tokens(ann_page)
    # Permissions and time zone are the reader's own.
    assert f"/c/{theirs_id}/edit" not in first and f"/c/{mine_id}/edit" in first
    assert f"/c/{theirs_id}/delete" in ann_page and f"/c/{mine_id}/delete" in ann_page
    # Reactions (counts and the reader's own), edits and deletions show on the next view.
    discussions.toggle_reaction(actor_id=ann_id, discussion_id=thread_id, emoji="👍", comment_id=mine_id)
    bob_view = _article(page(bob_client), mine_id)
    assert 'aria-pressed="false">👍 1</button>' in bob_view
    assert 'aria-pressed="true">👍 1</button>' in _article(page(ann_client), mine_id)
    discussions.edit_comment(actor_id=bob_id, comment_id=mine_id, body="By the *compost* heap")
    edited = _article(page(bob_client), mine_id)
    assert "<em>compost</em>" in edited and f"/c/{mine_id}/history" in edited
    discussions.post_comment(actor_id=ann_id, discussion_id=thread_id, body="Third")
    after = page(bob_client)
    assert "New since your last visit" in after and after.count("<strong>new</strong>") == 1
    assert "New since your last visit" not in page(bob_client)
    discussions.delete_comment(actor_id=ann_id, comment_id=theirs_id)
    assert "This comment was deleted." in _article(page(bob_client), theirs_id)


def test_a_cached_comment_list_carries_each_readers_own_token_and_follows_changes(app, group):
    ann = member(group, role="admin", email="ann@example.org", name="Ann")
    cat = member(group, email="cat@example.org", name="Cat")
    dan = member(group, email="dan@example.org", name="Dan")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="Where?")
    first = discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="By the shed")
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Or the gate", parent_id=first.id)
    thread_id, first_id, ann_id = thread.id, first.id, ann.id
    cat_client, dan_client = app.test_client(), app.test_client()
    sign_in(cat_client, cat)
    sign_in(dan_client, dan)

    def comments(client) -> str:  # the comment list only: the same markup for two readers alike
        html = client.get(f"/d/{thread_id}").get_data(as_text=True)
        return html[html.index('<div id="comments">'):html.index("</div>\n<form", html.index('<div id="comments">'))]

    for client in (cat_client, dan_client):
        comments(client)  # each has read the thread: no "new" markers from here on
    cat_list, dan_list = comments(cat_client), comments(dan_client)
    assert "Or the gate" in cat_list and len(_tokens(cat_list)) == len(_tokens(dan_list)) == 1
    assert _tokens(cat_list) != _tokens(dan_list)
    assert cat_list.replace(_tokens(cat_list).pop(), "T") == dan_list.replace(_tokens(dan_list).pop(), "T")
    # A change to a reply (not to the comment it answers) shows in the next view of the list.
    discussions.toggle_reaction(actor_id=ann_id, discussion_id=thread_id, emoji="👍", comment_id=first_id + 1)
    assert 'aria-pressed="false">👍 1</button>' in comments(dan_client)
    discussions.edit_comment(actor_id=ann_id, comment_id=first_id + 1, body="Or the *gate*")
    assert "<em>gate</em>" in comments(cat_client)


def test_an_open_reply_form_keeps_what_was_typed_under_a_cached_list(client, group):
    ann = member(group, role="admin", email="ann@example.org", name="Ann")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="Where?")
    first = discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="By the shed")
    sign_in(client, ann)
    client.get(f"/d/{thread.id}")
    page = client.get(f"/d/{thread.id}?reply={first.id}").get_data(as_text=True)
    assert 'name="parent_id" value="%d"' % first.id in page
    assert f'name="parent_id" value="{first.id}"' not in client.get(f"/d/{thread.id}").get_data(as_text=True)


def test_a_cached_comment_list_follows_the_readers_role_language_zone_and_the_groups_rules(app, group, db_session):
    from app.models import Membership, User

    ann = member(group, role="admin", email="ann@example.org", name="Ann")
    cat = member(group, email="cat@example.org", name="Cat", time_zone="UTC")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="Where?")
    theirs = discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="By the shed")
    mine = discussions.post_comment(actor_id=cat.id, discussion_id=thread.id, body="Or the gate")
    thread_id, theirs_id, mine_id, cat_id, ann_id, group_id = thread.id, theirs.id, mine.id, cat.id, ann.id, group.id
    client = app.test_client()
    sign_in(client, cat)

    def comments() -> str:
        html = client.get(f"/d/{thread_id}").get_data(as_text=True)
        return html[html.index('<div id="comments">'):]

    def change(model, where: dict, **values) -> None:
        db_session.query(model).filter_by(**where).update(values)
        db_session.commit()

    before = comments()
    assert f"/c/{mine_id}/edit" in before and f"/c/{theirs_id}/delete" not in before and ">Reply<" in before
    change(Membership, {"user_id": cat_id, "group_id": group_id}, role="admin")
    assert f"/c/{theirs_id}/delete" in comments()
    change(Membership, {"user_id": cat_id, "group_id": group_id}, role="member")
    assert f"/c/{theirs_id}/delete" not in comments()
    group.members_can_edit_own_comments = False
    db_session.commit()
    assert f"/c/{mine_id}/edit" not in comments()
    change(Membership, {"user_id": ann_id, "group_id": group_id}, title="Treasurer")
    assert "Treasurer" in comments()
    zoned = comments()
    change(User, {"id": cat_id}, time_zone="Asia/Tokyo")
    assert comments() != zoned and "+00:00" in comments()  # the same instants, shown in Tokyo's time
    change(User, {"id": cat_id}, locale="de")
    assert ">Antworten<" in comments() and ">Reply<" not in comments()


def test_cached_comment_lists_stay_within_their_budget(app, group, monkeypatch):
    from app.web import templating

    monkeypatch.setattr(templating, "LIST_CACHE_CHARS", 40_000)
    ann = member(group, role="admin", email="ann@example.org", name="Ann")
    client = app.test_client()
    sign_in(client, ann)
    for n in range(6):
        thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title=f"Thread {n}", body="x")
        for m in range(5):
            discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body=f"Comment {m} " + "words " * 50)
        assert "Comment 4 " in client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert 0 < templating._lists_size <= 40_000 and 0 < len(templating._lists) < 6  # the oldest went first
    assert templating._lists_size == sum(len(html) for html in templating._lists.values())
