"""Durable storage of accepted mail: an encrypted, fsynced file plus a committed row.

`accept()` is what the SMTP server calls before it answers 250: when it returns, the message
survives a crash of any process. Everything after that (parsing, deciding) reads it back.
"""
from __future__ import annotations

import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import format_datetime

from app import storage
from app.extensions import db
from app.models import InboundMessage, utcnow

NAMESPACE = "inbound"
_MESSAGE_ID = re.compile(rb"<([^<>\s]{1,900})>")


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID (without brackets), read cheaply from the headers; None if missing."""
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw.lstrip(b" \t\r\n").replace(b"\x00", b""))
        value = headers.get("Message-ID")
    except Exception:  # noqa: BLE001 - garbage headers: no Message-ID
        return None
    if not value:
        return None
    match = _MESSAGE_ID.search(str(value).encode("utf-8", "replace"))
    return match.group(1).decode("utf-8", "replace").lower() if match else None


def received_header(*, helo: str, peer: str | None, key: str, recipients: list[str], domain: str) -> bytes:
    """Our own trace line, prepended like any MTA does; the pipeline reads HELO and IP from it."""
    helo = re.sub(r"[^A-Za-z0-9.\-\[\]:]", "", helo or "unknown")[:200] or "unknown"
    peer = re.sub(r"[^0-9A-Fa-f.:]", "", peer or "")[:64]
    rcpt = recipients[0] if len(recipients) == 1 else None
    line = (f"Received: from {helo} ([{peer}])\r\n\tby {domain} (Quorum) with ESMTP id {key}"
            + (f"\r\n\tfor <{rcpt}>" if rcpt else "") + f"; {format_datetime(utcnow())}\r\n")
    return line.encode("ascii", "replace")


def accept(raw: bytes, *, envelope_from: str, recipients: list[str], peer: str | None = None,
           helo: str = "", domain: str = "localhost") -> InboundMessage:
    """Write the message durably and commit its row. Raises if either fails (the caller says 451)."""
    key = storage.new_storage_key()
    stored = received_header(helo=helo, peer=peer, key=key, recipients=recipients, domain=domain) + raw
    storage.write(NAMESPACE, stored, storage_key=key, fsync=True)
    row = InboundMessage(
        message_id=message_id_of(raw),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        storage_key=key,
        size=len(raw),
        envelope_from=(envelope_from or "")[:254],
        recipients=[r[:254] for r in recipients],
        peer=(peer or None) and peer[:64],
        status="received",
    )
    try:
        db.session.add(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        storage.delete(NAMESPACE, key)  # no row, no file: the sender retries after our 451
        raise
    return row


def read_raw(row: InboundMessage) -> bytes:
    """The stored bytes (our Received: line first, then the message as it arrived)."""
    return storage.read(NAMESPACE, row.storage_key)


