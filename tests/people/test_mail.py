"""People in a discussion, by mail through the real SMTP server: a guest's replies (with sender
proof), a removed guest refused, and "Notify:" lines on a new thread."""
from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import select

from app.email.addresses import reply_address
from app.extensions import db
from app.models import Comment, DirectNotice, Discussion, InboundMessage, Membership, User
from app.services import guests
from mail.server import start_server
from tests.inbound.conftest import reply

GUEST = "guest@work.example"  # a domain that signs its mail (tests/mailauth.py)


@pytest.fixture
def server(clean_app, club, dns):
    controller = start_server(clean_app)
    yield controller
    controller.stop()


def send(server, to: str, raw: bytes, sender: str) -> dict:
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as client:
        return client.sendmail(sender, [to], raw)


def comments(thread_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Comment.body).where(Comment.discussion_id == thread_id).order_by(Comment.id)))


def guest_of(club) -> User:
    guests.invite_guests(actor_id=club.ann.id, discussion_id=club.thread.id, emails=GUEST)
    return db.session.scalar(select(User).where(User.email == GUEST))


def test_a_guest_replies_by_mail_and_it_is_posted_in_the_thread(club, server, outbox):
    guest = guest_of(club)
    to = outbox.last_to(GUEST).header("Reply-To")
    assert to == reply_address(guest, "discussion", club.thread.id)
    assert send(server, to, reply(to=to, sender=f"Gwen Guest <{GUEST}>", body="Happy to help with the numbers.\n"),
                GUEST) == {}
    assert comments(club.thread.id)[-1] == "Happy to help with the numbers."


def test_a_guest_reply_from_another_address_is_refused(club, server, outbox):
    guest_of(club)
    to = outbox.last_to(GUEST).header("Reply-To")
    send(server, to, reply(to=to, sender="Bob <bob@example.org>", body="Posing as the guest.\n"), "bob@example.org")
    assert "Posing as the guest." not in comments(club.thread.id)
    row = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert row.status == "rejected" and "does not match" in (row.reason or "")


def test_an_unproven_guest_reply_waits_for_the_guests_own_confirmation(club, server, outbox):
    guest_of(club)
    to = outbox.last_to(GUEST).header("Reply-To")
    outbox.clear()
    send(server, to, reply(to=to, sender=GUEST, body="Unsigned words.\n", signed=False), GUEST)
    assert "Unsigned words." not in comments(club.thread.id)
    assert "Did you send this?" in outbox.last_to(GUEST).subject


def test_a_removed_guests_reply_is_refused_and_explained(club, server, outbox):
    guest = guest_of(club)
    to = outbox.last_to(GUEST).header("Reply-To")
    guests.remove_guest(actor_id=club.ann.id, discussion_id=club.thread.id, user_id=guest.id)
    outbox.clear()
    send(server, to, reply(to=to, sender=GUEST, body="Am I still in?\n"), GUEST)
    assert "Am I still in?" not in comments(club.thread.id)
    assert "was not posted" in outbox.last_to(GUEST).text


def test_notify_lines_tell_named_people_and_subgroups_at_once_and_say_who_was_left_out(club, server, outbox):
    for person in (club.bob, club.cleo):  # both asked for digests only
        db.session.scalar(select(Membership).where(Membership.user_id == person.id,
                                                   Membership.group_id == club.group.id)).volume = "digest"
    db.session.commit()
    body = "Notify: bob@example.org, @garden\nNotify: olga@example.org\n\nThe hall is booked for Friday.\n"
    message = reply(to="club@quorum.test", sender="Ann <ann@example.org>", subject="Hall booking", body=body)
    assert send(server, "club@quorum.test", message, "ann@example.org") == {}
    thread = db.session.scalar(select(Discussion).where(Discussion.title == "Hall booking"))
    assert thread.body == "The hall is booked for Friday."  # the Notify: lines are not part of the text
    told = {n.user_id: n.via for n in db.session.scalars(select(DirectNotice).where(DirectNotice.discussion_id == thread.id))}
    assert told == {club.bob.id: "bob@example.org", club.cleo.id: "@garden"}
    assert "The hall is booked for Friday." in outbox.last_to("bob@example.org").text
    assert "The hall is booked for Friday." in outbox.last_to("cleo@example.org").text
    assert not outbox.to("gus@example.org")  # in the garden, but may not read the club's threads
    assert not outbox.to("olga@example.org")  # not a member: never told, never invited by a Notify line
    confirmation = outbox.last_to("ann@example.org")
    assert "Not told: olga@example.org" in confirmation.text


def test_a_decision_started_by_mail_tells_the_named_people_at_once(club, server, outbox):
    from app.models import Poll

    db.session.scalar(select(Membership).where(Membership.user_id == club.bob.id,
                                               Membership.group_id == club.group.id)).volume = "mentions"
    db.session.commit()
    body = "Notify: @bob\n\nShall we buy the new oven?\n"
    message = reply(to="club@quorum.test", sender="Ann <ann@example.org>", subject="Proposal: New oven", body=body)
    send(server, "club@quorum.test", message, "ann@example.org")
    poll = db.session.scalar(select(Poll).where(Poll.title == "New oven"))
    assert poll.details == "Shall we buy the new oven?"
    assert [n.user_id for n in db.session.scalars(select(DirectNotice).where(DirectNotice.poll_id == poll.id))] == [club.bob.id]
    assert "New oven" in outbox.last_to("bob@example.org").subject  # "mentions only", but named


def test_a_guest_who_replies_unsubscribe_is_told_to_reply_mute(club, server, outbox):
    guest_of(club)
    to = outbox.last_to(GUEST).header("Reply-To")
    outbox.clear()
    send(server, to, reply(to=to, sender=GUEST, body="unsubscribe\n"), GUEST)
    assert "reply with the word mute" in outbox.last_to(GUEST).text
    send(server, to, reply(to=to, sender=GUEST, body="mute\n"), GUEST)
    assert "no more email about “Budget 2027”" in outbox.last_to(GUEST).text
