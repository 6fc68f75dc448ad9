"""Search finds threads and comments the person may see, and nothing else."""
from __future__ import annotations

from app.services import discussions
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import sign_in


def test_search_finds_threads_and_comments_and_highlights_words(client, clean_app):
    group = GroupFactory(handle="garden", name="Garden")
    ann = member(group)
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost bins", body="Where?")
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="The rhubarb patch is <b>ideal</b>")
    sign_in(client, ann)
    page = client.get("/search?q=rhubarb").get_data(as_text=True)
    assert "1 result" in page and "Compost bins" in page and "<mark>rhubarb</mark>" in page
    assert "<b>ideal" not in page  # escaped, never raw HTML
    assert "Compost bins" in client.get("/search?q=compost").get_data(as_text=True)
    assert client.get('/search?q="unbalanced AND (OR*').status_code == 200  # any typing is fine


def test_search_never_returns_what_the_person_may_not_see(client, clean_app):
    mine, closed, open_group = (GroupFactory(handle=h, privacy=p) for h, p in
                                (("mine", "closed"), ("theirs", "closed"), ("public", "open")))
    me, them = member(mine), member(closed)
    opener = member(open_group)
    discussions.start_thread(actor_id=me.id, group_id=mine.id, title="Mine kumquat", body="")
    discussions.start_thread(actor_id=them.id, group_id=closed.id, title="Theirs kumquat", body="")
    discussions.start_thread(actor_id=opener.id, group_id=open_group.id, title="Public kumquat", body="")
    gone = discussions.start_thread(actor_id=me.id, group_id=mine.id, title="Deleted kumquat", body="")
    discussions.delete_discussion(actor_id=me.id, discussion_id=gone.id)
    sign_in(client, me)
    page = client.get("/search?q=kumquat").get_data(as_text=True)
    assert "Mine kumquat" in page and "Public kumquat" in page
    assert "Theirs kumquat" not in page and "Deleted kumquat" not in page and "2 results" in page
    anonymous = client.application.test_client().get("/search?q=kumquat").get_data(as_text=True)
    assert "Public kumquat" in anonymous and "Mine kumquat" not in anonymous


def test_edits_and_removals_reach_the_index(client, clean_app):
    group = GroupFactory(handle="garden")
    ann = member(group)
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Plans", body="")
    comment = discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="parsnip")
    sign_in(client, ann)
    discussions.edit_comment(actor_id=ann.id, comment_id=comment.id, body="turnip")
    assert "0 results" in client.get("/search?q=parsnip").get_data(as_text=True)
    assert "1 result" in client.get("/search?q=turnip").get_data(as_text=True)
    discussions.delete_comment(actor_id=ann.id, comment_id=comment.id)
    assert "0 results" in client.get("/search?q=turnip").get_data(as_text=True)


def test_or_between_words_finds_either_and_a_dangling_or_is_ignored(client, clean_app):
    group = GroupFactory(handle="garden", name="Garden")
    ann = member(group)
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="The shed roof leaks", body="")
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="New gutter", body="")
    sign_in(client, ann)
    for q, found in (("roof OR", {"The shed roof leaks"}), ("OR roof", {"The shed roof leaks"}),
                     ("roof OR gutter", {"The shed roof leaks", "New gutter"}), ("roof gutter", set()),
                     ("or", set())):
        page = client.get("/search", query_string={"q": q}).get_data(as_text=True)
        shown = {title for title in ("The shed roof leaks", "New gutter") if title in page}
        assert shown == found, (q, shown)
