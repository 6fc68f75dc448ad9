"""Compose one message: the headers from `headers.outbound`, a text and an HTML part, and any
attachments. One function for both paths, so a mail with attachments and one without carry the
same headers, set the same way."""
from __future__ import annotations

import random
import re
import sys
from email import quoprimime
from email.message import EmailMessage
from email.policy import EmailPolicy

from . import headers
from .headers import MailOptions
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

_BOUNDARY_DIGITS = "%0" + str(len(repr(sys.maxsize - 1))) + "d"
_NEWLINES = re.compile(r"\r\n|\r|\n")


def compose(rendered: Rendered, *, to: str, options: MailOptions,
            attachments: tuple[tuple[str, str, bytes], ...] = (),
            calendar: tuple[str, str] | None = None) -> tuple[str, bytes]:
    """(Message-ID, bytes) of one message; attachments are (filename, content type, bytes);
    `calendar` (METHOD, iCalendar text) is a third alternative, `text/calendar; method=…` (iMIP).

    Without attachments the bytes are written directly (the same headers through the same
    policy calls, the same two quoted-printable parts) rather than by building and flattening
    an EmailMessage tree, which was most of a notification's cost.
    """
    fields = headers.outbound(subject=rendered.subject, to=to, options=options)
    if attachments or calendar:
        return _compose_tree(rendered, fields, attachments, calendar)
    stored = [(name, POLICY.header_store_parse(name, value)[1]) for name, value in fields]
    message_id = next(value for name, value in stored if name == headers.MESSAGE_ID)
    parts = [_text_part("plain", rendered.text, mime_version=False), _text_part("html", rendered.html, mime_version=True)]
    joined = b"\r\n".join(parts)
    while True:  # as email.generator picks one: random, and absent from the parts
        boundary = "=" * 15 + (_BOUNDARY_DIGITS % random.randrange(sys.maxsize)) + "=="
        if not re.search(b"^--" + re.escape(boundary.encode()) + b"(--)?$", joined, flags=re.MULTILINE):
            break
    stored.append(headers.MIME_VERSION)
    stored.append(headers.multipart_alternative(boundary))
    out = [POLICY.fold_binary(name, value) for name, value in stored]
    marker = b"--" + boundary.encode()
    out.append(b"\r\n" + marker + b"\r\n" + parts[0] + b"\r\n" + marker + b"\r\n" + parts[1]
               + b"\r\n" + marker + b"--\r\n")
    return str(POLICY.header_fetch_parse(headers.MESSAGE_ID, message_id)), b"".join(out)


def _compose_tree(rendered: Rendered, fields: list[tuple[str, str]],
                  attachments: tuple[tuple[str, str, bytes], ...],
                  calendar: tuple[str, str] | None = None) -> tuple[str, bytes]:
    message = EmailMessage(policy=POLICY)
    for name, value in fields:
        message[name] = value
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    if calendar is not None:  # RFC 6047: the invitation is the last (richest) alternative
        method, text = calendar
        message.add_alternative(text, subtype="calendar", params={"method": method}, cte="base64")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return str(message[headers.MESSAGE_ID]), message.as_bytes()


def _text_part(subtype: str, text: str, *, mime_version: bool) -> bytes:
    lines = text.encode("utf-8").splitlines()
    body = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), POLICY.max_line_length)
    pieces = _NEWLINES.split(body)
    written = "\r\n".join(pieces[:-1]) + ("\r\n" if len(pieces) > 1 else "") + pieces[-1]
    return (headers.text_part(subtype, mime_version=mime_version) + written).encode("ascii")
