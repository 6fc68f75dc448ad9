"""Replying to a digest, a sign-in mail or any mail from notifications@: the reply is accepted (no
550 "no group called notifications"); a reply to one's own digest that quotes one item goes to that
item; anything else is answered once, only to a proven sender, with where to write instead."""
from __future__ import annotations

import smtplib
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, OutboundMessage
from app.services import accounts, discussions, subscriptions
from app.services.digests import run_due
from tests.mailauth import FORGING_SOURCE

from .conftest import message

NOTIFICATIONS = "notifications@quorum.test"


def comments() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Comment.id)))


def sent_to(address: str) -> int:
    return db.session.scalar(select(func.count(OutboundMessage.id)).where(OutboundMessage.to_address == address))


def test_a_reply_to_a_sign_in_mail_is_accepted_and_answered_with_where_to_write(garden, send, outbox):
    accounts.request_sign_in(email="dee@example.org")
    db.session.commit()
    sign_in_mail = outbox.last_to("dee@example.org")
    raw = message(sender="Dee <dee@example.org>", to=NOTIFICATIONS, body="Thanks, I am in!",
                  subject="Re: " + sign_in_mail.subject, in_reply_to=sign_in_mail.header("Message-ID"))
    row = send(raw, to=NOTIFICATIONS, envelope_from="dee@example.org")  # accepted at RCPT, not a 550
    assert (row.status, row.action) == ("rejected", "refused") and comments() == 0
    answer = outbox.last_to("dee@example.org")
    assert "only sends mail" in answer.text and "garden@quorum.test" in answer.text
    assert answer.header("In-Reply-To") and answer.header("Auto-Submitted") == "auto-replied"
    explanation = db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc())).first()
    assert explanation.envelope_from == ""  # a null sender: nothing bounces back to us

    send(message(sender="Dee <dee@example.org>", to=NOTIFICATIONS, body="Hello again?"), to=NOTIFICATIONS,
         envelope_from="dee@example.org")
    assert sent_to("dee@example.org") == 2  # the sign-in mail and one answer: not one per message


def test_a_forged_reply_to_notifications_gets_no_answer(garden, smtp_server, outbox):
    raw = message(sender="Dee <dee@example.org>", to=NOTIFICATIONS, body="Hi", signed=False)
    with smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=10, source_address=(FORGING_SOURCE, 0)) as client:
        assert client.sendmail("dee@example.org", [NOTIFICATIONS], raw) == {}
    assert sent_to("dee@example.org") == 0


def test_an_auto_reply_to_notifications_is_not_answered(garden, send, outbox):
    raw = message(sender="Dee <dee@example.org>", to=NOTIFICATIONS, body="I am away until Monday.",
                  subject="Out of office")
    raw = b"Auto-Submitted: auto-replied\r\n" + raw
    row = send(raw, to=NOTIFICATIONS, envelope_from="dee@example.org")
    assert row.action == "ignored" and sent_to("dee@example.org") == 0


@pytest.fixture
def digest(garden, outbox):
    """Dee reads Garden by daily digest; Bob has written a comment in it."""
    garden.dee.digest_frequency, garden.dee.digest_hour = "daily", 0
    db.session.commit()
    subscriptions.set_group_volume(garden.dee, garden.group.id, "digest")
    db.session.commit()
    comment = discussions.post_comment(actor_id=garden.bob.id, discussion_id=garden.thread.id, body="Spades at ten?")
    run_due(now=datetime.now(timezone.utc) + timedelta(minutes=5), ignore_hour=True, member_email="dee@example.org")
    return outbox.last_to("dee@example.org"), comment


def test_a_digest_reply_quoting_one_item_is_posted_to_that_item(garden, send, digest):
    mail, comment = digest
    [item] = [line for line in mail.text.splitlines() if "Reply to this:" in line and "r+c" in line]
    body = f"Ten is fine.\n\nOn Wed, Quorum digest <{NOTIFICATIONS}> wrote:\n>   Bob commented:\n>   Spades at ten?\n> {item}\n"
    raw = message(sender="Dee <dee@example.org>", to=NOTIFICATIONS, body=body, subject="Re: " + mail.subject,
                  in_reply_to=mail.header("Message-ID"))
    row = send(raw, to=NOTIFICATIONS, envelope_from="dee@example.org")
    assert (row.status, row.action) == ("processed", "comment")
    posted = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
    assert (posted.body, posted.author_id, posted.parent_id) == ("Ten is fine.", garden.dee.id, comment.id)


def test_a_digest_reply_quoting_the_whole_digest_is_explained_not_guessed(garden, send, outbox, digest):
    mail, _ = digest
    quote = "\n".join("> " + line for line in mail.text.splitlines())
    raw = message(sender="Dee <dee@example.org>", to=NOTIFICATIONS, body=f"Ten is fine.\n\n{quote}\n",
                  subject="Re: " + mail.subject, in_reply_to=mail.header("Message-ID"))
    row = send(raw, to=NOTIFICATIONS, envelope_from="dee@example.org")
    assert row.status == "rejected" and comments() == 1  # only Bob's
    assert "Reply to this" in outbox.last_to("dee@example.org").text


def test_a_quoted_item_of_someone_elses_digest_posts_nothing(garden, send, outbox, digest):
    mail, _ = digest
    [item] = [line for line in mail.text.splitlines() if "Reply to this:" in line and "r+c" in line]
    raw = message(sender="Ada <ada@example.org>", to=NOTIFICATIONS, body=f"Me too.\n\n> {item}\n",
                  subject="Re: " + mail.subject, in_reply_to=mail.header("Message-ID"))
    row = send(raw, to=NOTIFICATIONS, envelope_from="ada@example.org")
    assert row.status == "rejected" and comments() == 1
