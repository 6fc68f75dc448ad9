"""Build a well-formed multipart message with the headers every Quorum mail carries."""
from __future__ import annotations

import random
import re
import secrets
import sys
import time
from email import quoprimime
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


_BOUNDARY_DIGITS = "%0" + str(len(repr(sys.maxsize - 1))) + "d"
_NEWLINES = re.compile(r"\r\n|\r|\n")


def compose_bytes(rendered: Rendered, *, to: str, attachments: list[tuple[str, str, bytes]] | None = None,
                  **options) -> tuple[str, bytes]:
    """(Message-ID, bytes) of `compose(rendered, to=to, **options).as_bytes()`, written directly.

    The same headers through the same policy calls (store, then fold), and the same two
    quoted-printable parts, without building and flattening an EmailMessage tree, which was most
    of a notification's cost. Messages with attachments take the general path.
    """
    if attachments:
        message = compose(rendered, to=to, attachments=attachments, **options)
        return message["Message-ID"], message.as_bytes()
    from_name = options.get("from_name", "Quorum")
    message_id = options.get("message_id") or make_message_id()
    headers: list[tuple[str, str]] = [
        ("From", formataddr((from_name, notifications_address()))), ("To", to), ("Subject", rendered.subject),
        ("Date", format_datetime(utcnow())), ("Message-ID", message_id)]
    if options.get("in_reply_to"):
        headers.append(("In-Reply-To", options["in_reply_to"]))
    if options.get("references"):
        headers.append(("References", " ".join(options["references"])))
    if options.get("reply_to"):
        headers.append(("Reply-To", options["reply_to"]))
    headers.append(("Auto-Submitted", options.get("auto_submitted", "auto-generated")))
    headers.append(("X-Auto-Response-Suppress", "All"))
    headers += list((options.get("headers") or {}).items())
    stored = [(name, POLICY.header_store_parse(name, value)[1]) for name, value in headers]

    parts = [_text_part("plain", rendered.text, mime_version=False), _text_part("html", rendered.html, mime_version=True)]
    joined = b"\r\n".join(parts)
    while True:  # as email.generator picks one: random, and absent from the parts
        boundary = "=" * 15 + (_BOUNDARY_DIGITS % random.randrange(sys.maxsize)) + "=="
        if not re.search(b"^--" + re.escape(boundary.encode()) + b"(--)?$", joined, flags=re.MULTILINE):
            break
    stored.append(("MIME-Version", "1.0"))
    stored.append(("Content-Type", f'multipart/alternative; boundary="{boundary}"'))
    out = [POLICY.fold_binary(name, value) for name, value in stored]
    marker = b"--" + boundary.encode()
    out.append(b"\r\n" + marker + b"\r\n" + parts[0] + b"\r\n" + marker + b"\r\n" + parts[1]
               + b"\r\n" + marker + b"--\r\n")
    return str(POLICY.header_fetch_parse("Message-ID", stored[4][1])), b"".join(out)


def _text_part(subtype: str, text: str, *, mime_version: bool) -> bytes:
    lines = text.encode("utf-8").splitlines()
    body = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), POLICY.max_line_length)
    head = (f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n'
            + ("MIME-Version: 1.0\r\n" if mime_version else "") + "\r\n")
    pieces = _NEWLINES.split(body)
    written = "\r\n".join(pieces[:-1]) + ("\r\n" if len(pieces) > 1 else "") + pieces[-1]
    return (head + written).encode("ascii")
