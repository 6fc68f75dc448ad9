"""Reading a parsed message: decode any charset, find the text and the attachments, extract the
member's own words (HTML converted, quotes and signatures trimmed), and the headers we trace."""
from __future__ import annotations

import codecs
import email.policy
import re
from email.message import Message
from email.policy import EmailPolicy
from email.utils import getaddresses

from app.email.headers import Original

from .classify import header, raw_header
from .htmltext import html_to_text
from .reply import Attachment
from .trimming import trim_reply

_WEIRD_CHARSETS = {"unicode-1-1-utf-7": "utf-7", "utf7": "utf-7", "x-unknown": "utf-8", "unknown-8bit": "utf-8"}


def decode_part(part: Message) -> str:
    """A text part's content, whatever it claims: mislabelled UTF-8 is read as UTF-8."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        data = None
    if data is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    data = data.replace(b"\x00", b"")
    label = (part.get_content_charset() or "").lower()
    label = _WEIRD_CHARSETS.get(label, label)
    if label.startswith(("utf-16", "utf-32", "utf-7")):
        candidates = [label, "utf-8"]
    else:
        # Valid UTF-8 with non-ASCII bytes is almost never another charset, whatever the label says.
        candidates = ["utf-8", label, "cp1252", "latin-1"]
    for charset in candidates:
        if not charset:
            continue
        try:
            codecs.lookup(charset)
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


def body_parts(msg: Message) -> tuple[str | None, str | None, list[Attachment]]:
    """(first text/plain, first text/html, attachments), skipping attached messages' insides."""
    plain = html = None
    attachments: list[Attachment] = []

    def walk(part: Message) -> None:
        nonlocal plain, html
        if part.get_content_type() == "message/rfc822":  # a forwarded message is an attachment
            inner = part.get_payload()
            data = b"".join(p.as_bytes() for p in inner if isinstance(p, Message)) if isinstance(inner, list) else b""
            attachments.append(Attachment(_filename(part) or "message.eml", "message/rfc822", data))
            return
        if part.is_multipart():
            for sub in part.get_payload() or []:
                if isinstance(sub, Message):
                    walk(sub)
            return
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
        if disposition == "attachment" or filename or ctype == "message/rfc822" or not ctype.startswith("text/"):
            try:
                data = part.get_payload(decode=True)
                if data is None and isinstance(part.get_payload(), list):
                    data = b"".join(p.as_bytes() for p in part.get_payload() if isinstance(p, Message))
            except Exception:  # noqa: BLE001
                data = b""
            if ctype.startswith("multipart/"):
                return
            attachments.append(Attachment(str(filename or "attachment"), ctype, data or b""))
            return
        if ctype == "text/plain" and plain is None:
            plain = decode_part(part)
        elif ctype == "text/html" and html is None:
            html = decode_part(part)

    walk(msg)
    return plain, html, attachments


_RAW_FILENAME = re.compile(r'(?:file)?name\*?=\s*"?([^";\r\n]+)"?', re.IGNORECASE)


def _filename(part: Message) -> str | None:
    """The attachment's file name, decoding RFC 2231 and (non-standard but common) RFC 2047 words."""
    from email.header import decode_header, make_header

    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        name = None
    if not name:
        for header_name in ("Content-Disposition", "Content-Type"):
            match = _RAW_FILENAME.search(raw_header(part, header_name) or "")
            if match:
                name = match.group(1).strip()
                break
    if not name:
        return None
    if "=?" in name:
        try:
            name = str(make_header(decode_header(name)))
        except Exception:  # noqa: BLE001
            pass
    return name.replace("/", "_").replace("\\", "_").strip()[:255] or None


# A comment holds at most 100,000 characters; the trimmer never reads more than this of a message,
# so its worst case is bounded whatever a sender writes (it is linear in what it reads).
TRIM_INPUT_MAX = 256_000


def reply_text(msg: Message) -> tuple[str, list[Attachment]]:
    """The text the trimmer reads: the text part preferred, else the HTML converted (bounded)."""
    plain, html, attachments = body_parts(msg)
    text = plain if plain and plain.strip() else (html_to_text(html[:4 * TRIM_INPUT_MAX]) if html else "")
    return text[:TRIM_INPUT_MAX].replace("\r\n", "\n").replace("\r", "\n").replace("\x00", ""), attachments


def extract_reply(msg: Message) -> tuple[str, list[Attachment]]:
    """The member's own words: text part preferred, else the HTML converted; quotes trimmed."""
    text, attachments = reply_text(msg)
    return trim_reply(text).strip(), attachments


def original_of(msg: Message) -> Original:
    """What an automatic answer to `msg` threads under: its Message-ID, subject and References."""
    earlier = re.findall(r"<[^<>\s]+>", header(msg, "References")) or re.findall(r"<[^<>\s]+>", header(msg, "In-Reply-To"))
    return Original(message_id=safe_text(header(msg, "Message-ID").strip()), subject=safe_text(header(msg, "Subject")),
                    references=tuple(safe_text(i) for i in earlier))


def message_ids(msg: Message, *names: str) -> list[str]:
    ids: list[str] = []
    for name in names:
        ids += [i.lower() for i in re.findall(r"<([^<>\s]+)>", header(msg, name))]
    return ids


_OUR_RECEIVED = re.compile(r"^from (\S+) \(\[([0-9A-Fa-f.:]*)\]\)\s+by \S+ \(Quorum\)")


def our_trace(msg: Message) -> tuple[str, str | None]:
    """(HELO, client IP) from the Received: line our server put on top, if it is there."""
    values = msg.get_all("Received") or []
    if values:
        match = _OUR_RECEIVED.match(" ".join(str(values[0]).split()))
        if match:
            return match.group(1), match.group(2) or None
    return "", None


def header_recipients(msg: Message) -> list[str]:
    """Where the headers say it went (for `mail ingest` of a file without an envelope)."""
    values = [header(msg, name) for name in ("Delivered-To", "X-Original-To", "To", "Cc")]
    try:
        return [addr for _, addr in getaddresses(values) if "@" in addr]
    except Exception:  # noqa: BLE001
        return []


class _MemoHeaders(EmailPolicy):
    """The default policy, remembering parsed header values: classifying, authenticating and
    extracting read From, To, Subject, Received… a dozen times each, and the stock policy parses
    the raw value again on every read. Parsed headers are immutable, so sharing them is safe."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        key = (name.lower(), value)
        parsed = _PARSED_HEADERS.get(key)
        if parsed is None:
            parsed = super().header_fetch_parse(name, value)
            if len(_PARSED_HEADERS) >= 4096:
                _PARSED_HEADERS.clear()
            _PARSED_HEADERS[key] = parsed
        return parsed


_PARSED_HEADERS: dict = {}
MEMO_POLICY = _MemoHeaders()


def remember_headers(msg: Message) -> Message:
    """Swap the parsed message's (default) policy for the remembering one; other policies stay."""
    for part in msg.walk():
        if part.policy is email.policy.default:
            part.policy = MEMO_POLICY
    return msg


def sender_display_name(msg: Message) -> str:
    """The From header's display name ("Carol Jones" in `Carol Jones <carol@…>`), or ""."""
    try:
        name = getaddresses([header(msg, "From")])[0][0]
    except Exception:  # noqa: BLE001
        return ""
    return " ".join(name.split())[:100]


def safe_text(text: str) -> str:
    """Text that encodes as UTF-8 (undecodable header bytes arrive as lone surrogates)."""
    return text.encode("utf-8", "replace").decode("utf-8")
