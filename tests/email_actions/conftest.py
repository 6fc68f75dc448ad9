"""A group whose members take part by email only: a live SMTP server, mail written like a mail
client writes it, and the outbox read back (mail-parser), with no web request."""
from __future__ import annotations

import smtplib
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import InboundMessage
from mail.server import start_server
from tests.factories import DiscussionFactory, GroupFactory, member
from tests.mailauth import sign


class Members:
    """The Garden group: Ada the admin, Bob and Dee members, a thread by Bob."""

    def __init__(self):
        self.group = GroupFactory(handle="garden", name="Garden")
        self.ada = member(self.group, role="admin", email="ada@example.org", name="Ada")
        self.bob = member(self.group, email="bob@example.org", name="Bob")
        self.dee = member(self.group, email="dee@example.org", name="Dee")
        self.thread = DiscussionFactory(group=self.group, author=self.bob, title="Garden day")

    def address(self, user, kind: str, target_id: int) -> str:
        from app.email.addresses import reply_address

        return reply_address(user, kind, target_id)

    def poll(self, poll_type: str, *, author=None, in_thread: bool = False, **settings):
        from app.services.polls import create_poll

        defaults = {"title": f"A {poll_type} poll", "closing_at": datetime.now(timezone.utc) + timedelta(days=3)}
        if in_thread:
            defaults["discussion_id"] = self.thread.id
        else:
            defaults["group_id"] = self.group.id
        return create_poll(actor_id=(author or self.ada).id, poll_type=poll_type, **(defaults | settings))


@pytest.fixture
def garden(clean_app, dns) -> Members:
    return Members()


def message(*, sender: str, to: str, body: str, subject: str = "Re: Garden day", in_reply_to: str | None = None,
            attachments: list[tuple[str, str, bytes]] = (), html: str | None = None, signed: bool = True) -> bytes:
    """A message as a mail client sends it (CRLF line ends, threading headers when replying),
    DKIM-signed by the sender's domain as their provider would (unless `signed=False`)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg["Date"] = "Tue, 07 Jan 2025 10:00:00 +0000"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    raw = msg.as_bytes(policy=SMTP)
    return sign(raw, sender.rpartition("@")[2].strip(">")) if signed else raw


@pytest.fixture
def smtp_server(clean_app, dns):
    controller = start_server(clean_app)
    yield controller
    controller.stop()


@pytest.fixture
def send(smtp_server):
    """send(raw, to=…, sender=…) → the stored InboundMessage, processed (jobs run inline in tests)."""

    def deliver(raw: bytes, *, to: str, envelope_from: str) -> InboundMessage:
        with smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=10) as client:
            refused = client.sendmail(envelope_from, [to], raw)
        assert refused == {}
        db.session.expire_all()
        return db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()

    return deliver
