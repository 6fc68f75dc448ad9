"""Every automatic answer to a member's mail (a vote or command confirmation, help, a refusal, the
"Did you send this?" ask, whose subject keeps its question) lands in the member's own conversation: In-Reply-To and References name
their message, and the subject is "Re: <their subject>", as their own client's reply would be."""
from __future__ import annotations

import email
import smtplib

import pytest

from app.extensions import db
from app.services.discussions import post_comment
from tests.mailauth import FORGING_SOURCE

from .conftest import message


def message_id_of(raw: bytes) -> str:
    return email.message_from_bytes(raw)["Message-ID"]


@pytest.fixture
def notification(garden, outbox):
    """The comment notification Dee got: the mail her client answers."""
    post_comment(actor_id=garden.bob.id, discussion_id=garden.thread.id, body="Who brings the spades?")
    mail = outbox.last_to("dee@example.org")
    outbox.clear()
    return mail


def reply(garden, send, notification, body: str, *, to: str | None = None,
          subject: str = "Re: [garden] Garden day") -> bytes:
    raw = message(sender="Dee <dee@example.org>", to=to or notification.header("Reply-To"), body=body,
                  subject=subject, in_reply_to=notification.header("Message-ID"))
    send(raw, to=to or notification.header("Reply-To"), envelope_from="dee@example.org")
    return raw


def assert_answers(answer, raw: bytes, notification, subject: str = "Re: [garden] Garden day") -> None:
    theirs = message_id_of(raw)
    assert answer.header("In-Reply-To") == theirs
    assert answer.header("References").split() == [notification.header("Message-ID"), theirs]
    assert answer.subject == subject
    assert answer.header("Auto-Submitted") == "auto-replied"


@pytest.mark.parametrize("body, says", [
    ("help", "Here is everything you can do by email"),
    ("mute", "You will get no more email about"),
])
def test_a_command_is_confirmed_in_the_members_own_conversation(garden, send, outbox, notification, body, says):
    raw = reply(garden, send, notification, body)
    answer = outbox.last_to("dee@example.org")
    assert says in answer.text
    assert_answers(answer, raw, notification)


def test_a_vote_by_reply_is_confirmed_under_the_reply(garden, send, outbox):
    poll = garden.poll("proposal", in_thread=True, title="Buy spades")
    notification = outbox.last_to("dee@example.org")
    outbox.clear()
    raw = message(sender="Dee <dee@example.org>", to=notification.header("Reply-To"), body="agree\n\nWe need two.",
                  subject=f"Re: {notification.subject}", in_reply_to=notification.header("Message-ID"))
    send(raw, to=notification.header("Reply-To"), envelope_from="dee@example.org")
    answer = outbox.last_to("dee@example.org")
    assert f'Your vote in "{poll.title}" was recorded' in answer.text
    assert_answers(answer, raw, notification, subject=f"Re: {notification.subject}")


def test_a_refusal_threads_under_the_refused_reply(garden, send, outbox, notification):
    garden.thread.closed_at = garden.thread.created_at
    db.session.commit()
    raw = reply(garden, send, notification, "Count me in!")
    answer = outbox.last_to("dee@example.org")
    assert "is closed, so it takes no new comments" in answer.text
    assert_answers(answer, raw, notification)


def test_the_did_you_send_this_ask_threads_under_the_unproven_message(garden, smtp_server, outbox, notification):
    to = notification.header("Reply-To")
    raw = message(sender="Dee <dee@example.org>", to=to, body="Count me in!", subject="Re: [garden] Garden day",
                  in_reply_to=notification.header("Message-ID"), signed=False)
    with smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=10, source_address=(FORGING_SOURCE, 0)) as client:
        assert client.sendmail("dee@example.org", [to], raw) == {}  # unsigned, from a host SPF does not allow
    answer = outbox.last_to("dee@example.org")
    assert "please confirm that you sent it" in answer.text
    # Threaded, but the inbox list still shows the question (a forgery is not in their mailbox).
    assert_answers(answer, raw, notification, subject="Did you send this? Re: [garden] Garden day")


def test_a_new_thread_by_mail_is_confirmed_as_a_reply_to_it(garden, send, outbox):
    raw = message(sender="Dee <dee@example.org>", to="garden@quorum.test", body="Bring seeds.", subject="Seed swap")
    send(raw, to="garden@quorum.test", envelope_from="dee@example.org")
    [answer] = [m for m in outbox.to("dee@example.org") if m.header("In-Reply-To")]
    assert answer.subject == "Re: Seed swap" and answer.header("References") == message_id_of(raw)
    assert "Your thread “Seed swap” was started" in answer.text


def test_a_subject_that_already_answers_is_not_prefixed_again(garden, send, outbox, notification):
    raw = reply(garden, send, notification, "help", subject="AW: [garden] Garden day")
    answer = outbox.last_to("dee@example.org")
    assert_answers(answer, raw, notification, subject="AW: [garden] Garden day")
