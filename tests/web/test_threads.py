"""Threads in the browser: start, comment, reply, react, attach, edit with history, moderate, read tracking."""
from __future__ import annotations

import re

import pytest

from app.models import Attachment, Comment, Discussion, Event, Reaction, ReadState, Version
from app.services import discussions
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import post, sign_in

HX = {"HX-Request": "true"}


@pytest.fixture
def group(clean_app):
    return GroupFactory(handle="garden", name="Garden", privacy="closed")


@pytest.fixture
def ann(group):
    return member(group, role="admin", email="ann@example.org", name="Ann")


@pytest.fixture
def bob(group):
    return member(group, email="bob@example.org", name="Bob")


@pytest.fixture
def thread(group, ann):
    return discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost bins", body="Where do they go?")


def test_member_starts_a_thread_from_the_group_page(client, group, ann, db_session):
    sign_in(client, ann)
    assert b"Start a thread" in client.get("/g/garden").data
    response = post(client, "/g/garden/d/new", {"title": "  New   shed ", "body": "We need **one**."})
    assert response.status_code == 303
    discussion = db_session.query(Discussion).one()
    assert response.location == f"/d/{discussion.id}" and discussion.title == "New shed"
    page = client.get(response.location)
    assert page.status_code == 200 and b"<strong>one</strong>" in page.data


def test_an_empty_title_is_refused_in_the_form_and_nothing_is_made(client, group, ann, db_session):
    sign_in(client, ann)
    response = post(client, "/g/garden/d/new", {"title": "  ", "body": "text kept"})
    assert response.status_code == 422
    assert b"Please give the thread a title." in response.data and b"text kept" in response.data
    assert db_session.query(Discussion).count() == 0


def test_a_forged_form_without_csrf_changes_nothing(client, group, ann, db_session):
    sign_in(client, ann)
    response = client.post("/g/garden/d/new", data={"title": "Forged", "body": "x"})
    assert response.status_code == 400 and b"Nothing was changed" in response.data
    assert db_session.query(Discussion).count() == 0


def test_comment_and_reply_appear_in_order_with_one_level_of_replies(client, thread, ann, bob, db_session):
    sign_in(client, bob)
    first = post(client, f"/d/{thread.id}/comments", {"body": "First!"})
    assert first.status_code == 303
    top = db_session.query(Comment).one()
    assert first.location == f"/d/{thread.id}#c{top.id}"
    post(client, f"/d/{thread.id}/comments", {"body": "A reply", "parent_id": top.id})
    reply = db_session.query(Comment).filter_by(body="A reply").one()
    post(client, f"/d/{thread.id}/comments", {"body": "Reply to the reply", "parent_id": reply.id})
    nested = db_session.query(Comment).filter_by(body="Reply to the reply").one()
    assert reply.parent_id == top.id and nested.parent_id == top.id  # one level only
    page = client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert page.index("First!") < page.index("A reply") < page.index("Reply to the reply")
    assert f'id="replies-{top.id}"' in page


def test_a_too_long_comment_is_refused_with_the_form_kept(client, thread, bob, db_session):
    sign_in(client, bob)
    response = post(client, f"/d/{thread.id}/comments", {"body": "x" * 100_001})
    assert response.status_code == 422 and b"That is too long" in response.data
    assert db_session.query(Comment).count() == 0


def test_a_ten_megabyte_comment_is_refused_and_changes_nothing(client, thread, bob, db_session):
    sign_in(client, bob)
    response = post(client, f"/d/{thread.id}/comments", {"body": "x" * (10 * 1024 * 1024)})
    assert response.status_code in (413, 422)
    assert b"That is too long" in response.data or b"Nothing was changed" in response.data
    assert len(response.data) < 200_000  # the page does not echo 10 MB back
    assert db_session.query(Comment).count() == 0


def test_with_htmx_a_comment_comes_back_as_a_fragment_with_a_fresh_form(client, thread, bob):
    sign_in(client, bob)
    response = post(client, f"/d/{thread.id}/comments", {"body": "Via htmx"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Via htmx" in html and "<html" not in html
    assert 'id="comment-form"' in html and 'hx-swap-oob="true"' in html


def test_with_htmx_a_bad_comment_retargets_the_form(client, thread, bob):
    sign_in(client, bob)
    response = post(client, f"/d/{thread.id}/comments", {"body": ""}, headers=HX)
    assert response.status_code == 422 and response.headers["HX-Retarget"] == "#comment-form"
    assert b"Please write something first." in response.data


def test_mentions_store_member_ids_in_the_event(client, thread, ann, bob, db_session):
    outsider = UserFactory(email="carol@example.org")
    sign_in(client, ann)
    post(client, f"/d/{thread.id}/comments", {"body": "Hey @bob and @carol and @nobody"})
    event = db_session.query(Event).filter_by(kind="comment_posted").one()
    assert event.data["mentions"] == [bob.id]  # carol is not a member: not mentioned
    assert outsider.id not in event.data["mentions"]


def test_reacting_toggles_and_shows_counts(client, thread, bob, db_session):
    sign_in(client, bob)
    comment = discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="Nice")
    response = post(client, f"/d/{thread.id}/react", {"emoji": "👍", "comment_id": comment.id}, headers=HX)
    assert response.status_code == 200 and 'aria-pressed="true">👍 1' in response.get_data(as_text=True)
    assert db_session.query(Reaction).count() == 1
    response = post(client, f"/d/{thread.id}/react", {"emoji": "👍", "comment_id": comment.id})
    assert response.status_code == 303 and db_session.query(Reaction).count() == 0
    assert post(client, f"/d/{thread.id}/react", {"emoji": "💩"}).status_code == 303
    assert db_session.query(Reaction).count() == 0


def test_editing_keeps_every_version_viewable(client, thread, bob, db_session):
    sign_in(client, bob)
    comment = discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="Versoin one")
    form = client.get(f"/c/{comment.id}/edit", headers=HX)
    assert form.status_code == 200 and b"Versoin one" in form.data and b"<html" not in form.data
    response = post(client, f"/c/{comment.id}/edit", {"body": "Version two"}, headers=HX)
    assert response.status_code == 200 and b"Version two" in response.data and b"edited" in response.data
    assert post(client, f"/c/{comment.id}/edit", {"body": "Version three"}).status_code == 303
    history = client.get(f"/c/{comment.id}/history").get_data(as_text=True)
    assert "Versoin one" in history and "Version two" in history and "Version three" in history
    assert db_session.query(Version).filter_by(item_type="comment", item_id=comment.id).count() == 3


def test_a_member_cannot_edit_someone_elses_comment(client, thread, ann, bob):
    comment = discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Ann's words")
    sign_in(client, bob)
    assert post(client, f"/c/{comment.id}/edit", {"body": "Bob's words"}).status_code == 403
    assert b"Ann's words" in client.get(f"/d/{thread.id}").data


def test_thread_edit_history_and_soft_delete(client, thread, ann, bob, db_session):
    sign_in(client, ann)
    assert post(client, f"/d/{thread.id}/edit", {"title": "Compost bins v2", "body": "Behind the shed."}).status_code == 303
    history = client.get(f"/d/{thread.id}/history").get_data(as_text=True)
    assert "Where do they go?" in history and "Behind the shed." in history
    comment = discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="Delete me")
    assert post(client, f"/c/{comment.id}/delete").status_code == 303
    page = client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert "Delete me" not in page and "This comment was deleted." in page
    assert post(client, f"/d/{thread.id}/delete").status_code == 303
    assert client.get(f"/d/{thread.id}").status_code == 404
    assert db_session.get(Discussion, thread.id).deleted_at is not None


def test_close_reopen_and_pin(client, thread, ann, bob):
    sign_in(client, ann)
    post(client, f"/d/{thread.id}/close")
    sign_in(client, bob)
    assert post(client, f"/d/{thread.id}/comments", {"body": "late"}).status_code == 403
    assert b"This thread is closed" in client.get(f"/d/{thread.id}").data
    assert post(client, f"/d/{thread.id}/pin").status_code == 403  # members cannot pin
    sign_in(client, ann)
    post(client, f"/d/{thread.id}/reopen")
    post(client, f"/d/{thread.id}/pin")
    assert b"pinned" in client.get("/g/garden").data
    sign_in(client, bob)
    assert post(client, f"/d/{thread.id}/comments", {"body": "on time"}).status_code == 303


def test_moving_needs_admin_rights_in_both_groups(client, thread, ann, db_session):
    other = GroupFactory(handle="kitchen", name="Kitchen")
    elsewhere = GroupFactory(handle="roof", name="Roof")
    member(other, role="admin", email="x@example.org").id
    from tests.factories import MembershipFactory

    MembershipFactory(group=other, user=ann, role="admin")
    MembershipFactory(group=elsewhere, user=ann, role="member")
    sign_in(client, ann)
    page = client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert "Kitchen" in page and "Roof" not in page
    assert post(client, f"/d/{thread.id}/move", {"group_id": elsewhere.id}).status_code == 403
    assert post(client, f"/d/{thread.id}/move", {"group_id": other.id}).status_code == 303
    assert db_session.get(Discussion, thread.id).group_id == other.id


def test_unread_counts_new_marker_and_mark_all_read(client, thread, ann, bob):
    discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="Seen")
    sign_in(client, ann)
    client.get(f"/d/{thread.id}")
    assert b"unread" not in client.get("/").data
    discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="Fresh one")
    discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="Fresh two")
    assert b"2 unread" in client.get("/").data and b"2 unread" in client.get("/g/garden").data
    page = client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert page.index("New since your last visit") < page.index("Fresh one")
    assert page.index("Seen") < page.index("New since your last visit")
    assert b"unread" not in client.get("/").data
    discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="Another")
    assert b"1 unread" in client.get("/").data
    assert post(client, "/mark-all-read").status_code == 303
    assert b"unread" not in client.get("/").data


def test_reading_a_thread_marks_it_read_only_for_members(client, thread, db_session):
    thread.group.privacy = "open"
    db_session.commit()
    visitor = UserFactory()
    sign_in(client, visitor)
    assert client.get(f"/d/{thread.id}").status_code == 200
    assert db_session.query(ReadState).filter_by(user_id=visitor.id).count() == 0


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_attachments_are_stored_encrypted_and_served_only_to_readers(client, thread, bob, db_session, clean_app):
    from io import BytesIO
    from pathlib import Path

    sign_in(client, bob)
    response = post(client, f"/d/{thread.id}/comments", {"body": "See plan", "files": (BytesIO(PNG), "plan.png")},
                    content_type="multipart/form-data")
    assert response.status_code == 303
    attachment = db_session.query(Attachment).one()
    stored = Path(clean_app.config["QUORUM_INSTANCE"]) / "files" / "attachments" / attachment.storage_key
    assert stored.exists() and PNG not in stored.read_bytes()
    url = f"/attachments/{attachment.id}/plan.png"
    assert url.encode() in client.get(f"/d/{thread.id}").data
    served = client.get(url)
    assert served.status_code == 200 and served.data == PNG
    assert served.headers["X-Content-Type-Options"] == "nosniff" and "plan.png" in served.headers["Content-Disposition"]
    stranger = clean_app.test_client()
    sign_in(stranger, UserFactory())
    assert stranger.get(url).status_code == 404
    assert clean_app.test_client().get(url).status_code == 404


def test_a_disallowed_file_type_is_refused_and_nothing_is_posted(client, thread, bob, db_session):
    from io import BytesIO

    sign_in(client, bob)
    response = post(client, f"/d/{thread.id}/comments", {"body": "Run this", "files": (BytesIO(b"MZ..."), "tool.exe")},
                    content_type="multipart/form-data")
    assert response.status_code == 422 and b"not a file type we accept" in response.data
    assert db_session.query(Comment).count() == 0 and db_session.query(Attachment).count() == 0
    fake = post(client, f"/d/{thread.id}/comments", {"body": "Pic", "files": (BytesIO(b"<html>"), "pic.png")},
                content_type="multipart/form-data")
    assert fake.status_code == 422 and b"does not look like a .png file" in fake.data


def test_load_more_returns_the_next_page_as_a_fragment(client, thread, bob, monkeypatch):
    monkeypatch.setattr(discussions, "PAGE_SIZE", 3)
    for n in range(5):
        discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body=f"Comment {n}")
    sign_in(client, bob)
    first = client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert "Comment 2" in first and "Comment 3" not in first and "Load more comments" in first
    more = client.get(f"/d/{thread.id}?page=2", headers=HX).get_data(as_text=True)
    assert "Comment 3" in more and "Comment 4" in more and "<html" not in more and "Load more" not in more


def _thread_page_queries(client, thread, ann, bob, count_queries, db_session, total: int) -> int:
    """Grow the thread to `total` comments (with replies and reactions) and count the page's SQL."""
    existing = db_session.query(Comment).filter_by(discussion_id=thread.id).count()
    parents = [c for c in db_session.query(Comment).filter_by(discussion_id=thread.id, parent_id=None)]
    for n in range(existing, total):
        parent = parents[-1] if parents and n % 4 == 3 else None
        c = Comment(discussion_id=thread.id, author_id=(ann.id if n % 2 else bob.id), body=f"Comment {n} by someone",
                    parent_id=parent.id if parent else None)
        db_session.add(c)
        db_session.flush()
        if parent is None:
            parents.append(c)
        db_session.add(Reaction(user_id=ann.id, discussion_id=thread.id, comment_id=c.id, emoji="👍"))
    thread.comments_count = total
    db_session.commit()
    client.get(f"/d/{thread.id}")
    with count_queries() as counter:
        response = client.get(f"/d/{thread.id}")
    assert response.status_code == 200 and response.data.count(b'class="comment') >= total
    assert counter.count <= 16, "\n".join(s[:150] for s in counter.statements)
    return counter.count


def test_thread_page_queries_do_not_grow_with_comments(client, thread, ann, bob, count_queries, db_session):
    sign_in(client, bob)
    at_10 = _thread_page_queries(client, thread, ann, bob, count_queries, db_session, 10)
    at_200 = _thread_page_queries(client, thread, ann, bob, count_queries, db_session, 200)
    assert at_10 == at_200


def test_thread_page_queries_do_not_grow_with_the_groups_an_admin_runs(client, thread, group, ann, count_queries):
    from tests.factories import MembershipFactory

    sign_in(client, ann)

    def queries_with(admin_of: int) -> tuple[int, str]:
        for n in range(admin_of):
            MembershipFactory(group=GroupFactory(name=f"Other {n}"), user=ann, role="admin")
        client.get(f"/d/{thread.id}")
        with count_queries() as counter:
            page = client.get(f"/d/{thread.id}").get_data(as_text=True)
        return counter.count, page

    one, _ = queries_with(1)
    many, page = queries_with(6)
    assert one == many
    assert page.count('<option value="') == 7  # every group ann runs is still offered as a move target


def test_a_page_of_comments_brings_its_own_replies_and_leaves_the_next_pages(client, thread, ann, bob, monkeypatch):
    monkeypatch.setattr(discussions, "PAGE_SIZE", 2)
    first, second, third = (discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body=f"Top {n}")
                            for n in range(3))
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Reply to the first", parent_id=first.id)
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Reply to the third", parent_id=third.id)
    sign_in(client, bob)
    one = client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert "Reply to the first" in one and "Top 1" in one and "Load more comments" in one
    assert "Top 2" not in one and "Reply to the third" not in one
    two = client.get(f"/d/{thread.id}?page=2", headers=HX).get_data(as_text=True)
    assert "Top 2" in two and "Reply to the third" in two and "Top 0" not in two and "Load more" not in two


def test_a_gzipped_page_is_the_page_as_it_is_now(client, thread, ann, bob):
    import gzip

    sign_in(client, bob)
    gz = {"Accept-Encoding": "gzip"}
    first = client.get(f"/d/{thread.id}", headers=gz)
    again = client.get(f"/d/{thread.id}", headers=gz)
    assert first.headers["Content-Encoding"] == "gzip" and first.data == again.data and first.headers["ETag"] == again.headers["ETag"]
    discussions.edit_discussion(actor_id=ann.id, discussion_id=thread.id, title="Compost bins", body="By the *gate*")
    changed = client.get(f"/d/{thread.id}", headers=gz)
    assert changed.headers["ETag"] != first.headers["ETag"] and b"<em>gate</em>" in gzip.decompress(changed.data)
    assert gzip.decompress(changed.data) == client.get(f"/d/{thread.id}").data
