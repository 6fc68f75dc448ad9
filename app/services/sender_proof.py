"""Mail in a member's name that nothing authenticated: ask the member, act only on their word.

The pipeline (`mail/pipeline.py`) holds such a message (status "held", action "unconfirmed") and
calls `ask()`: the member gets, at their own address, a short "Did you send this?" quoting what
would be done, with a token reply address and a link. `confirm()` — from the reply or the link's
button — is single use and expires after CONFIRM_HOURS; it hands the stored message back to the
pipeline, which now counts the sender as proven for that one message. A forged From therefore
costs the member one short mail and does nothing; a member whose domain publishes no SPF or DKIM
confirms once per message (or trusts their sending service, below).

Trusting a sending service: a message whose SPF or DKIM passed for some domain not aligned with
the From domain (a provider signing with its own domain) can, when confirmed, make that
(method, domain) trusted for this member: later mail from them that this very domain
authenticates counts as proven. It is bound to what DNS proved, never to a header.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from .. import storage
from ..email import messages
from ..email.addresses import reply_address
from ..email.headers import Original
from ..extensions import db
from ..models import InboundMessage, SenderConfirmation, TrustedSender, User, utcnow
from ..tokens import hash_token, random_token
from ..i18n import _
from .errors import NotFound
from .inbound import NAMESPACE

UNCONFIRMED = "unconfirmed"  # the held message's action while it waits
CONFIRM_HOURS = 72
ASKS_PER_HOUR = 5  # a flood of forgeries costs the member at most this many mails an hour


class AlreadyDecided(NotFound):
    """The confirmation was used, or has expired."""


def _hash(token: str) -> str:
    return hash_token("sender-confirmation:" + token)


def for_message(inbound_id: int) -> SenderConfirmation | None:
    return db.session.scalar(select(SenderConfirmation).where(SenderConfirmation.inbound_id == inbound_id))


def proven_sender(inbound_id: int | None) -> SenderConfirmation | None:
    """The used (confirmed) confirmation of this stored message, if its sender confirmed it."""
    if inbound_id is None:
        return None
    row = for_message(inbound_id)
    return row if row is not None and row.used_at is not None else None


def trusts(user_id: int, vouchers) -> bool:
    """Whether the member trusts one of the (method, domain) services that authenticated this message."""
    pairs = [(m, d) for m, d in vouchers]
    if not pairs:
        return False
    rows = db.session.execute(select(TrustedSender.method, TrustedSender.domain)
                              .where(TrustedSender.user_id == user_id)).all()
    return any((row.method, row.domain) in pairs for row in rows)


def ask(*, inbound_id: int, user: User | None, email: str, summary: str, original: Original,
        vouchers=()) -> SenderConfirmation:
    """Ask `email` (the member's own address) to confirm the stored message; once per message.

    Called again for the same message (a retried job), it returns the first request unchanged and
    mails nothing more.
    """
    existing = for_message(inbound_id)
    if existing is not None:
        return existing
    token = random_token(32)
    now = utcnow()
    recent = db.session.scalar(select(func.count(SenderConfirmation.id)).where(
        func.lower(SenderConfirmation.email) == email.lower(), SenderConfirmation.mailed.is_(True),
        SenderConfirmation.created_at > now - timedelta(hours=1))) or 0
    row = SenderConfirmation(inbound_id=inbound_id, user_id=user.id if user is not None else None, email=email,
                             token_hash=_hash(token), summary=summary[:4000], vouchers=[list(v) for v in vouchers],
                             mailed=recent < ASKS_PER_HOUR, created_at=now,
                             expires_at=now + timedelta(hours=CONFIRM_HOURS))
    db.session.add(row)
    db.session.flush()
    if row.mailed:
        messages.sender_confirmation(
            confirmation_id=row.id, to=email, user=user, summary=row.summary, original=original, hours=CONFIRM_HOURS,
            link=current_app.config["BASE_URL"] + f"/confirm/{token}",
            reply_to=reply_address(user, "confirmation", row.id) if user is not None else None)
    db.session.commit()
    return row


def load(token: str) -> SenderConfirmation | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(SenderConfirmation).where(SenderConfirmation.token_hash == _hash(token)))


def state(row: SenderConfirmation) -> str:
    """open | confirmed | expired."""
    if row.used_at is not None:
        return "confirmed"
    return "expired" if row.expires_at <= utcnow() else "open"


def confirm(row: SenderConfirmation, *, trust: bool = False) -> SenderConfirmation:
    """Act on the member's word, once: the held message goes back to the pipeline as theirs.

    One conditional UPDATE decides, so a double click, a reply and a click, or two workers can
    never confirm twice; an expired or used confirmation raises AlreadyDecided.
    """
    now = utcnow()
    won = db.session.execute(
        update(SenderConfirmation)
        .where(SenderConfirmation.id == row.id, SenderConfirmation.used_at.is_(None),
               SenderConfirmation.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        db.session.rollback()
        db.session.refresh(row)
        raise AlreadyDecided(_("This message was confirmed already: nothing more was done.")
                             if row.used_at is not None else
                             _("This confirmation has expired (after %(hours)s hours), so the message was "
                               "not posted. Please send it again.", hours=CONFIRM_HOURS))
    message = db.session.get(InboundMessage, row.inbound_id)
    if message is not None and message.status == "held" and message.action == UNCONFIRMED:
        message.status, message.reason = "received", "the sender confirmed it from their own mailbox"
    if trust and row.user_id is not None:
        for method, domain in row.vouchers or []:
            if not db.session.scalar(select(TrustedSender.id).where(
                    TrustedSender.user_id == row.user_id, TrustedSender.method == method,
                    TrustedSender.domain == domain)):
                db.session.add(TrustedSender(user_id=row.user_id, method=method, domain=domain))
    db.session.commit()  # back to received: the commit enqueues its processing
    db.session.refresh(row)
    return row


def trusted_for(user_id: int) -> list[TrustedSender]:
    return list(db.session.scalars(select(TrustedSender).where(TrustedSender.user_id == user_id)
                                   .order_by(TrustedSender.id)))


def forget_trusted(*, user_id: int, trusted_id: int) -> None:
    row = db.session.get(TrustedSender, trusted_id)
    if row is None or row.user_id != user_id:
        raise NotFound(_("There is no such trusted sending service on your account."))
    db.session.delete(row)
    db.session.commit()


def expire(batch: int = 500) -> int:
    """Held messages whose confirmation expired unanswered: rejected, their stored copy deleted."""
    rows = list(db.session.execute(
        select(InboundMessage.id, InboundMessage.storage_key)
        .join(SenderConfirmation, SenderConfirmation.inbound_id == InboundMessage.id)
        .where(InboundMessage.status == "held", InboundMessage.action == UNCONFIRMED,
               SenderConfirmation.used_at.is_(None), SenderConfirmation.expires_at <= utcnow())
        .limit(batch)))
    if not rows:
        return 0
    db.session.execute(
        update(InboundMessage).where(InboundMessage.id.in_([r.id for r in rows]))
        .values(status="rejected", processed_at=utcnow(),
                reason=f"the sender did not confirm it within {CONFIRM_HOURS} hours")
        .execution_options(synchronize_session=False))
    db.session.commit()
    for row in rows:
        storage.delete(NAMESPACE, row.storage_key)
    return len(rows)
