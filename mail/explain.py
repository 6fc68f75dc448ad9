"""One short explanatory reply when we refuse an authenticated member's mail after accepting it.

Rate-limited per address and reason (Redis, EXPLAIN_INTERVAL), sent with a null envelope
sender and `Auto-Submitted: auto-replied` so no auto-responder answers it, and never to
auto-replies, bounces or loops (the pipeline only calls this for human mail).
"""
from __future__ import annotations

import hashlib
import logging
from email.message import Message

from app.email import messages
from app.extensions import db
from app.i18n import _

from .classify import header
from .mime import original_of

log = logging.getLogger(__name__)

EXPLAIN_INTERVAL = 6 * 3600  # seconds between two explanations of one reason to one address


def _safe(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def _rate_key(to: str, reason_code: str) -> str:
    digest = hashlib.sha256(f"{to.lower()}|{reason_code}".encode()).hexdigest()[:32]
    return f"quorum:explain:{digest}"


def allowed(to: str, reason_code: str) -> bool:
    """True at most once per EXPLAIN_INTERVAL for this address and reason."""
    from app.queue import redis_client

    try:
        return bool(redis_client().set(_rate_key(to, reason_code), b"1", nx=True, ex=EXPLAIN_INTERVAL))
    except Exception:  # noqa: BLE001 - without Redis we cannot rate-limit, so we stay quiet
        log.warning("Redis unavailable: not sending an explanation to %s", to)
        return False


def send_explanation(*, to: str, reason_code: str, text: str, original: Message, user_id: int | None) -> bool:
    """Queue the explanation (after the caller's work is committed). False if rate-limited."""
    if not allowed(to, reason_code):
        return False
    from app.models import User

    user = db.session.get(User, user_id) if user_id else None
    subject = _safe(" ".join(header(original, "Subject").split())[:200]) or _("your message")
    original_id = _safe(header(original, "Message-ID").strip())
    row = messages.inbound_refused(
        to=to, user=user, subject=subject, reason=text, original=original_of(original),
        dedupe_key=f"explain:{_rate_key(to, reason_code)[-32:]}:{hashlib.sha256(original_id.encode()).hexdigest()[:16]}")
    db.session.commit()
    return row is not None
