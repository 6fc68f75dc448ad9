"""What members receive: well-formed headers, threading, full content, no remote resources."""
from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parseaddr

import pytest
from sqlalchemy import select

from app.email.addresses import parse_reply_local, user_id_from_bounce_token
from app.email.headers import parse_message_id
from app.email.links import verify
from app.extensions import db
from app.models import OutboundMessage, utcnow
from app.services import discussions, polls
from tests.factories import GroupFactory, member

LONG_COMMENT = """I measured the corner by the shed.

- It fits **two** bins side by side
- The lid needs _30 cm_ of clearance

> quoted from the manual

That's all: see [the shop](https://example.org/bins)."""


@pytest.fixture
def thread_mails(clean_app, outbox):
    """A thread with a comment and a reply to it, as Cara's mailbox sees it."""
    group = GroupFactory(handle="garden", name="Garden Club")
    ann = member(group, role="admin", name="Ann Lee", email="ann@example.org")
    bob = member(group, name="Bob Stone", email="bob@example.org")
    cara = member(group, name="Cara Diaz", email="cara@example.org")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost bins", body="Two bins?")
    first = discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body=LONG_COMMENT)
    reply = discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Great, ordering now.",
                                     parent_id=first.id)
    return dict(group=group, ann=ann, bob=bob, cara=cara, thread=thread, first=first, reply=reply,
                mails=outbox.to("cara@example.org"))


def test_every_mail_carries_the_list_and_loop_headers(thread_mails):
    mails = thread_mails["mails"]
    assert len(mails) == 3
    for mail in mails:
        assert mail.header("Auto-Submitted") == "auto-generated"
        assert mail.header("X-Auto-Response-Suppress") == "All"
        assert mail.header("List-Id") == '"Garden Club" <garden.quorum.test>'
        assert mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        unsubscribe = re.findall(r"<([^>]+)>", mail.header("List-Unsubscribe"))
        assert unsubscribe[0].startswith("http://localhost/m/one-click/") and unsubscribe[1].startswith("mailto:r+")
        assert parseaddr(mail.header("From"))[1] == "notifications@quorum.test"
        assert mail.subject == "[garden] Compost bins"  # identical across the thread
    assert parseaddr(mails[1].header("From"))[0] == "Bob Stone via Garden Club"


def test_references_chain_every_mail_to_the_thread_root(thread_mails):
    cara, thread, first, reply = (thread_mails[k] for k in ("cara", "thread", "first", "reply"))
    started, comment, answer = thread_mails["mails"]
    root = started.header("Message-ID")
    assert root == f"<d{thread.id}.u{cara.id}@quorum.test>" and started.header("References") is None
    assert comment.header("In-Reply-To") == root and comment.header("References") == root
    assert answer.header("References").split() == [root, comment.header("Message-ID")]
    assert answer.header("In-Reply-To") == comment.header("Message-ID")
    assert parse_message_id(answer.header("Message-ID")) == {
        "discussion_id": thread.id, "comment_id": reply.id, "poll_id": None, "event_id": None, "user_id": cara.id}
    assert parse_message_id("<d1.c2.u3@elsewhere.example>") is None
    assert parse_message_id("<random-id@quorum.test>") is None


def test_replies_go_to_an_address_for_this_member_and_this_comment(thread_mails):
    cara, first = thread_mails["cara"], thread_mails["first"]
    comment_mail = thread_mails["mails"][1]
    local = comment_mail.header("Reply-To").split("@")[0]
    target = parse_reply_local(local)
    assert (target.kind, target.target_id, target.user_id) == ("comment", first.id, cara.id)
    assert len(comment_mail.header("Reply-To")) < 40 + len("@quorum.test") and local == local.lower()


def test_the_envelope_sender_names_the_recipient_for_bounces(thread_mails):
    row = db.session.scalars(select(OutboundMessage).where(OutboundMessage.to_address == "cara@example.org")).first()
    local = row.envelope_from.split("@")[0]
    assert local.startswith("bounces+")
    assert user_id_from_bounce_token(local[len("bounces+"):]) == thread_mails["cara"].id


def test_text_and_html_both_carry_the_whole_comment_and_nothing_remote(thread_mails):
    mail = thread_mails["mails"][1]
    assert LONG_COMMENT.splitlines()[0] in mail.text and "_30 cm_ of clearance" in mail.text
    assert "That's all: see [the shop](https://example.org/bins)." in mail.text
    assert "<strong>two</strong>" in mail.html and "<em>30 cm</em>" in mail.html
    assert "<blockquote>" in mail.html and 'href="https://example.org/bins"' in mail.html
    for part in (mail.html,):
        assert not re.search(r"""\ssrc\s*=""", part, re.I)  # no images, pixels or scripts at all
        assert "<img" not in part.lower() and "<link" not in part.lower() and "url(" not in part.lower()
    assert "/m/mute_thread/" in mail.text and "/m/unsubscribe_group/" in mail.html  # the footer, in both


def test_poll_mail_numbers_the_options_and_offers_one_click_votes(clean_app, outbox):
    group = GroupFactory(handle="garden", name="Garden Club")
    ann = member(group, role="admin", name="Ann Lee")
    bob = member(group, email="bob@example.org", time_zone="Europe/Berlin")
    poll = polls.create_poll(actor_id=ann.id, group_id=group.id, poll_type="proposal", title="Buy two bins?",
                             details="They cost **40 EUR**.", closing_at=utcnow() + timedelta(days=3))
    mail = outbox.last_to("bob@example.org")
    assert mail.subject == "[garden] Proposal: Buy two bins?"
    for n, option in enumerate(poll.options, 1):
        assert f"{n}. {option.name}" in mail.text
    assert "To vote, reply with your choice on the first line" in mail.text
    assert "(Europe/Berlin)" in mail.text
    assert "<strong>40 EUR</strong>" in mail.html
    vote_links = re.findall(r"http://localhost/p/\d+/vote/([\w.-]+)", mail.text)
    assert len(vote_links) == len(poll.options)
    payload = verify(vote_links[0], "vote")
    assert payload["user_id"] == bob.id and payload["poll_id"] == poll.id and payload["option_id"] == poll.options[0].id
    assert verify(vote_links[0], "unsubscribe_all") is None  # a vote token does nothing else
    target = parse_reply_local(mail.header("Reply-To").split("@")[0])
    assert (target.kind, target.target_id) == ("poll", poll.id)
