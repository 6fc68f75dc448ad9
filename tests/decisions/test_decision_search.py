"""Search finds polls, outcomes and vote reasons as well as threads and comments, with filters for group,
kind and open/closed (a GET form), and never an anonymous poll's reasons: those are not found at all, open
or closed, with or without their voter's name. A reason is found only where the poll page shows it beside
its voter's name. The page asks the same number of queries for 2 results or 20. Runs on SQLite (FTS5) and,
with DATABASE_URL, on PostgreSQL (tsvector)."""
from __future__ import annotations

import re
from datetime import timedelta

from app.extensions import db
from app.models import utcnow
from app.polls.base import ordered_options
from app.services import discussions
from app.services import polls as service
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import sign_in


def _poll(author, group, title: str, details: str = "", **settings):
    return service.create_poll(actor_id=author.id, group_id=group.id, poll_type="proposal", title=title,
                               details=details, closing_at=utcnow() + timedelta(days=3), **settings)


def _vote(person, poll, reason: str, n: int = 0):
    option = ordered_options(poll)[n]
    return service.cast_vote(actor_id=person.id, poll_id=poll.id, choices={option.id: 1}, reason=reason)


def _search(client, q: str, **filters) -> str:
    return client.get("/search", query_string={"q": q, **filters}).get_data(as_text=True)


def _count(page: str) -> int:
    return int(re.search(r"<h2>(\d+) results?", page).group(1))


def test_polls_outcomes_and_reasons_are_found_with_what_they_are_and_who_gave_the_reason(client, clean_app):
    group = GroupFactory(handle="garden", name="Garden")
    ann, bob = member(group, role="admin", name="Ann"), member(group, name="Bob Baker")
    poll = _poll(ann, group, "Buy a greenhouse", "A small polycarbonate one")
    _vote(bob, poll, "The tomatoes need warmth")
    sign_in(client, ann)
    page = _search(client, "polycarbonate")
    assert _count(page) == 1 and f'href="/p/{poll.id}"' in page and "Garden · poll" in page and "<mark>polycarbonate</mark>" in page
    page = _search(client, "tomatoes")
    assert _count(page) == 1 and "vote reason by Bob Baker" in page and "Buy a greenhouse" in page
    service.close_poll(actor_id=ann.id, poll_id=poll.id)
    service.set_outcome(actor_id=ann.id, poll_id=poll.id, statement="We buy the greenhouse in spring")
    page = _search(client, "spring")
    assert _count(page) == 1 and "Garden · outcome" in page and "closed" in page
    service.set_outcome(actor_id=ann.id, poll_id=poll.id, statement="We buy the greenhouse in autumn")
    assert _count(_search(client, "spring")) == 0  # a replaced outcome is not found any more
    assert _count(_search(client, "autumn")) == 1


def test_a_changed_vote_is_found_by_its_new_reason_only(client, clean_app):
    group = GroupFactory()
    ann, bob = member(group, role="admin"), member(group)
    poll = _poll(ann, group, "Compost")
    _vote(bob, poll, "Smells of parsnips")
    _vote(bob, poll, "Smells of turnips", 1)
    sign_in(client, ann)
    assert _count(_search(client, "parsnips")) == 0 and _count(_search(client, "turnips")) == 1


def test_an_anonymous_polls_reasons_are_never_found_open_or_closed(client, clean_app):
    group = GroupFactory()
    ann, bob = member(group, role="admin"), member(group, name="Bob Baker")
    poll = _poll(ann, group, "Secret ballot on the treasurer", anonymous=True)
    _vote(bob, poll, "Quinoa accounting worries me")
    sign_in(client, ann)
    assert _count(_search(client, "quinoa")) == 0
    assert _count(_search(client, "treasurer")) == 1  # the poll itself is found
    service.close_poll(actor_id=ann.id, poll_id=poll.id)
    page = _search(client, "quinoa")
    assert _count(page) == 0 and "Bob Baker" not in page
    assert "Quinoa accounting" in client.get(f"/p/{poll.id}").get_data(as_text=True)  # the page still shows it, nameless


def test_reasons_hidden_until_the_poll_closes_are_found_only_once_it_has(client, clean_app):
    group = GroupFactory()
    ann, bob = member(group, role="admin"), member(group, name="Bob")
    until_closed = _poll(ann, group, "Hidden until closed", hide_results="until_closed")
    until_vote = _poll(ann, group, "Hidden until voted", hide_results="until_vote")
    _vote(bob, until_closed, "Kohlrabi first")
    _vote(bob, until_vote, "Kohlrabi second")
    sign_in(client, bob)  # he has voted in both, and still finds neither reason while they are open
    assert _count(_search(client, "kohlrabi")) == 0
    service.close_poll(actor_id=ann.id, poll_id=until_closed.id)
    service.close_poll(actor_id=ann.id, poll_id=until_vote.id)
    assert _count(_search(client, "kohlrabi")) == 2


def test_drafts_deleted_polls_and_other_groups_polls_are_not_found(client, clean_app):
    mine, theirs, public = (GroupFactory(privacy=p) for p in ("closed", "closed", "open"))
    me, them, opener = member(mine, role="admin"), member(theirs, role="admin"), member(public, role="admin")
    _poll(me, mine, "Mine rutabaga")
    _poll(them, theirs, "Theirs rutabaga")
    _poll(opener, public, "Public rutabaga")
    _poll(me, mine, "Draft rutabaga", draft=True)
    gone = _poll(me, mine, "Deleted rutabaga")
    service.delete_poll(actor_id=me.id, poll_id=gone.id)
    thread = discussions.start_thread(actor_id=me.id, group_id=mine.id, title="Thread", body="")
    in_thread = service.create_poll(actor_id=me.id, discussion_id=thread.id, poll_type="check",
                                    title="Thread rutabaga", closing_at=utcnow() + timedelta(days=1))
    discussions.delete_discussion(actor_id=me.id, discussion_id=thread.id)
    assert in_thread.id
    sign_in(client, me)
    page = _search(client, "rutabaga")
    assert "Mine rutabaga" in page and "Public rutabaga" in page and _count(page) == 2
    for hidden in ("Theirs", "Draft", "Deleted", "Thread rutabaga"):
        assert hidden not in page
    outsider = client.application.test_client()
    page = outsider.get("/search?q=rutabaga").get_data(as_text=True)
    assert "Public rutabaga" in page and "Mine rutabaga" not in page


def test_filters_by_group_kind_and_open_or_closed(client, clean_app):
    garden, orchard = GroupFactory(name="Garden"), GroupFactory(name="Orchard")
    ann = member(garden, role="admin")
    from app.models import Membership

    db.session.add(Membership(user_id=ann.id, group_id=orchard.id, role="admin"))
    db.session.commit()
    bob = member(garden, name="Bob")
    thread = discussions.start_thread(actor_id=ann.id, group_id=garden.id, title="Medlar thread", body="")
    discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="medlar comment")
    open_poll = _poll(ann, garden, "Medlar open poll")
    _vote(bob, open_poll, "medlar reason")
    closed = _poll(ann, garden, "Medlar closed poll")
    service.close_poll(actor_id=ann.id, poll_id=closed.id)
    service.set_outcome(actor_id=ann.id, poll_id=closed.id, statement="medlar outcome")
    _poll(ann, orchard, "Medlar orchard poll")
    sign_in(client, ann)
    form = _search(client, "medlar")
    assert _count(form) == 7
    assert f'<option value="{garden.id}">Garden</option>' in form and '<option value="poll">Polls and vote reasons</option>' in form
    assert _count(_search(client, "medlar", group=str(orchard.id))) == 1
    assert _count(_search(client, "medlar", kind="thread")) == 2
    assert _count(_search(client, "medlar", kind="poll")) == 4  # three polls and a reason
    assert _count(_search(client, "medlar", kind="outcome")) == 1
    assert _count(_search(client, "medlar", kind="poll", status="closed")) == 1
    assert _count(_search(client, "medlar", kind="poll", status="open", group=str(garden.id))) == 2
    page = _search(client, "medlar", kind="outcome", status="closed")
    assert _count(page) == 1 and '<option value="closed" selected>' in page and '<option value="outcome" selected>' in page
    # Filters a person may not use, or that mean nothing, never error and never widen what is seen.
    stranger = GroupFactory(privacy="secret")
    assert _count(_search(client, "medlar", group=str(stranger.id))) == 0
    assert _count(_search(client, "medlar", group="x", kind="bogus", status="maybe")) == 7


def test_the_search_page_asks_the_same_number_of_queries_for_2_results_or_20(client, clean_app, count_queries):
    groups = [GroupFactory() for _ in range(2)]
    ann = UserFactory(name="Ann")
    from app.models import Membership

    for g in groups:
        db.session.add(Membership(user_id=ann.id, group_id=g.id, role="admin"))
    db.session.commit()
    voters = [member(g) for g in groups]

    def add(n: int):
        for i in range(n):
            g = groups[i % 2]
            poll = _poll(ann, g, f"Sorrel poll {i}")
            _vote(voters[i % 2], poll, f"sorrel reason {i}")
            if i % 2:
                service.close_poll(actor_id=ann.id, poll_id=poll.id)
                service.set_outcome(actor_id=ann.id, poll_id=poll.id, statement=f"sorrel outcome {i}")
            thread = discussions.start_thread(actor_id=ann.id, group_id=g.id, title=f"Sorrel thread {i}", body="")
            discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="sorrel comment")

    sign_in(client, ann)

    def queries() -> tuple[int, int]:
        with count_queries() as counter:
            page = _search(client, "sorrel")
        return counter.count, _count(page)

    add(2)
    few, found_few = queries()
    add(8)
    many, found_many = queries()
    assert found_many > found_few >= 9 and many == few


def test_the_sql_rule_for_findable_reasons_never_finds_what_the_poll_page_would_not_name(client, clean_app):
    """policy.findable_reasons (SQL) against policy.can_see_voters (Python), for every anonymity, results
    setting and state: a reason search may show is one the page shows beside its voter's name, to a member who
    voted and to one who did not; for one who did not, the two rules are the same rule."""
    from flask_login import AnonymousUserMixin
    from sqlalchemy import select

    from app import policy
    from app.models import Poll

    group = GroupFactory(privacy="closed")
    ann, bob, cat = member(group, role="admin"), member(group), member(group)
    polls = []
    for anonymous in (False, True):
        for hide in ("off", "until_vote", "until_closed"):
            for closed in (False, True):
                poll = _poll(ann, group, f"{anonymous} {hide} {closed}", anonymous=anonymous, hide_results=hide)
                _vote(bob, poll, "a reason")
                if closed:
                    service.close_poll(actor_id=ann.id, poll_id=poll.id)
                polls.append(poll.id)
    findable = set(db.session.scalars(select(Poll.id).where(policy.findable_reasons())))
    with clean_app.test_request_context():
        for poll_id in polls:
            poll = db.session.get(Poll, poll_id)
            for person in (bob, cat):
                if poll_id in findable:
                    assert policy.can_see_voters(person, poll), poll.title
            assert (poll_id in findable) == policy.can_see_voters(cat, poll), poll.title
            assert not (poll.anonymous and poll_id in findable)
            assert not policy.can_see_voters(AnonymousUserMixin(), poll)  # a closed group: nothing for outsiders
    assert len(findable) == 4  # named polls: closed (3 settings) and open with results shown
