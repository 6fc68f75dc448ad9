"""Build a well-formed multipart message with the headers every Quorum mail carries."""
from __future__ import annotations

import secrets
import time
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr

from flask import current_app

from ..models import utcnow
from .render import Rendered



class _PlainHeaders(EmailPolicy):
    """The SMTP policy, except that a one-line, printable-ASCII header value is stored as given.

    The stock policy parses every header into a structured object when it is set and folds it
    again when written, which was most of the cost of building a notification (a fan-out builds
    one per recipient). A value that is already plain ASCII on one line comes out the same
    (lines under 998 characters are not refolded); anything else (non-ASCII names and subjects,
    which need RFC 2047, or a line break, which is refused) takes the stock path.
    """

    def header_store_parse(self, name, value):
        if isinstance(value, str) and value.isascii() and value.isprintable():
            return (name, value)
        return super().header_store_parse(name, value)


# Long unbreakable header values (List-Unsubscribe URLs, References) must stay plain ASCII:
# with 78-column folding the email package would RFC 2047-encode them, which clients can't use.
POLICY = _PlainHeaders(linesep="\r\n", max_line_length=998)


def make_message_id(local: str | None = None) -> str:
    """A Message-ID on our mail domain (angle brackets included)."""
    local = local or f"{int(time.time())}.{secrets.token_hex(8)}"
    return f"<{local}@{current_app.config['MAIL_DOMAIN']}>"


def notifications_address() -> str:
    return f"notifications@{current_app.config['MAIL_DOMAIN']}"


def compose(
    rendered: Rendered,
    *,
    to: str,
    from_name: str = "Quorum",
    message_id: str | None = None,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
    auto_submitted: str = "auto-generated",
) -> EmailMessage:
    """Text + HTML alternative parts; attachments as (filename, content_type, bytes)."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = formataddr((from_name, notifications_address()))
    msg["To"] = to
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id or make_message_id()
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Auto-Submitted"] = auto_submitted
    # Ask Exchange/Outlook not to send out-of-office replies to notifications.
    msg["X-Auto-Response-Suppress"] = "All"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    for filename, content_type, data in attachments or []:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return msg
