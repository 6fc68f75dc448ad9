"""Fixtures for inbound mail: a thread with members, reply addresses, offline DNS, a live server."""
from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest

from tests.factories import CommentFactory, DiscussionFactory, GroupFactory, member
from tests.mailauth import sign


class Scene:
    """A closed group with Alice and Bob, one thread and one comment by Bob."""

    def __init__(self):
        self.group = GroupFactory(handle="garden", name="Garden")
        self.alice = member(self.group, email="alice@example.org", name="Alice")
        self.bob = member(self.group, email="bob@example.org", name="Bob")
        self.thread = DiscussionFactory(group=self.group, author=self.bob, title="Garden day")
        self.comment = CommentFactory(discussion=self.thread, author=self.bob, body="Shall we meet at ten?")

    def reply_address(self, user=None, kind: str = "discussion", target_id: int | None = None) -> str:
        from app.email.addresses import reply_address

        user = user or self.alice
        if target_id is None:
            target_id = {"discussion": self.thread.id, "comment": self.comment.id, "group": self.group.id}[kind]
        return reply_address(user, kind, target_id)


@pytest.fixture
def scene(clean_app, dns) -> Scene:
    return Scene()


def reply(*, to: str, sender: str = "Alice <alice@example.org>", body: str = "Count me in!\n",
          subject: str = "Re: Garden day", signed: bool = True, **headers: str) -> bytes:
    """A plain reply as a mail client would send it, DKIM-signed by the sender's domain (unless
    `signed=False`: a forgery, or a domain that signs nothing)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg["Date"] = "Tue, 07 Jan 2025 10:00:00 +0000"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    raw = msg.as_bytes(policy=SMTP)  # CRLF line ends, as mail clients send
    return sign(raw, sender.rpartition("@")[2].strip(">")) if signed else raw


def comments_of(thread):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Comment

    db.session.expire_all()
    return list(db.session.scalars(select(Comment).where(Comment.discussion_id == thread.id).order_by(Comment.id)))
