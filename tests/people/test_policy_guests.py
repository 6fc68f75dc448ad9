"""The guest rule's forms agree: one person (policy.can_view_discussion / is_thread_guest), many
people (discussion_viewers with thread_guest_ids, the fan-out's) and the list search and the bell
use (guest_discussion_ids), for every kind of guest, privacy and archived state."""
from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from app import policy
from app.extensions import db
from app.models import Membership, User, utcnow
from app.services import discussions, guests, notifications
from tests.factories import GroupFactory, member

KINDS = ["guest", "removed_guest", "deleted_guest", "guest_of_another_thread"]


@pytest.mark.parametrize("archived", [False, True])
@pytest.mark.parametrize("privacy", ["open", "closed", "secret"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_forms_of_the_guest_rule_agree(clean_app, kind, privacy, archived):
    group = GroupFactory(handle="club", privacy=privacy)
    ann = member(group, role="admin")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="One thread", body="")
    elsewhere = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Another", body="")
    target = elsewhere if kind == "guest_of_another_thread" else thread
    guests.invite_guests(actor_id=ann.id, discussion_id=target.id, emails="guest@elsewhere.example")
    person = db.session.query(User).filter_by(email="guest@elsewhere.example").one()
    if kind == "removed_guest":
        guests.remove_guest(actor_id=ann.id, discussion_id=thread.id, user_id=person.id)
    if kind == "deleted_guest":
        person.deleted_at = utcnow()
    if archived:
        group.archived_at = utcnow()
    db.session.commit()
    policy.forget_memberships()

    guest = kind == "guest" and not archived
    one = policy.is_thread_guest(person, thread)
    members = {m.user_id for m in db.session.query(Membership).filter_by(group_id=group.id)}
    many = person.id in policy.discussion_viewers([person], thread, members, policy.thread_guest_ids(thread))
    listed = thread.id in policy.guest_discussion_ids(person)
    assert one == listed == guest
    # Beyond being a guest, the thread is whatever an outsider may see (an open group's, not archived).
    outsider = policy.can_view_discussion(AnonymousUserMixin(), thread)
    assert policy.can_view_discussion(person, thread) == many == (guest or outsider)
    assert policy.can_comment(person, thread) == guest
    assert not policy.can_invite_guests(person, thread) and not policy.can_start_thread(person, group)


def test_a_guests_bell_shows_their_thread_and_forgets_it_once_removed(clean_app):
    group = GroupFactory(handle="club", privacy="secret")
    ann = member(group, role="admin")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Invoice question", body="")
    guests.invite_guests(actor_id=ann.id, discussion_id=thread.id, emails="guest@elsewhere.example")
    person = db.session.query(User).filter_by(email="guest@elsewhere.example").one()
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Could you send the invoice?")
    assert [row["thread"].title for row in notifications.recent(person.id)] == ["Invoice question"]
    guests.remove_guest(actor_id=ann.id, discussion_id=thread.id, user_id=person.id)
    policy.forget_memberships()
    assert notifications.recent(person.id) == []
