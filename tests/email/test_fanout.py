"""Who hears of what: each event kind × volume setting gives exactly the expected recipients."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event, Membership, Notification, OutboundMessage, ReadState, utcnow
from app.services import discussions, polls
from app.services.fanout import fan_out
from tests.factories import CommentFactory, GroupFactory, UserFactory, member


@pytest.fixture
def garden(clean_app):
    group = GroupFactory(handle="garden", name="Garden Club", privacy="closed")
    ann = member(group, role="admin", name="Ann Lee", email="ann@example.org")
    bob = member(group, name="Bob Stone", email="bob@example.org")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost bins", body="Two bins?")
    return group, ann, bob, thread


def set_volume(group, user, volume):
    db.session.scalar(select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)).volume = volume
    db.session.commit()


def set_thread(user, thread, *, volume=None, participating=False):
    db.session.add(ReadState(user_id=user.id, discussion_id=thread.id, volume=volume, participating=participating))
    db.session.commit()


def heard(event_kind: str) -> tuple[set[str], dict[int, str]]:
    """(addresses emailed, {user id: reason} notified in-app) for the latest event of a kind."""
    event = db.session.scalars(select(Event).where(Event.kind == event_kind).order_by(Event.id.desc())).first()
    emailed = {m.to_address for m in db.session.scalars(select(OutboundMessage).where(OutboundMessage.event_id == event.id))}
    notified = {n.user_id: n.reason for n in db.session.scalars(select(Notification).where(Notification.event_id == event.id))}
    return emailed, notified


# (group volume, thread volume, participating, how Bob is addressed) → (emailed?, notified reason or None)
CASES = [
    ("all", None, False, "plain", True, "group"),
    ("digest", None, False, "plain", False, "group"),
    ("mentions", None, False, "plain", False, None),
    ("mute", None, False, "plain", False, None),
    ("all", None, False, "mention", True, "mention"),
    ("digest", None, False, "mention", False, "mention"),
    ("mentions", None, False, "mention", True, "mention"),
    ("mute", None, False, "mention", False, "mention"),
    ("mentions", "mentions", False, "reply", True, "reply"),
    ("all", "mute", False, "plain", False, None),
    ("all", "mute", False, "mention", True, "mention"),
    ("mentions", "all", False, "plain", True, "thread"),
    ("digest", None, True, "plain", True, "thread"),
    ("mentions", None, True, "plain", True, "thread"),
    ("mute", None, True, "plain", False, None),
]


@pytest.mark.parametrize("group_volume,thread_volume,participating,how,emailed,reason", CASES)
def test_a_comment_reaches_bob_according_to_his_volume(garden, group_volume, thread_volume, participating, how,
                                                        emailed, reason):
    group, ann, bob, thread = garden
    set_volume(group, bob, group_volume)
    if thread_volume or participating:
        set_thread(bob, thread, volume=thread_volume, participating=participating)
    body, parent_id = "Let's order them.", None
    if how == "mention":
        body = "What do you think, @bob?"
    elif how == "reply":
        parent_id = CommentFactory(discussion=thread, author=bob, body="Three bins.").id
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body=body, parent_id=parent_id)

    addresses, notified = heard("comment_posted")
    assert ("bob@example.org" in addresses) is emailed
    assert notified.get(bob.id) == reason
    assert "ann@example.org" not in addresses and ann.id not in notified  # never the actor


@pytest.mark.parametrize("volume,emailed", [("all", True), ("digest", False), ("mentions", False), ("mute", False)])
def test_a_new_thread_reaches_members_by_their_group_volume(clean_app, volume, emailed):
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    bob = member(group, email="bob@example.org")
    set_volume(group, bob, volume)
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Seeds", body="Which seeds?")
    addresses, _ = heard("discussion_started")
    assert addresses == ({"bob@example.org"} if emailed else set())


@pytest.mark.parametrize("privacy", ["open", "closed", "secret"])
def test_removed_members_and_outsiders_hear_nothing_even_when_mentioned(clean_app, privacy):
    group = GroupFactory(handle="garden", privacy=privacy)
    ann = member(group, role="admin")
    gone = member(group, name="Gone Person", email="gone@example.org")
    outsider = UserFactory(name="Carol", email="carol@example.org")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Seeds", body="")
    discussions.post_comment(actor_id=gone.id, discussion_id=thread.id, body="I was here")  # participating
    db.session.delete(db.session.scalar(select(Membership).where(Membership.user_id == gone.id)))
    db.session.commit()

    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Thanks @gone and @carol")
    addresses, notified = heard("comment_posted")
    assert addresses == set() and notified == {}
    assert outsider.id not in notified


def test_suspended_addresses_and_deleted_accounts_get_no_mail(garden):
    group, ann, bob, thread = garden
    cat = member(group, email="cat@example.org")
    bob.email_suspended_at = utcnow()
    cat.deleted_at = utcnow()
    db.session.commit()
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Hello all")
    addresses, notified = heard("comment_posted")
    assert addresses == set()
    assert set(notified) == {bob.id}  # the bell still tells Bob; a deleted account hears nothing


def test_running_fan_out_again_sends_nothing_twice(garden):
    group, ann, bob, thread = garden
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Once only")
    event = db.session.scalars(select(Event).where(Event.kind == "comment_posted")).one()
    assert fan_out(event.id) == 0
    event.fanned_out_at = None  # as if a crash lost the mark: the dedupe keys still hold
    db.session.commit()
    assert fan_out(event.id) == 0
    assert db.session.query(OutboundMessage).filter_by(event_id=event.id).count() == 1
    assert db.session.query(Notification).filter_by(event_id=event.id).count() == 1


def _poll(actor, group, **options):
    return polls.create_poll(actor_id=actor.id, group_id=group.id, poll_type="proposal", title="Buy bins?",
                             closing_at=utcnow() + timedelta(days=3), **options)


@pytest.mark.parametrize("volume,emailed", [("all", True), ("mentions", True), ("digest", False), ("mute", False)])
def test_a_new_poll_asks_every_voter_unless_they_chose_digest_or_mute(clean_app, volume, emailed):
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    bob = member(group, email="bob@example.org")
    set_volume(group, bob, volume)
    _poll(ann, group)
    addresses, notified = heard("poll_created")
    assert ("bob@example.org" in addresses) is emailed


def test_named_voters_from_outside_a_closed_group_are_asked_and_nobody_else_outside(clean_app):
    group = GroupFactory(handle="garden", privacy="closed")
    ann = member(group, role="admin")
    guest = UserFactory(email="guest@example.org")
    UserFactory(email="stranger@example.org")
    _poll(ann, group, voter_scope="specified", voters=["guest@example.org"])
    addresses, notified = heard("poll_created")
    assert addresses == {"guest@example.org"}
    assert notified == {guest.id: "poll"}


def test_closing_soon_reminds_only_those_who_have_not_voted(clean_app):
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    voted = member(group, email="voted@example.org")
    waiting = member(group, email="waiting@example.org")
    poll = _poll(ann, group)
    agree = poll.options[0]
    polls.cast_vote(actor_id=voted.id, poll_id=poll.id, choices={agree.id: 1})
    polls.remind(actor_id=ann.id, poll_id=poll.id)
    addresses, _ = heard("poll_reminder")
    assert addresses == {"waiting@example.org"}


def test_anonymous_votes_notify_nobody(clean_app):
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    bob = member(group)
    poll = _poll(ann, group, anonymous=True)
    polls.cast_vote(actor_id=bob.id, poll_id=poll.id, choices={poll.options[0].id: 1})
    stance_events = db.session.scalars(select(Event).where(Event.kind == "stance_created")).all()
    assert stance_events and all(e.actor_id is None for e in stance_events)
    assert db.session.query(Notification).filter(Notification.event_id.in_([e.id for e in stance_events])).count() == 0
