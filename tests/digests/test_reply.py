"""Replying to one item of a digest answers that item only, through the real inbound pipeline."""
from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from app.email.addresses import parse_reply_local
from app.extensions import db
from app.models import Comment

from tests.mailauth import sign

from .conftest import digests_to, run


def reply_links(text: str) -> list[tuple[str, str]]:
    """(address, subject) of every "Reply to this" mailto link in a digest's text."""
    return [(address, unquote(subject)) for address, subject in re.findall(r"mailto:([^?\s]+)\?subject=(\S+)", text)]


def test_each_item_carries_its_own_reply_address(scene, outbox, later):
    first = scene.thread(title="First thread")
    comment = scene.comment(first, "A comment to answer.")
    second = scene.thread(title="Second thread")
    run(later)
    mail = digests_to(outbox, scene.alice)[0]
    targets = [parse_reply_local(address.split("@")[0]) for address, _ in reply_links(mail.text)]
    assert [(t.kind, t.target_id) for t in targets] == [
        ("discussion", first.id), ("comment", comment.id), ("discussion", second.id)]
    assert {t.user_id for t in targets} == {scene.alice.id}
    assert [s for _, s in reply_links(mail.text)] == ["Re: First thread", "Re: First thread", "Re: Second thread"]
    assert all(f'href="mailto:{address}' in mail.html for address, _ in reply_links(mail.text))


def test_a_reply_quoting_the_whole_digest_posts_only_to_the_item_it_was_sent_to(scene, outbox, later, dns):
    from mail.pipeline import process

    first = scene.thread(title="Picnic")
    second = scene.thread(title="Compost")
    run(later)
    mail = digests_to(outbox, scene.alice)[0]
    address, subject = reply_links(mail.text)[1]  # "Reply to this thread" under Compost
    reply = EmailMessage()
    reply["From"] = "Alice <alice@example.org>"
    reply["To"] = address
    reply["Subject"] = subject
    reply["Message-ID"] = make_msgid(domain="example.org")
    quoted = "\n".join("> " + line for line in mail.text.splitlines())
    reply.set_content(f"Worms work best.\n\nOn Thu, Quorum digest <notifications@quorum.test> wrote:\n{quoted}\n")
    process(sign(reply.as_bytes()), envelope_from="alice@example.org", recipients=[address])
    db.session.expire_all()
    compost = list(db.session.scalars(select(Comment).where(Comment.discussion_id == second.id)))
    assert [(c.author_id, c.body) for c in compost] == [(scene.alice.id, "Worms work best.")]
    assert db.session.scalars(select(Comment).where(Comment.discussion_id == first.id)).all() == []
