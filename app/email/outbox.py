"""Queue outbound mail idempotently and deliver it from a job, with retries."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import attempts
from ..extensions import db
from ..models import OutboundMessage, User, utcnow
from .compose import compose
from .dkim import sign as dkim_sign
from .headers import MailOptions
from ..i18n import by_language, in_locale, locale_for, locales_for
from .render import Rendered, render_email
from .transport import PermanentFailure, RelaySettings, TemporaryFailure, send_via_relay, write_to_outbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def bounce_envelope(user: User | None) -> str:
    """The envelope sender: VERP for members (bounces name the recipient), else plain."""
    domain = current_app.config["MAIL_DOMAIN"]
    if user is not None:
        from .addresses import bounce_token

        return f"bounces+{bounce_token(user)}@{domain}"
    return f"bounces@{domain}"


@dataclass(frozen=True, kw_only=True)
class Outgoing:
    """One message to queue: which kind, to whom, rendered from `context` (or given `rendered`)."""

    kind: str
    to: str
    dedupe_key: str  # unique: a message with the same key is never queued twice
    context: dict = field(default_factory=dict)
    rendered: Rendered | None = None
    user: User | None = None  # the member it is for (VERP envelope, suspension), if any
    event_id: int | None = None
    envelope_from: str | None = None  # None: from the user; "" is the null sender (refusals)
    options: MailOptions = MailOptions()
    attachments: tuple[tuple[str, str, bytes], ...] = ()
    always_send: bool = False  # sent even to a suspended address (sign-in links)
    calendar: tuple[str, str] | None = None  # (METHOD, iCalendar text): a text/calendar alternative (iMIP)
    locale: str | None = None  # the language to write it in; None: the recipient's (app/i18n.py locale_for)


def queue_message(mail: Outgoing) -> OutboundMessage | None:
    """Render and store one message in the current transaction; None if already queued.

    Its send job is enqueued when the transaction commits (`app/dispatch.py`).
    """
    if db.session.scalar(select(OutboundMessage.id).where(OutboundMessage.dedupe_key == mail.dedupe_key)):
        return None
    row = _new_row(mail, language_of(mail) if mail.rendered is None else None)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # a concurrent fan-out queued the same message first
        return None
    return row


def queue_messages(mails: list[Outgoing]) -> list[OutboundMessage | None]:
    """`queue_message` for many messages at once.

    One query finds the keys already queued, and the new rows go in as one bulk insert; the
    result lines up with `mails` (None where a message was already queued). If a concurrent
    writer queued one of them meanwhile, the unique dedupe_key refuses the batch and each
    message is retried alone, so the guarantee is the same as queue_message's.
    """
    if not mails:
        return []
    keys = [m.dedupe_key for m in mails]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):  # stay under every database's bound-parameter limit
        existing.update(db.session.scalars(
            select(OutboundMessage.dedupe_key).where(OutboundMessage.dedupe_key.in_(keys[start:start + 500]))))
    out: list[OutboundMessage | None] = [None] * len(mails)
    fresh: list[OutboundMessage] = []
    seen: set[str] = set()
    todo = []
    for index, mail in enumerate(mails):
        if mail.dedupe_key in existing or mail.dedupe_key in seen:
            continue
        seen.add(mail.dedupe_key)
        todo.append((index, mail))
    languages = _languages([mail for _, mail in todo])
    for code, batch in by_language(todo, lambda pair: languages[id(pair[1])]):
        for index, mail in batch:  # one language at a time: its catalog stays hot
            row = _new_row(mail, code)
            out[index] = row
            fresh.append(row)
    if not fresh:
        return out
    try:
        with db.session.begin_nested():
            db.session.add_all(fresh)
    except IntegrityError:  # someone else queued one of these meanwhile: one at a time, as queue_message does
        out = [queue_message(mail) if mail.dedupe_key not in existing else None for mail in mails]
    return out


def language_of(mail: Outgoing) -> str:
    return mail.locale or locale_for(mail.user, mail.context.get("group"))


def _languages(mails: list[Outgoing]) -> dict[int, str]:
    """{id(mail): language} for a batch, with one query per group for members who never chose."""
    out: dict[int, str] = {}
    about: dict[int | None, tuple[object, list[Outgoing]]] = {}
    for mail in mails:
        if mail.rendered is not None:  # written already (a digest: in its reader's language)
            out[id(mail)] = ""
        elif mail.locale or mail.user is None:
            out[id(mail)] = language_of(mail)
        else:
            group = mail.context.get("group")
            about.setdefault(getattr(group, "id", None), (group, []))[1].append(mail)
    for group, batch in about.values():
        codes = locales_for([m.user for m in batch], group)
        out.update((id(m), codes[m.user.id]) for m in batch)
    return out


def _new_row(mail: Outgoing, language: str | None) -> OutboundMessage:
    rendered = mail.rendered
    with in_locale(language or mail.locale):  # the body, and the headers' words (a From name), in one language
        if rendered is None:
            rendered = render_email(mail.kind, **mail.context)
        message_id, raw = compose(rendered, to=mail.to, options=mail.options, attachments=mail.attachments,
                                  calendar=mail.calendar)
    user = mail.user
    row = OutboundMessage(
        dedupe_key=mail.dedupe_key,
        message_id=message_id,
        kind=mail.kind,
        user_id=user.id if user is not None else None,
        to_address=mail.to,
        envelope_from=mail.envelope_from if mail.envelope_from is not None else bounce_envelope(user),
        raw=raw,
        event_id=mail.event_id,
        status="queued",
    )
    if user is not None and user.email_suspended_at is not None and not mail.always_send:
        row.status = "suppressed"
        row.last_error = f"sending to this address is suspended: {user.email_suspended_reason}"
    return row


def recent(limit: int = 100) -> list[OutboundMessage]:
    """The newest stored messages (the development outbox page)."""
    return list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)))


def deliver(message_id: int) -> str:
    """Send one stored message now. Returns the final status; raises TemporaryFailure to retry.

    The row is claimed first ("sending", committed), so a second job for the same message finds
    it taken and sends nothing. A worker killed mid-send leaves the claim, which the sweeper
    releases after ten relay timeouts (app/dispatch.py).
    """
    row, claimed = attempts.claim(OutboundMessage, message_id)
    if not claimed:
        return row.status if row else "missing"
    url = current_app.config.get("SMTP_URL")
    try:
        raw = dkim_sign(row.raw)
        if url:
            settings = RelaySettings.from_url(url, timeout=float(current_app.config["SMTP_TIMEOUT_SECONDS"]))
            send_via_relay(settings, raw, row.envelope_from, [row.to_address])
        else:
            outbox = Path(current_app.config["QUORUM_INSTANCE"]) / "outbox"
            write_to_outbox(outbox, raw, f"{row.kind}-{row.id}")
    except TemporaryFailure as exc:
        row.last_error = str(exc)[:1000]
        row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "retrying"
        db.session.commit()
        if row.status == "failed":
            log.error("giving up on message %s to %s after %s attempts: %s", row.id, row.to_address, row.attempts, exc)
            return "failed"
        log.info("message %s: relay said %s; attempt %s of %s, next in %s s", row.id, exc, row.attempts,
                 MAX_ATTEMPTS, retry_delays()[row.attempts - 1])
        raise
    except PermanentFailure as exc:
        row.status = "failed"
        row.last_error = str(exc)[:1000]
        db.session.commit()
        log.error("message %s to %s refused for good: %s", row.id, row.to_address, exc)
        return "failed"
    row.status = "sent"
    row.sent_at = utcnow()
    row.raw = None  # sent mail is not kept: collect only what is needed
    db.session.commit()
    return "sent"


def deliver_batch(message_ids: list[int]) -> tuple[dict[str, int], list[int]]:
    """Send several stored messages one after another, each exactly as `deliver` does (its own claim, its
    own status, committed before the next), so the batch shares the relay connection and the job's cost.
    Returns the count per outcome and the ids the relay turned away for now (the caller schedules each
    one's retry). One that fails unexpectedly is logged and left claimed for the sweeper. The rest of the
    batch goes on either way."""
    counts: dict[str, int] = {}
    refused: list[int] = []
    for message_id in message_ids:
        try:
            status = deliver(message_id)
        except TemporaryFailure:
            status = "retrying"
            refused.append(message_id)
        except Exception:  # noqa: BLE001 - one broken message must not hold back the others
            db.session.rollback()
            log.exception("message %s could not be sent; the sweeper will try it again", message_id)
            status = "error"
        counts[status] = counts.get(status, 0) + 1
    return counts, refused


def retry_delays() -> list[int]:
    """Exponential backoff in seconds between attempts: MAIL_RETRY_SECONDS (30) doubled each time,
    about 4 hours in all by default."""
    return attempts.doubling(float(current_app.config.get("MAIL_RETRY_SECONDS", 30)), MAX_ATTEMPTS)
