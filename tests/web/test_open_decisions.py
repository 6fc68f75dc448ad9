"""Open decisions are found where people look: the group page, its thread list and the dashboard."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app import policy
from app.extensions import db
from app.models import Poll, utcnow
from app.services import discussions, memberships, polls
from tests.decisions.support import make_poll, vote_for
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import sign_in


@pytest.fixture
def garden(clean_app):
    return GroupFactory(handle="garden", name="Garden", privacy="open")


@pytest.fixture
def ann(garden):
    return member(garden, role="admin", name="Ann")


def thread_with_poll(group, author, title="Compost bins", poll_title="Where do the bins go?", **settings):
    thread = discussions.start_thread(actor_id=author.id, group_id=group.id, title=title, body="Let us decide.")
    poll = make_poll("proposal", author, group, discussion_id=thread.id, group_id=None, title=poll_title, **settings)
    return thread, poll


def test_the_group_page_lists_an_open_decision_inside_a_thread_with_its_closing_time(client, garden, ann):
    thread, poll = thread_with_poll(garden, ann, closing_at=utcnow() + timedelta(days=2))
    page = client.get("/g/garden").get_data(as_text=True)
    decisions = page.split("<h2>Decisions</h2>")[1]
    assert f'<a href="/p/{poll.id}">Where do the bins go?</a>' in decisions
    assert f'in <a href="/d/{thread.id}">Compost bins</a>' in decisions
    assert "closes " + poll.closing_at.strftime("%-d %b %Y, %H:%M") in decisions


def test_the_thread_list_marks_a_thread_with_an_open_vote_until_it_closes(client, garden, ann):
    thread, poll = thread_with_poll(garden, ann)
    discussions.start_thread(actor_id=ann.id, group_id=garden.id, title="Seed swap", body="Bring seeds.")
    threads = client.get("/g/garden").get_data(as_text=True).split("<h2>Threads</h2>")[1].split("<h2>")[0]
    compost, seeds = threads.split("Compost bins")[1].split("</li>")[0], threads.split("Seed swap")[1].split("</li>")[0]
    assert "vote open" in compost and "closes " + poll.closing_at.strftime("%-d %b %Y, %H:%M") in compost
    assert "vote open" not in seeds
    polls.close_poll(actor_id=ann.id, poll_id=poll.id)
    assert "vote open" not in client.get("/g/garden").get_data(as_text=True)


def test_a_newly_joined_member_finds_the_open_vote_waiting_on_the_dashboard(client, garden, ann):
    thread, poll = thread_with_poll(garden, ann)
    standalone = make_poll("poll", ann, garden, title="Which colour for the shed?")
    closed = make_poll("check", ann, garden, title="Old question")
    polls.close_poll(actor_id=ann.id, poll_id=closed.id)
    elsewhere = GroupFactory(handle="kitchen", name="Kitchen", privacy="open")
    make_poll("proposal", member(elsewhere, role="admin"), elsewhere, title="Kitchen rota")

    newcomer = UserFactory(name="Nia")
    memberships.join_open_group(actor_id=newcomer.id, group_id=garden.id)
    sign_in(client, newcomer)
    page = client.get("/").get_data(as_text=True)
    assert "Waiting for your vote" in page
    waiting = page.split("Waiting for your vote")[1].split("Recent threads")[0]
    assert "Where do the bins go?" in waiting and f'in <a href="/d/{thread.id}">Compost bins</a>' in waiting
    assert "Which colour for the shed?" in waiting and "closes " in waiting
    assert "Old question" not in waiting and "Kitchen rota" not in waiting

    choices, _ = vote_for(poll)
    polls.cast_vote(actor_id=newcomer.id, poll_id=poll.id, choices=choices)
    waiting = client.get("/").get_data(as_text=True).split("Waiting for your vote")[1].split("Recent threads")[0]
    assert "Where do the bins go?" not in waiting and "Which colour for the shed?" in waiting


def test_a_poll_for_named_people_waits_only_for_them(client, garden, ann):
    bob, cy = member(garden, name="Bob", email="bob@example.org"), member(garden, name="Cy")
    make_poll("proposal", ann, garden, title="Bob decides", voter_scope="specified", voters=["bob@example.org"])
    sign_in(client, bob)
    assert "Bob decides" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    sign_in(client, cy)
    assert "Bob decides" not in client.get("/").get_data(as_text=True)


def test_the_sql_form_of_may_vote_and_has_voted_agrees_with_the_python_form(garden, ann):
    bob = member(garden, name="Bob", email="bob@example.org")
    stranger, guest = UserFactory(), UserFactory(email="guest@example.org")
    thread, in_thread = thread_with_poll(garden, ann)
    named = make_poll("proposal", ann, garden, title="Named", voter_scope="specified", voters=["guest@example.org"])
    deleted_thread, gone = thread_with_poll(garden, ann, title="Gone thread")
    discussions.delete_discussion(actor_id=ann.id, discussion_id=deleted_thread.id)
    polls.cast_vote(actor_id=bob.id, poll_id=in_thread.id, choices=vote_for(in_thread)[0])
    everyone = list(db.session.scalars(db.select(Poll)))
    for user in (ann, bob, stranger, guest, None):
        in_sql = set(db.session.scalars(db.select(Poll.id).where(policy.votable_polls(user))))
        assert in_sql == {p.id for p in everyone if policy.may_vote(user, p)}, user
        if user is not None:
            voted = set(db.session.scalars(db.select(Poll.id).where(policy.voted_polls(user))))
            assert voted == {p.id for p in everyone if policy.has_voted(user, p)}, user
    assert gone.id not in set(db.session.scalars(db.select(Poll.id).where(policy.votable_polls(ann))))
    assert named.id in set(db.session.scalars(db.select(Poll.id).where(policy.votable_polls(guest))))


def _page_queries(client, count_queries, url: str) -> int:
    client.get(url)
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def _grow(garden, ann, n: int) -> None:
    for i in range(n):
        thread_with_poll(garden, ann, title=f"Thread {i}", poll_title=f"Vote {i}")
        make_poll("poll", ann, garden, title=f"Standalone {i}")


def test_the_group_page_and_dashboard_queries_do_not_grow_with_polls_and_threads(client, garden, ann, count_queries):
    sign_in(client, ann)
    _grow(garden, ann, 2)
    small = _page_queries(client, count_queries, "/g/garden"), _page_queries(client, count_queries, "/")
    _grow(garden, ann, 15)
    large = _page_queries(client, count_queries, "/g/garden"), _page_queries(client, count_queries, "/")
    assert "Vote 14" in client.get("/").get_data(as_text=True)
    assert small == large


def test_each_decision_wears_its_state_open_closing_soon_or_closed(client, clean_app):
    from datetime import timedelta

    from app.models import utcnow
    from app.services.polls import close_poll, create_poll
    from tests.factories import GroupFactory, member
    from tests.helpers import sign_in

    group = GroupFactory(handle="badges", name="Badges")
    ann = member(group, role="admin", email="ann-badges@example.org")
    soon = create_poll(actor_id=ann.id, poll_type="proposal", title="Soon", group_id=group.id,
                       closing_at=utcnow() + timedelta(hours=3))
    later = create_poll(actor_id=ann.id, poll_type="proposal", title="Later", group_id=group.id,
                        closing_at=utcnow() + timedelta(days=5))
    done = create_poll(actor_id=ann.id, poll_type="proposal", title="Done", group_id=group.id,
                       closing_at=utcnow() + timedelta(days=5))
    close_poll(actor_id=ann.id, poll_id=done.id)
    sign_in(client, ann)
    for poll, badge in ((soon, "state closing\">Closing soon"), (later, "state open\">Open"), (done, "state closed\">Closed")):
        assert badge in client.get(f"/p/{poll.id}").get_data(as_text=True), poll.title
    group_page = client.get("/g/badges").get_data(as_text=True)
    assert all(badge in group_page for badge in ("Closing soon", ">Open<", ">Closed<"))
